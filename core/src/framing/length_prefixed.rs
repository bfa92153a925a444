//! Length-prefixed messages, seed 004's format: `[u32 big-endian length][payload]`.

use super::assembler::{Assembler, Layout};
use crate::error::Error;

/// Bytes of the length prefix.
pub const PREFIX_LEN: usize = 4;

/// Writes `[len][payload]` at the start of `out`; returns the bytes written.
///
/// ```
/// use seqlink_core::framing::encode_length_prefixed;
/// let mut out = [0u8; 64];
/// let n = encode_length_prefixed(b"Four score and seven years ago", &mut out).unwrap();
/// assert_eq!(&out[..4], &[0, 0, 0, 30]);
/// assert_eq!(n, 34);
/// ```
pub fn encode_length_prefixed(payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let len = u32::try_from(payload.len())
        .map_err(|_| Error::PayloadTooLarge { len: payload.len(), max: u32::MAX as usize })?;
    let total = PREFIX_LEN + payload.len();
    let available = out.len();
    let Some((prefix, body)) = out.get_mut(..total).and_then(|frame| frame.split_at_mut_checked(PREFIX_LEN)) else {
        return Err(Error::BufferTooSmall { needed: total, available });
    };
    prefix.copy_from_slice(&len.to_be_bytes());
    body.copy_from_slice(payload);
    Ok(total)
}

/// Finds whole length-prefixed messages in a byte stream fed in chunks of
/// any size, with the same guarantees as [`super::StreamDecoder`]: bounded
/// caller-provided buffer, zero-copy when a message arrives whole, and a
/// length over the maximum is fatal ([`Error::PayloadTooLarge`]) until reset.
///
/// ```
/// use seqlink_core::framing::{encode_length_prefixed, LengthPrefixedDecoder};
/// let mut wire = [0u8; 64];
/// let n = encode_length_prefixed(b"and seven years ago", &mut wire).unwrap();
/// let mut decoder = LengthPrefixedDecoder::new([0u8; 1028], 1024).unwrap();
/// let (mut input, mut rest) = (&wire[..5], &wire[5..n]);
/// assert!(decoder.decode(&mut input).is_none()); // only part of it so far
/// assert_eq!(decoder.decode(&mut rest).unwrap().unwrap(), b"and seven years ago");
/// ```
#[derive(Debug, Clone)]
pub struct LengthPrefixedDecoder<B> {
    buffer: B,
    max_len: usize,
    assembler: Assembler,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> LengthPrefixedDecoder<B> {
    /// A decoder for messages of at most `max_len` bytes; `buffer` must hold
    /// `4 + max_len` bytes.
    pub fn new(buffer: B, max_len: usize) -> Result<LengthPrefixedDecoder<B>, Error> {
        let needed = Layout::LengthPrefixed { max_len }.max_frame_len();
        let available = buffer.as_ref().len();
        if available < needed {
            return Err(Error::BufferTooSmall { needed, available });
        }
        Ok(LengthPrefixedDecoder { buffer, max_len, assembler: Assembler::default() })
    }

    /// Takes bytes from the front of `input` until one message is complete
    /// and returns its payload; `None` means all of `input` was taken and
    /// more bytes are needed.
    pub fn decode<'x, 's: 'x, 'i: 'x>(&'s mut self, input: &mut &'i [u8]) -> Option<Result<&'x [u8], Error>> {
        let layout = Layout::LengthPrefixed { max_len: self.max_len };
        let frame = self.assembler.next(self.buffer.as_mut(), input, &layout)?;
        Some(frame.map(|bytes| bytes.get(PREFIX_LEN..).unwrap_or(&[])))
    }

    /// The largest message accepted.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Bytes of an incomplete message held.
    pub fn buffered(&self) -> usize {
        self.assembler.buffered()
    }

    /// The fatal error the stream failed with, if it did.
    pub fn failure(&self) -> Option<Error> {
        self.assembler.failure()
    }

    /// Drops any partial message and any failure (for a new stream).
    pub fn reset(&mut self) {
        self.assembler.reset();
    }

    /// The buffer, given back.
    pub fn into_inner(self) -> B {
        self.buffer
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seed_004_example() {
        let mut wire = [0u8; 128];
        let n = encode_length_prefixed(b"Four score and seven years ago", &mut wire).unwrap();
        let m = encode_length_prefixed(b"and seven years ago", &mut wire[n..]).unwrap();
        let mut decoder = LengthPrefixedDecoder::new([0u8; 36], 32).unwrap();
        let mut input = &wire[..n + m];
        assert_eq!(decoder.decode(&mut input).unwrap().unwrap(), b"Four score and seven years ago");
        assert_eq!(decoder.decode(&mut input).unwrap().unwrap(), b"and seven years ago");
        assert!(decoder.decode(&mut input).is_none());
    }

    #[test]
    fn empty_message_and_limits() {
        let mut decoder = LengthPrefixedDecoder::new([0u8; 8], 4).unwrap();
        let mut input = &[0u8, 0, 0, 0][..];
        assert_eq!(decoder.decode(&mut input).unwrap().unwrap(), b"");
        let mut input = &[0u8, 0, 0, 5, 1][..];
        assert_eq!(decoder.decode(&mut input), Some(Err(Error::PayloadTooLarge { len: 5, max: 4 })));
        assert_eq!(decoder.failure(), Some(Error::PayloadTooLarge { len: 5, max: 4 }));
        assert!(LengthPrefixedDecoder::new([0u8; 7], 4).is_err());
        assert_eq!(
            encode_length_prefixed(b"abc", &mut [0u8; 6]),
            Err(Error::BufferTooSmall { needed: 7, available: 6 })
        );
    }
}
