//! The comparison's bulk cell at D = 10 ms in the simulator.
//!
//! One [`Link`](seqlink_core::link::Link) sends 3500 reliable messages of
//! 1200 bytes (4.2 MB, about the relay's 4 MiB) to another over a path of
//! 10 ms each way at 40 MB/s each way (so that a burst of packets queues
//! behind itself, as it does in the relay and the receiving socket), with
//! the same random loss both ways; `LinkConfig::new()` with the
//! loss-tolerant controller and with congestion control off. Seeds 1 to 8
//! per cell: the median goodput (MB/s, until the last message is
//! delivered), each seed's, its retransmission timeouts, and its
//! time-averaged congestion window (not kept with congestion control off).
//!
//! `cargo run --release -p seqlink-bench --bin sim_d10 [JITTER_MS [STALL_MS]]`
//! (JITTER_MS: a uniform extra delay of 0 to JITTER_MS per datagram, which
//! also reorders; STALL_MS: both ends are held up now and then, as a
//! thread that the scheduler preempts on a busy machine is, on average
//! every 50 ms for 1 to STALL_MS ms, during which datagrams wait for it and
//! are then handled all at once: `seqlink_tests::preempted`).

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::{CongestionControl, PacketType};
use seqlink_tests::link_node::{LinkNode, Message};
use seqlink_tests::preempted::Preempted;
use seqlink_tests::sim::{Impairment, Sim};

const MESSAGES: usize = 3500;
const SIZE: usize = 1200;
const LOSSES: [f64; 5] = [0.0, 0.01, 0.05, 0.10, 0.20];
/// Mean time between two hold-ups of one end, ms.
const STALL_EVERY_MS: u64 = 50;

/// Goodput (MB/s), timeouts and the time-averaged window of one run.
fn run(cc: CongestionControl, loss: f64, jitter_ms: u64, stall_ms: u64, seed: u64) -> (f64, u64, u64) {
    let mut config = LinkConfig::new();
    config.congestion_control = cc;
    let path = Impairment { loss, jitter_ms, bandwidth: Some(40_000_000), ..Impairment::delay(10) };
    let mut sim = Sim::new(seed, path);
    let mut sender = LinkNode::new(config, 2);
    for i in 0..MESSAGES {
        let mut data = vec![0u8; SIZE];
        data[..4].copy_from_slice(&(i as u32).to_be_bytes());
        sender.outbox.push_back(Message { ptype: PacketType(100), data, delivery: Delivery::Reliable });
    }
    sim.add(1, Preempted::new(sender, seed * 2, STALL_EVERY_MS, stall_ms));
    sim.add(2, Preempted::new(LinkNode::new(config, 1), seed * 2 + 1, STALL_EVERY_MS, stall_ms));
    let (mut last, mut area) = (0u64, 0u64);
    let done = sim.run_until(600_000, |s| {
        area += u64::from(s.nodes[0].1.node.link.stats().cwnd) * (s.now - last);
        last = s.now;
        s.nodes[1].1.node.inbox.len() == MESSAGES
    });
    assert!(done, "{cc:?} loss {loss} seed {seed}: not delivered in 600 s");
    let elapsed = sim.now.max(1);
    let goodput = (MESSAGES * SIZE) as f64 / elapsed as f64 / 1000.0;
    (goodput, sim.nodes[0].1.node.link.stats().timeouts, area / elapsed)
}

fn main() {
    let arg = |i: usize| std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(0);
    let (jitter_ms, stall_ms) = (arg(1), arg(2));
    println!("| controller | loss | median MB/s | each seed | timeouts | mean cwnd |");
    println!("|---|---:|---:|---|---|---|");
    for cc in [CongestionControl::LossTolerant, CongestionControl::Off] {
        for loss in LOSSES {
            let runs: Vec<(f64, u64, u64)> = (1..=8).map(|seed| run(cc, loss, jitter_ms, stall_ms, seed)).collect();
            let mut sorted: Vec<f64> = runs.iter().map(|r| r.0).collect();
            sorted.sort_by(f64::total_cmp);
            let median = (sorted[3] + sorted[4]) / 2.0;
            let each: Vec<String> = runs.iter().map(|r| format!("{:.2}", r.0)).collect();
            let timeouts: Vec<String> = runs.iter().map(|r| r.1.to_string()).collect();
            let cwnd: Vec<String> =
                runs.iter().map(|r| if cc.is_on() { r.2.to_string() } else { "-".into() }).collect();
            println!(
                "| {cc:?} | {}% | {median:.2} | {} | {} | {} |",
                loss * 100.0,
                each.join(", "),
                timeouts.join(", "),
                cwnd.join(", ")
            );
        }
    }
}
