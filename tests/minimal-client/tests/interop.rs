//! A client built with `default-features = false` (no congestion control,
//! no SACK, NACK or fast retransmit, no fragmentation, ...) exchanges
//! messages both ways with a full-featured server under loss: every message
//! it sends comes back echoed, in order, exactly once, and the losses are
//! repaired by its retransmission timer alone. Neither side offers or
//! agrees to coalesced datagrams, and each datagram is one packet.
//!
//! The server is `full_peer` (tests/src/bin/full_peer.rs in the main
//! workspace, built with every default feature), driven over pipes on the
//! test's simulated clock.

use seqlink_core::wire::ack::AckRepr;
use seqlink_core::wire::data::DataRepr;
use seqlink_core::wire::handshake::FLAG_COALESCE;
use seqlink_core::wire::{Codec, PacketRepr};
use seqlink_core::{Connection, ConnectionConfig, Event, FailReason, LinkConfig, PacketType, SendError, State};
use std::collections::VecDeque;

mod common;
use common::{FullPeer, Rng};

/// One-way delay of the simulated path, ms.
const DELAY_MS: u64 = 10;
/// How long the exchange may take on the simulated clock, ms.
const LIMIT_MS: u64 = 600_000;
/// Messages the client sends (and gets back).
const MESSAGES: usize = 60;
const NACK: u8 = 21;
const ACK: u8 = 20;
const DATA: u8 = 24;
const SYN: u8 = 25;
const SYN_ACK: u8 = 26;
const HANDSHAKE_ACK: u8 = 27;
/// The packet type of the test's messages.
const APP_TYPE: u8 = 100;
const HEADER_LEN: usize = 9;

/// A datagram on the simulated path.
struct InFlight {
    at: u64,
    to_server: bool,
    bytes: Vec<u8>,
}

/// The lossy path between the client and the server.
struct Network {
    queue: VecDeque<InFlight>,
    rng: Rng,
    loss_percent: u64,
    dropped: usize,
}

impl Network {
    fn send(&mut self, now: u64, to_server: bool, bytes: Vec<u8>) {
        if self.rng.chance(self.loss_percent) {
            self.dropped += 1;
            return;
        }
        self.queue.push_back(InFlight { at: now + DELAY_MS, to_server, bytes });
    }
}

/// The message numbered `i`: its length and bytes differ from its neighbours'.
fn message(i: usize, max: usize) -> Vec<u8> {
    let len = 1 + (i * 37) % max;
    (0..len).map(|k| (i * 7 + k) as u8).collect()
}

/// What the minimal client must never send: a NACK or a SACK bit.
fn assert_cumulative_only(datagram: &[u8]) {
    let (Some(&ptype), Some(payload)) = (datagram.get(4), datagram.get(HEADER_LEN..)) else { return };
    assert_ne!(ptype, NACK, "the minimal client sent a NACK");
    let ack = match ptype {
        ACK => AckRepr::parse(payload).ok(),
        DATA => DataRepr::parse(payload).ok().and_then(|d| d.ack),
        _ => None,
    };
    if let Some(ack) = ack {
        assert!(ack.sack.is_empty(), "the minimal client sent a SACK bitmap");
    }
}

/// What neither side may send in a handshake with the minimal client (built
/// without `coalescing`): the flag offering or agreeing to coalesced
/// datagrams (the flags byte is the second of the handshake payload).
fn assert_no_coalescing_flag(datagram: &[u8], sender: &str) {
    let (Some(&ptype), Some(&flags)) = (datagram.get(4), datagram.get(HEADER_LEN + 1)) else { return };
    if matches!(ptype, SYN | SYN_ACK | HANDSHAKE_ACK) {
        assert_eq!(flags & FLAG_COALESCE, 0, "{sender} sent the coalescing flag in packet type {ptype}");
    }
}

/// A datagram for the minimal client must be exactly one packet (no
/// coalescing was agreed): its 9-byte header and `len` bytes (the Internet
/// checksum has no trailer).
fn assert_one_packet(datagram: &[u8]) {
    let Some(&[l0, l1]) = datagram.get(5..7).and_then(|l| l.first_chunk::<2>()) else { return };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    assert_eq!(datagram.len(), HEADER_LEN + len, "the full peer sent the minimal client a coalesced datagram");
}

/// What the full peer sends the minimal client: one packet per datagram,
/// never the coalescing flag.
fn assert_from_full_peer(datagram: &[u8]) {
    assert_no_coalescing_flag(datagram, "the full peer");
    assert_one_packet(datagram);
}

/// The sequence number of a data packet (the test's type, or DATA).
fn data_seq(datagram: &[u8]) -> Option<u32> {
    let (&[s0, s1, s2, s3, ptype], true) = (datagram.first_chunk::<5>()?, datagram.len() >= HEADER_LEN) else {
        return None;
    };
    (ptype == APP_TYPE || ptype == DATA).then(|| u32::from_be_bytes([s0, s1, s2, s3]))
}

struct Outcome {
    echoed: Vec<Vec<u8>>,
    dropped: usize,
    /// Data packets the client sent again (seen on the path: the minimal
    /// build keeps no statistics).
    retransmissions: usize,
    closed: bool,
}

/// Runs the exchange with `loss_percent` loss each way.
fn exchange(loss_percent: u64, seed: u64) -> Outcome {
    let link = LinkConfig::new().with_window(4).with_max_payload(128);
    let config = ConnectionConfig::new().with_link(link);
    let max = config.link.max_message_len();
    let storage = vec![0u8; config.storage_len()];
    let mut client = Connection::connect(config, storage, 0, seed).expect("valid config");
    let mut server = FullPeer::start();
    let mut path = Network { queue: VecDeque::new(), rng: Rng(seed | 1), loss_percent, dropped: 0 };
    let mut outbox: VecDeque<Vec<u8>> = (0..MESSAGES).map(|i| message(i, max)).collect();
    let mut echoed = Vec::new();
    let mut datagram = vec![0u8; config.max_datagram_len()];
    let mut buf = vec![0u8; max];
    let mut now = 0;
    let mut closing = false;
    let mut data_sent = std::collections::HashSet::new();
    let mut retransmissions = 0;
    while now <= LIMIT_MS && !client.is_closed() {
        // what arrives now
        while path.queue.front().is_some_and(|d| d.at <= now) {
            let Some(d) = path.queue.pop_front() else { break };
            if d.to_server {
                for answer in server.request(now, Some(&d.bytes)) {
                    assert_from_full_peer(&answer);
                    path.send(now, false, answer);
                }
            } else {
                client.handle_datagram(now, &d.bytes);
            }
        }
        // timers
        if client.poll_timeout().is_some_and(|t| t <= now) {
            client.handle_timeout(now);
        }
        if server.timeout <= now {
            for answer in server.request(now, None) {
                assert_from_full_peer(&answer);
                path.send(now, false, answer);
            }
        }
        // the client's application
        while let Some(event) = client.poll_event() {
            assert!(!matches!(event, Event::Failed(_)), "the client failed: {event:?}");
        }
        if client.state() == State::Established {
            while let Some(m) = outbox.front() {
                match client.send(PacketType(APP_TYPE), m, seqlink_core::Delivery::Reliable) {
                    Ok(()) => {
                        outbox.pop_front();
                    }
                    Err(SendError::WouldBlock) => break,
                    Err(e) => panic!("send refused: {e:?}"),
                }
            }
        }
        while let Some(r) = client.recv(&mut buf).expect("buffer holds a message") {
            echoed.push(buf[..r.len].to_vec());
        }
        if echoed.len() == MESSAGES && !closing {
            client.close(now);
            closing = true;
        }
        while let Some(n) = client.poll_transmit(now, &mut datagram).expect("buffer holds a datagram") {
            assert_cumulative_only(&datagram[..n]);
            assert_no_coalescing_flag(&datagram[..n], "the minimal client");
            if let Some(seq) = data_seq(&datagram[..n]) {
                retransmissions += usize::from(!data_sent.insert(seq));
            }
            path.send(now, true, datagram[..n].to_vec());
        }
        // the next thing that happens
        let next = [path.queue.front().map(|d| d.at), client.poll_timeout(), Some(server.timeout)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(u64::MAX);
        now = next.max(now + 1);
    }
    Outcome { echoed, dropped: path.dropped, retransmissions, closed: client.is_closed() }
}

#[test]
fn a_minimal_client_and_a_full_server_exchange_every_message_under_loss() {
    let max = ConnectionConfig::new()
        .with_link(LinkConfig::new().with_window(4).with_max_payload(128))
        .link
        .max_message_len();
    for seed in [1, 2, 3] {
        let outcome = exchange(15, seed);
        assert!(outcome.dropped > 0, "the path lost nothing (seed {seed})");
        assert!(outcome.retransmissions > 0, "the client repaired nothing (seed {seed})");
        let expected: Vec<Vec<u8>> = (0..MESSAGES).map(|i| message(i, max)).collect();
        assert_eq!(outcome.echoed.len(), MESSAGES, "messages echoed back (seed {seed})");
        assert!(outcome.echoed == expected, "the echoes differ from what was sent (seed {seed})");
        assert!(outcome.closed, "the client did not close (seed {seed})");
    }
}

#[test]
fn a_minimal_client_fails_on_an_agreement_to_coalesce_it_did_not_offer() {
    let config = ConnectionConfig::new().with_link(LinkConfig::new().with_window(4).with_max_payload(128));
    let mut client = Connection::connect(config, vec![0u8; config.storage_len()], 0, 7).expect("valid config");
    let mut server = FullPeer::start();
    let mut datagram = vec![0u8; config.max_datagram_len()];
    let n = client.poll_transmit(0, &mut datagram).expect("buffer holds a datagram").expect("a SYN");
    let answers = server.request(0, Some(&datagram[..n]));
    for answer in &answers {
        assert_from_full_peer(answer);
    }
    let syn_ack = answers.first().expect("the full peer answers the SYN");
    // the same SYN_ACK, but saying both sides send coalesced datagrams
    let unbound = Codec::new().with_max_payload(1024);
    let packet = PacketRepr::decode(syn_ack, &unbound).expect("a well-formed SYN_ACK");
    assert_eq!(packet.ptype.0, SYN_ACK);
    let mut payload = packet.payload.to_vec();
    payload[1] |= FLAG_COALESCE;
    let mut forged = vec![0u8; syn_ack.len()];
    let len = PacketRepr { payload: &payload, ..packet }.emit(&mut forged, &unbound).expect("room for it");
    client.handle_datagram(DELAY_MS, &forged[..len]);
    let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
    assert!(
        events.contains(&Event::Failed(FailReason::ProtocolViolation)),
        "the client took an agreement it did not offer: {events:?}"
    );
}
