//! A forged ACK (or a corrupted one that still passed the 16-bit sum) that
//! selectively acknowledges a packet the receiver never got must not stall
//! the transfer: SACK information is advisory (RFC 2018 section 8), so the
//! receiver's NACK and the retransmission timer still get the packet resent.

use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::wire::ack::{AckRepr, Sack, ACK_BLOCK_MAX_LEN};
use seqlink_core::wire::{Codec, PacketRepr, PacketType};
use seqlink_core::Seq;
use seqlink_tests::link_node::LinkNode;
use seqlink_tests::sim::{Drop, Fate, Impairment, Match, Sim};

const A: u32 = 10;
const B: u32 = 20;
const MESSAGES: u32 = 200;
/// The packet the network loses and the forger claims arrived.
const VICTIM: Seq = Seq(9);

/// An ACK as B would send it (its true cumulative acknowledgement and
/// window), plus a selective acknowledgement of `sacked`.
fn forged_ack(cumulative: Seq, window: u16, sacked: Seq) -> Vec<u8> {
    let mut sack = Sack::new();
    let index = sacked.offset_from(cumulative.advance(2));
    assert!(index < 256, "the forged SACK must reach {sacked:?} from {cumulative:?}");
    sack.set(index as usize);
    let mut block = [0u8; ACK_BLOCK_MAX_LEN];
    let len = AckRepr { cumulative, window: Some(window), sack }.emit(&mut block).unwrap();
    let repr = PacketRepr::new(Seq(0), PacketType::ACK, &block[..len]);
    let mut out = vec![0u8; repr.buffer_len(&Codec::new())];
    repr.emit(&mut out, &Codec::new()).unwrap();
    out
}

#[test]
fn transfer_completes_despite_a_forged_sack_of_a_lost_packet() {
    for seed in 0..10u64 {
        let config = LinkConfig::new().with_window(16).with_max_payload(200);
        let mut sim = Sim::new(seed, Impairment::delay(20));
        sim.logging = true;
        // data is lost at random on the way to B; the victim's first copy always
        sim.impair(A, B, Impairment { loss: 0.05, ..Impairment::delay(20) });
        sim.drop_packets(Drop { from: A, matching: Match::Data(VICTIM), times: 1 });
        let mut a = LinkNode::new(config, B);
        let sent: Vec<Vec<u8>> = (0..MESSAGES).map(|i| i.to_be_bytes().to_vec()).collect();
        for m in &sent {
            a.queue(PacketType(100), m, Delivery::Reliable);
        }
        sim.add(A, a);
        sim.add(B, LinkNode::new(config, A));

        // The forger sees the victim leave A and answers at once in B's name,
        // acknowledging cumulatively only what A already knows B has.
        assert!(sim.run_until(60_000, |s| s.transmissions_of(A, VICTIM) > 0));
        let sent_by_a = sim.log.iter().filter(|e| e.from == A && e.fate == Fate::Sent).filter_map(|e| e.info.data);
        let next = sent_by_a.map(|seq| seq.0 + 1).max().unwrap();
        let unacknowledged = Seq(next).retreat(sim.node(A).link.stats().in_flight);
        sim.inject(B, A, forged_ack(unacknowledged.retreat(1), config.recv_window, VICTIM));

        let limit = sim.now + 30 * 60 * 1000;
        let done = sim.run_until(limit, |s| s.node(B).inbox.len() == sent.len() || s.node(A).failed());
        let (a, b) = (&sim.nodes[0].1, &sim.nodes[1].1);
        assert!(
            done && !a.failed(),
            "seed {seed}: {} of {MESSAGES} delivered in 30 simulated minutes, failure {:?}, stats {:?}",
            b.inbox.len(),
            a.link.failure(),
            a.link.stats()
        );
        let got: Vec<&[u8]> = b.inbox.iter().map(|m| &m.data[..]).collect();
        let want: Vec<&[u8]> = sent.iter().map(|m| &m[..]).collect();
        assert_eq!(got, want, "seed {seed}: delivered out of order or changed");
        assert!(sim.transmissions_of(A, VICTIM) >= 2, "seed {seed}: the victim was resent");
    }
}
