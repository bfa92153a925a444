//! The firmware's application on the host: the same `EchoDevice` over
//! `std-embedded-nal`'s UDP stack, against the host peer on loopback with
//! loss injected by the host (the QEMU run without QEMU).

use seqlink_core::FailReason;
use seqlink_fw_app::{device_config, Buffers, EchoDevice, Phase, Report};
use seqlink_fw_host_peer::{run, Plan};
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

const CONFIG: seqlink_core::ConnectionConfig = device_config();

/// A loopback address with a port nobody uses right now.
fn free_loopback_addr() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0").and_then(|socket| socket.local_addr()).expect("a free loopback port")
}

/// Runs the device until it stops, `limit` passes or `host_done` holds
/// (then for 5 s more, so that it can finish its close and linger); returns every report.
fn run_device(peer: SocketAddr, limit: Duration, host_done: impl Fn() -> bool) -> (Phase, Vec<Report>) {
    let mut storage = vec![0u8; CONFIG.storage_len()];
    let mut tx = vec![0u8; CONFIG.max_datagram_len()];
    let mut rx = vec![0u8; CONFIG.max_datagram_len()];
    let buffers = Buffers { storage: &mut storage, tx: &mut tx, rx: &mut rx };
    let mut device = EchoDevice::new(CONFIG, peer, buffers, 7).expect("valid configuration");
    let mut stack = std_embedded_nal::Stack;
    let start = Instant::now();
    let mut reports = Vec::new();
    let mut limit = limit;
    while device.phase() != Phase::Stopped && start.elapsed() < limit {
        if host_done() {
            limit = limit.min(start.elapsed() + Duration::from_secs(5));
        }
        device.poll(&mut stack, start.elapsed().as_millis() as u64);
        reports.extend(std::iter::from_fn(|| device.poll_report()));
        thread::sleep(Duration::from_micros(200));
    }
    (device.phase(), reports)
}

#[test]
fn device_echoes_300_messages_under_10_percent_loss_closes_survives_a_host_crash_and_stops() {
    let addr = free_loopback_addr();
    let plan = Plan { step_timeout: Duration::from_secs(15), ..Plan::new(addr) };
    let host = thread::spawn(move || run(&plan, |line| eprintln!("{line}")));
    let (phase, reports) = run_device(addr, Duration::from_secs(60), || host.is_finished());
    let summary = host.join().expect("host peer thread").expect("host peer checks every echo");

    assert_eq!(phase, Phase::Stopped, "reports: {reports:?}");
    assert_eq!((summary.echoes, summary.connections), (340, 3));
    assert!(summary.retransmissions > 0, "10% loss makes the host retransmit");
    let connected = reports.iter().filter(|r| **r == Report::Connected).count();
    assert_eq!(connected, 3, "reports: {reports:?}");
    assert!(reports.contains(&Report::Closed { echoed: 300 }), "reports: {reports:?}");
    let failed_after_crash = reports.iter().any(|r| {
        matches!(
            r,
            Report::Failed {
                reason: FailReason::Reset { .. } | FailReason::IdleTimeout | FailReason::DeadPeer { .. },
                ..
            }
        )
    });
    assert!(failed_after_crash, "reports: {reports:?}");
    assert_eq!(reports.last(), Some(&Report::Stopped));
}

#[test]
fn device_without_a_peer_retries_with_a_growing_back_off() {
    let addr = free_loopback_addr();
    let (phase, reports) = run_device(addr, Duration::from_secs(8), || false);
    assert!(matches!(phase, Phase::Waiting { .. } | Phase::Connected));
    let waits: Vec<u32> = reports
        .iter()
        .filter_map(|r| match r {
            Report::Failed { retry_in_ms, .. } => Some(*retry_in_ms),
            _ => None,
        })
        .collect();
    assert!(waits.len() >= 2, "reports: {reports:?}");
    assert!(waits.windows(2).all(|w| w[1] >= w[0]), "waits: {waits:?}");
    assert!(waits.last() > waits.first(), "waits: {waits:?}");
}
