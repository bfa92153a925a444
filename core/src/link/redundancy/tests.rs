#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
// builds without `stats`, `fast-recovery` or `fragmentation` leave out the
// tests that need them, and with them some of these imports
#![cfg_attr(
    not(all(feature = "full-stats", feature = "fast-recovery", feature = "fragmentation")),
    allow(unused_imports)
)]

extern crate std;
use std::vec;
use std::vec::Vec;

use super::super::tests::{deliver, drain, forged_ack, link, ptype, recv_all, TestLink};
use super::super::{Delivery, LinkConfig};
use crate::congestion::CongestionControl;
use crate::seq::Seq;
use crate::wire::{PacketRepr, PacketType};

/// Coalesced datagrams agreed, `redundancy` copies, 100-byte payloads, no
/// congestion control, the standard timing (20 ms ACK delay).
fn thin(redundancy: u8) -> LinkConfig {
    LinkConfig {
        coalesce: true,
        redundancy,
        congestion_control: CongestionControl::Off,
        ..LinkConfig::standard().with_window(8).with_max_payload(100)
    }
}

/// The packets of a datagram: sequence number and type.
fn packets(datagram: &[u8]) -> Vec<(u32, PacketType)> {
    PacketRepr::decode_all(datagram, &thin(0).codec()).map(|p| p.unwrap()).map(|p| (p.seq.0, p.ptype)).collect()
}

/// `a` sends `message` at `now`, in one datagram.
fn send_one(a: &mut TestLink, now: u64, message: &[u8]) -> Vec<u8> {
    a.send(PacketType(60), message, Delivery::Reliable).unwrap();
    let mut out = drain(a, now);
    assert_eq!(out.len(), 1);
    out.pop().unwrap()
}

#[cfg(feature = "stats")]
#[test]
fn a_lost_datagram_is_repaired_by_the_copy_in_the_next_one_without_a_retransmission() {
    let (mut a, mut b) = (link(thin(1)), link(thin(1)));
    let _lost = send_one(&mut a, 0, b"m0");
    let before = a.state.send_meta(&mut a.storage, Seq(0));
    let (deadline, cwnd) = (a.poll_timeout(), a.stats().cwnd);
    let next = send_one(&mut a, 1, b"m1");
    assert_eq!(packets(&next), [(0, PacketType(60)), (1, PacketType(60))], "the copy first, then the new packet");
    // the copy changed nothing of packet 0's recovery
    assert_eq!(a.state.send_meta(&mut a.storage, Seq(0)), before);
    assert_eq!((a.poll_timeout(), a.stats().cwnd), (deadline, cwnd));

    deliver(&mut b, 11, &[next]);
    let delivered: Vec<_> = recv_all(&mut b).into_iter().map(|(_, m)| m).collect();
    assert_eq!(delivered, [b"m0".to_vec(), b"m1".to_vec()]);
    let replies = drain(&mut b, 40);
    assert!(replies.iter().all(|d| ptype(d) != PacketType::NACK), "no hole was seen");
    deliver(&mut a, 50, &replies);
    assert!(a.is_idle());
    let stats = a.stats();
    assert_eq!((stats.retransmissions, stats.timeouts, stats.packets_sent), (0, 0, 3));
}

#[test]
fn copies_stop_at_the_longest_datagram() {
    let mut a = link(thin(3));
    let longest = thin(3).max_datagram_len(); // 109: three 20-byte messages (29 B each), not four
    let mut sent = Vec::new();
    for (now, m) in [b"m0", b"m1", b"m2", b"m3"].iter().enumerate() {
        sent.push(send_one(&mut a, now as u64, &[m[1]; 20]));
    }
    let seqs: Vec<Vec<u32>> = sent.iter().map(|d| packets(d).iter().map(|p| p.0).collect()).collect();
    assert_eq!(seqs, [vec![0], vec![0, 1], vec![0, 1, 2], vec![1, 2, 3]]);
    assert!(sent.iter().all(|d| d.len() <= longest));
}

#[cfg(feature = "fast-recovery")]
#[test]
fn only_packets_still_unacknowledged_are_copied() {
    let mut a = link(thin(3));
    for (now, m) in [b"m0", b"m1", b"m2", b"m3"].iter().enumerate() {
        send_one(&mut a, now as u64, *m);
    }
    // 0 and 1 acknowledged cumulatively, 3 selectively: of 1, 2 and 3 only 2 is still out
    a.handle_datagram(10, &forged_ack(Seq(1), &[Seq(3)]));
    let next = send_one(&mut a, 11, b"m4");
    assert_eq!(packets(&next).iter().map(|p| p.0).collect::<Vec<_>>(), [2, 4]);
}

#[test]
fn nothing_is_copied_while_new_data_waits_or_without_redundancy() {
    let mut a = link(thin(0));
    send_one(&mut a, 0, b"m0");
    assert_eq!(packets(&send_one(&mut a, 1, b"m1")).len(), 1, "redundancy 0");
    // more queued than the peer's window takes: m3 waits, so no copy of m0 rides with m1 and m2
    let mut a = link(LinkConfig { peer_recv_window: 3, ..thin(1) });
    send_one(&mut a, 0, b"m0");
    for m in [b"m1", b"m2", b"m3"] {
        a.send(PacketType(60), m, Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 1);
    assert_eq!(out.iter().map(|d| packets(d).iter().map(|p| p.0).collect()).collect::<Vec<Vec<u32>>>(), [[1, 2]]);
}

#[cfg(feature = "full-stats")]
#[test]
fn a_duplicate_that_comes_with_new_data_forces_no_ack_but_a_datagram_of_duplicates_does() {
    let (mut a, mut b) = (link(thin(1)), link(thin(1)));
    let first = send_one(&mut a, 0, b"m0");
    let second = send_one(&mut a, 1, b"m1"); // a copy of m0, then m1
    deliver(&mut b, 10, &[first]);
    assert_eq!(drain(&mut b, 30).len(), 1, "m0's delayed ACK");
    b.handle_datagram(31, &second);
    assert!(drain(&mut b, 31).is_empty(), "m1 waits for its delayed ACK, and the copy of m0 forces none");
    assert_eq!(b.stats().duplicates, 1);
    b.handle_datagram(32, &second); // now both are duplicates
    assert_eq!(drain(&mut b, 32).len(), 1, "a datagram of duplicates only is acknowledged at once");
    assert_eq!(b.stats().duplicates, 3);
}

#[cfg(feature = "fragmentation")]
#[test]
fn a_lost_last_fragment_is_repaired_by_its_copy_with_its_fragment_header() {
    let (mut a, mut b) = (link(thin(1)), link(thin(1)));
    let long: Vec<u8> = (0..150).map(|i| i as u8).collect(); // two fragments: 94 and 56 bytes
    a.send(PacketType(60), &long, Delivery::Reliable).unwrap();
    let fragments = drain(&mut a, 0);
    assert_eq!(fragments.len(), 2, "a fragment and the last one do not share 109 bytes");
    let next = send_one(&mut a, 1, b"m1"); // the last fragment again, then m1
    assert_eq!(packets(&next), [(1, PacketType::DATA), (2, PacketType(60))]);
    assert_eq!(next[..fragments[1].len()], fragments[1][..], "the copy is the fragment as it was sent");
    deliver(&mut b, 11, &[fragments[0].clone(), next]); // the last fragment's own datagram was lost
    assert_eq!(recv_all(&mut b), [(60, long), (60, b"m1".to_vec())]);
}
