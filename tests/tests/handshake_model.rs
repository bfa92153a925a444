//! Exhaustive exploration of the handshake and the close, for small bounds.
//!
//! A client connects, sends one message once connected and closes at once; the
//! server accepts and reads. From the start state we explore *every*
//! interleaving of: delivering any datagram in flight (so every reordering),
//! losing any of them, duplicating any of them, and letting time run to the
//! next timer, within budgets of losses, duplications and timer firings.
//! Visited states are deduplicated by hash. In every reachable state:
//!
//! * when both sides hold an agreement, it is the same agreement;
//! * no message is delivered on a side before that side reported `Connected`,
//!   and the message is never delivered twice;
//! * letting the network and the timers run without further faults always
//!   ends with the client closed or failed and the server's table empty
//!   (close never hangs); a graceful close means the message arrived.

use seqlink_core::connection::{Connection, ConnectionConfig, State};
use seqlink_core::endpoint::{ConnectionHandle, Endpoint, EndpointConfig, EndpointEvent, Slot};
use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::{Event, PacketType};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

type Server = Endpoint<u32, Vec<u8>, Vec<Slot<u32, Vec<u8>>>>;
const CLIENT: u32 = 5;
const MESSAGE: &[u8] = b"hello";

#[derive(Clone, Hash, PartialEq, Eq, Default)]
struct ClientApp {
    connected: bool,
    sent: bool,
    failed: bool,
    closed: bool,
}

#[derive(Clone, Hash, PartialEq, Eq, Default)]
struct ServerApp {
    handle: Option<ConnectionHandle>,
    connected: bool,
    received: u8,
}

#[derive(Clone, Hash, PartialEq, Eq)]
struct World {
    client: Connection<Vec<u8>>,
    server: Server,
    /// Datagrams in flight: (to the server?, bytes), kept sorted.
    net: Vec<(bool, Vec<u8>)>,
    now: u64,
    losses: u8,
    dups: u8,
    ticks: u8,
    capp: ClientApp,
    sapp: ServerApp,
}

fn config() -> ConnectionConfig {
    let mut c = ConnectionConfig::new().with_link(LinkConfig::new().with_window(2).with_max_payload(64));
    c.link.unreliable_slots = 0;
    c.connect_timeout_ms = 5_000;
    c.idle_timeout_ms = 20_000;
    c.heartbeat_ms = 3_000;
    c.close_timeout_ms = 30_000;
    c.linger_ms = 1_000;
    c
}

impl World {
    fn new() -> World {
        let c = config();
        let len = c.link.storage_len();
        let mut w = World {
            client: Connection::connect(c, vec![0u8; len], 0, 42).unwrap(),
            server: Endpoint::new(EndpointConfig::new(c), vec![Slot::new(vec![0u8; len])], [1; 16], 9),
            net: Vec::new(),
            now: 0,
            losses: 0,
            dups: 0,
            ticks: 0,
            capp: ClientApp::default(),
            sapp: ServerApp::default(),
        };
        w.settle();
        w
    }

    /// The applications act, then both sides send what they have.
    fn settle(&mut self) {
        let mut buf = [0u8; 256];
        for _ in 0..50 {
            self.apps();
            let before = self.net.len();
            while let Some(n) = self.client.poll_transmit(self.now, &mut buf).unwrap() {
                self.net.push((true, buf[..n].to_vec()));
            }
            while let Some((to, n)) = self.server.poll_transmit(self.now, &mut buf).unwrap() {
                assert_eq!(to, CLIENT);
                self.net.push((false, buf[..n].to_vec()));
            }
            assert!(self.net.len() < 64, "datagrams pile up");
            if self.net.len() == before {
                break;
            }
        }
        self.net.sort();
    }

    fn apps(&mut self) {
        while let Some(e) = self.client.poll_event() {
            match e {
                Event::Connected => self.capp.connected = true,
                Event::Failed(_) => self.capp.failed = true,
                Event::Closed => self.capp.closed = true,
                _ => {}
            }
        }
        if self.client.state() == State::Established && !self.capp.sent {
            self.client.send(PacketType(100), MESSAGE, Delivery::Reliable).unwrap();
            self.capp.sent = true;
            self.client.close(self.now);
        }
        let mut buf = [0u8; 64];
        if let Ok(Some(_)) = self.client.recv(&mut buf) {
            panic!("the server sends nothing");
        }
        if let Some(h) = self.server.accept() {
            self.sapp.handle = Some(h);
        }
        while let Some(e) = self.server.poll_event() {
            if let EndpointEvent::Connection(h, Event::Connected) = e {
                assert_eq!(Some(h), self.sapp.handle);
                self.sapp.connected = true;
            }
        }
        if let Some(h) = self.sapp.handle {
            while let Ok(Some(r)) = self.server.recv(h, &mut buf) {
                assert!(self.sapp.connected, "data delivered before Connected");
                assert_eq!(&buf[..r.len], MESSAGE);
                self.sapp.received += 1;
                assert_eq!(self.sapp.received, 1, "the message was delivered twice");
            }
        }
    }

    fn next_timer(&self) -> Option<u64> {
        [self.client.poll_timeout(), self.server.poll_timeout()].into_iter().flatten().min()
    }

    fn deliver(&mut self, i: usize) {
        let (to_server, bytes) = self.net.remove(i);
        if to_server {
            self.server.handle_datagram(self.now, CLIENT, &bytes);
        } else {
            self.client.handle_datagram(self.now, &bytes);
        }
        self.settle();
    }

    fn tick(&mut self) -> bool {
        let Some(t) = self.next_timer() else { return false };
        self.now = self.now.max(t);
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.settle();
        true
    }

    fn check(&mut self) {
        let server_agreement =
            self.sapp.handle.and_then(|h| self.server.connection(h)).and_then(|c| c.agreement().copied());
        if let (Some(a), Some(b)) = (self.client.agreement(), server_agreement) {
            if self.client.state() != State::SynSent {
                assert_eq!(*a, b, "both sides agree on the parameters");
            }
        }
        if self.sapp.received > 0 {
            assert!(self.capp.sent);
        }
    }

    fn finished(&self) -> bool {
        self.client.is_closed() && self.server.connection_count() == 0
    }

    /// Runs without faults: deliver in order, then timers. Must finish.
    fn complete(mut self) {
        let limit = self.now + 600_000;
        while !self.finished() {
            if !self.net.is_empty() {
                self.deliver(0);
            } else if !self.tick() || self.now > limit {
                break;
            }
            self.check();
        }
        assert!(
            self.finished(),
            "hangs: client {:?} ({:?}), server table {}, t={}",
            self.client.state(),
            self.client.failure(),
            self.server.connection_count(),
            self.now
        );
        if self.client.failure().is_none() {
            assert!(self.capp.closed, "a graceful end reports Closed");
            assert_eq!(self.sapp.received, 1, "a graceful close delivered the message");
        }
    }

    fn key(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

/// Explores everything reachable within the budgets; returns the number of states.
fn explore(max_losses: u8, max_dups: u8, max_ticks: u8) -> usize {
    let mut seen = HashSet::new();
    let mut stack = vec![World::new()];
    while let Some(w) = stack.pop() {
        if !seen.insert(w.key()) {
            continue;
        }
        assert!(seen.len() < 1_500_000, "state space larger than expected");
        w.clone().complete();
        for i in 0..w.net.len() {
            let mut next = w.clone();
            next.deliver(i);
            next.check();
            stack.push(next);
            if w.losses < max_losses {
                let mut next = w.clone();
                next.net.remove(i);
                next.losses += 1;
                stack.push(next);
            }
            if w.dups < max_dups {
                let mut next = w.clone();
                let copy = next.net[i].clone();
                next.net.push(copy);
                next.net.sort();
                next.dups += 1;
                stack.push(next);
            }
        }
        if w.ticks < max_ticks {
            let mut next = w.clone();
            if next.tick() {
                next.ticks += 1;
                next.check();
                stack.push(next);
            }
        }
    }
    seen.len()
}

#[test]
fn every_interleaving_with_two_losses() {
    let states = explore(2, 0, 2);
    println!("two losses, two timer firings: {states} states");
    assert!(states > 100);
}

#[test]
fn every_interleaving_with_a_loss_and_a_duplicate() {
    let states = explore(1, 1, 1);
    println!("one loss, one duplicate, one timer firing: {states} states");
    assert!(states > 100);
}

#[test]
fn every_interleaving_with_two_duplicates() {
    let states = explore(0, 2, 0);
    println!("two duplicates: {states} states");
    assert!(states > 100);
}
