//! A tiny client's timers: the handshake's, the resend deadlines (6.6), the
//! delayed ACK, heartbeats and the idle timeout (7.5), the close and the linger.

use super::*;

impl<'w, const W: usize, const P: usize> TinyClient<'w, W, P> {
    /// The next deadline at which [`TinyClient::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        let (at, resend) = match self.state {
            State::SynSent | State::Confirming => (self.retry_at.min(self.deadline), None),
            State::Established | State::Closing => {
                let at = self.deadline.min(self.ack_at).min(self.idle_deadline()).min(self.heartbeat_deadline());
                (at, self.earliest_resend())
            }
            State::Linger => (self.retry_at, None),
            State::Closed | State::Failed => (NEVER, None),
        };
        match (at, resend) {
            (NEVER, resend) => resend,
            (at, Some(resend)) => Some(at.min(resend)),
            (at, None) => Some(at),
        }
    }

    /// Runs the timers that expired by `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        match self.state {
            State::SynSent | State::Confirming => {
                if due(now, self.deadline) {
                    self.fail(FailReason::ConnectTimeout);
                } else if due(now, self.retry_at) {
                    self.pending |= if self.state == State::SynSent { pending::SYN } else { pending::HANDSHAKE_ACK };
                }
            }
            State::Established | State::Closing => {
                if self.expire_resends(now) {
                    return;
                }
                if due(now, self.ack_at) {
                    self.pending |= pending::ACK;
                    self.ack_at = NEVER;
                }
                if due(now, self.idle_deadline()) {
                    self.idle_err = true;
                    self.fail(FailReason::IdleTimeout);
                } else if due(now, self.deadline) {
                    self.fail(FailReason::CloseTimeout); // only closing sets it after the handshake
                } else if due(now, self.heartbeat_deadline()) {
                    if self.unanswered_pings >= self.config.timing.max_retries {
                        // as many pings as a packet gets retransmissions, none answered
                        self.fail(FailReason::DeadPeer { seq: self.snd_nxt });
                    } else {
                        self.pending |= pending::PING;
                    }
                }
            }
            State::Linger => {
                if due(now, self.retry_at) {
                    self.state = State::Closed; // `Closed` was reported on entering the linger
                }
            }
            State::Closed | State::Failed => {}
        }
    }

    /// When the next ping is due: `heartbeat_ms` after the last packet
    /// either way (never without heartbeats, or while one is waiting to go).
    fn heartbeat_deadline(&self) -> u64 {
        match self.agreement.params.heartbeat_ms {
            0 => NEVER,
            _ if self.pending & pending::PING != 0 => NEVER,
            hb => self.last_send.max(self.last_recv).saturating_add(u64::from(hb)),
        }
    }

    /// When silence fails the connection: `idle_timeout_ms` after the last packet received.
    fn idle_deadline(&self) -> u64 {
        match self.agreement.params.idle_timeout_ms {
            0 => NEVER,
            idle => self.last_recv.saturating_add(u64::from(idle)),
        }
    }

    /// The resend deadline of the packet `offset` places after the oldest
    /// unacknowledged: its last transmission plus the current RTO backed off
    /// once per resend, plus `ack_delay`, not before the floor a timeout set
    /// (6.6). None while it waits to be resent, or when it was sent at the
    /// clock's last millisecond.
    fn resend_deadline(&self, offset: u32) -> Option<u64> {
        let slot = self.window.send.get(ring::<W>(self.snd_head, offset))?;
        if slot.resend || slot.last_sent == u64::MAX {
            return None;
        }
        let timing = &self.config.timing;
        let wait = u64::from(self.rtt.backed_off(slot.retries, timing)) + u64::from(timing.ack_delay);
        Some(slot.last_sent.saturating_add(wait).max(self.resend_floor))
    }

    fn earliest_resend(&self) -> Option<u64> {
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        (0..in_flight).filter_map(|offset| self.resend_deadline(offset)).min()
    }

    /// Marks every packet whose deadline passed for an immediate resend, or
    /// fails the connection (`DeadPeer`, lowest first) when one of them was
    /// already resent `max_retries` times. True when it failed.
    fn expire_resends(&mut self, now: u64) -> bool {
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        let mut expired = false;
        for offset in 0..in_flight {
            if self.resend_deadline(offset).is_some_and(|deadline| now >= deadline) {
                let Some(slot) = self.window.send.get_mut(ring::<W>(self.snd_head, offset)) else { continue };
                if slot.retries >= self.config.timing.max_retries {
                    self.fail(FailReason::DeadPeer { seq: self.snd_una.advance(offset) });
                    return true;
                }
                slot.resend = true;
                expired = true;
            }
        }
        if expired {
            // a silent path gets its oldest packet once per RTO, not its whole window
            let wait = u64::from(self.rtt.rto()) + u64::from(self.config.timing.ack_delay);
            self.resend_floor = now.saturating_add(wait);
        }
        false
    }
}
