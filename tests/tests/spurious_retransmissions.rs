//! Spurious retransmissions (issue 9): a packet delayed by jitter or
//! reordering is not taken for lost over and over, and a lost one is
//! resent about once per loss.

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::PacketType;
use seqlink_tests::link_node::LinkNode;
use seqlink_tests::sim::{Fate, Impairment, Sim};

const A: u32 = 1;
const B: u32 = 2;

/// What one bulk transfer from A to B cost.
#[derive(Debug)]
struct Transfer {
    /// Data packets A sent that the network lost.
    lost: usize,
    /// Retransmissions A made.
    retransmissions: u64,
    /// Bytes A and B put on the wire per message byte delivered.
    wire_per_byte: f64,
    /// Simulated milliseconds until the last message arrived.
    elapsed_ms: u64,
    stats: seqlink_core::link::Stats,
}

/// Sends `messages` messages of `len` bytes from A to B over `path` (both
/// ways) with `config`, until all arrived.
fn transfer(seed: u64, config: LinkConfig, path: Impairment, messages: u32, len: usize) -> Transfer {
    let mut sim = Sim::new(seed, path);
    sim.logging = true;
    let mut a = LinkNode::new(config, B);
    for i in 0..messages {
        let mut data = i.to_be_bytes().to_vec();
        data.resize(len, i as u8);
        a.queue(PacketType(100), &data, Delivery::Reliable);
    }
    sim.add(A, a);
    sim.add(B, LinkNode::new(config, A));
    let done = sim.run_until(3_600_000, |s| s.node(B).inbox.len() == messages as usize);
    assert!(done, "seed {seed}: {} of {messages} delivered", sim.node(B).inbox.len());
    for (i, m) in sim.node(B).inbox.iter().enumerate() {
        assert_eq!(m.data[..4], (i as u32).to_be_bytes(), "seed {seed}: delivered in order, once each");
    }
    let lost = sim.log.iter().filter(|e| e.from == A && e.fate == Fate::Lost && e.info.data.is_some()).count();
    let elapsed_ms = sim.now;
    let a = sim.node(A).link.stats();
    let b = sim.node(B).link.stats();
    let payload = f64::from(messages) * len as f64;
    Transfer {
        lost,
        retransmissions: a.retransmissions,
        wire_per_byte: (a.bytes_sent + b.bytes_sent) as f64 / payload,
        elapsed_ms,
        stats: a,
    }
}

/// The paths measured: name and impairment (the same both ways).
fn paths() -> Vec<(&'static str, Impairment)> {
    vec![
        ("jitter 2+-1 ms", Impairment { jitter_ms: 2, ..Impairment::delay(1) }),
        ("jitter 10+-10 ms", Impairment { jitter_ms: 20, ..Impairment::delay(0) }),
        ("reorder 10% by 30 ms, D=10", Impairment { reorder: 0.1, reorder_delay_ms: 30, ..Impairment::delay(10) }),
        ("loss 10%, D=10", Impairment { loss: 0.1, ..Impairment::delay(10) }),
        ("loss 10%, D=0", Impairment { loss: 0.1, ..Impairment::delay(0) }),
        (
            "loss 5% + jitter 5 + reorder 5%, D=10",
            Impairment { loss: 0.05, jitter_ms: 5, reorder: 0.05, reorder_delay_ms: 20, ..Impairment::delay(10) },
        ),
    ]
}

/// Prints the figures of every path (a measuring aid, not part of the suite).
#[test]
#[ignore = "figures: cargo test --release -p seqlink-tests --test spurious_retransmissions figures -- --ignored --nocapture"]
fn figures() {
    for (name, path) in paths() {
        for seed in 1..=3 {
            let t = transfer(seed, LinkConfig::new(), path, 5000, 1000);
            println!(
                "{name:40} seed {seed}: lost {:5} resent {:5} ({:.2} per loss) wire/byte {:.3} time {} ms",
                t.lost,
                t.retransmissions,
                t.retransmissions as f64 / t.lost.max(1) as f64,
                t.wire_per_byte,
                t.elapsed_ms
            );
            println!("    {:?}", t.stats);
        }
    }
}

#[test]
fn jitter_of_a_few_ms_without_loss_resends_next_to_nothing() {
    // 2 +- 1 ms each way (the CLI demo's `--delay 2+-1`): packets overtake
    // each other all the time, none is lost. A packet resent because it was
    // overtaken before the reordering window had learned the jitter, and
    // whose original then arrives, must teach that window all the same
    // (seeds 4-9 once resent about 7000 packets each)
    let path = Impairment { jitter_ms: 2, ..Impairment::delay(1) };
    let resent: Vec<(u64, u64)> =
        (1..=9).map(|seed| (seed, transfer(seed, LinkConfig::new(), path, 5000, 1000).retransmissions)).collect();
    let too_many: Vec<_> = resent.iter().filter(|(_, r)| *r > 50).collect();
    assert!(too_many.is_empty(), "(seed, retransmissions) without a loss: {too_many:?}");
}

#[test]
fn jitter_as_large_as_the_delay_is_learned() {
    // 0 to 20 ms each way: a packet may arrive 40 ms after one sent with it
    let path = Impairment { jitter_ms: 20, ..Impairment::delay(0) };
    for seed in 1..=3 {
        let t = transfer(seed, LinkConfig::new(), path, 5000, 1000);
        assert!(t.retransmissions <= 1000, "seed {seed}: {} retransmissions without a loss", t.retransmissions);
    }
}

#[test]
fn a_lost_packet_is_resent_about_once_at_zero_delay() {
    // a NACK sent before a resend arrived must not send it again
    let path = Impairment { loss: 0.1, ..Impairment::delay(0) };
    for seed in 1..=3 {
        let t = transfer(seed, LinkConfig::new(), path, 5000, 1000);
        let per_loss = t.retransmissions as f64 / t.lost as f64;
        assert!(per_loss <= 1.2, "seed {seed}: {per_loss:.2} retransmissions per lost data packet");
    }
}
