//! Admission: proven handshakes waiting for the application's decision.

use super::*;

impl<A, S, T> Endpoint<A, S, T>
where
    A: Copy + Eq + Hash,
    S: AsMut<[u8]>,
    T: AsRef<[Slot<A, S>]> + AsMut<[Slot<A, S>]>,
{
    /// Keeps a proven handshake for the application's decision: once per
    /// peer, newest handshake only, within the queue's bound.
    pub(super) fn queue_incoming(
        &mut self,
        now: u64,
        peer: A,
        a: &Agreement,
        extension: &[u8],
        answered_at: u64,
        received: usize,
    ) {
        self.expire_incoming(now);
        let same_peer = self.pending.iter_mut().find(|e| e.handshake.is_some_and(|h| h.peer == peer));
        let place = match same_peer {
            Some(entry) => match entry.handshake {
                // a retransmission of the waiting handshake: absorbed
                Some(h) if h.agreement == *a => return,
                // the same rule as for a live connection: only a later handshake
                // of another client (the peer restarted) replaces the waiting one
                Some(h) if answered_at > h.answered_at && h.agreement.client_id != a.client_id => entry,
                _ => {
                    self.stats.replays += 1;
                    return;
                }
            },
            None => match self.pending.iter_mut().find(|e| e.handshake.is_none()) {
                Some(entry) => entry,
                None => {
                    self.stats.incoming_dropped += 1;
                    return;
                }
            },
        };
        let mut kept = [0u8; CONNECTION_EXTENSION];
        let n = extension.len().min(CONNECTION_EXTENSION);
        if let (Some(dst), Some(src)) = (kept.get_mut(..n), extension.get(..n)) {
            dst.copy_from_slice(src);
        }
        if place.handshake.is_some() {
            place.generation = place.generation.wrapping_add(1); // the replaced one's ticket is stale
        }
        place.handshake = Some(PendingHandshake {
            peer,
            agreement: *a,
            extension: kept,
            extension_len: n as u8,
            answered_at,
            order: self.next_pending,
            received: received.min(usize::from(u16::MAX)) as u16,
            surfaced: false,
        });
        self.next_pending += 1;
        self.stats.incoming_queued += 1;
    }

    /// Drops the waiting handshakes whose cookies expired: none of their
    /// HANDSHAKE_ACKs would be valid now, so the client must start again.
    pub(super) fn expire_incoming(&mut self, now: u64) {
        let lifetime = u64::from(self.config.cookie_lifetime_ms.clamp(1, i32::MAX as u32));
        for entry in self.pending.iter_mut() {
            if entry.handshake.is_some_and(|h| now.saturating_sub(h.answered_at) >= lifetime) {
                entry.handshake = None;
                entry.generation = entry.generation.wrapping_add(1);
                self.stats.incoming_expired += 1;
            }
        }
    }

    /// Handshakes waiting for the application's decision.
    pub fn incoming_count(&self) -> usize {
        self.pending.iter().filter(|e| e.handshake.is_some()).count()
    }

    /// The oldest proven handshake the application has not seen yet
    /// (`auto_accept` off). Decide with [`Endpoint::accept_incoming`] or
    /// [`Endpoint::refuse`]; undecided, it is dropped when its cookie expires.
    pub fn poll_incoming(&mut self) -> Option<Incoming<A>> {
        let (index, entry) = self
            .pending
            .iter_mut()
            .enumerate()
            .filter(|(_, e)| e.handshake.is_some_and(|h| !h.surfaced))
            .min_by_key(|(_, e)| e.handshake.map_or(u64::MAX, |h| h.order))?;
        let handshake = entry.handshake.as_mut()?;
        handshake.surfaced = true;
        Some(Incoming {
            ticket: IncomingTicket { index: index as u16, generation: entry.generation },
            peer: handshake.peer,
            params: handshake.agreement.params,
            extension: handshake.extension,
            extension_len: handshake.extension_len,
        })
    }

    pub(super) fn take_incoming(&mut self, ticket: IncomingTicket) -> Result<PendingHandshake<A>, AdmissionError> {
        let entry = self.pending.get_mut(usize::from(ticket.index)).ok_or(AdmissionError::StaleTicket)?;
        if entry.generation != ticket.generation {
            return Err(AdmissionError::StaleTicket);
        }
        let handshake = entry.handshake.take().ok_or(AdmissionError::StaleTicket)?;
        entry.generation = entry.generation.wrapping_add(1);
        Ok(handshake)
    }

    /// Accepts a waiting handshake: its connection is created now (it
    /// replaces a live connection of the same peer, which restarted) and
    /// confirmed to the client. The connection does not enter the accept
    /// queue: its handle is returned here.
    pub fn accept_incoming(&mut self, ticket: IncomingTicket, now: u64) -> Result<ConnectionHandle, AdmissionError> {
        self.expire_incoming(now);
        let Some(Some(waiting)) = self.pending.get(usize::from(ticket.index)).map(|e| e.handshake) else {
            return Err(AdmissionError::StaleTicket);
        };
        let replaced = usize::from(self.find(&waiting.peer).is_some());
        if self.connection_count() - replaced >= self.capacity() {
            return Err(AdmissionError::Full);
        }
        let h = self.take_incoming(ticket)?;
        let index = self.create(now, h.peer, &h.agreement, h.extension(), h.answered_at).ok_or(AdmissionError::Full)?;
        if let Some(slot) = self.slots.as_mut().get_mut(index) {
            slot.queued = None;
        }
        Ok(self.handle_of(index))
    }

    /// Refuses a waiting handshake: the client gets an ERR_MSG with `code`
    /// (usually [`ErrorCode::Refused`]) and fails with `Refused { code }`.
    /// Its late duplicates are ignored as replays.
    pub fn refuse(&mut self, ticket: IncomingTicket, code: ErrorCode) -> Result<(), AdmissionError> {
        let h = self.take_incoming(ticket)?;
        self.retire(h.agreement.cookie);
        self.send_refusal(h.peer, code, usize::from(h.received));
        Ok(())
    }

    pub(super) fn send_refusal(&mut self, peer: A, code: ErrorCode, received: usize) {
        self.stats.refused += 1;
        if let Some(entry) = self.refusals.iter_mut().find(|e| e.is_none()) {
            *entry = Some((peer, code));
        }
        self.respond(peer, Response::Err(code), received);
    }

    /// Queues an answer of at most `limit` bytes (over datagrams: what the
    /// peer sent; a stream cannot be spoofed, so there is no limit).
    pub(super) fn respond(&mut self, peer: A, response: Response, limit: usize) {
        let limit = if self.over_stream() { u16::MAX } else { limit.min(usize::from(u16::MAX)) as u16 };
        match self.responses.iter_mut().find(|r| r.is_none()) {
            Some(entry) => *entry = Some((peer, response, limit)),
            None => self.stats.suppressed += 1,
        }
    }

    pub(super) fn over_stream(&self) -> bool {
        self.config.connection.transport == Transport::Stream
    }

    /// The smallest SYN answered: as large as the SYN_ACK, so that the answer never amplifies.
    pub(super) fn min_syn_len(&self) -> usize {
        HEADER_LEN + SYN_ACK_FIXED_LEN + self.config.connection.extension().len()
    }

    /// When the endpoint answered the SYN whose SYN_ACK carried `cookie_time`
    /// (its clock in milliseconds, modulo 2^32), if that was less than a
    /// cookie lifetime ago.
    pub(super) fn answered_at(&self, now: u64, cookie_time: u32) -> Option<u64> {
        let lifetime = self.config.cookie_lifetime_ms.clamp(1, i32::MAX as u32);
        let age = (now as u32).wrapping_sub(cookie_time);
        (age < lifetime).then(|| now.saturating_sub(u64::from(age)))
    }

    pub(super) fn cookie(&self, peer: &A, a: &Agreement) -> u64 {
        let mut h = SipHasher24::new_with_key(&self.secret);
        peer.hash(&mut h);
        h.write(&[a.version, a.flags]);
        for v in [a.client_id, a.client_isn, a.server_id, a.server_isn, a.params.heartbeat_ms, a.params.idle_timeout_ms]
        {
            h.write(&v.to_be_bytes());
        }
        h.write(&a.params.max_payload.to_be_bytes());
        h.write(&a.params.window.to_be_bytes());
        h.write(&a.cookie_time.to_be_bytes());
        h.finish()
    }

    /// A server id whose connection id changes every checksum (its
    /// pseudo-header sum is neither 0 nor 0xffff), and an initial sequence number.
    pub(super) fn fresh_ids(&mut self, client_id: u32) -> (u32, u32) {
        loop {
            let server_id = splitmix(&mut self.entropy) as u32;
            let sum = pseudo_sum(client_id ^ server_id);
            if sum != 0 && sum != 0xffff {
                return (server_id, splitmix(&mut self.entropy) as u32);
            }
        }
    }
}
