//! The endpoint's timers and events.

use super::*;

impl<A, S, T> Endpoint<A, S, T>
where
    A: Copy + Eq + Hash,
    S: AsMut<[u8]>,
    T: AsRef<[Slot<A, S>]> + AsMut<[Slot<A, S>]>,
{
    /// The earliest deadline of any connection. Answers to handshakes are no
    /// timers: they leave through the next [`Endpoint::poll_transmit`].
    pub fn poll_timeout(&self) -> Option<u64> {
        self.slots.as_ref().iter().filter_map(|s| s.conn.as_ref().and_then(|(_, c)| c.poll_timeout())).min()
    }

    /// Processes the timers that expired by `now` in every connection, and
    /// drops the waiting handshakes whose cookies expired.
    pub fn handle_timeout(&mut self, now: u64) {
        self.expire_incoming(now);
        for index in 0..self.slots.as_mut().len() {
            if let Some(Some((_, conn))) = self.slots.as_mut().get_mut(index).map(|s| s.conn.as_mut()) {
                if conn.poll_timeout().is_some_and(|t| now >= t) {
                    conn.handle_timeout(now);
                }
            }
            self.collect(index);
        }
    }

    /// The next event of the endpoint or of any connection.
    pub fn poll_event(&mut self) -> Option<EndpointEvent<A>> {
        if let Some((peer, code)) = self.refusals.first_mut().and_then(Option::take) {
            self.refusals.rotate_left(1);
            return Some(EndpointEvent::Refused { peer, code });
        }
        let count = self.slots.as_mut().len();
        for step in 0..count {
            let index = (self.event_cursor + step) % count;
            let handle = self.handle_of(index);
            if let Some((_, conn)) = self.slot(handle) {
                if let Some(event) = conn.poll_event() {
                    self.event_cursor = index;
                    return Some(EndpointEvent::Connection(handle, event));
                }
            }
        }
        self.collect_all();
        None
    }

    /// Whether a connection is in the table and not finished.
    pub fn is_open(&mut self, handle: ConnectionHandle) -> bool {
        self.connection(handle).is_some_and(|c| !matches!(c.state(), State::Closed | State::Failed))
    }
}
