//! A [`Link`] with a scripted application, as a simulator node.

use crate::sim::{Addr, Node};
use seqlink_core::link::{Delivery, Link, LinkConfig, SendError};
use seqlink_core::{Event, PacketType};
use std::collections::VecDeque;

/// A message as the application sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Application packet type.
    pub ptype: PacketType,
    /// Bytes.
    pub data: Vec<u8>,
    /// How it is sent.
    pub delivery: Delivery,
}

/// A link to one peer, plus an application that sends everything in
/// `outbox` as fast as the link takes it and reads everything it delivers.
pub struct LinkNode {
    /// The engine under test.
    pub link: Link<Vec<u8>>,
    /// The peer's address.
    pub peer: Addr,
    /// Messages the application still wants to send.
    pub outbox: VecDeque<Message>,
    /// Messages delivered, in delivery order.
    pub inbox: Vec<Message>,
    /// Events seen.
    pub events: Vec<Event>,
    /// Messages `send` refused for good (too large, reserved type, ...).
    pub refused: Vec<(Message, SendError)>,
    /// When set, the application stops reading (to fill the receive window).
    pub reading_paused: bool,
    recv_buf: Vec<u8>,
}

impl LinkNode {
    /// A node talking to `peer` with `config`.
    pub fn new(config: LinkConfig, peer: Addr) -> LinkNode {
        LinkNode {
            link: Link::new(config, vec![0u8; config.storage_len()]).expect("valid config"),
            peer,
            outbox: VecDeque::new(),
            inbox: Vec::new(),
            events: Vec::new(),
            refused: Vec::new(),
            reading_paused: false,
            recv_buf: vec![0u8; config.max_message_len().max(1 << 16)],
        }
    }

    /// Queues a message for the application to send.
    pub fn queue(&mut self, ptype: PacketType, data: &[u8], delivery: Delivery) {
        self.outbox.push_back(Message { ptype, data: data.to_vec(), delivery });
    }

    /// Whether the link failed.
    pub fn failed(&self) -> bool {
        self.link.failure().is_some()
    }
}

impl Node for LinkNode {
    fn handle(&mut self, now: u64, _from: Addr, datagram: &[u8]) {
        self.link.handle_datagram(now, datagram);
    }

    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(Addr, usize)> {
        match self.link.poll_transmit(now, buf) {
            Ok(Some(n)) => Some((self.peer, n)),
            Ok(None) => None,
            Err(e) => panic!("poll_transmit: {e}"),
        }
    }

    fn timeout(&self) -> Option<u64> {
        self.link.poll_timeout()
    }

    fn on_timeout(&mut self, now: u64) {
        self.link.handle_timeout(now);
    }

    fn poll_app(&mut self, _now: u64) {
        while let Some(m) = self.outbox.front() {
            match self.link.send(m.ptype, &m.data, m.delivery) {
                Ok(()) => {
                    self.outbox.pop_front();
                }
                Err(SendError::WouldBlock) | Err(SendError::Failed) => break,
                Err(e) => {
                    let m = self.outbox.pop_front().expect("front exists");
                    self.refused.push((m, e));
                }
            }
        }
        if !self.reading_paused {
            while let Some(r) = self.link.recv(&mut self.recv_buf).expect("buffer fits every message") {
                self.inbox.push(Message {
                    ptype: r.ptype,
                    data: self.recv_buf[..r.len].to_vec(),
                    delivery: r.delivery,
                });
            }
        }
        while let Some(e) = self.link.poll_event() {
            self.events.push(e);
        }
    }
}
