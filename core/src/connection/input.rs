//! A connection's input: datagrams in, bound and unbound packets judged,
//! the handshake's answers taken, and what follows from them.

use super::*;

impl<S: AsMut<[u8]>> Connection<S> {
    /// Feeds one received datagram.
    ///
    /// Every byte a connection receives passes here, and every byte it sends
    /// leaves through [`Connection::poll_transmit`]: the two places where a
    /// secure mode opens and seals packets.
    pub fn handle_datagram(&mut self, now: u64, datagram: &[u8]) {
        if self.is_closed() {
            self.answer_after_abort(now, datagram);
            return;
        }
        if self.agreement.is_some() {
            let bound = self.bound_codec();
            if let Ok(packet) = PacketRepr::decode(datagram, &bound) {
                self.on_bound(now, &packet, datagram.len());
                return;
            }
            #[cfg(feature = "coalescing")]
            if self.link.config().coalesce && self.on_coalesced(now, datagram, &bound) {
                return;
            }
        }
        match PacketRepr::decode(datagram, &self.unbound_codec()) {
            Ok(packet) => self.on_unbound(now, &packet),
            Err(_) => self.link.note_corrupt(now, datagram.len()),
        }
    }

    /// Takes the packets of a coalesced datagram (`docs/PROTOCOL.md` 4.1),
    /// up to the first that fails to decode (counted as corrupt). False
    /// when not even the first decodes (the datagram is judged as unbound).
    #[cfg(feature = "coalescing")]
    pub(super) fn on_coalesced(&mut self, now: u64, datagram: &[u8], bound: &Codec) -> bool {
        let mut left = datagram.len();
        self.link.open_datagram();
        for (index, packet) in PacketRepr::decode_all(datagram, bound).enumerate() {
            match packet {
                Ok(packet) => {
                    let wire_len = bound.packet_len(packet.payload.len());
                    left = left.saturating_sub(wire_len);
                    self.on_bound(now, &packet, wire_len);
                }
                Err(_) if index == 0 => {
                    self.link.close_datagram();
                    return false;
                }
                Err(_) => self.link.note_corrupt(now, left),
            }
        }
        self.link.close_datagram();
        true
    }

    /// After an abort, the peer's packets get the RESET again while the linger lasts.
    pub(super) fn answer_after_abort(&mut self, now: u64, datagram: &[u8]) {
        if let Some(code) = self.aborted {
            if !due(now, self.linger_until) && PacketRepr::decode(datagram, &self.bound_codec()).is_ok() {
                self.pending.reset = Some(code);
            }
        }
    }

    pub(super) fn on_bound(&mut self, now: u64, packet: &PacketRepr<'_>, wire_len: usize) {
        if matches!(packet.ptype, PacketType::ERR_MSG | PacketType::RESET)
            && !self.link.is_plausible_peer_seq(packet.seq)
        {
            // An off-path sender that guessed the connection id's sum must
            // also guess a sequence number inside the receive window.
            return;
        }
        self.last_recv = now;
        self.unanswered_pings = 0;
        if self.state == State::Linger {
            // The peer is still resending (our last acknowledgement was lost), with
            // backoff: stay until well after its next retransmission.
            let cap = (2 * u64::from(self.link.config().timing.max_rto)).max(1);
            // capped before it is tripled: the same stay, and no overflow to saturate
            let gap = now.saturating_sub(self.linger_mark).min(cap);
            let stay = (3 * gap).max(u64::from(self.config.linger_ms)).min(cap);
            self.linger_until = self.linger_until.max(now.saturating_add(stay));
            self.linger_mark = now;
        }
        if self.state == State::Confirming {
            // The server has the connection: the handshake is complete.
            self.state = State::Established;
            self.pending.handshake_ack = false;
            self.events.push(Event::Connected);
        }
        match packet.ptype {
            PacketType::HEARTBEAT => match HeartbeatRepr::parse(packet.payload) {
                Ok(HeartbeatRepr { pong: false, stamp }) => self.pending.pong = Some(stamp),
                Ok(HeartbeatRepr { pong: true, stamp }) => self.on_pong(now, stamp),
                Err(_) => {}
            },
            PacketType::ERR_MSG => {
                let err = ErrRepr::parse(packet.payload).unwrap_or(ErrRepr { code: ErrorCode::Other, reason: &[] });
                self.reason.keep(err.reason);
                self.fail(FailReason::Reset { code: err.code });
            }
            PacketType::RESET => {
                let code = ResetRepr::parse(packet.payload).map_or(ErrorCode::Other, |r| r.code);
                self.fail(FailReason::Reset { code });
            }
            _ => {
                // Handshake packets never arrive bound; other unknown types are dropped.
                let _: Handled = self.link.handle_packet(now, packet, wire_len);
            }
        }
        self.after_input(now);
    }

    pub(super) fn on_unbound(&mut self, now: u64, packet: &PacketRepr<'_>) {
        match (packet.ptype, self.state) {
            (PacketType::SYN_ACK, State::SynSent) => {
                let Ok(syn_ack) = SynAckRepr::parse(packet.payload) else { return };
                let mut agreement = syn_ack.agreement;
                if agreement.client_id != self.local_id {
                    return; // not an answer to our SYN
                }
                agreement.client_isn = self.local_isn;
                if !self.acceptable(&agreement) {
                    self.fail(FailReason::ProtocolViolation);
                    return;
                }
                if self.establish(&agreement).is_err() {
                    self.fail(FailReason::ProtocolViolation);
                    return;
                }
                self.peer_extension.keep(syn_ack.extension);
                self.last_recv = now;
                self.state = State::Confirming;
                self.pending.syn = false;
                self.pending.handshake_ack = true;
                self.retries = 0;
                self.retry_at = now;
            }
            // a repeated SYN_ACK: our HANDSHAKE_ACK was lost, send it again
            (PacketType::SYN_ACK, State::Confirming | State::Established)
                if SynAckRepr::parse(packet.payload).is_ok_and(|s| Some(s.agreement.server_id) == self.peer_id()) =>
            {
                self.pending.handshake_ack = true;
            }
            (PacketType::ERR_MSG, State::SynSent | State::Confirming) => {
                let err = ErrRepr::parse(packet.payload).unwrap_or(ErrRepr { code: ErrorCode::Other, reason: &[] });
                self.reason.keep(err.reason);
                self.fail(FailReason::Refused { code: err.code });
            }
            (PacketType::RESET, _) if self.agreement.is_some() => {
                // A RESET from a peer that forgot the connection proves it answers
                // one of our packets by echoing our pseudo-header's sum and that
                // packet's sequence number, one we sent and still wait on.
                if let Ok(reset) = ResetRepr::parse(packet.payload) {
                    if same_sum(reset.token, pseudo_sum(self.conn_id)) && self.link.is_unacknowledged_seq(packet.seq) {
                        self.fail(FailReason::Reset { code: reset.code });
                    }
                }
            }
            _ => {} // anything else unbound is not for this connection
        }
    }

    /// A pong: an RTT sample only if it echoes the ping still outstanding.
    pub(super) fn on_pong(&mut self, now: u64, stamp: u32) {
        if self.ping_outstanding && self.ping_sent_at as u32 == stamp {
            self.ping_outstanding = false;
            let rtt = now.saturating_sub(self.ping_sent_at);
            self.link.on_rtt_sample(u32::try_from(rtt).unwrap_or(u32::MAX));
        }
    }

    /// Whether the server's answer stays within what we proposed.
    pub(super) fn acceptable(&self, a: &Agreement) -> bool {
        let mine = self.proposal();
        a.version == PROTOCOL_VERSION
            && a.params.max_payload >= MIN_PAYLOAD
            && a.params.max_payload <= mine.max_payload
            && a.params.window >= 1
            && a.params.window <= mine.window
            && (a.flags & FLAG_CRC == 0 || self.offered_flags() & FLAG_CRC_SUPPORTED != 0)
            && (a.flags & FLAG_COALESCE == 0 || self.offered_flags() & FLAG_COALESCE != 0)
    }

    pub(super) fn crc_supported(&self) -> bool {
        Integrity::from_u8(1).is_some()
    }

    pub(super) fn peer_id(&self) -> Option<u32> {
        self.agreement.map(|a| match self.role {
            Role::Client => a.server_id,
            Role::Server => a.client_id,
        })
    }

    /// Reconfigures the link for the agreed parameters.
    pub(super) fn establish(&mut self, a: &Agreement) -> Result<(), ConfigError> {
        let (send_isn, recv_isn) = match self.role {
            Role::Client => (a.client_isn, a.server_isn),
            Role::Server => (a.server_isn, a.client_isn),
        };
        // the link was built from the configured LinkConfig; the agreement changes only these fields
        let mut link = *self.link.config();
        link.max_payload = a.params.max_payload;
        link.send_window = a.params.window;
        link.recv_window = a.params.window;
        link.peer_recv_window = a.params.window;
        link.integrity = if a.flags & FLAG_CRC != 0 {
            Integrity::from_u8(1).unwrap_or(Integrity::InternetChecksum)
        } else {
            Integrity::InternetChecksum
        };
        link.coalesce = a.flags & FLAG_COALESCE != 0 && self.config.transport == Transport::Datagram;
        link.pseudo_header = a.client_id ^ a.server_id;
        link.initial_send_seq = Seq(send_isn);
        link.initial_recv_seq = Seq(recv_isn);
        if self.config.transport == Transport::Stream {
            link.retransmit = false;
            link.congestion_control = crate::congestion::CongestionControl::Off;
        }
        self.link.establish(&link)?;
        self.conn_id = link.pseudo_header;
        self.agreement = Some(*a);
        Ok(())
    }

    pub(super) fn after_input(&mut self, now: u64) {
        if matches!(self.state, State::Established | State::Closing) {
            if let Some(reason) = self.link.failure() {
                self.fail(reason);
                return;
            }
            if self.link.peer_finished() && self.state == State::Established {
                // passive close: our FIN follows whatever we still had queued
                self.start_close(now);
            }
            self.queue_fin();
            if self.state == State::Closing && self.link.fin_acknowledged() && self.link.peer_finished() {
                // Closed for the application. Both sides linger: the peer may
                // not have our last acknowledgement yet and may resend its FIN,
                // which must be acknowledged again, not answered with a RESET.
                self.state = State::Linger;
                self.linger_until = now.saturating_add(u64::from(self.config.linger_ms));
                self.linger_mark = now;
                self.link.request_ack(); // the peer's FIN: acknowledge it now, not after a delay
                self.events.push(Event::Closed);
            }
        }
    }
}
