//! Loopback demo: seed 000's packets over real UDP sockets on 127.0.0.1, with
//! injected bit flips, and seed 000 section 5's statistics at the end.
//!
//! `cargo run -p seqlink-tests --example loopback_demo -- [packets] [corruption_rate] [seed]`

use seqlink_core::framing::{decode_datagram, encode_datagram};
use seqlink_core::wire::{Codec, PacketRepr, PacketType};
use seqlink_core::{Error, Seq};
use std::net::UdpSocket;
use std::time::Duration;

/// xorshift64*: a small deterministic generator for the injected errors.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

#[derive(Default, Debug)]
struct Stats {
    packets_received_raw: u64,
    artificially_corrupted: u64,
    detected_corruptions_on_artificial_errors: u64,
    undetected_artificial_corruptions: u64,
    detected_natural_corruptions: u64,
    successfully_processed_packets: u64,
    out_of_sequence_packets: u64,
    gaps_skipped: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let count: u32 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let rate: f64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(0.1);
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(7);

    let server = UdpSocket::bind("127.0.0.1:0")?;
    server.set_read_timeout(Some(Duration::from_secs(2)))?;
    let client = UdpSocket::bind("127.0.0.1:0")?;
    client.connect(server.local_addr()?)?;
    println!("seqlink loopback demo: {count} packets 127.0.0.1 -> {}, bit-flip rate {rate}", server.local_addr()?);

    let codec = Codec::new().with_max_payload(1400);
    let shots = ["A1", "B5", "C3", "J10", "E7", "HIT", "MISS", "SUNK Carrier"];
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut stats = Stats::default();
    let mut expected = Seq(0);
    let mut out = [0u8; 1500];
    let mut inbuf = [0u8; 2048];

    for i in 0..count {
        let text = shots[i as usize % shots.len()];
        let repr = PacketRepr::new(Seq(i), PacketType::CMD_FIRE, text.as_bytes());
        let n = encode_datagram(&repr, &codec, &mut out)?;
        client.send(&out[..n])?;

        let len = server.recv(&mut inbuf)?;
        stats.packets_received_raw += 1;
        let raw = &mut inbuf[..len];
        let corrupted = rng.chance(rate);
        if corrupted {
            stats.artificially_corrupted += 1;
            let bit = (rng.next() % (len as u64 * 8)) as usize;
            raw[bit / 8] ^= 1 << (bit % 8);
        }
        match decode_datagram(raw, &codec) {
            Err(Error::BadChecksum { .. } | Error::LengthMismatch { .. } | Error::PayloadTooLarge { .. })
                if corrupted =>
            {
                stats.detected_corruptions_on_artificial_errors += 1
            }
            Err(_) => stats.detected_natural_corruptions += 1,
            // Late or duplicate: seed 000's policy discards it.
            Ok(packet) if packet.seq.is_before(expected) => stats.out_of_sequence_packets += 1,
            Ok(packet) => {
                // A gap (the discarded corrupt packets) is skipped: no retransmission in this demo.
                stats.gaps_skipped += packet.seq.offset_from(expected) as u64;
                if corrupted {
                    stats.undetected_artificial_corruptions += 1;
                }
                stats.successfully_processed_packets += 1;
                expected = packet.seq.next();
            }
        }
    }

    println!("{stats:#?}");
    let detected = stats.detected_corruptions_on_artificial_errors as f64;
    let injected = stats.artificially_corrupted.max(1) as f64;
    println!("single-bit corruptions detected: {:.1}%", 100.0 * detected / injected);
    Ok(())
}
