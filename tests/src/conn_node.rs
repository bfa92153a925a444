//! Connections and a server endpoint with scripted applications, as simulator nodes.

use crate::link_node::Message;
use crate::sim::{Addr, Node};
use seqlink_core::connection::{Connection, ConnectionConfig, State};
use seqlink_core::endpoint::{ConnectionHandle, Endpoint, EndpointConfig, EndpointEvent, Slot};
use seqlink_core::link::SendError;
use seqlink_core::Event;
use std::collections::{HashMap, VecDeque};

/// A client connection whose application sends its outbox once connected,
/// reads everything, and closes once everything it sent is acknowledged
/// (when `close_when_done`).
pub struct ClientNode {
    /// The connection under test.
    pub conn: Connection<Vec<u8>>,
    /// The server's address.
    pub server: Addr,
    /// Messages still to send.
    pub outbox: VecDeque<Message>,
    /// Messages received.
    pub inbox: Vec<Message>,
    /// Events seen.
    pub events: Vec<Event>,
    /// Close when the outbox is empty and everything is acknowledged.
    pub close_when_done: bool,
    buf: Vec<u8>,
}

impl ClientNode {
    /// A client of `server` that connects at `now`.
    pub fn new(config: ConnectionConfig, server: Addr, now: u64, entropy: u64) -> ClientNode {
        let storage = vec![0u8; config.link.storage_len()];
        ClientNode {
            conn: Connection::connect(config, storage, now, entropy).expect("valid config"),
            server,
            outbox: VecDeque::new(),
            inbox: Vec::new(),
            events: Vec::new(),
            close_when_done: false,
            buf: vec![0u8; 1 << 17],
        }
    }

    /// Whether the connection is over.
    pub fn finished(&self) -> bool {
        self.conn.is_closed()
    }
}

impl Node for ClientNode {
    fn handle(&mut self, now: u64, _from: Addr, datagram: &[u8]) {
        self.conn.handle_datagram(now, datagram);
    }

    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(Addr, usize)> {
        self.conn.poll_transmit(now, buf).expect("buffer is large enough").map(|n| (self.server, n))
    }

    fn timeout(&self) -> Option<u64> {
        self.conn.poll_timeout()
    }

    fn on_timeout(&mut self, now: u64) {
        self.conn.handle_timeout(now);
    }

    fn poll_app(&mut self, now: u64) {
        while let Some(e) = self.conn.poll_event() {
            self.events.push(e);
        }
        if self.conn.state() == State::Established {
            while let Some(m) = self.outbox.front() {
                match self.conn.send(m.ptype, &m.data, m.delivery) {
                    Ok(()) => {
                        self.outbox.pop_front();
                    }
                    Err(SendError::WouldBlock) => break,
                    Err(e) => panic!("send refused: {e:?}"),
                }
            }
            if self.close_when_done && self.outbox.is_empty() && self.conn.link().is_idle() {
                self.conn.close(now);
            }
        }
        while let Ok(Some(r)) = self.conn.recv(&mut self.buf) {
            assert!(self.events.contains(&Event::Connected), "a message arrived before Connected");
            self.inbox.push(Message { ptype: r.ptype, data: self.buf[..r.len].to_vec(), delivery: r.delivery });
        }
    }
}

/// The server's table type in the simulator.
pub type SimEndpoint = Endpoint<Addr, Vec<u8>, Vec<Slot<Addr, Vec<u8>>>>;

/// A server endpoint whose application accepts everything, reads every
/// message and (when `echo`) sends it back on the same connection.
pub struct ServerNode {
    /// The endpoint under test.
    pub endpoint: SimEndpoint,
    /// Echo every message back.
    pub echo: bool,
    /// The application calls `accept()`; when `false` it learns of new
    /// connections from their `Connected` events only.
    pub calls_accept: bool,
    /// Messages received, per peer address.
    pub received: HashMap<Addr, Vec<Message>>,
    /// Events seen.
    pub events: Vec<EndpointEvent<Addr>>,
    /// Connections accepted and not yet released.
    pub accepted: Vec<ConnectionHandle>,
    pending_echo: VecDeque<(ConnectionHandle, Message)>,
    buf: Vec<u8>,
}

impl ServerNode {
    /// A server with `slots` connection slots.
    pub fn new(config: EndpointConfig, slots: usize, secret: [u8; 16], entropy: u64) -> ServerNode {
        let len = config.connection.link.storage_len();
        let table = (0..slots).map(|_| Slot::new(vec![0u8; len])).collect();
        ServerNode {
            endpoint: Endpoint::new(config, table, secret, entropy),
            echo: false,
            calls_accept: true,
            received: HashMap::new(),
            events: Vec::new(),
            accepted: Vec::new(),
            pending_echo: VecDeque::new(),
            buf: vec![0u8; 1 << 17],
        }
    }
}

impl Node for ServerNode {
    fn handle(&mut self, now: u64, from: Addr, datagram: &[u8]) {
        self.endpoint.handle_datagram(now, from, datagram);
    }

    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(Addr, usize)> {
        self.endpoint.poll_transmit(now, buf).expect("buffer is large enough")
    }

    fn timeout(&self) -> Option<u64> {
        self.endpoint.poll_timeout()
    }

    fn on_timeout(&mut self, now: u64) {
        self.endpoint.handle_timeout(now);
    }

    fn poll_app(&mut self, _now: u64) {
        while self.calls_accept {
            let Some(handle) = self.endpoint.accept() else { break };
            self.accepted.push(handle);
        }
        while let Some(e) = self.endpoint.poll_event() {
            if let (false, EndpointEvent::Connection(handle, Event::Connected)) = (self.calls_accept, e) {
                self.accepted.push(handle);
            }
            self.events.push(e);
        }
        for &handle in &self.accepted {
            let Some(peer) = self.endpoint.peer(handle) else { continue };
            while let Ok(Some(r)) = self.endpoint.recv(handle, &mut self.buf) {
                let m = Message { ptype: r.ptype, data: self.buf[..r.len].to_vec(), delivery: r.delivery };
                if self.echo {
                    self.pending_echo.push_back((handle, m.clone()));
                }
                self.received.entry(peer).or_default().push(m);
            }
        }
        while let Some((handle, m)) = self.pending_echo.front() {
            match self.endpoint.send(*handle, m.ptype, &m.data, m.delivery) {
                Err(SendError::WouldBlock) => break,
                _ => {
                    self.pending_echo.pop_front();
                }
            }
        }
        let endpoint = &mut self.endpoint;
        self.accepted.retain(|&h| endpoint.connection(h).is_some());
    }
}

/// A client or the server in one simulated network (the simulator holds
/// nodes of one type).
pub enum Peer {
    /// A client connection.
    Client(Box<ClientNode>),
    /// The server endpoint.
    Server(Box<ServerNode>),
}

impl Node for Peer {
    fn handle(&mut self, now: u64, from: u32, datagram: &[u8]) {
        match self {
            Peer::Client(c) => c.handle(now, from, datagram),
            Peer::Server(s) => s.handle(now, from, datagram),
        }
    }
    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(u32, usize)> {
        match self {
            Peer::Client(c) => c.transmit(now, buf),
            Peer::Server(s) => s.transmit(now, buf),
        }
    }
    fn timeout(&self) -> Option<u64> {
        match self {
            Peer::Client(c) => c.timeout(),
            Peer::Server(s) => s.timeout(),
        }
    }
    fn on_timeout(&mut self, now: u64) {
        match self {
            Peer::Client(c) => c.on_timeout(now),
            Peer::Server(s) => s.on_timeout(now),
        }
    }
    fn poll_app(&mut self, now: u64) {
        match self {
            Peer::Client(c) => c.poll_app(now),
            Peer::Server(s) => s.poll_app(now),
        }
    }
}
