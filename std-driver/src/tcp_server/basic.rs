//! The basic-profile (seed 000) peers of a TCP server: one
//! [`BasicSession`] per peer, its received messages, and its events.

use super::stream::Outbox;
use crate::Message;
use seqlink_core::Delivery;
use seqlink_core::PacketRepr;
use seqlink_core::PacketType;
use seqlink_core::{BasicConfig, BasicSession, BasicStats, Outcome};
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::SocketAddr;

/// Which kinds of clients a [`TcpServer`](crate::TcpServer) serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profiles {
    /// seqlink clients only: every stream goes to the endpoint.
    SeqlinkOnly,
    /// Both, told apart by each stream's first packet: a SYN means a seqlink
    /// client; any other packet, or no packet within `silence_ms` of the TCP
    /// connection (a seed 000 client that waits for the server to speak
    /// first), means a basic-profile peer. A basic peer recognised by its
    /// silence whose first packet is nevertheless a SYN (a seqlink client
    /// slower than `silence_ms`) is closed as a basic peer and served as a
    /// seqlink client. The first packet is framed with seed 000's Internet
    /// checksum (no trailer).
    Detect {
        /// How long a silent new stream waits before it counts as a basic peer.
        silence_ms: u32,
    },
    /// Basic-profile peers only: every stream is one from its start.
    BasicOnly,
}

impl Default for Profiles {
    /// Detection, with half a second of silence.
    fn default() -> Profiles {
        Profiles::Detect { silence_ms: 500 }
    }
}

/// Names a basic-profile peer of a [`TcpServer`](crate::TcpServer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BasicPeer(u64);

/// Something that happened to a basic-profile peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BasicEvent {
    /// A client was recognised as a basic-profile peer (it is also returned by `accept`).
    Opened(BasicPeer, SocketAddr),
    /// Its stream is over: the peer or the server closed it, it broke, or the
    /// peer did not read and its output buffer overflowed.
    Closed(BasicPeer),
}

/// Messages a peer may have waiting before the server stops reading its stream (TCP then slows the peer down).
pub(super) const INBOX_LIMIT: usize = 256;

#[derive(Debug)]
struct PeerState {
    addr: SocketAddr,
    session: BasicSession,
    inbox: VecDeque<Message>,
    open: bool,
    closing: bool,
}

/// Every basic-profile peer of a server.
#[derive(Debug)]
pub(super) struct BasicPeers {
    pub config: BasicConfig,
    peers: BTreeMap<BasicPeer, PeerState>,
    /// Peers recognised and not yet handed to the application.
    pub opened: VecDeque<BasicPeer>,
    pub events: VecDeque<BasicEvent>,
    next_id: u64,
    cursor: u64,
}

impl BasicPeers {
    pub fn new(config: BasicConfig) -> BasicPeers {
        BasicPeers {
            config,
            peers: BTreeMap::new(),
            opened: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 0,
            cursor: 0,
        }
    }

    /// A new peer at `addr`, unless `limit` peers are open already.
    pub fn open(&mut self, addr: SocketAddr, limit: usize) -> Option<BasicPeer> {
        if self.peers.values().filter(|p| p.open).count() >= limit {
            return None;
        }
        let peer = BasicPeer(self.next_id);
        self.next_id += 1;
        let state = PeerState {
            addr,
            session: BasicSession::new(self.config),
            inbox: VecDeque::new(),
            open: true,
            closing: false,
        };
        self.peers.insert(peer, state);
        self.opened.push_back(peer);
        self.events.push_back(BasicEvent::Opened(peer, addr));
        Some(peer)
    }

    /// Whether `peer` has received nothing yet.
    pub fn nothing_received(&self, peer: BasicPeer) -> bool {
        self.peers.get(&peer).is_some_and(|p| p.session.stats().packets_received_raw == 0)
    }

    /// Whether the server should read more of `peer`'s stream now.
    pub fn wants_input(&self, peer: BasicPeer) -> bool {
        self.peers.get(&peer).is_some_and(|p| p.inbox.len() < INBOX_LIMIT)
    }

    /// Judges one packet of `peer` by the profile's rules: its messages go to
    /// the inbox, the profile's ACKs and NACKs to `out`. `false` if `out` overflowed.
    pub fn receive(&mut self, peer: BasicPeer, frame: &[u8], out: &mut Outbox, limit: usize) -> bool {
        let Some(state) = self.peers.get_mut(&peer) else { return true };
        let packet = PacketRepr::decode(frame, state.session.codec());
        if let Outcome::Deliver(p) = state.session.receive(packet) {
            // HEARTBEAT only keeps the stream alive; every other type is the application's
            if p.ptype != PacketType::HEARTBEAT {
                let message = Message { ptype: p.ptype, data: p.payload.to_vec(), delivery: Delivery::Reliable };
                state.inbox.push_back(message);
            }
        }
        let mut control = [0u8; 64];
        while let Ok(Some(n)) = state.session.poll_control(&mut control) {
            if !control.get(..n).is_some_and(|c| out.push(c, limit)) {
                return false;
            }
        }
        true
    }

    /// Writes the application's message to `peer` as its next packet into `buf`.
    pub fn encode(&mut self, peer: BasicPeer, ptype: PacketType, data: &[u8], buf: &mut [u8]) -> io::Result<usize> {
        if ptype == PacketType::ACK || ptype == PacketType::NACK {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "ACK and NACK belong to the basic profile"));
        }
        match self.peers.get_mut(&peer) {
            Some(p) if p.open && !p.closing => {
                p.session.encode(ptype, data, buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
            }
            _ => Err(io::Error::new(io::ErrorKind::NotConnected, "the basic peer is closed")),
        }
    }

    /// The application closes `peer`: nothing more is sent.
    pub fn close(&mut self, peer: BasicPeer) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.closing = true;
        }
    }

    /// `peer`'s stream is over.
    pub fn ended(&mut self, peer: BasicPeer) {
        if let Some(p) = self.peers.get_mut(&peer) {
            if p.open {
                p.open = false;
                self.events.push_back(BasicEvent::Closed(peer));
            }
        }
        self.forget_if_done(peer);
    }

    fn forget_if_done(&mut self, peer: BasicPeer) {
        if self.peers.get(&peer).is_some_and(|p| !p.open && p.inbox.is_empty()) {
            self.peers.remove(&peer);
        }
    }

    /// A peer with a message waiting, round robin.
    pub fn ready(&mut self) -> Option<BasicPeer> {
        let waiting = |(peer, state): (&BasicPeer, &PeerState)| (!state.inbox.is_empty()).then_some(*peer);
        let found = self
            .peers
            .range(BasicPeer(self.cursor)..)
            .find_map(waiting)
            .or_else(|| self.peers.range(..BasicPeer(self.cursor)).find_map(waiting))?;
        self.cursor = found.0 + 1;
        Some(found)
    }

    /// The next message of `peer`.
    pub fn take(&mut self, peer: BasicPeer) -> Option<Message> {
        let message = self.peers.get_mut(&peer)?.inbox.pop_front();
        self.forget_if_done(peer);
        message
    }

    /// Whether `peer`'s stream is open and the application has not closed it.
    pub fn is_open(&self, peer: BasicPeer) -> bool {
        self.peers.get(&peer).is_some_and(|p| p.open && !p.closing)
    }

    /// The peer's address.
    pub fn addr(&self, peer: BasicPeer) -> Option<SocketAddr> {
        self.peers.get(&peer).map(|p| p.addr)
    }

    /// The peer's seed 000 statistics.
    pub fn stats(&self, peer: BasicPeer) -> Option<BasicStats> {
        self.peers.get(&peer).map(|p| p.session.stats())
    }
}
