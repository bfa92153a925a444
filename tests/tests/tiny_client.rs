//! The tiny client engine (`seqlink_core::TinyClient`) against seqlink's
//! full server `Endpoint` in the simulator: data both ways under loss,
//! duplication and reordering, heartbeats, closes from either side, a
//! server that dies, and a refused handshake.

use seqlink_core::connection::{ConnectionConfig, State};
use seqlink_core::endpoint::{EndpointConfig, EndpointEvent};
use seqlink_core::link::{Delivery, SendError};
use seqlink_core::wire::handshake::ErrorCode;
use seqlink_core::wire::PacketType;
use seqlink_core::{Event, FailReason, Seq, TinyClient, TinyConfig, TinyWindow};
use seqlink_tests::conn_node::ServerNode;
use seqlink_tests::link_node::Message;
use seqlink_tests::sim::{Addr, Fate, Impairment, Node, Sim};
use std::collections::VecDeque;

const SERVER: Addr = 1;
const CLIENT: Addr = 2;
const WINDOW: usize = 4;
const PAYLOAD: usize = 128;

/// A tiny client whose application sends its outbox once connected, reads
/// everything, and closes once everything it expects has arrived and
/// everything it sent is acknowledged (when `close_when_done`).
struct TinyNode<const W: usize = WINDOW, const P: usize = PAYLOAD> {
    client: TinyClient<'static, W, P>,
    outbox: VecDeque<Message>,
    inbox: Vec<Message>,
    events: Vec<Event>,
    /// Close once this many messages arrived and the outbox is sent and acknowledged.
    close_after: Option<usize>,
}

impl<const W: usize, const P: usize> TinyNode<W, P> {
    fn new(config: TinyConfig, now: u64, entropy: u64) -> TinyNode<W, P> {
        let window = Box::leak(Box::new(TinyWindow::new()));
        TinyNode {
            client: TinyClient::connect(config, window, now, entropy),
            outbox: VecDeque::new(),
            inbox: Vec::new(),
            events: Vec::new(),
            close_after: None,
        }
    }
}

impl<const W: usize, const P: usize> Node for TinyNode<W, P> {
    fn handle(&mut self, now: u64, _from: Addr, datagram: &[u8]) {
        self.client.handle_datagram(now, datagram);
    }

    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(Addr, usize)> {
        self.client.poll_transmit(now, buf).expect("buffer is large enough").map(|n| (SERVER, n))
    }

    fn timeout(&self) -> Option<u64> {
        self.client.poll_timeout()
    }

    fn on_timeout(&mut self, now: u64) {
        self.client.handle_timeout(now);
    }

    fn poll_app(&mut self, now: u64) {
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
        if self.client.state() == State::Established {
            while let Some(m) = self.outbox.front() {
                match self.client.send(m.ptype, &m.data) {
                    Ok(()) => {
                        self.outbox.pop_front();
                    }
                    Err(SendError::WouldBlock) => break,
                    Err(e) => panic!("send refused: {e:?}"),
                }
            }
        }
        let mut buf = [0u8; P];
        while let Some(r) = self.client.recv(&mut buf).expect("buffer holds any message") {
            assert!(self.events.contains(&Event::Connected), "a message arrived before Connected");
            self.inbox.push(Message { ptype: r.ptype, data: buf[..r.len].to_vec(), delivery: r.delivery });
        }
        if self.client.state() == State::Established
            && self.close_after.is_some_and(|n| self.inbox.len() >= n)
            && self.outbox.is_empty()
            && self.client.is_idle()
        {
            self.client.close(now);
        }
    }
}

/// The tiny client or the full server in one simulated network.
enum Peer<const W: usize = WINDOW, const P: usize = PAYLOAD> {
    Tiny(Box<TinyNode<W, P>>),
    Server(Box<ServerNode>),
}

impl<const W: usize, const P: usize> Node for Peer<W, P> {
    fn handle(&mut self, now: u64, from: Addr, datagram: &[u8]) {
        match self {
            Peer::Tiny(c) => c.handle(now, from, datagram),
            Peer::Server(s) => s.handle(now, from, datagram),
        }
    }
    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(Addr, usize)> {
        match self {
            Peer::Tiny(c) => c.transmit(now, buf),
            Peer::Server(s) => s.transmit(now, buf),
        }
    }
    fn timeout(&self) -> Option<u64> {
        match self {
            Peer::Tiny(c) => c.timeout(),
            Peer::Server(s) => s.timeout(),
        }
    }
    fn on_timeout(&mut self, now: u64) {
        match self {
            Peer::Tiny(c) => c.on_timeout(now),
            Peer::Server(s) => s.on_timeout(now),
        }
    }
    fn poll_app(&mut self, now: u64) {
        match self {
            Peer::Tiny(c) => c.poll_app(now),
            Peer::Server(s) => s.poll_app(now),
        }
    }
}

fn tiny<const W: usize, const P: usize>(sim: &mut Sim<Peer<W, P>>) -> &mut TinyNode<W, P> {
    match sim.node(CLIENT) {
        Peer::Tiny(c) => c,
        Peer::Server(_) => unreachable!(),
    }
}

fn server<const W: usize, const P: usize>(sim: &mut Sim<Peer<W, P>>) -> &mut ServerNode {
    match sim.node(SERVER) {
        Peer::Server(s) => s,
        Peer::Tiny(_) => unreachable!(),
    }
}

/// A full seqlink server with its defaults (larger window and payload than
/// the tiny client's: the handshake agrees on the client's).
fn server_node(echo: bool) -> ServerNode {
    let mut node = ServerNode::new(EndpointConfig::new(ConnectionConfig::new()), 4, [5; 16], 77);
    node.echo = echo;
    node
}

/// Message `i`: its number, then filler, `len` bytes in all (at least 4).
fn message(i: u32, len: usize) -> Message {
    let mut data = i.to_be_bytes().to_vec();
    data.resize(len.max(4), (i % 251) as u8);
    Message { ptype: PacketType(100 + (i % 3) as u8), data, delivery: Delivery::Reliable }
}

/// A network of the echoing server and one tiny client with `count` messages to send.
fn echo_network<const W: usize, const P: usize>(seed: u64, impairment: Impairment, count: u32) -> Sim<Peer<W, P>> {
    let mut sim = Sim::new(seed, impairment);
    sim.add(SERVER, Peer::Server(Box::new(server_node(true))));
    // the client's sequence numbers wrap past 2^32 - 1 after a few packets
    let entropy = (0xffff_fff0u64 << 32) | seed.wrapping_mul(0x9e37_79b9) ^ 1;
    let mut client = TinyNode::<W, P>::new(TinyConfig::new(), 0, entropy);
    client.outbox = (0..count).map(|i| message(i, 4 + (i as usize * 37) % (P - 3))).collect();
    client.close_after = Some(count as usize);
    sim.add(CLIENT, Peer::Tiny(Box::new(client)));
    sim
}

/// Runs an echo network until both sides closed; checks that every message
/// arrived exactly once and in order both ways and that both sides closed.
fn echo_and_close<const W: usize, const P: usize>(seed: u64, impairment: Impairment, count: u32) {
    let mut sim = echo_network::<W, P>(seed, impairment, count);
    let sent: Vec<Message> = tiny(&mut sim).outbox.iter().cloned().collect();
    let closed = sim.run_until(3_600_000, |s| {
        let client_closed = tiny(s).events.last() == Some(&Event::Closed);
        let server_closed = server(s).events.iter().any(|e| matches!(e, EndpointEvent::Connection(_, Event::Closed)));
        client_closed && server_closed
    });
    let node = tiny(&mut sim);
    assert!(
        closed,
        "seed {seed}: not closed: client {:?} {:?} events {:?}, {} of {count} echoes",
        node.client.state(),
        node.client.failure(),
        node.events,
        node.inbox.len()
    );
    let events: Vec<Event> = node.events.iter().copied().filter(|e| *e != Event::Writable).collect();
    assert_eq!(events, [Event::Connected, Event::Closed], "seed {seed}");
    assert_eq!(node.inbox, sent, "seed {seed}: the echoes, once each and in order");
    let received = server(&mut sim).received.get(&CLIENT).cloned().unwrap_or_default();
    assert_eq!(received, sent, "seed {seed}: what the server read, once each and in order");
}

fn lossy() -> Impairment {
    Impairment {
        loss: 0.15,
        duplicate: 0.05,
        reorder: 0.1,
        reorder_delay_ms: 25,
        jitter_ms: 5,
        ..Impairment::delay(10)
    }
}

#[test]
fn every_message_arrives_once_in_order_both_ways_under_loss_duplication_and_reordering() {
    for seed in 0..24 {
        echo_and_close::<WINDOW, PAYLOAD>(seed, lossy(), 60);
    }
}

#[test]
fn a_thousand_messages_at_twenty_percent_loss() {
    let impairment =
        Impairment { loss: 0.2, duplicate: 0.02, reorder: 0.05, reorder_delay_ms: 15, ..Impairment::delay(5) };
    echo_and_close::<WINDOW, PAYLOAD>(1_000, impairment, 1_000);
}

#[test]
fn a_clean_path_delivers_and_closes() {
    echo_and_close::<WINDOW, PAYLOAD>(7, Impairment::delay(20), 200);
}

#[test]
fn heartbeats_keep_an_idle_connection_up() {
    let mut sim = echo_network::<WINDOW, PAYLOAD>(3, Impairment::delay(15), 0);
    tiny(&mut sim).close_after = None;
    sim.logging = true;
    sim.run_until(120_000, |_| false); // two minutes of silence, twelve idle timeouts' worth
    let node = tiny(&mut sim);
    assert_eq!(node.client.state(), State::Established, "{:?}", node.client.failure());
    assert_eq!(node.events, [Event::Connected]);
    let srv = server(&mut sim);
    assert_eq!(srv.endpoint.connection_count(), 1);
    assert!(!srv.events.iter().any(|e| matches!(e, EndpointEvent::Connection(_, Event::Failed(_)))));
    let heartbeats_from =
        |from| sim.log.iter().filter(|e| e.from == from && e.info.ptype == PacketType::HEARTBEAT).count();
    // each side pings when idle and answers the other's pings
    assert!(heartbeats_from(CLIENT) > 100, "client heartbeats {}", heartbeats_from(CLIENT));
    assert!(heartbeats_from(SERVER) > 100, "server heartbeats {}", heartbeats_from(SERVER));
}

#[test]
fn the_server_closing_first_closes_the_client_too() {
    let mut sim = echo_network::<WINDOW, PAYLOAD>(11, lossy(), 0);
    tiny(&mut sim).close_after = None;
    sim.run_until(60_000, |s| tiny(s).events.contains(&Event::Connected));
    let now = sim.now;
    let srv = server(&mut sim);
    let handle = srv.accepted[0];
    srv.endpoint.close(handle, now);
    let closed = sim.run_until(120_000, |s| {
        tiny(s).events.last() == Some(&Event::Closed)
            && server(s).events.iter().any(|e| matches!(e, EndpointEvent::Connection(_, Event::Closed)))
    });
    assert!(closed, "client {:?} {:?}", tiny(&mut sim).client.state(), tiny(&mut sim).events);
    // the client lingers, then is done
    sim.run_until(sim.now + 30_000, |_| false);
    assert_eq!(tiny(&mut sim).client.state(), State::Closed);
    assert_eq!(tiny(&mut sim).events, [Event::Connected, Event::Closed]);
}

#[test]
fn a_server_that_dies_fails_the_client_with_dead_peer() {
    // neither an idle timeout nor heartbeats (unanswered pings would come first): the resends find the dead peer
    let mut sim: Sim<Peer> = Sim::new(5, Impairment::delay(10));
    let mut config = ConnectionConfig::new();
    config.idle_timeout_ms = 0;
    config.heartbeat_ms = 0;
    sim.add(SERVER, Peer::Server(Box::new(ServerNode::new(EndpointConfig::new(config), 1, [2; 16], 8))));
    let tiny_config = TinyConfig { idle_timeout_ms: 0, heartbeat_ms: 0, ..TinyConfig::new() };
    sim.add(CLIENT, Peer::Tiny(Box::new(TinyNode::new(tiny_config, 0, 6))));
    sim.run_until(60_000, |s| tiny(s).events.contains(&Event::Connected));
    // the server vanishes; the client has a message in flight
    sim.impair(CLIENT, SERVER, Impairment { loss: 1.0, ..Impairment::delay(10) });
    sim.impair(SERVER, CLIENT, Impairment { loss: 1.0, ..Impairment::delay(10) });
    tiny(&mut sim).outbox.push_back(message(1, 20));
    let failed = sim.run_until(600_000, |s| tiny(s).client.is_closed());
    let node = tiny(&mut sim);
    assert!(failed, "still {:?}", node.client.state());
    // the message was never acknowledged: its resends ran out (not the heartbeats, which name the next number)
    let message_seq = Seq(node.client.agreement().unwrap().client_isn);
    assert_eq!(node.client.failure(), Some(FailReason::DeadPeer { seq: message_seq }));
    let reason = node.client.failure().unwrap();
    node.poll_app(0);
    assert_eq!(node.events.last(), Some(&Event::Failed(reason)));
}

#[test]
fn a_refused_handshake_is_reported() {
    let mut sim: Sim<Peer> = Sim::new(9, Impairment::delay(10));
    let mut config = EndpointConfig::new(ConnectionConfig::new());
    config.auto_accept = false;
    sim.add(SERVER, Peer::Server(Box::new(ServerNode::new(config, 2, [1; 16], 3))));
    sim.add(CLIENT, Peer::Tiny(Box::new(TinyNode::new(TinyConfig::new(), 0, 99))));
    let failed = sim.run_until(60_000, |s| {
        let endpoint = &mut server(s).endpoint;
        if let Some(incoming) = endpoint.poll_incoming() {
            endpoint.refuse(incoming.ticket(), ErrorCode::Refused).expect("a fresh ticket");
        }
        tiny(s).client.is_closed()
    });
    let node = tiny(&mut sim);
    assert!(failed, "still {:?}", node.client.state());
    let reason = FailReason::Refused { code: ErrorCode::Refused };
    assert_eq!(node.client.failure(), Some(reason));
    node.poll_app(0);
    assert_eq!(node.events, [Event::Failed(reason)]);
}

#[test]
fn an_unanswered_handshake_times_out() {
    let mut sim: Sim<Peer> = Sim::new(4, Impairment { loss: 1.0, ..Impairment::delay(10) });
    sim.add(SERVER, Peer::Server(Box::new(server_node(false))));
    sim.add(CLIENT, Peer::Tiny(Box::new(TinyNode::new(TinyConfig::new(), 0, 5))));
    sim.logging = true;
    sim.run_until(60_000, |s| tiny(s).client.is_closed());
    let node = tiny(&mut sim);
    node.poll_app(0);
    assert_eq!(node.events, [Event::Failed(FailReason::ConnectTimeout)]);
    assert_eq!(sim.now, 10_000, "the connect timeout");
    // the SYN is resent after the initial RTO (200 ms), doubling each time
    let syns: Vec<u64> =
        sim.log.iter().filter(|e| e.from == CLIENT && matches!(e.fate, Fate::Sent)).map(|e| e.time).collect();
    assert_eq!(syns[..5], [0, 200, 600, 1_400, 3_000]);
}

#[test]
fn a_server_that_dies_while_all_is_quiet_is_found_by_unanswered_pings() {
    let mut sim: Sim<Peer> = Sim::new(6, Impairment::delay(10));
    let mut config = ConnectionConfig::new();
    config.idle_timeout_ms = 0;
    sim.add(SERVER, Peer::Server(Box::new(ServerNode::new(EndpointConfig::new(config), 1, [2; 16], 8))));
    let tiny_config = TinyConfig { idle_timeout_ms: 0, ..TinyConfig::new() };
    sim.add(CLIENT, Peer::Tiny(Box::new(TinyNode::new(tiny_config, 0, 6))));
    sim.run_until(60_000, |s| tiny(s).events.contains(&Event::Connected));
    let died_at = sim.now;
    sim.impair(CLIENT, SERVER, Impairment { loss: 1.0, ..Impairment::delay(10) });
    sim.impair(SERVER, CLIENT, Impairment { loss: 1.0, ..Impairment::delay(10) });
    sim.run_until(600_000, |s| tiny(s).client.is_closed());
    let node = tiny(&mut sim);
    // twenty pings a second apart (max_retries), none answered; nothing was sent, so it names the next number
    let next = Seq(node.client.agreement().unwrap().client_isn);
    assert_eq!(node.client.failure(), Some(FailReason::DeadPeer { seq: next }));
    assert!((21_000..22_000).contains(&(sim.now - died_at)), "after {} ms", sim.now - died_at);
}

#[test]
fn odd_windows_and_the_smallest_payload_deliver_in_order_under_loss() {
    for seed in 0..8 {
        echo_and_close::<3, 64>(seed, lossy(), 50);
        echo_and_close::<1, 64>(seed, lossy(), 20);
        echo_and_close::<7, 100>(seed, lossy(), 50);
    }
}
