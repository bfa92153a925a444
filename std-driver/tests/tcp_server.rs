//! `TcpServer` over real loopback streams (127.0.0.1 only, bounded in time):
//! seed 000 clients that speak only the basic profile, seqlink clients on the
//! same server, and a client that never reads.

use seqlink_core::basic::{BasicConfig, OutOfOrder};
use seqlink_core::connection::ConnectionConfig;
use seqlink_core::endpoint::{EndpointConfig, EndpointEvent};
use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::{Event, PacketType};
use seqlink_std::{BasicEvent, Profiles, TcpConnection, TcpPeer, TcpServer};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

fn config() -> ConnectionConfig {
    let mut c = ConnectionConfig::new().with_link(LinkConfig::low_latency().with_window(32).with_max_payload(1200));
    c.linger_ms = 200;
    c
}

/// A packet's type and payload.
type Packet = (u8, Vec<u8>);
/// An ACK's or NACK's type and the sequence number it names.
type Control = (u8, u32);

/// A seed 000 peer written from the packet format alone: hand-packed
/// headers, its own checksum, sequence numbers from 0 each way.
struct Seed000Client {
    stream: TcpStream,
    next_send: u32,
    next_expected: u32,
}

/// The RFC 1071 sum over seq, type, len and the payload (the checksum field skipped).
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        sum += u32::from(pair[0]) << 8 | u32::from(pair.get(1).copied().unwrap_or(0));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn seed_000_packet(seq: u32, ptype: u8, payload: &[u8]) -> Vec<u8> {
    let mut covered = seq.to_be_bytes().to_vec();
    covered.push(ptype);
    covered.extend((payload.len() as u16).to_be_bytes());
    covered.extend(payload);
    let mut packet = covered[..7].to_vec();
    packet.extend(internet_checksum(&covered).to_be_bytes());
    packet.extend(payload);
    packet
}

impl Seed000Client {
    fn connect(addr: SocketAddr) -> Seed000Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(T)).unwrap();
        Seed000Client { stream, next_send: 0, next_expected: 0 }
    }

    fn send(&mut self, ptype: u8, payload: &[u8]) {
        self.stream.write_all(&seed_000_packet(self.next_send, ptype, payload)).unwrap();
        self.next_send += 1;
    }

    /// Sends the next packet with one payload bit flipped (its number is not used up).
    fn send_corrupted(&mut self, ptype: u8, payload: &[u8]) {
        let mut packet = seed_000_packet(self.next_send, ptype, payload);
        packet[9] ^= 0x01;
        self.stream.write_all(&packet).unwrap();
    }

    /// The next packet (type, payload), checked: valid checksum and the next
    /// sequence number. `None` when the server closed the stream.
    fn read(&mut self) -> Option<Packet> {
        let mut header = [0u8; 9];
        match self.stream.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return None,
            Err(e) => panic!("reading a seed 000 packet: {e}"),
        }
        let len = usize::from(u16::from_be_bytes([header[5], header[6]]));
        let mut payload = vec![0u8; len];
        self.stream.read_exact(&mut payload).unwrap();
        let seq = u32::from_be_bytes(header[..4].try_into().unwrap());
        let mut covered = header[..7].to_vec();
        covered.extend(&payload);
        assert_eq!(u16::from_be_bytes([header[7], header[8]]), internet_checksum(&covered), "checksum of {seq}");
        assert_eq!(seq, self.next_expected, "the server's packets are numbered from 0, one by one");
        self.next_expected += 1;
        Some((header[4], payload))
    }

    /// Packets up to and including the next one that is not an ACK or NACK:
    /// the ACKs and NACKs as (type, sequence number named), then that packet.
    fn read_until_message(&mut self) -> (Vec<Control>, Option<Packet>) {
        let mut controls = Vec::new();
        loop {
            match self.read() {
                Some((ptype @ (20 | 21), named)) => {
                    controls.push((ptype, u32::from_be_bytes(named[..].try_into().unwrap())));
                }
                other => return (controls, other),
            }
        }
    }

    /// The next packet that is not an ACK or NACK.
    fn read_message(&mut self) -> Option<Packet> {
        loop {
            let (ptype, payload) = self.read()?;
            if ptype != 20 && ptype != 21 {
                return Some((ptype, payload));
            }
        }
    }
}

// seed 000's Battleship types
const CMD_PLACE: u8 = 0;
const CMD_FIRE: u8 = 3;
const CMD_QUIT: u8 = 4;
const MSG_WELCOME: u8 = 10;
const MSG_INFO: u8 = 11;
const MSG_RESULT: u8 = 14;
const MSG_GAME_OVER: u8 = 15;
const ACK: u8 = 20;
const NACK: u8 = 21;

/// A tiny Battleship server: welcomes every peer, answers shots, says goodbye
/// to a peer that quits; the same code for every kind of client. Returns how
/// many shots it answered.
fn battleship_server(mut server: TcpServer, players: usize) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let start = Instant::now();
        let (mut shots, mut quit) = (0, 0);
        while quit < players && start.elapsed() < T {
            let message = server.recv(Some(Duration::from_millis(20))).unwrap();
            // a peer's first message may come with the news of the peer: welcome first
            while let Some(peer) = server.accept(Some(Duration::ZERO)).unwrap() {
                // (a peer may be gone already)
                let _ = server.send(peer, PacketType::MSG_WELCOME, b"Welcome to Battleship", Delivery::Reliable);
            }
            if let Some((peer, m)) = message {
                let (ptype, answer): (PacketType, &[u8]) = match m.ptype {
                    PacketType::CMD_PLACE => (PacketType::MSG_INFO, b"ships placed"),
                    PacketType::CMD_FIRE if m.data == b"B5" => (PacketType::MSG_RESULT, b"HIT"),
                    PacketType::CMD_FIRE => (PacketType::MSG_RESULT, b"MISS"),
                    PacketType::CMD_QUIT => (PacketType::MSG_GAME_OVER, b"bye"),
                    _ => (PacketType::ERR_MSG, b"unexpected"),
                };
                server.send(peer, ptype, answer, Delivery::Reliable).unwrap();
                shots += usize::from(m.ptype == PacketType::CMD_FIRE);
                if m.ptype == PacketType::CMD_QUIT {
                    server.close(peer).unwrap();
                    quit += 1;
                }
            }
        }
        // let the last goodbyes go out
        let _ = server.drive(Some(Instant::now() + Duration::from_millis(300)), |_| false);
        shots
    })
}

fn play_seed_000(client: &mut Seed000Client) {
    client.send(CMD_FIRE, b"A1");
    assert_eq!(client.read_message(), Some((MSG_RESULT, b"MISS".to_vec())));
    client.send(CMD_FIRE, b"B5");
    assert_eq!(client.read_message(), Some((MSG_RESULT, b"HIT".to_vec())));
    client.send(CMD_QUIT, b"");
    assert_eq!(client.read_message(), Some((MSG_GAME_OVER, b"bye".to_vec())));
    assert_eq!(client.read_message(), None, "the server closes the stream after the goodbye");
}

#[test]
fn a_seed_000_client_that_speaks_first_is_served() {
    let server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4).unwrap();
    let addr = server.local_addr().unwrap();
    let game = battleship_server(server, 1);
    let mut client = Seed000Client::connect(addr);
    client.send(CMD_PLACE, b"R");
    assert_eq!(client.read_message(), Some((MSG_WELCOME, b"Welcome to Battleship".to_vec())));
    assert_eq!(client.read_message(), Some((MSG_INFO, b"ships placed".to_vec())));
    play_seed_000(&mut client);
    assert_eq!(game.join().unwrap(), 2);
}

#[test]
fn a_seed_000_client_that_waits_for_the_welcome_is_served() {
    let server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4).unwrap();
    let addr = server.local_addr().unwrap();
    let game = battleship_server(server, 1);
    let mut client = Seed000Client::connect(addr);
    let start = Instant::now();
    assert_eq!(client.read_message(), Some((MSG_WELCOME, b"Welcome to Battleship".to_vec())));
    assert!(start.elapsed() < Duration::from_secs(2), "welcomed after {:?}", start.elapsed());
    play_seed_000(&mut client);
    assert_eq!(game.join().unwrap(), 2);
}

#[test]
fn one_server_serves_seed_000_and_seqlink_clients_together() {
    let server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4).unwrap();
    let addr = server.local_addr().unwrap();
    let game = battleship_server(server, 2);
    let seqlink = thread::spawn(move || {
        let mut client = TcpConnection::connect(addr, config(), T).unwrap();
        let welcome = client.recv(Some(T)).unwrap().unwrap();
        assert_eq!((welcome.ptype, welcome.data), (PacketType::MSG_WELCOME, b"Welcome to Battleship".to_vec()));
        client.send(PacketType::CMD_FIRE, b"B5", Delivery::Reliable).unwrap();
        assert_eq!(client.recv(Some(T)).unwrap().unwrap().data, b"HIT");
        client.send(PacketType::CMD_QUIT, b"", Delivery::Reliable).unwrap();
        assert_eq!(client.recv(Some(T)).unwrap().unwrap().data, b"bye");
        client.close(T).unwrap();
    });
    let mut client = Seed000Client::connect(addr);
    client.send(CMD_PLACE, b"R");
    assert_eq!(client.read_message(), Some((MSG_WELCOME, b"Welcome to Battleship".to_vec())));
    assert_eq!(client.read_message(), Some((MSG_INFO, b"ships placed".to_vec())));
    play_seed_000(&mut client);
    seqlink.join().unwrap();
    assert_eq!(game.join().unwrap(), 3);
}

#[test]
fn a_client_that_never_reads_does_not_stall_the_others() {
    // Large payloads so that the broadcasts fill a silent peer's socket buffers quickly.
    let mut c = ConnectionConfig::new().with_link(LinkConfig::low_latency().with_window(32).with_max_payload(16_000));
    c.linger_ms = 100;
    let mut server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(c), 4).unwrap();
    let addr = server.local_addr().unwrap();
    // A game server that broadcasts a 15 kB snapshot to every other player for
    // each move it answers (unreliable: a late snapshot is worthless).
    let game = thread::spawn(move || {
        let snapshot = vec![b'~'; 15_000];
        let start = Instant::now();
        let (mut players, mut answered, mut failed) = (Vec::new(), 0, 0);
        while start.elapsed() < Duration::from_secs(30) {
            while let Some(peer) = server.accept(Some(Duration::ZERO)).unwrap() {
                players.push(peer);
            }
            if let Some((from, m)) = server.recv(Some(Duration::from_millis(20))).unwrap() {
                if m.ptype == PacketType::CMD_QUIT {
                    break;
                }
                server.send(from, PacketType::MSG_RESULT, &m.data, Delivery::Reliable).unwrap();
                answered += 1;
                for &other in players.iter().filter(|&&p| p != from) {
                    for _ in 0..4 {
                        // the silent player's sends fail once it is disconnected
                        let _ = server.send(other, PacketType::MSG_BOARD_OPP, &snapshot, Delivery::Unreliable);
                    }
                }
            }
            while let Some(e) = server.poll_event() {
                failed += usize::from(matches!(e, EndpointEvent::Connection(_, Event::Failed(_))));
            }
        }
        (answered, failed)
    });
    let silent = TcpConnection::connect(addr, c, T).unwrap(); // connects, then never reads
    let mut player = TcpConnection::connect(addr, c, T).unwrap();
    let start = Instant::now();
    for i in 0..400u32 {
        player.send(PacketType::CMD_FIRE, &i.to_be_bytes(), Delivery::Reliable).unwrap();
        let answer = player.recv(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(answer.map(|m| m.data), Some(i.to_be_bytes().to_vec()), "answer {i} after {:?}", start.elapsed());
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(10), "400 moves took {took:?}");
    player.send(PacketType::CMD_QUIT, b"", Delivery::Reliable).unwrap();
    let (answered, failed) = game.join().unwrap();
    assert_eq!(answered, 400);
    assert_eq!(failed, 1, "the silent player was disconnected when its output buffer overflowed");
    drop(silent);
}

#[test]
fn basic_peers_get_acks_and_nacks_when_configured() {
    let basic = BasicConfig { out_of_order: OutOfOrder::Nack, acks: true, ..BasicConfig::default() };
    let mut server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4)
        .unwrap()
        .with_profiles(Profiles::BasicOnly, basic);
    let addr = server.local_addr().unwrap();
    let client = thread::spawn(move || {
        let mut client = Seed000Client::connect(addr);
        assert_eq!(client.read_until_message(), (vec![], Some((MSG_WELCOME, b"Welcome to Battleship".to_vec()))));
        client.send(CMD_PLACE, b"R");
        assert_eq!(client.read_until_message(), (vec![(ACK, 0)], Some((MSG_INFO, b"ships placed".to_vec()))));
        client.send_corrupted(CMD_FIRE, b"A1");
        assert_eq!(client.read(), Some((NACK, 1u32.to_be_bytes().to_vec())), "the damaged packet is NACKed");
        client.send(CMD_FIRE, b"A1"); // sent again, with the same number
        assert_eq!(client.read_until_message(), (vec![(ACK, 1)], Some((MSG_RESULT, b"MISS".to_vec()))));
        client.send(CMD_QUIT, b"");
        assert_eq!(client.read_until_message(), (vec![(ACK, 2)], Some((MSG_GAME_OVER, b"bye".to_vec()))));
        assert_eq!(client.read(), None);
    });
    let start = Instant::now();
    let mut welcomed = None;
    while start.elapsed() < T {
        if let Some(peer) = server.accept(Some(Duration::ZERO)).unwrap() {
            server.send(peer, PacketType::MSG_WELCOME, b"Welcome to Battleship", Delivery::Reliable).unwrap();
            welcomed = Some(peer);
        }
        let Some((peer, m)) = server.recv(Some(Duration::from_millis(20))).unwrap() else { continue };
        assert_eq!(Some(peer), welcomed);
        let answer: (PacketType, &[u8]) = match m.ptype {
            PacketType::CMD_PLACE => (PacketType::MSG_INFO, b"ships placed"),
            PacketType::CMD_FIRE => (PacketType::MSG_RESULT, b"MISS"),
            _ => (PacketType::MSG_GAME_OVER, b"bye"),
        };
        server.send(peer, answer.0, answer.1, Delivery::Reliable).unwrap();
        if m.ptype == PacketType::CMD_QUIT {
            let TcpPeer::Basic(basic_peer) = peer else { panic!("a basic peer") };
            let stats = server.basic_stats(basic_peer).unwrap();
            assert_eq!(
                (stats.successfully_processed_packets, stats.detected_corruptions, stats.packets_sent),
                (3, 1, 8),
                "3 commands and a damaged one; a welcome, 3 answers, 3 ACKs, a NACK: {stats:?}"
            );
            server.close(peer).unwrap();
            break;
        }
    }
    let closed = server.drive(Some(Instant::now() + T), |s| !s.is_open(welcomed.unwrap()));
    assert!(closed.unwrap());
    client.join().unwrap();
    let events: Vec<_> = std::iter::from_fn(|| server.poll_basic_event()).collect();
    assert!(
        matches!(events[..], [BasicEvent::Opened(a, _), BasicEvent::Closed(b)] if TcpPeer::Basic(a) == welcomed.unwrap() && a == b)
    );
}

#[test]
fn a_basic_peer_that_never_reads_is_disconnected() {
    let mut server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4)
        .unwrap()
        .with_profiles(Profiles::BasicOnly, BasicConfig::default())
        .with_max_buffered(256 * 1024);
    let addr = server.local_addr().unwrap();
    let silent = Seed000Client::connect(addr); // never reads
    let peer = server.accept(Some(T)).unwrap().expect("the basic peer");
    let board = vec![b'~'; 60_000];
    let start = Instant::now();
    let mut sent = 0;
    let error = loop {
        match server.send(peer, PacketType::MSG_BOARD_OWN, &board, Delivery::Reliable) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(start.elapsed() < T, "still sending after {sent} boards");
    };
    assert_eq!(error.kind(), ErrorKind::ConnectionAborted, "{error}");
    assert!(sent > 4, "at least the buffer's worth was taken ({sent} boards)");
    assert!(!server.is_open(peer));
    let closed = server.drive(Some(Instant::now() + T), |s| {
        std::iter::from_fn(|| s.poll_basic_event()).any(|e| matches!(e, BasicEvent::Closed(_)))
    });
    assert!(closed.unwrap());
    let again = server.send(peer, PacketType::MSG_INFO, b"anyone?", Delivery::Reliable).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::NotConnected);
    drop(silent);
}

#[test]
fn a_seqlink_client_slower_than_the_silence_is_still_served() {
    // No silence allowed at all: every new stream counts as a basic peer
    // before its first packet arrives, so the seqlink client's SYN finds a
    // basic peer and must take its stream back.
    let server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4)
        .unwrap()
        .with_profiles(Profiles::Detect { silence_ms: 0 }, BasicConfig::default());
    let addr = server.local_addr().unwrap();
    let game = battleship_server(server, 1);
    let mut client = TcpConnection::connect(addr, config(), T).unwrap();
    let first = client.recv(Some(T)).unwrap().unwrap();
    // the welcome the server sent while it took the client for a seed 000
    // peer was not a seqlink packet: the client discarded it
    assert_eq!((first.ptype, first.data), (PacketType::MSG_WELCOME, b"Welcome to Battleship".to_vec()));
    client.send(PacketType::CMD_FIRE, b"B5", Delivery::Reliable).unwrap();
    assert_eq!(client.recv(Some(T)).unwrap().unwrap().data, b"HIT");
    client.send(PacketType::CMD_QUIT, b"", Delivery::Reliable).unwrap();
    assert_eq!(client.recv(Some(T)).unwrap().unwrap().data, b"bye");
    client.close(T).unwrap();
    assert_eq!(game.join().unwrap(), 1);
}

#[test]
fn a_message_sent_while_the_client_is_full_is_not_lost() {
    // The client takes in (and acknowledges) a full window of messages
    // without reading them: the server then sees nothing in flight and a
    // zero window when it sends one more.
    let window = 8;
    let mut c = ConnectionConfig::new().with_link(LinkConfig::low_latency().with_window(window).with_max_payload(1200));
    c.linger_ms = 100;
    let mut server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(c), 2).unwrap();
    let addr = server.local_addr().unwrap();
    let client = thread::spawn(move || TcpConnection::connect(addr, c, T).unwrap());
    let peer = server.accept(Some(T)).unwrap().expect("the client");
    let mut client = client.join().unwrap();
    let TcpPeer::Seqlink(handle) = peer else { panic!("a seqlink client") };
    for i in 0..window {
        server.send(peer, PacketType::MSG_INFO, &[i as u8], Delivery::Reliable).unwrap();
    }
    let start = Instant::now();
    let in_flight = |server: &mut TcpServer| server.endpoint().connection(handle).map_or(0, |c| c.stats().in_flight);
    while in_flight(&mut server) > 0 && start.elapsed() < T {
        client.poll().unwrap(); // takes the packets in and acknowledges them, delivers nothing
        server.drive(Some(Instant::now() + Duration::from_millis(5)), |_| false).unwrap();
    }
    server.send(peer, PacketType::MSG_INFO, &[window as u8], Delivery::Reliable).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let server = thread::spawn(move || {
        let _ = server.drive(Some(Instant::now() + T), |_| stopped.load(Ordering::Relaxed));
    });
    for i in 0..=window {
        let m = client.recv(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(m.map(|m| m.data), Some(vec![i as u8]), "message {i}: {:?}", client.stats());
    }
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
}
