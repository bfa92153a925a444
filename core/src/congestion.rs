//! NewReno-style congestion control, counted in packets (as KCP does).
//!
//! Slow start grows the window by one packet per acknowledged packet up to
//! `ssthresh`; congestion avoidance by one packet per window. A loss found by
//! fast retransmit or a NACK halves the window once per window of data (the
//! recovery point); a retransmission timeout drops it to one packet.

use crate::seq::Seq;

/// Congestion window state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Congestion {
    cwnd: u16,
    ssthresh: u16,
    /// Acknowledged packets counted towards the next increase in congestion avoidance.
    credit: u16,
    /// Losses before this sequence number belong to the current fast recovery (no growth meanwhile).
    recover: Option<Seq>,
    /// Losses before this sequence number belong to the last timeout (no second halving).
    timeout_recover: Option<Seq>,
    max: u16,
}

/// The initial window, in packets (RFC 3390 allows up to 4 segments of this size).
pub const INITIAL_WINDOW: u16 = 4;

impl Congestion {
    /// A window that may grow to `max` packets (the send window).
    pub const fn new(max: u16) -> Congestion {
        let max = if max == 0 { 1 } else { max };
        let cwnd = if INITIAL_WINDOW < max { INITIAL_WINDOW } else { max };
        Congestion { cwnd, ssthresh: max, credit: 0, recover: None, timeout_recover: None, max }
    }

    /// Packets that may be in flight.
    pub const fn window(&self) -> u16 {
        self.cwnd
    }

    /// The slow-start threshold.
    pub const fn ssthresh(&self) -> u16 {
        self.ssthresh
    }

    /// `acked` packets were newly acknowledged; `cumulative` is the new
    /// cumulative acknowledgement (ends recovery once it passes the recovery point).
    pub fn on_ack(&mut self, acked: u16, cumulative: Seq) {
        if let Some(recover) = self.recover {
            if cumulative.is_before(recover) {
                return; // no growth during recovery
            }
            self.recover = None;
        }
        for _ in 0..acked {
            if self.cwnd < self.ssthresh {
                self.cwnd = self.cwnd.saturating_add(1);
            } else {
                self.credit = self.credit.saturating_add(1);
                if self.credit >= self.cwnd {
                    self.credit = 0;
                    self.cwnd = self.cwnd.saturating_add(1);
                }
            }
        }
        self.cwnd = self.cwnd.min(self.max);
    }

    /// A loss was detected without a timeout (fast retransmit, NACK, SACK gap).
    /// `next_seq` is the next new sequence number: losses before it count
    /// as the same congestion event.
    pub fn on_loss(&mut self, lost: Seq, next_seq: Seq) {
        if self.recover.is_some_and(|r| lost.is_before(r)) || self.timeout_recover.is_some_and(|r| lost.is_before(r)) {
            return;
        }
        self.ssthresh = (self.cwnd / 2).max(2);
        self.cwnd = self.ssthresh.min(self.max);
        self.credit = 0;
        self.recover = Some(next_seq);
    }

    /// A retransmission timeout fired: back to one packet and slow start
    /// (RFC 5681). Losses of packets sent before `next_seq` belong to this event.
    pub fn on_timeout(&mut self, next_seq: Seq) {
        if self.recover.is_none() || self.cwnd > 1 {
            self.ssthresh = (self.cwnd / 2).max(2);
        }
        self.cwnd = 1;
        self.credit = 0;
        self.recover = None;
        self.timeout_recover = Some(next_seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_avoidance() {
        let mut cc = Congestion::new(64);
        assert_eq!(cc.window(), 4);
        cc.on_ack(4, Seq(4));
        assert_eq!(cc.window(), 8);
        cc.on_loss(Seq(5), Seq(20));
        assert_eq!((cc.window(), cc.ssthresh()), (4, 4));
        cc.on_loss(Seq(6), Seq(21)); // same recovery: no second halving
        assert_eq!(cc.window(), 4);
        cc.on_ack(4, Seq(10)); // still before the recovery point
        assert_eq!(cc.window(), 4);
        cc.on_ack(4, Seq(20)); // recovery over: avoidance, +1 per window
        assert_eq!(cc.window(), 5);
        cc.on_timeout(Seq(40));
        assert_eq!((cc.window(), cc.ssthresh()), (1, 2));
        cc.on_loss(Seq(30), Seq(40)); // part of the same event
        assert_eq!(cc.window(), 1);
        cc.on_ack(1, Seq(30)); // slow start again at once
        assert_eq!(cc.window(), 2);
    }

    #[test]
    fn never_exceeds_the_send_window() {
        let mut cc = Congestion::new(3);
        assert_eq!(cc.window(), 3);
        cc.on_ack(100, Seq(100));
        assert_eq!(cc.window(), 3);
        let mut one = Congestion::new(1);
        one.on_loss(Seq(0), Seq(1));
        assert_eq!(one.window(), 1);
    }
}
