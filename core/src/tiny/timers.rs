//! A tiny client's timers: the handshake's, the resend deadlines (6.6), the
//! delayed ACK, heartbeats and the idle timeout (7.5), the close and the linger.

use super::clock::{earlier, later, on_clock};
use super::*;

impl<'w, const W: usize, const P: usize> TinyClient<'w, W, P> {
    /// The next deadline at which [`TinyClient::handle_timeout`] has work,
    /// on the caller's clock.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.next_deadline().map(|at| on_clock(self.clock, at))
    }

    /// The next deadline, on the client's 32-bit clock.
    #[inline(never)] // out of the caller's loop: inlined, it made the loop larger (measured)
    fn next_deadline(&self) -> Option<Time> {
        match self.state {
            State::SynSent | State::Confirming => Some(earlier(self.retry_at, self.deadline)),
            State::Established | State::Closing => {
                let mut at = self.earliest_resend();
                at = sooner(at, (self.armed & armed::DEADLINE != 0).then_some(self.deadline));
                at = sooner(at, (self.armed & armed::ACK != 0).then_some(self.ack_at));
                at = sooner(at, self.idle_deadline());
                sooner(at, self.heartbeat_deadline())
            }
            State::Linger => Some(self.retry_at),
            State::Closed | State::Failed => None,
        }
    }

    /// Runs the timers that expired by `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        let now = self.tick(now);
        self.run_timers(now);
    }

    #[inline(never)] // out of the caller's loop: inlined, it made the loop larger (measured)
    fn run_timers(&mut self, now: Time) {
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
                if self.armed & armed::ACK != 0 && due(now, self.ack_at) {
                    self.pending |= pending::ACK;
                    self.armed &= !armed::ACK;
                }
                if self.idle_deadline().is_some_and(|at| due(now, at)) {
                    self.idle_err = true;
                    self.fail(FailReason::IdleTimeout);
                } else if self.armed & armed::DEADLINE != 0 && due(now, self.deadline) {
                    self.fail(FailReason::CloseTimeout); // only closing arms it after the handshake
                } else if self.heartbeat_deadline().is_some_and(|at| due(now, at)) {
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
    /// either way (none without heartbeats, or while one is waiting to go).
    fn heartbeat_deadline(&self) -> Option<Time> {
        match self.agreement.params.heartbeat_ms {
            0 => None,
            _ if self.pending & pending::PING != 0 => None,
            hb => Some(after(later(self.last_send, self.last_recv), hb)),
        }
    }

    /// When silence fails the connection: `idle_timeout_ms` after the last packet received.
    fn idle_deadline(&self) -> Option<Time> {
        match self.agreement.params.idle_timeout_ms {
            0 => None,
            idle => Some(after(self.last_recv, idle)),
        }
    }

    /// The resend deadline of the packet `offset` places after the oldest
    /// unacknowledged: its last transmission plus the current RTO backed off
    /// once per resend, plus `ack_delay`, not before the floor a timeout set
    /// (6.6). None while it waits to be resent.
    fn resend_deadline(&self, offset: u32) -> Option<Time> {
        let slot = self.window.send.get(ring::<W>(self.snd_head, offset))?;
        if slot.resend {
            return None;
        }
        let timing = &self.config.timing;
        let deadline = after(after(slot.last_sent, self.rtt.backed_off(slot.retries, timing)), timing.ack_delay);
        Some(if self.armed & armed::FLOOR != 0 { later(deadline, self.resend_floor) } else { deadline })
    }

    fn earliest_resend(&self) -> Option<Time> {
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        let mut at = None;
        for offset in 0..in_flight {
            at = sooner(at, self.resend_deadline(offset));
        }
        at
    }

    /// Marks every packet whose deadline passed for an immediate resend, or
    /// fails the connection (`DeadPeer`, lowest first) when one of them was
    /// already resent `max_retries` times. True when it failed.
    fn expire_resends(&mut self, now: Time) -> bool {
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        let mut expired = false;
        for offset in 0..in_flight {
            if self.resend_deadline(offset).is_some_and(|deadline| due(now, deadline)) {
                let Some(slot) = self.window.send.get_mut(ring::<W>(self.snd_head, offset)) else { continue };
                if slot.retries >= self.config.timing.max_retries {
                    self.fail(FailReason::DeadPeer { seq: self.snd_una.advance(offset) });
                    return true;
                }
                slot.resend = true;
                slot.retransmitted = true; // presumed lost: no RTT sample from it (Karn)
                expired = true;
            }
        }
        if expired {
            // a silent path gets its oldest packet once per RTO, not its whole window
            self.resend_floor = after(after(now, self.rtt.rto()), self.config.timing.ack_delay);
            self.armed |= armed::FLOOR;
        }
        false
    }
}

/// The earlier of two optional deadlines (one copy of it for its five uses).
#[inline(never)]
fn sooner(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) => Some(earlier(a, b)),
        _ => a.or(b),
    }
}
