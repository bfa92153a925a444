//! Simulated goodput against loss: one link sends 1200-byte reliable
//! messages over a simulated path (50 ms RTT, 100 MB/s, loss both ways) to
//! another that only acknowledges; goodput is application bytes delivered
//! per simulated second, compared with the window/RTT bound.
//!
//! `cargo run --release -p seqlink-bench --bin sim_goodput`

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::PacketType;
use seqlink_tests::link_node::LinkNode;
use seqlink_tests::sim::{Impairment, Sim};

const MESSAGE: usize = 1200;
const WINDOW: u16 = 64;
const RTT_MS: u64 = 50;
const MESSAGES: usize = 20_000;

struct Run {
    goodput: f64,
    retx_per_message: f64,
    finished: bool,
}

fn run(config: LinkConfig, loss: f64, seed: u64) -> Run {
    let impairment = Impairment { loss, bandwidth: Some(100_000_000), ..Impairment::delay(RTT_MS / 2) };
    let mut sim = Sim::new(seed, impairment);
    let mut sender = LinkNode::new(config, 2);
    for i in 0..MESSAGES {
        let mut m = vec![(i % 251) as u8; MESSAGE];
        m[..4].copy_from_slice(&(i as u32).to_be_bytes());
        sender.outbox.push_back(seqlink_tests::link_node::Message {
            ptype: PacketType(100),
            data: m,
            delivery: Delivery::Reliable,
        });
    }
    sim.add(1, sender);
    sim.add(2, LinkNode::new(config, 1));
    let limit = 3_600_000; // one simulated hour at most
    let finished = sim.run_until(limit, |s| s.nodes[1].1.inbox.len() == MESSAGES || s.nodes[0].1.failed());
    let delivered = sim.nodes[1].1.inbox.len();
    let stats = sim.nodes[0].1.link.stats();
    Run {
        goodput: (delivered * MESSAGE) as f64 / (sim.now.max(1) as f64 / 1000.0) / 1e6,
        retx_per_message: stats.retransmissions as f64 / delivered.max(1) as f64,
        finished: finished && delivered == MESSAGES,
    }
}

fn main() {
    let bound = f64::from(WINDOW) * MESSAGE as f64 / (RTT_MS as f64 / 1000.0) / 1e6;
    println!("window/RTT bound: {WINDOW} x {MESSAGE} B / {RTT_MS} ms = {bound:.3} MB/s");
    println!("{MESSAGES} messages of {MESSAGE} B, 100 MB/s path, loss both ways, median of 3 seeds");
    println!();
    let base = LinkConfig::new().with_window(WINDOW).with_max_payload(MESSAGE as u16);
    let mut configs = [
        ("standard, cc on", base),
        ("standard, cc off", base),
        ("low-latency, cc on", LinkConfig::low_latency().with_window(WINDOW).with_max_payload(MESSAGE as u16)),
        ("low-latency, cc off", LinkConfig::low_latency().with_window(WINDOW).with_max_payload(MESSAGE as u16)),
    ];
    configs[1].1.congestion_control = false;
    configs[3].1.congestion_control = false;
    for c in &mut configs {
        c.1.unreliable_slots = 0;
        c.1.timing.max_retries = 40;
    }
    print!("| loss |");
    for (name, _) in &configs {
        print!(" {name} |");
    }
    println!();
    print!("|---:|");
    for _ in &configs {
        print!("---:|");
    }
    println!();
    for loss in [0.0, 0.01, 0.05, 0.10, 0.20] {
        print!("| {:.0}% |", loss * 100.0);
        for (_, config) in &configs {
            let mut runs: Vec<Run> = (0..3).map(|seed| run(*config, loss, seed)).collect();
            runs.sort_by(|a, b| a.goodput.total_cmp(&b.goodput));
            let m = &runs[1];
            let mark = if runs.iter().all(|r| r.finished) { "" } else { " (unfinished)" };
            print!(
                " {:.3} MB/s ({:.0}%), {:.2} retx/msg{mark} |",
                m.goodput,
                100.0 * m.goodput / bound,
                m.retx_per_message
            );
        }
        println!();
    }
}
