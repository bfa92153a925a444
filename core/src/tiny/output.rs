//! A tiny client's output: control packets, acknowledgements and data
//! packets, one per datagram.

use super::*;
use crate::wire::ack::CumulativeAck;
use crate::wire::control::{HeartbeatRepr, ResetRepr};

impl<'w, const W: usize, const P: usize> TinyClient<'w, W, P> {
    /// Writes the next datagram to send into `buf`, which must hold
    /// [`TinyClient::MAX_DATAGRAM_LEN`] bytes ([`Error::BufferTooSmall`]
    /// otherwise). Never runs timers: what they make due is sent after
    /// [`TinyClient::handle_timeout`].
    pub fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        if buf.len() < Self::MAX_DATAGRAM_LEN {
            return Err(Error::BufferTooSmall { needed: Self::MAX_DATAGRAM_LEN, available: buf.len() });
        }
        let now = self.tick(now);
        let sent = self.transmit(now, buf);
        if sent.is_some() {
            self.last_send = now;
        }
        Ok(sent)
    }

    /// The next packet, written into `buf` (long enough for any: the
    /// emitters' length errors cannot happen).
    #[inline(never)] // out of the caller's loop: inlined, it made the loop larger (measured)
    fn transmit(&mut self, now: Time, buf: &mut [u8]) -> Option<usize> {
        if let Some(code) = self.reset.take() {
            return self.control(buf, PacketType::RESET, &ResetRepr { code, token: 0 }.to_bytes());
        }
        if core::mem::take(&mut self.idle_err) {
            return self.control(buf, PacketType::ERR_MSG, &[ErrorCode::IdleTimeout.code()]);
        }
        let state = self.state;
        match state {
            State::SynSent if self.take(pending::SYN) => {
                self.schedule_retry(now);
                // the proposal (the agreement's fields so far), padded: the server
                // answers with at most as many bytes as the SYN has (7.3)
                let n = handshake::write(payload_room(buf), handshake::SYN, &self.agreement)?;
                packet::seal(buf, 0, Seq(0), PacketType::SYN, n)
            }
            State::Confirming | State::Established if self.take(pending::HANDSHAKE_ACK) => {
                if state == State::Confirming {
                    self.schedule_retry(now);
                }
                let n = handshake::write(payload_room(buf), handshake::HANDSHAKE_ACK, &self.agreement)?;
                packet::seal(buf, 0, Seq(0), PacketType::HANDSHAKE_ACK, n)
            }
            State::Established | State::Closing | State::Linger => {
                if self.take(pending::PONG) {
                    let pong = HeartbeatRepr { pong: true, stamp: self.pong_stamp };
                    return self.control(buf, PacketType::HEARTBEAT, &pong.to_bytes());
                }
                if self.take(pending::ACK) {
                    return self.acknowledge(buf);
                }
                if let Some(n) = self.transmit_data(now, buf) {
                    self.pending &= !pending::PING; // the data shows we are alive
                    return Some(n);
                }
                if self.take(pending::PING) {
                    self.ping_stamp = now;
                    self.ping_outstanding = true;
                    self.unanswered_pings = self.unanswered_pings.saturating_add(1);
                    let ping = HeartbeatRepr { pong: false, stamp: self.ping_stamp };
                    return self.control(buf, PacketType::HEARTBEAT, &ping.to_bytes());
                }
                None
            }
            _ => None,
        }
    }

    /// Clears a [`pending`] flag; whether it was set.
    fn take(&mut self, flag: u8) -> bool {
        let set = self.pending & flag != 0;
        self.pending &= !flag;
        set
    }

    /// The next handshake retransmission: the initial RTO, doubled per attempt (7.3).
    fn schedule_retry(&mut self, now: Time) {
        let timing = &self.config.timing;
        let backoff = timing.initial_rto.saturating_mul(1 << self.attempts.min(6));
        self.retry_at = after(now, backoff.min(timing.max_rto));
        self.attempts = self.attempts.saturating_add(1);
    }

    /// A cumulative ACK with the free window and no SACK bits (6.3, 6.9).
    fn acknowledge(&mut self, buf: &mut [u8]) -> Option<usize> {
        self.armed &= !armed::ACK;
        self.unacked = 0;
        self.advertised = self.free_window();
        let ack = CumulativeAck { cumulative: self.rcv_nxt.retreat(1), window: Some(self.advertised) };
        let n = ack.emit_block(payload_room(buf)).ok()?;
        packet::seal(buf, self.connection_id(), self.snd_nxt, PacketType::ACK, n)
    }

    /// A packet presumed lost (lowest first), else a new one the peer's
    /// window allows (one probe when nothing is in flight, 6.3).
    fn transmit_data(&mut self, now: Time, buf: &mut [u8]) -> Option<usize> {
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        let mut offset = 0;
        while offset < in_flight {
            if let Some(slot) = self.window.send.get_mut(ring::<W>(self.snd_head, offset)) {
                if slot.resend {
                    slot.resend = false;
                    slot.retransmitted = true;
                    slot.retries = slot.retries.saturating_add(1);
                    break;
                }
            }
            offset += 1;
        }
        if offset == in_flight {
            if self.snd_nxt == self.snd_end || (in_flight > 0 && !self.snd_nxt.is_before(self.peer_right)) {
                return None;
            }
            self.snd_nxt = self.snd_nxt.next();
        }
        let (id, seq) = (self.connection_id(), self.snd_una.advance(offset));
        let slot = self.window.send.get_mut(ring::<W>(self.snd_head, offset))?;
        slot.last_sent = now;
        let n = copy_prefix(payload_room(buf), slot.payload());
        packet::seal(buf, id, seq, PacketType(slot.ptype), n)
    }

    /// A bound control packet: the connection id in its check, our next
    /// sequence number as its `seq` (7.1).
    fn control(&self, buf: &mut [u8], ptype: PacketType, payload: &[u8]) -> Option<usize> {
        let n = copy_prefix(payload_room(buf), payload);
        packet::seal(buf, self.connection_id(), self.snd_nxt, ptype, n)
    }
}

/// Where a packet's payload is written: the bytes after the header.
fn payload_room(buf: &mut [u8]) -> &mut [u8] {
    buf.get_mut(HEADER_LEN..).unwrap_or(&mut [])
}
