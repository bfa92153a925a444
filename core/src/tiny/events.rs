//! The events a tiny client has for its application, as flags: each kind
//! is reported at most once per poll, in the order of its life (connected,
//! then what happened, then the one final event).

use crate::event::{Event, FailReason};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(super) struct Events {
    pub connected: bool,
    /// Fragments declared by the last message dropped since the last poll (0: none).
    pub dropped: u16,
    pub writable: bool,
    /// `Closed` or `Failed` is waiting (the failure says which).
    pub finished: bool,
}

impl Events {
    /// The next event; `writable` only while the client still takes messages.
    pub fn pop(&mut self, failure: Option<FailReason>, taking_messages: bool) -> Option<Event> {
        if core::mem::take(&mut self.connected) {
            return Some(Event::Connected);
        }
        if self.dropped != 0 {
            return Some(Event::MessageDropped { fragments: core::mem::take(&mut self.dropped) });
        }
        if core::mem::take(&mut self.writable) && taking_messages {
            return Some(Event::Writable);
        }
        if core::mem::take(&mut self.finished) {
            return Some(failure.map_or(Event::Closed, Event::Failed));
        }
        None
    }
}
