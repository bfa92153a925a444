//! How often does a corrupted packet still decode? A bit-flip experiment on
//! the two integrity modes.
//!
//! ```text
//! cargo run --release -p seqlink-bench --bin bitflip [-- TRIALS_IC TRIALS_CRC]
//! ```
//!
//! For every row a fixed-seed generator builds random valid packets with
//! `seqlink_core` (random sequence number, type, and payload of 0..=1400
//! random bytes), corrupts each one, and asks `PacketRepr::decode` whether it
//! is still valid. Corruptions:
//!
//! * `k` distinct bits, uniformly anywhere in the packet (header, payload,
//!   checksum field or CRC trailer), for k = 1, 2, 3, 4, 8, 16;
//! * a burst: a length L uniform in 1..=16 and a start uniform over the
//!   packet; the first and last bit of the burst are flipped, each bit in
//!   between with probability 1/2 (the usual definition of a burst error of
//!   length L).
//!
//! Any error from `decode` counts as a detection, whatever its kind (a flip in
//! the length field is caught as a length mismatch). An `Ok` is an undetected
//! corruption: the bytes differ from the ones sent, so the packet accepted is
//! not the packet sent. Results are in docs/BENCHMARKS.md.

use std::time::Instant;

use seqlink_core::wire::{Codec, PacketRepr, PacketType, HEADER_LEN};
use seqlink_core::{Integrity, Seq};

/// Largest payload generated.
const MAX_PAYLOAD: usize = 1400;
/// Room for the largest packet in either mode.
const BUF_LEN: usize = HEADER_LEN + MAX_PAYLOAD + 4;
/// Default trials per row.
const TRIALS_IC: u64 = 1_000_000;
const TRIALS_CRC: u64 = 1_000_000;
/// Fixed seed: the table is reproducible.
const SEED: u64 = 0x5eed_b17f_11b5_2026;

/// xorshift64* (Vigna): small, fast, good enough for picking bits.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0), by 128-bit multiply (bias below 2^-40 here).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// One row of the table: how the packet is corrupted.
#[derive(Clone, Copy)]
enum Corruption {
    /// `k` distinct bits anywhere.
    Bits(usize),
    /// A burst of length 1..=16.
    Burst,
}

impl Corruption {
    fn label(self) -> String {
        match self {
            Corruption::Bits(k) => k.to_string(),
            Corruption::Burst => "burst <= 16".to_string(),
        }
    }

    /// Flips bits of `packet` according to this corruption; returns the
    /// first two bits flipped (for classifying undetected 2-bit errors).
    fn apply(self, packet: &mut [u8], rng: &mut Rng) -> [usize; 2] {
        let nbits = packet.len() * 8;
        match self {
            Corruption::Bits(k) => {
                let mut chosen = [0usize; 16];
                let mut n = 0;
                while n < k {
                    let bit = rng.below(nbits);
                    if !chosen[..n].contains(&bit) {
                        chosen[n] = bit;
                        n += 1;
                    }
                }
                for &bit in &chosen[..k] {
                    flip(packet, bit);
                }
                [chosen[0], chosen[1]]
            }
            Corruption::Burst => {
                let len = 1 + rng.below(16);
                let start = rng.below(nbits - len + 1);
                let inner = rng.next_u64();
                for i in 0..len {
                    if i == 0 || i == len - 1 || (inner >> i) & 1 == 1 {
                        flip(packet, start + i);
                    }
                }
                [start, start + len - 1]
            }
        }
    }
}

/// The bit's column (0 = least significant) in the 16-bit words the Internet
/// checksum adds. Header and payload bytes at even packet offsets are the
/// high bytes of their words; the checksum field (bytes 7 and 8) is a
/// big-endian word of its own, so its high byte sits at an odd offset.
fn column(bit: usize) -> usize {
    let (byte, from_msb) = (bit / 8, bit % 8);
    let high = match byte {
        7 => true,
        8 => false,
        _ => byte % 2 == 0,
    };
    (7 - from_msb) + if high { 8 } else { 0 }
}

/// The 16-bit word a bit belongs to (the checksum field is word "7").
fn word_of(bit: usize) -> usize {
    match bit / 8 {
        7 | 8 => usize::MAX,
        byte => byte / 2,
    }
}

fn flip(packet: &mut [u8], bit: usize) {
    packet[bit / 8] ^= 0x80 >> (bit % 8);
}

/// Results of one cell of the table.
struct Outcome {
    undetected: u64,
    /// Undetected corruptions whose first and last flipped bits share a
    /// column in two different words.
    same_column: u64,
    /// The first few undetected corruptions: (first bit, last bit) flipped.
    examples: Vec<(usize, usize)>,
}

/// Undetected corruptions out of `trials`.
fn run(integrity: Integrity, corruption: Corruption, trials: u64, seed: u64) -> Outcome {
    let codec = Codec::new().with_integrity(integrity);
    let mut rng = Rng::new(seed);
    let mut payload = [0u8; MAX_PAYLOAD];
    let mut buf = [0u8; BUF_LEN];
    let mut undetected = 0;
    let mut same_column = 0;
    let mut examples = Vec::new();
    for _ in 0..trials {
        let len = rng.below(MAX_PAYLOAD + 1);
        rng.fill(&mut payload[..len]);
        let word = rng.next_u64();
        let repr = PacketRepr::new(Seq(word as u32), PacketType((word >> 32) as u8), &payload[..len]);
        let n = repr.emit(&mut buf, &codec).expect("the buffer holds the largest packet");
        debug_assert_eq!(PacketRepr::decode(&buf[..n], &codec), Ok(repr));
        let [a, b] = corruption.apply(&mut buf[..n], &mut rng);
        if PacketRepr::decode(&buf[..n], &codec).is_ok() {
            undetected += 1;
            if column(a) == column(b) && word_of(a) != word_of(b) {
                same_column += 1;
            }
            if examples.len() < 8 {
                examples.push((a, b));
            }
        }
    }
    Outcome { undetected, same_column, examples }
}

fn trials_arg(args: &[String], i: usize, default: u64) -> u64 {
    match args.get(i) {
        Some(s) => s.parse().unwrap_or_else(|_| panic!("not a trial count: {s}")),
        None => default,
    }
}

fn cell(undetected: u64, trials: u64) -> String {
    format!("{:.2e} ({undetected} / {trials})", undetected as f64 / trials as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let trials_ic = trials_arg(&args, 1, TRIALS_IC);
    let trials_crc = trials_arg(&args, 2, TRIALS_CRC);
    let rows = [
        Corruption::Bits(1),
        Corruption::Bits(2),
        Corruption::Bits(3),
        Corruption::Bits(4),
        Corruption::Bits(8),
        Corruption::Bits(16),
        Corruption::Burst,
    ];
    let started = Instant::now();
    println!(
        "Random packets, payload 0..={MAX_PAYLOAD} bytes, seed {SEED:#x}; \
         undetected fraction (count / trials)"
    );
    println!();
    println!("| bits flipped | Internet checksum | CRC-32C |");
    println!("|---|---:|---:|");
    let mut two_bit = None;
    let mut bursts = None;
    for (i, corruption) in rows.into_iter().enumerate() {
        let seed = SEED ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let ic = run(Integrity::InternetChecksum, corruption, trials_ic, seed);
        let crc = run(Integrity::Crc32c, corruption, trials_crc, seed);
        println!(
            "| {} | {} | {} |",
            corruption.label(),
            cell(ic.undetected, trials_ic),
            cell(crc.undetected, trials_crc)
        );
        match corruption {
            Corruption::Bits(2) => two_bit = Some(ic),
            Corruption::Burst => bursts = Some(ic),
            Corruption::Bits(_) => {}
        }
    }
    println!();
    if let Some(ic) = two_bit {
        println!(
            "Internet checksum, 2 bits: {} of the {} undetected pairs are the same \
             bit column of two different 16-bit words.",
            ic.same_column, ic.undetected
        );
    }
    if let Some(ic) = bursts.filter(|ic| ic.undetected > 0) {
        let spans: Vec<String> =
            ic.examples.iter().map(|&(a, b)| format!("bits {a}..={b} (bytes {}..={})", a / 8, b / 8)).collect();
        println!("Internet checksum, undetected bursts: {}.", spans.join(", "));
    }
    println!("({:.1} s)", started.elapsed().as_secs_f64());
}
