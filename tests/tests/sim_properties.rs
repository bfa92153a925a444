//! Property runs through the simulator: 2,000 seeds, each moving
//! thousands of messages both ways through random loss (0-30%), burst loss,
//! duplication, reordering, jitter and corruption, with random windows,
//! payload sizes, timing profiles, congestion control on or off, and
//! coalesced datagrams on or off.
//!
//! Every reliable message must be delivered exactly once and in order (or the
//! link must report failure, having delivered a prefix); unreliable messages
//! must never be duplicated or delivered out of order.

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::rtt::Timing;
use seqlink_core::{CongestionControl, PacketType};
use seqlink_tests::link_node::{LinkNode, Message};
use seqlink_tests::sim::{Gilbert, Impairment, Rng, Sim};

const A: u32 = 10;
const B: u32 = 20;

/// A message whose bytes say which message it is.
fn message(rng: &mut Rng, index: u32, max_len: usize, unreliable_max: usize, unreliable: bool) -> Message {
    let len = if unreliable {
        4 + rng.below((unreliable_max - 4) as u64 + 1) as usize
    } else if rng.chance(0.1) {
        4 + rng.below((max_len - 4) as u64 + 1) as usize
    } else {
        (4 + rng.below(200) as usize).min(max_len)
    };
    let mut data = index.to_be_bytes().to_vec();
    data.extend((4..len).map(|i| (i as u32).wrapping_mul(31).wrapping_add(index) as u8));
    let delivery = if unreliable { Delivery::Unreliable } else { Delivery::Reliable };
    Message { ptype: PacketType(100 + (index % 50) as u8), data, delivery }
}

struct Outcome {
    delivered: usize,
    failed: bool,
    sim_ms: u64,
}

fn check_direction(sent: &[Message], got: &[Message], failed: bool, seed: u64, dir: &str) -> usize {
    let sent_reliable: Vec<&Message> = sent.iter().filter(|m| m.delivery == Delivery::Reliable).collect();
    let got_reliable: Vec<&Message> = got.iter().filter(|m| m.delivery == Delivery::Reliable).collect();
    if failed {
        assert!(got_reliable.len() <= sent_reliable.len(), "seed {seed} {dir}: more delivered than sent");
    } else {
        assert_eq!(got_reliable.len(), sent_reliable.len(), "seed {seed} {dir}: reliable messages missing or extra");
    }
    for (i, (g, s)) in got_reliable.iter().zip(&sent_reliable).enumerate() {
        assert!(g == s, "seed {seed} {dir}: reliable message {i} differs (order or content)");
    }
    let mut last: Option<u32> = None;
    for g in got.iter().filter(|m| m.delivery == Delivery::Unreliable) {
        let index = u32::from_be_bytes(g.data[..4].try_into().unwrap());
        assert!(last.is_none_or(|l| index > l), "seed {seed} {dir}: unreliable {index} after {last:?}");
        last = Some(index);
        let original = sent.iter().find(|m| m.delivery == Delivery::Unreliable && m.data[..4] == g.data[..4]);
        assert!(original == Some(g), "seed {seed} {dir}: unreliable message {index} corrupted");
    }
    got_reliable.len()
}

fn run(seed: u64, max_loss: f64, messages: u32) -> Outcome {
    let mut rng = Rng::new(seed);
    let window = 1 + rng.below(64) as u16;
    let mut config = LinkConfig::new().with_window(window).with_max_payload(64 + rng.below(1400 - 64) as u16);
    config.timing = if rng.chance(0.5) { Timing::low_latency() } else { Timing::standard() };
    config.timing.max_retries = 30;
    config.congestion_control = match (rng.chance(0.7), seed % 2) {
        (false, _) => CongestionControl::Off,
        (true, 0) => CongestionControl::NewReno,
        (true, _) => CongestionControl::LossTolerant,
    };
    config.unreliable_slots = rng.below(4) as u8;
    // coalesced datagrams on half the seeds, with a wait bound of 0-3 ms
    // (drawn apart, so that the other draws stay those of each seed)
    let mut packing = Rng::new(seed ^ 0xc0a1_e5ce);
    config.coalesce = packing.chance(0.5);
    config.coalesce_wait_ms = packing.below(4) as u16;
    let loss = rng.unit() * max_loss;
    let impairment = Impairment {
        loss,
        burst: rng.chance(0.3).then_some(Gilbert { enter_bad: 0.02, leave_bad: 0.3, loss_in_bad: 0.5 }),
        duplicate: rng.unit() * 0.05,
        reorder: rng.unit() * 0.1,
        reorder_delay_ms: 1 + rng.below(40),
        delay_ms: 1 + rng.below(40),
        jitter_ms: rng.below(20),
        bandwidth: rng.chance(0.3).then(|| 200_000 + rng.below(5_000_000)),
        corrupt: rng.unit() * 0.05,
    };
    let mut sim = Sim::new(seed, impairment);
    if std::env::var("SIM_SEED").is_ok_and(|s| s.parse() == Ok(seed)) {
        sim.logging = true;
    }
    let mut a = LinkNode::new(config, B);
    let mut b = LinkNode::new(config, A);
    let max_len = config.max_message_len().min(3 * usize::from(config.max_payload));
    let unreliable_max = config.max_unreliable_len();
    let mut sent_ab = Vec::new();
    let mut sent_ba = Vec::new();
    for i in 0..messages {
        let unreliable = config.unreliable_slots > 0 && rng.chance(0.2);
        let m = message(&mut rng, i, max_len, unreliable_max, unreliable);
        a.outbox.push_back(m.clone());
        sent_ab.push(m);
        if i % 4 == 0 {
            let m = message(&mut rng, i, max_len, unreliable_max, unreliable);
            b.outbox.push_back(m.clone());
            sent_ba.push(m);
        }
    }
    sim.add(A, a);
    sim.add(B, b);
    let finished = sim.run_until(48 * 3_600_000, |s| {
        let (a, b) = (&s.nodes[0].1, &s.nodes[1].1);
        let a_done = a.outbox.is_empty() && a.link.is_idle();
        let b_done = b.outbox.is_empty() && b.link.is_idle();
        (a_done && b_done) || a.failed() || b.failed()
    });
    let sim_ms = sim.now;
    let (a, b) = (&sim.nodes[0].1, &sim.nodes[1].1);
    let failed = a.failed() || b.failed();
    if !finished {
        for (addr, n) in &sim.nodes {
            eprintln!(
                "node {addr}: outbox {} idle {} capacity {} timeout {:?} stats {:?}",
                n.outbox.len(),
                n.link.is_idle(),
                n.link.send_capacity(),
                n.link.poll_timeout(),
                n.link.stats()
            );
        }
        eprintln!("config {config:?}\nimpairment {impairment:?}");
    }
    assert!(finished, "seed {seed}: neither finished nor failed after {sim_ms} ms (stalled)");
    assert!(
        a.refused.is_empty() && b.refused.is_empty(),
        "seed {seed}: refused {:?} {:?}",
        a.refused.first().map(|r| (r.0.data.len(), r.1)),
        b.refused.first().map(|r| (r.0.data.len(), r.1))
    );
    let delivered = check_direction(&sent_ab, &b.inbox, failed, seed, "a->b")
        + check_direction(&sent_ba, &a.inbox, failed, seed, "b->a");
    Outcome { delivered, failed, sim_ms }
}

fn sweep(seeds: std::ops::Range<u64>, max_loss: f64, messages: u32) {
    let mut failures = 0;
    let mut delivered = 0;
    let mut sim_ms = 0;
    for seed in seeds.clone() {
        let o = run(seed, max_loss, messages);
        failures += usize::from(o.failed);
        delivered += o.delivered;
        sim_ms += o.sim_ms;
    }
    println!(
        "seeds {seeds:?}, loss up to {:.0}%: {delivered} reliable messages delivered, {failures} links failed, {} s simulated",
        max_loss * 100.0,
        sim_ms / 1000
    );
    // Failure is allowed by the property, but with 30 retries it should be rare.
    assert!(failures * 20 <= seeds.count(), "too many failed links: {failures}");
}

/// Replays one seed with its log on (a debugging aid, not part of the suite).
#[test]
#[ignore = "replay tool: SIM_SEED=n cargo test -p seqlink-tests --test sim_properties one_seed -- --ignored --nocapture"]
fn one_seed() {
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        run(
            seed,
            if seed < 500 {
                0.05
            } else if seed < 1000 {
                0.15
            } else {
                0.30
            },
            2000,
        );
    }
}

#[test]
fn low_loss_seeds_0_to_500() {
    sweep(0..500, 0.05, 2000);
}

#[test]
fn medium_loss_seeds_500_to_1000() {
    sweep(500..1000, 0.15, 2000);
}

#[test]
fn high_loss_seeds_1000_to_1500() {
    sweep(1000..1500, 0.30, 2000);
}

#[test]
fn any_loss_seeds_1500_to_2000() {
    sweep(1500..2000, 0.30, 2000);
}
