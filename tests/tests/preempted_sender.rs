//! A sender and receiver on a busy machine (issue 9): their threads are
//! preempted now and then, and the acknowledgements that waited for the
//! sender are handled all at once, their RTT samples inflated alike. The
//! loss-tolerant controller must not take that for a queue on the path and
//! halve its window at the next random loss: on the relay this made one
//! run in three fall to half the goodput of the others.

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::PacketType;
use seqlink_tests::link_node::LinkNode;
use seqlink_tests::preempted::Preempted;
use seqlink_tests::sim::{Impairment, Sim};

/// The relay's cell (10 ms each way, 40 MB/s each way) with 5 % random loss
/// both ways, both ends held up for 1 to 5 ms about every 50 ms: the
/// sender's time-averaged congestion window over 2000 full-size messages.
fn mean_window(seed: u64) -> u64 {
    let config = LinkConfig::new();
    let messages = 2000;
    let path = Impairment { loss: 0.05, bandwidth: Some(40_000_000), ..Impairment::delay(10) };
    let mut sim = Sim::new(seed, path);
    let mut sender = LinkNode::new(config, 2);
    for _ in 0..messages {
        sender.queue(PacketType(100), &[7; 1200], Delivery::Reliable);
    }
    sim.add(1, Preempted::new(sender, seed * 2, 50, 5));
    sim.add(2, Preempted::new(LinkNode::new(config, 1), seed * 2 + 1, 50, 5));
    let (mut last, mut window_ms) = (0u64, 0u64);
    assert!(sim.run_until(600_000, |s| {
        window_ms += u64::from(s.nodes[0].1.node.link.stats().cwnd) * (s.now - last);
        last = s.now;
        s.nodes[1].1.node.inbox.len() == messages
    }));
    window_ms / sim.now.max(1)
}

#[test]
fn acks_that_waited_for_a_preempted_sender_do_not_halve_its_window() {
    for seed in 1..=4 {
        let window = mean_window(seed);
        println!("seed {seed}: mean window {window} packets");
        assert!(window >= 170, "seed {seed}: mean congestion window {window} packets");
    }
}
