//! Pacing of new data under the loss-tolerant controller (`docs/PROTOCOL.md`
//! 6.7): at most `max(2, 2 x cwnd / SRTT)` first transmissions per
//! millisecond, so that a window opened at once (a repaired hole
//! acknowledging many packets) leaves over several milliseconds instead of
//! as one burst that queues behind itself and then reads as congestion.

use super::LinkState;
use crate::congestion::CongestionControl;

/// First transmissions every millisecond may carry, whatever the window and SRTT.
pub const PACE_MIN_PER_MS: u16 = 2;

/// Paths with a shorter SRTT are not paced: a millisecond slot is then a
/// large part of the round trip, and spreading a window over several of
/// them reorders its packets against the path's own jitter.
pub const PACE_MIN_SRTT_MS: u32 = 8;

/// First transmissions in one millisecond: which one, and how many so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct PaceSlot {
    ms: u64,
    sent: u16,
    /// `poll_transmit` held new data back for pacing in that millisecond:
    /// the timer is due at the next one (cleared when it has run).
    waiting: bool,
}

impl PaceSlot {
    pub(super) const fn new() -> PaceSlot {
        PaceSlot { ms: u64::MAX, sent: 0, waiting: false }
    }
}

impl LinkState {
    /// Counts a first transmission at `now`.
    pub(super) fn note_first_transmission(&mut self, now: u64) {
        if self.pace.ms == now {
            self.pace.sent = self.pace.sent.saturating_add(1);
        } else {
            self.pace = PaceSlot { ms: now, sent: 1, waiting: false };
        }
    }

    /// `poll_transmit` had nothing to send at `now`: notes whether new data
    /// waits for pacing alone (then [`LinkState::pace_deadline`] wakes the caller).
    pub(super) fn note_idle(&mut self, now: u64) {
        self.pace.waiting = self.paced_out(now) && self.next_new_unpaced().is_some();
    }

    /// The pacing timer at `now`: once the paced millisecond is over, nothing waits for it.
    pub(super) fn on_pace_timer(&mut self, now: u64) {
        if now > self.pace.ms {
            self.pace.waiting = false;
        }
    }

    /// Whether the millisecond `now` has carried all the new packets pacing
    /// allows: `sent x SRTT >= 2 x cwnd` and at least [`PACE_MIN_PER_MS`]
    /// (only from an SRTT of [`PACE_MIN_SRTT_MS`] on, with the loss-tolerant
    /// controller, and never when the clock reads `u64::MAX`: that
    /// millisecond never ends).
    pub(super) fn paced_out(&self, now: u64) -> bool {
        if self.config.congestion_control != CongestionControl::LossTolerant || !self.config.congestion_control.is_on()
        {
            return false;
        }
        let srtt = self.rtt.srtt();
        let sent = self.pace.sent;
        // compared by multiplication: no division on targets without one
        self.pace.ms == now
            && now < u64::MAX
            && srtt >= PACE_MIN_SRTT_MS
            && sent >= PACE_MIN_PER_MS
            && u64::from(sent) * u64::from(srtt) >= 2 * u64::from(self.cc.window())
    }

    /// When new data held back for pacing may go: the next millisecond.
    pub(super) fn pace_deadline(&self) -> Option<u64> {
        self.pace.waiting.then(|| self.pace.ms.saturating_add(1))
    }
}
