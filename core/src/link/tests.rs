#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

extern crate std;
use std::vec;
use std::vec::Vec;

use super::*;
use crate::integrity::Integrity;
use crate::wire::ack::AckRepr;
#[cfg(feature = "fast-recovery")]
use crate::wire::ack::NackRepr;
use crate::wire::{Codec, Packet, HEADER_LEN};

pub(super) type TestLink = Link<Vec<u8>>;

pub(super) fn link(config: LinkConfig) -> TestLink {
    Link::new(config, vec![0u8; config.storage_len()]).unwrap()
}

fn config() -> LinkConfig {
    LinkConfig::standard().with_window(8).with_max_payload(100)
}

/// [`config`] with congestion control off.
fn uncongested() -> LinkConfig {
    LinkConfig { congestion_control: crate::congestion::CongestionControl::Off, ..config() }
}

/// Everything `from` wants to send now.
/// What a driver does at `now`: runs the timers that are due, then sends everything.
pub(super) fn drain(from: &mut TestLink, now: u64) -> Vec<Vec<u8>> {
    if from.poll_timeout().is_some_and(|t| t <= now) {
        from.handle_timeout(now);
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Some(n) = from.poll_transmit(now, &mut buf).unwrap() {
        out.push(buf[..n].to_vec());
        assert!(out.len() < 10_000, "runaway transmitter");
    }
    out
}

pub(super) fn deliver(to: &mut TestLink, now: u64, datagrams: &[Vec<u8>]) {
    for d in datagrams {
        to.handle_datagram(now, d);
    }
}

pub(super) fn recv_all(link: &mut TestLink) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1 << 16];
    while let Some(r) = link.recv(&mut buf).unwrap() {
        out.push((r.ptype.0, buf[..r.len].to_vec()));
    }
    out
}

pub(super) fn ptype(d: &[u8]) -> PacketType {
    PacketType(d[4])
}

#[test]
fn rejects_bad_configs_and_small_storage() {
    assert_eq!(Link::new(config().with_window(0), vec![0u8; 100_000]).err(), Some(ConfigError::Window));
    assert_eq!(Link::new(config().with_window(257), vec![0u8; 1 << 20]).err(), Some(ConfigError::Window));
    assert_eq!(Link::new(config().with_max_payload(10), vec![0u8; 100_000]).err(), Some(ConfigError::Payload));
    let c = config();
    assert!(matches!(Link::new(c, vec![0u8; c.storage_len() - 1]).err(), Some(ConfigError::Storage { .. })));
    let mut l = link(c);
    assert!(matches!(l.poll_transmit(0, &mut [0u8; 50]), Err(Error::BufferTooSmall { .. })));
}

#[test]
fn in_order_delivery_with_delayed_ack() {
    let mut a = link(config());
    let mut b = link(config());
    a.send(PacketType(50), b"one", Delivery::Reliable).unwrap();
    let out = drain(&mut a, 0);
    assert_eq!(out.len(), 1);
    // a plain seed 000 packet: type 50, seq 0, payload "one"
    assert_eq!(PacketRepr::decode(&out[0], &Codec::new()).unwrap(), PacketRepr::new(Seq(0), PacketType(50), b"one"));
    deliver(&mut b, 1, &out);
    assert_eq!(recv_all(&mut b), vec![(50, b"one".to_vec())]);
    // one packet: the ACK waits for the delayed-ACK timer
    assert!(drain(&mut b, 1).is_empty());
    let deadline = b.poll_timeout().unwrap();
    assert_eq!(deadline, 1 + u64::from(config().timing.ack_delay));
    let acks = drain(&mut b, deadline);
    assert_eq!(acks.len(), 1);
    assert_eq!(ptype(&acks[0]), PacketType::ACK);
    deliver(&mut a, deadline, &acks);
    assert!(a.is_idle());
    assert_eq!(a.stats().srtt_ms, u32::try_from(deadline).unwrap());
}

#[cfg(all(feature = "fragmentation", feature = "full-stats"))]
#[test]
fn fragments_are_reassembled() {
    let c = uncongested();
    let mut a = link(c);
    let mut b = link(c);
    let message: Vec<u8> = (0..500u32).map(|i| i as u8).collect();
    a.send(PacketType(60), &message, Delivery::Reliable).unwrap();
    let out = drain(&mut a, 0);
    assert_eq!(out.len(), 500usize.div_ceil(c.fragment_data_len()));
    assert!(out.iter().all(|d| ptype(d) == PacketType::DATA));
    // deliver in reverse order: nothing until the first fragment arrives
    for d in out.iter().rev() {
        b.handle_datagram(0, d);
    }
    assert_eq!(b.next_message_len(), Some(500));
    assert_eq!(recv_all(&mut b), vec![(60, message.clone())]);
    assert_eq!(b.stats().out_of_order, out.len() as u64 - 1);
}

#[cfg(feature = "fragmentation")]
#[test]
fn recv_with_small_buffer_consumes_nothing() {
    let mut a = link(config());
    let mut b = link(config());
    a.send(PacketType(60), &[7u8; 300], Delivery::Reliable).unwrap();
    deliver(&mut b, 0, &drain(&mut a, 0));
    let mut small = [0u8; 299];
    assert_eq!(b.recv(&mut small), Err(Error::BufferTooSmall { needed: 300, available: 299 }));
    assert_eq!(recv_all(&mut b), vec![(60, vec![7u8; 300])]);
}

#[test]
fn window_full_blocks_then_writable() {
    let c = config().with_window(2);
    let mut a = link(c);
    let mut b = link(c);
    a.send(PacketType(60), b"1", Delivery::Reliable).unwrap();
    a.send(PacketType(60), b"2", Delivery::Reliable).unwrap();
    assert_eq!(a.send(PacketType(60), b"3", Delivery::Reliable), Err(SendError::WouldBlock));
    assert_eq!(
        a.send(PacketType(60), &[0u8; 1000], Delivery::Reliable),
        Err(SendError::MessageTooLarge { max: c.max_message_len() })
    );
    deliver(&mut b, 0, &drain(&mut a, 0));
    deliver(&mut a, 0, &drain(&mut b, 0)); // two packets: immediate ACK
    assert_eq!(a.poll_event(), Some(Event::Writable));
    a.send(PacketType(60), b"3", Delivery::Reliable).unwrap();
}

#[test]
fn reserved_types_are_refused() {
    let mut a = link(config());
    assert_eq!(a.send(PacketType::ACK, b"", Delivery::Reliable), Err(SendError::ReservedType));
    assert_eq!(a.send(PacketType(30), b"", Delivery::Reliable), Err(SendError::ReservedType));
}

#[cfg(all(feature = "stats", feature = "congestion"))]
#[test]
fn lost_packet_is_retransmitted_after_rto_with_backoff() {
    let c = config();
    let mut a = link(c);
    a.send(PacketType(60), b"x", Delivery::Reliable).unwrap();
    assert_eq!(drain(&mut a, 0).len(), 1); // lost
                                           // the RTO, plus the ACK delay the peer may take
    let (rto, slack) = (u64::from(c.timing.initial_rto), u64::from(c.timing.ack_delay));
    assert_eq!(a.poll_timeout(), Some(rto + slack));
    assert!(drain(&mut a, rto + slack - 1).is_empty());
    assert_eq!(drain(&mut a, rto + slack).len(), 1);
    assert_eq!(a.poll_timeout(), Some(rto + slack + 2 * rto + slack)); // doubled
    assert_eq!(a.stats().retransmissions, 1);
    assert_eq!(a.stats().timeouts, 1);
    assert_eq!(a.stats().cwnd, 1);
}

#[test]
fn dead_peer_fails_the_link() {
    let mut c = config();
    c.timing.max_retries = 3;
    let mut a = link(c);
    a.send(PacketType(60), b"x", Delivery::Reliable).unwrap();
    let mut now = 0;
    let mut sends = 0;
    while a.failure().is_none() {
        sends += drain(&mut a, now).len();
        now = a.poll_timeout().unwrap_or(now);
        assert!(now < 10_000_000);
    }
    assert_eq!(sends, 4); // original + 3 retransmissions
    assert_eq!(a.poll_event(), Some(Event::Failed(FailReason::DeadPeer { seq: Seq(0) })));
    assert_eq!(a.send(PacketType(60), b"y", Delivery::Reliable), Err(SendError::Failed));
    assert!(a.poll_timeout().is_none());
}

#[cfg(feature = "full-stats")]
#[test]
fn duplicate_is_answered_with_the_cumulative_ack() {
    let mut a = link(config());
    let mut b = link(config());
    for m in [b"a", b"b", b"c"] {
        a.send(PacketType(60), m, Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    deliver(&mut b, 0, &out);
    let _ = drain(&mut b, 100); // acks, lost
    b.handle_datagram(200, &out[0]); // the sender retransmits the first one
    let acks = drain(&mut b, 200);
    assert_eq!(acks.len(), 1);
    let ack = AckRepr::parse(&acks[0][HEADER_LEN..]).unwrap();
    assert_eq!(ack.cumulative, Seq(2)); // not just the duplicate's own number
    assert_eq!(b.stats().duplicates, 1);
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
#[test]
fn gap_triggers_nack_and_immediate_retransmission() {
    let mut a = link(config());
    let mut b = link(config());
    for m in [b"a", b"b", b"c"] {
        a.send(PacketType(60), m, Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    deliver(&mut b, 5, &out[1..]); // first lost
    let replies = drain(&mut b, 5);
    let nacks: Vec<_> = replies.iter().filter(|d| ptype(d) == PacketType::NACK).collect();
    assert_eq!(nacks.len(), 1, "one NACK despite two out-of-order packets (rate limit)");
    assert_eq!(NackRepr::parse(&nacks[0][HEADER_LEN..]).unwrap().seq, Seq(0));
    deliver(&mut a, 10, &replies);
    let resent = drain(&mut a, 10);
    assert_eq!(resent.len(), 1);
    assert_eq!(Packet::new_unchecked(&resent[0][..]).seq(), Seq(0));
    deliver(&mut b, 15, &resent);
    assert_eq!(recv_all(&mut b).len(), 3);
    assert_eq!(a.stats().nacks_received, 1);
    assert_eq!(b.stats().nacks_sent, 1);
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
#[test]
fn sack_drives_fast_retransmit() {
    let mut c = config();
    c.timing.nack_interval = 1_000_000; // no NACKs after the first: SACK alone must do it
    let mut a = link(c);
    let mut b = link(c);
    for i in 0..4u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    assert_eq!(out.len(), 4);
    // packet 0 lost; 1, 2, 3 arrive, each answered by an ACK with SACK bits
    let mut replies = Vec::new();
    for d in &out[1..] {
        b.handle_datagram(1, d);
        replies.extend(drain(&mut b, 1).into_iter().filter(|d| ptype(d) == PacketType::ACK));
    }
    assert_eq!(replies.len(), 3);
    deliver(&mut a, 2, &replies);
    assert_eq!(a.stats().fast_retransmissions, 1);
    let resent = drain(&mut a, 2);
    assert_eq!(Packet::new_unchecked(&resent[0][..]).seq(), Seq(0));
}

#[test]
fn plain_seed_acks_are_understood() {
    let mut a = link(config());
    for m in [b"a", b"b"] {
        a.send(PacketType(60), m, Delivery::Reliable).unwrap();
    }
    assert_eq!(drain(&mut a, 0).len(), 2);
    let mut ack = [0u8; 13];
    let n = PacketRepr::new(Seq(0), PacketType::ACK, &1u32.to_be_bytes()).emit(&mut ack, &Codec::new()).unwrap();
    a.handle_datagram(5, &ack[..n]);
    assert!(a.is_idle());
}

#[cfg(all(feature = "unreliable", feature = "full-stats"))]
#[test]
fn unreliable_messages_drop_late_and_duplicate_packets() {
    let mut a = link(config());
    let mut b = link(config());
    for m in [b"s1", b"s2", b"s3"] {
        a.send(PacketType(70), m, Delivery::Unreliable).unwrap();
    }
    let out = drain(&mut a, 0);
    assert_eq!(out.len(), 3);
    b.handle_datagram(0, &out[1]);
    b.handle_datagram(0, &out[0]); // late
    b.handle_datagram(0, &out[1]); // duplicate
    b.handle_datagram(0, &out[2]);
    let got = recv_all(&mut b);
    assert_eq!(got, vec![(70, b"s2".to_vec()), (70, b"s3".to_vec())]);
    assert_eq!(b.stats().unreliable_dropped, 2);
    // nothing to retransmit
    assert!(a.is_idle());
    assert!(a.poll_timeout().is_none());
}

#[test]
fn acks_ride_on_data_when_they_fit() {
    let mut a = link(config());
    let mut b = link(config());
    a.send(PacketType(60), b"ping", Delivery::Reliable).unwrap();
    deliver(&mut b, 0, &drain(&mut a, 0));
    b.send(PacketType(61), b"pong", Delivery::Reliable).unwrap();
    let out = drain(&mut b, 1);
    assert_eq!(out.len(), 1);
    assert_eq!(ptype(&out[0]), PacketType::DATA);
    deliver(&mut a, 2, &out);
    assert!(a.is_idle(), "the piggybacked ACK acknowledged ping");
    assert_eq!(recv_all(&mut a), vec![(61, b"pong".to_vec())]);
}

#[cfg(feature = "full-stats")]
#[test]
fn zero_window_probe_and_window_update() {
    let c = config().with_window(2);
    let mut a = link(c);
    let mut b = link(c);
    for m in [b"1", b"2", b"3"] {
        while a.send(PacketType(60), m, Delivery::Reliable).is_err() {
            let out = drain(&mut a, 0);
            deliver(&mut b, 0, &out);
            deliver(&mut a, 0, &drain(&mut b, 0));
        }
    }
    // b's application reads nothing: its window is 0; a probes with one packet
    let probe = drain(&mut a, 0);
    assert_eq!(probe.len(), 1);
    deliver(&mut b, 0, &probe);
    assert_eq!(b.stats().out_of_window, 1);
    deliver(&mut a, 0, &drain(&mut b, 0));
    // reading opens the window and sends an update at once
    assert_eq!(recv_all(&mut b).len(), 2);
    let update = drain(&mut b, 1);
    assert_eq!(update.len(), 1);
    deliver(&mut a, 1, &update);
    let mut now = 1;
    while !a.is_idle() {
        now = a.poll_timeout().unwrap().max(now);
        deliver(&mut b, now, &drain(&mut a, now));
        deliver(&mut a, now, &drain(&mut b, now));
        assert!(now < 100_000);
    }
    assert_eq!(recv_all(&mut b), vec![(60, b"3".to_vec())]);
}

/// The window an ACK datagram advertises.
fn advertised_window(datagram: &[u8]) -> Option<u16> {
    let packet = PacketRepr::decode(datagram, &Codec::new()).unwrap();
    assert_eq!(packet.ptype, PacketType::ACK);
    AckRepr::parse(packet.payload).unwrap().window
}

#[test]
fn reading_a_burst_sends_a_window_update_the_sender_can_fill() {
    let c = uncongested();
    let mut a = link(c);
    let mut b = link(c);
    for m in [b"1", b"2", b"3"] {
        a.send(PacketType(60), m, Delivery::Reliable).unwrap();
    }
    deliver(&mut b, 0, &drain(&mut a, 0));
    // b acknowledges the burst before its application reads it: 5 of 8 free
    let ack = drain(&mut b, 0);
    assert_eq!((ack.len(), advertised_window(&ack[0])), (1, Some(5)));
    deliver(&mut a, 1, &ack);
    // then reads all three: the window it advertised is 3 packets short
    assert_eq!(recv_all(&mut b).len(), 3);
    let update = drain(&mut b, 1);
    assert_eq!(update.len(), 1, "a window update once everything received is read");
    assert_eq!(advertised_window(&update[0]), Some(8));
    deliver(&mut a, 2, &update);
    for i in 0..8u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    assert_eq!(drain(&mut a, 2).len(), 8, "the whole window may be in flight");
}

#[test]
fn reading_what_one_ack_left_unread_sends_no_window_update() {
    let c = uncongested();
    let mut a = link(c);
    let mut b = link(c);
    // a trickle: each packet read soon after it arrived
    a.send(PacketType(60), b"1", Delivery::Reliable).unwrap();
    deliver(&mut b, 0, &drain(&mut a, 0));
    assert_eq!(recv_all(&mut b).len(), 1);
    a.send(PacketType(60), b"2", Delivery::Reliable).unwrap();
    deliver(&mut b, 1, &drain(&mut a, 1));
    let ack = drain(&mut b, 1); // every second packet
    assert_eq!((ack.len(), advertised_window(&ack[0])), (1, Some(7)));
    assert_eq!(recv_all(&mut b).len(), 1);
    assert!(drain(&mut b, 1).is_empty(), "one packet more room: no ACK of its own");
    // a hole: what is read is not all that was received
    for m in [b"3", b"4", b"5", b"6"] {
        a.send(PacketType(60), m, Delivery::Reliable).unwrap();
    }
    let burst = drain(&mut a, 2);
    deliver(&mut b, 2, &[burst[0].clone(), burst[1].clone(), burst[3].clone()]);
    drain(&mut b, 2);
    assert_eq!(recv_all(&mut b).len(), 2);
    assert!(drain(&mut b, 2).is_empty(), "packets held beyond a hole: no window update");
}

#[cfg(feature = "fragmentation")]
#[test]
fn oversized_incoming_message_is_dropped_with_an_event() {
    let big = config().with_window(16);
    let mut a = link(big);
    let mut small_cfg = config().with_window(4);
    small_cfg.peer_recv_window = 16;
    let mut b = link(small_cfg);
    let message = vec![1u8; 10 * big.fragment_data_len()];
    a.send(PacketType(60), &message, Delivery::Reliable).unwrap();
    a.send(PacketType(60), b"after", Delivery::Reliable).unwrap();
    let mut now = 0;
    for _ in 0..200 {
        deliver(&mut b, now, &drain(&mut a, now));
        deliver(&mut a, now, &drain(&mut b, now));
        now += 50;
    }
    assert_eq!(b.poll_event(), Some(Event::MessageDropped { fragments: 10 }));
    assert_eq!(recv_all(&mut b), vec![(60, b"after".to_vec())]);
    assert!(a.is_idle());
}

#[cfg(all(feature = "trace", feature = "full-stats"))]
#[test]
fn traces_record_packet_events() {
    let mut c = config();
    c.trace_slots = 3;
    let mut a = link(c);
    for i in 0..4u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let _ = drain(&mut a, 0); // 4 sent into a ring of 3
    assert_eq!(a.stats().trace_overflows, 1);
    let first = a.poll_trace().unwrap();
    assert_eq!((first.kind, first.seq, first.ptype, first.len), (TraceKind::Sent, Seq(1), PacketType(60), 10));
    let _ = drain(&mut a, 5000); // timeout: the oldest packet is resent
    let mut last = None;
    while let Some(t) = a.poll_trace() {
        last = Some(t);
    }
    let last = last.unwrap();
    assert_eq!((last.kind, last.seq, last.time_ms), (TraceKind::Retransmitted, Seq(0), 5000));
}

#[test]
fn sequence_numbers_wrap() {
    let c = config().with_initial_seqs(Seq(u32::MAX - 2), Seq(u32::MAX - 2));
    let mut a = link(c);
    let mut b = link(c);
    let mut now = 0;
    let mut sent = 0u32;
    let mut got = Vec::new();
    while got.len() < 20 {
        while sent < 20 && a.send(PacketType(60), &sent.to_be_bytes(), Delivery::Reliable).is_ok() {
            sent += 1;
        }
        deliver(&mut b, now, &drain(&mut a, now));
        deliver(&mut a, now, &drain(&mut b, now));
        got.extend(recv_all(&mut b));
        now += 10;
    }
    for (i, (_, m)) in got.iter().enumerate() {
        assert_eq!(m, &(i as u32).to_be_bytes());
    }
}

#[test]
fn fin_follows_the_data_and_is_acknowledged() {
    let mut a = link(config());
    let mut b = link(config());
    a.send(PacketType(60), b"last words", Delivery::Reliable).unwrap();
    a.send_fin().unwrap();
    assert_eq!(a.send(PacketType(60), b"more", Delivery::Reliable), Err(SendError::Closing));
    let out = drain(&mut a, 0);
    assert_eq!(out.len(), 2);
    assert_eq!(ptype(&out[1]), PacketType::FIN);
    b.handle_datagram(1, &out[1]); // FIN first: not finished until the data before it arrives
    assert!(!b.peer_finished());
    b.handle_datagram(2, &out[0]);
    assert!(b.peer_finished());
    deliver(&mut a, 3, &drain(&mut b, 3));
    assert!(a.fin_acknowledged());
    assert_eq!(recv_all(&mut b), vec![(60, b"last words".to_vec())]);
    assert!(recv_all(&mut b).is_empty(), "the FIN is never handed to the application");
}

#[test]
fn without_retransmission_nothing_is_resent() {
    let mut c = config();
    c.retransmit = false;
    let mut a = link(c);
    a.send(PacketType(60), b"x", Delivery::Reliable).unwrap();
    assert_eq!(drain(&mut a, 0).len(), 1);
    assert_eq!(a.poll_timeout(), None);
    assert!(drain(&mut a, 1_000_000).is_empty());
}

// ---- false SACKs (SACK information is advisory) ----------------------------------

/// An ACK datagram (extended block) acknowledging up to `cumulative` and
/// selectively the packets in `sacked`, as a forger or a corrupted ACK
/// whose checksum still matched would deliver it.
pub(super) fn forged_ack(cumulative: Seq, sacked: &[Seq]) -> Vec<u8> {
    let mut sack = crate::wire::ack::Sack::new();
    for seq in sacked {
        sack.set(seq.offset_from(cumulative.advance(2)) as usize);
    }
    let ack = AckRepr { cumulative, window: Some(8), sack };
    let mut block = [0u8; crate::wire::ack::ACK_BLOCK_MAX_LEN];
    let len = ack.emit(&mut block).unwrap();
    let mut out = vec![0u8; HEADER_LEN + len];
    let n = PacketRepr::new(Seq(0), PacketType::ACK, &block[..len]).emit(&mut out, &Codec::new()).unwrap();
    out.truncate(n);
    out
}

pub(super) fn seq_of(d: &[u8]) -> Seq {
    Packet::new_unchecked(d).seq()
}

fn is_data(d: &[u8]) -> bool {
    let t = ptype(d);
    t.is_application() || t == PacketType::DATA
}

/// `a` sends four messages; a forged ACK claims packet 1 arrived; packet 1
/// is lost; `b` gets 0, 2 and 3. Returns what `b` answered (an ACK of 0
/// with 2 and 3 selectively acknowledged, and a NACK of 1), not yet
/// delivered to `a`.
fn falsely_sacked_packet_1(a: &mut TestLink, b: &mut TestLink) -> Vec<Vec<u8>> {
    for m in [b"m0", b"m1", b"m2", b"m3"] {
        a.send(PacketType(60), m, Delivery::Reliable).unwrap();
    }
    let out = drain(a, 0);
    assert_eq!(out.len(), 4);
    a.handle_datagram(1, &forged_ack(Seq(0).retreat(1), &[Seq(1)]));
    for d in out.iter().filter(|d| seq_of(d) != Seq(1)) {
        b.handle_datagram(5, d);
    }
    drain(b, 5)
}

#[cfg(feature = "fast-recovery")]
#[test]
fn falsely_sacked_packet_is_resent_on_timeout() {
    let mut a = link(config());
    let mut b = link(config());
    let replies = falsely_sacked_packet_1(&mut a, &mut b);
    // the receiver's NACKs are lost: only the retransmission timer is left
    let acks: Vec<_> = replies.into_iter().filter(|d| ptype(d) != PacketType::NACK).collect();
    deliver(&mut a, 10, &acks);
    assert!(drain(&mut a, 10).is_empty(), "packet 1 waits for the timer");
    let timeout = a.poll_timeout().unwrap();
    let resent = drain(&mut a, timeout);
    assert_eq!(resent.iter().map(|d| seq_of(d)).collect::<Vec<_>>(), vec![Seq(1)]);
    deliver(&mut b, timeout + 5, &resent);
    let texts: Vec<Vec<u8>> = recv_all(&mut b).into_iter().map(|(_, m)| m).collect();
    assert_eq!(texts, vec![b"m0".to_vec(), b"m1".to_vec(), b"m2".to_vec(), b"m3".to_vec()]);
    deliver(&mut a, timeout + 10, &drain(&mut b, timeout + 10));
    assert!(a.is_idle());
    assert_eq!(a.failure(), None);
}

#[cfg(feature = "fast-recovery")]
#[test]
fn nack_of_a_falsely_sacked_packet_is_honoured() {
    let mut a = link(config());
    let mut b = link(config());
    let replies = falsely_sacked_packet_1(&mut a, &mut b);
    assert!(replies
        .iter()
        .any(|d| ptype(d) == PacketType::NACK && NackRepr::parse(&d[HEADER_LEN..]) == Ok(NackRepr::new(Seq(1)))));
    deliver(&mut a, 10, &replies);
    // resent at once, long before the retransmission timer
    let resent: Vec<_> = drain(&mut a, 10).into_iter().filter(|d| is_data(d)).collect();
    assert_eq!(resent.iter().map(|d| seq_of(d)).collect::<Vec<_>>(), vec![Seq(1)]);
    assert_eq!(a.stats().timeouts, 0);
}

#[test]
fn falsely_sacked_packet_counts_towards_dead_peer() {
    let mut c = config();
    c.timing.max_retries = 3;
    let mut a = link(c);
    let mut b = link(c);
    let replies = falsely_sacked_packet_1(&mut a, &mut b);
    let acks: Vec<_> = replies.into_iter().filter(|d| ptype(d) != PacketType::NACK).collect();
    deliver(&mut a, 10, &acks);
    // the peer is gone: nothing reaches it any more
    let mut now = 10;
    let mut resends = 0;
    while a.failure().is_none() {
        resends += drain(&mut a, now).iter().filter(|d| seq_of(d) == Seq(1)).count();
        now = a.poll_timeout().unwrap_or(now);
        assert!(now < 30 * 60 * 1000, "no failure in 30 simulated minutes");
    }
    assert_eq!(resends, 3);
    assert_eq!(a.poll_event(), Some(Event::Failed(FailReason::DeadPeer { seq: Seq(1) })));
}

#[test]
fn timers_at_the_end_of_the_clock() {
    let mut a = link(config());
    let mut b = link(config());
    let start = u64::MAX - 100; // the RTO (1 s) runs past the end of the clock
    a.send(PacketType(60), b"x", Delivery::Reliable).unwrap();
    assert_eq!(drain(&mut a, start).len(), 1); // lost
    assert_eq!(a.poll_timeout(), Some(u64::MAX), "held at the end of the clock");
    assert!(drain(&mut a, u64::MAX - 1).is_empty());
    let resent = drain(&mut a, u64::MAX);
    assert_eq!(resent.len(), 1, "expires once when the clock gets there");
    // the clock stands at its end: no timer that would expire at every call
    assert_eq!(a.poll_timeout(), None);
    for _ in 0..100 {
        assert!(drain(&mut a, u64::MAX).is_empty());
    }
    assert_eq!(a.failure(), None);
    // a delayed ACK still goes out
    deliver(&mut b, u64::MAX, &resent);
    assert!(drain(&mut b, u64::MAX - 1).is_empty());
    assert_eq!(b.poll_timeout(), Some(u64::MAX));
    deliver(&mut a, u64::MAX, &drain(&mut b, u64::MAX));
    assert!(a.is_idle());
}

/// Builds without optional features (`cargo test -p seqlink-core --no-default-features --lib`, which
/// `scripts/test.sh` runs; the tests that need a feature are compiled out without it).
#[cfg(any(
    not(feature = "fragmentation"),
    not(feature = "unreliable"),
    not(feature = "trace"),
    all(feature = "stats", not(feature = "full-stats"))
))]
mod minimal_build {
    use super::*;

    /// One fragment of a peer's message, as a fragmenting peer sends it.
    #[cfg(not(feature = "fragmentation"))]
    fn fragment(seq: u32, index: u16, count: u16) -> Vec<u8> {
        use crate::wire::data::{DataRepr, Fragment};
        let repr = DataRepr {
            app_type: PacketType(60),
            ack: None,
            fragment: Some(Fragment { index, count }),
            unreliable: false,
            data: &[],
        };
        let mut payload = vec![0u8; 64];
        let n = repr.emit_header(&mut payload).unwrap();
        payload.truncate(n);
        payload.extend_from_slice(b"piece");
        let mut buf = vec![0u8; 256];
        let n = PacketRepr::new(Seq(seq), PacketType::DATA, &payload).emit(&mut buf, &Codec::new()).unwrap();
        buf.truncate(n);
        buf
    }

    #[cfg(not(feature = "fragmentation"))]
    #[test]
    fn without_fragmentation_a_message_must_fit_one_packet_and_fragments_are_dropped() {
        let c = config();
        assert_eq!(c.max_message_len(), 100);
        let mut a = link(c);
        assert_eq!(
            a.send(PacketType(60), &[7u8; 101], Delivery::Reliable),
            Err(SendError::MessageTooLarge { max: 100 })
        );
        let mut b = link(c);
        let plain = PacketRepr::new(Seq(2), PacketType(61), b"after");
        let mut buf = [0u8; 256];
        let n = plain.emit(&mut buf, &Codec::new()).unwrap();
        deliver(&mut b, 0, &[fragment(0, 0, 2), fragment(1, 1, 2), buf[..n].to_vec()]);
        assert_eq!(b.poll_event(), Some(Event::MessageDropped { fragments: 2 }));
        assert_eq!(recv_all(&mut b), vec![(61, b"after".to_vec())]);
        // everything is acknowledged: the peer does not resend the dropped message
        let acks = drain(&mut b, 100);
        let ack = acks.iter().find(|d| ptype(d) == PacketType::ACK).unwrap();
        let packet = PacketRepr::decode(ack, &Codec::new()).unwrap();
        assert_eq!(AckRepr::parse(packet.payload).unwrap().cumulative, Seq(2));
    }

    #[cfg(not(feature = "unreliable"))]
    #[test]
    fn without_unreliable_delivery_the_slots_are_ignored() {
        let mut c = config();
        c.unreliable_slots = 8;
        let mut without = c;
        without.unreliable_slots = 0;
        assert_eq!(c.storage_len(), without.storage_len());
        let mut a = link(c);
        assert_eq!(a.send(PacketType(60), b"x", Delivery::Unreliable), Err(SendError::UnreliableDisabled));
    }

    #[cfg(not(feature = "trace"))]
    #[test]
    fn without_tracing_nothing_is_recorded() {
        let mut c = config();
        c.trace_slots = 16;
        let mut without = c;
        without.trace_slots = 0;
        assert_eq!(c.storage_len(), without.storage_len());
        let mut a = link(c);
        a.send(PacketType(60), b"x", Delivery::Reliable).unwrap();
        assert_eq!(drain(&mut a, 0).len(), 1);
        assert_eq!(a.poll_trace(), None);
    }

    #[cfg(all(feature = "stats", not(feature = "full-stats")))]
    #[test]
    fn without_full_stats_a_few_counters_are_kept() {
        let mut a = link(config());
        let mut b = link(config());
        a.send(PacketType(60), b"x", Delivery::Reliable).unwrap();
        let out = drain(&mut a, 0);
        deliver(&mut b, 0, &out);
        deliver(&mut b, 0, &out); // a duplicate
        let (sa, sb) = (a.stats(), b.stats());
        assert_eq!((sa.packets_sent, sa.bytes_sent), (1, out[0].len() as u64));
        assert_eq!((sb.packets_received, sb.bytes_received), (2, 2 * out[0].len() as u64));
        assert_eq!((sa.messages_sent, sb.duplicates), (0, 0), "counters beyond the kept few read 0");
    }
}

// ---- loss recovery per packet ------------------------------------------------

fn data_seqs(datagrams: &[Vec<u8>]) -> Vec<u32> {
    datagrams.iter().filter(|d| is_data(d)).map(|d| seq_of(d).0).collect()
}

#[cfg(feature = "fast-recovery")]
fn nacked(datagrams: &[Vec<u8>]) -> Vec<Vec<u32>> {
    let nacks = datagrams.iter().filter(|d| ptype(d) == PacketType::NACK);
    nacks.map(|d| NackRepr::parse(&d[HEADER_LEN..]).unwrap().seqs().map(|s| s.0).collect()).collect()
}

#[test]
fn each_packet_has_its_own_resend_deadline() {
    let c = config();
    // each deadline: the RTO (backed off per timeout of that packet) plus the peer's ACK delay
    let (rto, slack) = (u64::from(c.timing.initial_rto), u64::from(c.timing.ack_delay));
    let mut a = link(c);
    a.send(PacketType(60), b"0", Delivery::Reliable).unwrap();
    assert_eq!(data_seqs(&drain(&mut a, 0)), [0]); // lost
    a.send(PacketType(60), b"1", Delivery::Reliable).unwrap();
    assert_eq!(data_seqs(&drain(&mut a, 100)), [1]); // lost too
    assert_eq!(a.poll_timeout(), Some(rto + slack));
    // packet 0's deadline: only packet 0 is resent
    let t0 = rto + slack;
    assert_eq!(data_seqs(&drain(&mut a, t0)), [0]);
    // the peer is silent: packet 1 waits one RTO after that timeout (not its own 100 + RTO)
    assert_eq!(a.poll_timeout(), Some(t0 + rto + slack));
    assert_eq!(data_seqs(&drain(&mut a, t0 + rto + slack)), [1]);
    // each backs off from its own resend: packet 0 is due 2 RTO after its
    // resend, here held a little longer by packet 1's timeout
    let t1 = t0 + rto + slack;
    assert_eq!(a.poll_timeout(), Some((t0 + 2 * rto + slack).max(t1 + rto + slack)));
}

#[cfg(feature = "fast-recovery")]
#[test]
fn once_the_peer_acknowledges_again_each_packet_keeps_its_own_deadline() {
    let c = config();
    let (rto, slack) = (u64::from(c.timing.initial_rto), u64::from(c.timing.ack_delay));
    let mut a = link(c);
    let mut b = link(c);
    a.send(PacketType(60), b"a", Delivery::Reliable).unwrap();
    assert_eq!(data_seqs(&drain(&mut a, 0)), [0]); // lost
    a.send(PacketType(60), b"b", Delivery::Reliable).unwrap();
    assert_eq!(data_seqs(&drain(&mut a, 100)), [1]); // lost
    a.send(PacketType(60), b"c", Delivery::Reliable).unwrap();
    let late = drain(&mut a, 900);
    let t0 = rto + slack;
    assert_eq!(data_seqs(&drain(&mut a, t0)), [0]); // timeout of 0: packet 1 held
    assert_eq!(a.poll_timeout(), Some(t0 + rto + slack));
    // packet 2 arrives and is selectively acknowledged: the peer is alive
    b.handle_datagram(t0 + 5, &late[0]);
    let acks: Vec<_> = drain(&mut b, t0 + 5).into_iter().filter(|d| ptype(d) == PacketType::ACK).collect();
    deliver(&mut a, t0 + 10, &acks);
    // packet 1 is due one (new) RTO after its own transmission: at once
    let new_rto = u64::from(a.rtt().1);
    assert!(new_rto < rto);
    assert_eq!(a.poll_timeout(), Some(100 + new_rto + slack));
    assert_eq!(data_seqs(&drain(&mut a, t0 + 10)), [1]);
}

#[test]
fn acknowledgements_of_later_packets_do_not_postpone_an_older_packets_deadline() {
    let mut a = link(config());
    let mut b = link(config());
    for m in [b"a", b"b", b"c", b"d"] {
        a.send(PacketType(60), m, Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    assert_eq!(out.len(), 4);
    // packet 0 is lost; two others arrive one by one and are selectively
    // acknowledged (one ACK short of fast retransmit)
    for (i, d) in out[1..3].iter().enumerate() {
        let now = 50 + 50 * i as u64;
        b.handle_datagram(now, d);
        let acks: Vec<_> = drain(&mut b, now).into_iter().filter(|d| ptype(d) == PacketType::ACK).collect();
        deliver(&mut a, now, &acks);
        // packet 0 stays due at its own send time (0) + the current RTO + ack_delay, not later
        let due = u64::from(a.rtt().1) + u64::from(config().timing.ack_delay);
        assert_eq!(a.poll_timeout(), Some(due), "after the SACK at {now} ms");
    }
}

/// A peer that acknowledges cumulatively only (a client built without
/// `fast-recovery` never sends SACK bits) cannot acknowledge packets past a
/// hole. A packet a timeout left waiting for the congestion window must not
/// wait behind a later one that times out and fills that window again: the
/// oldest goes at the next timeout (RFC 6298 5.4), or it would never go and
/// the later one would be resent until the link fails (issue 8/12: the
/// firmware host's "dead peer").
#[cfg(feature = "congestion")]
#[test]
fn a_packet_left_waiting_by_a_timeout_goes_before_a_later_one_against_a_cumulative_only_peer() {
    let c = config();
    let (rto, slack) = (u64::from(c.timing.initial_rto), u64::from(c.timing.ack_delay));
    let mut a = link(c);
    for m in [b"0", b"1", b"2"] {
        a.send(PacketType(60), m, Delivery::Reliable).unwrap();
    }
    assert_eq!(data_seqs(&drain(&mut a, 0)), [0, 1, 2]); // all lost
    a.send(PacketType(60), b"3", Delivery::Reliable).unwrap();
    assert_eq!(data_seqs(&drain(&mut a, 10)), [3]); // arrives, past the holes
                                                    // the timeout of 0, 1 and 2: the window is 1 packet, 0 goes, 1 and 2 wait for room
    let t0 = rto + slack;
    assert_eq!(data_seqs(&drain(&mut a, t0)), [0]);
    // 0 arrives and is acknowledged just as packet 3's own deadline comes
    let t1 = t0 + 10;
    assert_eq!(a.poll_timeout(), Some(t0 + rto + slack), "held after the timeout");
    a.handle_datagram(t1, &forged_ack(Seq(0), &[]));
    assert_eq!(a.poll_timeout(), Some(10 + rto + slack));
    assert_eq!(10 + rto + slack, t1);
    // that timeout resends the oldest packet presumed lost, 1, not 3
    assert_eq!(data_seqs(&drain(&mut a, t1)), [1], "the packet left waiting goes first");
    // the peer acknowledges up to 1; the window reopens for 2 and 3
    a.handle_datagram(t1 + 10, &forged_ack(Seq(1), &[]));
    assert_eq!(data_seqs(&drain(&mut a, t1 + 10)), [2, 3]);
    a.handle_datagram(t1 + 20, &forged_ack(Seq(3), &[]));
    assert!(a.is_idle());
    assert!(a.failure().is_none());
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
#[test]
fn a_packet_is_fast_retransmitted_again_when_its_resend_is_lost() {
    let mut c = uncongested();
    c.timing.fast_resend = 2;
    c.timing.nack_interval = 1_000_000; // SACK alone
    let mut a = link(c);
    let mut b = link(c);
    for i in 0..4u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    // packet 0 lost; 1, 2, 3 arrive and are selectively acknowledged
    let mut replies = Vec::new();
    for d in &out[1..] {
        b.handle_datagram(10, d);
        replies.extend(drain(&mut b, 10).into_iter().filter(|d| ptype(d) == PacketType::ACK));
    }
    deliver(&mut a, 20, &replies);
    assert_eq!(a.stats().fast_retransmissions, 1);
    for i in 4..6u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 20);
    assert_eq!(data_seqs(&out), [0, 4, 5]); // the resend of 0 is lost again
    let mut replies = Vec::new();
    for d in &out[1..] {
        b.handle_datagram(30, d);
        replies.extend(drain(&mut b, 30).into_iter().filter(|d| ptype(d) == PacketType::ACK));
    }
    // the two ACKs of packets sent after the resend: fast retransmit again
    deliver(&mut a, 40, &replies);
    assert_eq!(a.stats().fast_retransmissions, 2);
    assert_eq!(data_seqs(&drain(&mut a, 40)), [0]);
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
#[test]
fn acknowledgements_of_packets_sent_before_a_resend_do_not_repeat_it() {
    let mut c = uncongested();
    c.timing.fast_resend = 2;
    c.timing.nack_interval = 1_000_000;
    let mut a = link(c);
    let mut b = link(c);
    for i in 0..6u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    // packet 0 lost; the ACKs of 1 and 2 trigger its fast retransmit
    let mut replies = Vec::new();
    for d in &out[1..] {
        b.handle_datagram(10, d);
        replies.extend(drain(&mut b, 10).into_iter().filter(|d| ptype(d) == PacketType::ACK));
    }
    deliver(&mut a, 20, &replies[..2]);
    assert_eq!(data_seqs(&drain(&mut a, 20)), [0]);
    // the ACKs of 3, 4 and 5 (all sent before the resend) arrive late: no second resend
    deliver(&mut a, 21, &replies[2..]);
    assert_eq!(a.stats().fast_retransmissions, 1);
    assert!(data_seqs(&drain(&mut a, 21)).is_empty());
}

#[cfg(feature = "fast-recovery")]
#[test]
fn a_nack_names_several_holes_in_order() {
    let mut c = config().with_window(16);
    c.congestion_control = crate::congestion::CongestionControl::Off;
    let mut a = link(c);
    let mut b = link(c);
    for i in 0..8u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    // 1 and 3 are lost
    let arrived: Vec<_> = out.iter().filter(|d| ![1, 3].contains(&seq_of(d).0)).cloned().collect();
    deliver(&mut b, 5, &arrived);
    let replies = drain(&mut b, 5);
    assert_eq!(nacked(&replies), [vec![1, 3]]);
    deliver(&mut a, 10, &replies);
    assert_eq!(data_seqs(&drain(&mut a, 10))[..2], [1, 3]);
}

#[cfg(feature = "fast-recovery")]
#[test]
fn a_hole_opened_after_a_nack_is_named_at_once() {
    let mut c = config().with_window(16);
    c.congestion_control = crate::congestion::CongestionControl::Off;
    let mut a = link(c);
    let mut b = link(c);
    for i in 0..6u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 0);
    b.handle_datagram(5, &out[2]); // 0 and 1 missing
    assert_eq!(nacked(&drain(&mut b, 5)), [vec![0, 1]]);
    b.handle_datagram(6, &out[4]); // 3 missing too: named within the NACK interval, alone
    assert_eq!(nacked(&drain(&mut b, 6)), [vec![3]]);
    b.handle_datagram(7, &out[5]); // no new hole: nothing more
    assert!(nacked(&drain(&mut b, 7)).is_empty());
}

#[test]
fn establishing_in_place_equals_a_fresh_link_with_the_agreed_config() {
    // A connection's link before the handshake only counts (and traces, and
    // NACKs for) corrupt datagrams; the agreement then changes its settings.
    let mut configured = LinkConfig::new().with_window(16).with_max_payload(300);
    configured.trace_slots = 4;
    let mut link = link(configured);
    for now in 0..6 {
        link.handle_datagram(now, &[0xde, 0xad, 0xbe, 0xef, 1, 0, 0, 0, 0, 7]);
    }
    let mut agreed = configured.with_window(5).with_max_payload(200).with_initial_seqs(Seq(7), Seq(u32::MAX - 1));
    agreed.integrity = Integrity::from_u8(1).unwrap_or(Integrity::InternetChecksum);
    agreed.pseudo_header = 0x1234_5678;
    agreed.retransmit = false;
    agreed.congestion_control = crate::congestion::CongestionControl::Off;

    link.establish(&agreed).unwrap();
    let mut reset = self::link(configured);
    reset.reconfigure(agreed).unwrap();
    assert_eq!(link.state, reset.state);
    let windows = Layout::of(&agreed).unrel_send_at;
    assert_eq!(link.storage[..windows], reset.storage[..windows]);
}

#[test]
fn an_ack_rides_on_data_exactly_when_the_extended_header_and_data_fit() {
    use crate::wire::ack::Sack;
    use crate::wire::data::{DataRepr, Fragment};
    let link = link(config());
    let max = usize::from(config().max_payload);
    for sacked in [0usize, 1, 9, 100, 255] {
        let mut sack = Sack::new();
        if sacked > 0 {
            sack.set(sacked);
        }
        let ack = AckRepr { cumulative: Seq(5), window: Some(7), sack };
        for fragment in [false, true] {
            let repr = DataRepr {
                app_type: PacketType(100),
                ack: Some(ack),
                fragment: fragment.then_some(Fragment { index: 0, count: 2 }),
                unreliable: false,
                data: &[],
            };
            let room = max - repr.header_len();
            assert!(link.state.ack_fits(&ack, room, fragment), "sack bit {sacked}, fragment {fragment}");
            assert!(!link.state.ack_fits(&ack, room + 1, fragment), "sack bit {sacked}, fragment {fragment}");
        }
    }
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
/// B's acknowledgements of `datagrams` (arriving in this order at `now`).
fn acks_of(b: &mut TestLink, now: u64, datagrams: &[&Vec<u8>]) -> Vec<Vec<u8>> {
    let mut acks = Vec::new();
    for d in datagrams {
        b.handle_datagram(now, d);
        acks.extend(drain(b, now).into_iter().filter(|d| ptype(d) == PacketType::ACK));
    }
    acks
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
#[test]
fn once_reordering_is_seen_a_late_packet_is_awaited_and_a_lost_one_resent_when_the_window_passes() {
    let mut c = config().with_window(16);
    c.congestion_control = crate::congestion::CongestionControl::Off;
    c.timing.fast_resend = 2;
    c.timing.ack_delay = 0; // every packet acknowledged at once
    c.timing.nack_interval = 1_000_000; // SACK alone
    let mut a = link(c);
    let mut b = link(c);
    // packet 0: 10 ms each way, an RTT sample of 20 ms
    a.send(PacketType(60), &[0], Delivery::Reliable).unwrap();
    let out = drain(&mut a, 0);
    let acks = acks_of(&mut b, 10, &[&out[0]]);
    deliver(&mut a, 20, &acks);
    // packets 1 and 2: 2 overtakes 1, which arrives 15 ms late
    a.send(PacketType(60), &[1], Delivery::Reliable).unwrap();
    a.send(PacketType(60), &[2], Delivery::Reliable).unwrap();
    let out = drain(&mut a, 20);
    let early = acks_of(&mut b, 30, &[&out[1]]);
    let late = acks_of(&mut b, 45, &[&out[0]]);
    deliver(&mut a, 40, &early);
    deliver(&mut a, 55, &late);
    assert_eq!(a.stats().retransmissions, 0);

    // packets 3, 4, 5: 4 and 5 overtake 3; their two ACKs do not resend it
    for i in 3..6u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 60);
    let acks = acks_of(&mut b, 70, &[&out[1], &out[2]]);
    deliver(&mut a, 80, &acks);
    assert!(drain(&mut a, 80).is_empty(), "3 resent while reordering may still bring it");
    let acks = acks_of(&mut b, 85, &[&out[0]]);
    deliver(&mut a, 95, &acks);
    assert!(a.is_idle());
    assert_eq!(a.stats().retransmissions, 0);

    // packets 6, 7, 8: 6 is lost; once the ACKs of 7 and 8 are in, 6 is
    // resent when the reordering window passes, well before its timeout
    for i in 6..9u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 100);
    let timeout_at = 100 + u64::from(a.rtt().1) + u64::from(c.timing.ack_delay);
    let acks = acks_of(&mut b, 110, &[&out[1], &out[2]]);
    deliver(&mut a, 120, &acks);
    assert!(drain(&mut a, 120).is_empty(), "too early: reordering may still bring 6");
    let due = a.poll_timeout().unwrap();
    assert!(due < timeout_at, "resend of 6 due at {due} ms, its timeout at {timeout_at} ms");
    assert_eq!(data_seqs(&drain(&mut a, due)), [6]);
    assert_eq!((a.stats().fast_retransmissions, a.stats().timeouts), (1, 0));
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
/// A sender that learns only from SACKs (every packet acknowledged at once),
/// with an RTT sample of 20 ms (10 ms each way) from packet 0, sent packets
/// 1, 2 and 3 at 20 ms; 2 and 3 arrived at 30 ms, and their ACKs at 40 ms
/// had it fast-retransmit 1 (no reordering seen yet). Returns both links,
/// the original of 1 (not delivered yet) and its resend.
fn packet_1_fast_retransmitted_at_40_ms() -> (TestLink, TestLink, Vec<u8>, Vec<u8>) {
    let mut c = config().with_window(16);
    c.congestion_control = crate::congestion::CongestionControl::Off;
    c.timing.fast_resend = 2;
    c.timing.ack_delay = 0;
    c.timing.nack_interval = 1_000_000;
    let mut a = link(c);
    let mut b = link(c);
    a.send(PacketType(60), &[0], Delivery::Reliable).unwrap();
    let out = drain(&mut a, 0);
    let acks = acks_of(&mut b, 10, &[&out[0]]);
    deliver(&mut a, 20, &acks);
    for i in 1..4u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(&mut a, 20);
    let acks = acks_of(&mut b, 30, &[&out[1], &out[2]]);
    deliver(&mut a, 40, &acks);
    let resent = drain(&mut a, 40);
    assert_eq!(data_seqs(&resent), [1]);
    (a, b, out[0].clone(), resent[0].clone())
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
/// Sends packets 4, 5 and 6 at 60 ms; 5 and 6 overtake 4 (their ACKs are in
/// at 80 ms, 4's at 95 ms); returns what the sender resent at 80 ms.
fn packet_4_overtaken_at_60_ms(a: &mut TestLink, b: &mut TestLink) -> Vec<u32> {
    first_of_three_overtaken(a, b, 60)
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
/// Sends three packets at `now`; the second and third overtake the first
/// (their ACKs are in 20 ms later, the first's 35 ms later); returns what
/// the sender resent when the two ACKs were in.
fn first_of_three_overtaken(a: &mut TestLink, b: &mut TestLink, now: u64) -> Vec<u32> {
    for i in 0..3u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(a, now);
    let acks = acks_of(b, now + 10, &[&out[1], &out[2]]);
    deliver(a, now + 20, &acks);
    let resent = data_seqs(&drain(a, now + 20));
    let acks = acks_of(b, now + 25, &[&out[0]]);
    deliver(a, now + 35, &acks);
    recv_all(b);
    resent
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
/// Sends three packets at `now`; the first is lost, the other two arrive
/// 10 ms later and their ACKs 10 ms after that; the first is fast-
/// retransmitted (once the reordering window allows), and its resend
/// arrives and is acknowledged a round trip later, a loss that proved real.
/// Returns when that ACK is in.
fn first_of_three_lost_and_fast_retransmitted(a: &mut TestLink, b: &mut TestLink, now: u64) -> u64 {
    for i in 0..3u8 {
        a.send(PacketType(60), &[i], Delivery::Reliable).unwrap();
    }
    let out = drain(a, now);
    let acks = acks_of(b, now + 10, &[&out[1], &out[2]]);
    deliver(a, now + 20, &acks);
    let fast_before = a.stats().fast_retransmissions;
    let resent_at = a.poll_timeout().unwrap().max(now + 20);
    let resent = drain(a, resent_at);
    assert_eq!((resent.len(), a.stats().fast_retransmissions), (1, fast_before + 1));
    let acks = acks_of(b, resent_at + 10, &[&resent[0]]);
    deliver(a, resent_at + 20, &acks);
    recv_all(b);
    assert!(a.is_idle());
    resent_at + 20
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
/// The sender of `packet_1_fast_retransmitted_at_40_ms`, taught a
/// reordering by that spurious resend, then `losses` losses recovered by
/// fast retransmit; returns what it resent when a packet was then
/// overtaken.
fn overtaken_after_losses_that_proved_real(losses: u8) -> Vec<u32> {
    let (mut a, mut b, original, resend) = packet_1_fast_retransmitted_at_40_ms();
    let acks = acks_of(&mut b, 42, &[&original]);
    deliver(&mut a, 52, &acks);
    b.handle_datagram(50, &resend);
    recv_all(&mut b);
    let mut now = 60;
    for _ in 0..losses {
        now = first_of_three_lost_and_fast_retransmitted(&mut a, &mut b, now) + 10;
    }
    first_of_three_overtaken(&mut a, &mut b, now)
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
#[test]
fn a_resend_acknowledged_sooner_than_any_round_trip_teaches_the_reordering_window() {
    let (mut a, mut b, original, resend) = packet_1_fast_retransmitted_at_40_ms();
    // 1 was only late: its original arrives at 42 ms and its ACK at 52 ms,
    // 12 ms after the resend left, sooner than any round trip (20 ms): the
    // resend was spurious, and 1 was late by at least those 12 ms
    let acks = acks_of(&mut b, 42, &[&original]);
    deliver(&mut a, 52, &acks);
    b.handle_datagram(50, &resend);
    assert_eq!(a.stats().retransmissions, 1);
    // so the next overtaken packet is awaited, not resent
    assert_eq!(packet_4_overtaken_at_60_ms(&mut a, &mut b), [] as [u32; 0]);
    assert!(a.is_idle());
    assert_eq!(a.stats().retransmissions, 1);
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
#[test]
fn a_reordering_seen_once_is_forgotten_after_16_losses_in_a_row_proved_real() {
    // 15 losses recovered for real: the window learned holds, and an
    // overtaken packet is awaited
    let forgotten_after = 16; // PROTOCOL 6.6
    assert_eq!(overtaken_after_losses_that_proved_real(forgotten_after - 1), [] as [u32; 0]);
    // one more: the rare reordering is forgotten, and an overtaken packet is
    // resent as soon as fast retransmit finds it missing
    assert_eq!(overtaken_after_losses_that_proved_real(forgotten_after).len(), 1);
}

#[cfg(all(feature = "fast-recovery", feature = "full-stats"))]
#[test]
fn a_resend_acknowledged_a_round_trip_later_teaches_nothing() {
    let (mut a, mut b, _lost, resend) = packet_1_fast_retransmitted_at_40_ms();
    // 1 was lost: its resend arrives at 50 ms and its ACK at 60 ms, a whole
    // round trip after the resend left, which proves nothing about reordering
    let acks = acks_of(&mut b, 50, &[&resend]);
    deliver(&mut a, 60, &acks);
    // so the next overtaken packet is taken for lost, as before
    assert_eq!(packet_4_overtaken_at_60_ms(&mut a, &mut b), [4]);
    assert_eq!(a.stats().fast_retransmissions, 2);
}

/// The loss-tolerant controller paces new data: with an SRTT of 20 ms and
/// the initial window of 10, two packets leave per millisecond
/// (`max(2, 2 x cwnd / SRTT)`), and the link asks to be woken for the next
/// millisecond; NewReno sends its whole window at once.
#[cfg(feature = "congestion")]
#[test]
fn loss_tolerant_sender_paces_a_window_over_milliseconds() {
    let mut paced = LinkConfig::new();
    paced.coalesce = false;
    let mut sender = link(paced);
    sender.on_rtt_sample(20);
    for i in 0..8u8 {
        sender.send(PacketType(100), &[i; 100], Delivery::Reliable).unwrap();
    }
    assert_eq!(drain(&mut sender, 1000).len(), 2, "two new packets in the first millisecond");
    assert_eq!(sender.poll_timeout(), Some(1001), "woken for the next millisecond");
    assert_eq!(drain(&mut sender, 1001).len(), 2, "two more");
    assert_eq!(drain(&mut sender, 1002).len() + drain(&mut sender, 1003).len(), 4, "all 8 in 4 ms");
    assert!(sender.poll_timeout().is_some_and(|t| t > 1030), "then only the resend deadlines");

    let mut newreno = link(LinkConfig { congestion_control: crate::congestion::CongestionControl::NewReno, ..paced });
    newreno.on_rtt_sample(20);
    for i in 0..8u8 {
        newreno.send(PacketType(100), &[i; 100], Delivery::Reliable).unwrap();
    }
    assert_eq!(drain(&mut newreno, 1000).len(), 8, "NewReno: all at once, within the initial window");
}

/// A new link's first flight (RFC 6928): 10 packets of the default 1200
/// bytes, fewer when 10 would carry more than 14,600 bytes (at least 2:
/// `congestion::tests` has the longer packets).
#[cfg(feature = "congestion")]
#[test]
fn the_initial_window_is_ten_packets_or_fourteen_kilobytes() {
    let first_flight = |max_payload: u16| {
        let mut c = LinkConfig::new().with_max_payload(max_payload);
        c.congestion_control = crate::congestion::CongestionControl::NewReno; // not paced
        c.coalesce = false;
        let mut sender = link(c);
        for i in 0..20u8 {
            sender.send(PacketType(100), &[i; 10], Delivery::Reliable).unwrap();
        }
        drain(&mut sender, 0).len()
    };
    assert_eq!(first_flight(1200), 10);
    assert_eq!(first_flight(1460), 10);
    assert_eq!(first_flight(1461), 9);
    assert_eq!(first_flight(1622), 9); // 14,598 bytes
    let mut small = LinkConfig::new().with_window(5).with_max_payload(65);
    small.congestion_control = crate::congestion::CongestionControl::NewReno;
    let mut sender = link(small);
    for i in 0..5u8 {
        sender.send(PacketType(100), &[i; 10], Delivery::Reliable).unwrap();
    }
    assert_eq!(drain(&mut sender, 0).len(), 5, "never more than the send window");
}

/// A loss-tolerant sender (RTT samples of 20 ms so far) whose thread was
/// held up: the ACKs that reported a loss waited for it and are handled in
/// one millisecond, every RTT sample inflated by the same wait. That is no
/// queue on the path (the samples before the wait showed none): the loss is
/// random and the window is kept. Returns the window before and after.
#[cfg(all(feature = "congestion", feature = "fast-recovery"))]
fn window_around_a_loss_reported_by_acks_that_waited(wait: u64, spread_ms: u64) -> (u32, u32) {
    let mut c = LinkConfig::new().with_window(32).with_max_payload(100);
    c.coalesce = false;
    c.timing.ack_delay = 0;
    let mut a = link(c);
    let mut b = link(c);
    // 10 ms each way, every packet acknowledged at once, every ACK handled on arrival
    let mut now = 0;
    for round in 0..3u8 {
        for i in 0..8u8 {
            a.send(PacketType(100), &[round, i], Delivery::Reliable).unwrap();
        }
        let mut acks = Vec::new();
        for ms in 0..8 {
            let sent = drain(&mut a, now + ms);
            acks.extend(
                acks_of(&mut b, now + ms + 10, &sent.iter().collect::<Vec<_>>())
                    .into_iter()
                    .map(|d| (now + ms + 20, d)),
            );
        }
        for (at, ack) in acks {
            a.handle_datagram(at, &ack);
        }
        recv_all(&mut b);
        now += 30;
    }
    assert!(a.is_idle());
    let before = a.stats().cwnd;
    // the next packets: the fourth is lost, and the ACKs of the others reach
    // a sender held up for `wait` ms, which handles them within `spread_ms`
    for i in 0..8u8 {
        a.send(PacketType(100), &[9, i], Delivery::Reliable).unwrap();
    }
    let mut sent = Vec::new();
    for ms in 0..8 {
        sent.extend(drain(&mut a, now + ms));
    }
    let arrived: Vec<&Vec<u8>> = sent.iter().enumerate().filter(|(i, _)| *i != 3).map(|(_, d)| d).collect();
    let acks = acks_of(&mut b, now + 10, &arrived);
    for (k, ack) in acks.iter().enumerate() {
        let at = now + 20 + wait + (k as u64 * spread_ms) / acks.len() as u64;
        a.handle_datagram(at, ack);
    }
    assert_eq!(a.stats().fast_retransmissions, 1);
    (before, a.stats().cwnd)
}

#[cfg(all(feature = "congestion", feature = "fast-recovery"))]
#[test]
fn acks_that_waited_for_a_held_up_sender_are_not_taken_for_a_queue() {
    let (before, after) = window_around_a_loss_reported_by_acks_that_waited(6, 0);
    assert!(after >= before, "window {before} halved to {after}: a wait of the sender taken for congestion");
    // the same delays spread over time are a queue on the path: NewReno's answer
    let (before, after) = window_around_a_loss_reported_by_acks_that_waited(6, 7);
    assert!(after < before, "window {before} kept at {after}: a queue that delays ACKs over 7 ms is congestion");
}

/// The retransmission timer's walk, which stops early (`earliest_deadline`).
#[cfg(feature = "fast-recovery")]
mod deadline_walk {
    use super::*;

    /// A small deterministic generator (xorshift64*) for the seeded scenarios below.
    struct Dice(u64);

    impl Dice {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    /// Whether the shortened walk finds the same earliest deadline as a walk of
    /// every outstanding packet, in `link`'s state as it is.
    fn walks_agree(link: &mut TestLink) -> bool {
        let (state, arena) = (&link.state, link.storage.as_mut_slice());
        state.earliest_deadline(arena) == state.earliest_deadline_walked(arena)
    }

    /// Two links over a network that loses, duplicates, delays and reorders
    /// datagrams (seeded), with a clock that now and then runs backwards, each
    /// side sending and reading at random; after every step the sender's
    /// earliest deadline, found by the walk that stops early, equals the one a
    /// walk of the whole window finds.
    #[test]
    fn the_shortened_deadline_walk_agrees_with_the_whole_walk_at_every_step() {
        let mut checks = 0u64;
        for seed in 1..=200u64 {
            let mut dice = Dice(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut c = LinkConfig::standard().with_window(4 + dice.below(61) as u16).with_max_payload(64);
            c.timing.min_rto = 5 + dice.below(60) as u32;
            c.timing.initial_rto = c.timing.min_rto + dice.below(100) as u32;
            c.timing.max_rto = c.timing.min_rto + dice.below(400) as u32;
            c.timing.ack_delay = dice.below(30) as u32;
            c.timing.fast_resend = dice.below(4) as u8;
            c.timing.backoff_percent = 100 + dice.below(200) as u16;
            c.timing.max_retries = 250;
            c.timing.nack_interval = dice.below(40) as u32;
            c.congestion_control = [
                crate::congestion::CongestionControl::Off,
                crate::congestion::CongestionControl::NewReno,
                crate::congestion::CongestionControl::LossTolerant,
            ][dice.below(3) as usize];
            let (loss, duplicate, spread) = (dice.below(40), dice.below(10), 1 + dice.below(80));
            let mut ends = [link(c), link(c)];
            // datagrams in flight: (arrival time, to which end, bytes)
            let mut wire: Vec<(u64, usize, Vec<u8>)> = Vec::new();
            let mut now = 1_000u64;
            for _ in 0..600 {
                now = match dice.below(20) {
                    0 => now.saturating_sub(dice.below(30)), // the clock runs backwards
                    1 => now + 100 + dice.below(400),        // a long silence
                    _ => now + dice.below(8),
                };
                for (from, end) in ends.iter_mut().enumerate() {
                    if dice.chance(40) {
                        let _ = end.send(PacketType(60), &[from as u8; 40], Delivery::Reliable);
                    }
                    for d in drain(end, now) {
                        for _ in 0..(1 + u64::from(dice.chance(duplicate))) {
                            if !dice.chance(loss) {
                                wire.push((now + dice.below(spread), 1 - from, d.clone()));
                            }
                        }
                    }
                    if dice.chance(70) {
                        recv_all(end);
                    }
                }
                let (due, later): (Vec<_>, Vec<_>) = wire.drain(..).partition(|(at, _, _)| *at <= now);
                wire = later;
                for (_, to, d) in due {
                    ends[to].handle_datagram(now, &d);
                    assert!(walks_agree(&mut ends[to]), "seed {seed}: the walks disagree after a datagram at {now} ms");
                    checks += 1;
                }
                for end in ends.iter_mut() {
                    assert!(walks_agree(end), "seed {seed}: the walks disagree at {now} ms");
                    checks += 1;
                }
            }
        }
        assert!(checks > 100_000, "only {checks} states compared");
    }
}
