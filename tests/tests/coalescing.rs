//! Coalesced datagrams (issue 9): small messages already queued when a
//! datagram goes out share it, up to the longest datagram; a damaged
//! packet ends what a receiver takes from its datagram; connections
//! negotiate it and carry their messages so.

use seqlink_core::connection::ConnectionConfig;
use seqlink_core::endpoint::EndpointConfig;
use seqlink_core::link::{Delivery, Link, LinkConfig};
use seqlink_core::wire::{Codec, PacketRepr, PacketType};
use seqlink_tests::conn_node::{ClientNode, Peer, ServerNode};
use seqlink_tests::link_node::Message;
use seqlink_tests::sim::{Fate, Impairment, Node, Sim};

/// Window 64, no congestion window (all 20 messages may leave at once).
fn plain() -> LinkConfig {
    let mut c = LinkConfig::new().with_window(64);
    c.congestion_control = seqlink_core::CongestionControl::Off;
    c
}

/// Coalescing without copies of earlier packets (those are `paced_latency`'s).
fn coalescing() -> LinkConfig {
    LinkConfig { coalesce: true, redundancy: 0, ..plain() }
}

fn link(config: LinkConfig) -> Link<Vec<u8>> {
    Link::new(config, vec![0u8; config.storage_len()]).unwrap()
}

/// Everything `from` sends at `now`.
fn drain(from: &mut Link<Vec<u8>>, now: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; from.config().max_datagram_len()];
    while let Some(n) = from.poll_transmit(now, &mut buf).unwrap() {
        out.push(buf[..n].to_vec());
    }
    out
}

fn received(link: &mut Link<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Some(r) = link.recv(&mut buf).unwrap() {
        out.push(buf[..r.len].to_vec());
    }
    out
}

fn messages(count: u8, len: usize) -> Vec<Vec<u8>> {
    (0..count).map(|i| vec![i; len]).collect()
}

#[test]
fn twenty_queued_messages_of_100_bytes_leave_in_two_datagrams() {
    let (mut a, mut b) = (link(coalescing()), link(coalescing()));
    let sent = messages(20, 100);
    for m in &sent {
        a.send(PacketType(100), m, Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    // 109 bytes a packet, 1209 a datagram: 11 packets, then 9
    assert_eq!(out.iter().map(Vec::len).collect::<Vec<_>>(), [11 * 109, 9 * 109]);
    assert!(out.iter().all(|d| d.len() <= a.config().max_datagram_len()));
    for d in &out {
        b.handle_datagram(1, d);
    }
    assert_eq!(received(&mut b), sent);
    assert_eq!(b.stats().packets_received, 20);
}

#[test]
fn without_coalescing_each_message_has_its_datagram() {
    let (mut a, mut b) = (link(plain()), link(plain()));
    for m in messages(20, 100) {
        a.send(PacketType(100), &m, Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    assert_eq!(out.len(), 20);
    for d in &out {
        b.handle_datagram(1, d);
    }
    assert_eq!(received(&mut b).len(), 20);
}

#[test]
fn a_damaged_packet_ends_what_is_taken_from_its_datagram() {
    let (mut a, mut b) = (link(coalescing()), link(coalescing()));
    for m in messages(3, 100) {
        a.send(PacketType(100), &m, Delivery::Reliable).unwrap();
    }
    let mut out = drain(&mut a, 0);
    assert_eq!(out.len(), 1);
    out[0][109 + 20] ^= 0x10; // a bit of the second packet's data
    b.handle_datagram(1, &out[0]);
    assert_eq!(received(&mut b), [vec![0u8; 100]]);
    assert_eq!(b.stats().corrupt_packets, 1);
    let codec = Codec::new().with_max_payload(a.config().max_payload);
    let parsed: Vec<_> = PacketRepr::decode_all(&out[0], &codec).collect();
    assert_eq!(parsed.len(), 2, "the third packet is not read after the damaged one");
    assert!(parsed[0].is_ok() && parsed[1].is_err());
}

#[test]
fn the_ack_and_queued_data_share_a_datagram() {
    let (mut a, mut b) = (link(coalescing()), link(coalescing()));
    a.send(PacketType(100), b"ping", Delivery::Reliable).unwrap();
    for d in drain(&mut a, 0) {
        b.handle_datagram(1, &d);
    }
    for m in messages(3, 50) {
        b.send(PacketType(101), &m, Delivery::Reliable).unwrap();
    }
    let out = drain(&mut b, 2);
    assert_eq!(out.len(), 1, "the acknowledgement rides with the three messages");
    a.handle_datagram(3, &out[0]);
    assert!(a.is_idle(), "ping acknowledged");
    assert_eq!(received(&mut a), messages(3, 50));
}

#[test]
fn connections_negotiate_coalescing_and_use_it_under_loss() {
    const SERVER: u32 = 1;
    const CLIENT: u32 = 2;
    const MESSAGES: u32 = 500;
    let config = ConnectionConfig::new().with_link(LinkConfig::new().with_window(64));
    let mut sim: Sim<Peer> = Sim::new(7, Impairment { loss: 0.05, ..Impairment::delay(5) });
    sim.logging = true;
    let mut client = ClientNode::new(config, SERVER, 0, 42);
    let sent: Vec<Message> = (0..MESSAGES)
        .map(|i| {
            let mut data = i.to_be_bytes().to_vec();
            data.resize(100, 7);
            Message { ptype: PacketType(100), data, delivery: Delivery::Reliable }
        })
        .collect();
    client.outbox.extend(sent.iter().cloned());
    sim.add(CLIENT, Peer::Client(Box::new(client)));
    sim.add(SERVER, Peer::Server(Box::new(ServerNode::new(EndpointConfig::new(config), 4, [9; 16], 1))));
    let arrived = |s: &mut Sim<Peer>| match &s.nodes[1].1 {
        Peer::Server(server) => server.received.get(&CLIENT).map_or(0, Vec::len),
        Peer::Client(_) => 0,
    };
    assert!(sim.run_until(600_000, |s| arrived(s) == MESSAGES as usize));
    if let Peer::Server(server) = &sim.nodes[1].1 {
        assert!(server.received[&CLIENT] == sent, "delivered in order, once each");
    }
    let datagrams = sim.log.iter().filter(|e| e.from == CLIENT && e.fate == Fate::Sent).count();
    assert!(datagrams < 250, "{datagrams} datagrams for {MESSAGES} messages: not coalesced");
}

/// A sender writing a 100-byte message every millisecond and a receiver
/// noting when each arrives, on one link each.
struct Paced {
    link: Link<Vec<u8>>,
    peer: u32,
    next: u64,
    left: u32,
    /// One-way latency of each message delivered, ms.
    latencies: Vec<u64>,
}

impl Paced {
    fn new(config: LinkConfig, peer: u32, messages: u32) -> Paced {
        Paced { link: link(config), peer, next: 0, left: messages, latencies: Vec::new() }
    }
}

impl Node for Paced {
    fn handle(&mut self, now: u64, _from: u32, datagram: &[u8]) {
        self.link.handle_datagram(now, datagram);
    }
    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(u32, usize)> {
        self.link.poll_transmit(now, buf).unwrap().map(|n| (self.peer, n))
    }
    fn timeout(&self) -> Option<u64> {
        let next = (self.left > 0).then_some(self.next);
        [self.link.poll_timeout(), next].into_iter().flatten().min()
    }
    fn on_timeout(&mut self, now: u64) {
        if self.link.poll_timeout().is_some_and(|t| t <= now) {
            self.link.handle_timeout(now);
        }
    }
    fn poll_app(&mut self, now: u64) {
        while self.left > 0 && self.next <= now {
            let mut message = self.next.to_be_bytes().to_vec();
            message.resize(100, 0);
            self.link.send(PacketType(100), &message, Delivery::Reliable).unwrap();
            self.left -= 1;
            self.next += 1;
        }
        let mut buf = [0u8; 256];
        while let Some(r) = self.link.recv(&mut buf).unwrap() {
            let sent = u64::from_be_bytes(buf[..8].try_into().unwrap());
            assert_eq!(r.len, 100);
            self.latencies.push(now - sent);
        }
    }
}

/// p50 and p99 one-way latency of 10 000 messages of 100 B, one per ms, at
/// 5% loss both ways and 10 ms each way, waiting up to `wait_ms` to share a
/// datagram, each datagram carrying up to `redundancy` earlier packets again.
fn paced_latency(seed: u64, wait_ms: u16, redundancy: u8) -> (u64, u64, usize) {
    let config = LinkConfig { coalesce: true, coalesce_wait_ms: wait_ms, redundancy, ..LinkConfig::new() };
    let mut sim: Sim<Paced> = Sim::new(seed, Impairment { loss: 0.05, ..Impairment::delay(10) });
    sim.logging = true;
    sim.add(1, Paced::new(config, 2, 10_000));
    sim.add(2, Paced::new(config, 1, 0));
    assert!(sim.run_until(600_000, |s| s.nodes[1].1.latencies.len() == 10_000));
    let datagrams = sim.log.iter().filter(|e| e.from == 1 && e.fate == Fate::Sent).count();
    let mut l = sim.nodes[1].1.latencies.clone();
    l.sort_unstable();
    (l[l.len() / 2], l[l.len() * 99 / 100], datagrams)
}

/// Prints the latency with several wait bounds (a measuring aid, not part of the suite).
#[test]
#[ignore = "figures: cargo test --release -p seqlink-tests --test coalescing latency_figures -- --ignored --nocapture"]
fn latency_figures() {
    for redundancy in [0, 1, 2] {
        for wait in [0, 1, 2, 3, 5, 10] {
            for seed in 1..=3 {
                let (p50, p99, datagrams) = paced_latency(seed, wait, redundancy);
                println!(
                    "redundancy {redundancy}, wait {wait:2} ms, seed {seed}: p50 {p50} ms, p99 {p99} ms, {datagrams} datagrams"
                );
            }
        }
    }
}

#[test]
fn a_wait_bound_packs_a_paced_stream() {
    // one message per ms: with no wait about each leaves alone; with a 3 ms
    // bound about four share a datagram, and a quarter of the losses hold
    // back fewer messages
    let (alone_p50, _, alone) = paced_latency(1, 0, 0);
    let (packed_p50, _, packed) = paced_latency(1, 3, 0);
    assert!(alone > 9_000, "{alone} datagrams without a wait");
    assert!(packed < 3_000, "{packed} datagrams with a 3 ms bound");
    assert!(packed_p50 < alone_p50, "p50 {packed_p50} ms with the bound, {alone_p50} ms without");
}

#[test]
fn copies_of_the_packet_before_repair_a_paced_streams_losses_without_a_wait() {
    // one message per ms, no wait: a lost datagram's packet arrives with the
    // next one, 1 ms later, instead of a resend a round trip later
    let (bare_p50, bare_p99, _) = paced_latency(1, 0, 0);
    let (copied_p50, copied_p99, _) = paced_latency(1, 0, 1);
    assert!(copied_p50 < bare_p50, "p50 {copied_p50} ms with copies, {bare_p50} ms without");
    assert!(copied_p99 < bare_p99, "p99 {copied_p99} ms with copies, {bare_p99} ms without");
}
