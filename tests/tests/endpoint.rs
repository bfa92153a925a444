//! The server endpoint driven by hand: replayed and restarted handshakes from
//! one address, the accept queue, admission by the application, one storage
//! arena for all connections, and what it answers to foreign SYNs (CRC-32C
//! over a stream, SYNs shorter than their answer).

use seqlink_core::connection::{Connection, ConnectionConfig, State, Transport};
use seqlink_core::endpoint::{
    AdmissionError, ArenaSlot, ConnectionHandle, Endpoint, EndpointConfig, EndpointEvent, Slot, MAX_PENDING_HANDSHAKES,
};
use seqlink_core::event::FailReason;
use seqlink_core::link::{ConfigError, Delivery, LinkConfig};
use seqlink_core::wire::control::ErrRepr;
use seqlink_core::wire::handshake::{
    ErrorCode, SynAckRepr, SynRepr, FLAG_CRC, FLAG_CRC_SUPPORTED, PROTOCOL_VERSION, SYN_ACK_FIXED_LEN,
};
use seqlink_core::wire::{Codec, PacketRepr, PacketType, HEADER_LEN};
use seqlink_core::{Event, Seq};
use seqlink_tests::conn_node::{ServerNode, SimEndpoint};
use seqlink_tests::sim::Addr;

type Client = Connection<Vec<u8>>;

const ADDR: Addr = 7;

fn config() -> ConnectionConfig {
    ConnectionConfig::new().with_link(LinkConfig::new().with_window(8).with_max_payload(256))
}

/// One server endpoint and its clients, by address, on a lossless network
/// without delay; records what the clients sent.
struct World {
    now: u64,
    server: SimEndpoint,
    clients: Vec<(Addr, Client)>,
    sent_by_clients: Vec<(Addr, Vec<u8>)>,
    server_events: Vec<EndpointEvent<Addr>>,
}

impl World {
    fn new(config: ConnectionConfig, slots: usize) -> World {
        World::with_endpoint(EndpointConfig::new(config), slots)
    }

    fn with_endpoint(config: EndpointConfig, slots: usize) -> World {
        World {
            now: 0,
            server: ServerNode::new(config, slots, [9; 16], 77).endpoint,
            clients: Vec::new(),
            sent_by_clients: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// A new client at `addr` starts connecting now.
    fn connect(&mut self, addr: Addr, config: ConnectionConfig, entropy: u64) {
        let conn = Connection::connect(config, vec![0u8; config.link.storage_len()], self.now, entropy).unwrap();
        self.clients.push((addr, conn));
    }

    /// The client at `addr` vanishes without a word (a crash).
    fn crash(&mut self, addr: Addr) {
        self.clients.retain(|(a, _)| *a != addr);
    }

    fn client(&mut self, addr: Addr) -> &mut Client {
        &mut self.clients.iter_mut().find(|(a, _)| *a == addr).unwrap().1
    }

    /// Carries datagrams both ways until everybody is quiet, and reads the server's events.
    fn exchange(&mut self) {
        let mut buf = vec![0u8; 2048];
        for _ in 0..10_000 {
            let mut moved = false;
            for (addr, client) in &mut self.clients {
                while let Some(n) = client.poll_transmit(self.now, &mut buf).unwrap() {
                    moved = true;
                    self.sent_by_clients.push((*addr, buf[..n].to_vec()));
                    self.server.handle_datagram(self.now, *addr, &buf[..n]);
                }
            }
            while let Some((to, n)) = self.server.poll_transmit(self.now, &mut buf).unwrap() {
                moved = true;
                if let Some((_, client)) = self.clients.iter_mut().find(|(a, _)| *a == to) {
                    client.handle_datagram(self.now, &buf[..n]);
                }
            }
            while let Some(e) = self.server.poll_event() {
                self.server_events.push(e);
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence");
    }

    /// Runs timers and exchanges until `until`.
    fn run_until(&mut self, until: u64) {
        loop {
            let next =
                self.clients.iter().filter_map(|(_, c)| c.poll_timeout()).chain(self.server.poll_timeout()).min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    for (_, c) in &mut self.clients {
                        c.handle_timeout(self.now);
                    }
                    self.server.handle_timeout(self.now);
                    self.exchange();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    /// The first HANDSHAKE_ACK the client at `addr` sent.
    fn handshake_ack_of(&self, addr: Addr) -> Vec<u8> {
        let is_ack = |d: &[u8]| PacketType(d[4]) == PacketType::HANDSHAKE_ACK;
        self.sent_by_clients.iter().find(|(a, d)| *a == addr && is_ack(d)).unwrap().1.clone()
    }

    /// Every connection the server has not handed out through `accept` yet.
    fn accept_all(&mut self) -> Vec<ConnectionHandle> {
        core::iter::from_fn(|| self.server.accept()).collect()
    }

    /// A message from the client at `addr` reaches the server's `handle`, and one comes back.
    fn round_trip(&mut self, addr: Addr, handle: ConnectionHandle) {
        let mut buf = [0u8; 256];
        self.client(addr).send(PacketType(100), b"ping", Delivery::Reliable).unwrap();
        self.exchange();
        let r = self.server.recv(handle, &mut buf).unwrap().expect("the server got the message");
        assert_eq!(&buf[..r.len], b"ping");
        self.server.send(handle, PacketType(101), b"pong", Delivery::Reliable).unwrap();
        self.exchange();
        let r = self.client(addr).recv(&mut buf).unwrap().expect("the client got the answer");
        assert_eq!(&buf[..r.len], b"pong");
    }
}

// ---- replayed and restarted handshakes ---------------------------------------------

#[test]
fn a_late_handshake_ack_of_a_crashed_client_leaves_its_successor_connected() {
    let mut w = World::new(config(), 4);
    w.connect(ADDR, config(), 1);
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Established);
    let old_ack = w.handshake_ack_of(ADDR);
    // the client restarts at the same address a second later
    w.run_until(1_000);
    w.crash(ADDR);
    w.connect(ADDR, config(), 2);
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Established, "the restarted client connects");
    let handle = *w.accept_all().last().unwrap();
    assert_eq!(w.server.connection_count(), 1);
    // the network delivers a late duplicate of the first client's HANDSHAKE_ACK
    w.run_until(2_000);
    let now = w.now;
    w.server.handle_datagram(now, ADDR, &old_ack);
    w.exchange();
    assert!(w.server.is_open(handle), "the live connection was not replaced by the replay");
    assert_eq!(w.server.stats().replays, 1);
    w.round_trip(ADDR, handle);
    // and it stays up well past an idle timeout
    w.run_until(now + 3 * u64::from(config().idle_timeout_ms));
    assert_eq!(w.client(ADDR).state(), State::Established);
    assert!(w.server.is_open(handle));
    w.round_trip(ADDR, handle);
}

#[test]
fn a_late_handshake_ack_of_a_closed_connection_leaves_the_next_one_connected() {
    let mut w = World::new(config(), 4);
    w.connect(ADDR, config(), 1);
    w.exchange();
    let old_ack = w.handshake_ack_of(ADDR);
    let now = w.now;
    w.client(ADDR).close(now);
    w.run_until(5_000);
    assert_eq!(w.client(ADDR).state(), State::Closed);
    assert_eq!(w.server.connection_count(), 0, "the first connection finished and left the table");
    // a new connection from the same address, within the first one's cookie lifetime
    w.crash(ADDR);
    w.connect(ADDR, config(), 2);
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Established);
    let handle = *w.accept_all().last().unwrap();
    let now = w.now;
    w.server.handle_datagram(now, ADDR, &old_ack);
    w.exchange();
    assert!(w.server.is_open(handle), "the replay did not replace the live connection");
    w.round_trip(ADDR, handle);
    w.run_until(now + 3 * u64::from(config().idle_timeout_ms));
    assert_eq!(w.client(ADDR).state(), State::Established);
    w.round_trip(ADDR, handle);
}

#[test]
fn a_late_handshake_ack_is_harmless_after_the_finished_cookies_forgot_it() {
    let mut w = World::new(config(), 4);
    w.connect(ADDR, config(), 1);
    w.exchange();
    let old_ack = w.handshake_ack_of(ADDR);
    let first = w.accept_all()[0];
    w.server.release(first);
    w.crash(ADDR);
    // 64 more connections from other addresses finish: the endpoint keeps
    // the cookies of the last 64 only
    for i in 0..64 {
        w.now += 10;
        w.connect(100 + i, config(), 100 + u64::from(i));
        w.exchange();
        let handle = w.accept_all()[0];
        w.server.release(handle);
        w.crash(100 + i);
    }
    w.connect(ADDR, config(), 2);
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Established);
    let handle = w.accept_all()[0];
    assert!(w.now < u64::from(EndpointConfig::new(config()).cookie_lifetime_ms), "the old cookie is still fresh");
    let now = w.now;
    w.server.handle_datagram(now, ADDR, &old_ack);
    w.exchange();
    assert!(w.server.is_open(handle), "the replay did not replace the live connection");
    w.round_trip(ADDR, handle);
}

#[test]
fn a_client_restarted_at_once_gets_a_fresh_connection() {
    let mut w = World::new(config(), 4);
    w.connect(ADDR, config(), 1);
    w.exchange();
    let old = w.accept_all()[0];
    // a few milliseconds later, well within the same cookie lifetime
    w.now += 3;
    w.crash(ADDR);
    w.connect(ADDR, config(), 2);
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Established, "no wait for the old connection's idle timeout");
    assert!(!w.server.is_open(old), "the old connection is gone");
    let fresh = w.accept_all();
    assert_eq!(fresh.len(), 1);
    let id = w.client(ADDR).connection_id();
    assert_eq!(w.server.connection(fresh[0]).unwrap().connection_id(), id);
    w.round_trip(ADDR, fresh[0]);
}

#[test]
fn cookies_expire_after_their_lifetime() {
    let lifetime = EndpointConfig::new(config()).cookie_lifetime_ms;
    for (delay, accepted) in [(u64::from(lifetime) - 1, true), (u64::from(lifetime), false)] {
        let mut w = World::new(config(), 4);
        w.now = 123_456;
        w.connect(ADDR, config(), 1);
        let mut buf = [0u8; 512];
        let now = w.now;
        let n = w.client(ADDR).poll_transmit(now, &mut buf).unwrap().unwrap();
        w.server.handle_datagram(now, ADDR, &buf[..n]);
        let (_, m) = w.server.poll_transmit(now, &mut buf).unwrap().unwrap();
        w.client(ADDR).handle_datagram(now, &buf[..m]);
        let k = w.client(ADDR).poll_transmit(now, &mut buf).unwrap().unwrap();
        assert_eq!(PacketType(buf[4]), PacketType::HANDSHAKE_ACK);
        w.server.handle_datagram(now + delay, ADDR, &buf[..k]);
        assert_eq!(w.server.connection_count() == 1, accepted, "HANDSHAKE_ACK after {delay} ms");
        assert_eq!(w.server.stats().bad_cookies == 0, accepted);
    }
}

// ---- the accept queue ---------------------------------------------------------------

#[test]
fn a_connection_that_finished_unaccepted_leaves_the_accept_queue() {
    let mut w = World::new(config(), 4);
    w.connect(ADDR, config(), 1);
    w.connect(ADDR + 1, config(), 2);
    w.exchange();
    let now = w.now;
    w.client(ADDR).close(now);
    w.run_until(10_000);
    assert_eq!(w.client(ADDR).state(), State::Closed);
    assert_eq!(w.server.connection_count(), 1, "the closed connection left the table");
    let queued = w.accept_all();
    assert_eq!(queued.len(), 1, "only the live connection is left to accept: {queued:?}");
    assert_eq!(w.server.peer(queued[0]), Some(ADDR + 1));
}

// ---- admission by the application ---------------------------------------------------

/// An endpoint that leaves every proven handshake to the application.
fn deciding_world(slots: usize) -> World {
    let mut config = EndpointConfig::new(config());
    config.auto_accept = false;
    World::with_endpoint(config, slots)
}

#[test]
fn a_refused_handshake_fails_the_client_with_the_servers_code() {
    let mut w = deciding_world(4);
    w.connect(ADDR, config(), 1);
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Confirming, "no connection before the application decides");
    let incoming = w.server.poll_incoming().expect("the proven handshake waits");
    assert_eq!(incoming.peer(), ADDR);
    w.server.refuse(incoming.ticket(), ErrorCode::Refused).unwrap();
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Failed);
    assert_eq!(w.client(ADDR).failure(), Some(FailReason::Refused { code: ErrorCode::Refused }));
    assert_eq!(w.server.connection_count(), 0);
    assert_eq!(w.server.refuse(incoming.ticket(), ErrorCode::Refused), Err(AdmissionError::StaleTicket));
    assert!(w.server_events.contains(&EndpointEvent::Refused { peer: ADDR, code: ErrorCode::Refused }));
    // a late duplicate of the refused HANDSHAKE_ACK does not bring it back
    let ack = w.handshake_ack_of(ADDR);
    let now = w.now;
    w.server.handle_datagram(now, ADDR, &ack);
    assert_eq!(w.server.incoming_count(), 0);
    assert_eq!(w.server.stats().replays, 1);
}

#[test]
fn a_refusal_carries_any_code_the_application_chooses() {
    let mut w = deciding_world(4);
    w.connect(ADDR, config(), 1);
    w.exchange();
    let ticket = w.server.poll_incoming().unwrap().ticket();
    w.server.refuse(ticket, ErrorCode::ServerFull).unwrap();
    w.exchange();
    assert_eq!(w.client(ADDR).failure(), Some(FailReason::Refused { code: ErrorCode::ServerFull }));
}

#[test]
fn an_accepted_handshake_connects_and_messages_flow() {
    let mut w = deciding_world(4);
    let client_config = config().with_extension(b"client key").unwrap();
    w.connect(ADDR, client_config, 1);
    w.exchange();
    let incoming = w.server.poll_incoming().unwrap();
    assert_eq!(incoming.extension(), b"client key");
    assert_eq!(incoming.params().window, 8);
    assert_eq!(incoming.params().max_payload, 256);
    assert_eq!(w.server.poll_incoming(), None, "each waiting handshake is reported once");
    let now = w.now;
    let handle = w.server.accept_incoming(incoming.ticket(), now).unwrap();
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Established);
    assert_eq!(w.server.peer(handle), Some(ADDR));
    assert_eq!(w.server.connection(handle).unwrap().peer_extension(), b"client key");
    assert_eq!(w.server.accept(), None, "accept_incoming already handed the connection out");
    assert_eq!(w.server.accept_incoming(incoming.ticket(), now), Err(AdmissionError::StaleTicket));
    assert!(w.server_events.contains(&EndpointEvent::Connection(handle, Event::Connected)));
    w.round_trip(ADDR, handle);
}

#[test]
fn with_automatic_acceptance_no_handshake_waits_for_the_application() {
    let mut w = World::new(config(), 4);
    assert!(EndpointConfig::new(config()).auto_accept, "the default");
    w.connect(ADDR, config(), 1);
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Established);
    assert_eq!(w.server.poll_incoming(), None);
    let handle = w.server.accept().unwrap();
    w.round_trip(ADDR, handle);
}

#[test]
fn retransmitted_handshake_acks_of_a_waiting_peer_are_absorbed() {
    let mut w = deciding_world(4);
    w.connect(ADDR, config(), 1);
    w.run_until(5_000); // the client resends its HANDSHAKE_ACK meanwhile
    let acks = w.sent_by_clients.iter().filter(|(_, d)| PacketType(d[4]) == PacketType::HANDSHAKE_ACK).count();
    assert!(acks >= 3, "the client retransmitted: {acks}");
    assert_eq!(w.server.incoming_count(), 1);
    assert!(w.server.poll_incoming().is_some());
    assert_eq!(w.server.poll_incoming(), None, "one entry per peer");
}

#[test]
fn an_undecided_handshake_is_dropped_when_its_cookie_expires() {
    let mut w = deciding_world(4);
    w.connect(ADDR, config(), 1);
    w.exchange();
    let ticket = w.server.poll_incoming().unwrap().ticket();
    w.run_until(9_000);
    assert_eq!(w.server.incoming_count(), 1);
    w.run_until(10_500);
    let now = w.now;
    w.server.handle_timeout(now);
    assert_eq!(w.server.incoming_count(), 0);
    assert_eq!(w.server.stats().incoming_expired, 1);
    assert_eq!(w.server.accept_incoming(ticket, now), Err(AdmissionError::StaleTicket));
    assert_eq!(w.server.connection_count(), 0);
}

#[test]
fn a_flood_of_proven_handshakes_waits_in_a_bounded_queue() {
    let clients = 3 * MAX_PENDING_HANDSHAKES as Addr;
    let mut w = deciding_world(64);
    for addr in 0..clients {
        w.connect(100 + addr, config(), u64::from(addr) + 1);
        w.exchange(); // one at a time: every SYN gets its SYN_ACK at once
    }
    assert_eq!(w.server.incoming_count(), MAX_PENDING_HANDSHAKES);
    assert_eq!(w.server.connection_count(), 0);
    let dropped = w.server.stats().incoming_dropped;
    assert_eq!(dropped, u64::from(clients) - MAX_PENDING_HANDSHAKES as u64);
    // the application refuses the first ones; the others' retransmissions take their places
    while let Some(incoming) = w.server.poll_incoming() {
        w.server.refuse(incoming.ticket(), ErrorCode::Refused).unwrap();
    }
    w.exchange();
    w.run_until(2_000);
    assert_eq!(w.server.incoming_count(), MAX_PENDING_HANDSHAKES);
    let mut accepted = Vec::new();
    while let Some(incoming) = w.server.poll_incoming() {
        let now = w.now;
        accepted.push((incoming.peer(), w.server.accept_incoming(incoming.ticket(), now).unwrap()));
    }
    w.exchange();
    for (addr, handle) in accepted {
        assert_eq!(w.client(addr).state(), State::Established);
        w.round_trip(addr, handle);
    }
    let refused = (0..clients).filter(|a| w.client(100 + a).failure().is_some()).count();
    assert_eq!(refused, MAX_PENDING_HANDSHAKES);
}

#[test]
fn accepting_into_a_full_table_keeps_the_handshake_waiting() {
    let mut w = deciding_world(1);
    w.connect(ADDR, config(), 1);
    w.connect(ADDR + 1, config(), 2);
    w.exchange();
    let first = w.server.poll_incoming().unwrap();
    let second = w.server.poll_incoming().unwrap();
    let now = w.now;
    let handle = w.server.accept_incoming(first.ticket(), now).unwrap();
    assert_eq!(w.server.accept_incoming(second.ticket(), now), Err(AdmissionError::Full));
    assert_eq!(w.server.incoming_count(), 1, "still waiting");
    w.server.refuse(second.ticket(), ErrorCode::ServerFull).unwrap();
    w.exchange();
    assert_eq!(w.client(ADDR + 1).failure(), Some(FailReason::Refused { code: ErrorCode::ServerFull }));
    w.round_trip(ADDR, handle);
}

// ---- one arena for all connections ---------------------------------------------------

#[test]
fn an_arena_too_small_for_the_slots_is_refused_with_the_bytes_needed() {
    let config = EndpointConfig::new(config());
    let needed = config.storage_len(3);
    assert_eq!(needed, 3 * config.connection.storage_len());
    let mut arena = vec![0u8; needed - 1];
    let slots: [ArenaSlot<'_, Addr>; 3] = [const { Slot::vacant() }; 3];
    let result = Endpoint::with_arena(config, slots, &mut arena, [9; 16], 77);
    assert_eq!(result.err(), Some(ConfigError::Storage { needed, available: needed - 1 }));
}

type ArenaEndpoint<'a> = Endpoint<Addr, &'a mut [u8], [ArenaSlot<'a, Addr>; 2]>;

fn exchange_with_arena_server(server: &mut ArenaEndpoint<'_>, clients: &mut [(Addr, Client)]) {
    let mut buf = vec![0u8; 2048];
    for _ in 0..20 {
        for (addr, client) in clients.iter_mut() {
            while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
                server.handle_datagram(0, *addr, &buf[..n]);
            }
        }
        while let Some((to, n)) = server.poll_transmit(0, &mut buf).unwrap() {
            clients.iter_mut().find(|(a, _)| *a == to).unwrap().1.handle_datagram(0, &buf[..n]);
        }
    }
}

#[test]
fn connections_keep_their_link_storage_in_one_arena() {
    let config = EndpointConfig::new(config());
    let mut arena = vec![0u8; config.storage_len(2)];
    let slots: [ArenaSlot<'_, Addr>; 2] = [const { Slot::vacant() }; 2];
    let mut server = Endpoint::with_arena(config, slots, &mut arena, [9; 16], 77).unwrap();
    let mut clients: Vec<(Addr, Client)> = (0..3)
        .map(|i| (ADDR + i, Connection::connect(config.connection, vec![0u8; 65_536], 0, u64::from(i) + 1).unwrap()))
        .collect();
    exchange_with_arena_server(&mut server, &mut clients);
    let states: Vec<State> = clients.iter().map(|(_, c)| c.state()).collect();
    assert_eq!(states, [State::Established, State::Established, State::Failed], "two slots, two connections");
    assert_eq!(clients[2].1.failure(), Some(FailReason::Refused { code: ErrorCode::ServerFull }));
    let handles: Vec<ConnectionHandle> = core::iter::from_fn(|| server.accept()).collect();
    for (i, &handle) in handles.iter().enumerate() {
        let message = [i as u8; 200];
        server.send(handle, PacketType(100), &message, Delivery::Reliable).unwrap();
    }
    exchange_with_arena_server(&mut server, &mut clients);
    for (i, (_, client)) in clients.iter_mut().take(2).enumerate() {
        let mut got = [0u8; 256];
        let r = client.recv(&mut got).unwrap().expect("the message arrived");
        assert_eq!(&got[..r.len], &[i as u8; 200][..], "each connection has its own part of the arena");
    }
}

// ---- foreign SYNs -------------------------------------------------------------------

fn syn_bytes(flags: u8, padding: usize) -> Vec<u8> {
    let syn = SynRepr {
        version: PROTOCOL_VERSION,
        flags,
        client_id: 0x1234_5678,
        isn: 99,
        params: config().proposal(),
        extension: &[],
        padding,
    };
    let mut payload = [0u8; 256];
    let n = syn.emit(&mut payload).unwrap();
    let mut buf = vec![0u8; 512];
    let m = PacketRepr::new(Seq(0), PacketType::SYN, &payload[..n]).emit(&mut buf, &Codec::new()).unwrap();
    buf.truncate(m);
    buf
}

fn stream_config() -> ConnectionConfig {
    let mut c = config();
    c.transport = Transport::Stream;
    c
}

#[test]
fn a_stream_endpoint_never_chooses_crc32c() {
    let mut w = World::new(stream_config(), 2);
    // a stream client that (wrongly) offers and prefers CRC-32C: its SYN rewritten
    w.connect(ADDR, stream_config(), 1);
    let mut buf = [0u8; 512];
    let n = w.client(ADDR).poll_transmit(0, &mut buf).unwrap().unwrap();
    let packet = PacketRepr::decode(&buf[..n], &Codec::new().with_max_payload(512)).unwrap();
    let syn = SynRepr::parse(packet.payload).unwrap();
    assert_eq!(syn.flags, 0, "a stream client offers no CRC-32C");
    let mut payload = [0u8; 256];
    let len = SynRepr { flags: FLAG_CRC_SUPPORTED | FLAG_CRC, ..syn }.emit(&mut payload).unwrap();
    assert_eq!(len, packet.payload.len(), "the padding is kept");
    let m = PacketRepr::new(Seq(0), PacketType::SYN, &payload[..len]).emit(&mut buf, &Codec::new()).unwrap();
    w.server.handle_datagram(0, ADDR, &buf[..m]);
    let (to, k) = w.server.poll_transmit(0, &mut buf).unwrap().unwrap();
    assert_eq!(to, ADDR);
    let answer = PacketRepr::decode(&buf[..k], &Codec::new().with_max_payload(512)).unwrap();
    assert_eq!(answer.ptype, PacketType::SYN_ACK);
    assert_eq!(SynAckRepr::parse(answer.payload).unwrap().agreement.flags & FLAG_CRC, 0, "no CRC-32C on a stream");
    w.client(ADDR).handle_datagram(0, &buf[..k]);
    w.exchange();
    assert_eq!(w.client(ADDR).state(), State::Established, "{:?}", w.client(ADDR).failure());
    let handle = w.accept_all()[0];
    w.round_trip(ADDR, handle);
}

/// The smallest SYN the server answers: as large as its SYN_ACK (header, 40 bytes, its extension).
#[test]
fn the_minimum_syn_is_as_large_as_the_syn_ack() {
    assert_eq!(HEADER_LEN + SYN_ACK_FIXED_LEN, 49);
    for extension in [&b""[..], b"ten bytes!"] {
        let c = config().with_extension(extension).unwrap();
        let minimum = 49 + extension.len();
        let mut w = World::new(c, 2);
        // SYN_FIXED_LEN is 24: padding makes up the rest
        let short = syn_bytes(0, minimum - HEADER_LEN - 24 - 1);
        let enough = syn_bytes(0, minimum - HEADER_LEN - 24);
        assert_eq!((short.len(), enough.len()), (minimum - 1, minimum));
        let mut buf = [0u8; 512];
        w.server.handle_datagram(0, ADDR, &short);
        assert_eq!(w.server.poll_transmit(0, &mut buf).unwrap(), None, "a short SYN over datagrams: no answer");
        w.server.handle_datagram(0, ADDR, &enough);
        let (_, n) = w.server.poll_transmit(0, &mut buf).unwrap().expect("a SYN of the minimum size is answered");
        assert_eq!(PacketType(buf[4]), PacketType::SYN_ACK);
        assert_eq!(n, minimum);
        assert_eq!(w.server.stats().refused, 0);
    }
}

#[test]
fn a_short_syn_over_a_stream_is_refused_with_a_reason() {
    let mut w = World::new(stream_config(), 2);
    let short = syn_bytes(0, 0);
    assert!(short.len() < 49);
    w.server.handle_datagram(0, ADDR, &short);
    let mut buf = [0u8; 512];
    let (to, n) = w.server.poll_transmit(0, &mut buf).unwrap().expect("an answer");
    assert_eq!(to, ADDR);
    let answer = PacketRepr::decode(&buf[..n], &Codec::new()).unwrap();
    assert_eq!(answer.ptype, PacketType::ERR_MSG);
    let err = ErrRepr::parse(answer.payload).unwrap();
    assert_eq!(err.code, ErrorCode::ProtocolViolation);
    let reason = core::str::from_utf8(err.reason).unwrap();
    assert!(reason.contains("SYN") && reason.contains("short"), "{reason}");
    assert_eq!(w.server.stats().refused, 1);
    w.exchange();
    assert_eq!(w.server_events, vec![EndpointEvent::Refused { peer: ADDR, code: ErrorCode::ProtocolViolation }]);
    // a client that reads it fails with that code
    w.connect(ADDR, stream_config(), 1);
    let mut syn = [0u8; 512];
    let now = w.now;
    w.client(ADDR).poll_transmit(now, &mut syn).unwrap().unwrap();
    w.client(ADDR).handle_datagram(now, &buf[..n]);
    assert_eq!(w.client(ADDR).failure(), Some(FailReason::Refused { code: ErrorCode::ProtocolViolation }));
    assert_eq!(
        w.client(ADDR).poll_event(),
        Some(Event::Failed(FailReason::Refused { code: ErrorCode::ProtocolViolation }))
    );
}
