//! Plain configuration structs, each with a `_default()`: take the default,
//! change fields, pass a pointer. Every field mirrors `seqlink_core`'s
//! (`ConnectionConfig`, `LinkConfig`, `Timing`, `EndpointConfig`); enum
//! fields are `u8` with the `SEQLINK_*` constants below, and an unknown
//! value is refused with -SEQLINK_E_INVALID.

use crate::status::Status;
use seqlink_core::{CongestionControl, ConnectionConfig, EndpointConfig, Integrity, LinkConfig, Timing, Transport};

/// Congestion control off: the windows alone limit the flight.
pub const SEQLINK_CONGESTION_OFF: u8 = 0;
/// NewReno congestion control.
pub const SEQLINK_CONGESTION_NEW_RENO: u8 = 1;
/// Loss-tolerant congestion control (the default).
pub const SEQLINK_CONGESTION_LOSS_TOLERANT: u8 = 2;
/// A connection over datagrams (UDP).
pub const SEQLINK_TRANSPORT_DATAGRAM: u8 = 0;
/// A connection over a reliable byte stream (TCP): no retransmissions.
pub const SEQLINK_TRANSPORT_STREAM: u8 = 1;
/// Bytes of handshake extension a connection sends at most.
pub const SEQLINK_EXTENSION_MAX: usize = 32;

/// Retransmission timing, milliseconds (`seqlink_core::Timing`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqlinkTiming {
    /// RTO before the first round-trip sample.
    pub initial_rto_ms: u32,
    /// Lower bound of the RTO.
    pub min_rto_ms: u32,
    /// Upper bound of the RTO, backoff included.
    pub max_rto_ms: u32,
    /// Backoff per retransmission, percent (200 doubles).
    pub backoff_percent: u16,
    /// Longest an acknowledgement is delayed.
    pub ack_delay_ms: u32,
    /// Retransmissions of one packet before the peer counts as dead.
    pub max_retries: u8,
    /// Fast retransmit after this many acknowledgements of later packets (0: off).
    pub fast_resend: u8,
    /// Shortest interval between two NACKs of one missing packet.
    pub nack_interval_ms: u32,
}

/// The reliability engine's settings (`seqlink_core::LinkConfig`); window
/// and payload sizes decide the storage a connection needs.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqlinkLinkConfig {
    /// Largest packet payload, both directions (64..=65535).
    pub max_payload: u16,
    /// Packets kept unacknowledged or queued (1..=256).
    pub send_window: u16,
    /// Packets buffered for reordering and unread delivery (1..=256).
    pub recv_window: u16,
    /// The peer's receive window assumed until its first acknowledgement.
    pub peer_recv_window: u16,
    /// Unreliable messages queued each way (0: unreliable delivery off).
    pub unreliable_slots: u8,
    /// Packet trace records kept until read (0: no tracing).
    pub trace_slots: u16,
    /// Retransmission timing.
    pub timing: SeqlinkTiming,
    /// `SEQLINK_CONGESTION_*`.
    pub congestion_control: u8,
    /// Retransmissions on (off over a reliable stream).
    pub retransmit: bool,
    /// `SEQLINK_INTEGRITY_*` (a connection negotiates its own; used by links alone).
    pub integrity: u8,
    /// Several packets per datagram (docs/PROTOCOL.md 4.1, 6.8). Used by
    /// links alone: a connection offers it over datagrams and takes what
    /// its handshake agrees, whatever this field says.
    pub coalesce: bool,
    /// With coalescing, how long new data may wait to share a datagram, ms
    /// (0, the default: only what is queued when a datagram goes out is
    /// packed). This side's choice; nothing of it is on the wire.
    pub coalesce_wait_ms: u16,
    /// With coalescing, how many earlier unacknowledged packets a datagram
    /// of a thin stream may carry again when it has room (redundant
    /// bundling, docs/PROTOCOL.md 6.8.1; 1 by default, 0: none). Each copy
    /// costs bytes; a lost datagram is then repaired by the next one.
    pub redundancy: u8,
}

/// A connection's settings (`seqlink_core::ConnectionConfig`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqlinkConnectionConfig {
    /// Link settings: this side's maxima, the handshake agrees on the smaller.
    pub link: SeqlinkLinkConfig,
    /// Heartbeat interval when idle, ms (0: none).
    pub heartbeat_ms: u32,
    /// Silence after which the connection fails, ms (0: never).
    pub idle_timeout_ms: u32,
    /// Time the handshake may take, ms.
    pub connect_timeout_ms: u32,
    /// Time a graceful close may take, ms.
    pub close_timeout_ms: u32,
    /// Time the side that closed first keeps absorbing late duplicates, ms.
    pub linger_ms: u32,
    /// Ask for CRC-32C instead of the Internet checksum.
    pub prefer_crc: bool,
    /// Extra SYN padding so that the server may send that many extension bytes (at most 32).
    pub server_extension_room: u16,
    /// Extension bytes sent in this side's handshake packets: the first `extension_len`.
    pub extension: [u8; SEQLINK_EXTENSION_MAX],
    /// How many bytes of `extension` are sent (at most 32).
    pub extension_len: u8,
    /// `SEQLINK_TRANSPORT_DATAGRAM` or `SEQLINK_TRANSPORT_STREAM`.
    pub transport: u8,
}

/// A server endpoint's settings (`seqlink_core::EndpointConfig`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqlinkEndpointConfig {
    /// Settings and limits of every connection.
    pub connection: SeqlinkConnectionConfig,
    /// Connections at most (the peers of `_size`/`_init` count up to this).
    pub max_connections: u16,
    /// How long a cookie stays valid after its SYN_ACK, ms.
    pub cookie_lifetime_ms: u32,
    /// RESETs per second at most to unknown peers.
    pub resets_per_second: u16,
    /// Create connections at once (true, the default), or queue proven
    /// handshakes for `seqlink_endpoint_poll_incoming` (false).
    pub auto_accept: bool,
}

impl SeqlinkTiming {
    fn from_core(t: &Timing) -> SeqlinkTiming {
        SeqlinkTiming {
            initial_rto_ms: t.initial_rto,
            min_rto_ms: t.min_rto,
            max_rto_ms: t.max_rto,
            backoff_percent: t.backoff_percent,
            ack_delay_ms: t.ack_delay,
            max_retries: t.max_retries,
            fast_resend: t.fast_resend,
            nack_interval_ms: t.nack_interval,
        }
    }

    fn to_core(self) -> Timing {
        Timing {
            initial_rto: self.initial_rto_ms,
            min_rto: self.min_rto_ms,
            max_rto: self.max_rto_ms,
            backoff_percent: self.backoff_percent,
            ack_delay: self.ack_delay_ms,
            max_retries: self.max_retries,
            fast_resend: self.fast_resend,
            nack_interval: self.nack_interval_ms,
        }
    }
}

fn congestion_code(c: CongestionControl) -> u8 {
    match c {
        CongestionControl::Off => SEQLINK_CONGESTION_OFF,
        CongestionControl::NewReno => SEQLINK_CONGESTION_NEW_RENO,
        CongestionControl::LossTolerant => SEQLINK_CONGESTION_LOSS_TOLERANT,
    }
}

fn congestion(code: u8) -> Result<CongestionControl, Status> {
    match code {
        SEQLINK_CONGESTION_OFF => Ok(CongestionControl::Off),
        SEQLINK_CONGESTION_NEW_RENO => Ok(CongestionControl::NewReno),
        SEQLINK_CONGESTION_LOSS_TOLERANT => Ok(CongestionControl::LossTolerant),
        _ => Err(Status::INVALID),
    }
}

impl SeqlinkLinkConfig {
    fn from_core(c: &LinkConfig) -> SeqlinkLinkConfig {
        SeqlinkLinkConfig {
            max_payload: c.max_payload,
            send_window: c.send_window,
            recv_window: c.recv_window,
            peer_recv_window: c.peer_recv_window,
            unreliable_slots: c.unreliable_slots,
            trace_slots: c.trace_slots,
            timing: SeqlinkTiming::from_core(&c.timing),
            congestion_control: congestion_code(c.congestion_control),
            retransmit: c.retransmit,
            integrity: c.integrity as u8,
            coalesce: c.coalesce,
            coalesce_wait_ms: c.coalesce_wait_ms,
            redundancy: c.redundancy,
        }
    }

    fn to_core(self) -> Result<LinkConfig, Status> {
        let mut c = LinkConfig::new();
        c.max_payload = self.max_payload;
        c.send_window = self.send_window;
        c.recv_window = self.recv_window;
        c.peer_recv_window = self.peer_recv_window;
        c.unreliable_slots = self.unreliable_slots;
        c.trace_slots = self.trace_slots;
        c.timing = self.timing.to_core();
        c.congestion_control = congestion(self.congestion_control)?;
        c.retransmit = self.retransmit;
        c.integrity = Integrity::from_u8(self.integrity).ok_or(Status::INVALID)?;
        c.coalesce = self.coalesce;
        c.coalesce_wait_ms = self.coalesce_wait_ms;
        c.redundancy = self.redundancy;
        c.validate()?;
        Ok(c)
    }
}

impl SeqlinkConnectionConfig {
    fn from_core(c: &ConnectionConfig) -> SeqlinkConnectionConfig {
        SeqlinkConnectionConfig {
            link: SeqlinkLinkConfig::from_core(&c.link),
            heartbeat_ms: c.heartbeat_ms,
            idle_timeout_ms: c.idle_timeout_ms,
            connect_timeout_ms: c.connect_timeout_ms,
            close_timeout_ms: c.close_timeout_ms,
            linger_ms: c.linger_ms,
            prefer_crc: c.prefer_crc,
            server_extension_room: c.server_extension_room,
            extension: c.extension,
            extension_len: c.extension_len,
            transport: match c.transport {
                Transport::Datagram => SEQLINK_TRANSPORT_DATAGRAM,
                Transport::Stream => SEQLINK_TRANSPORT_STREAM,
            },
        }
    }

    /// The core's configuration, checked: windows, payload, extension
    /// lengths and enum values.
    pub(crate) fn to_core(self) -> Result<ConnectionConfig, Status> {
        let mut c = ConnectionConfig::new();
        c.link = self.link.to_core()?;
        c.heartbeat_ms = self.heartbeat_ms;
        c.idle_timeout_ms = self.idle_timeout_ms;
        c.connect_timeout_ms = self.connect_timeout_ms;
        c.close_timeout_ms = self.close_timeout_ms;
        c.linger_ms = self.linger_ms;
        c.prefer_crc = self.prefer_crc;
        c.server_extension_room = self.server_extension_room;
        if usize::from(self.extension_len) > SEQLINK_EXTENSION_MAX
            || usize::from(self.server_extension_room) > SEQLINK_EXTENSION_MAX
        {
            return Err(Status(crate::status::SEQLINK_E_BAD_EXTENSION));
        }
        c.extension = self.extension;
        c.extension_len = self.extension_len;
        c.transport = match self.transport {
            SEQLINK_TRANSPORT_DATAGRAM => Transport::Datagram,
            SEQLINK_TRANSPORT_STREAM => Transport::Stream,
            _ => return Err(Status::INVALID),
        };
        Ok(c)
    }
}

impl SeqlinkEndpointConfig {
    /// The core's configuration, checked.
    pub(crate) fn to_core(self) -> Result<EndpointConfig, Status> {
        let mut c = EndpointConfig::new(self.connection.to_core()?);
        c.max_connections = self.max_connections;
        c.cookie_lifetime_ms = self.cookie_lifetime_ms;
        c.resets_per_second = self.resets_per_second;
        c.auto_accept = self.auto_accept;
        Ok(c)
    }
}

/// The core's link defaults (`LinkConfig::new`): 1200-byte payloads,
/// 256-packet windows, low-latency timing, loss-tolerant congestion control.
#[no_mangle]
pub extern "C" fn seqlink_link_config_default() -> SeqlinkLinkConfig {
    SeqlinkLinkConfig::from_core(&LinkConfig::new())
}

/// The core's connection defaults (`ConnectionConfig::new`): the link
/// defaults, 1 s heartbeats, 10 s idle and connect timeouts, 30 s to close,
/// 2 s of linger. A stream connection (TCP) also sets `transport` to
/// `SEQLINK_TRANSPORT_STREAM`, `link.retransmit` to false and
/// `link.congestion_control` to `SEQLINK_CONGESTION_OFF`.
#[no_mangle]
pub extern "C" fn seqlink_connection_config_default() -> SeqlinkConnectionConfig {
    SeqlinkConnectionConfig::from_core(&ConnectionConfig::new())
}

/// The core's endpoint defaults around the connection defaults: 10 s
/// cookies, 50 RESETs/s, automatic acceptance, connections limited only by
/// the peers given to `_size`/`_init`.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_config_default() -> SeqlinkEndpointConfig {
    let c = EndpointConfig::new(ConnectionConfig::new());
    SeqlinkEndpointConfig {
        connection: SeqlinkConnectionConfig::from_core(&c.connection),
        max_connections: c.max_connections,
        cookie_lifetime_ms: c.cookie_lifetime_ms,
        resets_per_second: c.resets_per_second,
        auto_accept: c.auto_accept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_convert_back_to_the_cores() {
        assert_eq!(seqlink_connection_config_default().to_core(), Ok(ConnectionConfig::new()));
        let endpoint = seqlink_endpoint_config_default().to_core();
        assert_eq!(endpoint, Ok(EndpointConfig::new(ConnectionConfig::new())));
    }

    #[test]
    fn every_link_setting_reaches_the_core_and_comes_back() {
        let mut c = seqlink_connection_config_default();
        c.link.coalesce = true;
        c.link.coalesce_wait_ms = 3;
        c.link.send_window = 9;
        c.link.redundancy = 2;
        let core = c.to_core().unwrap();
        assert!(core.link.coalesce);
        assert_eq!((core.link.coalesce_wait_ms, core.link.send_window, core.link.redundancy), (3, 9, 2));
        assert_eq!(SeqlinkConnectionConfig::from_core(&core), c);
    }

    #[test]
    fn unknown_enum_values_and_long_extensions_are_refused() {
        let mut c = seqlink_connection_config_default();
        c.transport = 2;
        assert_eq!(c.to_core(), Err(Status::INVALID));
        let mut c = seqlink_connection_config_default();
        c.extension_len = 33;
        assert_eq!(c.to_core(), Err(Status(crate::status::SEQLINK_E_BAD_EXTENSION)));
        let mut c = seqlink_connection_config_default();
        c.link.send_window = 0;
        assert_eq!(c.to_core(), Err(Status(crate::status::SEQLINK_E_BAD_WINDOW)));
    }
}
