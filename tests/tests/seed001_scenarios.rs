//! Seed 001's five loss scenarios (window 3, 4-byte messages of
//! "aaaaabbbbcccccdddddeeeeeffffggggghhhiiiijjjjkkkklllll", packets numbered
//! from 1), replayed through the simulator with scripted drops. Each test
//! asserts exactly which packets are retransmitted and that the message
//! arrives intact.

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::{PacketType, Seq};
use seqlink_tests::link_node::LinkNode;
use seqlink_tests::sim::{Drop, Fate, Impairment, Match, Sim};

const MESSAGE: &[u8] = b"aaaaabbbbcccccdddddeeeeeffffggggghhhiiiijjjjkkkklllll";
const CLIENT: u32 = 1;
const SERVER: u32 = 2;

fn scenario(drops: &[(u32, Match, u32)]) -> Sim<LinkNode> {
    // the seed's scenarios with the conservative timers: its RTO stays well above the RTT
    let mut config = LinkConfig::standard().with_window(3).with_initial_seqs(Seq(1), Seq(1));
    config.timing.ack_delay = 0; // the seed acknowledges every packet
    let reverse = config.with_initial_seqs(Seq(1), Seq(1));
    // 10 ms each way, and a slow line so that packets arrive one at a time
    // and each gets its own ACK, as in the seed.
    let mut sim = Sim::new(1, Impairment { bandwidth: Some(10_000), ..Impairment::delay(10) });
    sim.logging = true;
    let mut client = LinkNode::new(config, SERVER);
    for chunk in MESSAGE.chunks(4) {
        client.queue(PacketType::MSG_INFO, chunk, Delivery::Reliable);
    }
    sim.add(CLIENT, client);
    sim.add(SERVER, LinkNode::new(reverse, CLIENT));
    for &(from, matching, times) in drops {
        sim.drop_packets(Drop { from, matching, times });
    }
    let done = sim.run_until(600_000, |s| {
        let c = s.node(CLIENT);
        c.outbox.is_empty() && c.link.is_idle()
    });
    assert!(done, "transfer did not finish");
    let received: Vec<u8> = sim.node(SERVER).inbox.iter().flat_map(|m| m.data.clone()).collect();
    assert_eq!(received, MESSAGE, "the message arrives intact");
    assert_eq!(sim.node(SERVER).inbox.len(), 14);
    assert!(!sim.node(CLIENT).failed());
    let scripted = sim.log.iter().filter(|e| e.fate == Fate::Scripted).count() as u32;
    assert_eq!(scripted, drops.iter().map(|d| d.2).sum::<u32>(), "every scripted drop happened");
    sim
}

fn seqs(v: &[u32]) -> Vec<Seq> {
    v.iter().map(|&s| Seq(s)).collect()
}

#[test]
fn data_4_9_10_lost() {
    let sim = scenario(&[
        (CLIENT, Match::Data(Seq(4)), 1),
        (CLIENT, Match::Data(Seq(9)), 1),
        (CLIENT, Match::Data(Seq(10)), 1),
    ]);
    assert_eq!(sim.retransmitted(CLIENT), seqs(&[4, 9, 10]));
    for s in [4, 9, 10] {
        assert_eq!(sim.transmissions_of(CLIENT, Seq(s)), 2, "packet {s} resent exactly once");
    }
}

#[test]
fn acks_4_9_10_lost() {
    // Cumulative acknowledgements: the next ACK covers a lost one, so nothing is resent.
    let sim = scenario(&[
        (SERVER, Match::AckOf(Seq(4)), 1),
        (SERVER, Match::AckOf(Seq(9)), 1),
        (SERVER, Match::AckOf(Seq(10)), 1),
    ]);
    assert_eq!(sim.retransmitted(CLIENT), seqs(&[]));
}

#[test]
fn acks_9_10_11_lost_whole_window() {
    // The window is full and every ACK for it is lost: the timeout resends
    // the oldest packet only, and the duplicate is answered with the
    // cumulative ACK that covers all three (seed 001 resent packet 9 again
    // and again here).
    let mut sim = scenario(&[
        (SERVER, Match::AckOf(Seq(9)), 1),
        (SERVER, Match::AckOf(Seq(10)), 1),
        (SERVER, Match::AckOf(Seq(11)), 1),
    ]);
    assert_eq!(sim.retransmitted(CLIENT), seqs(&[9]));
    assert_eq!(sim.transmissions_of(CLIENT, Seq(9)), 2);
    assert_eq!(sim.node(SERVER).link.stats().duplicates, 1);
}

#[test]
fn acks_6_8_10_and_data_7_9_11_lost_alternately() {
    let sim = scenario(&[
        (SERVER, Match::AckOf(Seq(6)), 1),
        (CLIENT, Match::Data(Seq(7)), 1),
        (SERVER, Match::AckOf(Seq(8)), 1),
        (CLIENT, Match::Data(Seq(9)), 1),
        (SERVER, Match::AckOf(Seq(10)), 1),
        (CLIENT, Match::Data(Seq(11)), 1),
    ]);
    assert_eq!(sim.retransmitted(CLIENT), seqs(&[7, 9, 11]));
    for s in [7, 9, 11] {
        assert_eq!(sim.transmissions_of(CLIENT, Seq(s)), 2, "packet {s} resent exactly once");
    }
}

#[test]
fn final_message_lost_twice() {
    let mut sim = scenario(&[(CLIENT, Match::Data(Seq(14)), 2)]);
    assert_eq!(sim.retransmitted(CLIENT), seqs(&[14]));
    assert_eq!(sim.transmissions_of(CLIENT, Seq(14)), 3);
    assert_eq!(sim.node(CLIENT).link.stats().timeouts, 2);
}
