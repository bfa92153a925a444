//! The receiving half of a link: packets in, acknowledgements processed,
//! messages reassembled and handed to the application.

use super::acked::NewlyAcked;
#[cfg(feature = "fast-recovery")]
use super::config::MAX_FAST_RESENDS;
#[cfg(feature = "unreliable")]
use super::config::UNRELIABLE_META_LEN;
use super::config::{RECV_META_LEN, SEND_META_LEN};
#[cfg(feature = "fast-recovery")]
use super::reordering::sent_after;
#[cfg(feature = "unreliable")]
use super::slots::UnreliableMeta;
use super::slots::{RecvMeta, F_FRAGMENT, SENT};
#[cfg(feature = "fast-recovery")]
use super::slots::{ACKED, F_LOST, F_RESEND};
use super::{copy_prefix, ring_index, Delivery, Handled, LinkState, Received};
use crate::error::Error;
use crate::event::TraceKind;
use crate::seq::Seq;
use crate::wire::ack::{AckRepr, NackRepr};
use crate::wire::data::{DataRepr, Fragment};
use crate::wire::{PacketRepr, PacketType};

/// Packets by which reading everything received must have grown the
/// window beyond the last advertisement for a window update (as an ACK
/// is due every second packet received).
pub(super) const WINDOW_UPDATE_MIN: u16 = 2;

impl LinkState {
    // ---- receiving packets -------------------------------------------------

    pub(super) fn handle_datagram(&mut self, arena: &mut [u8], now: u64, datagram: &[u8]) {
        let codec = self.config.codec();
        #[cfg(feature = "coalescing")]
        if self.config.coalesce {
            let mut left = datagram.len();
            self.open_datagram();
            for packet in PacketRepr::decode_all(datagram, &codec) {
                match packet {
                    Ok(packet) => {
                        let wire_len = codec.packet_len(packet.payload.len());
                        left = left.saturating_sub(wire_len);
                        self.handle_decoded(arena, now, &packet, wire_len);
                    }
                    Err(_) => self.on_corrupt(arena, now, left),
                }
            }
            self.close_datagram();
            return;
        }
        match PacketRepr::decode(datagram, &codec) {
            Ok(packet) => self.handle_decoded(arena, now, &packet, datagram.len()),
            Err(_) => self.on_corrupt(arena, now, datagram.len()),
        }
    }

    fn handle_decoded(&mut self, arena: &mut [u8], now: u64, packet: &PacketRepr<'_>, wire_len: usize) {
        if self.handle_packet(arena, now, packet, wire_len) == Handled::NotMine {
            // Not a link packet: count it as dropped (a connection would have taken it).
            self.trace(arena, now, TraceKind::Dropped, packet.seq, packet.ptype, wire_len);
        }
    }

    pub(super) fn on_corrupt(&mut self, arena: &mut [u8], now: u64, wire_len: usize) {
        self.stats.corrupt_packets += 1;
        self.trace(arena, now, TraceKind::Corrupt, Seq(0), PacketType(0), wire_len);
        // The corrupted packet may well have been the next one expected.
        self.maybe_nack(now);
    }

    pub(super) fn handle_packet(
        &mut self,
        arena: &mut [u8],
        now: u64,
        packet: &PacketRepr<'_>,
        wire_len: usize,
    ) -> Handled {
        if self.failed.is_some() {
            return Handled::Consumed;
        }
        let ptype = packet.ptype;
        let parsed = match ptype {
            PacketType::ACK => AckRepr::parse(packet.payload).map(|ack| self.on_ack(arena, now, &ack)),
            PacketType::NACK => NackRepr::parse(packet.payload).map(|nack| {
                self.stats.nacks_received += 1;
                // advisory (PROTOCOL.md 6.4): without `fast-recovery` the timers repair the loss
                #[cfg(feature = "fast-recovery")]
                {
                    for seq in nack.seqs() {
                        self.on_nack(arena, now, seq);
                    }
                    self.rearm(arena);
                }
                #[cfg(not(feature = "fast-recovery"))]
                let _ = nack;
            }),
            PacketType::DATA => DataRepr::parse(packet.payload).map(|data| {
                if let Some(ack) = &data.ack {
                    self.on_ack(arena, now, ack);
                }
                if data.unreliable {
                    self.on_unreliable(arena, now, packet.seq, &data, wire_len);
                } else {
                    let fragment = data.fragment;
                    self.on_reliable(arena, now, packet.seq, data.app_type, fragment, data.data, wire_len);
                }
            }),
            t if t.is_application() || t == PacketType::FIN => {
                self.on_reliable(arena, now, packet.seq, t, None, packet.payload, wire_len);
                Ok(())
            }
            _ => return Handled::NotMine,
        };
        match parsed {
            Ok(()) => {
                self.stats.packets_received += 1;
                self.stats.bytes_received += wire_len as u64;
            }
            Err(_) => {
                self.stats.malformed_packets += 1;
                self.trace(arena, now, TraceKind::Corrupt, packet.seq, ptype, wire_len);
            }
        }
        Handled::Consumed
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_reliable(
        &mut self,
        arena: &mut [u8],
        now: u64,
        seq: Seq,
        app_type: PacketType,
        fragment: Option<Fragment>,
        data: &[u8],
        wire_len: usize,
    ) {
        let ptype = if fragment.is_some() { PacketType::DATA } else { app_type };
        if seq.is_before(self.rcv_nxt) || self.recv_meta(arena, seq).filled && self.in_recv_window(seq) {
            self.stats.duplicates += 1;
            self.trace(arena, now, TraceKind::Duplicate, seq, ptype, wire_len);
            #[cfg(feature = "coalescing")]
            self.ack_duplicate();
            #[cfg(not(feature = "coalescing"))]
            {
                self.ack_now = true;
            }
            return;
        }
        if !self.in_recv_window(seq) || data.len() > usize::from(self.config.max_payload) {
            self.stats.out_of_window += 1;
            self.trace(arena, now, TraceKind::Dropped, seq, ptype, wire_len);
            self.ack_now = true;
            return;
        }
        self.trace(arena, now, TraceKind::Received, seq, ptype, wire_len);
        #[cfg(feature = "coalescing")]
        self.note_new_data();
        let meta = RecvMeta {
            filled: true,
            app_type: app_type.0,
            flags: if fragment.is_some() { F_FRAGMENT } else { 0 },
            len: data.len() as u16,
            frag_index: fragment.map_or(0, |f| f.index),
            frag_count: fragment.map_or(1, |f| f.count),
        };
        let slot = self.recv_slot(arena, seq);
        meta.write(slot);
        if let Some(dst) = slot.get_mut(RECV_META_LEN..RECV_META_LEN + data.len()) {
            copy_prefix(dst, data);
        }
        if !seq.is_before(self.rcv_high) {
            self.rcv_high = seq.next();
        }
        if app_type == PacketType::FIN {
            self.fin_recv = Some(seq);
        }
        if seq == self.rcv_nxt {
            let had_gap = self.rcv_high != seq.next();
            while self.rcv_nxt != self.rcv_high
                && self.in_recv_window(self.rcv_nxt)
                && self.recv_meta(arena, self.rcv_nxt).filled
            {
                self.rcv_nxt = self.rcv_nxt.next();
            }
            self.rx_unacked = self.rx_unacked.saturating_add(1);
            if self.rcv_nxt != self.rcv_high {
                self.maybe_nack(now); // a retransmission filled one hole; the next one is still open
            }
            if had_gap || self.rx_unacked >= 2 || self.config.timing.ack_delay == 0 {
                self.ack_now = true;
            } else if self.ack_deadline.is_none() {
                self.ack_deadline = Some(now.saturating_add(u64::from(self.config.timing.ack_delay)));
            }
            self.settle(arena);
        } else {
            self.stats.out_of_order += 1;
            self.ack_now = true;
            self.maybe_nack(now);
        }
    }

    pub(super) fn in_recv_window(&self, seq: Seq) -> bool {
        seq.in_window(self.rcv_base, u32::from(self.config.recv_window))
    }

    #[cfg(not(feature = "fast-recovery"))]
    pub(super) fn maybe_nack(&mut self, _now: u64) {}

    #[cfg(feature = "fast-recovery")]
    pub(super) fn maybe_nack(&mut self, now: u64) {
        if !self.config.retransmit {
            return;
        }
        let missing = self.rcv_nxt;
        if let Some((seq, at)) = self.last_nack {
            // a clock that ran backwards gives 0 elapsed
            if seq == missing && now.saturating_sub(at) < u64::from(self.config.timing.nack_interval) {
                // Named lately: only holes opened beyond the last NACK's are named now.
                let after = self.nack_high.next();
                let new_holes = !self.nack_high.is_before(missing) && after.is_before(self.rcv_high.retreat(1));
                if new_holes && self.nack_pending.is_none() {
                    self.nack_pending = Some(after);
                }
                return;
            }
        }
        self.nack_pending = Some(missing);
        self.last_nack = Some((missing, now));
    }

    /// Without the `unreliable` feature every unreliable packet is dropped.
    #[cfg(not(feature = "unreliable"))]
    pub(super) fn on_unreliable(&mut self, arena: &mut [u8], now: u64, seq: Seq, _: &DataRepr<'_>, wire_len: usize) {
        self.stats.unreliable_dropped += 1;
        self.trace(arena, now, TraceKind::Dropped, seq, PacketType::DATA, wire_len);
    }

    #[cfg(feature = "unreliable")]
    pub(super) fn on_unreliable(&mut self, arena: &mut [u8], now: u64, seq: Seq, data: &DataRepr<'_>, wire_len: usize) {
        let slots = self.config.unreliable_slots_used();
        let stale = self.unrel_recv_last.is_some_and(|last| !seq.is_after(last));
        if slots == 0 || stale || data.data.len() > self.config.max_unreliable_len() {
            self.stats.unreliable_dropped += 1;
            let kind = if stale { TraceKind::Duplicate } else { TraceKind::Dropped };
            self.trace(arena, now, kind, seq, PacketType::DATA, wire_len);
            return;
        }
        self.trace(arena, now, TraceKind::Received, seq, PacketType::DATA, wire_len);
        self.unrel_recv_last = Some(seq);
        if self.unrel_recv_len == slots {
            self.unrel_recv_head = ring_index(usize::from(self.unrel_recv_head) + 1, usize::from(slots)) as u8;
            self.unrel_recv_len -= 1;
            self.stats.unreliable_dropped += 1;
        }
        let index =
            ring_index(usize::from(self.unrel_recv_head) + usize::from(self.unrel_recv_len), usize::from(slots)) as u8;
        let slot = self.unrel_slot(arena, true, index);
        let (meta, body) = slot.split_at_mut(UNRELIABLE_META_LEN.min(slot.len()));
        UnreliableMeta { len: data.data.len() as u16, app_type: data.app_type.0 }.write(meta);
        if let Some(dst) = body.get_mut(..data.data.len()) {
            copy_prefix(dst, data.data);
        }
        self.unrel_recv_len += 1;
    }

    pub(super) fn on_ack(&mut self, arena: &mut [u8], now: u64, ack: &AckRepr) {
        self.stats.acks_received += 1;
        let cum_next = ack.cumulative.next();
        let advance = cum_next.offset_from(self.snd_una);
        let sent = self.snd_nxt.offset_from(self.snd_una);
        if cum_next.is_before(self.snd_una) || advance > sent {
            return; // stale (reordered) or acknowledging what was never sent
        }
        let mut newly = NewlyAcked::start(self, now);
        for i in 0..advance {
            let seq = self.snd_una.advance(i);
            let meta = self.send_meta(arena, seq);
            if meta.state == SENT {
                newly.note(&meta);
            }
            self.unflag(&meta);
            free_meta(self.send_slot(arena, seq), SEND_META_LEN);
        }
        self.snd_una = cum_next;
        self.snd_base_slot =
            ring_index(usize::from(self.snd_base_slot) + advance as usize, usize::from(self.config.send_window)) as u16;

        // advisory (PROTOCOL.md 6.3): without `fast-recovery` SACK bits are ignored
        #[cfg(feature = "fast-recovery")]
        let highest_sacked = self.take_sacks(arena, ack, &mut newly);

        if let Some(window) = ack.window {
            self.peer_right = cum_next.advance(u32::from(window));
            if window == 0 && self.snd_nxt.offset_from(self.snd_una) == 1 {
                // The peer is alive but full: the probe in flight does not count towards dead peer.
                let mut probe = self.send_meta(arena, self.snd_una);
                probe.retries = 0;
                self.set_send_meta(arena, self.snd_una, &probe);
            }
        }

        #[cfg(feature = "fast-recovery")]
        let suspected = {
            self.learn_reordering(&newly.reordering);
            self.count_fast_acks(arena, now, ack, advance, sent, highest_sacked)
        };
        #[cfg(not(feature = "fast-recovery"))]
        let suspected = false;

        if newly.count > 0 {
            self.timeout_hold = None; // the peer is receiving: every packet has its own deadline again
            let rtt = newly.rtt_sample();
            if let Some(rtt) = rtt {
                self.rtt.on_sample(rtt, &self.config.timing);
                #[cfg(feature = "fast-recovery")]
                self.note_min_rtt(rtt);
            }
            self.cc.on_ack_at(now, newly.count, ack.cumulative, rtt);
            if self.blocked {
                self.blocked = false;
                self.writable_pending = true;
            }
        }
        // Acknowledged packets' deadlines are gone, and the others' follow the new RTO.
        if newly.count > 0 || advance > 0 || suspected {
            self.rearm(arena);
        }
    }

    /// Takes the SACK bits of `ack` (noting the packets they newly
    /// acknowledge); returns the highest selectively acknowledged packet.
    #[cfg(feature = "fast-recovery")]
    fn take_sacks(&mut self, arena: &mut [u8], ack: &AckRepr, newly: &mut NewlyAcked) -> Option<Seq> {
        let mut highest_sacked: Option<Seq> = None;
        for index in ack.sack.iter() {
            let seq = ack.cumulative.advance(2 + index as u32);
            if !seq.in_window(self.snd_una, self.snd_nxt.offset_from(self.snd_una)) {
                continue;
            }
            let mut meta = self.send_meta(arena, seq);
            if meta.state == SENT {
                newly.note(&meta);
                self.unflag(&meta);
                meta.state = ACKED;
                meta.flags &= !(F_RESEND | F_LOST);
                self.set_send_meta(arena, seq, &meta);
            }
            highest_sacked = Some(seq);
        }
        highest_sacked
    }

    /// Counts `ack` towards fast retransmit of the packets it reports
    /// later ones past (`advance` packets newly acknowledged cumulatively,
    /// `sent` outstanding before it); whether a suspect waits out its
    /// reordering window (so the timer must be rearmed).
    #[cfg(feature = "fast-recovery")]
    fn count_fast_acks(
        &mut self,
        arena: &mut [u8],
        now: u64,
        ack: &AckRepr,
        advance: u32,
        sent: u32,
        highest_sacked: Option<Seq>,
    ) -> bool {
        // Fast retransmit: a packet still missing while `fast_resend` ACKs
        // reported packets sent after its last transmission (so a resend is
        // judged only by what was sent after it, and a reordering has to
        // outlast that many ACKs), once it has been out longer than the
        // reordering seen so far allows. Again after each resend, up to
        // MAX_FAST_RESENDS times; its timer covers the rest.
        let threshold = if self.config.retransmit { self.config.timing.fast_resend } else { 0 };
        let mut suspected = false;
        if threshold > 0 {
            let upto = match highest_sacked {
                Some(high) => Some(high),
                // a plain (seed 000) duplicate ACK counts for the oldest packet
                None if ack.window.is_none() && advance == 0 && sent > 0 => Some(self.snd_una.next()),
                None => None,
            };
            if let Some(upto) = upto {
                // the latest transmission among the acknowledged packets above
                // the one looked at (transmission counts wrap: compared by
                // difference, as sequence numbers)
                let plain = highest_sacked.is_none();
                let mut latest_above: Option<u32> = None;
                let mut seq = if plain { upto } else { upto.next() };
                while seq != self.snd_una {
                    seq = seq.retreat(1);
                    let mut meta = self.send_meta(arena, seq);
                    if meta.state == ACKED && latest_above.is_none_or(|l| sent_after(meta.tx, l)) {
                        latest_above = Some(meta.tx);
                    }
                    let later_arrived = plain || latest_above.is_some_and(|l| sent_after(l, meta.tx));
                    if meta.state != SENT || !later_arrived || meta.flags & (F_RESEND | F_LOST) != 0 {
                        continue;
                    }
                    meta.fastack = meta.fastack.saturating_add(1);
                    let suspect = meta.fastack >= threshold && meta.quick < MAX_FAST_RESENDS;
                    if suspect && !self.may_be_on_its_way(&meta, now, false) {
                        self.fast_retransmit(arena, seq, meta);
                    } else {
                        // a suspect held back by reordering gets its own deadline (rearm below)
                        suspected |= suspect;
                        if suspect {
                            self.note_suspect(seq);
                        }
                        self.set_send_meta(arena, seq, &meta);
                    }
                }
            }
        }
        suspected
    }

    #[cfg(feature = "fast-recovery")]
    pub(super) fn on_nack(&mut self, arena: &mut [u8], now: u64, seq: Seq) {
        if !seq.in_window(self.snd_una, self.snd_nxt.offset_from(self.snd_una)) {
            return;
        }
        let mut meta = self.send_meta(arena, seq);
        // A SACKed packet is NACKed too: SACK is advisory, and a receiver
        // names only a packet it lacks.
        if !(meta.state == SENT || meta.state == ACKED) || meta.flags & F_RESEND != 0 {
            return;
        }
        // A NACK sent before the packet's last transmission arrived, or
        // while reordering may still bring it, proves nothing.
        if self.may_be_on_its_way(&meta, now, true) {
            if meta.retries == 0 && meta.state == SENT {
                // reordering may still bring it: resent once the window has passed
                meta.fastack = meta.fastack.max(self.config.timing.fast_resend);
                self.note_suspect(seq);
                self.set_send_meta(arena, seq, &meta);
            }
            return;
        }
        self.unflag(&meta);
        meta.state = SENT;
        meta.flags = (meta.flags & !F_LOST) | F_RESEND;
        meta.quick = meta.quick.saturating_add(1);
        self.set_send_meta(arena, seq, &meta);
        self.resend_pending += 1;
        self.stats.fast_retransmissions += 1;
        self.cc.on_loss(seq, self.snd_nxt);
    }

    // ---- delivering messages -------------------------------------------------

    /// Drops what can never be delivered from the front of the receive window.
    pub(super) fn settle(&mut self, arena: &mut [u8]) {
        let mut freed = false;
        while self.rcv_base != self.rcv_nxt {
            let meta = self.recv_meta(arena, self.rcv_base);
            if self.discard > 0 {
                self.discard -= 1;
            } else if meta.app_type == PacketType::FIN.0 {
                // the peer's FIN: recorded on arrival, never handed to the application
            } else if meta.flags & F_FRAGMENT != 0 && meta.frag_index != 0 {
                self.stats.malformed_packets += 1;
            } else if meta.flags & F_FRAGMENT != 0
                && (meta.frag_count > self.config.recv_window || !cfg!(feature = "fragmentation"))
            {
                // a message that can never be delivered: too many fragments
                // for the window, or no reassembly in this build
                self.dropped_messages = self.dropped_messages.saturating_add(1);
                self.dropped_fragments = meta.frag_count;
                self.discard = meta.frag_count.saturating_sub(1);
            } else {
                break;
            }
            self.release(arena, 1);
            freed = true;
        }
        if freed {
            self.after_read();
        }
    }

    /// Frees `count` slots at the front of the receive window.
    pub(super) fn release(&mut self, arena: &mut [u8], count: u32) {
        for i in 0..count {
            let seq = self.rcv_base.advance(i);
            free_meta(self.recv_slot(arena, seq), RECV_META_LEN);
        }
        self.rcv_base = self.rcv_base.advance(count);
        self.rcv_base_slot =
            ring_index(usize::from(self.rcv_base_slot) + count as usize, usize::from(self.config.recv_window)) as u16;
    }

    pub(super) fn recv_window_free(&self) -> u16 {
        self.config.recv_window.saturating_sub(self.rcv_nxt.offset_from(self.rcv_base) as u16)
    }

    /// After the application read (or the link dropped) packets at the
    /// front of the receive window: a window update is due when the window
    /// grows from 0, by half the window, or by [`WINDOW_UPDATE_MIN`] packets
    /// once everything received is read (PROTOCOL.md 6.5).
    pub(super) fn after_read(&mut self) {
        let grown = self.recv_window_free().saturating_sub(self.last_adv_window);
        // all read, no hole: the ACK every second packet sent advertised the
        // window before these reads, and the sender may be waiting for it
        let drained = self.rcv_base == self.rcv_high; // rcv_base <= rcv_nxt <= rcv_high
        if self.last_adv_window == 0 || grown >= self.config.recv_window / 2 || drained && grown >= WINDOW_UPDATE_MIN {
            self.ack_now = true; // window update
        }
    }

    /// The reliable message at the front: (packets, total length), if complete.
    #[inline(never)] // inlined into both callers it costs more flash
    pub(super) fn front_message(&mut self, arena: &mut [u8]) -> Option<(u32, usize)> {
        loop {
            match self.check_front(arena) {
                Front::Ready(count, total) => return Some((count, total)),
                Front::Incomplete => return None,
                // Inconsistent fragments: drop the broken run and look again.
                Front::Broken(count) => {
                    self.stats.malformed_packets += 1;
                    self.release(arena, count);
                }
            }
        }
    }

    /// One look at the front of the receive window.
    fn check_front(&mut self, arena: &mut [u8]) -> Front {
        self.settle(arena);
        if self.rcv_base == self.rcv_nxt {
            return Front::Incomplete;
        }
        let first = self.recv_meta(arena, self.rcv_base);
        if first.flags & F_FRAGMENT == 0 || !cfg!(feature = "fragmentation") {
            return Front::Ready(1, usize::from(first.len));
        }
        let count = u32::from(first.frag_count);
        if self.rcv_nxt.offset_from(self.rcv_base) < count {
            return Front::Incomplete;
        }
        let mut total = 0;
        for i in 0..count {
            let meta = self.recv_meta(arena, self.rcv_base.advance(i));
            if meta.flags & F_FRAGMENT == 0 || u32::from(meta.frag_index) != i || meta.frag_count != first.frag_count {
                return Front::Broken(i.max(1));
            }
            total += usize::from(meta.len);
        }
        Front::Ready(count, total)
    }

    pub(super) fn next_message_len(&mut self, arena: &mut [u8]) -> Option<usize> {
        #[cfg(feature = "unreliable")]
        if self.unreliable_unread() {
            let meta = UnreliableMeta::read(self.unrel_slot(arena, true, self.unrel_recv_head));
            return Some(usize::from(meta.len));
        }
        self.front_message(arena).map(|(_, len)| len)
    }

    pub(super) fn recv(&mut self, arena: &mut [u8], buf: &mut [u8]) -> Result<Option<Received>, Error> {
        #[cfg(feature = "unreliable")]
        if self.unreliable_unread() {
            let slots = usize::from(self.config.unreliable_slots_used());
            let slot = self.unrel_slot(arena, true, self.unrel_recv_head);
            let meta = UnreliableMeta::read(slot);
            let len = usize::from(meta.len);
            let (Some(dst), Some(src)) = (buf.get_mut(..len), slot.get(UNRELIABLE_META_LEN..UNRELIABLE_META_LEN + len))
            else {
                return Err(Error::BufferTooSmall { needed: len, available: buf.len() });
            };
            copy_prefix(dst, src);
            self.unrel_recv_head = ring_index(usize::from(self.unrel_recv_head) + 1, slots) as u8;
            self.unrel_recv_len -= 1;
            self.stats.messages_delivered += 1;
            self.stats.bytes_delivered += len as u64;
            return Ok(Some(Received { ptype: PacketType(meta.app_type), len, delivery: Delivery::Unreliable }));
        }
        let Some((count, total)) = self.front_message(arena) else {
            return Ok(None);
        };
        if buf.len() < total {
            return Err(Error::BufferTooSmall { needed: total, available: buf.len() });
        }
        let mut at = 0;
        let mut ptype = PacketType(0);
        for i in 0..count {
            let slot = self.recv_slot(arena, self.rcv_base.advance(i));
            let meta = RecvMeta::read(slot);
            let len = usize::from(meta.len);
            ptype = PacketType(meta.app_type);
            if let (Some(dst), Some(src)) = (buf.get_mut(at..at + len), slot.get(RECV_META_LEN..RECV_META_LEN + len)) {
                copy_prefix(dst, src);
            }
            at += len;
        }
        self.release(arena, count);
        self.after_read();
        self.stats.messages_delivered += 1;
        self.stats.bytes_delivered += total as u64;
        Ok(Some(Received { ptype, len: total, delivery: Delivery::Reliable }))
    }
}

/// Frees a slot: its first `meta_len` bytes of bookkeeping become zero
/// (`SendMeta::default()`, `RecvMeta::default()`), in place.
fn free_meta(slot: &mut [u8], meta_len: usize) {
    if let Some(meta) = slot.get_mut(..meta_len) {
        meta.fill(0);
    }
}

/// What the front of the receive window holds.
enum Front {
    /// A complete message: packets, total length.
    Ready(u32, usize),
    /// Nothing complete yet.
    Incomplete,
    /// An inconsistent fragment run of this many packets to drop.
    Broken(u32),
}
