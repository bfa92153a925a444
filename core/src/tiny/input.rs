//! A tiny client's input: datagrams judged as bound or unbound packets
//! (`docs/PROTOCOL.md` 7.1, 7.2), the handshake's answers, acknowledgements
//! and data.

use super::*;
use crate::wire::ack::CumulativeAck;
use crate::wire::control::{ErrRepr, HeartbeatRepr, ResetRepr};
use crate::wire::data::{Fragment, EXTENDED_MIN_LEN, FLAG_ACK, FLAG_FRAGMENT, FLAG_UNRELIABLE, FRAGMENT_HEADER_LEN};
use crate::wire::handshake::{FLAG_COALESCE, FLAG_CRC};
use crate::wire::pseudo::same_sum;
use crate::wire::PacketRepr;

/// Room for the payload of handshake packets and unbound ERR_MSG and RESET
/// (pseudo-header 0): the largest handshake payload a connection sends
/// (`docs/PROTOCOL.md` 1).
const UNBOUND_ROOM: u16 = crate::wire::handshake::MAX_HANDSHAKE_PAYLOAD as u16;

impl<'w, const W: usize, const P: usize> TinyClient<'w, W, P> {
    /// Feeds one received datagram (exactly one packet: this client never
    /// agrees to coalesced datagrams). A packet is checked first as bound
    /// to the connection (its id as pseudo-header), then as unbound.
    pub fn handle_datagram(&mut self, now: u64, datagram: &[u8]) {
        let now = self.tick(now);
        if self.is_closed() {
            // after an abort the connection's packets get the RESET again while the linger lasts
            if let Some(code) = self.aborted {
                if !due(now, self.retry_at) && self.open_bound(datagram).is_some() {
                    self.reset = Some(code);
                }
            }
            return;
        }
        if self.bound {
            if let Some(packet) = self.open_bound(datagram) {
                self.on_bound(now, &packet);
                return;
            }
        }
        if let Some(packet) = packet::open(datagram, UNBOUND_ROOM, 0) {
            self.on_unbound(now, &packet);
        }
    }

    /// The connection's packet in `datagram`: at most the agreed payload, the
    /// connection id as pseudo-header.
    fn open_bound<'d>(&self, datagram: &'d [u8]) -> Option<PacketRepr<'d>> {
        packet::open(datagram, self.agreement.params.max_payload, self.connection_id())
    }

    #[inline(never)] // out of the caller's loop: inlined, it made the loop larger (measured)
    fn on_bound(&mut self, now: Time, packet: &PacketRepr<'_>) {
        let payload = packet.payload;
        if matches!(packet.ptype, PacketType::ERR_MSG | PacketType::RESET)
            && !packet.seq.in_window(self.rcv_nxt, u32::from(self.agreement.params.window) + 1)
        {
            return; // a blind sender must also guess a sequence number in the window (7.7)
        }
        self.last_recv = now;
        self.unanswered_pings = 0;
        if self.state == State::Linger {
            self.stretch_linger(now);
        }
        if self.state == State::Confirming {
            // the server has the connection: the handshake is complete
            self.state = State::Established;
            self.pending &= !pending::HANDSHAKE_ACK;
            self.armed &= !armed::DEADLINE;
            self.events.connected = true;
        }
        match packet.ptype {
            PacketType::ACK => {
                if let Ok(ack) = CumulativeAck::parse(payload) {
                    self.on_ack(now, &ack);
                }
            }
            PacketType::HEARTBEAT => match HeartbeatRepr::parse(payload) {
                Ok(HeartbeatRepr { pong: false, stamp }) => {
                    self.pending |= pending::PONG;
                    self.pong_stamp = stamp;
                }
                Ok(HeartbeatRepr { pong: true, stamp }) => self.on_pong(now, stamp),
                Err(_) => {}
            },
            PacketType::ERR_MSG => {
                let code = ErrRepr::parse(payload).map_or(ErrorCode::Other, |err| err.code);
                self.fail(FailReason::Reset { code });
            }
            PacketType::RESET => {
                let code = ResetRepr::parse(payload).map_or(ErrorCode::Other, |reset| reset.code);
                self.fail(FailReason::Reset { code });
            }
            PacketType::DATA => {
                if let Ok(data) = DataHeader::parse(payload) {
                    if let Some(ack) = data.ack {
                        self.on_ack(now, &ack);
                    }
                    // unreliable packets are dropped (no unreliable delivery, 6.2)
                    if !data.unreliable {
                        self.on_reliable(now, packet.seq, data.app_type, data.data, data.fragment);
                    }
                }
            }
            // a NACK is taken and dropped (6.9); handshake packets never arrive bound
            ptype => self.on_reliable(now, packet.seq, ptype, payload, None),
        }
        self.after_input(now);
    }

    /// A reliable packet: a message, a FIN or a fragment (dropped: no
    /// reassembly; `fragment` is the message's fragment count for its first
    /// fragment, else 0).
    fn on_reliable(&mut self, now: Time, seq: Seq, ptype: PacketType, body: &[u8], fragment: Option<u16>) {
        let held = match (ptype, fragment) {
            (_, Some(_)) => Held::Dropped,
            (PacketType::FIN, None) => Held::Fin,
            (ptype, None) if !ptype.is_protocol() => Held::Message,
            _ => return, // control types not for a client's data path
        };
        let offset = seq.offset_from(self.rcv_base);
        if seq.is_before(self.rcv_nxt) || offset >= u32::from(self.agreement.params.window) {
            // a duplicate, or beyond the window: dropped and answered at once (6.5)
            self.pending |= pending::ACK;
            return;
        }
        let Some(slot) = self.window.recv.get_mut(ring::<W>(self.rcv_head, offset)) else { return };
        if slot.held != Held::Empty {
            self.pending |= pending::ACK; // already held
            return;
        }
        slot.held = held;
        slot.ptype = ptype.0;
        slot.len = match fragment {
            Some(count) => count,
            None => copy_prefix(&mut slot.data, body) as u16,
        };
        if seq != self.rcv_nxt {
            self.pending |= pending::ACK; // out of order: acknowledged at once
            return;
        }
        let mut advanced = 0;
        while let Some(slot) = self.held_at(self.rcv_nxt) {
            match slot.held {
                Held::Empty => break,
                Held::Fin => self.peer_finished = true,
                Held::Dropped if slot.len > 0 => self.events.dropped = slot.len,
                _ => {}
            }
            self.rcv_nxt = self.rcv_nxt.next();
            advanced += 1;
        }
        self.unacked = self.unacked.saturating_add(1);
        if advanced > 1 || self.unacked >= 2 || self.holds_beyond_gap() {
            self.pending |= pending::ACK; // it filled a gap, every second packet, or more is held beyond a gap
        } else if self.armed & armed::ACK == 0 {
            self.ack_at = after(now, self.config.timing.ack_delay);
            self.armed |= armed::ACK;
        }
    }

    /// The receive slot of `seq`, if it lies in the receive window.
    fn held_at(&self, seq: Seq) -> Option<&window::RecvSlot<P>> {
        let offset = seq.offset_from(self.rcv_base);
        if offset >= u32::from(self.agreement.params.window) {
            return None;
        }
        self.window.recv.get(ring::<W>(self.rcv_head, offset))
    }

    /// Whether packets are held out of order beyond the next expected one.
    fn holds_beyond_gap(&self) -> bool {
        let mut seq = self.rcv_nxt.next();
        while let Some(slot) = self.held_at(seq) {
            if slot.held != Held::Empty {
                return true;
            }
            seq = seq.next();
        }
        false
    }

    /// An acknowledgement: cumulative only (SACK bits are ignored, 6.9).
    fn on_ack(&mut self, now: Time, ack: &CumulativeAck) {
        let next = ack.cumulative.next();
        let advance = next.offset_from(self.snd_una);
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        if next.is_before(self.snd_una) || advance > in_flight {
            return; // stale, or acknowledging what was never sent
        }
        // Karn's rule: a sample only when none of the newly acknowledged was sent twice
        let (mut sampled, mut newest) = (true, 0);
        for i in 0..advance {
            if let Some(slot) = self.window.send.get(ring::<W>(self.snd_head, i)) {
                sampled &= !slot.retransmitted;
                newest = slot.last_sent;
            }
        }
        self.snd_una = next;
        self.snd_head = ring::<W>(self.snd_head, advance) as u16;
        if let Some(window) = ack.window {
            self.peer_right = next.advance(u32::from(window));
            if window == 0 && in_flight - advance == 1 {
                // the peer is alive but full: the probe's resends do not count (6.6)
                if let Some(probe) = self.window.send.get_mut(usize::from(self.snd_head)) {
                    probe.retries = 0;
                }
            }
        }
        if advance > 0 {
            self.armed &= !armed::FLOOR;
            if sampled {
                self.rtt.on_sample(clock::elapsed(now, newest), &self.config.timing);
            }
            if self.blocked {
                self.blocked = false;
                self.events.writable = true;
            }
        }
    }

    /// A pong: an RTT sample only if it echoes the ping still outstanding (7.5).
    fn on_pong(&mut self, now: Time, stamp: u32) {
        if self.ping_outstanding && stamp == self.ping_stamp {
            self.ping_outstanding = false;
            self.rtt.on_sample(clock::elapsed(now, stamp), &self.config.timing);
        }
    }

    /// While lingering, each packet of the peer (it is still resending:
    /// our last acknowledgement was lost) makes the linger last until well
    /// after its next retransmission (7.6).
    fn stretch_linger(&mut self, now: Time) {
        let cap = self.config.timing.max_rto.saturating_mul(2).max(1);
        let gap = clock::elapsed(now, self.linger_mark).min(cap);
        let stay = gap.saturating_mul(3).max(self.config.linger_ms).min(cap);
        self.retry_at = clock::later(self.retry_at, after(now, stay));
        self.linger_mark = now;
    }

    fn on_unbound(&mut self, now: Time, packet: &PacketRepr<'_>) {
        match (packet.ptype, self.state) {
            (PacketType::SYN_ACK, State::SynSent | State::Confirming | State::Established) => {
                self.on_syn_ack(now, packet.payload);
            }
            (PacketType::ERR_MSG, State::SynSent | State::Confirming) => {
                let code = ErrRepr::parse(packet.payload).map_or(ErrorCode::Other, |err| err.code);
                self.fail(FailReason::Refused { code });
            }
            (PacketType::RESET, _) if self.bound => {
                // from a server that forgot the connection: it must echo our id's sum
                // and a sequence number we sent and still wait on (7.7)
                let in_flight = self.snd_nxt.offset_from(self.snd_una);
                if let Ok(reset) = ResetRepr::parse(packet.payload) {
                    if same_sum(reset.token, packet::pseudo_sum(self.connection_id()))
                        && packet.seq.in_window(self.snd_una, in_flight + 1)
                    {
                        self.fail(FailReason::Reset { code: reset.code });
                    }
                }
            }
            _ => {} // anything else unbound is not for this client
        }
    }

    /// A SYN_ACK: the answer to our SYN, or a repeated one (our HANDSHAKE_ACK
    /// was lost: it is sent again).
    fn on_syn_ack(&mut self, now: Time, payload: &[u8]) {
        // read over our fields: it does not carry our ISN
        let mut answer = handshake::fields_of(&self.agreement);
        if handshake::read(payload, handshake::SYN_ACK, &mut answer).is_err() {
            return;
        }
        if self.state != State::SynSent {
            if handshake::value(&answer, handshake::SERVER_ID) == self.agreement.server_id {
                self.pending |= pending::HANDSHAKE_ACK;
            }
            return;
        }
        if handshake::value(&answer, handshake::CLIENT_ID) != self.agreement.client_id {
            return; // it answers another SYN
        }
        // taken at once: unless acceptable the connection fails, and `agreement()` shows none
        self.agreement = handshake::agreement_of(&answer);
        if self.acceptable() {
            self.establish(now);
        } else {
            self.fail(FailReason::ProtocolViolation);
        }
    }

    /// Whether the server's agreement stays within the proposal (7.3): this
    /// client offered neither CRC-32C nor coalesced datagrams.
    fn acceptable(&self) -> bool {
        let a = &self.agreement;
        a.version == PROTOCOL_VERSION
            && a.params.max_payload >= MIN_PAYLOAD
            && usize::from(a.params.max_payload) <= P
            && a.params.window >= 1
            && usize::from(a.params.window) <= W
            && a.flags & (FLAG_CRC | FLAG_COALESCE) == 0
    }

    /// Takes the agreement: both sequence spaces start, the HANDSHAKE_ACK is due.
    fn establish(&mut self, now: Time) {
        let (window, server_isn) = (self.agreement.params.window, self.agreement.server_isn);
        self.bound = true;
        self.state = State::Confirming;
        self.pending = (self.pending & !pending::SYN) | pending::HANDSHAKE_ACK;
        self.attempts = 0;
        self.retry_at = now;
        self.last_recv = now;
        self.peer_right = self.snd_una.advance(u32::from(window));
        self.rcv_base = Seq(server_isn);
        self.rcv_nxt = Seq(server_isn);
        self.advertised = window;
    }

    /// What follows from any input: the passive close, the FIN once it
    /// fits, and the end of the close (7.6).
    pub(super) fn after_input(&mut self, now: Time) {
        if !matches!(self.state, State::Established | State::Closing) {
            return;
        }
        if self.peer_finished && self.state == State::Established {
            self.start_close(now); // our FIN follows whatever we still had queued
        }
        self.queue_fin();
        if self.state == State::Closing && self.fin_queued && self.is_idle() && self.peer_finished {
            // Closed for the application; the linger still acknowledges the peer's resent FIN
            self.state = State::Linger;
            self.retry_at = after(now, self.config.linger_ms);
            self.linger_mark = now;
            self.pending |= pending::ACK;
            self.events.finished = true;
        }
    }
}

/// An extended DATA packet (type 24) read as [`crate::wire::data::DataRepr::parse`]
/// reads it, its piggybacked acknowledgement cumulative only (6.9).
struct DataHeader<'a> {
    app_type: PacketType,
    ack: Option<CumulativeAck>,
    /// A fragment: the message's fragment count if it is the first, else 0.
    fragment: Option<u16>,
    unreliable: bool,
    data: &'a [u8],
}

impl<'a> DataHeader<'a> {
    fn parse(payload: &'a [u8]) -> Result<DataHeader<'a>, Error> {
        let Some((&[flags, app_type], mut rest)) = payload.split_first_chunk::<EXTENDED_MIN_LEN>() else {
            return Err(Error::Truncated { needed: EXTENDED_MIN_LEN, available: payload.len() });
        };
        if flags & !(FLAG_ACK | FLAG_FRAGMENT | FLAG_UNRELIABLE) != 0 {
            return Err(Error::Malformed);
        }
        let mut ack = None;
        if flags & FLAG_ACK != 0 {
            let (parsed, used) = CumulativeAck::parse_block(rest)?;
            ack = Some(parsed);
            rest = rest.get(used..).unwrap_or(&[]);
        }
        let mut fragment = None;
        if flags & FLAG_FRAGMENT != 0 {
            let Fragment { index, count } = Fragment::parse(rest)?;
            fragment = Some(if index == 0 { count } else { 0 });
            rest = rest.get(FRAGMENT_HEADER_LEN..).unwrap_or(&[]);
        }
        Ok(DataHeader {
            app_type: PacketType(app_type),
            ack,
            fragment,
            unreliable: flags & FLAG_UNRELIABLE != 0,
            data: rest,
        })
    }
}
