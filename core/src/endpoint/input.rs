//! The endpoint's input: datagrams demultiplexed by peer, SYNs answered
//! statelessly, HANDSHAKE_ACKs proven and turned into connections.

use super::*;

impl<A, S, T> Endpoint<A, S, T>
where
    A: Copy + Eq + Hash,
    S: AsMut<[u8]>,
    T: AsRef<[Slot<A, S>]> + AsMut<[Slot<A, S>]>,
{
    /// Feeds one datagram received from `from`.
    pub fn handle_datagram(&mut self, now: u64, from: A, datagram: &[u8]) {
        let existing = self.find(&from);
        // Only handshake packets are checked without a connection id: look at
        // the type first, so that a connection's packets are checked once.
        let ptype = Packet::new_unchecked(datagram).packet_type();
        if ptype == PacketType::SYN || ptype == PacketType::HANDSHAKE_ACK {
            let unbound = Codec::new().with_max_payload(self.config.connection.unbound_max_payload());
            if let Ok(packet) = PacketRepr::decode(datagram, &unbound) {
                match packet.ptype {
                    PacketType::SYN => return self.on_syn(now, from, &packet, datagram.len(), existing.is_some()),
                    _ => return self.on_handshake_ack(now, from, &packet, existing),
                }
            }
        }
        match existing {
            Some(index) => {
                if let Some(Some((_, conn))) = self.slots.as_mut().get_mut(index).map(|s| s.conn.as_mut()) {
                    conn.handle_datagram(now, datagram);
                }
            }
            None => self.on_unknown(now, from, datagram),
        }
    }

    pub(super) fn on_unknown(&mut self, now: u64, from: A, datagram: &[u8]) {
        self.stats.dropped += 1;
        // A packet of a connection we do not have: tell the peer, proving it
        // with the pseudo-header sum recovered from the packet's checksum.
        if self.config.connection.link.integrity != Integrity::InternetChecksum
            || datagram.len() < HEADER_LEN + RESET_LEN
        {
            return;
        }
        let Some(token) = recover_pseudo_sum(datagram) else { return };
        let Ok(packet) = Packet::new_checked(datagram) else { return };
        let seq = packet.seq();
        if token == 0 || token == 0xffff {
            return; // not bound to any connection: not ours to reset
        }
        if now / 1000 != self.reset_epoch {
            self.reset_epoch = now / 1000;
            self.reset_budget = self.config.resets_per_second;
        }
        if self.reset_budget == 0 {
            self.stats.suppressed += 1;
            return;
        }
        self.reset_budget -= 1;
        self.respond(from, Response::Reset { token, seq }, datagram.len());
    }

    pub(super) fn on_syn(&mut self, now: u64, from: A, packet: &PacketRepr<'_>, received: usize, known: bool) {
        let Ok(syn) = SynRepr::parse(packet.payload) else {
            self.stats.dropped += 1;
            return;
        };
        let limits = self.config.connection.proposal();
        let short = received < self.min_syn_len();
        let refusal = if syn.version != PROTOCOL_VERSION {
            Some(ErrorCode::VersionMismatch)
        } else if short && !self.over_stream() {
            // Over datagrams the SYN_ACK would amplify: no answer at all.
            self.stats.suppressed += 1;
            return;
        } else if short {
            Some(ErrorCode::ProtocolViolation)
        } else if syn.params.max_payload < MIN_PAYLOAD || syn.params.window == 0 {
            Some(ErrorCode::BadParameters)
        } else if !known && self.connection_count() >= self.capacity() {
            Some(ErrorCode::ServerFull)
        } else {
            None
        };
        if let Some(code) = refusal {
            return self.send_refusal(from, code, received);
        }
        // Over a stream the framing must not change mid-stream: never CRC-32C there.
        let server_crc = Integrity::from_u8(1).is_some() && !self.over_stream();
        let crc = server_crc
            && syn.flags & FLAG_CRC_SUPPORTED != 0
            && (syn.flags & FLAG_CRC != 0 || self.config.connection.prefer_crc);
        // Coalesced datagrams when the client takes them and this build has
        // them (never over a stream).
        let coalesce = cfg!(feature = "coalescing") && syn.flags & FLAG_COALESCE != 0 && !self.over_stream();
        let params = Params {
            max_payload: syn.params.max_payload.min(limits.max_payload),
            window: syn.params.window.min(limits.window).min(MAX_WINDOW),
            heartbeat_ms: min_nonzero(syn.params.heartbeat_ms, limits.heartbeat_ms),
            idle_timeout_ms: min_nonzero(syn.params.idle_timeout_ms, limits.idle_timeout_ms),
        };
        let (server_id, server_isn) = self.fresh_ids(syn.client_id);
        let mut agreement = Agreement {
            version: PROTOCOL_VERSION,
            flags: if crc { FLAG_CRC } else { 0 } | if coalesce { FLAG_COALESCE } else { 0 },
            client_id: syn.client_id,
            client_isn: syn.isn,
            server_id,
            server_isn,
            params,
            cookie_time: now as u32,
            cookie: 0,
        };
        agreement.cookie = self.cookie(&from, &agreement);
        self.respond(from, Response::SynAck(agreement), received);
    }

    pub(super) fn on_handshake_ack(&mut self, now: u64, from: A, packet: &PacketRepr<'_>, existing: Option<usize>) {
        let Ok(ack) = HandshakeAckRepr::parse(packet.payload) else {
            self.stats.dropped += 1;
            return;
        };
        let a = ack.agreement;
        let answered_at = self.answered_at(now, a.cookie_time);
        let (Some(answered_at), true) =
            (answered_at, a.version == PROTOCOL_VERSION && self.cookie(&from, &a) == a.cookie)
        else {
            self.stats.bad_cookies += 1;
            return;
        };
        if let Some(slot) = existing.and_then(|index| self.slots.as_mut().get_mut(index)) {
            if let Some((_, conn)) = slot.conn.as_mut() {
                if conn.agreement() == Some(&a) {
                    // our confirmation was lost: confirm again
                    conn.confirm();
                    return;
                }
                // Only a handshake the endpoint answered after the live one's,
                // by another client, proves that the peer restarted; an older
                // one is a late duplicate and must not replace a live connection.
                let newer = answered_at > slot.answered_at;
                if !newer || conn.agreement().is_some_and(|live| live.client_id == a.client_id) {
                    self.stats.replays += 1;
                    return;
                }
            }
        }
        if self.retired.contains(&a.cookie) {
            self.stats.replays += 1;
            return;
        }
        let received = packet.payload.len() + HEADER_LEN;
        // A full server refuses a handshake that would need a new slot.
        if existing.is_none() && self.connection_count() >= self.capacity() {
            return self.send_refusal(from, ErrorCode::ServerFull, received);
        }
        if !self.config.auto_accept {
            return self.queue_incoming(now, from, &a, ack.extension, answered_at, received);
        }
        if self.create(now, from, &a, ack.extension, answered_at).is_none() {
            self.send_refusal(from, ErrorCode::ServerFull, received);
        }
    }

    /// Creates the connection of a proven handshake (replacing a live one of
    /// the same peer: it restarted) and puts it in the accept queue.
    pub(super) fn create(
        &mut self,
        now: u64,
        peer: A,
        a: &Agreement,
        extension: &[u8],
        answered_at: u64,
    ) -> Option<usize> {
        if let Some(index) = self.find(&peer) {
            // the peer restarted: its old connection is gone
            self.free(index);
        }
        let free = self.slots.as_mut().iter().position(|s| s.conn.is_none() && s.storage.is_some());
        let (Some(index), false) = (free, self.connection_count() >= self.capacity()) else { return None };
        let config = self.config.connection;
        let ticket = self.next_ticket;
        let slot = self.slots.as_mut().get_mut(index)?;
        let storage = slot.storage.take()?;
        match Connection::accept(config, storage, now, a, extension) {
            Ok(conn) => {
                slot.conn = Some((peer, conn));
                slot.answered_at = answered_at;
                slot.queued = Some(ticket);
                self.next_ticket += 1;
                self.stats.accepted += 1;
                Some(index)
            }
            Err(_) => {
                self.stats.dropped += 1; // storage too small: cannot happen with one config
                None
            }
        }
    }
}
