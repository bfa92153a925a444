//! The default congestion controller is safe on a shared bottleneck and does
//! not collapse under random loss (issue 9).
//!
//! The sharing runs use `seqlink_tests::bottleneck`: flows through one 1 MB/s
//! drop-tail bottleneck, 40 ms RTT, no random loss, measured after a 5 s
//! start-up. The simulator is deterministic, so the thresholds (the issue's
//! targets) cannot be flaky; `cargo run --release -p seqlink-bench --bin
//! sim_fairness` prints the full figures.

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::{CongestionControl, PacketType};
use seqlink_tests::bottleneck::{share, Path, Sharing};
use seqlink_tests::link_node::LinkNode;
use seqlink_tests::sim::{Impairment, Sim};

fn with(cc: CongestionControl) -> LinkConfig {
    let mut config = LinkConfig::new();
    config.congestion_control = cc;
    config
}

/// A shorter run than the benchmark's, for the debug-build test suite.
fn path(queue_bytes: u64) -> Path {
    let mut path = Path::standard();
    path.bottleneck.queue_bytes = queue_bytes;
    path.until_ms = 30_000;
    path
}

fn assert_fair_and_full(s: &Sharing, what: &str) {
    println!("{what}: {s:?}");
    assert!(s.jain >= 0.9, "{what}: Jain index {:.3} below 0.9 ({:?})", s.jain, s.goodput);
    assert!(s.queue_loss < 0.05, "{what}: the queue dropped {:.1}%", 100.0 * s.queue_loss);
}

#[test]
fn two_default_flows_share_a_bottleneck_fairly_and_fill_it() {
    let default = LinkConfig::new();
    assert_eq!(default.congestion_control, CongestionControl::LossTolerant);
    let s = share(&path(40_000), &[default, default]);
    assert_fair_and_full(&s, "two default flows");
    assert!(s.utilization >= 0.9, "goodput {:.1}% of the bottleneck", 100.0 * s.utilization);
}

#[test]
fn a_default_flow_leaves_a_newreno_flow_its_share() {
    let s = share(&path(40_000), &[LinkConfig::new(), with(CongestionControl::NewReno)]);
    assert_fair_and_full(&s, "default against NewReno");
    assert!(s.utilization >= 0.9, "goodput {:.1}% of the bottleneck", 100.0 * s.utilization);
}

/// A queue of a quarter of the bandwidth-delay product delays packets by at
/// most 10 ms before it overflows: the smallest queue growth that still
/// counts as congestion at this RTT is 5 ms. (NewReno itself fills such a
/// bottleneck to only about 64 %, so the utilization is not asserted here.)
#[test]
fn a_default_flow_backs_off_at_a_shallow_queue_too() {
    let s = share(&path(10_000), &[LinkConfig::new(), with(CongestionControl::NewReno)]);
    assert_fair_and_full(&s, "default against NewReno, shallow queue");
}

/// 2000 full-packet messages over 25 ms each way with 5 % loss in both
/// directions: the window/RTT bound is 128 x 1200 B / 50 ms = 3.07 MB/s.
/// NewReno reads every loss as congestion and stays near a tenth of it.
#[test]
fn random_loss_does_not_collapse_the_default_sending_rate() {
    let config = LinkConfig::new();
    let messages = 2000;
    let mut sim = Sim::new(7, Impairment { loss: 0.05, ..Impairment::delay(25) });
    let mut sender = LinkNode::new(config, 2);
    for _ in 0..messages {
        sender.queue(PacketType(100), &[7; 1200], Delivery::Reliable);
    }
    sim.add(1, sender);
    sim.add(2, LinkNode::new(config, 1));
    assert!(sim.run_until(600_000, |s| s.nodes[1].1.inbox.len() == messages));
    let goodput = (messages * 1200) as f64 / (sim.now as f64 / 1000.0);
    let bound = f64::from(config.send_window) * 1200.0 / 0.05;
    println!("goodput {:.0} kB/s, {:.1}% of the bound", goodput / 1000.0, 100.0 * goodput / bound);
    assert!(goodput >= 0.3 * bound, "goodput {:.0} kB/s under 30% of the {:.0} kB/s bound", goodput / 1e3, bound / 1e3);
}

/// The relay's cell in the simulator: 10 ms each way, 40 MB/s each way, 1 %
/// random loss both ways. When a resend fills a hole, the cumulative ACK
/// frees up to a hundred packets; written back to back they would queue
/// behind each other for ~3 ms, their RTT samples would show a "queue", and
/// the next random loss would halve the window (the time-averaged window
/// was 83-134 packets then). Paced, they leave over a few milliseconds and
/// the window stays near the send window of 256.
#[test]
fn a_window_opened_at_once_is_paced_and_not_taken_for_a_queue() {
    let config = LinkConfig::new();
    let messages = 3500;
    for seed in 1..=3 {
        let path = Impairment { loss: 0.01, bandwidth: Some(40_000_000), ..Impairment::delay(10) };
        let mut sim = Sim::new(seed, path);
        let mut sender = LinkNode::new(config, 2);
        for _ in 0..messages {
            sender.queue(PacketType(100), &[7; 1200], Delivery::Reliable);
        }
        sim.add(1, sender);
        sim.add(2, LinkNode::new(config, 1));
        let (mut last, mut window_ms) = (0u64, 0u64);
        assert!(sim.run_until(600_000, |s| {
            window_ms += u64::from(s.nodes[0].1.link.stats().cwnd) * (s.now - last);
            last = s.now;
            s.nodes[1].1.inbox.len() == messages
        }));
        let mean_window = window_ms / sim.now.max(1);
        println!("seed {seed}: mean window {mean_window} packets, {} ms", sim.now);
        assert!(mean_window >= 180, "seed {seed}: mean congestion window {mean_window} packets");
    }
}
