//! Congestion controllers sharing a bottleneck (simulated).
//!
//! Flows of 1200-byte reliable messages share one bandwidth-limited drop-tail
//! bottleneck in the deterministic simulator (`seqlink_tests::bottleneck`):
//! 1 MB/s, 20 ms one-way delay each way, a queue of one bandwidth-delay
//! product (40 kB), no random loss. Each pairing is measured from 5 s to
//! 60 s of simulated time: each flow's goodput, Jain's fairness index, the
//! share of datagrams the full queue dropped, and the flows' goodput together
//! as a fraction of the bottleneck's rate. A table adds 1 % random loss
//! to the first path (where the controllers differ by design); the last
//! ones show the loss-tolerant controller's limit: a short round trip with a
//! queue of a few milliseconds, whose drops it takes for random loss.
//!
//! `cargo run --release -p seqlink-bench --bin sim_fairness`

use seqlink_core::link::LinkConfig;
use seqlink_core::CongestionControl;
use seqlink_tests::bottleneck::{share, Path};

fn main() {
    let with = |cc: CongestionControl, low_latency: bool| {
        let mut c = if low_latency { LinkConfig::low_latency() } else { LinkConfig::standard() };
        c.congestion_control = cc;
        c
    };
    let tolerant = with(CongestionControl::LossTolerant, false);
    let newreno = with(CongestionControl::NewReno, false);
    let pairings = [
        ("loss-tolerant + loss-tolerant", vec![tolerant, tolerant]),
        ("loss-tolerant + NewReno", vec![tolerant, newreno]),
        ("NewReno + NewReno", vec![newreno, newreno]),
        ("loss-tolerant x 4", vec![tolerant; 4]),
        ("loss-tolerant (low-latency) + NewReno", vec![with(CongestionControl::LossTolerant, true), newreno]),
        ("off + NewReno (for contrast)", vec![with(CongestionControl::Off, false), newreno]),
    ];
    let deep = Path::standard();
    let mut shallow = deep;
    shallow.bottleneck.queue_bytes = 10_000;
    let mut long = deep;
    long.one_way_ms = 50;
    long.bottleneck.queue_bytes = 100_000;
    for path in [deep, shallow, long] {
        table(&path, &pairings);
    }
    // Not a fairness test: with random loss on top, NewReno backs off for
    // every random loss and the loss-tolerant flow takes what it leaves.
    let mut lossy = deep;
    lossy.random_loss = 0.01;
    println!("with 1% random loss in every direction as well:");
    println!();
    table(&lossy, &pairings[1..3]);
    // The limit of the loss-tolerant test: a queue that holds only a few
    // milliseconds of data delays the packets through it too little to show
    // (`max(min_rtt / 8, 2 ms)`), so its drops are taken for random loss.
    println!("the limit: a 10 ms RTT with queues of 3, 5 and 10 ms:");
    println!();
    for queue_bytes in [3_000, 5_000, 10_000] {
        let mut short = deep;
        short.one_way_ms = 5;
        short.bottleneck.queue_bytes = queue_bytes;
        table(&short, &pairings[..3]);
    }
}

fn table(path: &Path, pairings: &[(&str, Vec<LinkConfig>)]) {
    println!(
        "bottleneck {} MB/s, queue {} kB, {} ms one-way, {}% random loss; measured {} s to {} s; default windows ({} packets)",
        path.bottleneck.bandwidth as f64 / 1e6,
        path.bottleneck.queue_bytes / 1000,
        path.one_way_ms,
        path.random_loss * 100.0,
        path.measure_from_ms / 1000,
        path.until_ms / 1000,
        LinkConfig::new().send_window
    );
    println!();
    println!("| flows | goodput per flow, kB/s | Jain | queue loss | of bottleneck | timeouts per flow |");
    println!("|---|---|---:|---:|---:|---|");
    for (name, flows) in pairings {
        let s = share(path, flows);
        let goodputs: Vec<String> = s.goodput.iter().map(|g| format!("{:.0}", g / 1000.0)).collect();
        let timeouts: Vec<String> = s.timeouts.iter().map(|t| t.to_string()).collect();
        println!(
            "| {name} | {} | {:.3} | {:.2}% | {:.1}% | {} |",
            goodputs.join(", "),
            s.jain,
            100.0 * s.queue_loss,
            100.0 * s.utilization,
            timeouts.join(", ")
        );
    }
    println!();
}
