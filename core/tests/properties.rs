//! Property tests of the wire format, the framings and the checksum.
//!
//! Case counts are kept modest so the file runs in a few seconds in a debug
//! build; raise them for a longer run with `PROPTEST_CASES=10000`.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use seqlink_core::checksum::{internet_checksum, ones_complement_sum, Checksum};
use seqlink_core::framing::{
    encode_length_prefixed, encode_serial, max_serial_frame_len, LengthPrefixedDecoder, SerialDecoder, StreamDecoder,
    PREFIX_LEN,
};
use seqlink_core::wire::{Codec, PacketRepr, PacketType};
use seqlink_core::{Error, Integrity, Seq};

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

fn integrity() -> impl Strategy<Value = Integrity> {
    #[cfg(feature = "crc32c")]
    {
        prop_oneof![Just(Integrity::InternetChecksum), Just(Integrity::Crc32c)]
    }
    #[cfg(not(feature = "crc32c"))]
    {
        Just(Integrity::InternetChecksum)
    }
}

/// A codec with random integrity, pseudo-header and a maximum of at least `min_max`.
fn codec(min_max: u16) -> impl Strategy<Value = Codec> {
    (integrity(), any::<u32>(), min_max..=2048u16).prop_map(|(integrity, pseudo, max)| {
        Codec::new().with_integrity(integrity).with_pseudo_header(pseudo).with_max_payload(max)
    })
}

/// An owned packet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    seq: u32,
    ptype: u8,
    payload: Vec<u8>,
}

impl Owned {
    fn repr(&self) -> PacketRepr<'_> {
        PacketRepr::new(Seq(self.seq), PacketType(self.ptype), &self.payload)
    }

    fn emit(&self, codec: &Codec) -> Vec<u8> {
        let mut out = vec![0u8; self.repr().buffer_len(codec)];
        let n = self.repr().emit(&mut out, codec).expect("emit");
        assert_eq!(n, out.len());
        out
    }
}

fn owned(repr: &PacketRepr<'_>) -> Owned {
    Owned { seq: repr.seq.value(), ptype: repr.ptype.value(), payload: repr.payload.to_vec() }
}

/// Up to `count` packets with payloads of `min_len..=300` bytes and distinct sequence numbers.
fn packets(min_len: usize, count: usize) -> impl Strategy<Value = Vec<Owned>> {
    vec((any::<u8>(), vec(any::<u8>(), min_len..=300)), 1..=count).prop_map(|list| {
        list.into_iter().enumerate().map(|(i, (ptype, payload))| Owned { seq: i as u32, ptype, payload }).collect()
    })
}

/// `data` cut into pieces whose sizes cycle through `sizes`.
fn pieces<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out
}

/// Chunk plans: random sizes 1..=64, plus `None` for all at once.
fn chunk_plan() -> impl Strategy<Value = Option<Vec<usize>>> {
    prop_oneof![
        4 => vec(1usize..=64, 1..16).prop_map(Some),
        1 => Just(None),
    ]
}

fn split<'a>(data: &'a [u8], plan: &Option<Vec<usize>>) -> Vec<&'a [u8]> {
    match plan {
        Some(sizes) => pieces(data, sizes),
        None => vec![data],
    }
}

/// Result of one decoded frame, owned.
type Got = Result<Owned, Error>;

fn run_stream(wire: &[u8], codec: Codec, plan: &Option<Vec<usize>>) -> Vec<Got> {
    let mut decoder = StreamDecoder::new(vec![0u8; codec.max_packet_len()], codec).unwrap();
    let mut got = Vec::new();
    for piece in split(wire, plan) {
        let mut input = piece;
        while let Some(result) = decoder.decode(&mut input) {
            got.push(result.map(|r| owned(&r)));
        }
        assert!(input.is_empty(), "None must mean the chunk was taken");
    }
    assert_eq!(decoder.buffered(), 0);
    got
}

fn run_serial(wire: &[u8], codec: Codec, plan: &Option<Vec<usize>>) -> Vec<Got> {
    let mut decoder = SerialDecoder::new(vec![0u8; codec.max_packet_len()], codec).unwrap();
    let mut got = Vec::new();
    for piece in split(wire, plan) {
        let mut input = piece;
        while let Some(result) = decoder.decode(&mut input) {
            got.push(result.map(|r| owned(&r)));
        }
        assert!(input.is_empty(), "None must mean the chunk was taken");
    }
    got
}

/// A plain COBS encoder (frame plus delimiter), to compare `encode_serial`
/// with and to frame corrupted packets.
fn reference_cobs(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    let mut code_at = 0;
    let mut code = 1u8;
    for &byte in data {
        if byte == 0 {
            out[code_at] = code;
            code_at = out.len();
            out.push(0);
            code = 1;
        } else {
            out.push(byte);
            code += 1;
            if code == 0xff {
                out[code_at] = code;
                code_at = out.len();
                out.push(0);
                code = 1;
            }
        }
    }
    out[code_at] = code;
    out.push(0);
    out
}

fn serial_frame(packet: &Owned, codec: &Codec) -> Vec<u8> {
    let repr = packet.repr();
    let mut out = vec![0u8; max_serial_frame_len(repr.buffer_len(codec))];
    let n = encode_serial(&repr, codec, &mut out).expect("encode_serial");
    out.truncate(n);
    out
}

/// The plain reference sum: one big-endian word at a time into a u64, folded at the end.
fn reference_sum(data: &[u8]) -> u16 {
    let mut s: u64 = 0;
    for pair in data.chunks(2) {
        let hi = u64::from(pair[0]);
        let lo = u64::from(pair.get(1).copied().unwrap_or(0));
        s += (hi << 8) | lo;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Deterministic filler for large buffers (generating 1 MiB through a
/// proptest byte strategy is slow in debug builds).
fn fill(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------
// wire: round trip
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn emit_then_decode_round_trips(
        seq in any::<u32>(),
        ptype in any::<u8>(),
        payload in vec(any::<u8>(), 0..=2000),
        slack in any::<u16>(),
        integrity in integrity(),
        pseudo in any::<u32>(),
        short in any::<Index>(),
    ) {
        let len = payload.len();
        let max = (len + usize::from(slack) % (usize::from(u16::MAX) + 1 - len)) as u16;
        let codec = Codec::new()
            .with_max_payload(max)
            .with_integrity(integrity)
            .with_pseudo_header(pseudo);
        let repr = PacketRepr::new(Seq(seq), PacketType(ptype), &payload);
        let total = repr.buffer_len(&codec);
        prop_assert_eq!(total, 9 + len + integrity.trailer_len());

        let mut buf = vec![0u8; total];
        prop_assert_eq!(repr.emit(&mut buf, &codec), Ok(total));
        prop_assert_eq!(PacketRepr::decode(&buf, &codec), Ok(repr));

        // any shorter buffer is refused and left alone
        let available = short.index(total);
        let mut small = vec![0x5au8; available];
        prop_assert_eq!(
            repr.emit(&mut small, &codec),
            Err(Error::BufferTooSmall { needed: total, available })
        );
        prop_assert!(small.iter().all(|&b| b == 0x5a));

        // a lower maximum refuses the same bytes
        if len > 0 {
            let lower = codec.with_max_payload(len as u16 - 1);
            prop_assert_eq!(
                PacketRepr::decode(&buf, &lower),
                Err(Error::PayloadTooLarge { len, max: len - 1 })
            );
        }
    }
}

// ---------------------------------------------------------------------------
// framing: byte stream
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn stream_decoder_finds_every_packet_in_any_chunking(
        list in packets(0, 12),
        codec in codec(300),
        plan in chunk_plan(),
    ) {
        let wire: Vec<u8> = list.iter().flat_map(|p| p.emit(&codec)).collect();
        let got = run_stream(&wire, codec, &plan);
        let want: Vec<Got> = list.iter().cloned().map(Ok).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn stream_decoder_reports_exactly_the_corrupted_packet(
        list in packets(1, 12),
        codec in codec(300),
        plan in chunk_plan(),
        victim in any::<Index>(),
        at in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let victim = victim.index(list.len());
        let mut wire = Vec::new();
        for (i, p) in list.iter().enumerate() {
            let mut bytes = p.emit(&codec);
            if i == victim {
                bytes[9 + at.index(p.payload.len())] ^= mask;
            }
            wire.extend_from_slice(&bytes);
        }
        let got = run_stream(&wire, codec, &plan);
        prop_assert_eq!(got.len(), list.len());
        for (i, (g, p)) in got.iter().zip(&list).enumerate() {
            if i == victim {
                prop_assert!(matches!(g, Err(Error::BadChecksum { .. })), "{:?}", g);
            } else {
                prop_assert_eq!(g, &Ok(p.clone()));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// framing: serial (COBS)
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn serial_frames_are_cobs_of_the_packet(
        list in packets(0, 4),
        codec in codec(300),
    ) {
        for p in &list {
            let frame = serial_frame(p, &codec);
            prop_assert_eq!(&frame, &reference_cobs(&p.emit(&codec)));
            prop_assert!(!frame[..frame.len() - 1].contains(&0));
        }
    }

    #[test]
    fn serial_decoder_finds_every_packet_in_any_chunking(
        list in packets(0, 12),
        codec in codec(300),
        plan in chunk_plan(),
        lead_delimiter in any::<bool>(),
    ) {
        let mut wire = Vec::new();
        if lead_delimiter {
            wire.push(0);
        }
        for p in &list {
            wire.extend(serial_frame(p, &codec));
        }
        let got = run_serial(&wire, codec, &plan);
        let want: Vec<Got> = list.iter().cloned().map(Ok).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn serial_decoder_reports_exactly_the_corrupted_packet(
        list in packets(1, 12),
        codec in codec(300),
        plan in chunk_plan(),
        victim in any::<Index>(),
        at in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let victim = victim.index(list.len());
        let mut wire = Vec::new();
        for (i, p) in list.iter().enumerate() {
            if i == victim {
                let mut bytes = p.emit(&codec);
                bytes[9 + at.index(p.payload.len())] ^= mask;
                wire.extend(reference_cobs(&bytes));
            } else {
                wire.extend(serial_frame(p, &codec));
            }
        }
        let got = run_serial(&wire, codec, &plan);
        prop_assert_eq!(got.len(), list.len());
        for (i, (g, p)) in got.iter().zip(&list).enumerate() {
            if i == victim {
                prop_assert!(matches!(g, Err(Error::BadChecksum { .. })), "{:?}", g);
            } else {
                prop_assert_eq!(g, &Ok(p.clone()));
            }
        }
    }

    /// Garbage between frames never costs a frame that a delimiter precedes.
    /// A frame glued to garbage without a delimiter may be lost (reported
    /// as an error); nothing else is, and nothing is invented.
    #[test]
    fn serial_garbage_between_frames_never_loses_a_delimited_frame(
        list in packets(0, 10),
        codec in codec(300),
        plan in chunk_plan(),
        garbage in vec(
            (vec(1u8..=255, 0..40), 0u8..4),
            10,
        ),
    ) {
        let mut wire = Vec::new();
        let mut must_arrive = Vec::new();
        for (p, (noise, shape)) in list.iter().zip(&garbage) {
            match shape {
                // no garbage
                0 => {}
                // garbage, then a delimiter
                1 => {
                    wire.extend_from_slice(noise);
                    wire.push(0);
                }
                // garbage with delimiters inside, ending in one
                2 => {
                    for (j, &b) in noise.iter().enumerate() {
                        wire.push(if j % 7 == 3 { 0 } else { b });
                    }
                    wire.push(0);
                }
                // garbage glued to the frame: that frame may be lost
                _ => wire.extend_from_slice(noise),
            }
            if wire.last().is_none_or(|&b| b == 0) {
                must_arrive.push(p.clone());
            }
            wire.extend(serial_frame(p, &codec));
        }
        let got = run_serial(&wire, codec, &plan);
        let arrived: Vec<Owned> = got.into_iter().filter_map(Result::ok).collect();
        // every packet that arrived was sent, in order
        let mut sent = list.iter();
        for a in &arrived {
            prop_assert!(sent.any(|p| p == a), "invented or reordered: {:?}", a);
        }
        // every frame after a delimiter arrived
        let mut arrived_iter = arrived.iter();
        for m in &must_arrive {
            prop_assert!(arrived_iter.any(|a| a == m), "lost: {:?}", m);
        }
    }
}

// ---------------------------------------------------------------------------
// framing: length-prefixed (seed 004)
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn length_prefixed_decoder_finds_every_message_in_any_chunking(
        messages in vec(vec(any::<u8>(), 0..=300), 1..=12),
        extra in 0usize..=100,
        plan in chunk_plan(),
    ) {
        let max_len = 300 + extra;
        let mut wire = Vec::new();
        for m in &messages {
            let mut out = vec![0u8; PREFIX_LEN + m.len()];
            prop_assert_eq!(encode_length_prefixed(m, &mut out), Ok(out.len()));
            wire.extend(out);
        }
        let mut decoder = LengthPrefixedDecoder::new(vec![0u8; PREFIX_LEN + max_len], max_len).unwrap();
        let mut got = Vec::new();
        for piece in split(&wire, &plan) {
            let mut input = piece;
            while let Some(result) = decoder.decode(&mut input) {
                got.push(result.map(<[u8]>::to_vec));
            }
            prop_assert!(input.is_empty());
        }
        let want: Vec<Result<Vec<u8>, Error>> = messages.into_iter().map(Ok).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(decoder.buffered(), 0);
        prop_assert_eq!(decoder.failure(), None);
    }
}

// ---------------------------------------------------------------------------
// checksum
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ones_complement_sum_matches_the_reference_loop(
        data in vec(any::<u8>(), 0..=4096),
        offset in 0usize..8,
    ) {
        let data = &data[offset.min(data.len())..];
        prop_assert_eq!(ones_complement_sum(data), reference_sum(data));
        prop_assert_eq!(internet_checksum(data), !reference_sum(data));
    }

    #[test]
    fn carry_heavy_sums_match_the_reference_loop(
        len in 0usize..=4096,
        low in any::<Index>(),
    ) {
        // mostly 0xff with a few low bytes: every add carries
        let mut data = vec![0xffu8; len];
        if len > 0 {
            data[low.index(len)] = 0x00;
        }
        prop_assert_eq!(ones_complement_sum(&data), reference_sum(&data));
    }

    #[test]
    fn checksum_update_over_any_split_equals_one_shot(
        data in vec(any::<u8>(), 0..=4096),
        cuts in vec(any::<Index>(), 0..12),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut c = Checksum::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([data.len()]) {
            c.update(&data[start..cut]);
            start = cut;
        }
        prop_assert_eq!(c.finish(), internet_checksum(&data));
        prop_assert_eq!(c.sum(), ones_complement_sum(&data));
        prop_assert_eq!(c.is_odd(), data.len() % 2 == 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn large_buffers_match_the_reference_loop(
        len in 0usize..=(1 << 20),
        seed in any::<u64>(),
        offset in 0usize..8,
    ) {
        let data = fill(seed, len + offset);
        let data = &data[offset..];
        prop_assert_eq!(ones_complement_sum(data), reference_sum(data));
    }
}

#[test]
fn one_mebibyte_matches_the_reference_loop() {
    for len in [(1 << 20) - 1, 1 << 20] {
        let data = fill(0x5eed, len);
        assert_eq!(ones_complement_sum(&data), reference_sum(&data), "{len}");
    }
}

#[test]
fn quarter_mebibyte_of_ones_has_checksum_zero() {
    let data = vec![0xffu8; 256 * 1024];
    assert_eq!(ones_complement_sum(&data), 0xffff);
    assert_eq!(internet_checksum(&data), 0x0000);
    assert_eq!(reference_sum(&data), 0xffff);
}

#[test]
fn serial_frames_of_the_largest_packets() {
    let codecs = [
        Codec::new(),
        #[cfg(feature = "crc32c")]
        Codec::new().with_integrity(Integrity::Crc32c),
    ];
    for codec in codecs {
        let max = usize::from(codec.max_payload);
        let shapes: [Vec<u8>; 4] = [
            vec![0xff; max],
            vec![0x00; max],
            (0..max).map(|i| (i % 255) as u8 + 1).collect(),
            (0..max).map(|i| if i % 254 == 0 { 0 } else { 0x42 }).collect(),
        ];
        for payload in shapes {
            let p = Owned { seq: u32::MAX, ptype: 0xff, payload };
            let frame = serial_frame(&p, &codec);
            assert!(frame.len() <= max_serial_frame_len(p.repr().buffer_len(&codec)));
            assert_eq!(frame, reference_cobs(&p.emit(&codec)));
            let got = run_serial(&frame, codec, &Some(vec![4093]));
            assert_eq!(got, vec![Ok(p)]);
        }
    }
}
