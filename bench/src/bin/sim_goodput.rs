//! Simulated goodput against loss.
//!
//! One [`Link`](seqlink_core::link::Link) sends 1200-byte reliable messages to
//! another that only acknowledges, over the deterministic simulator
//! (`seqlink_tests::sim`): 25 ms one-way delay each way (50 ms RTT), no
//! jitter, 100 MB/s (far above the window bound), and the same random loss in
//! both directions. Goodput is application bytes delivered per simulated
//! second until the last message is delivered, compared with the window/RTT
//! bound of 64 x 1200 B / 50 ms.
//!
//! Seven configurations (standard and low-latency timing, each with the
//! loss-tolerant controller, NewReno and no congestion control, window 64;
//! and `LinkConfig::new()` untouched, window 128, whose bound is its own) at
//! five loss rates, three fixed seeds each;
//! the first table gives the median run (by goodput), the second every
//! seed's goodput, the third the median run's timeouts, duplicates and
//! retransmissions.
//! Everything is simulated time: the CPU does not change the figures.
//!
//! `cargo run --release -p seqlink-bench --bin sim_goodput`

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::{CongestionControl, PacketType};
use seqlink_tests::link_node::{LinkNode, Message};
use seqlink_tests::sim::{Impairment, Sim};

/// Bytes per message: one full packet each (`max_payload` is 1200 too; an
/// application-typed data packet carries the message as its whole payload).
const MESSAGE: usize = 1200;
const MAX_PAYLOAD: u16 = 1200;
const WINDOW: u16 = 64;
const ONE_WAY_MS: u64 = 25;
const RTT_MS: u64 = 2 * ONE_WAY_MS;
/// Bytes per second the path carries each way (the window bound is ~1.5 MB/s).
const BANDWIDTH: u64 = 100_000_000;
/// About 39 simulated seconds at the window bound.
const MESSAGES: usize = 50_000;
const SEEDS: [u64; 3] = [1, 2, 3];
const LOSSES: [f64; 5] = [0.0, 0.01, 0.05, 0.10, 0.20];
/// Simulated time after which a run is stopped and reported as capped.
const CAP_MS: u64 = 4 * 3_600_000;

const SENDER: u32 = 1;
const RECEIVER: u32 = 2;

#[derive(Debug, Clone, Copy)]
struct Run {
    /// Messages delivered to the receiving application.
    delivered: usize,
    /// Simulated milliseconds until the last one was delivered (or the cap).
    elapsed_ms: u64,
    /// Data packets the sender sent again.
    retransmissions: u64,
    /// Retransmission timeouts at the sender.
    timeouts: u64,
    /// Data packets the receiver got more than once (spurious retransmissions).
    duplicates: u64,
    /// All messages delivered within the cap.
    finished: bool,
    /// The sender's link failed (peer declared dead).
    failed: bool,
}

impl Run {
    /// Goodput in MB/s (10^6 bytes per second).
    fn goodput(&self) -> f64 {
        (self.delivered * MESSAGE) as f64 / (self.elapsed_ms.max(1) as f64 / 1000.0) / 1e6
    }

    fn retx_per_message(&self) -> f64 {
        self.retransmissions as f64 / self.delivered.max(1) as f64
    }
}

fn run(config: LinkConfig, loss: f64, seed: u64) -> Run {
    let impairment = Impairment { loss, bandwidth: Some(BANDWIDTH), ..Impairment::delay(ONE_WAY_MS) };
    let mut sim = Sim::new(seed, impairment);
    let mut sender = LinkNode::new(config, RECEIVER);
    for i in 0..MESSAGES {
        // distinct contents, so a mixed-up delivery would show in the check below
        let mut data = vec![(i % 251) as u8; MESSAGE];
        data[..4].copy_from_slice(&(i as u32).to_be_bytes());
        sender.outbox.push_back(Message { ptype: PacketType(100), data, delivery: Delivery::Reliable });
    }
    sim.add(SENDER, sender);
    sim.add(RECEIVER, LinkNode::new(config, SENDER));
    let finished = sim
        .run_until(CAP_MS, |s| s.nodes[1].1.inbox.len() == MESSAGES || s.nodes[0].1.failed() || s.nodes[1].1.failed());
    let failed = sim.nodes[0].1.failed() || sim.nodes[1].1.failed();
    let inbox = &sim.nodes[1].1.inbox;
    for (i, m) in inbox.iter().enumerate() {
        assert_eq!(m.data.len(), MESSAGE);
        assert_eq!(m.data[..4], (i as u32).to_be_bytes(), "message {i} out of order");
    }
    let stats = sim.nodes[0].1.link.stats();
    let receiver = sim.nodes[1].1.link.stats();
    Run {
        delivered: inbox.len(),
        elapsed_ms: sim.now,
        retransmissions: stats.retransmissions,
        timeouts: stats.timeouts,
        duplicates: receiver.duplicates,
        finished: finished && !failed && inbox.len() == MESSAGES,
        failed,
    }
}

struct Cell {
    median: Run,
    runs: Vec<Run>,
}

fn main() {
    let bound_of = |window: u16| f64::from(window) * MESSAGE as f64 / (RTT_MS as f64 / 1000.0) / 1e6;
    let bound = bound_of(WINDOW);
    let standard = LinkConfig::new().with_window(WINDOW).with_max_payload(MAX_PAYLOAD);
    let low_latency = LinkConfig::low_latency().with_window(WINDOW).with_max_payload(MAX_PAYLOAD);
    let cc = |mut c: LinkConfig, cc: CongestionControl| {
        c.congestion_control = cc;
        c
    };
    let defaults = LinkConfig::new();
    let configs = [
        ("standard, loss-tolerant", standard),
        ("standard, NewReno", cc(standard, CongestionControl::NewReno)),
        ("standard, cc off", cc(standard, CongestionControl::Off)),
        ("low-latency, loss-tolerant", low_latency),
        ("low-latency, NewReno", cc(low_latency, CongestionControl::NewReno)),
        ("low-latency, cc off", cc(low_latency, CongestionControl::Off)),
        ("LinkConfig::new()", defaults),
    ];

    println!("window/RTT bound: {WINDOW} x {MESSAGE} B / {RTT_MS} ms = {bound:.3} MB/s");
    println!(
        "LinkConfig::new() as it is (window {}, max payload {}): bound {:.3} MB/s",
        defaults.send_window,
        defaults.max_payload,
        bound_of(defaults.send_window)
    );
    println!(
        "{MESSAGES} reliable messages of {MESSAGE} B ({:.1} s at the bound); {ONE_WAY_MS} ms each way, no jitter, \
         {} MB/s; loss in both directions; seeds {SEEDS:?}, median run by goodput; cap {} simulated s",
        (MESSAGES * MESSAGE) as f64 / (bound * 1e6),
        BANDWIDTH / 1_000_000,
        CAP_MS / 1000
    );
    println!();

    let mut table: Vec<Vec<Cell>> = Vec::new();
    for &loss in &LOSSES {
        let mut row = Vec::new();
        for (_, config) in &configs {
            let runs: Vec<Run> = SEEDS.iter().map(|&seed| run(*config, loss, seed)).collect();
            let mut sorted = runs.clone();
            sorted.sort_by(|a, b| a.goodput().total_cmp(&b.goodput()));
            row.push(Cell { median: sorted[sorted.len() / 2], runs });
        }
        table.push(row);
    }

    println!(
        "Median of {} seeds: goodput in MB/s, as a fraction of the bound, retransmissions per delivered message",
        SEEDS.len()
    );
    println!();
    print!("| loss |");
    for (name, _) in &configs {
        print!(" {name}: MB/s | of bound | retx/msg |");
    }
    println!();
    print!("|---:|");
    for _ in &configs {
        print!("---:|---:|---:|");
    }
    println!();
    for (loss, row) in LOSSES.iter().zip(&table) {
        print!("| {:.0}% |", loss * 100.0);
        for (cell, (_, config)) in row.iter().zip(&configs) {
            let bound = bound_of(config.send_window);
            let m = &cell.median;
            let mark = if m.finished {
                ""
            } else if m.failed {
                " (failed)"
            } else {
                " (capped)"
            };
            print!(" {:.3}{mark} | {:.1}% | {:.3} |", m.goodput(), 100.0 * m.goodput() / bound, m.retx_per_message());
        }
        println!();
    }
    println!();

    println!("Goodput of each seed {SEEDS:?}, MB/s");
    println!();
    print_header(&configs, "---|");
    for (loss, row) in LOSSES.iter().zip(&table) {
        print!("| {:.0}% |", loss * 100.0);
        for cell in row {
            let goodputs: Vec<String> = cell.runs.iter().map(|r| format!("{:.3}", r.goodput())).collect();
            print!(" {} |", goodputs.join(", "));
        }
        println!();
    }
    println!();

    println!(
        "Median run: retransmission timeouts at the sender / data packets the receiver got twice \
         (spurious retransmissions) / all retransmissions"
    );
    println!();
    print_header(&configs, "---:|");
    for (loss, row) in LOSSES.iter().zip(&table) {
        print!("| {:.0}% |", loss * 100.0);
        for cell in row {
            let m = &cell.median;
            print!(" {} / {} / {} |", m.timeouts, m.duplicates, m.retransmissions);
        }
        println!();
    }

    let mut unfinished = Vec::new();
    for (loss, row) in LOSSES.iter().zip(&table) {
        for (cell, (name, _)) in row.iter().zip(&configs) {
            for (seed, r) in SEEDS.iter().zip(&cell.runs) {
                if !r.finished {
                    unfinished.push(format!(
                        "{name} at {:.0}% loss, seed {seed}: {} of {MESSAGES} delivered in {} simulated s{}",
                        loss * 100.0,
                        r.delivered,
                        r.elapsed_ms / 1000,
                        if r.failed { " (link failed)" } else { " (cap reached)" }
                    ));
                }
            }
        }
    }
    println!();
    if unfinished.is_empty() {
        println!("Every run delivered all {MESSAGES} messages, in order.");
    } else {
        println!("Unfinished runs:");
        for u in unfinished {
            println!("  {u}");
        }
    }
}

fn print_header(configs: &[(&str, LinkConfig)], align: &str) {
    print!("| loss |");
    for (name, _) in configs {
        print!(" {name} |");
    }
    println!();
    print!("|---:|");
    for _ in configs {
        print!("{align}");
    }
    println!();
}
