//! Acknowledgement payloads: ACK (type 20) and NACK (type 21).
//!
//! An ACK's payload is either seed 000's plain form, the 4-byte sequence
//! number acknowledged (understood as cumulative: everything up to and
//! including it arrived), or seqlink's extended *ack block*:
//!
//! ```text
//! +----------------+--------------+-------------+---------------------+
//! | cumulative u32 | window u16   | sack_len u8 | sack bitmap         |
//! +----------------+--------------+-------------+---------------------+
//!                                                 sack_len bytes (0..=32)
//! ```
//!
//! `cumulative` is the highest sequence number up to which every packet has
//! arrived; `window` is how many more packets after it the receiver can take;
//! bit `i` of the bitmap (byte `i / 8`, bit `i % 8`, least significant first)
//! says that packet `cumulative + 2 + i` arrived (`cumulative + 1` is missing
//! by definition). The same block rides inside extended DATA packets when
//! an acknowledgement is piggybacked.

use crate::bytes::copy_prefix;
use crate::error::Error;
use crate::seq::Seq;

/// Byte positions of the ack block's fields, in one place.
mod field {
    use core::ops::Range;
    pub const CUMULATIVE: Range<usize> = 0..4;
    pub const WINDOW: Range<usize> = 4..6;
    pub const SACK_LEN: usize = 6;
    pub const SACK: usize = 7;
}

/// Most bitmap bytes an ack block carries (256 packets after the cumulative one).
pub const MAX_SACK_BYTES: usize = 32;
/// Bytes of an ack block without its bitmap.
pub const ACK_BLOCK_MIN_LEN: usize = field::SACK;
/// The largest ack block.
pub const ACK_BLOCK_MAX_LEN: usize = ACK_BLOCK_MIN_LEN + MAX_SACK_BYTES;
/// Seed 000's plain ACK/NACK payload: one sequence number.
pub const PLAIN_LEN: usize = 4;

/// Reads a big-endian sequence number at `range` (4 bytes) of `bytes`.
fn read_seq(bytes: &[u8], range: core::ops::Range<usize>) -> Option<Seq> {
    match bytes.get(range)? {
        &[a, b, c, d] => Some(Seq(u32::from_be_bytes([a, b, c, d]))),
        _ => None,
    }
}

/// Writes `len` bytes at the start of `out` with `fill`, or a typed error if they do not fit.
fn emit_exact(out: &mut [u8], len: usize, fill: impl FnOnce(&mut [u8])) -> Result<usize, Error> {
    let available = out.len();
    let Some(dst) = out.get_mut(..len) else {
        return Err(Error::BufferTooSmall { needed: len, available });
    };
    fill(dst);
    Ok(len)
}

/// Which packets after the cumulative acknowledgement have arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sack {
    bits: [u8; MAX_SACK_BYTES],
    len: u8,
}

impl Sack {
    /// No packets beyond the cumulative acknowledgement.
    pub const fn new() -> Sack {
        Sack { bits: [0; MAX_SACK_BYTES], len: 0 }
    }

    /// Marks packet `cumulative + 2 + index` as received; indices past 255 are ignored.
    pub fn set(&mut self, index: usize) {
        if let Some(byte) = self.bits.get_mut(index / 8) {
            *byte |= 1 << (index % 8);
            self.len = self.len.max((index / 8 + 1) as u8);
        }
    }

    /// Whether packet `cumulative + 2 + index` was reported received.
    pub fn get(&self, index: usize) -> bool {
        index / 8 < usize::from(self.len) && self.bits.get(index / 8).is_some_and(|b| b & (1 << (index % 8)) != 0)
    }

    /// Bitmap bytes on the wire (trailing zero bytes are never sent).
    pub fn bytes(&self) -> &[u8] {
        self.bits.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// `true` when no packet beyond the cumulative one is reported.
    pub fn is_empty(&self) -> bool {
        self.bytes().iter().all(|&b| b == 0)
    }

    /// Indices of the reported packets, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..usize::from(self.len) * 8).filter(move |&i| self.get(i))
    }

    fn from_bytes(bytes: &[u8]) -> Sack {
        let mut sack = Sack::new();
        let n = bytes.len().min(MAX_SACK_BYTES);
        if let (Some(dst), Some(src)) = (sack.bits.get_mut(..n), bytes.get(..n)) {
            copy_prefix(dst, src);
        }
        let used = sack.bits.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        sack.len = used as u8;
        sack
    }
}

/// A parsed acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AckRepr {
    /// Every packet up to and including this one has arrived.
    pub cumulative: Seq,
    /// Packets the receiver can still take after `cumulative` (`None` for a
    /// seed 000 plain ACK, which says nothing about the window).
    pub window: Option<u16>,
    /// Packets after `cumulative + 1` that have arrived.
    pub sack: Sack,
}

impl AckRepr {
    /// A seed 000 plain ACK of `seq` (everything up to and including it arrived).
    pub const fn plain(seq: Seq) -> AckRepr {
        AckRepr { cumulative: seq, window: None, sack: Sack::new() }
    }

    /// Parses an ACK payload, plain (4 bytes, `window` is `None`) or an
    /// extended block that fills the payload exactly.
    pub fn parse(payload: &[u8]) -> Result<AckRepr, Error> {
        if payload.len() == PLAIN_LEN {
            return read_seq(payload, 0..PLAIN_LEN)
                .map(AckRepr::plain)
                .ok_or(Error::Truncated { needed: PLAIN_LEN, available: payload.len() });
        }
        let (ack, used) = AckRepr::parse_block(payload)?;
        if used != payload.len() {
            return Err(Error::LengthMismatch { declared: used, actual: payload.len() });
        }
        Ok(ack)
    }

    /// Bytes [`AckRepr::emit`] writes: 4 for a plain ACK, else the extended block.
    pub fn buffer_len(&self) -> usize {
        match self.window {
            None => PLAIN_LEN,
            Some(_) => self.block_len(),
        }
    }

    /// Writes the payload at the start of `out`: seed 000's plain form when
    /// `window` is `None` (a SACK cannot ride in it: [`Error::Malformed`]),
    /// else the extended block. Returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        if self.window.is_some() {
            return self.emit_block(out);
        }
        if !self.sack.is_empty() {
            return Err(Error::Malformed);
        }
        emit_exact(out, PLAIN_LEN, |dst| {
            copy_prefix(dst, &self.cumulative.0.to_be_bytes());
        })
    }

    /// Parses an extended ack block at the start of `bytes` (the form that
    /// rides in DATA packets); returns it and its length.
    pub(crate) fn parse_block(bytes: &[u8]) -> Result<(AckRepr, usize), Error> {
        let (Some(cumulative), Some(&[w0, w1]), Some(&sack_len)) =
            (read_seq(bytes, field::CUMULATIVE), bytes.get(field::WINDOW), bytes.get(field::SACK_LEN))
        else {
            return Err(Error::Truncated { needed: ACK_BLOCK_MIN_LEN, available: bytes.len() });
        };
        let sack_len = usize::from(sack_len);
        if sack_len > MAX_SACK_BYTES {
            return Err(Error::PayloadTooLarge { len: sack_len, max: MAX_SACK_BYTES });
        }
        let used = field::SACK + sack_len;
        let Some(bitmap) = bytes.get(field::SACK..used) else {
            return Err(Error::Truncated { needed: used, available: bytes.len() });
        };
        let ack = AckRepr { cumulative, window: Some(u16::from_be_bytes([w0, w1])), sack: Sack::from_bytes(bitmap) };
        Ok((ack, used))
    }

    /// Bytes of the extended block.
    pub(crate) fn block_len(&self) -> usize {
        ACK_BLOCK_MIN_LEN + self.sack.bytes().len()
    }

    /// Writes the extended block at the start of `out` (a missing window is
    /// written as 0); returns its length.
    pub(crate) fn emit_block(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_exact(out, self.block_len(), |dst| {
            // the fields in order: cumulative, window, sack_len, bitmap
            let [a, b, c, d] = self.cumulative.0.to_be_bytes();
            let [w0, w1] = self.window.unwrap_or(0).to_be_bytes();
            let bitmap = self.sack.bytes();
            let fixed = copy_prefix(dst, &[a, b, c, d, w0, w1, bitmap.len() as u8]);
            copy_prefix(dst.get_mut(fixed..).unwrap_or(&mut []), bitmap);
        })
    }
}

/// An acknowledgement read or written without its SACK bitmap: what a peer
/// that ignores SACK bits (`docs/PROTOCOL.md` 6.9) needs. It accepts and
/// refuses exactly the payloads [`AckRepr`] does (a bitmap is checked for
/// its length and skipped), and writes a block with `sack_len` 0, so it
/// never builds or clears a 32-byte bitmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CumulativeAck {
    /// Every packet up to and including this one has arrived.
    pub cumulative: Seq,
    /// Packets the receiver can still take after `cumulative` (`None` for a
    /// seed 000 plain ACK).
    pub window: Option<u16>,
}

impl CumulativeAck {
    /// Parses an ACK payload as [`AckRepr::parse`] does, skipping the bitmap.
    pub fn parse(payload: &[u8]) -> Result<CumulativeAck, Error> {
        if payload.len() == PLAIN_LEN {
            let cumulative = read_seq(payload, 0..PLAIN_LEN)
                .ok_or(Error::Truncated { needed: PLAIN_LEN, available: payload.len() })?;
            return Ok(CumulativeAck { cumulative, window: None });
        }
        let (ack, used) = CumulativeAck::parse_block(payload)?;
        if used != payload.len() {
            return Err(Error::LengthMismatch { declared: used, actual: payload.len() });
        }
        Ok(ack)
    }

    /// Parses an extended ack block at the start of `bytes` as
    /// [`AckRepr::parse_block`] does, skipping the bitmap; returns it and
    /// the block's length.
    pub(crate) fn parse_block(bytes: &[u8]) -> Result<(CumulativeAck, usize), Error> {
        let (Some(cumulative), Some(&[w0, w1]), Some(&sack_len)) =
            (read_seq(bytes, field::CUMULATIVE), bytes.get(field::WINDOW), bytes.get(field::SACK_LEN))
        else {
            return Err(Error::Truncated { needed: ACK_BLOCK_MIN_LEN, available: bytes.len() });
        };
        let sack_len = usize::from(sack_len);
        if sack_len > MAX_SACK_BYTES {
            return Err(Error::PayloadTooLarge { len: sack_len, max: MAX_SACK_BYTES });
        }
        let used = field::SACK + sack_len;
        if used > bytes.len() {
            return Err(Error::Truncated { needed: used, available: bytes.len() });
        }
        Ok((CumulativeAck { cumulative, window: Some(u16::from_be_bytes([w0, w1])) }, used))
    }

    /// Writes the extended block with no bitmap (`sack_len` 0; a missing
    /// window is written as 0) at the start of `out`, as [`AckRepr::emit`]
    /// writes one with an empty SACK and a window; returns its length.
    pub fn emit_block(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_exact(out, ACK_BLOCK_MIN_LEN, |dst| {
            let [a, b, c, d] = self.cumulative.0.to_be_bytes();
            let [w0, w1] = self.window.unwrap_or(0).to_be_bytes();
            copy_prefix(dst, &[a, b, c, d, w0, w1, 0]);
        })
    }
}

/// Most sequence numbers one NACK names (64 bytes of payload, which fits
/// the smallest `max_payload` a link accepts).
pub const MAX_NACK_SEQS: usize = 16;

/// A NACK payload: the sequence numbers the receiver asks to be resent, each
/// a big-endian u32, 1 to [`MAX_NACK_SEQS`] of them. One (4 bytes) is seed
/// 000's form; a receiver lists several missing packets in ascending order,
/// the first the next one it expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NackRepr {
    /// The first missing or corrupted sequence number named.
    pub seq: Seq,
    /// Further missing sequence numbers; only the first `more_len` count.
    more: [Seq; MAX_NACK_SEQS - 1],
    more_len: u8,
}

impl NackRepr {
    /// A NACK naming one sequence number.
    pub const fn new(seq: Seq) -> NackRepr {
        NackRepr { seq, more: [Seq(0); MAX_NACK_SEQS - 1], more_len: 0 }
    }

    /// Names one more sequence number; false (and unchanged) when full.
    pub fn push(&mut self, seq: Seq) -> bool {
        match self.more.get_mut(usize::from(self.more_len)) {
            Some(slot) => {
                *slot = seq;
                self.more_len += 1;
                true
            }
            None => false,
        }
    }

    /// How many sequence numbers it names (1..=[`MAX_NACK_SEQS`]).
    pub const fn len(&self) -> usize {
        1 + self.more_len as usize
    }

    /// Never empty: a NACK names at least one sequence number.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// The sequence numbers named, in payload order.
    pub fn seqs(&self) -> impl Iterator<Item = Seq> + '_ {
        core::iter::once(self.seq).chain(self.more.iter().take(usize::from(self.more_len)).copied())
    }

    /// Parses a NACK payload: 1 to [`MAX_NACK_SEQS`] sequence numbers, a
    /// multiple of 4 bytes.
    pub fn parse(payload: &[u8]) -> Result<NackRepr, Error> {
        let whole = payload.len() / PLAIN_LEN * PLAIN_LEN;
        let (Some(seq), 0, true) =
            (read_seq(payload, 0..PLAIN_LEN), payload.len() % PLAIN_LEN, payload.len() <= MAX_NACK_SEQS * PLAIN_LEN)
        else {
            let declared = whole.clamp(PLAIN_LEN, MAX_NACK_SEQS * PLAIN_LEN);
            return Err(Error::LengthMismatch { declared, actual: payload.len() });
        };
        let mut nack = NackRepr::new(seq);
        for chunk in payload.get(PLAIN_LEN..).unwrap_or(&[]).chunks_exact(PLAIN_LEN) {
            if let Some(more) = read_seq(chunk, 0..PLAIN_LEN) {
                nack.push(more);
            }
        }
        Ok(nack)
    }

    /// Bytes [`NackRepr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        self.len() * PLAIN_LEN
    }

    /// Writes the payload at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_exact(out, self.buffer_len(), |dst| {
            for (chunk, seq) in dst.chunks_exact_mut(PLAIN_LEN).zip(self.seqs()) {
                copy_prefix(chunk, &seq.0.to_be_bytes());
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sack_of(indices: &[usize]) -> Sack {
        let mut sack = Sack::new();
        for &i in indices {
            sack.set(i);
        }
        sack
    }

    /// Every format's contract: emit writes `buffer_len` bytes, parse gives
    /// the value back, one byte less of buffer or of payload is a typed error.
    fn round_trip(ack: AckRepr) {
        let mut buf = [0u8; ACK_BLOCK_MAX_LEN];
        let n = ack.emit(&mut buf).unwrap();
        assert_eq!(n, ack.buffer_len());
        assert_eq!(AckRepr::parse(&buf[..n]).unwrap(), ack);
        assert_eq!(ack.emit(&mut buf[..n - 1]), Err(Error::BufferTooSmall { needed: n, available: n - 1 }));
        for cut in 0..n {
            match AckRepr::parse(&buf[..cut]) {
                // the first 4 bytes of a block read as a seed 000 ACK of the same number
                Ok(plain) if cut == PLAIN_LEN => assert_eq!(plain, AckRepr::plain(ack.cumulative)),
                parsed => assert!(parsed.is_err(), "{cut} of {n} bytes"),
            }
        }
    }

    #[test]
    fn plain_seed_ack() {
        let ack = AckRepr::parse(&[0, 0, 0, 9]).unwrap();
        assert_eq!(ack, AckRepr::plain(Seq(9)));
        assert_eq!(ack.window, None);
        assert!(ack.sack.is_empty());
        let mut buf = [0u8; 4];
        assert_eq!(ack.emit(&mut buf), Ok(4));
        assert_eq!(buf, [0, 0, 0, 9]);
        round_trip(ack);
    }

    #[test]
    fn a_plain_ack_cannot_carry_a_sack() {
        let ack = AckRepr { sack: sack_of(&[1]), ..AckRepr::plain(Seq(1)) };
        assert_eq!(ack.emit(&mut [0u8; 8]), Err(Error::Malformed));
    }

    #[test]
    fn extended_block_round_trip() {
        let ack = AckRepr { cumulative: Seq(u32::MAX), window: Some(17), sack: sack_of(&[0, 3, 9, 200, 255, 256]) };
        let mut buf = [0u8; 64];
        let n = ack.emit(&mut buf).unwrap();
        assert_eq!(n, 7 + 32);
        assert_eq!(&buf[..7], &[0xff, 0xff, 0xff, 0xff, 0, 17, 32]);
        assert_eq!(buf[7], 0b0000_1001);
        let parsed = AckRepr::parse(&buf[..n]).unwrap();
        assert_eq!(parsed, ack);
        assert_eq!(parsed.sack.iter().collect::<heapless_like::Vec>().0, [0, 3, 9, 200, 255]);
        round_trip(ack);
        round_trip(AckRepr { cumulative: Seq(5), window: Some(0), sack: Sack::new() });
    }

    #[test]
    fn a_block_longer_than_its_payload_or_than_32_bytes_is_refused() {
        assert_eq!(AckRepr::parse(&[0, 0, 0, 1, 0, 1, 2, 0xff]), Err(Error::Truncated { needed: 9, available: 8 }));
        assert_eq!(
            AckRepr::parse(&[0, 0, 0, 1, 0, 1, 33]),
            Err(Error::PayloadTooLarge { len: 33, max: MAX_SACK_BYTES })
        );
        assert_eq!(AckRepr::parse(&[0, 0, 0, 1, 0, 1, 0, 0]), Err(Error::LengthMismatch { declared: 7, actual: 8 }));
    }

    #[test]
    fn trailing_zero_bytes_are_not_sent() {
        let ack = AckRepr { cumulative: Seq(1), window: Some(0), sack: sack_of(&[2]) };
        assert_eq!(ack.buffer_len(), 8);
        // a peer may send zero bytes at the end; they are accepted and dropped
        let (parsed, used) = AckRepr::parse_block(&[0, 0, 0, 1, 0, 0, 3, 4, 0, 0]).unwrap();
        assert_eq!(used, 10);
        assert_eq!(parsed, ack);
    }

    #[test]
    fn a_cumulative_reader_takes_and_refuses_what_the_full_parser_does() {
        let with_sack = AckRepr { cumulative: Seq(0xdead_beef), window: Some(300), sack: sack_of(&[0, 9, 255]) };
        let mut block = [0u8; ACK_BLOCK_MAX_LEN + 1];
        let n = with_sack.emit(&mut block).unwrap();
        let mut oversized = [0u8; ACK_BLOCK_MAX_LEN + 1];
        oversized[field::SACK_LEN] = MAX_SACK_BYTES as u8 + 1;
        for payload in [&block[..n + 1], &[0, 0, 0, 9, 0, 4, 0][..], &oversized[..]] {
            for cut in 0..=payload.len() {
                let full = AckRepr::parse(&payload[..cut]);
                let cumulative = CumulativeAck::parse(&payload[..cut]);
                assert_eq!(cumulative, full.map(|a| CumulativeAck { cumulative: a.cumulative, window: a.window }));
                let full = AckRepr::parse_block(&payload[..cut]);
                let cumulative = CumulativeAck::parse_block(&payload[..cut]);
                assert_eq!(
                    cumulative,
                    full.map(|(a, n)| (CumulativeAck { cumulative: a.cumulative, window: a.window }, n))
                );
            }
        }
        assert_eq!(
            CumulativeAck::parse(&block[..n]),
            Ok(CumulativeAck { cumulative: Seq(0xdead_beef), window: Some(300) })
        );
    }

    #[test]
    fn a_cumulative_block_is_an_ack_block_without_sack_bits() {
        let ack = CumulativeAck { cumulative: Seq(77), window: Some(4) };
        let mut buf = [0xffu8; ACK_BLOCK_MIN_LEN];
        assert_eq!(ack.emit_block(&mut buf), Ok(ACK_BLOCK_MIN_LEN));
        let full = AckRepr { cumulative: Seq(77), window: Some(4), sack: Sack::new() };
        let mut expected = [0u8; ACK_BLOCK_MIN_LEN];
        assert_eq!(full.emit(&mut expected), Ok(ACK_BLOCK_MIN_LEN));
        assert_eq!(buf, expected);
        assert_eq!(
            ack.emit_block(&mut buf[..ACK_BLOCK_MIN_LEN - 1]),
            Err(Error::BufferTooSmall { needed: ACK_BLOCK_MIN_LEN, available: ACK_BLOCK_MIN_LEN - 1 })
        );
    }

    #[test]
    fn nack_is_four_bytes() {
        assert_eq!(NackRepr::parse(&[0, 0, 1, 0]), Ok(NackRepr::new(Seq(256))));
        assert!(NackRepr::parse(&[0, 0, 1, 0, 0]).is_err());
        let nack = NackRepr::new(Seq(0xdead_beef));
        let mut buf = [0u8; 4];
        assert_eq!(nack.emit(&mut buf), Ok(nack.buffer_len()));
        assert_eq!(buf, [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(NackRepr::parse(&buf), Ok(nack));
        assert_eq!(nack.emit(&mut buf[..3]), Err(Error::BufferTooSmall { needed: 4, available: 3 }));
        for cut in 0..4 {
            assert_eq!(NackRepr::parse(&buf[..cut]), Err(Error::LengthMismatch { declared: 4, actual: cut }));
        }
    }

    #[test]
    fn nack_names_up_to_sixteen_holes_in_order() {
        let mut nack = NackRepr::new(Seq(7));
        for s in [9, 10, 12] {
            assert!(nack.push(Seq(s)));
        }
        assert_eq!(nack.len(), 4);
        let mut buf = [0u8; MAX_NACK_SEQS * 4];
        assert_eq!(nack.emit(&mut buf), Ok(16));
        assert_eq!(buf[..16], [0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 10, 0, 0, 0, 12]);
        let parsed = NackRepr::parse(&buf[..16]).unwrap();
        assert_eq!(parsed, nack);
        assert_eq!(parsed.seqs().map(|s| s.0).sum::<u32>(), 7 + 9 + 10 + 12);
        assert_eq!(nack.emit(&mut buf[..15]), Err(Error::BufferTooSmall { needed: 16, available: 15 }));
        // full at sixteen: a seventeenth is refused, and so is a longer payload
        while nack.push(Seq(99)) {}
        assert_eq!(nack.len(), MAX_NACK_SEQS);
        assert_eq!(nack.emit(&mut buf), Ok(64));
        assert_eq!(NackRepr::parse(&buf), Ok(nack));
        let long = [0u8; MAX_NACK_SEQS * 4 + 4];
        assert_eq!(NackRepr::parse(&long), Err(Error::LengthMismatch { declared: 64, actual: 68 }));
        assert_eq!(NackRepr::parse(&buf[..10]), Err(Error::LengthMismatch { declared: 8, actual: 10 }));
    }

    /// A tiny collector so the test needs no allocation.
    mod heapless_like {
        pub struct Vec(pub [usize; 5]);
        impl FromIterator<usize> for Vec {
            fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
                let mut out = [usize::MAX; 5];
                for (slot, v) in out.iter_mut().zip(iter) {
                    *slot = v;
                }
                Vec(out)
            }
        }
    }
}
