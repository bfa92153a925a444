//! The endpoint's output: stateless answers first, then the connections' datagrams.

use super::*;

impl<A, S, T> Endpoint<A, S, T>
where
    A: Copy + Eq + Hash,
    S: AsMut<[u8]>,
    T: AsRef<[Slot<A, S>]> + AsMut<[Slot<A, S>]>,
{
    /// Writes the next datagram to send and its destination; `buf` must hold
    /// [`ConnectionConfig::max_datagram_len`] bytes.
    pub fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<(A, usize)>, Error> {
        self.collect_all();
        while let Some((peer, response, limit)) = self.responses.first_mut().and_then(Option::take) {
            self.responses.rotate_left(1);
            if let Some(n) = self.write_response(response, buf, usize::from(limit))? {
                if n <= usize::from(limit) {
                    match response {
                        Response::SynAck(_) => self.stats.syn_acks_sent += 1,
                        Response::Reset { .. } => self.stats.resets_sent += 1,
                        Response::Err(_) => {}
                    }
                    return Ok(Some((peer, n)));
                }
                self.stats.suppressed += 1;
            }
        }
        let count = self.slots.as_mut().len();
        for step in 0..count {
            let index = (self.cursor + step) % count;
            let Some(Some((peer, conn))) = self.slots.as_mut().get_mut(index).map(|s| s.conn.as_mut()) else {
                continue;
            };
            let peer = *peer;
            if let Some(n) = conn.poll_transmit(now, buf)? {
                self.cursor = index;
                return Ok(Some((peer, n)));
            }
            self.collect(index);
        }
        Ok(None)
    }

    pub(super) fn write_response(
        &self,
        response: Response,
        buf: &mut [u8],
        limit: usize,
    ) -> Result<Option<usize>, Error> {
        let codec = Codec::new().with_max_payload(self.config.connection.unbound_max_payload());
        let mut payload = [0u8; SYN_ACK_FIXED_LEN + CONNECTION_EXTENSION];
        let extension = self.config.connection.extension();
        let (ptype, len, seq) = match response {
            Response::SynAck(agreement) => {
                (PacketType::SYN_ACK, SynAckRepr { agreement, extension }.emit(&mut payload)?, Seq(0))
            }
            Response::Err(code) => {
                let reason = match code {
                    ErrorCode::VersionMismatch => "unsupported version: server speaks v1",
                    ErrorCode::BadParameters => "max payload below 64 or zero window",
                    ErrorCode::ServerFull => "server full",
                    ErrorCode::ProtocolViolation => "SYN too short: pad it to the SYN_ACK's size",
                    _ => code.as_str(),
                };
                // cut the reason so that the answer is no larger than what the peer sent
                let room = limit.saturating_sub(HEADER_LEN).min(payload.len());
                let Some(out) = payload.get_mut(..room) else { return Ok(None) };
                let err = ErrRepr { code, reason: reason.as_bytes() }.fitted(out.len());
                // no room for even the code (never for a parsed SYN): an empty ERR_MSG
                (PacketType::ERR_MSG, err.emit(out).unwrap_or(0), Seq(0))
            }
            Response::Reset { token, seq } => {
                let reset = ResetRepr { code: ErrorCode::UnknownConnection, token };
                // the answered packet's number: the peer checks it is one it sent
                (PacketType::RESET, reset.emit(&mut payload)?, seq)
            }
        };
        let payload = payload.get(..len).unwrap_or(&[]);
        Ok(Some(PacketRepr::new(seq, ptype, payload).emit(buf, &codec)?))
    }

    /// Frees the slot of a finished connection once its events were read and
    /// its messages drained.
    pub(super) fn collect_all(&mut self) {
        for index in 0..self.slots.as_ref().len() {
            self.collect(index);
        }
    }

    pub(super) fn collect(&mut self, index: usize) {
        let done = match self.slots.as_mut().get_mut(index).and_then(|s| s.conn.as_mut()) {
            Some((_, conn)) => conn.is_closed() && !conn.has_events() && conn.next_message_len().is_none(),
            None => false,
        };
        if done {
            self.free(index);
        }
    }
}
