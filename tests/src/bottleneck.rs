//! Flows sharing one bandwidth-limited drop-tail bottleneck: the fairness
//! experiment of the congestion controllers (issue 9).
//!
//! Each flow is a sending [`LinkNode`] and a receiving one. The data
//! directions of all flows pass through one [`Bottleneck`]; every direction
//! has the same one-way delay and, unless [`Path::random_loss`] is set,
//! nothing else (no random loss, no jitter), so every loss is a queue overflow. Senders always have messages to send.

use crate::link_node::{LinkNode, Message};
use crate::sim::{Bottleneck, Impairment, Sim};
use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::PacketType;

/// Bytes per message: one full 1200-byte packet each.
pub const MESSAGE: usize = 1200;

/// The path the flows share.
#[derive(Debug, Clone, Copy)]
pub struct Path {
    /// One-way delay each way, ms.
    pub one_way_ms: u64,
    /// The bottleneck's rate and queue.
    pub bottleneck: Bottleneck,
    /// When measuring starts (the start-up is left out), simulated ms.
    pub measure_from_ms: u64,
    /// When the run ends, simulated ms.
    pub until_ms: u64,
    /// Random loss in every direction, besides the queue's drops (0 for the fairness runs).
    pub random_loss: f64,
}

impl Path {
    /// 1 MB/s, 40 ms RTT, a queue of one bandwidth-delay product (40 kB),
    /// measured from 5 s to 60 s.
    pub fn standard() -> Path {
        Path {
            one_way_ms: 20,
            bottleneck: Bottleneck { bandwidth: 1_000_000, queue_bytes: 40_000 },
            measure_from_ms: 5_000,
            until_ms: 60_000,
            random_loss: 0.0,
        }
    }
}

/// What a run measured, over the measuring interval.
#[derive(Debug, Clone)]
pub struct Sharing {
    /// Goodput of each flow (application bytes delivered per second).
    pub goodput: Vec<f64>,
    /// Jain's fairness index of the goodputs: 1 when equal, 1/n when one flow has all.
    pub jain: f64,
    /// Datagrams the full queue dropped, as a fraction of those offered to it.
    pub queue_loss: f64,
    /// The flows' goodput together as a fraction of the bottleneck's rate.
    pub utilization: f64,
    /// Retransmission timeouts of each sender over the whole run.
    pub timeouts: Vec<u64>,
}

/// Runs one flow per configuration over `path`.
pub fn share(path: &Path, flows: &[LinkConfig]) -> Sharing {
    let mut sim = Sim::new(1, Impairment { loss: path.random_loss, ..Impairment::delay(path.one_way_ms) });
    let mut directions = Vec::new();
    for (i, config) in flows.iter().enumerate() {
        let (sender, receiver) = addrs(i);
        sim.add(sender, LinkNode::new(*config, receiver));
        sim.add(receiver, LinkNode::new(*config, sender));
        directions.push((sender, receiver));
    }
    let queue = sim.add_bottleneck(&directions, path.bottleneck);
    let mut delivered = vec![0usize; flows.len()];
    let mut at_start = vec![0usize; flows.len()];
    let mut counts_at_start = sim.bottleneck_counts(queue);
    let mut t = 0;
    while t < path.until_ms {
        if t == path.measure_from_ms {
            at_start.clone_from(&delivered);
            counts_at_start = sim.bottleneck_counts(queue);
        }
        for (i, config) in flows.iter().enumerate() {
            let (sender, receiver) = addrs(i);
            let keep = 2 * usize::from(config.send_window);
            let outbox = &mut sim.node(sender).outbox;
            while outbox.len() < keep {
                let data = vec![i as u8; MESSAGE];
                outbox.push_back(Message { ptype: PacketType(100), data, delivery: Delivery::Reliable });
            }
            let inbox = &mut sim.node(receiver).inbox;
            delivered[i] += inbox.len();
            inbox.clear();
        }
        t = (t + 100).min(path.until_ms);
        sim.run_until(t, |_| false);
    }
    for (i, d) in delivered.iter_mut().enumerate() {
        *d += sim.node(addrs(i).1).inbox.len();
    }
    let seconds = (path.until_ms - path.measure_from_ms) as f64 / 1000.0;
    let goodput: Vec<f64> =
        delivered.iter().zip(&at_start).map(|(d, s)| ((d - s) * MESSAGE) as f64 / seconds).collect();
    let sum: f64 = goodput.iter().sum();
    let squares: f64 = goodput.iter().map(|g| g * g).sum();
    let counts = sim.bottleneck_counts(queue);
    let dropped = counts.dropped - counts_at_start.dropped;
    let offered = dropped + counts.passed - counts_at_start.passed;
    Sharing {
        jain: sum * sum / (goodput.len() as f64 * squares.max(f64::MIN_POSITIVE)),
        utilization: sum / path.bottleneck.bandwidth as f64,
        goodput,
        queue_loss: dropped as f64 / offered.max(1) as f64,
        timeouts: (0..flows.len()).map(|i| sim.node(addrs(i).0).link.stats().timeouts).collect(),
    }
}

/// Sender and receiver addresses of flow `i`.
fn addrs(i: usize) -> (u32, u32) {
    (1 + i as u32, 101 + i as u32)
}
