//! A connection's output: control packets and the link's datagrams out.

use super::*;

impl<S: AsMut<[u8]>> Connection<S> {
    /// Writes the next datagram to send into `buf` (which must hold
    /// [`ConnectionConfig::max_datagram_len`] bytes).
    pub fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        // ConnectionConfig::max_datagram_len
        let needed = HEADER_LEN + usize::from(self.config.unbound_max_payload) + 4;
        if buf.len() < needed {
            return Err(Error::BufferTooSmall { needed, available: buf.len() });
        }
        let n = self.transmit(now, buf)?;
        if n.is_some() {
            self.last_send = now;
        }
        Ok(n)
    }

    pub(super) fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        if let Some(code) = self.pending.reset.take() {
            let reset = ResetRepr { code, token: 0 };
            return self.emit(buf, PacketType::RESET, &reset.to_bytes(), true).map(Some);
        }
        if let Some(code) = self.pending.err.take() {
            let err = ErrRepr { code, reason: code.as_str().as_bytes() }.fitted(1 + REASON_LEN);
            let n = err.emit(payload_room(buf))?;
            return self.seal(buf, PacketType::ERR_MSG, n, true).map(Some);
        }
        match self.state {
            State::SynSent if self.pending.syn => {
                self.pending.syn = false;
                self.schedule_retry(now);
                let extension = self.config.extension();
                let syn = SynRepr {
                    version: PROTOCOL_VERSION,
                    flags: self.offered_flags(),
                    client_id: self.local_id,
                    isn: self.local_isn,
                    params: self.proposal(),
                    extension,
                    // the server may answer with at most as many bytes as the SYN has
                    padding: (SYN_ACK_FIXED_LEN + usize::from(self.config.server_extension_room))
                        .saturating_sub(SYN_FIXED_LEN + extension.len()),
                };
                let n = syn.emit(payload_room(buf))?;
                self.seal(buf, PacketType::SYN, n, false).map(Some)
            }
            State::Confirming | State::Established if self.pending.handshake_ack => {
                self.pending.handshake_ack = false;
                if self.state == State::Confirming {
                    self.schedule_retry(now);
                }
                let Some(agreement) = self.agreement else { return Ok(None) };
                let n = HandshakeAckRepr { agreement, extension: self.config.extension() }.emit(payload_room(buf))?;
                self.seal(buf, PacketType::HANDSHAKE_ACK, n, false).map(Some)
            }
            State::Established | State::Closing | State::Linger => {
                if let Some(stamp) = self.pending.pong.take() {
                    let pong = HeartbeatRepr { pong: true, stamp };
                    return self.emit(buf, PacketType::HEARTBEAT, &pong.to_bytes(), true).map(Some);
                }
                let sent = self.link.poll_transmit(now, buf)?;
                self.after_input(now);
                if let Some(n) = sent {
                    self.pending.ping = false;
                    return Ok(Some(n));
                }
                if self.pending.ping {
                    self.pending.ping = false;
                    self.ping_sent_at = now;
                    self.ping_outstanding = true;
                    self.unanswered_pings = self.unanswered_pings.saturating_add(1);
                    let ping = HeartbeatRepr { pong: false, stamp: now as u32 };
                    return self.emit(buf, PacketType::HEARTBEAT, &ping.to_bytes(), true).map(Some);
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    pub(super) fn schedule_retry(&mut self, now: u64) {
        if self.config.transport == Transport::Stream {
            // the stream delivers the handshake; only the connect timeout applies
            self.retry_at = self.connect_deadline;
            return;
        }
        let base = u64::from(self.link.config().timing.initial_rto);
        let backoff = base << self.retries.min(6);
        self.retry_at = now.saturating_add(backoff.min(u64::from(self.link.config().timing.max_rto)));
        self.retries = self.retries.saturating_add(1);
    }

    /// The handshake flags this side offers: CRC-32C support and preference,
    /// coalesced datagrams (only with the `coalescing` feature).
    pub(super) fn offered_flags(&self) -> u8 {
        let mut flags = 0;
        // Over a stream the framing must not change mid-stream: no CRC-32C there.
        if self.crc_supported() && self.config.transport == Transport::Datagram {
            flags |= FLAG_CRC_SUPPORTED;
            if self.config.prefer_crc {
                flags |= FLAG_CRC;
            }
        }
        if cfg!(feature = "coalescing") && self.config.transport == Transport::Datagram {
            flags |= FLAG_COALESCE;
        }
        flags
    }

    /// What this side proposes (clients) or accepts at most (servers).
    pub(crate) fn proposal(&self) -> Params {
        self.config.proposal
    }

    /// Writes a control packet with `payload`.
    pub(super) fn emit(
        &mut self,
        buf: &mut [u8],
        ptype: PacketType,
        payload: &[u8],
        bound: bool,
    ) -> Result<usize, Error> {
        let n = copy_prefix(payload_room(buf), payload);
        self.seal(buf, ptype, n, bound)
    }

    /// Completes a control packet whose `len` payload bytes were written in
    /// place ([`payload_room`]): the header and the check. Bound ones carry
    /// the connection id in their check and this side's next sequence number
    /// (the peer checks it against its window before it believes an ERR_MSG
    /// or RESET); unbound ones carry 0.
    pub(super) fn seal(&self, buf: &mut [u8], ptype: PacketType, len: usize, bound: bool) -> Result<usize, Error> {
        let (codec, seq) =
            if bound { (self.bound_codec(), self.link.next_send_seq()) } else { (self.unbound_codec(), Seq(0)) };
        seal(buf, &codec, seq, ptype, len)
    }

    pub(super) fn bound_codec(&self) -> Codec {
        self.link.config().codec()
    }

    pub(super) fn unbound_codec(&self) -> Codec {
        Codec::new().with_max_payload(self.config.unbound_max_payload)
    }
}

/// Where a control packet's payload is written: the bytes after the header
/// (`poll_transmit` checked that the buffer holds the longest packet).
fn payload_room(buf: &mut [u8]) -> &mut [u8] {
    buf.get_mut(HEADER_LEN..).unwrap_or(&mut [])
}
