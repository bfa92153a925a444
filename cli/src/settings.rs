//! From options to the core's configuration and the driver's impairment.

use crate::args::{Congestion, ImpairOpts, IntegrityMode, NetOpts, ProtoOpts, RtoProfile};
use seqlink_core::{CongestionControl, ConnectionConfig, LinkConfig};
use seqlink_std::Impairment;

/// Trace records the core keeps between two drains when `--trace` is on.
const TRACE_SLOTS: u16 = 1024;

/// The connection configuration the options ask for.
pub fn connection_config(proto: &ProtoOpts, trace: bool) -> ConnectionConfig {
    let mut link = match proto.rto {
        RtoProfile::LowLatency => LinkConfig::low_latency(),
        RtoProfile::Standard => LinkConfig::standard(),
    };
    if let Some(window) = proto.window {
        link = link.with_window(window);
    }
    if let Some(max_payload) = proto.max_payload {
        link = link.with_max_payload(max_payload);
    }
    link.congestion_control = match proto.cc {
        Congestion::LossTolerant => CongestionControl::LossTolerant,
        Congestion::Newreno => CongestionControl::NewReno,
        Congestion::Off => CongestionControl::Off,
    };
    if trace {
        link.trace_slots = TRACE_SLOTS;
    }
    let mut config = ConnectionConfig::new().with_link(link);
    config.prefer_crc = proto.integrity == IntegrityMode::Crc32c;
    if let Some(heartbeat) = proto.heartbeat {
        config.heartbeat_ms = heartbeat;
    }
    config.connect_timeout_ms = proto.connect_timeout;
    // the default linger (2 s): a shorter one left a peer whose last ACK was
    // lost resending its FIN to a closed port (the interop close case failed
    // 2 of 12 runs with 100 ms; 500 ms did so rarely)
    config
}

/// The impairment the options ask for, or none.
pub fn impairment(impair: &ImpairOpts, seed_offset: u64) -> Option<Impairment> {
    if !impair.any() {
        return None;
    }
    let delay = impair.delay.unwrap_or_default();
    Some(
        Impairment::loss(impair.loss.unwrap_or(0.0), impair.seed.wrapping_add(seed_offset))
            .with_corruption(impair.corrupt.unwrap_or(0.0))
            .with_duplication(impair.dup.unwrap_or(0.0))
            .with_reordering(impair.reorder.unwrap_or(0.0))
            .with_delay(delay.ms, delay.jitter_ms),
    )
}

/// Options that cannot go together, as a message for the user.
pub fn check(net: &NetOpts) -> Result<(), String> {
    let stream = net.tcp || net.basic;
    if stream && net.impair.any() {
        return Err(
            "impairments (--loss, --dup, --reorder, --corrupt, --delay) apply to UDP only, not with --tcp or --basic"
                .into(),
        );
    }
    if stream && net.pcap.is_some() {
        return Err("--pcap captures UDP datagrams only, not with --tcp or --basic".into());
    }
    if stream && net.trace {
        return Err("--trace follows UDP datagrams only, not with --tcp or --basic".into());
    }
    Ok(())
}
