//! Events, statistics, traces and received-message descriptions as plain
//! `repr(C)` structs: a kind code plus plain fields, nothing borrowed.

use core::ffi::c_char;
use seqlink_core::{BasicStats, EndpointStats, Event, EventRecord, Params, Received, Stats, TraceEvent, TraceKind};

/// Event kind: the connection is established.
pub const SEQLINK_EVENT_CONNECTED: u8 = 80;
/// Event kind: closed gracefully.
pub const SEQLINK_EVENT_CLOSED: u8 = 81;
/// Event kind: room in the send window again (after -SEQLINK_E_WOULD_BLOCK).
pub const SEQLINK_EVENT_WRITABLE: u8 = 82;
/// Event kind: a message too large for this receiver was dropped (`fragments` says how many).
pub const SEQLINK_EVENT_MESSAGE_DROPPED: u8 = 83;
/// Event kind: failed; `reason` is the fail code (60..=79).
pub const SEQLINK_EVENT_FAILED: u8 = 84;
/// Event kind (endpoints): a peer's handshake was refused; `peer_code` is the code sent.
pub const SEQLINK_EVENT_PEER_REFUSED: u8 = 85;

/// Connection state: client, SYN sent.
pub const SEQLINK_STATE_SYN_SENT: u8 = 0;
/// Connection state: client, HANDSHAKE_ACK sent, waiting for confirmation.
pub const SEQLINK_STATE_CONFIRMING: u8 = 1;
/// Connection state: messages flow both ways.
pub const SEQLINK_STATE_ESTABLISHED: u8 = 2;
/// Connection state: a FIN is queued or received.
pub const SEQLINK_STATE_CLOSING: u8 = 3;
/// Connection state: closed for the application, still absorbing late duplicates.
pub const SEQLINK_STATE_LINGER: u8 = 4;
/// Connection state: closed gracefully.
pub const SEQLINK_STATE_CLOSED: u8 = 5;
/// Connection state: failed (see `seqlink_connection_failure`).
pub const SEQLINK_STATE_FAILED: u8 = 6;

/// Delivery: exactly once, in order, retransmitted until acknowledged.
pub const SEQLINK_DELIVERY_RELIABLE: u8 = 0;
/// Delivery: sent once; delivered only if newer than every one before it.
pub const SEQLINK_DELIVERY_UNRELIABLE: u8 = 1;

/// An event: `kind` (80..=99, `SEQLINK_EVENT_*`) and its plain fields
/// (`seqlink_core::EventRecord`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkEvent {
    /// `SEQLINK_EVENT_*`.
    pub kind: u8,
    /// For `SEQLINK_EVENT_FAILED`: the fail code (60..=79; `seqlink_strerror` names it), else 0.
    pub reason: u8,
    /// The peer's error code when it refused or reset (the ERR_MSG/RESET byte), else 0.
    pub peer_code: u8,
    /// For `SEQLINK_EVENT_MESSAGE_DROPPED`: the fragments dropped.
    pub fragments: u16,
    /// For a dead peer: the sequence number of the packet never acknowledged.
    pub seq: u32,
}

impl SeqlinkEvent {
    pub(crate) fn from_record(r: EventRecord) -> SeqlinkEvent {
        SeqlinkEvent { kind: r.kind, reason: r.reason, peer_code: r.peer_code, fragments: r.fragments, seq: r.seq }
    }

    pub(crate) fn from_core(event: &Event) -> SeqlinkEvent {
        SeqlinkEvent::from_record(EventRecord::new(event))
    }
}

/// A link's statistics (`seqlink_core::Stats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkStats {
    /// Packets sent (first transmissions, retransmissions, redundant copies
    /// (`docs/PROTOCOL.md` 6.8.1) and control packets).
    pub packets_sent: u64,
    /// Valid packets received.
    pub packets_received: u64,
    /// Bytes sent on the wire.
    pub bytes_sent: u64,
    /// Bytes of valid packets received.
    pub bytes_received: u64,
    /// Data packets sent again (timeouts, fast retransmits and NACKs;
    /// redundant copies are not counted, though traced as retransmitted).
    pub retransmissions: u64,
    /// Of those, sent again before their timeout (fast retransmit or NACK).
    pub fast_retransmissions: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Packets that failed the integrity check.
    pub corrupt_packets: u64,
    /// Packets with a valid check but a malformed payload.
    pub malformed_packets: u64,
    /// Data packets received again (redundant copies of packets already held included).
    pub duplicates: u64,
    /// Data packets received ahead of a gap.
    pub out_of_order: u64,
    /// Data packets beyond the receive window (dropped).
    pub out_of_window: u64,
    /// NACKs sent.
    pub nacks_sent: u64,
    /// NACKs received.
    pub nacks_received: u64,
    /// Acknowledgements sent (standalone or piggybacked).
    pub acks_sent: u64,
    /// Acknowledgements received (standalone or piggybacked).
    pub acks_received: u64,
    /// Messages accepted by `send`.
    pub messages_sent: u64,
    /// Messages handed to the application.
    pub messages_delivered: u64,
    /// Message bytes handed to the application.
    pub bytes_delivered: u64,
    /// Unreliable messages dropped: late, duplicate, or overwritten before being read.
    pub unreliable_dropped: u64,
    /// Trace records overwritten before they were read.
    pub trace_overflows: u64,
    /// Smoothed round-trip time, milliseconds (0 before the first sample).
    pub srtt_ms: u32,
    /// Current retransmission timeout, milliseconds.
    pub rto_ms: u32,
    /// Congestion window, packets.
    pub cwnd: u32,
    /// Packets sent and not yet acknowledged.
    pub in_flight: u32,
}

impl SeqlinkStats {
    pub(crate) fn from_core(s: &Stats) -> SeqlinkStats {
        SeqlinkStats {
            packets_sent: s.packets_sent,
            packets_received: s.packets_received,
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            retransmissions: s.retransmissions,
            fast_retransmissions: s.fast_retransmissions,
            timeouts: s.timeouts,
            corrupt_packets: s.corrupt_packets,
            malformed_packets: s.malformed_packets,
            duplicates: s.duplicates,
            out_of_order: s.out_of_order,
            out_of_window: s.out_of_window,
            nacks_sent: s.nacks_sent,
            nacks_received: s.nacks_received,
            acks_sent: s.acks_sent,
            acks_received: s.acks_received,
            messages_sent: s.messages_sent,
            messages_delivered: s.messages_delivered,
            bytes_delivered: s.bytes_delivered,
            unreliable_dropped: s.unreliable_dropped,
            trace_overflows: s.trace_overflows,
            srtt_ms: s.srtt_ms,
            rto_ms: s.rto_ms,
            cwnd: s.cwnd,
            in_flight: s.in_flight,
        }
    }
}

/// A server endpoint's counters (`seqlink_core::EndpointStats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkEndpointStats {
    /// SYNs answered with a SYN_ACK.
    pub syn_acks_sent: u64,
    /// Handshakes refused with an ERR_MSG.
    pub refused: u64,
    /// HANDSHAKE_ACKs with an invalid or expired cookie.
    pub bad_cookies: u64,
    /// HANDSHAKE_ACKs of connections that already finished, or not newer than the live connection of their address (replays), ignored.
    pub replays: u64,
    /// Connections created.
    pub accepted: u64,
    /// Proven handshakes put in the pending queue (`auto_accept` off).
    pub incoming_queued: u64,
    /// Proven handshakes dropped because the pending queue was full (the client retransmits its HANDSHAKE_ACK).
    pub incoming_dropped: u64,
    /// Waiting handshakes dropped undecided when their cookies expired.
    pub incoming_expired: u64,
    /// RESETs sent to peers of unknown connections.
    pub resets_sent: u64,
    /// Answers not sent because they would exceed what the peer sent (no amplification), or rate limits.
    pub suppressed: u64,
    /// Datagrams that were not seqlink packets of any known connection.
    pub dropped: u64,
}

impl SeqlinkEndpointStats {
    pub(crate) fn from_core(s: &EndpointStats) -> SeqlinkEndpointStats {
        SeqlinkEndpointStats {
            syn_acks_sent: s.syn_acks_sent,
            refused: s.refused,
            bad_cookies: s.bad_cookies,
            replays: s.replays,
            accepted: s.accepted,
            incoming_queued: s.incoming_queued,
            incoming_dropped: s.incoming_dropped,
            incoming_expired: s.incoming_expired,
            resets_sent: s.resets_sent,
            suppressed: s.suppressed,
            dropped: s.dropped,
        }
    }
}

/// The basic profile's statistics (seed 000 section 5, `seqlink_core::BasicStats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkBasicStats {
    /// Every packet (or damaged packet) received.
    pub packets_received_raw: u64,
    /// Packets that failed their checksum or length checks (discarded).
    pub detected_corruptions: u64,
    /// Valid packets with the expected sequence number.
    pub successfully_processed_packets: u64,
    /// Valid packets with another sequence number (discarded).
    pub out_of_sequence_packets: u64,
    /// Packets this side sent (NACKs and ACKs included).
    pub packets_sent: u64,
    /// ACKs received.
    pub acks_received: u64,
    /// NACKs received.
    pub nacks_received: u64,
}

impl SeqlinkBasicStats {
    pub(crate) fn from_core(s: &BasicStats) -> SeqlinkBasicStats {
        SeqlinkBasicStats {
            packets_received_raw: s.packets_received_raw,
            detected_corruptions: s.detected_corruptions,
            successfully_processed_packets: s.successfully_processed_packets,
            out_of_sequence_packets: s.out_of_sequence_packets,
            packets_sent: s.packets_sent,
            acks_received: s.acks_received,
            nacks_received: s.nacks_received,
        }
    }
}

/// A message read into the caller's buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkReceived {
    /// The application's packet type.
    pub ptype: u8,
    /// `SEQLINK_DELIVERY_*`.
    pub delivery: u8,
    /// Bytes written to the buffer.
    pub len: usize,
}

impl SeqlinkReceived {
    pub(crate) fn from_core(r: &Received) -> SeqlinkReceived {
        SeqlinkReceived { ptype: r.ptype.0, delivery: r.delivery as u8, len: r.len }
    }
}

/// What a handshake agreed on (or proposes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkParams {
    /// Largest packet payload.
    pub max_payload: u16,
    /// Window, packets, each way.
    pub window: u16,
    /// Heartbeat interval, ms (0: none).
    pub heartbeat_ms: u32,
    /// Idle timeout, ms (0: never).
    pub idle_timeout_ms: u32,
}

impl SeqlinkParams {
    pub(crate) fn from_core(p: &Params) -> SeqlinkParams {
        SeqlinkParams {
            max_payload: p.max_payload,
            window: p.window,
            heartbeat_ms: p.heartbeat_ms,
            idle_timeout_ms: p.idle_timeout_ms,
        }
    }
}

/// One packet trace record (`LinkConfig.trace_slots` above 0 keeps them).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkTrace {
    /// When, in the caller's milliseconds.
    pub time_ms: u64,
    /// What happened: 0 SEND, 1 RECV, 2 RETX, 3 DUP, 4 CORRUPT, 5 DROP (`seqlink_trace_label`).
    pub kind: u8,
    /// The packet's sequence number (0 for corrupt packets).
    pub seq: u32,
    /// The packet's type on the wire.
    pub ptype: u8,
    /// Bytes on the wire.
    pub len: u32,
}

impl SeqlinkTrace {
    pub(crate) fn from_core(t: &TraceEvent) -> SeqlinkTrace {
        SeqlinkTrace { time_ms: t.time_ms, kind: t.kind as u8, seq: t.seq.0, ptype: t.ptype.0, len: t.len }
    }
}

/// The label of a trace kind ("SEND", "RECV", "RETX", "DUP", "CORRUPT",
/// "DROP"), a static NUL-terminated string; "?" for other values.
#[no_mangle]
pub extern "C" fn seqlink_trace_label(kind: u8) -> *const c_char {
    let label = match kind {
        k if k == TraceKind::Sent as u8 => "SEND\0",
        k if k == TraceKind::Received as u8 => "RECV\0",
        k if k == TraceKind::Retransmitted as u8 => "RETX\0",
        k if k == TraceKind::Duplicate as u8 => "DUP\0",
        k if k == TraceKind::Corrupt as u8 => "CORRUPT\0",
        k if k == TraceKind::Dropped as u8 => "DROP\0",
        _ => "?\0",
    };
    label.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn the_event_record_has_the_layout_of_protocol_section_9_2() {
        assert_eq!(size_of::<SeqlinkEvent>(), 12);
        assert_eq!(size_of::<SeqlinkEvent>(), size_of::<EventRecord>());
        let offsets = [
            offset_of!(SeqlinkEvent, kind),
            offset_of!(SeqlinkEvent, reason),
            offset_of!(SeqlinkEvent, peer_code),
            offset_of!(SeqlinkEvent, fragments),
            offset_of!(SeqlinkEvent, seq),
        ];
        assert_eq!(offsets, [0, 1, 2, 4, 8]);
    }
}
