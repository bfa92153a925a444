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
//!
//! With the argument `fast`, the scenario of issue 9's "seqlink-fast" rows
//! instead: 10 ms one-way delay (20 ms RTT), window 256, 1400-byte payloads,
//! 20 000 messages, low-latency timing with congestion control off and on.
//! The last column of the first table is then the wire bytes the sender sent
//! per application byte delivered.

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::{CongestionControl, PacketType};
use seqlink_tests::link_node::{LinkNode, Message};
use seqlink_tests::sim::{Fate, Impairment, LogEntry, Sim};
use std::collections::HashMap;

/// Bytes per message: one full packet each (`max_payload` is 1200 too; an
/// application-typed data packet carries the message as its whole payload).
/// The path and transfer of one scenario.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    message: usize,
    window: u16,
    one_way_ms: u64,
    messages: usize,
}

impl Scenario {
    const fn rtt_ms(&self) -> u64 {
        2 * self.one_way_ms
    }
}

/// The default scenario: 1200-byte messages, window 64, 25 ms each way.
const DEFAULT: Scenario = Scenario { message: 1200, window: 64, one_way_ms: 25, messages: 50_000 };
/// Issue 9's fast profile: 1400-byte messages, window 256, 10 ms each way.
const FAST: Scenario = Scenario { message: 1400, window: 256, one_way_ms: 10, messages: 20_000 };
/// Bytes per second the path carries each way (the window bound is ~1.5 MB/s).
const BANDWIDTH: u64 = 100_000_000;
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
    /// Bytes of every datagram the sender sent (headers, ACKs and resends included).
    wire_bytes: u64,
    /// How long a resend that was lost again waited for the next
    /// transmission of its packet, ms: median, 90th percentile, how many.
    relost_wait: (u64, u64, usize),
    /// All messages delivered within the cap.
    finished: bool,
    /// The sender's link failed (peer declared dead).
    failed: bool,
}

impl Run {
    /// Goodput in MB/s (10^6 bytes per second).
    fn goodput(&self, message: usize) -> f64 {
        (self.delivered * message) as f64 / (self.elapsed_ms.max(1) as f64 / 1000.0) / 1e6
    }

    fn retx_per_message(&self) -> f64 {
        self.retransmissions as f64 / self.delivered.max(1) as f64
    }
}

fn run(sc: &Scenario, config: LinkConfig, loss: f64, seed: u64) -> Run {
    let (message, messages) = (sc.message, sc.messages);
    let impairment = Impairment { loss, bandwidth: Some(BANDWIDTH), ..Impairment::delay(sc.one_way_ms) };
    let mut sim = Sim::new(seed, impairment);
    let mut sender = LinkNode::new(config, RECEIVER);
    for i in 0..messages {
        // distinct contents, so a mixed-up delivery would show in the check below
        let mut data = vec![(i % 251) as u8; message];
        data[..4].copy_from_slice(&(i as u32).to_be_bytes());
        sender.outbox.push_back(Message { ptype: PacketType(100), data, delivery: Delivery::Reliable });
    }
    sim.add(SENDER, sender);
    sim.add(RECEIVER, LinkNode::new(config, SENDER));
    sim.logging = true;
    let finished = sim
        .run_until(CAP_MS, |s| s.nodes[1].1.inbox.len() == messages || s.nodes[0].1.failed() || s.nodes[1].1.failed());
    let failed = sim.nodes[0].1.failed() || sim.nodes[1].1.failed();
    let inbox = &sim.nodes[1].1.inbox;
    for (i, m) in inbox.iter().enumerate() {
        assert_eq!(m.data.len(), message);
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
        wire_bytes: stats.bytes_sent,
        relost_wait: relost_waits(&sim.log),
        finished: finished && !failed && inbox.len() == messages,
        failed,
    }
}

/// The waits of lost resends for the next transmission of their packet.
fn relost_waits(log: &[LogEntry]) -> (u64, u64, usize) {
    // per data packet from the sender: (time, lost) of each transmission
    let mut sends: HashMap<u32, Vec<(u64, bool)>> = HashMap::new();
    for e in log.iter().filter(|e| e.from == SENDER) {
        let Some(seq) = e.info.data else { continue };
        let list = sends.entry(seq.0).or_default();
        match e.fate {
            Fate::Sent => list.push((e.time, false)),
            Fate::Lost | Fate::Scripted => {
                if let Some(last) = list.last_mut() {
                    last.1 = true;
                }
            }
            _ => {}
        }
    }
    let mut waits: Vec<u64> = Vec::new();
    for list in sends.values() {
        for pair in list.windows(2).skip(1) {
            if pair[0].1 {
                waits.push(pair[1].0 - pair[0].0);
            }
        }
    }
    waits.sort_unstable();
    let at = |q: f64| waits.get(((waits.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
    (at(0.5), at(0.9), waits.len())
}

struct Cell {
    median: Run,
    runs: Vec<Run>,
}

fn main() {
    let fast = std::env::args().nth(1).is_some_and(|a| a == "fast");
    let sc = if fast { FAST } else { DEFAULT };
    let (message, messages, window) = (sc.message, sc.messages, sc.window);
    let (one_way_ms, rtt_ms) = (sc.one_way_ms, sc.rtt_ms());
    let bound_of = |window: u16| f64::from(window) * message as f64 / (rtt_ms as f64 / 1000.0) / 1e6;
    let bound = bound_of(window);
    let payload = message as u16;
    let standard = LinkConfig::standard().with_window(window).with_max_payload(payload);
    let low_latency = LinkConfig::low_latency().with_window(window).with_max_payload(payload);
    let cc = |mut c: LinkConfig, cc: CongestionControl| {
        c.congestion_control = cc;
        c
    };
    let defaults = LinkConfig::new();
    let configs: Vec<(&str, LinkConfig)> = if fast {
        vec![
            ("low-latency, cc off", cc(low_latency, CongestionControl::Off)),
            ("low-latency, loss-tolerant", low_latency),
            ("low-latency, NewReno", cc(low_latency, CongestionControl::NewReno)),
        ]
    } else {
        vec![
            ("standard, loss-tolerant", standard),
            ("standard, NewReno", cc(standard, CongestionControl::NewReno)),
            ("standard, cc off", cc(standard, CongestionControl::Off)),
            ("low-latency, loss-tolerant", low_latency),
            ("low-latency, NewReno", cc(low_latency, CongestionControl::NewReno)),
            ("low-latency, cc off", cc(low_latency, CongestionControl::Off)),
            ("LinkConfig::new()", defaults),
        ]
    };

    println!("window/RTT bound: {window} x {message} B / {rtt_ms} ms = {bound:.3} MB/s");
    println!(
        "LinkConfig::new() as it is (window {}, max payload {}): bound {:.3} MB/s",
        defaults.send_window,
        defaults.max_payload,
        bound_of(defaults.send_window)
    );
    println!(
        "{messages} reliable messages of {message} B ({:.1} s at the bound); {one_way_ms} ms each way, no jitter, \
         {} MB/s; loss in both directions; seeds {SEEDS:?}, median run by goodput; cap {} simulated s",
        (messages * message) as f64 / (bound * 1e6),
        BANDWIDTH / 1_000_000,
        CAP_MS / 1000
    );
    println!();

    let mut table: Vec<Vec<Cell>> = Vec::new();
    for &loss in &LOSSES {
        let mut row = Vec::new();
        for (_, config) in &configs {
            let runs: Vec<Run> = SEEDS.iter().map(|&seed| run(&sc, *config, loss, seed)).collect();
            let mut sorted = runs.clone();
            sorted.sort_by(|a, b| a.goodput(message).total_cmp(&b.goodput(message)));
            row.push(Cell { median: sorted[sorted.len() / 2], runs });
        }
        table.push(row);
    }

    println!(
        "Median of {} seeds: goodput in MB/s, as a fraction of the bound, retransmissions per delivered message, \
         wire bytes sent per application byte delivered",
        SEEDS.len()
    );
    println!();
    print!("| loss |");
    for (name, _) in &configs {
        print!(" {name}: MB/s | of bound | retx/msg | wire/byte |");
    }
    println!();
    print!("|---:|");
    for _ in &configs {
        print!("---:|---:|---:|---:|");
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
            let goodput = m.goodput(message);
            let wire = m.wire_bytes as f64 / (m.delivered * message).max(1) as f64;
            print!(" {goodput:.3}{mark} | {:.1}% | {:.3} | {wire:.3} |", 100.0 * goodput / bound, m.retx_per_message());
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
            let goodputs: Vec<String> = cell.runs.iter().map(|r| format!("{:.3}", r.goodput(message))).collect();
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

    println!();
    println!(
        "Median run: a resend lost again waited this long for the next transmission of its packet, \
         ms: median / 90th percentile (how many)"
    );
    println!();
    print_header(&configs, "---:|");
    for (loss, row) in LOSSES.iter().zip(&table) {
        print!("| {:.0}% |", loss * 100.0);
        for cell in row {
            let (median, p90, n) = cell.median.relost_wait;
            print!(" {median} / {p90} ({n}) |");
        }
        println!();
    }

    let mut unfinished = Vec::new();
    for (loss, row) in LOSSES.iter().zip(&table) {
        for (cell, (name, _)) in row.iter().zip(&configs) {
            for (seed, r) in SEEDS.iter().zip(&cell.runs) {
                if !r.finished {
                    unfinished.push(format!(
                        "{name} at {:.0}% loss, seed {seed}: {} of {messages} delivered in {} simulated s{}",
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
        println!("Every run delivered all {messages} messages, in order.");
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
