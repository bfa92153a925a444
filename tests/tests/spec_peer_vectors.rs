//! The spec-only Python peer's bytes, decoded by seqlink-core.
//!
//! `tests/vectors/spec_peer_vectors.txt` is written by
//! `tests/spec_peer/gen_vectors.py` with `tests/spec_peer/seqlink_spec.py`,
//! a seqlink written from docs/PROTOCOL.md alone: single packets of every
//! body in both integrity modes (bound, unbound, under a wrong connection
//! id, with a flipped bit, cut short, too long), and byte streams in the
//! stream, COBS serial and length-prefixed framings. Each line says what the
//! Python receiver got; seqlink must get the same, packet by packet.

use seqlink_core::framing::{LengthPrefixedDecoder, SerialDecoder, StreamDecoder};
use seqlink_core::{Codec, Error, Integrity, PacketRepr};
use std::process::Command;

const VECTORS: &str = include_str!("../vectors/spec_peer_vectors.txt");
const GENERATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/spec_peer/gen_vectors.py");

fn unhex(text: &str) -> Vec<u8> {
    if text == "-" {
        return Vec::new();
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

/// Bytes as the vectors write them: hex, `-` for none.
fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The error's variant name, as the Python side names it.
fn name(e: &Error) -> String {
    format!("{e:?}").chars().take_while(|c| c.is_ascii_alphanumeric()).collect()
}

/// `ok:<hex>` for a packet (re-emitted from the decoded seq, type and
/// payload, so the bytes compare only if every field decoded right), or
/// `err:<name>`.
fn packet_outcome(result: Result<PacketRepr<'_>, Error>, codec: &Codec) -> String {
    match result {
        Ok(p) => {
            let mut out = vec![0u8; codec.packet_len(p.payload.len())];
            let n = p.emit(&mut out, codec).expect("re-emit");
            format!("ok:{}", hex(&out[..n]))
        }
        Err(e) => format!("err:{}", name(&e)),
    }
}

fn fatal(outcome: &str) -> bool {
    outcome == "err:PayloadTooLarge"
}

#[test]
fn seqlink_decodes_the_spec_peers_packets_and_framings_as_the_spec_peer_does() {
    let mut checked = 0;
    for (number, line) in VECTORS.lines().enumerate().filter(|(_, l)| !l.starts_with('#') && !l.is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [kind, integrity, pseudo, max, input, expected @ ..] = fields.as_slice() else {
            panic!("line {}: too few fields", number + 1);
        };
        let integrity = match *integrity {
            "checksum" => Integrity::InternetChecksum,
            _ => Integrity::Crc32c,
        };
        let max: usize = max.parse().expect("max");
        let codec = Codec::new()
            .with_integrity(integrity)
            .with_pseudo_header(u32::from_str_radix(pseudo, 16).expect("pseudo"))
            .with_max_payload(max.min(usize::from(u16::MAX)) as u16);
        let input = unhex(input);
        let mut got = Vec::new();
        match *kind {
            "packet" => got.push(packet_outcome(PacketRepr::decode(&input, &codec), &codec)),
            "stream" => {
                let mut decoder = StreamDecoder::new(vec![0u8; codec.max_packet_len()], codec).expect("decoder");
                let mut bytes = input.as_slice();
                while let Some(result) = decoder.decode(&mut bytes) {
                    got.push(packet_outcome(result, &codec));
                    if fatal(got.last().expect("pushed")) {
                        break;
                    }
                }
            }
            "serial" => {
                let mut decoder = SerialDecoder::new(vec![0u8; codec.max_packet_len()], codec).expect("decoder");
                let mut bytes = input.as_slice();
                while let Some(result) = decoder.decode(&mut bytes) {
                    got.push(packet_outcome(result, &codec));
                }
            }
            "prefixed" => {
                let mut decoder = LengthPrefixedDecoder::new(vec![0u8; max + 4], max).expect("decoder");
                let mut bytes = input.as_slice();
                while let Some(result) = decoder.decode(&mut bytes) {
                    got.push(match result {
                        Ok(m) => format!("ok:{}", hex(m)),
                        Err(e) => format!("err:{}", name(&e)),
                    });
                    if fatal(got.last().expect("pushed")) {
                        break;
                    }
                }
            }
            other => panic!("line {}: unknown kind {other}", number + 1),
        }
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, expected, "line {}: {kind}", number + 1);
        checked += 1;
    }
    assert!(checked > 50, "only {checked} vectors");
}

#[test]
fn vectors_are_fresh() {
    let output = match Command::new("python3").arg(GENERATOR).arg("--stdout").output() {
        Ok(output) => output,
        Err(e) => panic!("vectors_are_fresh needs `python3` on PATH to re-run {GENERATOR}: {e}"),
    };
    assert!(output.status.success(), "{GENERATOR} failed: {}", String::from_utf8_lossy(&output.stderr));
    let fresh = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        fresh == VECTORS,
        "tests/vectors/spec_peer_vectors.txt is stale: run python3 tests/spec_peer/gen_vectors.py"
    );
}
