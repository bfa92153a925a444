//! The fuzz targets' bodies (`seqlink_tests::fuzz_bodies`, run by
//! `cargo +nightly fuzz` from `core/fuzz`) on stable: each body on
//! 20,000 inputs from a fixed-seed generator — random bytes, and valid
//! packets or frames damaged by bit flips, truncations, duplications,
//! deletions, insertions and splices.
//!
//! `FUZZ_EQUIVALENT_CASES=200000 cargo test -p seqlink-tests --release --test fuzz_equivalent`
//! runs longer; `FUZZ_EQUIVALENT_SEED` changes the inputs.

use seqlink_core::framing::{encode_length_prefixed, encode_serial, max_serial_frame_len};
use seqlink_core::wire::{Codec, Packet, PacketRepr, PacketType};
use seqlink_core::{Error, Integrity, Seq};
use seqlink_tests::fuzz_bodies::{self, framing_codecs, max_payload, packet_codec, MAX_MESSAGES};

/// xorshift64*: small, fixed, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`; the bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    fn bytes_up_to_len(&mut self, max: usize) -> Vec<u8> {
        let n = self.len(max);
        self.bytes(n)
    }

    fn bytes_up_to_below(&mut self, n: usize) -> Vec<u8> {
        let n = self.below(n);
        self.bytes(n)
    }

    /// A length that is usually small, sometimes up to `max`.
    fn len(&mut self, max: usize) -> usize {
        let cap = match self.below(8) {
            0..=4 => 16,
            5 | 6 => 300,
            _ => 2000,
        };
        self.below(max.min(cap) + 1)
    }
}

fn cases() -> usize {
    std::env::var("FUZZ_EQUIVALENT_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

fn seed() -> u64 {
    std::env::var("FUZZ_EQUIVALENT_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_f022)
}

fn packet(rng: &mut Rng, codec: &Codec) -> Vec<u8> {
    let payload = rng.bytes_up_to_len(usize::from(codec.max_payload));
    let ptype = if rng.chance(2) { PacketType(rng.below(24) as u8) } else { PacketType(rng.byte()) };
    let repr = PacketRepr::new(Seq(rng.next() as u32), ptype, &payload);
    let mut out = vec![0u8; repr.buffer_len(codec)];
    repr.emit(&mut out, codec).expect("emit");
    out
}

fn serial_frame(rng: &mut Rng, codec: &Codec) -> Vec<u8> {
    let payload = rng.bytes_up_to_len(usize::from(codec.max_payload));
    // zero-heavy payloads exercise COBS
    let payload: Vec<u8> = if rng.chance(3) { payload.iter().map(|&b| b & 0x81).collect() } else { payload };
    let repr = PacketRepr::new(Seq(rng.next() as u32), PacketType(rng.byte()), &payload);
    let mut out = vec![0u8; max_serial_frame_len(repr.buffer_len(codec))];
    let n = encode_serial(&repr, codec, &mut out).expect("encode_serial");
    out.truncate(n);
    out
}

fn message(rng: &mut Rng, max_len: usize) -> Vec<u8> {
    let payload = rng.bytes_up_to_len(max_len);
    let mut out = vec![0u8; 4 + payload.len()];
    encode_length_prefixed(&payload, &mut out).expect("encode_length_prefixed");
    out
}

/// Damages `data` 0..=4 times; `other` is material to splice in.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..rng.below(5) {
        let len = data.len();
        match rng.below(9) {
            0 | 1 if len > 0 => {
                let bit = rng.below(len * 8);
                data[bit / 8] ^= 1 << (bit % 8);
            }
            2 if len > 0 => data.truncate(rng.below(len)),
            3 if len > 0 => {
                let start = rng.below(len);
                let end = start + rng.below(len - start + 1);
                let copy = data[start..end].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, copy);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = start + rng.below((len - start).min(16) + 1);
                data.drain(start..end);
            }
            5 => {
                let at = rng.below(len + 1);
                let noise = rng.bytes_up_to_below(12);
                data.splice(at..at, noise);
            }
            6 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            7 if len > 0 => {
                // a byte that matters to the framings: delimiter, length, 0xff
                let at = rng.below(len);
                data[at] = [0x00, 0xff, 0x01, 0x80][rng.below(4)];
            }
            _ => {}
        }
    }
}

/// Runs `body` on `cases()` inputs, each a selector byte plus what `make`
/// builds for it, damaged or not.
fn run(name: &str, body: fn(&[u8]), mut make: impl FnMut(&mut Rng, u8) -> Vec<u8>) {
    let mut rng = Rng::new(seed() ^ name.len() as u64 ^ (u64::from(name.as_bytes()[0]) << 8));
    let mut previous = Vec::new();
    for case in 0..cases() {
        let selector = rng.byte();
        let mut data = vec![selector];
        match rng.below(10) {
            // random bytes
            0 => {
                let len = rng.len(2000);
                data.extend(rng.bytes(len));
            }
            // valid material, intact
            1 | 2 => data.extend(make(&mut rng, selector)),
            // valid material, damaged
            _ => {
                let mut bytes = make(&mut rng, selector);
                mutate(&mut rng, &mut bytes, &previous);
                data.extend_from_slice(&bytes);
                previous = bytes;
            }
        }
        let result = std::panic::catch_unwind(|| body(&data));
        if let Err(panic) = result {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            eprintln!("{name}: case {case} failed; input ({} bytes): {hex}", data.len());
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn packet_decode_body() {
    run("packet_decode", fuzz_bodies::packet_decode, |rng, selector| {
        if rng.chance(3) {
            // a seed 000 packet as the whole input (its first byte is the selector)
            let mut p = packet(rng, &Codec::new().with_max_payload(300));
            p.remove(0);
            p
        } else {
            packet(rng, &packet_codec(selector))
        }
    });
}

#[test]
fn stream_decoder_body() {
    run("stream_decoder", fuzz_bodies::stream_decoder, |rng, selector| {
        let codec = framing_codecs(max_payload(selector))[rng.below(2)];
        let mut out = Vec::new();
        for _ in 0..rng.below(6) {
            out.extend(packet(rng, &codec));
        }
        out
    });
}

#[test]
fn serial_decoder_body() {
    run("serial_decoder", fuzz_bodies::serial_decoder, |rng, selector| {
        let codec = framing_codecs(max_payload(selector))[rng.below(2)];
        let mut out = Vec::new();
        if rng.chance(2) {
            out.push(0);
        }
        for _ in 0..rng.below(6) {
            if rng.chance(4) {
                out.extend(rng.bytes_up_to_below(8));
            }
            out.extend(serial_frame(rng, &codec));
        }
        out
    });
}

#[test]
fn length_prefixed_decoder_body() {
    run("length_prefixed_decoder", fuzz_bodies::length_prefixed_decoder, |rng, selector| {
        let max_len = MAX_MESSAGES[usize::from(selector >> 6)];
        let mut out = Vec::new();
        for _ in 0..rng.below(6) {
            out.extend(message(rng, max_len));
        }
        out
    });
}

/// A CRC-32C packet whose trailer matches but whose checksum field is not
/// zero is malformed (the mode requires a zero field): the packet body must
/// expect exactly that error, neither a packet that verifies nor a panic.
#[test]
fn packet_body_on_a_crc_packet_with_a_nonzero_checksum_field() {
    let selector = 0b0000_0101; // CRC-32C, maximum 300, pseudo-header 0
    let codec = packet_codec(selector);
    assert_eq!(codec.integrity, Integrity::Crc32c);
    let repr = PacketRepr::new(Seq(7), PacketType(100), b"payload");
    let mut bytes = vec![0u8; repr.buffer_len(&codec)];
    repr.emit(&mut bytes, &codec).unwrap();
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_checksum(0x1234);
    let trailer = packet.computed_check(&codec).to_be_bytes();
    let at = bytes.len() - trailer.len();
    bytes[at..].copy_from_slice(&trailer);
    assert_eq!(PacketRepr::decode(&bytes, &codec), Err(Error::Malformed));
    let mut input = vec![selector];
    input.extend_from_slice(&bytes);
    fuzz_bodies::packet_decode(&input);
}

/// The bodies accept what they are meant to: intact inputs decode without a
/// complaint (a body that rejected everything would pass the runs above).
#[test]
fn bodies_see_valid_inputs() {
    use seqlink_core::framing::{LengthPrefixedDecoder, SerialDecoder, StreamDecoder};
    let mut rng = Rng::new(seed());
    let mut decoded = [0usize; 3];
    for _ in 0..200 {
        let selector = rng.byte() | 0x80; // maximum 300 or 65535
        let codec = framing_codecs(max_payload(selector))[rng.below(2)];
        let mut stream = vec![selector];
        let mut line = vec![selector];
        let mut messages = vec![selector];
        for _ in 0..3 {
            stream.extend(packet(&mut rng, &codec));
            line.extend(serial_frame(&mut rng, &codec));
            messages.extend(message(&mut rng, 300));
        }
        fuzz_bodies::stream_decoder(&stream);
        fuzz_bodies::serial_decoder(&line);
        fuzz_bodies::length_prefixed_decoder(&messages);

        let mut d = StreamDecoder::new(vec![0u8; codec.max_packet_len()], codec).unwrap();
        let mut input = &stream[1..];
        while let Some(r) = d.decode(&mut input) {
            r.unwrap();
            decoded[0] += 1;
        }
        let mut d = SerialDecoder::new(vec![0u8; codec.max_packet_len()], codec).unwrap();
        let mut input = &line[1..];
        while let Some(r) = d.decode(&mut input) {
            r.unwrap();
            decoded[1] += 1;
        }
        let mut d = LengthPrefixedDecoder::new(vec![0u8; 70_004], 70_000).unwrap();
        let mut input = &messages[1..];
        while let Some(r) = d.decode(&mut input) {
            r.unwrap();
            decoded[2] += 1;
        }
    }
    assert_eq!(decoded, [600, 600, 600]);
}
