//! Messages waiting for room in the send window.

use crate::MAX_MESSAGE_LEN;
use heapless::{Deque, Vec};
use seqlink_core::PacketType;

/// How many messages wait at most; the device reads no more from the
/// connection while all are taken (the peer's window then holds the rest).
pub const OUTBOX_SLOTS: usize = 4;

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its type.
    pub ptype: PacketType,
    /// Its bytes.
    pub payload: Vec<u8, MAX_MESSAGE_LEN>,
}

/// A fixed queue of messages to send, oldest first.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: Deque<Outgoing, OUTBOX_SLOTS>,
}

impl Outbox {
    /// An empty outbox.
    pub const fn new() -> Outbox {
        Outbox { queue: Deque::new() }
    }

    /// Whether another message fits.
    pub fn has_room(&self) -> bool {
        !self.queue.is_full()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues a message; false (and the message dropped) when the outbox is full.
    pub fn push(&mut self, message: Outgoing) -> bool {
        self.queue.push_back(message).is_ok()
    }

    /// The oldest message.
    pub fn front(&self) -> Option<&Outgoing> {
        self.queue.front()
    }

    /// Drops the oldest message (it was sent).
    pub fn pop(&mut self) {
        self.queue.pop_front();
    }

    /// Drops every message (the connection ended).
    pub fn clear(&mut self) {
        self.queue.clear();
    }
}
