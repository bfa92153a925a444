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
//! also reorders; STALL_MS: both ends stop now and then, as a thread that
//! the scheduler preempts on a busy machine does: on average every 50 ms
//! for 1 to STALL_MS ms, during which datagrams wait in the socket and are
//! all handled at the same time when it runs again).

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::{CongestionControl, PacketType};
use seqlink_tests::link_node::{LinkNode, Message};
use seqlink_tests::sim::{Addr, Impairment, Node, Rng, Sim};

const MESSAGES: usize = 3500;
const SIZE: usize = 1200;
const LOSSES: [f64; 5] = [0.0, 0.01, 0.05, 0.10, 0.20];
/// Mean time between two stalls of one end, ms.
const STALL_EVERY_MS: u64 = 50;

/// A [`LinkNode`] whose thread is preempted now and then: while it stalls
/// it neither sends nor runs its timers, and datagrams wait for it.
struct Stalling {
    inner: LinkNode,
    rng: Rng,
    max_ms: u64,
    /// The current or next stall, `[start, end)`.
    stall: (u64, u64),
    waiting: Vec<Vec<u8>>,
}

impl Stalling {
    fn new(inner: LinkNode, seed: u64, max_ms: u64) -> Stalling {
        let mut node = Stalling { inner, rng: Rng::new(seed), max_ms, stall: (0, 0), waiting: Vec::new() };
        node.next_stall(0);
        node
    }

    fn next_stall(&mut self, after: u64) {
        if self.max_ms == 0 {
            self.stall = (u64::MAX, u64::MAX);
            return;
        }
        let start = after + 1 + self.rng.below(2 * STALL_EVERY_MS);
        self.stall = (start, start + 1 + self.rng.below(self.max_ms));
    }

    /// Whether the node is stopped at `now`; past a stall, it catches up first.
    fn stalled(&mut self, now: u64) -> bool {
        if now >= self.stall.1 {
            for d in std::mem::take(&mut self.waiting) {
                self.inner.handle(now, 0, &d);
                self.inner.poll_app(now);
            }
            self.next_stall(now);
        }
        now >= self.stall.0
    }
}

impl Node for Stalling {
    fn handle(&mut self, now: u64, from: Addr, datagram: &[u8]) {
        if self.stalled(now) {
            self.waiting.push(datagram.to_vec());
        } else {
            self.inner.handle(now, from, datagram);
        }
    }

    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(Addr, usize)> {
        if self.stalled(now) {
            return None;
        }
        self.inner.transmit(now, buf)
    }

    fn timeout(&self) -> Option<u64> {
        let (start, end) = self.stall;
        // a timer due within a stall runs when it ends, and so do the datagrams held
        let own = self.inner.timeout().map(|t| if (start..end).contains(&t) { end } else { t });
        let held = (!self.waiting.is_empty()).then_some(end);
        [own, held].into_iter().flatten().min()
    }

    fn on_timeout(&mut self, now: u64) {
        if !self.stalled(now) {
            self.inner.on_timeout(now);
        }
    }

    fn poll_app(&mut self, now: u64) {
        if !self.stalled(now) {
            self.inner.poll_app(now);
        }
    }
}

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
    sim.add(1, Stalling::new(sender, seed * 2, stall_ms));
    sim.add(2, Stalling::new(LinkNode::new(config, 1), seed * 2 + 1, stall_ms));
    let (mut last, mut area) = (0u64, 0u64);
    let done = sim.run_until(600_000, |s| {
        area += u64::from(s.nodes[0].1.inner.link.stats().cwnd) * (s.now - last);
        last = s.now;
        s.nodes[1].1.inner.inbox.len() == MESSAGES
    });
    assert!(done, "{cc:?} loss {loss} seed {seed}: not delivered in 600 s");
    let elapsed = sim.now.max(1);
    let goodput = (MESSAGES * SIZE) as f64 / elapsed as f64 / 1000.0;
    (goodput, sim.nodes[0].1.inner.link.stats().timeouts, area / elapsed)
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
