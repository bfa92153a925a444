//! Connections through the simulator: a thousand at once through one
//! endpoint under loss, a SYN flood from spoofed addresses, graceful closes
//! under loss, and servers whose application does not call accept.

use seqlink_core::connection::{ConnectionConfig, State};
use seqlink_core::endpoint::{EndpointConfig, EndpointEvent};
use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::wire::handshake::{Params, SynRepr, PROTOCOL_VERSION};
use seqlink_core::wire::{Codec, PacketRepr, PacketType};
use seqlink_core::{Event, Seq};
use seqlink_tests::conn_node::{ClientNode, Peer, ServerNode};
use seqlink_tests::link_node::Message;
use seqlink_tests::sim::{Impairment, Rng, Sim};
use std::collections::HashMap;

const SERVER: u32 = 1;

fn config() -> ConnectionConfig {
    let mut c = ConnectionConfig::new().with_link(LinkConfig::new().with_window(8).with_max_payload(512));
    c.link.unreliable_slots = 2;
    c.idle_timeout_ms = 30_000;
    c.connect_timeout_ms = 60_000;
    c
}

fn server(sim: &mut Sim<Peer>) -> &mut ServerNode {
    match sim.node(SERVER) {
        Peer::Server(s) => s,
        Peer::Client(_) => unreachable!(),
    }
}

fn client(sim: &mut Sim<Peer>, addr: u32) -> &mut ClientNode {
    match sim.node(addr) {
        Peer::Client(c) => c,
        Peer::Server(_) => unreachable!(),
    }
}

fn message(i: u32, len: usize) -> Message {
    let mut data = i.to_be_bytes().to_vec();
    data.resize(len.max(4), (i % 251) as u8);
    Message { ptype: PacketType(100), data, delivery: Delivery::Reliable }
}

#[test]
fn a_thousand_connections_through_one_endpoint_under_loss() {
    const CLIENTS: u32 = 1000;
    const MESSAGES: u32 = 5;
    let impairment =
        Impairment { loss: 0.05, duplicate: 0.01, reorder: 0.02, reorder_delay_ms: 15, ..Impairment::delay(10) };
    let mut sim = Sim::new(2024, impairment);
    let mut srv = ServerNode::new(EndpointConfig::new(config()), CLIENTS as usize, [3; 16], 99);
    srv.echo = true;
    sim.add(SERVER, Peer::Server(Box::new(srv)));
    let mut rng = Rng::new(7);
    for i in 0..CLIENTS {
        let addr = 1000 + i;
        // clients start within the first second
        let mut c = ClientNode::new(config(), SERVER, rng.below(1000), rng.next_u64());
        for m in 0..MESSAGES {
            c.outbox.push_back(message(i * 100 + m, 10 + (m as usize * 300)));
        }
        sim.add(addr, Peer::Client(Box::new(c)));
    }
    let done = sim.run_until(600_000, |s| {
        s.nodes.iter().all(|(_, n)| match n {
            Peer::Client(c) => c.inbox.len() == MESSAGES as usize,
            Peer::Server(_) => true,
        })
    });
    if !done {
        let mut states: HashMap<String, usize> = HashMap::new();
        for (_, n) in &sim.nodes {
            if let Peer::Client(c) = n {
                if c.inbox.len() != MESSAGES as usize {
                    *states
                        .entry(format!("{:?} {:?} inbox {}", c.conn.state(), c.conn.failure(), c.inbox.len()))
                        .or_default() += 1;
                }
            }
        }
        let stats = server(&mut sim).endpoint.stats();
        panic!("not every client got its echoes by {} ms: {states:?} {stats:?}", sim.now);
    }
    assert_eq!(server(&mut sim).endpoint.connection_count(), CLIENTS as usize);
    for i in 0..CLIENTS {
        let c = client(&mut sim, 1000 + i);
        assert_eq!(c.conn.state(), State::Established);
        let expected: Vec<Message> = (0..MESSAGES).map(|m| message(i * 100 + m, 10 + (m as usize * 300))).collect();
        assert_eq!(c.inbox, expected, "client {i} got its own messages back, in order");
    }
    let received: usize = server(&mut sim).received.values().map(Vec::len).sum();
    assert_eq!(received, (CLIENTS * MESSAGES) as usize);
    // now everyone closes; every connection ends closed and the table empties
    for i in 0..CLIENTS {
        let now = sim.now;
        client(&mut sim, 1000 + i).conn.close(now);
    }
    let closed = sim.run_until(sim.now + 300_000, |s| {
        s.nodes.iter().all(|(_, n)| match n {
            Peer::Client(c) => c.finished(),
            Peer::Server(s) => s.endpoint.connection_count() == 0,
        })
    });
    assert!(closed, "closes did not finish");
    for i in 0..CLIENTS {
        assert_eq!(client(&mut sim, 1000 + i).conn.state(), State::Closed, "client {i}");
    }
}

#[test]
fn a_syn_flood_from_spoofed_addresses_leaves_state_bounded() {
    let mut sim = Sim::new(5, Impairment::delay(5));
    sim.add(SERVER, Peer::Server(Box::new(ServerNode::new(EndpointConfig::new(config()), 16, [4; 16], 1))));
    let legit: Vec<u32> = (0..8).map(|i| 10 + i).collect();
    for &addr in &legit {
        let start = 200 * u64::from(addr - 10);
        let mut c = ClientNode::new(config(), SERVER, start, u64::from(addr) * 7919);
        c.outbox.push_back(message(addr, 100));
        sim.add(addr, Peer::Client(Box::new(c)));
    }
    // 20,000 SYNs from 20,000 spoofed addresses over two seconds
    let mut rng = Rng::new(11);
    let mut syn_buf = [0u8; 256];
    let mut payload = [0u8; 128];
    let proposal = Params { max_payload: 512, window: 8, heartbeat_ms: 1000, idle_timeout_ms: 10_000 };
    let mut flood = 0u32;
    let mut max_table = 0;
    while sim.now < 2_000 {
        for _ in 0..100 {
            let syn = SynRepr {
                version: PROTOCOL_VERSION,
                flags: 0,
                client_id: rng.next_u64() as u32,
                isn: rng.next_u64() as u32,
                params: proposal,
                extension: &[],
                padding: 16,
            };
            let n = syn.emit(&mut payload).unwrap();
            let m = PacketRepr::new(Seq(0), PacketType::SYN, &payload[..n]).emit(&mut syn_buf, &Codec::new()).unwrap();
            sim.inject(1_000_000 + flood, SERVER, syn_buf[..m].to_vec());
            flood += 1;
        }
        let until = sim.now + 10;
        while sim.step(until) {}
        max_table = max_table.max(server(&mut sim).endpoint.connection_count());
    }
    let done = sim.run_until(120_000, |s| {
        s.nodes.iter().all(|(_, n)| match n {
            Peer::Client(c) => c.conn.state() == State::Established,
            Peer::Server(_) => true,
        })
    });
    assert!(done, "legitimate clients connect despite the flood");
    assert_eq!(flood, 20_000);
    assert!(max_table <= legit.len(), "the flood created no connection state (table held {max_table})");
    let stats = server(&mut sim).endpoint.stats();
    assert!(
        stats.syn_acks_sent + stats.suppressed >= 20_000,
        "every SYN was answered statelessly or dropped by the bounded answer queue: {stats:?}"
    );
    assert_eq!(stats.accepted, legit.len() as u64);
    assert!(sim.undeliverable >= stats.syn_acks_sent - 16, "SYN_ACKs went to the spoofed addresses");
}

#[test]
fn graceful_closes_under_loss_end_closed_on_both_sides() {
    for seed in 0..40u64 {
        let impairment =
            Impairment { loss: 0.15, duplicate: 0.05, reorder: 0.05, reorder_delay_ms: 20, ..Impairment::delay(15) };
        let mut sim = Sim::new(seed, impairment);
        sim.add(SERVER, Peer::Server(Box::new(ServerNode::new(EndpointConfig::new(config()), 4, [5; 16], seed))));
        let mut c = ClientNode::new(config(), SERVER, 0, seed + 1);
        for i in 0..20 {
            c.outbox.push_back(message(i, 700));
        }
        c.close_when_done = true;
        sim.add(2, Peer::Client(Box::new(c)));
        let done = sim.run_until(300_000, |s| {
            s.nodes.iter().all(|(_, n)| match n {
                Peer::Client(c) => c.finished(),
                Peer::Server(s) => s.endpoint.connection_count() == 0,
            })
        });
        assert!(done, "seed {seed}: close did not finish");
        let events =
            (client(&mut sim, 2).events.clone(), client(&mut sim, 2).conn.failure(), client(&mut sim, 2).conn.stats());
        assert_eq!(client(&mut sim, 2).conn.state(), State::Closed, "seed {seed}: {events:?}");
        let got = server(&mut sim).received.get(&2).cloned().unwrap_or_default();
        assert_eq!(got.len(), 20, "seed {seed}: everything sent before the close arrived");
        let closed: HashMap<_, _> = server(&mut sim)
            .events
            .iter()
            .filter_map(|e| match e {
                EndpointEvent::Connection(h, Event::Closed) => Some((*h, ())),
                _ => None,
            })
            .collect();
        assert_eq!(closed.len(), 1, "seed {seed}: the server side closed too");
    }
}

/// A client at `addr` that connects at `start`, sends one message and closes.
fn short_lived_client(addr: u32, start: u64) -> ClientNode {
    let mut c = ClientNode::new(config(), SERVER, start, u64::from(addr) * 7919);
    c.outbox.push_back(message(addr, 50));
    c.close_when_done = true;
    c
}

#[test]
fn an_application_that_never_calls_accept_takes_every_client() {
    const CLIENTS: u32 = 120;
    let mut sim = Sim::new(3, Impairment::delay(5));
    let mut srv = ServerNode::new(EndpointConfig::new(config()), 16, [6; 16], 5);
    srv.calls_accept = false; // it learns of connections from their Connected events
    sim.add(SERVER, Peer::Server(Box::new(srv)));
    for i in 0..CLIENTS {
        // one after another: never more than a few at once
        let start = 300 * u64::from(i);
        while sim.step(start) {}
        sim.now = sim.now.max(start);
        sim.add(2000 + i, Peer::Client(Box::new(short_lived_client(2000 + i, start))));
    }
    let done = sim.run_until(600_000, |s| {
        s.nodes.iter().all(|(_, n)| match n {
            Peer::Client(c) => c.finished(),
            Peer::Server(s) => s.endpoint.connection_count() == 0,
        })
    });
    let failed: Vec<_> =
        (0..CLIENTS).filter_map(|i| client(&mut sim, 2000 + i).conn.failure().map(|f| (2000 + i, f))).collect();
    assert!(done && failed.is_empty(), "clients that did not get in: {failed:?}");
    for i in 0..CLIENTS {
        assert_eq!(client(&mut sim, 2000 + i).conn.state(), State::Closed);
        assert_eq!(server(&mut sim).received.get(&(2000 + i)).map(Vec::len), Some(1), "client {i}'s message");
    }
    assert_eq!(server(&mut sim).endpoint.accept(), None, "finished connections left the accept queue");
}

#[test]
fn unaccepted_connections_wait_in_the_accept_queue_without_blocking_others() {
    const CLIENTS: u32 = 100;
    let mut sim = Sim::new(4, Impairment::delay(5));
    let mut srv = ServerNode::new(EndpointConfig::new(config()), CLIENTS as usize, [6; 16], 5);
    srv.calls_accept = false;
    sim.add(SERVER, Peer::Server(Box::new(srv)));
    let mut rng = Rng::new(9);
    for round in 0..2u32 {
        let first = 3000 + round * CLIENTS;
        // all of them live at once, none accepted: more than any fixed queue would hold
        for addr in first..first + CLIENTS {
            let start = sim.now + rng.below(500);
            sim.add(addr, Peer::Client(Box::new(ClientNode::new(config(), SERVER, start, rng.next_u64()))));
        }
        let connected = sim.run_until(sim.now + 120_000, |s| {
            s.nodes.iter().filter(|(a, _)| *a >= first).all(|(_, n)| match n {
                Peer::Client(c) => c.conn.state() == State::Established,
                Peer::Server(_) => true,
            })
        });
        let stats = server(&mut sim).endpoint.stats();
        assert!(connected, "round {round}: every client connects while none is accepted: {stats:?}");
        // the application now accepts them: all of this round, in the order they connected
        let announced: Vec<_> = server(&mut sim)
            .events
            .drain(..)
            .filter_map(|e| match e {
                EndpointEvent::Connection(h, Event::Connected) => Some(h),
                _ => None,
            })
            .collect();
        let accepted: Vec<_> = core::iter::from_fn(|| server(&mut sim).endpoint.accept()).collect();
        assert_eq!(accepted.len(), CLIENTS as usize, "round {round}");
        assert_eq!(accepted, announced, "round {round}: accepted in the order they connected");
        // then they all close and free the table for the next round
        for addr in first..first + CLIENTS {
            let now = sim.now;
            client(&mut sim, addr).conn.close(now);
        }
        let closed = sim.run_until(sim.now + 120_000, |s| {
            s.nodes.iter().all(|(_, n)| match n {
                Peer::Client(c) => c.finished(),
                Peer::Server(s) => s.endpoint.connection_count() == 0,
            })
        });
        assert!(closed, "round {round}: closes finished");
    }
}
