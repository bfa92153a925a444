//! Seed 000's own Python code against seqlink, byte for byte.
//!
//! `tests/vectors/seed000_packets.txt` is written by
//! `tests/vectors/gen_seed000_vectors.py`, a transcription of seed 000's
//! `internet_checksum`, `create_packet` and `unpack_and_verify_packet`. Every
//! packet the seed creates must be emitted identically by seqlink and decoded
//! to the same fields; every byte string the seed rejects must be rejected,
//! for the same reason.

use seqlink_core::framing::StreamDecoder;
use seqlink_core::wire::{Codec, Packet, PacketRepr, PacketType, HEADER_LEN};
use seqlink_core::{Error, Seq};
use std::process::Command;

const VECTORS: &str = include_str!("../vectors/seed000_packets.txt");
const GENERATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/gen_seed000_vectors.py");

/// A packet seed 000's `create_packet` made and its `unpack_and_verify_packet` accepted.
struct Valid {
    line: usize,
    seq: u32,
    ptype: u8,
    payload: Vec<u8>,
    packet: Vec<u8>,
}

/// Why seed 000's `unpack_and_verify_packet` rejected bytes (its log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    TooShort,
    LengthMismatch,
    Checksum,
}

struct Rejected {
    line: usize,
    reason: Reason,
    bytes: Vec<u8>,
}

fn hex(field: &str, line: usize) -> Vec<u8> {
    if field == "-" {
        return Vec::new();
    }
    if let Some((unit, count)) = field.split_once('*') {
        let unit = hex(unit, line);
        let count: usize = count.parse().unwrap_or_else(|e| panic!("line {line}: bad count: {e}"));
        return unit.repeat(count);
    }
    assert!(field.len().is_multiple_of(2), "line {line}: odd hex length");
    (0..field.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&field[i..i + 2], 16).unwrap_or_else(|e| panic!("line {line}: bad hex: {e}")))
        .collect()
}

fn vectors() -> (Vec<Valid>, Vec<Rejected>) {
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
    for (i, text) in VECTORS.lines().enumerate() {
        let line = i + 1;
        if text.starts_with('#') || text.is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split(' ').collect();
        match fields[..] {
            ["!", reason, bytes] => rejected.push(Rejected {
                line,
                reason: match reason {
                    "too_short" => Reason::TooShort,
                    "length_mismatch" => Reason::LengthMismatch,
                    "checksum" => Reason::Checksum,
                    other => panic!("line {line}: unknown reason {other:?}"),
                },
                bytes: hex(bytes, line),
            }),
            [seq, ptype, payload, packet] => valid.push(Valid {
                line,
                seq: seq.parse().expect("seq"),
                ptype: ptype.parse().expect("type"),
                payload: hex(payload, line),
                packet: hex(packet, line),
            }),
            _ => panic!("line {line}: malformed: {:.80}", text),
        }
    }
    (valid, rejected)
}

/// Seed 000 section 2, receiver step 4-5: the one's complement sum of seq,
/// type, length, payload *and the received checksum*, folded, is 0xffff for
/// an intact packet. Written as plainly as the seed's loop.
fn seed_sum_rule_accepts(packet: &[u8]) -> bool {
    let mut covered: Vec<u8> = packet[..7].to_vec();
    covered.extend_from_slice(&packet[HEADER_LEN..]);
    let mut s: u64 = 0;
    for pair in covered.chunks(2) {
        let word = (u64::from(pair[0]) << 8) | u64::from(pair.get(1).copied().unwrap_or(0));
        s += word;
        s = (s & 0xffff) + (s >> 16);
    }
    s += u64::from(u16::from_be_bytes([packet[7], packet[8]]));
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s == 0xffff
}

#[test]
fn vectors_cover_what_the_brief_promises() {
    let (valid, rejected) = vectors();
    // The generator's own tally, on the last line.
    let tally = VECTORS.lines().last().expect("last line");
    assert_eq!(tally, format!("# {} valid packets, {} rejected cases", valid.len(), rejected.len()));
    assert!(valid.len() >= 300 && rejected.len() >= 100);
    for t in [0u8, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23] {
        assert!(valid.iter().any(|v| v.ptype == t), "no vector of type {t}");
        assert!(PacketType(t).name().is_some());
    }
    for len in [0, 1, 2, 3, 4, 1000, 1001, 65534, 65535] {
        assert!(valid.iter().any(|v| v.payload.len() == len), "no payload of {len} bytes");
    }
    assert!(valid.iter().any(|v| v.seq == 0));
    assert!(valid.iter().any(|v| v.seq == u32::MAX));
    for reason in [Reason::TooShort, Reason::LengthMismatch, Reason::Checksum] {
        assert!(rejected.iter().any(|r| r.reason == reason), "{reason:?}");
    }
}

#[test]
fn encoder_is_byte_identical_to_the_seed() {
    let codec = Codec::new();
    let mut buf = vec![0u8; codec.max_packet_len() + 16];
    for v in vectors().0 {
        let repr = PacketRepr::new(Seq(v.seq), PacketType(v.ptype), &v.payload);
        assert_eq!(repr.buffer_len(&codec), v.packet.len(), "line {}", v.line);
        // exactly sized buffer
        let mut exact = vec![0u8; v.packet.len()];
        assert_eq!(repr.emit(&mut exact, &codec), Ok(v.packet.len()));
        assert!(exact == v.packet, "line {}: emit differs", v.line);
        // larger buffer, prefilled with garbage
        buf.fill(0xa5);
        let n = repr.emit(&mut buf, &codec).expect("emit");
        assert!(buf[..n] == v.packet[..], "line {}: emit differs", v.line);
        assert_eq!(buf[n], 0xa5, "line {}: wrote past the packet", v.line);
    }
}

#[test]
fn decoder_accepts_every_seed_packet() {
    let codec = Codec::new();
    for v in vectors().0 {
        let repr = PacketRepr::decode(&v.packet, &codec).unwrap_or_else(|e| panic!("line {}: {e}", v.line));
        assert_eq!(repr.seq, Seq(v.seq), "line {}", v.line);
        assert_eq!(repr.ptype, PacketType(v.ptype), "line {}", v.line);
        assert!(repr.payload == &v.payload[..], "line {}", v.line);
        let view = Packet::new_checked(&v.packet[..]).expect("new_checked");
        assert_eq!(view.seq(), Seq(v.seq));
        assert_eq!(view.packet_type(), PacketType(v.ptype));
        assert_eq!(usize::from(view.payload_len()), v.payload.len());
        assert_eq!(view.checksum(), u16::from_be_bytes([v.packet[7], v.packet[8]]));
        assert_eq!(view.verify(&codec), Ok(()), "line {}", v.line);
    }
}

#[test]
fn decoder_rejects_what_the_seed_rejects_for_the_same_reason() {
    let codec = Codec::new();
    for r in vectors().1 {
        let result = PacketRepr::decode(&r.bytes, &codec);
        let same_reason = match (r.reason, result) {
            (Reason::TooShort, Err(Error::Truncated { needed: 9, available })) => available == r.bytes.len(),
            (Reason::LengthMismatch, Err(Error::LengthMismatch { declared, actual })) => {
                declared == usize::from(u16::from_be_bytes([r.bytes[5], r.bytes[6]]))
                    && actual == r.bytes.len() - HEADER_LEN
            }
            (Reason::Checksum, Err(Error::BadChecksum { received, .. })) => {
                received == u32::from(u16::from_be_bytes([r.bytes[7], r.bytes[8]]))
            }
            _ => false,
        };
        assert!(same_reason, "line {}: seed says {:?}, seqlink says {:?}", r.line, r.reason, result);
    }
}

#[test]
fn sum_including_the_checksum_folds_to_ffff_exactly_when_seqlink_accepts() {
    let codec = Codec::new();
    for v in vectors().0 {
        assert!(seed_sum_rule_accepts(&v.packet), "line {}", v.line);
        assert!(PacketRepr::decode(&v.packet, &codec).is_ok());
    }
    // Among packets of the right length, the sum rule and seqlink (like the
    // seed's code) disagree only on "negative zero": a checksum field of
    // 0xffff where 0x0000 is computed, which the sum rule cannot tell apart.
    let mut negative_zeros = 0;
    for r in vectors().1 {
        if r.reason != Reason::Checksum {
            continue;
        }
        match PacketRepr::decode(&r.bytes, &codec) {
            Err(Error::BadChecksum { received, computed }) => {
                let negative_zero = received == 0xffff && computed == 0x0000;
                negative_zeros += usize::from(negative_zero);
                assert_eq!(seed_sum_rule_accepts(&r.bytes), negative_zero, "line {}", r.line);
            }
            other => panic!("line {}: {other:?}", r.line),
        }
    }
    assert_eq!(negative_zeros, 1, "the file documents one such case");
}

#[test]
fn stream_decoder_reads_the_seed_packets_back_to_back() {
    let codec = Codec::new();
    let valid = vectors().0;
    let stream: Vec<u8> = valid.iter().flat_map(|v| v.packet.iter().copied()).collect();
    for chunk in [1000, 4096, 65536, stream.len()] {
        let mut decoder = StreamDecoder::new(vec![0u8; codec.max_packet_len()], codec).unwrap();
        let mut next = 0;
        for piece in stream.chunks(chunk) {
            let mut input = piece;
            while let Some(result) = decoder.decode(&mut input) {
                let repr = result.unwrap_or_else(|e| panic!("packet {next}: {e}"));
                let v = &valid[next];
                assert_eq!((repr.seq, repr.ptype), (Seq(v.seq), PacketType(v.ptype)));
                assert!(repr.payload == &v.payload[..], "line {}", v.line);
                next += 1;
            }
        }
        assert_eq!(next, valid.len(), "chunk {chunk}");
        assert_eq!(decoder.buffered(), 0);
    }
}

#[test]
fn vectors_are_fresh() {
    let output = match Command::new("python3").arg(GENERATOR).arg("--stdout").output() {
        Ok(output) => output,
        Err(e) => panic!(
            "vectors_are_fresh needs `python3` on PATH to re-run {GENERATOR} \
             (seed 000's reference code) and compare its output with \
             tests/vectors/seed000_packets.txt; could not run it: {e}"
        ),
    };
    assert!(
        output.status.success(),
        "{GENERATOR} --stdout failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let fresh = String::from_utf8(output.stdout).expect("generator output is UTF-8");
    if fresh != VECTORS {
        let first_difference = fresh.lines().zip(VECTORS.lines()).position(|(a, b)| a != b).map_or_else(
            || "one file is a prefix of the other".to_string(),
            |i| format!("first difference at line {}", i + 1),
        );
        panic!(
            "tests/vectors/seed000_packets.txt is stale ({first_difference}); \
             regenerate it with `python3 tests/vectors/gen_seed000_vectors.py`"
        );
    }
}
