//! A connection's timers: its deadlines, and what runs when they come.

use super::*;

impl<S: AsMut<[u8]>> Connection<S> {
    /// The next deadline at which [`Connection::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.state {
            State::SynSent | State::Confirming => timer(self.retry_at.min(self.connect_deadline)),
            State::Established | State::Closing => {
                let closing = if self.state == State::Closing { self.close_deadline } else { NEVER };
                let link = self.link.poll_timeout().unwrap_or(NEVER);
                timer(link.min(self.heartbeat_deadline()).min(self.idle_deadline()).min(closing))
            }
            State::Linger => timer(self.linger_until),
            State::Closed | State::Failed => None,
        }
    }

    // Deadlines saturate: a clock near `u64::MAX` never wraps into the past,
    // and a deadline that reaches `u64::MAX` is never due (`due`, `timer`),
    // as a timer that is off ([`NEVER`]).

    /// When the next ping is due: `heartbeat_ms` after the last packet either
    /// way ([`NEVER`] without heartbeats).
    pub(super) fn heartbeat_deadline(&self) -> u64 {
        match self.agreement.map_or(0, |a| a.params.heartbeat_ms) {
            0 => NEVER,
            hb => self.last_send.max(self.last_recv).saturating_add(u64::from(hb)),
        }
    }

    /// When silence fails the connection: `idle_timeout_ms` after the last
    /// packet received ([`NEVER`] without an idle timeout).
    pub(super) fn idle_deadline(&self) -> u64 {
        match self.agreement.map_or(0, |a| a.params.idle_timeout_ms) {
            0 => NEVER,
            idle => self.last_recv.saturating_add(u64::from(idle)),
        }
    }

    /// Processes the timers that expired by `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        match self.state {
            State::SynSent | State::Confirming => {
                if due(now, self.connect_deadline) {
                    self.fail(FailReason::ConnectTimeout);
                } else if due(now, self.retry_at) {
                    if self.state == State::SynSent {
                        self.pending.syn = true;
                    } else {
                        self.pending.handshake_ack = true;
                    }
                }
            }
            State::Established | State::Closing => {
                self.link.handle_timeout(now);
                if due(now, self.idle_deadline()) {
                    self.pending.err = Some(ErrorCode::IdleTimeout);
                    self.fail(FailReason::IdleTimeout);
                    return;
                }
                if self.state == State::Closing && due(now, self.close_deadline) {
                    self.fail(FailReason::CloseTimeout);
                    return;
                }
                if due(now, self.heartbeat_deadline()) {
                    if self.unanswered_pings >= self.link.config().timing.max_retries {
                        // as many pings as a packet gets retransmissions, none answered
                        self.fail(FailReason::DeadPeer { seq: self.link.next_send_seq() });
                        return;
                    }
                    self.pending.ping = true;
                }
                self.after_input(now);
            }
            State::Linger => {
                if due(now, self.linger_until) {
                    self.state = State::Closed; // the Closed event was reported on entering Linger
                }
            }
            State::Closed | State::Failed => {}
        }
    }
}

/// A deadline that saturated at `u64::MAX` lies beyond the clock's range: never.
pub(super) const NEVER: u64 = u64::MAX;

/// Whether `deadline` has come at `now`.
pub(super) fn due(now: u64, deadline: u64) -> bool {
    deadline != NEVER && now >= deadline
}

/// A deadline as `poll_timeout` reports it: `None` for [`NEVER`].
pub(super) fn timer(deadline: u64) -> Option<u64> {
    (deadline != NEVER).then_some(deadline)
}
