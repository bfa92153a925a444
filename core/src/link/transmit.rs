//! The sending half of a link: the retransmission timer and the choice and
//! writing of the next datagram.

use super::config::SEND_META_LEN;
#[cfg(feature = "unreliable")]
use super::config::UNRELIABLE_META_LEN;
#[cfg(feature = "unreliable")]
use super::slots::UnreliableMeta;
use super::slots::{SendMeta, ACKED, F_FRAGMENT, F_LOST, F_RESEND, QUEUED, SENT};
#[cfg(feature = "coalescing")]
use super::NOT_HELD;
use super::{copy_prefix, LinkState};
use crate::error::Error;
use crate::event::{FailReason, TraceKind};
use crate::seq::Seq;
use crate::wire::ack::{AckRepr, Sack, MAX_SACK_BYTES};
use crate::wire::data::{DataRepr, Fragment, EXTENDED_MIN_LEN, FRAGMENT_HEADER_LEN};
use crate::wire::{seal, PacketType, HEADER_LEN};

impl LinkState {
    // ---- timers ----------------------------------------------------------------

    pub(super) fn poll_timeout(&self) -> Option<u64> {
        if self.failed.is_some() {
            return None;
        }
        let resend = if self.snd_una != self.snd_nxt { self.rto_deadline } else { None };
        #[cfg(feature = "congestion")]
        let resend = [resend, self.pace_deadline()].into_iter().flatten().min();
        #[cfg(feature = "coalescing")]
        {
            let held = (self.held_since != NOT_HELD)
                .then(|| self.held_since.saturating_add(u64::from(self.config.coalesce_wait_ms)));
            [resend, self.ack_deadline, held].into_iter().flatten().min()
        }
        #[cfg(not(feature = "coalescing"))]
        match (resend, self.ack_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn on_timers(&mut self, arena: &mut [u8], now: u64) {
        if self.failed.is_some() {
            return;
        }
        if self.ack_deadline.is_some_and(|d| now >= d) {
            self.ack_now = true;
            self.ack_deadline = None;
        }
        #[cfg(feature = "congestion")]
        self.on_pace_timer(now);
        if self.rto_deadline.is_none_or(|t| now < t) {
            return;
        }
        #[cfg(feature = "fast-recovery")]
        self.on_reorder_timer(arena, now);
        // Each outstanding packet has its own deadline: those past it are
        // presumed lost and resent oldest first as the congestion window
        // allows; the others keep waiting for theirs.
        let mut expired = false;
        // The oldest packet an earlier timeout left waiting for the
        // congestion window, if older than every packet expiring now (none
        // waits without congestion control: all go at once).
        let mut waiting = None;
        let windowed = self.config.congestion_control.is_on();
        let mut seq = self.snd_una;
        while seq != self.snd_nxt {
            let mut meta = self.send_meta(arena, seq);
            if windowed && !expired && waiting.is_none() && meta.flags & F_LOST != 0 {
                waiting = Some((seq, meta));
            }
            if self.resend_deadline(seq, &meta).is_some_and(|d| now >= d) {
                if meta.retries >= self.config.timing.max_retries {
                    self.failed = Some(FailReason::DeadPeer { seq });
                    return;
                }
                // SACK is advisory (RFC 2018 section 8): a false or forged SACK
                // must not hold the oldest packet back for good, so it is resent
                // (and counts towards DeadPeer) whatever its SACK state.
                meta.state = SENT;
                // RFC 6298 5.4: the earliest expired packet goes at once; the
                // others follow as the congestion window allows.
                if expired || waiting.is_some() {
                    meta.flags |= F_LOST;
                    self.lost_pending += 1;
                } else {
                    meta.flags |= F_RESEND;
                    self.resend_pending += 1;
                }
                self.set_send_meta(arena, seq, &meta);
                expired = true;
            }
            seq = seq.next();
        }
        if expired {
            // RFC 6298 5.4: the earliest packet not acknowledged goes at
            // once, also one an earlier timeout left waiting for the
            // congestion window. The later packets filling that window are
            // acknowledged only past it (always, by a peer that does not
            // SACK): left waiting behind them, it would never be resent.
            if let Some((oldest, mut meta)) = waiting {
                meta.flags = (meta.flags & !F_LOST) | F_RESEND;
                self.lost_pending = self.lost_pending.saturating_sub(1);
                self.resend_pending += 1;
                self.set_send_meta(arena, oldest, &meta);
            }
            let wait = u64::from(self.current_rto()) + u64::from(self.config.timing.ack_delay);
            self.timeout_hold = (now < u64::MAX).then(|| now.saturating_add(wait));
            self.stats.timeouts += 1;
            self.cc.on_timeout(self.snd_nxt);
        }
        self.rearm(arena);
    }

    /// When the packet at `seq` is presumed lost unless acknowledged: its
    /// last transmission plus the RTO, backed off once per timeout of that
    /// packet (its resends less its fast ones), plus `ack_delay` (the peer
    /// may hold its ACK that long, and on a steady path RTTVAR decays to
    /// almost nothing), held at `u64::MAX`; and not before the hold a
    /// timeout set while no ACK has come since. None
    /// while it is acknowledged (only the oldest packet's SACK is ignored),
    /// already waiting to be resent, or sent when the clock read `u64::MAX`
    /// (a deadline due at once would expire at every call, each expiry
    /// counting towards `DeadPeer`).
    pub(super) fn resend_deadline(&self, seq: Seq, meta: &SendMeta) -> Option<u64> {
        let timed = meta.state == SENT || meta.state == ACKED && seq == self.snd_una;
        if !timed || meta.flags & (F_RESEND | F_LOST) != 0 || !self.config.retransmit || meta.sent_at == u64::MAX {
            return None;
        }
        let timeouts = meta.retries.saturating_sub(meta.quick);
        let timing = &self.config.timing;
        let wait = u64::from(self.rtt.backed_off(timeouts, timing)) + u64::from(timing.ack_delay);
        let own = meta.sent_at.saturating_add(wait);
        Some(self.timeout_hold.map_or(own, |hold| own.max(hold)))
    }

    /// Sets the retransmission timer to the earliest resend deadline
    /// (timeouts, and fast retransmits waiting out the reordering window).
    pub(super) fn rearm(&mut self, arena: &mut [u8]) {
        #[cfg(feature = "fast-recovery")]
        {
            self.suspects_end = self.outstanding_suspects_end();
        }
        let earliest = self.earliest_deadline(arena);
        #[cfg(debug_assertions)]
        debug_assert_eq!(earliest, self.earliest_deadline_walked(arena), "the walk stopped too soon");
        self.rto_deadline = earliest;
    }

    /// The earliest deadline of the packet at `seq`: its resend deadline, or
    /// the end of the reordering window it waits out as a suspect.
    fn packet_deadline(&self, seq: Seq, meta: &SendMeta) -> Option<u64> {
        let deadline = self.resend_deadline(seq, meta);
        #[cfg(feature = "fast-recovery")]
        let deadline = [deadline, self.reorder_deadline(meta)].into_iter().flatten().min();
        deadline
    }

    /// The earliest deadline of the outstanding packets, walking them from
    /// the oldest only as far as a later one could still be due earlier
    /// (`none_due_before`; builds without `fast-recovery` walk them all).
    pub(super) fn earliest_deadline(&self, arena: &mut [u8]) -> Option<u64> {
        self.walk_deadlines(arena, true)
    }

    /// The earliest deadline of the outstanding packets, every one of them
    /// looked at: the oracle `earliest_deadline` is checked against.
    #[cfg(any(test, debug_assertions))]
    pub(super) fn earliest_deadline_walked(&self, arena: &mut [u8]) -> Option<u64> {
        self.walk_deadlines(arena, false)
    }

    /// The earliest deadline of the outstanding packets from the oldest on,
    /// stopping early (when `may_stop`) once no later one can be due sooner.
    fn walk_deadlines(&self, arena: &mut [u8], may_stop: bool) -> Option<u64> {
        let mut earliest: Option<u64> = None;
        let mut seq = self.snd_una;
        while seq != self.snd_nxt {
            let meta = self.send_meta(arena, seq);
            if let Some(d) = self.packet_deadline(seq, &meta) {
                earliest = Some(earliest.map_or(d, |e| e.min(d)));
            }
            #[cfg(feature = "fast-recovery")]
            if may_stop && earliest.is_some_and(|e| self.none_due_before(e, seq, &meta)) {
                break;
            }
            seq = seq.next();
        }
        #[cfg(not(feature = "fast-recovery"))]
        let _ = may_stop;
        earliest
    }

    /// Whether no packet sent after the one at `seq` can be due before
    /// `earliest`. True when that packet was sent only once (`retries` 0;
    /// or reset to 0 as the only packet in flight) and the clock has not run
    /// backwards since the window was last empty: every later packet was
    /// then first sent, and resent, no earlier than it (`sent_at` at least
    /// its own). Its resend deadline is at least that plus the shortest wait
    /// (the RTO never backs off below itself or `max_rto`, resends included)
    /// and not before `timeout_hold`; and a suspect's reordering deadline is
    /// at least that plus the reordering window, while any suspect may come
    /// later (`suspects_end`).
    #[cfg(feature = "fast-recovery")]
    fn none_due_before(&self, earliest: u64, seq: Seq, meta: &SendMeta) -> bool {
        if meta.retries != 0 || self.latest_tx_at == u64::MAX {
            return false;
        }
        let timing = &self.config.timing;
        let shortest_wait = u64::from(self.rtt.rto().min(timing.max_rto)) + u64::from(timing.ack_delay);
        let own = meta.sent_at.saturating_add(shortest_wait);
        let resend_floor = self.timeout_hold.map_or(own, |hold| own.max(hold));
        let later = seq.next().offset_from(self.snd_una);
        let suspects_later = self.outstanding_suspects_end().offset_from(self.snd_una) > later;
        let reorder_floor = if suspects_later { meta.sent_at.saturating_add(self.reorder_window()) } else { u64::MAX };
        earliest <= resend_floor.min(reorder_floor)
    }

    /// Notes a (re)transmission at `now` for `none_due_before`: the clock
    /// restarts with an empty window, and turns `u64::MAX` if it runs backwards.
    #[cfg(feature = "fast-recovery")]
    fn note_tx_clock(&mut self, now: u64) {
        let in_order = self.snd_una == self.snd_nxt || self.latest_tx_at != u64::MAX && now >= self.latest_tx_at;
        self.latest_tx_at = if in_order { now } else { u64::MAX };
    }

    /// Notes that the packet at `seq` (in flight) became a suspect that
    /// waits out a reordering window (its count reached `fast_resend` while
    /// reordering may still bring it, or a NACK named it meanwhile).
    #[cfg(feature = "fast-recovery")]
    pub(super) fn note_suspect(&mut self, seq: Seq) {
        let end = seq.next();
        if end.offset_from(self.snd_una) > self.outstanding_suspects_end().offset_from(self.snd_una) {
            self.suspects_end = end;
        }
    }

    /// `suspects_end` within the packets in flight (the oldest of them when
    /// every packet noted has been acknowledged since).
    #[cfg(feature = "fast-recovery")]
    fn outstanding_suspects_end(&self) -> Seq {
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        if self.suspects_end.in_window(self.snd_una, in_flight + 1) {
            self.suspects_end
        } else {
            self.snd_una
        }
    }

    /// The RTO without backoff (each packet backs its own off).
    pub(super) fn current_rto(&self) -> u32 {
        self.rtt.rto()
    }

    /// Debug builds check that the pending counts match the flags in the window.
    #[cfg(debug_assertions)]
    pub(super) fn check_invariants(&self, arena: &mut [u8]) {
        let (mut resend, mut lost) = (0u16, 0u16);
        let mut seq = self.snd_una;
        while seq != self.snd_nxt {
            let meta = self.send_meta(arena, seq);
            resend += u16::from(meta.flags & F_RESEND != 0);
            lost += u16::from(meta.flags & F_LOST != 0);
            seq = seq.next();
        }
        debug_assert_eq!((resend, lost), (self.resend_pending, self.lost_pending), "retransmission counts drifted");
        debug_assert!(self.snd_end.offset_from(self.snd_una) <= u32::from(self.config.send_window));
        debug_assert!(self.rcv_nxt.offset_from(self.rcv_base) <= u32::from(self.config.recv_window));
    }

    #[cfg(not(debug_assertions))]
    pub(super) fn check_invariants(&self, _arena: &mut [u8]) {}

    /// Forgets a packet's retransmission flags in the pending counts.
    pub(super) fn unflag(&mut self, meta: &SendMeta) {
        if meta.flags & F_RESEND != 0 {
            self.resend_pending = self.resend_pending.saturating_sub(1);
        }
        if meta.flags & F_LOST != 0 {
            self.lost_pending = self.lost_pending.saturating_sub(1);
        }
    }

    // ---- transmitting ------------------------------------------------------------

    pub(super) fn poll_transmit(&mut self, arena: &mut [u8], now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        let needed = self.config.max_datagram_len();
        if buf.len() < needed {
            return Err(Error::BufferTooSmall { needed, available: buf.len() });
        }
        self.check_invariants(arena);
        if self.failed.is_some() {
            return Ok(None);
        }
        #[cfg(feature = "coalescing")]
        if self.holds_for_coalescing(arena, now, needed) {
            return Ok(None);
        }
        #[cfg(feature = "coalescing")]
        let first_new = self.snd_nxt;
        #[cfg_attr(not(feature = "coalescing"), allow(unused_mut))]
        let Some(mut n) = self.transmit_packet(arena, now, buf)?
        else {
            #[cfg(feature = "congestion")]
            self.note_idle(now);
            return Ok(None);
        };
        #[cfg(feature = "coalescing")]
        {
            self.held_since = NOT_HELD;
            if self.config.coalesce {
                // data already queued rides along, up to the longest datagram (6.8)
                while let Some(more) =
                    self.transmit_queued_data(arena, now, buf.get_mut(n..needed).unwrap_or(&mut []))?
                {
                    n += more;
                }
                // room left in a thin stream's datagram carries earlier packets again (6.8.1)
                n = self.bundle_copies(arena, now, buf.get_mut(..needed).unwrap_or(&mut []), n, first_new)?;
            }
        }
        Ok(Some(n))
    }

    /// Whether new data waits to share a datagram (`coalesce_wait_ms`, 6.8):
    /// only new data is ready, it does not fill a datagram of `limit` bytes,
    /// and it has waited less than the bound since it was first held.
    #[cfg(feature = "coalescing")]
    fn holds_for_coalescing(&mut self, arena: &mut [u8], now: u64, limit: usize) -> bool {
        let wait = u64::from(self.config.coalesce_wait_ms);
        #[cfg(feature = "fast-recovery")]
        let nack_due = self.nack_pending.is_some();
        #[cfg(not(feature = "fast-recovery"))]
        let nack_due = false;
        let only_new = !nack_due
            && !self.ack_now
            && self.resend_pending == 0
            && self.lost_pending == 0
            && !self.unreliable_queued()
            && self.next_new(now).is_some();
        if !self.config.coalesce || wait == 0 || !only_new || self.ready_new_bytes(arena, limit) >= limit {
            self.held_since = NOT_HELD;
            return false;
        }
        if self.held_since == NOT_HELD {
            self.held_since = now;
        }
        now < self.held_since.saturating_add(wait)
    }

    /// The bytes the new packets that may be sent now take on the wire, counted up to `limit`.
    #[cfg(feature = "coalescing")]
    fn ready_new_bytes(&self, arena: &mut [u8], limit: usize) -> usize {
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        let cwnd = if self.config.congestion_control.is_on() { u32::from(self.cc.window()) } else { u32::MAX };
        let allowed = cwnd.saturating_sub(in_flight).min(self.peer_right.offset_from(self.snd_nxt)).max(1);
        let (mut bytes, mut seq, mut count) = (0, self.snd_nxt, 0);
        while seq != self.snd_end && count < allowed && bytes < limit {
            let meta = self.send_meta(arena, seq);
            bytes += self.data_packet_len(usize::from(meta.len), None, meta.flags & F_FRAGMENT != 0, false);
            seq = seq.next();
            count += 1;
        }
        bytes
    }

    /// Writes the next packet to send at the start of `buf`.
    fn transmit_packet(&mut self, arena: &mut [u8], now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        #[cfg(feature = "fast-recovery")]
        if let Some(from) = self.nack_pending.take() {
            let room = payload_room(buf, crate::wire::ack::MAX_NACK_SEQS * 4);
            if let Some((len, high)) = self.build_nack(arena, from, room) {
                let n = self.emit_in_place(buf, PacketType::NACK, len)?;
                self.nack_high = high;
                self.stats.nacks_sent += 1;
                self.sent(arena, now, TraceKind::Sent, self.snd_nxt, PacketType::NACK, n);
                return Ok(Some(n));
            }
        }
        // The acknowledgement to send or piggyback, built once.
        let ack = (self.ack_now || self.ack_deadline.is_some()).then(|| self.build_ack(arena));
        // Reliable data first (retransmissions, then new), then unreliable.
        let candidate = self.next_resend(arena).or_else(|| self.next_new(now));
        if let Some(seq) = candidate {
            let meta = self.send_meta(arena, seq);
            let riding = ack.as_ref().filter(|a| self.ack_fits(a, usize::from(meta.len), meta.flags & F_FRAGMENT != 0));
            return match (self.ack_now, riding, &ack) {
                (true, None, Some(ack)) => self.transmit_ack(arena, now, buf, ack),
                _ => self.transmit_data(arena, now, buf, seq, meta, riding),
            }
            .map(Some);
        }
        #[cfg(feature = "unreliable")]
        if self.unreliable_queued() {
            let meta = UnreliableMeta::read(self.unrel_slot(arena, false, self.unrel_send_head));
            let riding = ack.as_ref().filter(|a| self.ack_fits(a, usize::from(meta.len), false));
            return match (self.ack_now, riding, &ack) {
                (true, None, Some(ack)) => self.transmit_ack(arena, now, buf, ack),
                _ => self.transmit_unreliable(arena, now, buf, meta, riding),
            }
            .map(Some);
        }
        match (self.ack_now, &ack) {
            (true, Some(ack)) => self.transmit_ack(arena, now, buf, ack).map(Some),
            _ => Ok(None),
        }
    }

    /// Writes the next data packet to send (reliable, then unreliable) into
    /// `room` when it fits there whole; None when none is queued or it does not fit.
    #[cfg(feature = "coalescing")]
    fn transmit_queued_data(&mut self, arena: &mut [u8], now: u64, room: &mut [u8]) -> Result<Option<usize>, Error> {
        let ack = (self.ack_now || self.ack_deadline.is_some()).then(|| self.build_ack(arena));
        if let Some(seq) = self.next_resend(arena).or_else(|| self.next_new(now)) {
            let meta = self.send_meta(arena, seq);
            let fragment = meta.flags & F_FRAGMENT != 0;
            let riding = ack.as_ref().filter(|a| self.ack_fits(a, usize::from(meta.len), fragment));
            if self.data_packet_len(usize::from(meta.len), riding, fragment, false) > room.len() {
                return Ok(None);
            }
            return self.transmit_data(arena, now, room, seq, meta, riding).map(Some);
        }
        #[cfg(feature = "unreliable")]
        if self.unreliable_queued() {
            let meta = UnreliableMeta::read(self.unrel_slot(arena, false, self.unrel_send_head));
            let riding = ack.as_ref().filter(|a| self.ack_fits(a, usize::from(meta.len), false));
            if self.data_packet_len(usize::from(meta.len), riding, false, true) > room.len() {
                return Ok(None);
            }
            return self.transmit_unreliable(arena, now, room, meta, riding).map(Some);
        }
        Ok(None)
    }

    /// The wire length of a data packet with `len` bytes of data: a plain
    /// packet when nothing extends it, else an extended DATA packet.
    #[cfg(feature = "coalescing")]
    pub(super) fn data_packet_len(&self, len: usize, ack: Option<&AckRepr>, fragment: bool, unreliable: bool) -> usize {
        let extended = ack.is_some() || fragment || unreliable;
        let ext = if extended {
            let fragment = fragment.then_some(Fragment { index: 0, count: 1 });
            DataRepr { app_type: PacketType(0), ack: ack.copied(), fragment, unreliable, data: &[] }.header_len()
        } else {
            0
        };
        self.config.codec().packet_len(ext + len)
    }

    /// The next packet to retransmit: NACKed or fast-retransmitted ones at
    /// once, those lost to a timeout as the congestion window allows.
    pub(super) fn next_resend(&self, arena: &mut [u8]) -> Option<Seq> {
        if self.resend_pending > 0 {
            if let Some(seq) = self.first_flagged(arena, F_RESEND) {
                return Some(seq);
            }
        }
        if self.lost_pending == 0 {
            return None;
        }
        if self.config.congestion_control.is_on() {
            // packets presumed in the network: sent, not acknowledged, not presumed lost
            let mut pipe = 0u32;
            let mut seq = self.snd_una;
            while seq != self.snd_nxt {
                let meta = self.send_meta(arena, seq);
                if meta.state == SENT && meta.flags & (F_RESEND | F_LOST) == 0 {
                    pipe += 1;
                }
                seq = seq.next();
            }
            if pipe >= u32::from(self.cc.window()) {
                return None;
            }
        }
        self.first_flagged(arena, F_LOST)
    }

    pub(super) fn first_flagged(&self, arena: &mut [u8], flag: u8) -> Option<Seq> {
        let mut seq = self.snd_una;
        while seq != self.snd_nxt {
            let meta = self.send_meta(arena, seq);
            if meta.state == SENT && meta.flags & flag != 0 {
                return Some(seq);
            }
            seq = seq.next();
        }
        None
    }

    /// The next new packet to send at `now`: as the windows allow, and
    /// (loss-tolerant controller) pacing.
    pub(super) fn next_new(&self, now: u64) -> Option<Seq> {
        #[cfg(feature = "congestion")]
        if self.paced_out(now) {
            return None;
        }
        #[cfg(not(feature = "congestion"))]
        let _ = now;
        self.next_new_unpaced()
    }

    /// The next new packet the send window, the congestion window and the peer's window allow.
    pub(super) fn next_new_unpaced(&self) -> Option<Seq> {
        if self.snd_nxt == self.snd_end {
            return None;
        }
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        let cwnd = if self.config.congestion_control.is_on() { u32::from(self.cc.window()) } else { u32::MAX };
        let peer_allows = self.snd_nxt.is_before(self.peer_right);
        // With nothing in flight one packet may always go: it probes a full
        // peer, which drops it and gets it again by retransmission. Without
        // retransmission (over a stream) it would be lost for good: wait for
        // the peer's window update instead (it sends one once it reads).
        let probe = in_flight == 0 && self.config.retransmit;
        (probe || (in_flight < cwnd && peer_allows)).then_some(self.snd_nxt)
    }

    /// Whether `ack` fits in an extended DATA packet with `data_len` bytes of data.
    pub(super) fn ack_fits(&self, ack: &AckRepr, data_len: usize, fragment: bool) -> bool {
        // DataRepr::header_len, without copying the ACK into a DataRepr
        let header_len = EXTENDED_MIN_LEN + ack.block_len() + if fragment { FRAGMENT_HEADER_LEN } else { 0 };
        header_len + data_len <= usize::from(self.config.max_payload)
    }

    pub(super) fn build_ack(&self, arena: &mut [u8]) -> AckRepr {
        let mut sack = Sack::new();
        let first = self.rcv_nxt.next();
        let span = self.rcv_high.offset_from(first).min((MAX_SACK_BYTES * 8) as u32);
        // cumulative only without `fast-recovery` (SACK is advisory, PROTOCOL.md 6.3)
        if cfg!(feature = "fast-recovery") && self.rcv_high.is_after(first) {
            for i in 0..span {
                let seq = first.advance(i);
                if self.in_recv_window(seq) && self.recv_meta(arena, seq).filled {
                    sack.set(i as usize);
                }
            }
        }
        AckRepr { cumulative: self.rcv_nxt.retreat(1), window: Some(self.recv_window_free()), sack }
    }

    /// Writes the NACK payload (6.4) naming the receive window's holes from
    /// `from` on (from the next expected packet at the earliest, which is
    /// named even with no packet held beyond it), in ascending order, at
    /// most [`MAX_NACK_SEQS`](crate::wire::ack::MAX_NACK_SEQS). Returns its length and the highest hole named;
    /// None when no hole is left from `from` on.
    #[cfg(feature = "fast-recovery")]
    pub(super) fn build_nack(&self, arena: &mut [u8], from: Seq, out: &mut [u8]) -> Option<(usize, Seq)> {
        let mut seq = if from.is_after(self.rcv_nxt) { from } else { self.rcv_nxt };
        let mut slots = out.chunks_exact_mut(4);
        let (mut len, mut high) = (0, None);
        while seq == self.rcv_nxt || seq.is_before(self.rcv_high) {
            if seq == self.rcv_nxt || self.in_recv_window(seq) && !self.recv_meta(arena, seq).filled {
                let Some(slot) = slots.next() else { break };
                copy_prefix(slot, &seq.0.to_be_bytes());
                len += 4;
                high = Some(seq);
            }
            seq = seq.next();
        }
        high.map(|h| (len, h))
    }

    pub(super) fn acked(&mut self, window: Option<u16>) {
        self.ack_now = false;
        self.ack_deadline = None;
        self.rx_unacked = 0;
        self.last_adv_window = window.unwrap_or(self.last_adv_window);
        self.stats.acks_sent += 1;
    }

    pub(super) fn transmit_ack(
        &mut self,
        arena: &mut [u8],
        now: u64,
        buf: &mut [u8],
        ack: &AckRepr,
    ) -> Result<usize, Error> {
        let len = ack.emit_block(payload_room(buf, crate::wire::ack::ACK_BLOCK_MAX_LEN))?;
        let n = self.emit_in_place(buf, PacketType::ACK, len)?;
        self.acked(ack.window);
        self.sent(arena, now, TraceKind::Sent, self.snd_nxt, PacketType::ACK, n);
        Ok(n)
    }

    pub(super) fn transmit_data(
        &mut self,
        arena: &mut [u8],
        now: u64,
        buf: &mut [u8],
        seq: Seq,
        mut meta: SendMeta,
        ack: Option<&AckRepr>,
    ) -> Result<usize, Error> {
        let fragment =
            (meta.flags & F_FRAGMENT != 0).then_some(Fragment { index: meta.frag_index, count: meta.frag_count });
        let len = usize::from(meta.len);
        let mut header = [0u8; crate::wire::ack::ACK_BLOCK_MAX_LEN + 8];
        let (ptype, ext_len) = if fragment.is_none() && ack.is_none() {
            (PacketType(meta.app_type), 0)
        } else {
            let repr = DataRepr {
                app_type: PacketType(meta.app_type),
                ack: ack.copied(),
                fragment,
                unreliable: false,
                data: &[],
            };
            (PacketType::DATA, repr.emit_header(&mut header)?)
        };
        let n = {
            let slot = self.send_slot(arena, seq);
            let data = slot.get(SEND_META_LEN..SEND_META_LEN + len).unwrap_or(&[]);
            self.emit(buf, ptype, seq, header.get(..ext_len).unwrap_or(&[]), data)?
        };
        if let Some(ack) = ack {
            self.acked(ack.window);
        }
        #[cfg(feature = "fast-recovery")]
        self.note_tx_clock(now);
        let kind = if meta.state == QUEUED {
            #[cfg(feature = "congestion")]
            self.note_first_transmission(now);
            self.snd_nxt = seq.next();
            meta.state = SENT;
            meta.retries = 0;
            meta.quick = 0;
            TraceKind::Sent
        } else {
            meta.retries = meta.retries.saturating_add(1);
            self.unflag(&meta);
            meta.flags &= !(F_RESEND | F_LOST);
            self.stats.retransmissions += 1;
            TraceKind::Retransmitted
        };
        meta.sent_at = now;
        meta.fastack = 0;
        #[cfg(feature = "fast-recovery")]
        {
            self.tx_count = self.tx_count.wrapping_add(1);
            meta.tx = self.tx_count;
        }
        if let Some(d) = self.resend_deadline(seq, &meta) {
            self.rto_deadline = Some(self.rto_deadline.map_or(d, |e| e.min(d)));
        }
        self.set_send_meta(arena, seq, &meta);
        self.sent(arena, now, kind, seq, ptype, n);
        Ok(n)
    }

    #[cfg(feature = "unreliable")]
    pub(super) fn transmit_unreliable(
        &mut self,
        arena: &mut [u8],
        now: u64,
        buf: &mut [u8],
        meta: UnreliableMeta,
        ack: Option<&AckRepr>,
    ) -> Result<usize, Error> {
        let repr = DataRepr {
            app_type: PacketType(meta.app_type),
            ack: ack.copied(),
            fragment: None,
            unreliable: true,
            data: &[],
        };
        let mut header = [0u8; crate::wire::ack::ACK_BLOCK_MAX_LEN + 8];
        let ext_len = repr.emit_header(&mut header)?;
        let seq = self.unrel_send_seq;
        let n = {
            let slot = self.unrel_slot(arena, false, self.unrel_send_head);
            let len = usize::from(meta.len);
            let data = slot.get(UNRELIABLE_META_LEN..UNRELIABLE_META_LEN + len).unwrap_or(&[]);
            self.emit(buf, PacketType::DATA, seq, header.get(..ext_len).unwrap_or(&[]), data)?
        };
        if let Some(ack) = ack {
            self.acked(ack.window);
        }
        self.unrel_send_seq = seq.next();
        self.unrel_send_head =
            super::ring_index(usize::from(self.unrel_send_head) + 1, usize::from(self.config.unreliable_slots_used()))
                as u8;
        self.unrel_send_len -= 1;
        self.sent(arena, now, TraceKind::Sent, seq, PacketType::DATA, n);
        Ok(n)
    }

    /// Writes one packet: header, then `ext` and `data` as the payload.
    pub(super) fn emit(
        &self,
        buf: &mut [u8],
        ptype: PacketType,
        seq: Seq,
        ext: &[u8],
        data: &[u8],
    ) -> Result<usize, Error> {
        let codec = self.config.codec();
        let payload_len = ext.len() + data.len();
        if payload_len > usize::from(codec.max_payload) {
            return Err(Error::PayloadTooLarge { len: payload_len, max: usize::from(codec.max_payload) });
        }
        let available = buf.len();
        let body = buf
            .get_mut(HEADER_LEN..HEADER_LEN + payload_len)
            .ok_or(Error::BufferTooSmall { needed: codec.packet_len(payload_len), available })?;
        if let Some((e, d)) = body.split_at_mut_checked(ext.len()) {
            copy_prefix(e, ext);
            copy_prefix(d, data);
        }
        seal(buf, &codec, seq, ptype, payload_len)
    }

    /// Writes a control packet of this link whose payload `len` bytes were
    /// built in place ([`payload_room`]).
    fn emit_in_place(&self, buf: &mut [u8], ptype: PacketType, len: usize) -> Result<usize, Error> {
        seal(buf, &self.config.codec(), self.snd_nxt, ptype, len)
    }

    pub(super) fn sent(
        &mut self,
        arena: &mut [u8],
        now: u64,
        kind: TraceKind,
        seq: Seq,
        ptype: PacketType,
        len: usize,
    ) {
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += len as u64;
        self.trace(arena, now, kind, seq, ptype, len);
    }
}

/// Where a control packet's payload of at most `max` bytes is built: after
/// the header (`poll_transmit` checked that `buf` holds the longest packet,
/// and every link's `max_payload` holds a NACK or an ACK block).
fn payload_room(buf: &mut [u8], max: usize) -> &mut [u8] {
    buf.get_mut(HEADER_LEN..HEADER_LEN + max).unwrap_or(&mut [])
}
