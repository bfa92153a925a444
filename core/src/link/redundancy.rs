//! Redundant bundling (`docs/PROTOCOL.md` 6.8.1): room left in a datagram
//! of a thin stream carries copies of the packets sent just before it, so
//! that a lost datagram is repaired by the next one instead of by a resend
//! a round trip later; and the receiver's side of it, a duplicate that came
//! with new data forcing no acknowledgement of its own (6.5). Only with
//! `coalescing`.

use super::config::SEND_META_LEN;
use super::slots::{SendMeta, F_FRAGMENT, F_LOST, F_RESEND, SENT};
use super::LinkState;
use crate::error::Error;
use crate::event::TraceKind;
use crate::seq::Seq;
use crate::wire::data::{DataRepr, Fragment, EXTENDED_MIN_LEN, FRAGMENT_HEADER_LEN};
use crate::wire::{Codec, Packet, PacketType};

/// What the reliable packets of the coalesced datagram being taken were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(super) struct DatagramArrival {
    /// A coalesced datagram is being taken: a duplicate's ACK waits for its end.
    open: bool,
    /// A reliable packet in it was a duplicate.
    duplicate: bool,
    /// A reliable packet in it was taken into the receive window.
    new_data: bool,
}

impl LinkState {
    /// Adds copies of earlier packets to the datagram of `len` bytes at the
    /// start of `buf` (as long as the longest datagram) when it carries new
    /// reliable data from `first_new` on and nothing new is left queued:
    /// of the `redundancy` packets numbered just before `first_new`, those
    /// sent once, not acknowledged and not marked for a resend, from the
    /// newest back until one does not fit. Each goes in front of the one
    /// taken before it, after a leading ACK or NACK: in ascending order,
    /// before everything else. Returns the datagram's new length.
    pub(super) fn bundle_copies(
        &mut self,
        arena: &mut [u8],
        now: u64,
        buf: &mut [u8],
        mut len: usize,
        first_new: Seq,
    ) -> Result<usize, Error> {
        let thin = first_new != self.snd_nxt && self.snd_nxt == self.snd_end && !self.unreliable_queued();
        if self.config.redundancy == 0 || !thin {
            return Ok(len);
        }
        let at = leading_control_len(buf, &self.config.codec()).min(len);
        let span = u32::from(self.config.redundancy).min(first_new.offset_from(self.snd_una));
        for back in 1..=span {
            let seq = first_new.retreat(back);
            let meta = self.send_meta(arena, seq);
            if !is_copyable(&meta) {
                continue;
            }
            let n = self.data_packet_len(usize::from(meta.len), None, meta.flags & F_FRAGMENT != 0, false);
            let Some(grown) = buf.get_mut(at..len + n) else {
                break; // it does not fit
            };
            shift_right(grown, n);
            let (written, ptype) = self.emit_copy(arena, grown, seq, &meta)?;
            debug_assert_eq!(written, n, "a copy's length differs from the one measured");
            len += n;
            // a copy is sent again, but no retransmission (nothing of its recovery changes)
            self.sent(arena, now, TraceKind::Retransmitted, seq, ptype, written);
        }
        Ok(len)
    }

    /// Writes the copy of the packet at `seq` into `buf`: as `transmit_data`
    /// writes it with no ACK riding in it (a plain packet, or a DATA packet
    /// for a fragment). Returns its length and type. (Kept apart from
    /// `transmit_data`, whose code the minimal build keeps as it was.)
    fn emit_copy(
        &self,
        arena: &mut [u8],
        buf: &mut [u8],
        seq: Seq,
        meta: &SendMeta,
    ) -> Result<(usize, PacketType), Error> {
        let mut header = [0u8; EXTENDED_MIN_LEN + FRAGMENT_HEADER_LEN];
        let (ptype, ext_len) = if meta.flags & F_FRAGMENT == 0 {
            (PacketType(meta.app_type), 0)
        } else {
            let fragment = Some(Fragment { index: meta.frag_index, count: meta.frag_count });
            let repr =
                DataRepr { app_type: PacketType(meta.app_type), ack: None, fragment, unreliable: false, data: &[] };
            (PacketType::DATA, repr.emit_header(&mut header)?)
        };
        let slot = self.send_slot(arena, seq);
        let data = slot.get(SEND_META_LEN..SEND_META_LEN + usize::from(meta.len)).unwrap_or(&[]);
        let n = self.emit(buf, ptype, seq, header.get(..ext_len).unwrap_or(&[]), data)?;
        Ok((n, ptype))
    }

    /// Starts taking the packets of one coalesced datagram.
    pub(super) fn open_datagram(&mut self) {
        self.arrival = DatagramArrival { open: true, ..DatagramArrival::default() };
    }

    /// Ends the coalesced datagram: a duplicate in it is acknowledged at
    /// once only when no new data came with it (6.5).
    pub(super) fn close_datagram(&mut self) {
        if self.arrival.duplicate && !self.arrival.new_data {
            self.ack_now = true;
        }
        self.arrival = DatagramArrival::default();
    }

    /// A duplicate arrived: acknowledged at once, or at the end of its
    /// coalesced datagram unless new data came with it.
    pub(super) fn ack_duplicate(&mut self) {
        if self.arrival.open {
            self.arrival.duplicate = true;
        } else {
            self.ack_now = true;
        }
    }

    /// A reliable packet was taken into the receive window.
    pub(super) fn note_new_data(&mut self) {
        self.arrival.new_data = true;
    }
}

/// Moves the first `len - by` bytes of `bytes` `by` bytes on, last first
/// (a loop: `rotate_right` or `copy_within` would link far more code).
fn shift_right(bytes: &mut [u8], by: usize) {
    for to in (by..bytes.len()).rev() {
        if let Some(&b) = bytes.get(to - by) {
            if let Some(d) = bytes.get_mut(to) {
                *d = b;
            }
        }
    }
}

/// Whether a packet in flight may be copied: sent once, not acknowledged,
/// not marked for a resend (its recovery is the retransmissions' business).
fn is_copyable(meta: &SendMeta) -> bool {
    meta.state == SENT && meta.retries == 0 && meta.flags & (F_RESEND | F_LOST) == 0
}

/// The length of the ACK or NACK packet a datagram starts with (0 when it
/// starts with another packet): those go first (6.8).
fn leading_control_len(datagram: &[u8], codec: &Codec) -> usize {
    let first = Packet::new_unchecked(datagram);
    match first.packet_type() {
        PacketType::ACK | PacketType::NACK => codec.packet_len(usize::from(first.payload_len())),
        _ => 0,
    }
}

#[cfg(test)]
mod tests;
