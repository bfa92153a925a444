//! Link statistics (seed 000 section 5, extended): a plain fixed-size struct.

/// Counters of one link. Plain `repr(C)` data: copy it, print it, hand it to C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct Stats {
    /// Packets sent (first transmissions, retransmissions and control packets).
    pub packets_sent: u64,
    /// Valid packets received.
    pub packets_received: u64,
    /// Bytes sent on the wire.
    pub bytes_sent: u64,
    /// Bytes of valid packets received.
    pub bytes_received: u64,
    /// Data packets sent again (timeouts, fast retransmits and NACKs).
    pub retransmissions: u64,
    /// Of those, sent again before their timeout (fast retransmit or NACK).
    pub fast_retransmissions: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Packets that failed the integrity check.
    pub corrupt_packets: u64,
    /// Packets with a valid check but a malformed payload.
    pub malformed_packets: u64,
    /// Data packets received again.
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
