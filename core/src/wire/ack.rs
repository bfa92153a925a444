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

/// Most bitmap bytes an ack block carries (256 packets after the cumulative one).
pub const MAX_SACK_BYTES: usize = 32;
/// Bytes of an ack block without its bitmap.
pub const ACK_BLOCK_MIN_LEN: usize = 7;
/// The largest ack block.
pub const ACK_BLOCK_MAX_LEN: usize = ACK_BLOCK_MIN_LEN + MAX_SACK_BYTES;
/// Seed 000's plain ACK/NACK payload: one sequence number.
pub const PLAIN_LEN: usize = 4;

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
    /// Parses an ACK payload, plain (4 bytes) or extended.
    pub fn parse(payload: &[u8]) -> Result<AckRepr, Error> {
        if let [a, b, c, d] = *payload {
            return Ok(AckRepr { cumulative: Seq(u32::from_be_bytes([a, b, c, d])), window: None, sack: Sack::new() });
        }
        let (ack, used) = AckRepr::parse_block(payload)?;
        if used != payload.len() {
            return Err(Error::LengthMismatch { declared: used, actual: payload.len() });
        }
        Ok(ack)
    }

    /// Parses an ack block at the start of `bytes`; returns it and its length.
    pub fn parse_block(bytes: &[u8]) -> Result<(AckRepr, usize), Error> {
        let Some(&[a, b, c, d, w0, w1, sack_len]) = bytes.get(..ACK_BLOCK_MIN_LEN) else {
            return Err(Error::Truncated { needed: ACK_BLOCK_MIN_LEN, available: bytes.len() });
        };
        let sack_len = usize::from(sack_len);
        if sack_len > MAX_SACK_BYTES {
            return Err(Error::PayloadTooLarge { len: sack_len, max: MAX_SACK_BYTES });
        }
        let used = ACK_BLOCK_MIN_LEN + sack_len;
        let Some(bitmap) = bytes.get(ACK_BLOCK_MIN_LEN..used) else {
            return Err(Error::Truncated { needed: used, available: bytes.len() });
        };
        let ack = AckRepr {
            cumulative: Seq(u32::from_be_bytes([a, b, c, d])),
            window: Some(u16::from_be_bytes([w0, w1])),
            sack: Sack::from_bytes(bitmap),
        };
        Ok((ack, used))
    }

    /// Bytes of the extended block.
    pub fn block_len(&self) -> usize {
        ACK_BLOCK_MIN_LEN + self.sack.bytes().len()
    }

    /// Writes the extended block at the start of `out`; returns its length.
    pub fn emit_block(&self, out: &mut [u8]) -> Result<usize, Error> {
        let len = self.block_len();
        let available = out.len();
        let Some(dst) = out.get_mut(..len) else {
            return Err(Error::BufferTooSmall { needed: len, available });
        };
        let [a, b, c, d] = self.cumulative.0.to_be_bytes();
        let [w0, w1] = self.window.unwrap_or(0).to_be_bytes();
        let bitmap = self.sack.bytes();
        for (slot, byte) in dst.iter_mut().zip([a, b, c, d, w0, w1, bitmap.len() as u8].iter().chain(bitmap)) {
            *slot = *byte;
        }
        Ok(len)
    }
}

/// Parses a NACK payload: the 4-byte sequence number to resend.
pub fn parse_nack(payload: &[u8]) -> Result<Seq, Error> {
    match *payload {
        [a, b, c, d] => Ok(Seq(u32::from_be_bytes([a, b, c, d]))),
        _ => Err(Error::LengthMismatch { declared: PLAIN_LEN, actual: payload.len() }),
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plain_seed_ack() {
        let ack = AckRepr::parse(&[0, 0, 0, 9]).unwrap();
        assert_eq!(ack.cumulative, Seq(9));
        assert_eq!(ack.window, None);
        assert!(ack.sack.is_empty());
    }

    #[test]
    fn extended_block_round_trip() {
        let mut sack = Sack::new();
        for i in [0, 3, 9, 200, 255, 256] {
            sack.set(i);
        }
        let ack = AckRepr { cumulative: Seq(u32::MAX), window: Some(17), sack };
        let mut buf = [0u8; 64];
        let n = ack.emit_block(&mut buf).unwrap();
        assert_eq!(n, 7 + 32);
        assert_eq!(&buf[..7], &[0xff, 0xff, 0xff, 0xff, 0, 17, 32]);
        assert_eq!(buf[7], 0b0000_1001);
        let parsed = AckRepr::parse(&buf[..n]).unwrap();
        assert_eq!(parsed, ack);
        assert_eq!(parsed.sack.iter().collect::<heapless_like::Vec>().0, [0, 3, 9, 200, 255]);
        assert!(AckRepr::parse(&buf[..n - 1]).is_err());
        assert!(AckRepr::parse(&buf[..5]).is_err());
    }

    #[test]
    fn trailing_zero_bytes_are_not_sent() {
        let mut sack = Sack::new();
        sack.set(2);
        let ack = AckRepr { cumulative: Seq(1), window: Some(0), sack };
        assert_eq!(ack.block_len(), 8);
        let mut buf = [0u8; 16];
        buf[..7].copy_from_slice(&[0, 0, 0, 1, 0, 0, 3]);
        // a peer may send zero bytes at the end; they are accepted and dropped
        let (parsed, used) = AckRepr::parse_block(&[0, 0, 0, 1, 0, 0, 3, 4, 0, 0]).unwrap();
        assert_eq!(used, 10);
        assert_eq!(parsed, ack);
    }

    #[test]
    fn nack_is_four_bytes() {
        assert_eq!(parse_nack(&[0, 0, 1, 0]), Ok(Seq(256)));
        assert!(parse_nack(&[0, 0, 1]).is_err());
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
