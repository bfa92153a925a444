//! Randomized hostile input to a live connection and a server endpoint:
//! datagrams taken from a real exchange, mutated (bit flips, truncation,
//! splices, random types and payloads) and, half of the time, given a valid
//! check again so that they reach the parsers behind it. Nothing may panic
//! (debug builds also check the link's internal invariants on every call),
//! and the two sides must still be able to talk afterwards.

use seqlink_core::connection::{Connection, ConnectionConfig, State};
use seqlink_core::endpoint::{Endpoint, EndpointConfig, Slot};
use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::wire::{Packet, PacketType};
use seqlink_tests::sim::Rng;

type Server = Endpoint<u32, Vec<u8>, Vec<Slot<u32, Vec<u8>>>>;

fn config() -> ConnectionConfig {
    let mut c = ConnectionConfig::new().with_link(LinkConfig::new().with_window(8).with_max_payload(256));
    c.idle_timeout_ms = 0;
    c
}

fn pump(client: &mut Connection<Vec<u8>>, server: &mut Server, now: u64, log: &mut Vec<(bool, Vec<u8>)>) {
    let mut buf = vec![0u8; 1024];
    for _ in 0..100 {
        let mut moved = false;
        while let Some(n) = client.poll_transmit(now, &mut buf).unwrap() {
            server.handle_datagram(now, 1, &buf[..n]);
            log.push((true, buf[..n].to_vec()));
            moved = true;
        }
        while let Some((_, n)) = server.poll_transmit(now, &mut buf).unwrap() {
            client.handle_datagram(now, &buf[..n]);
            log.push((false, buf[..n].to_vec()));
            moved = true;
        }
        if !moved {
            break;
        }
    }
}

struct Pair {
    client: Connection<Vec<u8>>,
    server: Server,
    handle: seqlink_core::endpoint::ConnectionHandle,
    log: Vec<(bool, Vec<u8>)>,
}

/// A connected pair that exchanged some reliable and unreliable traffic.
fn pair(seed: u64, now: &mut u64) -> Pair {
    let c = config();
    let len = c.link.storage_len();
    let mut server: Server = Endpoint::new(EndpointConfig::new(c), vec![Slot::new(vec![0u8; len])], [2; 16], seed);
    let mut client = Connection::connect(c, vec![0u8; len], *now, seed ^ 0x55).unwrap();
    let mut log = Vec::new();
    pump(&mut client, &mut server, *now, &mut log);
    assert_eq!(client.state(), State::Established);
    let handle = server.accept().unwrap();
    for i in 0..20u32 {
        let _ = client.send(PacketType(100), &vec![i as u8; (i as usize * 37) % 700], Delivery::Reliable);
        let _ = server.send(handle, PacketType(101), &[i as u8; 3], Delivery::Unreliable);
        *now += 30;
        pump(&mut client, &mut server, *now, &mut log);
    }
    Pair { client, server, handle, log }
}

/// Adds a pair's packets taken and refused to the totals.
fn count(p: &mut Pair, taken: &mut u64, refused: &mut u64) {
    let (cs, ss) = (p.client.stats(), p.server.connection(p.handle).map(|c| c.stats()).unwrap_or_default());
    *taken += cs.packets_received + ss.packets_received;
    *refused += cs.corrupt_packets + ss.corrupt_packets + cs.malformed_packets + ss.malformed_packets;
}

#[test]
fn hostile_datagrams_do_not_break_a_connection() {
    let mut now = 0;
    let mut p = pair(1, &mut now);
    let mut rng = Rng::new(5);
    let mut recv = vec![0u8; 8192];
    let (mut taken, mut refused, mut pairs) = (0u64, 0u64, 1);
    for round in 0..20_000u32 {
        if p.client.is_closed() || !p.server.is_open(p.handle) {
            // the adversary ended it (a mutated ERR or RESET that still proved itself): count, start over
            count(&mut p, &mut taken, &mut refused);
            pairs += 1;
            p = pair(u64::from(round), &mut now);
        }
        let codec = p.client.link().config().codec();
        let (to_server, original) = p.log[rng.below(p.log.len() as u64) as usize].clone();
        let mut d = original.clone();
        match rng.below(6) {
            0 => {
                for _ in 0..=rng.below(4) {
                    let bit = rng.below(d.len() as u64 * 8) as usize;
                    d[bit / 8] ^= 1 << (bit % 8);
                }
            }
            1 => d.truncate(rng.below(d.len() as u64 + 1) as usize),
            2 => {
                let other = &p.log[rng.below(p.log.len() as u64) as usize].1;
                let cut = rng.below(d.len().min(other.len()) as u64) as usize;
                d.truncate(cut);
                d.extend_from_slice(&other[cut..]);
            }
            3 => d[4] = rng.below(256) as u8, // another packet type, same payload
            4 => {
                let start = 9.min(d.len());
                for b in &mut d[start..] {
                    *b = rng.below(256) as u8;
                }
            }
            _ => d.extend((0..rng.below(40)).map(|_| rng.below(256) as u8)),
        }
        if rng.chance(0.5) && d.len() >= 9 {
            // make it pass the check again: the parsers behind it see it
            let payload_len = (d.len() - 9).min(usize::from(u16::MAX)) as u16;
            let mut packet = Packet::new_unchecked(&mut d[..]);
            packet.set_payload_len(payload_len);
            let _ = packet.fill_check(&codec);
        }
        if to_server {
            p.server.handle_datagram(now, 1, &d);
        } else {
            p.client.handle_datagram(now, &d);
        }
        if round % 50 == 0 {
            now += 7;
            p.client.handle_timeout(now);
            p.server.handle_timeout(now);
            let mut buf = vec![0u8; 1024];
            while p.client.poll_transmit(now, &mut buf).unwrap().is_some() {} // the adversary drops these
            while p.server.poll_transmit(now, &mut buf).unwrap().is_some() {}
            while p.client.recv(&mut recv).unwrap().is_some() {}
            while p.server.recv(p.handle, &mut recv).unwrap().is_some() {}
        }
    }
    count(&mut p, &mut taken, &mut refused);
    println!("{pairs} connection pairs, {taken} hostile packets taken, {refused} refused");
    assert!(taken > 1000, "mutations reached the parsers");
    assert!(refused > 1000, "damaged packets were refused");
}
