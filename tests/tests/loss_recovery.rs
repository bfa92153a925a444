//! Loss recovery per packet (issue 9): a resend that is lost again is
//! retried about one RTO (plus the ACK delay) after that resend, while the rest of the window
//! keeps being acknowledged; it does not wait for a timer that restarts
//! with every acknowledgement of other packets.

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::wire::PacketType;
use seqlink_core::Seq;
use seqlink_tests::link_node::LinkNode;
use seqlink_tests::sim::{Drop, Fate, Impairment, Match, Sim};

const A: u32 = 1;
const B: u32 = 2;
const MESSAGES: u32 = 3000;
/// The packet whose first transmission and first resend are both lost.
const VICTIM: Seq = Seq(200);

/// When `from` sent data packet `seq` for the `n`th time (1-based).
fn nth_transmission(sim: &Sim<LinkNode>, from: u32, seq: Seq, n: usize) -> u64 {
    let mut times = sim.log.iter().filter(|e| e.from == from && e.fate == Fate::Sent && e.info.data == Some(seq));
    times.nth(n - 1).map(|e| e.time).expect("transmitted that often")
}

#[test]
fn a_relost_resend_is_retried_after_its_own_rto() {
    for seed in 0..5u64 {
        // 10 ms each way, a path slow enough (200 kB/s, about 1 ms per
        // packet) that acknowledgements of the rest of the window keep
        // arriving for a long while after the victim is lost
        let path = Impairment { bandwidth: Some(200_000), ..Impairment::delay(10) };
        let mut config = LinkConfig::low_latency().with_window(64).with_max_payload(200);
        config.congestion_control = seqlink_core::congestion::CongestionControl::Off;
        let mut sim = Sim::new(seed, path);
        sim.logging = true;
        sim.drop_packets(Drop { from: A, matching: Match::Data(VICTIM), times: 2 });
        let mut a = LinkNode::new(config, B);
        for i in 0..MESSAGES {
            a.queue(PacketType(100), &i.to_be_bytes(), Delivery::Reliable);
        }
        sim.add(A, a);
        sim.add(B, LinkNode::new(config, A));

        // the first resend leaves (and is lost): note the RTO then, plus the
        // ACK delay a per-packet deadline allows for
        assert!(sim.run_until(60_000, |s| s.transmissions_of(A, VICTIM) >= 2), "seed {seed}: no resend");
        let rto = u64::from(sim.node(A).link.rtt().1) + u64::from(config.timing.ack_delay);
        assert!(sim.run_until(60_000, |s| s.transmissions_of(A, VICTIM) >= 3), "seed {seed}: no second resend");
        let first_resend = nth_transmission(&sim, A, VICTIM, 2);
        let second_resend = nth_transmission(&sim, A, VICTIM, 3);
        let waited = second_resend - first_resend;
        assert!(
            waited <= rto + 2,
            "seed {seed}: the re-lost resend waited {waited} ms for its retry (RTO + ACK delay {rto} ms)"
        );

        assert!(sim.run_until(600_000, |s| s.node(B).inbox.len() == MESSAGES as usize));
        let got: Vec<u32> =
            sim.node(B).inbox.iter().map(|m| u32::from_be_bytes(m.data[..4].try_into().unwrap())).collect();
        assert_eq!(got, (0..MESSAGES).collect::<Vec<_>>(), "seed {seed}: delivered in order, once each");
    }
}
