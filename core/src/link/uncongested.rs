//! The congestion state of a link built without the `congestion` feature:
//! nothing. Every mode is taken as `Off` ([`CongestionControl::is_on`] is
//! false), so the send window and the peer's window alone limit the flight.

use crate::congestion::CongestionControl;
use crate::seq::Seq;

/// No congestion window: the same calls as [`crate::congestion::Congestion`], doing nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Unlimited;

impl Unlimited {
    pub(super) const fn with_mode(_max: u16, _mode: CongestionControl) -> Unlimited {
        Unlimited
    }

    /// No limit of its own (`Stats::cwnd` reports the send window).
    pub(super) const fn window(&self) -> u16 {
        u16::MAX
    }

    pub(super) fn on_ack_at(&mut self, _now: u64, _acked: u16, _cumulative: Seq, _rtt: Option<u32>) {}

    #[cfg(feature = "fast-recovery")]
    pub(super) fn on_loss(&mut self, _lost: Seq, _next_seq: Seq) {}

    pub(super) fn on_timeout(&mut self, _next_seq: Seq) {}
}
