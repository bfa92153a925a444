//! Packets over a byte stream (TCP): packets back to back, each delimited by
//! its header's length field.

use super::assembler::{Assembler, Layout};
use crate::error::Error;
use crate::wire::{Codec, PacketRepr};

/// Finds whole packets in a byte stream fed in chunks of any size.
///
/// The decoder holds at most one incomplete packet, in the buffer `B` the
/// caller gives it (`[u8; N]`, `&mut [u8]`, `Vec<u8>`, ...): no allocation.
/// A packet found whole inside one chunk is returned in place, without a copy.
///
/// * A packet whose checksum fails is skipped exactly (its length field was
///   within the maximum) and reported as [`Error::BadChecksum`]; decoding goes on.
/// * A length field over the codec's maximum is fatal: the stream can no
///   longer be delimited. [`Error::PayloadTooLarge`] is returned for that
///   call and every later call with input, until [`StreamDecoder::reset`].
///
/// ```
/// use seqlink_core::framing::StreamDecoder;
/// use seqlink_core::wire::{Codec, PacketRepr, PacketType};
/// use seqlink_core::Seq;
///
/// let codec = Codec::new().with_max_payload(512);
/// let mut wire = [0u8; 64];
/// let a = PacketRepr::new(Seq(0), PacketType::MSG_WELCOME, b"hi").emit(&mut wire, &codec).unwrap();
/// let b = PacketRepr::new(Seq(1), PacketType::MSG_INFO, b"go").emit(&mut wire[a..], &codec).unwrap();
///
/// let mut decoder = StreamDecoder::new([0u8; 521], codec).unwrap();
/// let mut seen = 0;
/// // feed the two packets three bytes at a time
/// for chunk in wire[..a + b].chunks(3) {
///     let mut input = chunk;
///     while let Some(result) = decoder.decode(&mut input) {
///         let packet = result.unwrap();
///         assert_eq!(packet.seq.value(), seen);
///         seen += 1;
///     }
/// }
/// assert_eq!(seen, 2);
/// ```
#[derive(Debug, Clone)]
pub struct StreamDecoder<B> {
    buffer: B,
    codec: Codec,
    assembler: Assembler,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> StreamDecoder<B> {
    /// A decoder for packets within `codec`'s limits; `buffer` must hold the
    /// largest such packet ([`Codec::max_packet_len`]).
    pub fn new(buffer: B, codec: Codec) -> Result<StreamDecoder<B>, Error> {
        check_capacity(buffer.as_ref().len(), &codec)?;
        Ok(StreamDecoder { buffer, codec, assembler: Assembler::default() })
    }

    /// Takes bytes from the front of `input` until one packet is complete,
    /// and returns it (or the error that packet had). `None` means all of
    /// `input` was taken and more bytes are needed.
    pub fn decode<'x, 's: 'x, 'i: 'x>(&'s mut self, input: &mut &'i [u8]) -> Option<Result<PacketRepr<'x>, Error>> {
        let layout = layout(&self.codec);
        let frame = self.assembler.next(self.buffer.as_mut(), input, &layout)?;
        Some(frame.and_then(|bytes| PacketRepr::decode(bytes, &self.codec)))
    }

    /// Like [`StreamDecoder::decode`], but returns each packet's raw bytes,
    /// delimited by its length field and within the maximum, without checking
    /// its integrity (for a caller that checks packets itself, such as a
    /// connection whose packets carry its connection id in their check).
    pub fn decode_frame<'x, 's: 'x, 'i: 'x>(&'s mut self, input: &mut &'i [u8]) -> Option<Result<&'x [u8], Error>> {
        let layout = layout(&self.codec);
        self.assembler.next(self.buffer.as_mut(), input, &layout)
    }

    /// The codec packets are checked against.
    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    /// Replaces the codec (for example once a connection has negotiated its
    /// parameters); fails if the buffer cannot hold its largest packet.
    pub fn set_codec(&mut self, codec: Codec) -> Result<(), Error> {
        check_capacity(self.buffer.as_ref().len(), &codec)?;
        self.codec = codec;
        Ok(())
    }

    /// Bytes of an incomplete packet held.
    pub fn buffered(&self) -> usize {
        self.assembler.buffered()
    }

    /// The fatal error the stream failed with, if it did.
    pub fn failure(&self) -> Option<Error> {
        self.assembler.failure()
    }

    /// Drops any partial packet and any failure (for a new stream).
    pub fn reset(&mut self) {
        self.assembler.reset();
    }

    /// The buffer, given back.
    pub fn into_inner(self) -> B {
        self.buffer
    }
}

fn layout(codec: &Codec) -> Layout {
    Layout::Packet { max_payload: usize::from(codec.max_payload), trailer: codec.integrity.trailer_len() }
}

fn check_capacity(available: usize, codec: &Codec) -> Result<(), Error> {
    let needed = layout(codec).max_frame_len();
    if available < needed {
        return Err(Error::BufferTooSmall { needed, available });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::seq::Seq;
    use crate::wire::PacketType;

    fn emit_all(codec: &Codec, payloads: &[&[u8]], out: &mut [u8]) -> usize {
        let mut n = 0;
        for (i, p) in payloads.iter().enumerate() {
            n += PacketRepr::new(Seq(i as u32), PacketType(60), p).emit(&mut out[n..], codec).unwrap();
        }
        n
    }

    #[test]
    fn bad_checksum_skips_exactly_one_packet() {
        let codec = Codec::new().with_max_payload(100);
        let mut wire = [0u8; 256];
        let n = emit_all(&codec, &[b"one", b"two", b"three"], &mut wire);
        wire[9 + 3 + 9 + 1] ^= 0x01; // corrupt the second payload
        let mut decoder = StreamDecoder::new([0u8; 109], codec).unwrap();
        let mut input = &wire[..n];
        assert_eq!(decoder.decode(&mut input).unwrap().unwrap().payload, b"one");
        assert!(matches!(decoder.decode(&mut input), Some(Err(Error::BadChecksum { .. }))));
        assert_eq!(decoder.decode(&mut input).unwrap().unwrap().payload, b"three");
        assert!(decoder.decode(&mut input).is_none());
        assert!(decoder.failure().is_none());
    }

    #[test]
    fn oversized_length_is_fatal_until_reset() {
        let codec = Codec::new().with_max_payload(4);
        let mut decoder = StreamDecoder::new([0u8; 13], codec).unwrap();
        let mut input = &[0u8, 0, 0, 1, 60, 0, 5, 0, 0, 1, 2, 3, 4, 5][..];
        assert_eq!(decoder.decode(&mut input), Some(Err(Error::PayloadTooLarge { len: 5, max: 4 })));
        assert!(input.is_empty());
        let mut more = &[1u8, 2, 3][..];
        assert_eq!(decoder.decode(&mut more), Some(Err(Error::PayloadTooLarge { len: 5, max: 4 })));
        assert!(decoder.decode(&mut more).is_none());
        decoder.reset();
        let mut wire = [0u8; 16];
        let n = emit_all(&codec, &[b"ok"], &mut wire);
        let mut input = &wire[..n];
        assert_eq!(decoder.decode(&mut input).unwrap().unwrap().payload, b"ok");
    }

    #[test]
    fn buffer_must_hold_the_largest_packet() {
        let codec = Codec::new().with_max_payload(100);
        assert_eq!(
            StreamDecoder::new([0u8; 108], codec).err(),
            Some(Error::BufferTooSmall { needed: 109, available: 108 })
        );
    }

    #[test]
    fn byte_at_a_time_and_all_at_once_agree() {
        let codec = Codec::new().with_max_payload(300);
        let mut wire = [0u8; 1024];
        let big = [7u8; 300];
        let n = emit_all(&codec, &[b"", b"a", &big, b"xyz"], &mut wire);
        for chunk in [1, 2, 5, 9, 10, 64, n] {
            let mut decoder = StreamDecoder::new([0u8; 309], codec).unwrap();
            let mut seqs = [0u32; 4];
            let mut count = 0;
            for piece in wire[..n].chunks(chunk) {
                let mut input = piece;
                while let Some(r) = decoder.decode(&mut input) {
                    seqs[count] = r.unwrap().seq.value();
                    count += 1;
                }
            }
            assert_eq!(count, 4, "chunk {chunk}");
            assert_eq!(seqs, [0, 1, 2, 3]);
            assert_eq!(decoder.buffered(), 0);
        }
    }
}
