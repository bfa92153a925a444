//! Link statistics (seed 000 section 5, extended): a plain fixed-size struct.

/// Counters of one link. Plain `repr(C)` data: copy it, print it, hand it to C.
///
/// Without the `full-stats` feature only `packets_*`, `bytes_sent`,
/// `bytes_received`, `retransmissions`, `timeouts` and `corrupt_packets` are
/// counted (32-bit, wrapping); the other counters read 0. Without the
/// `stats` feature every counter reads 0 (the gauges `srtt_ms`, `rto_ms`,
/// `cwnd` and `in_flight` are always filled in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct Stats {
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
    /// Congestion window, packets (the send window without the `congestion` feature).
    pub cwnd: u32,
    /// Packets sent and not yet acknowledged.
    pub in_flight: u32,
}

/// A counter kept with `stats`: 64-bit with `full-stats`, else 32-bit
/// (wrapping); without `stats`, nothing (it reads 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub(crate) struct Kept(
    #[cfg(feature = "full-stats")] u64,
    #[cfg(all(feature = "stats", not(feature = "full-stats")))] u32,
);

/// A counter kept only with `full-stats`; without it, nothing (it reads 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub(crate) struct Extra(#[cfg(feature = "full-stats")] u64);

impl core::ops::AddAssign<u64> for Kept {
    #[cfg(feature = "full-stats")]
    fn add_assign(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(n);
    }
    #[cfg(all(feature = "stats", not(feature = "full-stats")))]
    fn add_assign(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(n as u32);
    }
    #[cfg(not(feature = "stats"))]
    fn add_assign(&mut self, _n: u64) {}
}

impl Kept {
    #[cfg(feature = "full-stats")]
    fn get(self) -> u64 {
        self.0
    }
    #[cfg(all(feature = "stats", not(feature = "full-stats")))]
    fn get(self) -> u64 {
        u64::from(self.0)
    }
    #[cfg(not(feature = "stats"))]
    fn get(self) -> u64 {
        0
    }
}

impl core::ops::AddAssign<u64> for Extra {
    #[cfg(feature = "full-stats")]
    fn add_assign(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(n);
    }
    #[cfg(not(feature = "full-stats"))]
    fn add_assign(&mut self, _n: u64) {}
}

impl core::ops::SubAssign<u64> for Extra {
    #[cfg(feature = "full-stats")]
    fn sub_assign(&mut self, n: u64) {
        self.0 = self.0.wrapping_sub(n);
    }
    #[cfg(not(feature = "full-stats"))]
    fn sub_assign(&mut self, _n: u64) {}
}

impl Extra {
    #[cfg(feature = "full-stats")]
    fn get(self) -> u64 {
        self.0
    }
    #[cfg(not(feature = "full-stats"))]
    fn get(self) -> u64 {
        0
    }
}

macro_rules! counters {
    ($($field:ident: $kind:ident),* $(,)?) => {
        /// The link's counters as it keeps them (see the `full-stats` feature).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
        pub(crate) struct Counters {
            $(pub $field: $kind,)*
        }

        impl Counters {
            /// The counters as public [`Stats`] (the gauges left 0 for the caller to fill).
            pub(crate) fn to_stats(self) -> Stats {
                Stats { $($field: self.$field.get(),)* srtt_ms: 0, rto_ms: 0, cwnd: 0, in_flight: 0 }
            }
        }
    };
}

counters! {
    packets_sent: Kept,
    packets_received: Kept,
    bytes_sent: Kept,
    bytes_received: Kept,
    retransmissions: Kept,
    fast_retransmissions: Extra,
    timeouts: Kept,
    corrupt_packets: Kept,
    malformed_packets: Extra,
    duplicates: Extra,
    out_of_order: Extra,
    out_of_window: Extra,
    nacks_sent: Extra,
    nacks_received: Extra,
    acks_sent: Extra,
    acks_received: Extra,
    messages_sent: Extra,
    messages_delivered: Extra,
    bytes_delivered: Extra,
    unreliable_dropped: Extra,
    trace_overflows: Extra,
}
