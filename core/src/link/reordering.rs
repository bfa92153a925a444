//! Telling a late packet from a lost one (`docs/PROTOCOL.md` 6.6): what
//! the packets an ACK newly acknowledges say about reordering on the path,
//! and how long a packet may still be on its way before fast retransmit or
//! a NACK may resend it. Only with `fast-recovery` (it serves nothing else).

use super::config::MAX_FAST_RESENDS;
use super::slots::{SendMeta, F_LOST, F_RESEND, SENT};
use super::LinkState;
use crate::seq::Seq;

/// How many losses in a row, recovered by fast retransmit or a NACK with no
/// reordering seen meanwhile, make the link forget the reordering it learned.
pub(super) const REORDERING_FORGOTTEN_AFTER: u8 = 16;

/// What the packets one ACK newly acknowledges say about reordering,
/// gathered packet by packet.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReorderingSeen {
    srtt: u32,
    /// The latest transmission acknowledged before this ACK.
    delivered_before: Option<u32>,
    /// The latest transmission among them that was a packet's only one.
    newest_tx: Option<u32>,
    /// The most a packet arrived after one sent after it, beyond SRTT, plus
    /// 1 ms; or, for a spurious resend, after its resend, plus 1 ms.
    late: u32,
    /// The shortest RTT sample before this ACK (`u32::MAX`: none).
    min_rtt: u32,
    /// Packets resent only by fast retransmit or for a NACK whose resend
    /// this ACK does not prove spurious: losses recovered for real.
    recovered: u32,
}

impl ReorderingSeen {
    /// Nothing seen yet by the ACK being processed.
    pub(super) fn start(link: &LinkState) -> ReorderingSeen {
        let delivered = (link.delivered_tx != 0).then_some(link.delivered_tx);
        ReorderingSeen {
            srtt: link.rtt.srtt(),
            delivered_before: delivered,
            newest_tx: delivered,
            late: 0,
            min_rtt: link.min_rtt,
            recovered: 0,
        }
    }

    /// Notes one packet newly acknowledged at `now`.
    pub(super) fn note(&mut self, meta: &SendMeta, now: u64) {
        // Every transmission of it was sent before its last one, and a packet
        // sent after that was acknowledged first: it was reordered, and
        // arrived at least this late.
        if self.delivered_before.is_some_and(|d| sent_after(d, meta.tx)) {
            let elapsed = u32::try_from(now.saturating_sub(meta.sent_at)).unwrap_or(u32::MAX);
            self.late = self.late.max(elapsed.saturating_sub(self.srtt).saturating_add(1));
        }
        // Only a packet sent once tells which transmission arrived (a
        // resend's ACK may come from its original)...
        if meta.retries > 0 {
            // ...unless the ACK came too soon after its resend for the resend
            // to have arrived: then its original did, after packets sent
            // after it (they had it resent by fast retransmit or a NACK),
            // and it was still on its way when the resend left.
            let elapsed = u32::try_from(now.saturating_sub(meta.sent_at)).unwrap_or(u32::MAX);
            let only_resend_was_quick = meta.retries == 1 && meta.quick == 1 && meta.flags & F_RESEND == 0;
            if only_resend_was_quick && before_any_round_trip(elapsed, self.min_rtt) {
                self.late = self.late.max(elapsed.saturating_add(1));
            } else if meta.quick == meta.retries && meta.flags & F_RESEND == 0 {
                // every resend of it was a quick one, and none proved spurious
                self.recovered = self.recovered.saturating_add(1);
            }
            return;
        }
        if self.newest_tx.is_none_or(|n| sent_after(meta.tx, n)) {
            self.newest_tx = Some(meta.tx);
        }
    }
}

impl LinkState {
    /// Learns from an ACK's newly acknowledged packets: the latest
    /// transmission delivered, and a longer reordering allowance when a
    /// packet arrived after one sent after it: twice the lateness seen (a
    /// packet resent too early gives no evidence of its own lateness, so
    /// the allowance must overshoot), a spurious resend's original
    /// included. It stays below the RTO, after which the timer resends
    /// anyway. It is forgotten once `REORDERING_FORGOTTEN_AFTER` losses in a
    /// row were recovered by quick resends with no reordering seen (a rare
    /// reordering should not delay every fast retransmit for ever); on a
    /// path that keeps reordering, spurious resends teach it again.
    pub(super) fn learn_reordering(&mut self, seen: &ReorderingSeen) {
        self.delivered_tx = seen.newest_tx.unwrap_or(0);
        if seen.late > 0 {
            self.recovered_in_order = 0;
        } else if self.reorder_ms > 0 {
            let recovered = u32::from(self.recovered_in_order).saturating_add(seen.recovered);
            if recovered >= u32::from(REORDERING_FORGOTTEN_AFTER) {
                self.reorder_ms = 0;
                self.recovered_in_order = 0;
            } else {
                self.recovered_in_order = u8::try_from(recovered).unwrap_or(u8::MAX);
            }
        }
        let allowance = u32::from(self.reorder_ms).max(seen.late.saturating_mul(2));
        self.reorder_ms = u16::try_from(allowance.min(self.rtt.rto())).unwrap_or(u16::MAX);
    }

    /// Takes one RTT sample into the shortest seen.
    pub(super) fn note_min_rtt(&mut self, rtt: u32) {
        self.min_rtt = self.min_rtt.min(rtt);
    }

    /// How long after its last transmission a packet may still arrive, as
    /// far as this side has seen: 0 (no allowance) until a reordering was
    /// seen, then SRTT plus the reordering allowance.
    pub(super) fn reorder_window(&self) -> u64 {
        if self.reorder_ms == 0 {
            0
        } else {
            u64::from(self.rtt.srtt()) + u64::from(self.reorder_ms)
        }
    }

    /// When a packet that fast retransmit suspects (its count reached
    /// `fast_resend` while the reordering window held it back) is resent:
    /// once that window has passed, without waiting for another ACK.
    pub(super) fn reorder_deadline(&self, meta: &SendMeta) -> Option<u64> {
        let threshold = self.config.timing.fast_resend;
        let suspect = self.config.retransmit
            && threshold > 0
            && meta.state == SENT
            && meta.flags & (F_RESEND | F_LOST) == 0
            && meta.fastack >= threshold
            && meta.quick < MAX_FAST_RESENDS;
        suspect.then(|| meta.sent_at.saturating_add(self.reorder_window()))
    }

    /// Fast-retransmits the suspects whose reordering window has passed by `now`.
    pub(super) fn on_reorder_timer(&mut self, arena: &mut [u8], now: u64) {
        let mut seq = self.snd_una;
        while seq != self.snd_nxt {
            let meta = self.send_meta(arena, seq);
            if self.reorder_deadline(&meta).is_some_and(|d| now >= d) {
                self.fast_retransmit(arena, seq, meta);
            }
            seq = seq.next();
        }
    }

    /// Marks the packet at `seq` to be resent at once, as found lost by
    /// fast retransmit (a loss for the congestion controller).
    pub(super) fn fast_retransmit(&mut self, arena: &mut [u8], seq: Seq, mut meta: SendMeta) {
        meta.flags |= F_RESEND;
        meta.quick = meta.quick.saturating_add(1);
        self.set_send_meta(arena, seq, &meta);
        self.resend_pending += 1;
        self.stats.fast_retransmissions += 1;
        self.cc.on_loss(seq, self.snd_nxt);
    }

    /// Whether the packet may still be on its way at `now`, so that an ACK
    /// of later packets or a NACK naming it is no proof of its loss yet. A
    /// resend counts as on its way for at least one SRTT and 1 ms (a NACK
    /// sent before it arrived names it still).
    pub(super) fn may_be_on_its_way(&self, meta: &SendMeta, now: u64, nacked: bool) -> bool {
        let mut window = self.reorder_window();
        if nacked && meta.retries > 0 {
            window = window.max(u64::from(self.rtt.srtt())).max(1);
        }
        now.saturating_sub(meta.sent_at) < window
    }
}

/// Whether an ACK `elapsed` ms after a transmission was sent before that
/// transmission could arrive: sooner than three quarters of the shortest RTT
/// seen (which a delayed ACK or a queue may have lengthened), by more than
/// the 1 ms that whole-millisecond clocks may err by on each of the two (the
/// sample and `elapsed`).
fn before_any_round_trip(elapsed: u32, min_rtt: u32) -> bool {
    min_rtt != u32::MAX && elapsed.saturating_add(1) < min_rtt - min_rtt / 4
}

/// Whether transmission count `a` came after `b` (they wrap, compared as
/// sequence numbers).
pub(super) fn sent_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
