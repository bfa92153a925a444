#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

extern crate std;
use std::vec;
use std::vec::Vec;

use super::*;
use crate::endpoint::{ConnectionHandle, Endpoint, EndpointConfig, EndpointEvent, Slot};
use crate::link::LinkConfig;
use crate::wire::{Packet, HEADER_LEN};

type Server = Endpoint<u32, Vec<u8>, Vec<Slot<u32, Vec<u8>>>>;
type Client = Connection<Vec<u8>>;

const CLIENT_ADDR: u32 = 7;

fn config() -> ConnectionConfig {
    ConnectionConfig::new().with_link(LinkConfig::new().with_window(8).with_max_payload(256))
}

fn server_with(config: ConnectionConfig, slots: usize) -> Server {
    let len = config.link.storage_len();
    let slots = (0..slots).map(|_| Slot::new(vec![0u8; len])).collect();
    Endpoint::new(EndpointConfig::new(config), slots, [9; 16], 77)
}

fn client_with(config: ConnectionConfig, now: u64, entropy: u64) -> Client {
    Connection::connect(config, vec![0u8; config.link.storage_len()], now, entropy).unwrap()
}

/// Carries datagrams both ways at `now` until both are quiet; `drop_c2s` and
/// `drop_s2c` may drop datagrams (by their index in each direction).
struct Net {
    now: u64,
    c2s: usize,
    s2c: usize,
}

impl Net {
    fn new() -> Net {
        Net::at(0)
    }

    fn at(now: u64) -> Net {
        Net { now, c2s: 0, s2c: 0 }
    }

    fn exchange(
        &mut self,
        client: &mut Client,
        server: &mut Server,
        drop_c2s: &dyn Fn(usize, &[u8]) -> bool,
        drop_s2c: &dyn Fn(usize, &[u8]) -> bool,
    ) {
        let mut buf = vec![0u8; 2048];
        for _ in 0..1000 {
            let mut moved = false;
            while let Some(n) = client.poll_transmit(self.now, &mut buf).unwrap() {
                moved = true;
                self.c2s += 1;
                if !drop_c2s(self.c2s, &buf[..n]) {
                    server.handle_datagram(self.now, CLIENT_ADDR, &buf[..n]);
                }
            }
            while let Some((to, n)) = server.poll_transmit(self.now, &mut buf).unwrap() {
                assert_eq!(to, CLIENT_ADDR);
                moved = true;
                self.s2c += 1;
                if !drop_s2c(self.s2c, &buf[..n]) {
                    client.handle_datagram(self.now, &buf[..n]);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("no quiescence");
    }

    /// Advances to the next timer of either side (at most `limit`) and exchanges.
    fn tick(&mut self, client: &mut Client, server: &mut Server, limit: u64) -> bool {
        let next = [client.poll_timeout(), server.poll_timeout()].into_iter().flatten().min();
        match next {
            Some(t) if t <= limit => {
                self.now = self.now.max(t);
                client.handle_timeout(self.now);
                server.handle_timeout(self.now);
                self.exchange(client, server, &|_, _| false, &|_, _| false);
                true
            }
            _ => false,
        }
    }
}

fn keep(_: usize, _: &[u8]) -> bool {
    false
}

fn connected() -> (Client, Server, ConnectionHandle, Net) {
    connected_with(config(), 0)
}

fn connected_with(config: ConnectionConfig, now: u64) -> (Client, Server, ConnectionHandle, Net) {
    let mut client = client_with(config, now, 1);
    let mut server = server_with(config, 4);
    let mut net = Net::at(now);
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.state(), State::Established);
    let handle = server.accept().unwrap();
    (client, server, handle, net)
}

fn events(server: &mut Server) -> Vec<EndpointEvent<u32>> {
    let mut out = Vec::new();
    while let Some(e) = server.poll_event() {
        out.push(e);
    }
    out
}

#[test]
fn handshake_agrees_on_the_smaller_limits() {
    let mut server_config = config();
    server_config.link = server_config.link.with_window(4).with_max_payload(128);
    server_config.heartbeat_ms = 500;
    let mut client = client_with(config(), 0, 11);
    let mut server = server_with(server_config, 2);
    let mut net = Net::new();
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.poll_event(), Some(Event::Connected));
    let handle = server.accept().unwrap();
    let server_conn = server.connection(handle).unwrap();
    let (a, b) = (*client.agreement().unwrap(), *server_conn.agreement().unwrap());
    assert_eq!(a, b);
    assert_eq!(
        a.params,
        Params { max_payload: 128, window: 4, heartbeat_ms: 500, idle_timeout_ms: config().idle_timeout_ms }
    );
    assert_eq!(client.connection_id(), server_conn.connection_id());
    assert_ne!(client.connection_id(), 0);
    assert_eq!(client.link().config().max_payload, 128);
    assert_eq!(events(&mut server), vec![EndpointEvent::Connection(handle, Event::Connected)]);
}

#[test]
fn messages_flow_both_ways_and_close_gracefully() {
    let (mut client, mut server, handle, mut net) = connected();
    client.send(PacketType(100), b"hello server", Delivery::Reliable).unwrap();
    server.send(handle, PacketType(101), &[5u8; 600], Delivery::Reliable).unwrap();
    net.exchange(&mut client, &mut server, &keep, &keep);
    let mut buf = [0u8; 1024];
    let r = server.recv(handle, &mut buf).unwrap().unwrap();
    assert_eq!(&buf[..r.len], b"hello server");
    let r = client.recv(&mut buf).unwrap().unwrap();
    assert_eq!((r.ptype, r.len), (PacketType(101), 600));

    client.send(PacketType(100), b"bye", Delivery::Reliable).unwrap();
    client.close(net.now);
    assert_eq!(client.send(PacketType(100), b"late", Delivery::Reliable), Err(SendError::Closing));
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.state(), State::Linger, "closed, still absorbing duplicates");
    let r = server.recv(handle, &mut buf).unwrap().unwrap();
    assert_eq!(&buf[..r.len], b"bye", "data before the FIN is delivered");
    let mut server_events = Vec::new();
    while net.tick(&mut client, &mut server, 100_000) {
        server_events.extend(events(&mut server));
    }
    assert!(server_events.contains(&EndpointEvent::Connection(handle, Event::Closed)));
    assert_eq!(client.state(), State::Closed);
    let mut seen = Vec::new();
    while let Some(e) = client.poll_event() {
        seen.push(e);
    }
    assert_eq!(seen, vec![Event::Connected, Event::Closed]);
    let left =
        server.connection(handle).map(|c| (c.state(), c.poll_timeout(), c.has_events(), c.next_message_len(), net.now));
    assert_eq!(server.connection_count(), 0, "the finished connection's slot is free again: {left:?}");
}

#[test]
fn lost_handshake_packets_are_retransmitted() {
    for lost in [PacketType::SYN, PacketType::SYN_ACK, PacketType::HANDSHAKE_ACK] {
        let mut client = client_with(config(), 0, 3);
        let mut server = server_with(config(), 2);
        let mut net = Net::new();
        let drop_first = |ptype: PacketType| move |_: usize, d: &[u8]| d[4] == ptype.0 && d[0..4] == [0, 0, 0, 0];
        let once = core::cell::Cell::new(false);
        let f = drop_first(lost);
        let drop_once = |i: usize, d: &[u8]| {
            if !once.get() && f(i, d) {
                once.set(true);
                true
            } else {
                false
            }
        };
        net.exchange(&mut client, &mut server, &drop_once, &drop_once);
        assert!(once.get(), "{lost:?} was dropped");
        while client.state() != State::Established && net.tick(&mut client, &mut server, 60_000) {}
        assert_eq!(client.state(), State::Established, "after losing {lost:?}");
        assert_eq!(server.connection_count(), 1);
    }
}

#[test]
fn lost_confirmation_is_resent_for_a_duplicate_handshake_ack() {
    let mut client = client_with(config(), 0, 5);
    let mut server = server_with(config(), 2);
    let mut net = Net::new();
    // drop the server's first bound packet (its confirmation): number 2 from the server
    net.exchange(&mut client, &mut server, &keep, &|i, _| i == 2);
    assert_eq!(client.state(), State::Confirming);
    assert!(client.send(PacketType(100), b"x", Delivery::Reliable).is_err(), "nothing before connected");
    while client.state() != State::Established && net.tick(&mut client, &mut server, 60_000) {}
    assert_eq!(client.state(), State::Established);
    assert_eq!(server.connection_count(), 1);
}

#[test]
fn version_mismatch_is_refused_on_both_sides() {
    let mut client = client_with(config(), 0, 5);
    let mut server = server_with(config(), 2);
    let mut buf = [0u8; 512];
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    // rewrite the SYN's version and fix its checksum
    buf[HEADER_LEN] = 9;
    let mut p = Packet::new_unchecked(&mut buf[..n]);
    p.fill_check(&Codec::new()).unwrap();
    server.handle_datagram(0, CLIENT_ADDR, &buf[..n]);
    let (to, m) = server.poll_transmit(0, &mut buf).unwrap().unwrap();
    assert_eq!(to, CLIENT_ADDR);
    assert!(m <= n, "the refusal is no larger than the SYN");
    client.handle_datagram(0, &buf[..m]);
    assert_eq!(client.poll_event(), Some(Event::Failed(FailReason::Refused { code: ErrorCode::VersionMismatch })));
    assert!(core::str::from_utf8(client.error_reason()).unwrap().contains("version"));
    assert_eq!(
        events(&mut server),
        vec![EndpointEvent::Refused { peer: CLIENT_ADDR, code: ErrorCode::VersionMismatch }]
    );
}

#[test]
fn a_full_server_says_so() {
    let mut server = server_with(config(), 1);
    let mut net = Net::new();
    let mut first = client_with(config(), 0, 1);
    net.exchange(&mut first, &mut server, &keep, &keep);
    assert_eq!(first.state(), State::Established);
    let mut second = client_with(config(), 0, 2);
    let mut buf = [0u8; 512];
    let n = second.poll_transmit(0, &mut buf).unwrap().unwrap();
    server.handle_datagram(0, 99, &buf[..n]);
    let (to, m) = server.poll_transmit(0, &mut buf).unwrap().unwrap();
    assert_eq!(to, 99);
    second.handle_datagram(0, &buf[..m]);
    assert_eq!(second.failure(), Some(FailReason::Refused { code: ErrorCode::ServerFull }));
    assert_eq!(second.error_reason(), b"server full");
    let refusal = events(&mut server).into_iter().find(|e| e.handle().is_none()).expect("the refusal is reported");
    assert_eq!(refusal.refused_peer(), Some(99));
    let record = refusal.record();
    assert_eq!((record.kind, record.peer_code), (85, ErrorCode::ServerFull.code()));
}

#[test]
fn forged_cookies_create_nothing() {
    let mut client = client_with(config(), 0, 1);
    let mut server = server_with(config(), 2);
    let mut buf = [0u8; 512];
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    server.handle_datagram(0, CLIENT_ADDR, &buf[..n]);
    let (_, m) = server.poll_transmit(0, &mut buf).unwrap().unwrap();
    client.handle_datagram(0, &buf[..m]);
    let k = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    assert_eq!(PacketType(buf[4]), PacketType::HANDSHAKE_ACK);
    // from another address the cookie does not verify
    server.handle_datagram(0, CLIENT_ADDR + 1, &buf[..k]);
    assert_eq!(server.connection_count(), 0);
    // a changed parameter does not verify either
    let mut forged = buf;
    forged[HEADER_LEN + 19] ^= 1; // window
    Packet::new_unchecked(&mut forged[..k]).fill_check(&Codec::new()).unwrap();
    server.handle_datagram(0, CLIENT_ADDR, &forged[..k]);
    assert_eq!(server.connection_count(), 0);
    assert_eq!(server.stats().bad_cookies, 2);
    // the genuine one does, once
    server.handle_datagram(0, CLIENT_ADDR, &buf[..k]);
    assert_eq!(server.connection_count(), 1);
}

#[test]
fn short_syns_get_no_answer() {
    let mut server = server_with(config(), 2);
    let syn = SynRepr {
        version: PROTOCOL_VERSION,
        flags: 0,
        client_id: 1,
        isn: 2,
        params: config().proposal(),
        extension: &[],
        padding: 0, // smaller than a SYN_ACK
    };
    let mut payload = [0u8; 64];
    let n = syn.emit(&mut payload).unwrap();
    let mut buf = [0u8; 128];
    let m = PacketRepr::new(Seq(0), PacketType::SYN, &payload[..n]).emit(&mut buf, &Codec::new()).unwrap();
    server.handle_datagram(0, CLIENT_ADDR, &buf[..m]);
    assert_eq!(server.poll_transmit(0, &mut [0u8; 512]).unwrap(), None);
    assert_eq!(server.stats().suppressed, 1);
}

#[test]
fn heartbeats_keep_an_idle_connection_and_silence_fails_it() {
    let (mut client, mut server, handle, mut net) = connected();
    // idle for a minute: heartbeats flow, nothing fails
    while net.tick(&mut client, &mut server, 60_000) {}
    assert_eq!(client.state(), State::Established);
    assert!(server.is_open(handle));
    // no data was sent: only heartbeat pongs can have given RTT samples,
    // which bring the RTO from its initial 1000 ms down to the 100 ms floor
    assert_eq!(client.link().rtt().1, config().link.timing.min_rto);
    // the server goes silent: the client's idle timeout fires
    let mut buf = [0u8; 512];
    let start = net.now;
    while let Some(t) = client.poll_timeout() {
        net.now = t;
        client.handle_timeout(t);
        while client.poll_transmit(t, &mut buf).unwrap().is_some() {}
        if client.is_closed() {
            break;
        }
    }
    assert_eq!(client.failure(), Some(FailReason::IdleTimeout));
    assert!(net.now - start >= u64::from(config().idle_timeout_ms));
}

#[test]
fn a_forgotten_connection_is_reset() {
    let (mut client, _old_server, _, mut net) = connected();
    let mut restarted = server_with(config(), 2);
    client.send(PacketType(100), b"anyone?", Delivery::Reliable).unwrap();
    net.exchange(&mut client, &mut restarted, &keep, &keep);
    assert_eq!(client.failure(), Some(FailReason::Reset { code: ErrorCode::UnknownConnection }));
    assert_eq!(restarted.stats().resets_sent, 1);
}

#[test]
fn a_reset_for_another_connection_is_ignored() {
    let (mut client, _server, _, _net) = connected();
    let reset = ResetRepr { code: ErrorCode::UnknownConnection, token: pseudo_sum(client.connection_id()) ^ 0x0101 };
    let mut buf = [0u8; 64];
    let n = PacketRepr::new(Seq(0), PacketType::RESET, &reset.to_bytes()).emit(&mut buf, &Codec::new()).unwrap();
    client.handle_datagram(0, &buf[..n]);
    assert_eq!(client.state(), State::Established);
}

#[test]
fn abort_resets_the_peer() {
    let (mut client, mut server, handle, mut net) = connected();
    client.abort(net.now, ErrorCode::Aborted);
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.state(), State::Closed);
    assert_eq!(server.connection(handle).unwrap().failure(), Some(FailReason::Reset { code: ErrorCode::Aborted }));
}

#[cfg(feature = "crc32c")]
#[test]
fn crc32c_is_negotiated_when_asked_for() {
    let mut c = config();
    c.prefer_crc = true;
    let mut client = client_with(c, 0, 21);
    let mut server = server_with(config(), 2);
    let mut net = Net::new();
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.state(), State::Established);
    assert_eq!(client.link().config().integrity, Integrity::from_u8(1).unwrap());
    let handle = server.accept().unwrap();
    client.send(PacketType(100), b"crc", Delivery::Reliable).unwrap();
    net.exchange(&mut client, &mut server, &keep, &keep);
    let mut buf = [0u8; 64];
    assert_eq!(server.recv(handle, &mut buf).unwrap().unwrap().len, 3);
}

#[test]
fn packets_of_one_connection_do_not_verify_on_another() {
    let (mut a, mut server, _, net) = connected();
    let mut b = client_with(config(), 0, 99);
    let mut buf = [0u8; 512];
    // connect b from another address by hand
    for _ in 0..4 {
        while let Some(n) = b.poll_transmit(net.now, &mut buf).unwrap() {
            server.handle_datagram(net.now, 8, &buf[..n]);
        }
        while let Some((to, n)) = server.poll_transmit(net.now, &mut buf).unwrap() {
            if to == 8 {
                b.handle_datagram(net.now, &buf[..n]);
            } else {
                a.handle_datagram(net.now, &buf[..n]);
            }
        }
    }
    assert_eq!(b.state(), State::Established);
    a.send(PacketType(100), b"for a's server side only", Delivery::Reliable).unwrap();
    let n = a.poll_transmit(net.now, &mut buf).unwrap().unwrap();
    let before = b.stats().corrupt_packets;
    b.handle_datagram(net.now, &buf[..n]);
    assert_eq!(b.stats().corrupt_packets, before + 1, "a stale or foreign packet fails the check");
}

#[test]
fn a_peer_that_does_not_read_is_not_a_dead_peer() {
    let (mut client, mut server, handle, mut net) = connected();
    // the server's application never reads: its window fills and stays full
    let mut sent = 0;
    while net.now < 120_000 {
        while client.send(PacketType(100), &[1u8; 200], Delivery::Reliable).is_ok() {
            sent += 1;
        }
        net.exchange(&mut client, &mut server, &keep, &keep);
        if !net.tick(&mut client, &mut server, 120_000) {
            break;
        }
    }
    assert!(sent >= 8);
    assert_eq!(client.state(), State::Established, "{:?}", client.failure());
    assert!(server.is_open(handle));
    // once it reads, everything flows again
    let mut buf = [0u8; 256];
    let mut got = 0;
    for _ in 0..200 {
        while server.recv(handle, &mut buf).unwrap().is_some() {
            got += 1;
        }
        net.exchange(&mut client, &mut server, &keep, &keep);
        net.tick(&mut client, &mut server, u64::MAX);
    }
    assert_eq!(got, sent);
}

#[test]
fn full_size_and_fragmented_messages_pass() {
    let c = ConnectionConfig::new().with_link(LinkConfig::low_latency().with_window(32).with_max_payload(1200));
    let mut client = client_with(c, 0, 1);
    let mut server = server_with(c, 4);
    let mut net = Net::new();
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.state(), State::Established);
    let handle = server.accept().unwrap();
    for (i, len) in [3usize, 100, 1200, 5000].iter().enumerate() {
        client.send(PacketType(100), &vec![7u8; *len], Delivery::Reliable).unwrap();
        net.exchange(&mut client, &mut server, &keep, &keep);
        let mut buf = vec![0u8; 10000];
        let r = server.recv(handle, &mut buf).unwrap();
        assert!(r.is_some(), "message {i} of {len}: {:?}", server.connection(handle).unwrap().stats());
    }
}

#[test]
fn handshake_extensions_reach_the_peer() {
    let client_config = config();
    let mut client_config = client_config.with_extension(b"client public key, 32 bytes max!").unwrap();
    client_config.server_extension_room = 32;
    let server_config = config();
    let server_config = server_config.with_extension(b"server key").unwrap();
    let mut client = client_with(client_config, 0, 8);
    let mut server = server_with(server_config, 2);
    let mut net = Net::new();
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.state(), State::Established);
    assert_eq!(client.peer_extension(), b"server key");
    let handle = server.accept().unwrap();
    assert_eq!(server.connection(handle).unwrap().peer_extension(), b"client public key, 32 bytes max!");
    assert_eq!(config().with_extension(&[0u8; 33]).err(), Some(ConfigError::Extension));
    let mut too_long = config();
    too_long.extension_len = 33;
    assert_eq!(
        Connection::connect(too_long, vec![0u8; too_long.link.storage_len()], 0, 1).err(),
        Some(ConfigError::Extension)
    );
}

fn drain_events(client: &mut Client) -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(e) = client.poll_event() {
        out.push(e);
    }
    out
}

/// A bound packet as the server side of `client`'s connection would write it.
fn bound_packet(client: &Client, seq: Seq, ptype: PacketType, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 512];
    let n = PacketRepr::new(seq, ptype, payload).emit(&mut buf, &client.link().config().codec()).unwrap();
    buf.truncate(n);
    buf
}

/// A message as read: (type, length, first byte).
type Read = (u8, usize, u8);

/// Runs both sides until neither has a timer before `limit`, the
/// applications reading every message as it arrives; returns what each read
/// (client's, server's) as (type, length, first byte).
fn run_reading(
    client: &mut Client,
    server: &mut Server,
    handle: ConnectionHandle,
    net: &mut Net,
    limit: u64,
) -> (Vec<Read>, Vec<Read>) {
    let (mut at_client, mut at_server) = (Vec::new(), Vec::new());
    let mut buf = [0u8; 2048];
    loop {
        net.exchange(client, server, &keep, &keep);
        while let Some(r) = client.recv(&mut buf).unwrap() {
            at_client.push((r.ptype.0, r.len, buf[0]));
        }
        while let Some(r) = server.recv(handle, &mut buf).unwrap() {
            at_server.push((r.ptype.0, r.len, buf[0]));
        }
        if !net.tick(client, server, limit) {
            return (at_client, at_server);
        }
    }
}

#[test]
fn close_with_a_full_send_window_waits_for_room_and_completes() {
    let c = ConnectionConfig::new().with_link(LinkConfig::new().with_window(4).with_max_payload(128));
    let (mut client, mut server, handle, mut net) = connected_with(c, 0);
    let mut queued = 0;
    for i in 0..20u8 {
        if client.send(PacketType(100), &[i; 10], Delivery::Reliable).is_ok() {
            queued += 1;
        }
    }
    assert_eq!(queued, 4, "the window holds four");
    client.close(net.now);
    assert_eq!(client.state(), State::Closing, "the close is under way at once");
    assert!(client.close_pending(), "its FIN waits for room in the window");
    let (_, delivered) = run_reading(&mut client, &mut server, handle, &mut net, 60_000);
    assert_eq!(delivered.len(), 4, "everything queued before the close arrives");
    assert_eq!(client.failure(), None);
    assert!(!client.close_pending());
    assert_eq!(client.state(), State::Closed);
    assert_eq!(drain_events(&mut client), vec![Event::Connected, Event::Closed]);
}

#[test]
fn a_passive_close_with_a_full_window_still_sends_its_fin() {
    let c = ConnectionConfig::new().with_link(LinkConfig::new().with_window(4).with_max_payload(128));
    let (mut client, mut server, handle, mut net) = connected_with(c, 0);
    // the server fills its window, then the client closes: the server's FIN must wait for room
    for i in 0..4u8 {
        server.send(handle, PacketType(100), &[i; 10], Delivery::Reliable).unwrap();
    }
    client.close(net.now);
    let (delivered, _) = run_reading(&mut client, &mut server, handle, &mut net, 60_000);
    assert_eq!(delivered.len(), 4);
    assert_eq!(client.state(), State::Closed);
    assert_eq!(drain_events(&mut client), vec![Event::Connected, Event::Closed]);
    assert!(events(&mut server).contains(&EndpointEvent::Connection(handle, Event::Closed)));
}

/// A whole life (connect, messages both ways under loss, a clock that
/// stands still, steps, runs backwards and jumps, close) starting at `start`.
fn lifecycle_from(start: u64) {
    let (mut client, mut server, handle, mut net) = connected_with(config(), start);
    let mut buf = [0u8; 1024];
    let (mut sent_c, mut sent_s) = (0u8, 0u8);
    let (mut got_c, mut got_s) = (Vec::new(), Vec::new());
    for round in 0..400u32 {
        if sent_c < 20 && client.send(PacketType(100), &[sent_c; 300], Delivery::Reliable).is_ok() {
            sent_c += 1;
        }
        if sent_s < 20 && server.send(handle, PacketType(101), &[sent_s; 700], Delivery::Reliable).is_ok() {
            sent_s += 1;
        }
        // lose every third datagram each way so that timers matter
        net.exchange(&mut client, &mut server, &|i, _| i % 3 == 0, &|i, _| i % 3 == 1);
        while let Some(r) = client.recv(&mut buf).unwrap() {
            got_c.push((r.len, buf[0]));
        }
        while let Some(r) = server.recv(handle, &mut buf).unwrap() {
            got_s.push((r.len, buf[0]));
        }
        if got_c.len() == 20 && got_s.len() == 20 {
            break;
        }
        net.now = match round % 5 {
            0 => net.now,                     // the clock stands still
            1 => net.now.saturating_add(7),   // small steps
            2 => net.now.saturating_sub(5),   // backwards
            3 => net.now.saturating_add(450), // past the ack delay and the RTO floor
            _ => net.now.saturating_add(30),
        };
        client.handle_timeout(net.now);
        server.handle_timeout(net.now);
    }
    assert_eq!(got_s, (0..20u8).map(|i| (300, i)).collect::<Vec<_>>(), "client to server, in order");
    assert_eq!(got_c, (0..20u8).map(|i| (700, i)).collect::<Vec<_>>(), "server to client, in order");
    client.close(net.now);
    let limit = net.now.saturating_add(100_000);
    run_reading(&mut client, &mut server, handle, &mut net, limit);
    assert_eq!(client.failure(), None);
    assert_eq!(client.state(), State::Closed);
    assert_eq!(drain_events(&mut client), vec![Event::Connected, Event::Closed]);
}

#[test]
fn a_whole_lifecycle_near_the_end_of_the_clock() {
    lifecycle_from(u64::MAX - 100_000);
}

#[test]
fn a_whole_lifecycle_with_an_ordinary_clock() {
    lifecycle_from(5_000);
}

#[test]
fn deadlines_saturate_instead_of_wrapping() {
    let client = client_with(config(), u64::MAX - 1, 5);
    assert_eq!(client.poll_timeout(), Some(u64::MAX - 1), "the SYN is due now");
    let mut client = client;
    let mut buf = [0u8; 512];
    assert!(client.poll_transmit(u64::MAX - 1, &mut buf).unwrap().is_some());
    assert_eq!(client.state(), State::SynSent, "no instant connect timeout");
    assert_eq!(client.poll_timeout(), None, "deadlines past the clock's range never come");
    client.handle_timeout(u64::MAX);
    assert_eq!(client.state(), State::SynSent);
}

/// A blind sender sweeps every 16-bit pseudo-header sum with ERR_MSGs and
/// RESETs of sequence number `seq`; returns the guesses it took to end the
/// connection, if it did.
fn sweep_sums(client: &mut Client, seq: Seq) -> Option<u32> {
    let err = [ErrorCode::Aborted as u8];
    let reset = ResetRepr { code: ErrorCode::Aborted, token: 0 }.to_bytes();
    let mut buf = vec![0u8; 64];
    let mut guesses = 0;
    for sum in 0..=0xffffu32 {
        for (ptype, payload) in [(PacketType::ERR_MSG, &err[..]), (PacketType::RESET, &reset[..])] {
            let codec = Codec::new().with_pseudo_header(sum);
            let n = PacketRepr::new(seq, ptype, payload).emit(&mut buf, &codec).unwrap();
            client.handle_datagram(0, &buf[..n]);
            guesses += 1;
            if client.is_closed() {
                return Some(guesses);
            }
        }
    }
    None
}

#[test]
fn blind_err_and_reset_need_a_sequence_number_in_the_window() {
    // Before: the id sum was all a blind sender had to guess. With the right
    // sequence number, which is what the sum alone amounted to, a sweep ends it.
    let (mut client, mut server, handle, _net) = connected();
    let peer_next = server.connection(handle).unwrap().link.next_send_seq();
    let before = sweep_sums(&mut client, peer_next).expect("the sweep finds the sum");
    assert!(before <= 2 * 65_536);
    // Now: the same sweep with any sequence number outside the window fails.
    let (mut client, mut server, handle, _net) = connected();
    let peer_next = server.connection(handle).unwrap().link.next_send_seq();
    let window = u32::from(client.agreement().unwrap().params.window);
    for seq in [Seq(0), peer_next.retreat(1), peer_next.advance(window + 1), peer_next.advance(1 << 31)] {
        assert_eq!(sweep_sums(&mut client, seq), None, "{} blind guesses with seq {seq:?}", 2 * 65_536);
    }
    assert_eq!(client.state(), State::Established);
    // Even knowing the sum, a random sequence number is accepted with
    // probability (window + 1) / 2^32: count hits over a sample.
    let mut rng = 0x1234_5678_u64;
    let tries = 1_000_000u32;
    let accepted = (0..tries).filter(|_| client.link.is_plausible_peer_seq(Seq(splitmix(&mut rng) as u32))).count();
    let after = 65_536.0 * 4_294_967_296.0 / f64::from(window + 1);
    std::println!(
        "blind ERR/RESET: before, {before} guesses ended the connection; now about {after:.2e} \
         ({accepted} of {tries} random sequence numbers fall in the window of {window})"
    );
    assert!(accepted <= 2, "{accepted} of {tries}");
    // The peer's own ERR_MSG, with its real next sequence number, still ends the connection.
    let real = bound_packet(&client, peer_next, PacketType::ERR_MSG, &[ErrorCode::Aborted as u8]);
    client.handle_datagram(0, &real);
    assert_eq!(client.failure(), Some(FailReason::Reset { code: ErrorCode::Aborted }));
}

#[test]
fn an_unbound_reset_must_name_a_packet_we_are_waiting_on() {
    let (mut client, _server, _, net) = connected();
    client.send(PacketType(100), b"anyone?", Delivery::Reliable).unwrap();
    let mut buf = [0u8; 512];
    let n = client.poll_transmit(net.now, &mut buf).unwrap().unwrap();
    let sent_seq = Packet::new_checked(&buf[..n]).unwrap().seq();
    let token = pseudo_sum(client.connection_id());
    let reset = ResetRepr { code: ErrorCode::UnknownConnection, token }.to_bytes();
    let mut out = [0u8; 64];
    // right token, a sequence number far from anything sent: ignored
    let n = PacketRepr::new(sent_seq.advance(1_000), PacketType::RESET, &reset).emit(&mut out, &Codec::new()).unwrap();
    client.handle_datagram(net.now, &out[..n]);
    assert_eq!(client.state(), State::Established);
    // right token and the number of the packet it answers: believed
    let n = PacketRepr::new(sent_seq, PacketType::RESET, &reset).emit(&mut out, &Codec::new()).unwrap();
    client.handle_datagram(net.now, &out[..n]);
    assert_eq!(client.failure(), Some(FailReason::Reset { code: ErrorCode::UnknownConnection }));
}

#[test]
fn forged_pongs_give_no_rtt_sample() {
    let (mut client, _server, _, net) = connected();
    let before = client.link().rtt();
    let seq = client.link.next_send_seq(); // any bound packet will do for the forger
    for stamp in [0u32, (net.now as u32).wrapping_sub(600_000), 12_345] {
        let pong = HeartbeatRepr { pong: true, stamp }.to_bytes();
        let datagram = bound_packet(&client, seq, PacketType::HEARTBEAT, &pong);
        client.handle_datagram(net.now + 1, &datagram);
    }
    assert_eq!(client.link().rtt(), before, "no ping was outstanding");
}

#[test]
fn only_the_pong_of_the_outstanding_ping_is_a_sample() {
    let (mut client, mut server, _handle, mut net) = connected();
    // silence until the client pings
    let hb = u64::from(config().heartbeat_ms);
    net.now += hb;
    client.handle_timeout(net.now);
    let mut buf = [0u8; 512];
    let n = client.poll_transmit(net.now, &mut buf).unwrap().unwrap();
    let ping = PacketRepr::decode(&buf[..n], &client.link().config().codec()).unwrap();
    assert_eq!(ping.ptype, PacketType::HEARTBEAT);
    let stamp = HeartbeatRepr::parse(ping.payload).unwrap().stamp;
    // the answer comes 40 ms later, and is then replayed 10 s later
    let pong = bound_packet(&client, Seq(0), PacketType::HEARTBEAT, &HeartbeatRepr { pong: true, stamp }.to_bytes());
    client.handle_datagram(net.now + 40, &pong);
    let after_pong = client.link().rtt();
    assert_eq!(after_pong.0, 40, "the first sample sets SRTT");
    client.handle_datagram(net.now + 10_000, &pong);
    assert_eq!(client.link().rtt(), after_pong, "a replayed pong is no sample");
    let _ = &mut server;
}

#[test]
fn a_connection_that_reported_closed_never_reports_again() {
    let (mut client, mut server, handle, mut net) = connected();
    client.close(net.now);
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.state(), State::Linger);
    assert_eq!(drain_events(&mut client), vec![Event::Connected, Event::Closed]);
    // a bound RESET (forged or late) while it lingers ends it quietly
    let peer_next = server.connection(handle).map(|c| c.link.next_send_seq()).unwrap();
    let reset = ResetRepr { code: ErrorCode::Aborted, token: 0 }.to_bytes();
    client.handle_datagram(net.now, &bound_packet(&client, peer_next, PacketType::RESET, &reset));
    assert!(client.is_closed());
    assert_eq!(drain_events(&mut client), vec![], "exactly one final event");
    client.abort(net.now, ErrorCode::Aborted);
    assert_eq!(drain_events(&mut client), vec![]);
}

#[test]
fn unanswered_pings_fail_a_silent_peer_without_an_idle_timeout() {
    let mut c = config();
    c.idle_timeout_ms = 0;
    let (mut client, _server, _, mut net) = connected_with(c, 0);
    // the server vanishes: nothing reaches the client any more
    let mut buf = [0u8; 512];
    let limit = net.now + 3_600_000;
    let mut pings = 0;
    while let Some(t) = client.poll_timeout() {
        if t > limit {
            break;
        }
        net.now = t;
        client.handle_timeout(t);
        while client.poll_transmit(t, &mut buf).unwrap().is_some() {
            pings += 1;
        }
        if client.is_closed() {
            break;
        }
    }
    assert!(
        matches!(client.failure(), Some(FailReason::DeadPeer { .. })),
        "{:?} after {pings} pings",
        client.failure()
    );
    assert_eq!(pings, u32::from(c.link.timing.max_retries));
    let hb = u64::from(c.heartbeat_ms);
    assert!(net.now <= hb * (u64::from(c.link.timing.max_retries) + 2), "found within a few heartbeats: {}", net.now);
}

#[test]
fn a_lost_reset_is_repeated_while_the_abort_lingers() {
    let (mut client, mut server, handle, mut net) = connected();
    client.abort(net.now, ErrorCode::Aborted);
    // the RESET is lost
    net.exchange(&mut client, &mut server, &|_, _| true, &keep);
    assert!(server.is_open(handle));
    // the server sends on; the aborted client answers with the RESET again
    server.send(handle, PacketType(100), b"still there?", Delivery::Reliable).unwrap();
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(server.connection(handle).unwrap().failure(), Some(FailReason::Reset { code: ErrorCode::Aborted }));
}

#[test]
fn after_the_abort_lingered_nothing_is_answered() {
    let (mut client, _server, _handle, net) = connected();
    client.abort(net.now, ErrorCode::Aborted);
    let mut buf = [0u8; 512];
    assert!(client.poll_transmit(net.now, &mut buf).unwrap().is_some(), "the RESET");
    let later = net.now + u64::from(config().linger_ms);
    let ack = bound_packet(&client, Seq(0), PacketType::HEARTBEAT, &[]);
    client.handle_datagram(later, &ack);
    assert_eq!(client.poll_transmit(later, &mut buf).unwrap(), None);
    client.handle_datagram(later - 1, &ack);
    assert!(client.poll_transmit(later - 1, &mut buf).unwrap().is_some(), "within the linger: answered");
}

#[test]
fn a_send_before_the_handshake_completes_is_not_connected() {
    let mut client = client_with(config(), 0, 1);
    let mut server = server_with(config(), 4);
    assert_eq!(client.send(PacketType(100), b"too early", Delivery::Reliable), Err(SendError::NotConnected));
    let mut net = Net::new();
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.send(PacketType(100), b"now", Delivery::Reliable), Ok(()));
}

#[test]
fn a_send_after_the_peer_closed_is_closing() {
    let (mut client, mut server, handle, mut net) = connected();
    server.close(handle, net.now);
    assert_eq!(server.send(handle, PacketType(100), b"after my close", Delivery::Reliable), Err(SendError::Closing));
    net.exchange(&mut client, &mut server, &keep, &keep);
    assert_eq!(client.send(PacketType(100), b"after the peer's", Delivery::Reliable), Err(SendError::Closing));
}

#[test]
fn a_send_on_a_failed_connection_is_failed() {
    let (mut client, _old_server, _, mut net) = connected();
    let mut restarted = server_with(config(), 2);
    client.send(PacketType(100), b"anyone?", Delivery::Reliable).unwrap();
    net.exchange(&mut client, &mut restarted, &keep, &keep);
    assert_eq!(client.failure(), Some(FailReason::Reset { code: ErrorCode::UnknownConnection }));
    assert_eq!(client.send(PacketType(100), b"still?", Delivery::Reliable), Err(SendError::Failed));
}

#[test]
fn a_send_on_a_released_handle_is_an_unknown_handle() {
    let (_client, mut server, handle, _net) = connected();
    server.release(handle);
    assert_eq!(server.send(handle, PacketType(100), b"to nobody", Delivery::Reliable), Err(SendError::UnknownHandle));
}

#[test]
#[cfg(feature = "coalescing")]
fn a_copy_that_comes_with_new_data_forces_no_ack_through_a_connection() {
    // the defaults: coalesced datagrams agreed, each datagram of a thin
    // stream carries the packet before it again (PROTOCOL.md 6.8.1)
    let (mut client, mut server, _, net) = connected();
    let mut buf = vec![0u8; 2048];
    let mut now = net.now;
    let mut sent = |client: &mut Client, now: u64, message: &[u8]| {
        client.send(PacketType(100), message, Delivery::Reliable).unwrap();
        let n = client.poll_transmit(now, &mut buf).unwrap().unwrap();
        assert_eq!(client.poll_transmit(now, &mut buf).unwrap(), None);
        buf[..n].to_vec()
    };
    let first = sent(&mut client, now, b"m0");
    server.handle_datagram(now, CLIENT_ADDR, &first);
    let mut out = vec![0u8; 2048];
    assert_eq!(server.poll_transmit(now, &mut out).unwrap(), None, "m0's ACK is delayed");
    now = server.poll_timeout().unwrap();
    server.handle_timeout(now);
    assert!(server.poll_transmit(now, &mut out).unwrap().is_some(), "m0's delayed ACK (lost)");

    now += 1;
    let second = sent(&mut client, now, b"m1"); // a copy of m0, then m1
    assert_eq!(PacketRepr::decode_all(&second, &client.link.config().codec()).count(), 2);
    server.handle_datagram(now, CLIENT_ADDR, &second);
    assert_eq!(server.poll_transmit(now, &mut out).unwrap(), None, "m1's ACK is delayed, the copy forces none");
    server.handle_datagram(now, CLIENT_ADDR, &second); // both duplicates now
    assert!(server.poll_transmit(now, &mut out).unwrap().is_some(), "a datagram of duplicates is answered at once");
}
