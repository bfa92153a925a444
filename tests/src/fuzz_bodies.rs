//! The bodies of the fuzz targets in `core/fuzz`, shared so the same checks
//! also run on stable (`tests/tests/fuzz_equivalent.rs`).
//!
//! Each body takes arbitrary bytes, must never panic on its own, and panics
//! (an `assert!`) only when a decoder breaks one of its promises:
//!
//! * decoding never panics, on any input, in any chunking;
//! * `None` from a decoder means the input slice was fully taken, and a
//!   `Some` always took at least one byte (no decoder can spin);
//! * the results are exactly those of a plain whole-buffer model of the
//!   framing (written here, independently of the decoder's state machine),
//!   whatever the chunk sizes;
//! * every decoded packet or message re-encodes to bytes that decode to the
//!   same value;
//! * a packet verifies exactly when its check value matches and, in the
//!   CRC-32C mode, its header checksum field is zero (`Malformed` otherwise).
//!
//! The first input byte (the *selector*) chooses the settings: see
//! [`chunk_size`], [`max_payload`] and [`packet_codec`].

use seqlink_core::framing::{
    encode_length_prefixed, encode_serial, max_serial_frame_len, LengthPrefixedDecoder, SerialDecoder, StreamDecoder,
    DELIMITER, PREFIX_LEN,
};
use seqlink_core::wire::{Codec, Packet, PacketRepr, PacketType, HEADER_LEN};
use seqlink_core::{Error, Integrity, Seq};

/// Payload maxima the selector's top two bits choose between.
pub const MAX_PAYLOADS: [u16; 4] = [0, 16, 300, u16::MAX];

/// Message maxima of the length-prefixed body (selector's top two bits).
pub const MAX_MESSAGES: [usize; 4] = [0, 16, 300, 70_000];

/// Pseudo-headers [`packet_codec`] chooses between.
pub const PSEUDO_HEADERS: [u32; 4] = [0, 1, 0x0000_ffff, 0xdead_beef];

/// Chunk size from a selector's low six bits: 1..=63 bytes, or `None` (all
/// at once) for 63.
pub fn chunk_size(selector: u8) -> Option<usize> {
    match selector & 0x3f {
        0x3f => None,
        n => Some(usize::from(n) + 1),
    }
}

/// Payload maximum from a selector's top two bits.
pub fn max_payload(selector: u8) -> u16 {
    MAX_PAYLOADS[usize::from(selector >> 6)]
}

/// The two codecs the stream and serial bodies run with: Internet checksum
/// and CRC-32C (with a pseudo-header), both with the given maximum.
pub fn framing_codecs(max_payload: u16) -> [Codec; 2] {
    let base = Codec::new().with_max_payload(max_payload);
    [base, base.with_integrity(Integrity::Crc32c).with_pseudo_header(0x5eed_0000)]
}

/// The codec of [`packet_decode`]'s second pass: bit 0 integrity, bits 1-2
/// maximum, bits 3-4 pseudo-header.
pub fn packet_codec(selector: u8) -> Codec {
    let integrity = if selector & 1 == 0 { Integrity::InternetChecksum } else { Integrity::Crc32c };
    Codec::new()
        .with_integrity(integrity)
        .with_max_payload(MAX_PAYLOADS[usize::from((selector >> 1) & 3)])
        .with_pseudo_header(PSEUDO_HEADERS[usize::from((selector >> 3) & 3)])
}

/// An owned decoded packet, to compare results that borrow different buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    seq: Seq,
    ptype: PacketType,
    payload: Vec<u8>,
}

impl Owned {
    fn of(repr: &PacketRepr<'_>) -> Owned {
        Owned { seq: repr.seq, ptype: repr.ptype, payload: repr.payload.to_vec() }
    }

    fn repr(&self) -> PacketRepr<'_> {
        PacketRepr::new(self.seq, self.ptype, &self.payload)
    }
}

/// `input` in pieces of `chunk` bytes (or whole).
fn pieces(input: &[u8], chunk: Option<usize>) -> Vec<&[u8]> {
    match chunk {
        Some(n) => input.chunks(n).collect(),
        None => vec![input],
    }
}

/// Feeds `input` to `decode` in pieces, checking the calling convention,
/// and collects every result.
fn feed<T>(input: &[u8], chunk: Option<usize>, mut decode: impl FnMut(&mut &[u8]) -> Option<T>) -> Vec<T> {
    let mut results = Vec::new();
    for piece in pieces(input, chunk) {
        let mut rest = piece;
        loop {
            let before = rest.len();
            match decode(&mut rest) {
                Some(result) => {
                    assert!(rest.len() < before, "a decoder returned a result without taking a byte");
                    results.push(result);
                }
                None => {
                    assert!(rest.is_empty(), "None while {} bytes were left", rest.len());
                    break;
                }
            }
        }
    }
    results
}

/// Re-emits `packet` and checks the bytes decode to it again.
fn re_emits(packet: &Owned, codec: &Codec) -> Vec<u8> {
    let repr = packet.repr();
    let mut out = vec![0u8; repr.buffer_len(codec)];
    let n = repr.emit(&mut out, codec).expect("a decoded packet re-emits");
    assert_eq!(n, out.len());
    assert_eq!(
        PacketRepr::decode(&out, codec).map(|r| Owned::of(&r)).as_ref(),
        Ok(packet),
        "re-emitted packet decodes differently"
    );
    out
}

// ---------------------------------------------------------------------------
// PacketRepr::decode and the Packet view
// ---------------------------------------------------------------------------

/// [`PacketRepr::decode`] and every [`Packet`] accessor on the whole input
/// with seed 000's codec, and on the input after the selector byte with the
/// selector's codec ([`packet_codec`]).
pub fn packet_decode(data: &[u8]) {
    check_packet(data, &Codec::new());
    if let Some((&selector, rest)) = data.split_first() {
        check_packet(rest, &packet_codec(selector));
    }
}

fn check_packet(bytes: &[u8], codec: &Codec) {
    let view = Packet::new_unchecked(bytes);
    let seq = view.seq();
    let ptype = view.packet_type();
    let declared = usize::from(view.payload_len());
    let field = view.checksum();
    let payload = view.payload();
    let received = view.received_check(codec.integrity);
    let computed = view.computed_check(codec);
    let verified = view.verify(codec);
    let checked = view.check_len();

    // the view's own consistency
    if bytes.len() < HEADER_LEN {
        assert_eq!((seq, ptype, declared, field), (Seq(0), PacketType(0), 0, 0));
        assert!(checked.is_err());
    }
    assert_eq!(checked.is_ok(), bytes.len() >= HEADER_LEN + declared, "check_len");
    if checked.is_ok() {
        assert_eq!(payload, &bytes[HEADER_LEN..HEADER_LEN + declared]);
    } else {
        assert!(payload.is_empty());
    }
    // what verify must say: the check value, then (CRC-32C mode only) a zero checksum field
    let zero_field_required = codec.integrity != Integrity::InternetChecksum;
    let expected = if received != computed {
        Err(Error::BadChecksum { received, computed })
    } else if zero_field_required && field != 0 {
        Err(Error::Malformed)
    } else {
        Ok(())
    };
    assert_eq!(verified, expected, "verify");
    if codec.integrity == Integrity::InternetChecksum {
        assert_eq!(received, u32::from(field));
    }
    assert_eq!(Packet::new_checked(bytes).is_ok(), checked.is_ok(), "new_checked");

    match PacketRepr::decode(bytes, codec) {
        Ok(repr) => {
            assert_eq!((repr.seq, repr.ptype), (seq, ptype));
            assert_eq!(repr.payload, payload);
            assert!(declared <= usize::from(codec.max_payload));
            assert_eq!(bytes.len(), codec.packet_len(declared));
            assert_eq!(verified, Ok(()));
            assert!(!zero_field_required || field == 0, "a CRC-32C packet with checksum field {field:#06x} decoded");
            // the check value is a function of the covered bytes, so the re-emitted packet is the input
            let out = re_emits(&Owned::of(&repr), codec);
            assert_eq!(out, bytes, "re-emitted bytes differ");
        }
        Err(Error::Truncated { needed, available }) => {
            assert_eq!((needed, available), (HEADER_LEN, bytes.len()));
            assert!(bytes.len() < HEADER_LEN);
        }
        Err(Error::PayloadTooLarge { len, max }) => {
            assert_eq!((len, max), (declared, usize::from(codec.max_payload)));
            assert!(len > max);
        }
        Err(Error::LengthMismatch { declared: d, .. }) => {
            assert_eq!(d, declared);
            assert_ne!(bytes.len(), codec.packet_len(declared));
        }
        Err(e @ (Error::BadChecksum { .. } | Error::Malformed)) => {
            assert_eq!(bytes.len(), codec.packet_len(declared));
            assert!(declared <= usize::from(codec.max_payload));
            assert_eq!(verified, Err(e));
        }
        Err(other) => panic!("unexpected error from PacketRepr::decode: {other:?}"),
    }

    // fill_check on a copy makes a packet that decodes (if the length fits)
    let mut copy = bytes.to_vec();
    let mut writable = Packet::new_unchecked(&mut copy[..]);
    match writable.fill_check(codec) {
        Ok(total) => {
            assert_eq!(total, codec.packet_len(declared));
            assert!(total <= bytes.len());
            if declared <= usize::from(codec.max_payload) {
                let repr = PacketRepr::decode(&copy[..total], codec).expect("fill_check makes a valid packet");
                assert_eq!((repr.seq, repr.ptype, repr.payload), (seq, ptype, payload));
            }
        }
        Err(Error::BufferTooSmall { needed, available }) => {
            assert_eq!(available, bytes.len());
            assert!(needed > available);
        }
        Err(other) => panic!("unexpected error from fill_check: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// StreamDecoder
// ---------------------------------------------------------------------------

/// What a whole-buffer reading of a framed stream gives.
struct Model<T> {
    results: Vec<Result<T, Error>>,
    /// The fatal error the stream stops at, if any.
    fatal: Option<Error>,
    /// Bytes of an incomplete frame at the end (when not fatal).
    leftover: usize,
}

fn stream_model(bytes: &[u8], codec: &Codec) -> Model<Owned> {
    let mut results = Vec::new();
    let mut at = 0;
    loop {
        let rest = &bytes[at..];
        if rest.len() < HEADER_LEN {
            return Model { results, fatal: None, leftover: rest.len() };
        }
        let len = usize::from(u16::from_be_bytes([rest[5], rest[6]]));
        let max = usize::from(codec.max_payload);
        if len > max {
            return Model { results, fatal: Some(Error::PayloadTooLarge { len, max }), leftover: 0 };
        }
        let total = codec.packet_len(len);
        if rest.len() < total {
            return Model { results, fatal: None, leftover: rest.len() };
        }
        results.push(PacketRepr::decode(&rest[..total], codec).map(|r| Owned::of(&r)));
        at += total;
    }
}

/// Checks decoder results against the model: equal up to the fatal error,
/// then only that error, once per call that had input.
fn compare<T: PartialEq + core::fmt::Debug>(got: &[Result<T, Error>], model: &Model<T>) {
    let n = model.results.len();
    assert!(got.len() >= n, "decoder gave {} results, model {}", got.len(), n);
    assert_eq!(&got[..n], &model.results[..], "results differ from the model");
    match model.fatal {
        None => assert_eq!(got.len(), n, "results after the model's end"),
        Some(fatal) => {
            assert!(got.len() > n, "fatal error {fatal:?} not reported");
            for g in &got[n..] {
                assert_eq!(g, &Err(fatal), "after a fatal error");
            }
        }
    }
}

/// [`StreamDecoder`]: selector = chunk size ([`chunk_size`]) and maximum
/// ([`max_payload`]); the rest is the stream. Runs with both
/// [`framing_codecs`].
pub fn stream_decoder(data: &[u8]) {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let chunk = chunk_size(selector);
    for codec in framing_codecs(max_payload(selector)) {
        let mut decoder = StreamDecoder::new(vec![0u8; codec.max_packet_len()], codec).expect("capacity");
        let got = feed(stream, chunk, |input| decoder.decode(input).map(|r| r.map(|p| Owned::of(&p))));
        let model = stream_model(stream, &codec);
        compare(&got, &model);
        assert_eq!(decoder.failure(), model.fatal);
        if model.fatal.is_none() {
            assert_eq!(decoder.buffered(), model.leftover, "buffered");
        }
        for packet in got.iter().flatten() {
            re_emits(packet, &codec);
        }
        decoder.reset();
        assert_eq!((decoder.failure(), decoder.buffered()), (None, 0));
    }
}

// ---------------------------------------------------------------------------
// SerialDecoder
// ---------------------------------------------------------------------------

/// Plain COBS decoding of one frame's bytes (delimiter removed): the decoded
/// bytes, and whether the last block ran past the frame's end.
fn cobs_decode(frame: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < frame.len() {
        let code = usize::from(frame[at]);
        let end = at + code;
        let block = &frame[at + 1..end.min(frame.len())];
        out.extend_from_slice(block);
        if end > frame.len() {
            return (out, true);
        }
        at = end;
        if code != 0xff && at < frame.len() {
            out.push(0);
        }
    }
    (out, false)
}

fn serial_model(bytes: &[u8], codec: &Codec, capacity: usize) -> Vec<Result<Owned, Error>> {
    let mut results = Vec::new();
    let mut frames: Vec<&[u8]> = bytes.split(|&b| b == DELIMITER).collect();
    frames.pop(); // the bytes after the last delimiter are an unfinished frame
    for frame in frames {
        if frame.is_empty() {
            continue;
        }
        let (decoded, broken) = cobs_decode(frame);
        results.push(if decoded.len() > capacity {
            Err(Error::FrameTooLong { max: capacity })
        } else if broken {
            Err(Error::BadFrame)
        } else {
            PacketRepr::decode(&decoded, codec).map(|r| Owned::of(&r))
        });
    }
    results
}

/// [`SerialDecoder`]: selector as for [`stream_decoder`]; the rest is the line.
pub fn serial_decoder(data: &[u8]) {
    let Some((&selector, line)) = data.split_first() else {
        return;
    };
    let chunk = chunk_size(selector);
    for codec in framing_codecs(max_payload(selector)) {
        let capacity = codec.max_packet_len();
        let mut decoder = SerialDecoder::new(vec![0u8; capacity], codec).expect("capacity");
        let got = feed(line, chunk, |input| decoder.decode(input).map(|r| r.map(|p| Owned::of(&p))));
        let model = Model { results: serial_model(line, &codec, capacity), fatal: None, leftover: 0 };
        compare(&got, &model);
        for packet in got.iter().flatten() {
            let out = re_emits(packet, &codec);
            // and as a serial frame
            let repr = packet.repr();
            let mut frame = vec![0u8; max_serial_frame_len(out.len())];
            let n = encode_serial(&repr, &codec, &mut frame).expect("encode_serial");
            assert!(!frame[..n - 1].contains(&DELIMITER) && frame[n - 1] == DELIMITER);
            let mut fresh = SerialDecoder::new(vec![0u8; capacity], codec).expect("capacity");
            let mut input = &frame[..n];
            let again = fresh.decode(&mut input).map(|r| r.map(|p| Owned::of(&p)));
            assert_eq!(again.as_ref(), Some(&Ok(packet.clone())));
            assert!(input.is_empty());
        }
    }
}

// ---------------------------------------------------------------------------
// LengthPrefixedDecoder
// ---------------------------------------------------------------------------

fn length_prefixed_model(bytes: &[u8], max_len: usize) -> Model<Vec<u8>> {
    let mut results = Vec::new();
    let mut at = 0;
    loop {
        let rest = &bytes[at..];
        if rest.len() < PREFIX_LEN {
            return Model { results, fatal: None, leftover: rest.len() };
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > max_len {
            return Model { results, fatal: Some(Error::PayloadTooLarge { len, max: max_len }), leftover: 0 };
        }
        if rest.len() < PREFIX_LEN + len {
            return Model { results, fatal: None, leftover: rest.len() };
        }
        results.push(Ok(rest[PREFIX_LEN..PREFIX_LEN + len].to_vec()));
        at += PREFIX_LEN + len;
    }
}

/// [`LengthPrefixedDecoder`]: selector = chunk size ([`chunk_size`]) and
/// maximum ([`MAX_MESSAGES`], top two bits); the rest is the stream.
pub fn length_prefixed_decoder(data: &[u8]) {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let chunk = chunk_size(selector);
    let max_len = MAX_MESSAGES[usize::from(selector >> 6)];
    let mut decoder = LengthPrefixedDecoder::new(vec![0u8; PREFIX_LEN + max_len], max_len).expect("capacity");
    let got = feed(stream, chunk, |input| decoder.decode(input).map(|r| r.map(<[u8]>::to_vec)));
    let model = length_prefixed_model(stream, max_len);
    compare(&got, &model);
    assert_eq!(decoder.failure(), model.fatal);
    if model.fatal.is_none() {
        assert_eq!(decoder.buffered(), model.leftover, "buffered");
    }
    for message in got.iter().flatten() {
        let mut out = vec![0u8; PREFIX_LEN + message.len()];
        assert_eq!(encode_length_prefixed(message, &mut out), Ok(out.len()));
        let mut fresh = LengthPrefixedDecoder::new(vec![0u8; PREFIX_LEN + max_len], max_len).expect("capacity");
        let mut input = &out[..];
        let again = fresh.decode(&mut input).map(|r| r.map(<[u8]>::to_vec));
        assert_eq!(again, Some(Ok(message.clone())));
        assert!(input.is_empty());
    }
}
