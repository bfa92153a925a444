//! Packets over a serial line: each packet COBS-encoded and followed by a
//! `0x00` delimiter.
//!
//! COBS (Consistent Overhead Byte Stuffing) removes every zero byte from the
//! packet at a cost of one byte per 254, so `0x00` only ever ends a frame.
//! A receiver that joins mid-stream, or loses or gains bytes to line noise,
//! loses at most the frame in progress and is back in step at the next
//! delimiter. Senders may also send a lone `0x00` first to end any garbage
//! the receiver holds.

use crate::error::Error;
use crate::wire::{Codec, PacketRepr};

/// The frame delimiter.
pub const DELIMITER: u8 = 0x00;

/// The largest COBS frame, delimiter included, for a packet of `packet_len` bytes.
pub const fn max_serial_frame_len(packet_len: usize) -> usize {
    packet_len + packet_len / 254 + 2
}

/// Writes `repr` as one COBS frame plus delimiter at the start of `out`;
/// returns the bytes written. `out` must hold
/// [`max_serial_frame_len`]`(repr.buffer_len(codec))` bytes.
///
/// ```
/// use seqlink_core::framing::{encode_serial, SerialDecoder};
/// use seqlink_core::wire::{Codec, PacketRepr, PacketType};
/// use seqlink_core::Seq;
///
/// let codec = Codec::new().with_max_payload(64);
/// let repr = PacketRepr::new(Seq(0), PacketType::HEARTBEAT, b"");
/// let mut line = [0u8; 32];
/// let n = encode_serial(&repr, &codec, &mut line).unwrap();
/// assert!(!line[..n - 1].contains(&0) && line[n - 1] == 0);
///
/// let mut decoder = SerialDecoder::new([0u8; 73], codec).unwrap();
/// let mut input = &[0x13, 0x37, 0][..]; // line noise, then a delimiter
/// assert!(decoder.decode(&mut input).unwrap().is_err());
/// let mut input = &line[..n];
/// assert_eq!(decoder.decode(&mut input).unwrap().unwrap(), repr);
/// ```
pub fn encode_serial(repr: &PacketRepr<'_>, codec: &Codec, out: &mut [u8]) -> Result<usize, Error> {
    let (header, trailer) = repr.header_and_trailer(codec)?;
    let needed = max_serial_frame_len(repr.buffer_len(codec));
    if out.len() < needed {
        return Err(Error::BufferTooSmall { needed, available: out.len() });
    }
    let mut writer = CobsWriter::new(out);
    writer.write(&header);
    writer.write(repr.payload);
    writer.write(trailer.get(..codec.integrity.trailer_len()).unwrap_or(&[]));
    Ok(writer.finish())
}

/// Writes the raw bytes of one packet (a connection's datagram, as
/// `Connection::poll_transmit` gives it) as one COBS frame plus delimiter at
/// the start of `out`; returns the bytes written. `out` must hold
/// [`max_serial_frame_len`]`(packet.len())` bytes. The receiving side reads it
/// back with [`SerialDecoder::decode_frame`].
pub fn encode_serial_frame(packet: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let needed = max_serial_frame_len(packet.len());
    if out.len() < needed {
        return Err(Error::BufferTooSmall { needed, available: out.len() });
    }
    let mut writer = CobsWriter::new(out);
    writer.write(packet);
    Ok(writer.finish())
}

/// A COBS encoder writing into a buffer already checked to be large enough.
struct CobsWriter<'a> {
    out: &'a mut [u8],
    code_at: usize,
    pos: usize,
    code: u8,
}

impl<'a> CobsWriter<'a> {
    fn new(out: &'a mut [u8]) -> CobsWriter<'a> {
        CobsWriter { out, code_at: 0, pos: 1, code: 1 }
    }

    fn put(&mut self, at: usize, byte: u8) {
        if let Some(slot) = self.out.get_mut(at) {
            *slot = byte;
        }
    }

    fn close_block(&mut self) {
        self.put(self.code_at, self.code);
        self.code_at = self.pos;
        self.pos += 1;
        self.code = 1;
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte == 0 {
                self.close_block();
            } else {
                self.put(self.pos, byte);
                self.pos += 1;
                self.code += 1;
                if self.code == 0xff {
                    self.close_block();
                }
            }
        }
    }

    /// Closes the last block, writes the delimiter and returns the frame length.
    fn finish(mut self) -> usize {
        self.put(self.code_at, self.code);
        self.put(self.pos, DELIMITER);
        self.pos + 1
    }
}

/// Finds packets in a serial byte stream of COBS frames, fed in chunks of any size.
///
/// Decoding happens as bytes arrive into the caller's buffer `B`, which must
/// hold the largest packet of the codec. Every frame gives one result:
/// a packet, [`Error::BadFrame`] (broken COBS), [`Error::FrameTooLong`]
/// (no delimiter within the buffer: noise or a lost delimiter), or the
/// packet's own error such as [`Error::BadChecksum`]. Empty frames are
/// ignored. Nothing is fatal: the next frame decodes normally.
#[derive(Debug, Clone)]
pub struct SerialDecoder<B> {
    buffer: B,
    codec: Codec,
    filled: usize,
    /// Data bytes left in the current COBS block (0: the next byte is a code byte).
    remaining: u8,
    /// Code byte of the current block (0 before the first block).
    block_code: u8,
    overflow: bool,
    frame_ready: bool,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> SerialDecoder<B> {
    /// A decoder for packets within `codec`'s limits; `buffer` must hold the
    /// largest such packet ([`Codec::max_packet_len`]).
    pub fn new(buffer: B, codec: Codec) -> Result<SerialDecoder<B>, Error> {
        let needed = codec.max_packet_len();
        let available = buffer.as_ref().len();
        if available < needed {
            return Err(Error::BufferTooSmall { needed, available });
        }
        Ok(SerialDecoder { buffer, codec, filled: 0, remaining: 0, block_code: 0, overflow: false, frame_ready: false })
    }

    /// Takes bytes from the front of `input` up to the end of one frame and
    /// returns that frame's packet or error; `None` means all of `input` was
    /// taken and the frame is not finished yet.
    pub fn decode(&mut self, input: &mut &[u8]) -> Option<Result<PacketRepr<'_>, Error>> {
        let codec = self.codec;
        let frame = self.decode_frame(input)?;
        Some(frame.and_then(|bytes| PacketRepr::decode(bytes, &codec)))
    }

    /// Like [`SerialDecoder::decode`], but returns each frame's decoded bytes
    /// without parsing or checking them as a packet (for a caller that checks
    /// packets itself, such as a connection whose packets carry its
    /// connection id in their check: it passes the bytes to `handle_datagram`).
    pub fn decode_frame(&mut self, input: &mut &[u8]) -> Option<Result<&[u8], Error>> {
        if self.frame_ready {
            self.start_frame();
        }
        while let Some((&byte, rest)) = input.split_first() {
            *input = rest;
            if byte != DELIMITER {
                self.push_encoded(byte);
                continue;
            }
            let result = if self.overflow {
                Err(Error::FrameTooLong { max: self.buffer.as_ref().len() })
            } else if self.block_code == 0 {
                continue; // empty frame
            } else if self.remaining != 0 {
                Err(Error::BadFrame)
            } else {
                Ok(self.filled)
            };
            self.frame_ready = true;
            let buffer = self.buffer.as_ref();
            return Some(result.map(|len| buffer.get(..len).unwrap_or(&[])));
        }
        None
    }

    fn start_frame(&mut self) {
        self.filled = 0;
        self.remaining = 0;
        self.block_code = 0;
        self.overflow = false;
        self.frame_ready = false;
    }

    fn push_encoded(&mut self, byte: u8) {
        if self.overflow {
            return;
        }
        if self.remaining == 0 {
            if self.block_code != 0 && self.block_code != 0xff {
                self.push_decoded(0);
            }
            self.block_code = byte;
            self.remaining = byte - 1;
        } else {
            self.push_decoded(byte);
            self.remaining -= 1;
        }
    }

    fn push_decoded(&mut self, byte: u8) {
        match self.buffer.as_mut().get_mut(self.filled) {
            Some(slot) => {
                *slot = byte;
                self.filled += 1;
            }
            None => self.overflow = true,
        }
    }

    /// The codec packets are checked against.
    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    /// Bytes of the unfinished frame decoded so far.
    pub fn buffered(&self) -> usize {
        if self.frame_ready {
            0
        } else {
            self.filled
        }
    }

    /// Drops the unfinished frame.
    pub fn reset(&mut self) {
        self.start_frame();
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
    use crate::seq::Seq;
    use crate::wire::PacketType;

    fn cobs(data: &[u8], out: &mut [u8]) -> usize {
        let mut w = CobsWriter::new(out);
        w.write(data);
        w.finish()
    }

    #[test]
    fn cobs_known_vectors() {
        // From the COBS paper / Wikipedia examples (plus our delimiter).
        let cases: &[(&[u8], &[u8])] = &[
            (&[0x00], &[0x01, 0x01, 0x00]),
            (&[0x00, 0x00], &[0x01, 0x01, 0x01, 0x00]),
            (&[0x11, 0x22, 0x00, 0x33], &[0x03, 0x11, 0x22, 0x02, 0x33, 0x00]),
            (&[0x11, 0x22, 0x33, 0x44], &[0x05, 0x11, 0x22, 0x33, 0x44, 0x00]),
            (&[0x11, 0x00, 0x00, 0x00], &[0x02, 0x11, 0x01, 0x01, 0x01, 0x00]),
        ];
        for (data, want) in cases {
            let mut out = [0u8; 16];
            let n = cobs(data, &mut out);
            assert_eq!(&out[..n], *want);
        }
        let run: [u8; 254] = core::array::from_fn(|i| i as u8 + 1);
        let mut out = [0u8; 300];
        let n = cobs(&run, &mut out);
        assert_eq!(n, 257);
        assert_eq!(out[0], 0xff);
        assert_eq!(&out[255..257], &[0x01, 0x00]);
    }

    #[test]
    fn round_trip_with_zero_heavy_payloads() {
        let codec = Codec::new().with_max_payload(600);
        let payloads: [&[u8]; 4] = [&[0; 600], &[0xff; 600], &[1, 0, 2, 0, 0, 3], b""];
        for p in payloads {
            let repr = PacketRepr::new(Seq(0), PacketType::MSG_BOARD_OWN, p);
            let mut line = [0u8; 700];
            let n = encode_serial(&repr, &codec, &mut line).unwrap();
            assert!(n <= max_serial_frame_len(repr.buffer_len(&codec)));
            assert!(!line[..n - 1].contains(&0));
            let mut decoder = SerialDecoder::new([0u8; 609], codec).unwrap();
            let mut input = &line[..n];
            assert_eq!(decoder.decode(&mut input).unwrap().unwrap(), repr);
            assert!(input.is_empty());
        }
    }

    #[test]
    fn recovers_at_the_next_frame_after_lost_bytes() {
        let codec = Codec::new().with_max_payload(32);
        let mut line = [0u8; 128];
        let mut n = 0;
        for i in 0..3u32 {
            let repr = PacketRepr::new(Seq(i), PacketType(60), b"payload!");
            n += encode_serial(&repr, &codec, &mut line[n..]).unwrap();
        }
        let frame = n / 3;
        // drop two bytes from the middle of the first frame
        let mut damaged = [0u8; 128];
        damaged[..5].copy_from_slice(&line[..5]);
        damaged[5..n - 2].copy_from_slice(&line[7..n]);
        let mut decoder = SerialDecoder::new([0u8; 41], codec).unwrap();
        let mut input = &damaged[..n - 2];
        assert!(decoder.decode(&mut input).unwrap().is_err());
        assert_eq!(decoder.decode(&mut input).unwrap().unwrap().seq, Seq(1));
        assert_eq!(decoder.decode(&mut input).unwrap().unwrap().seq, Seq(2));
        assert!(decoder.decode(&mut input).is_none());
        assert_eq!(frame * 3, n);
    }

    #[test]
    fn raw_frames_round_trip_a_connection_datagram_unchecked() {
        // a datagram whose check includes a connection id: the plain codec would reject it
        let datagram = [0x00, 0x00, 0x00, 0x07, 64, 0x00, 0x02, 0xde, 0xad, 0x00, 0x01];
        let mut line = [0u8; 16];
        let n = encode_serial_frame(&datagram, &mut line).unwrap();
        assert_eq!(n, max_serial_frame_len(datagram.len()));
        assert!(!line[..n - 1].contains(&0) && line[n - 1] == DELIMITER);
        let mut decoder = SerialDecoder::new([0u8; 13], Codec::new().with_max_payload(4)).unwrap();
        let mut input = &line[..n];
        assert_eq!(decoder.decode_frame(&mut input), Some(Ok(&datagram[..])));
        assert!(input.is_empty());
        assert_eq!(
            encode_serial_frame(&datagram, &mut line[..12]),
            Err(Error::BufferTooSmall { needed: 13, available: 12 })
        );
    }

    #[test]
    fn overlong_noise_is_skipped() {
        let codec = Codec::new().with_max_payload(4);
        let mut decoder = SerialDecoder::new([0u8; 13], codec).unwrap();
        let noise = [0x55u8; 40];
        let mut input = &noise[..];
        assert!(decoder.decode(&mut input).is_none());
        let mut input = &[0u8, 0, 0][..];
        assert_eq!(decoder.decode(&mut input), Some(Err(Error::FrameTooLong { max: 13 })));
        assert!(decoder.decode(&mut input).is_none()); // empty frames ignored
        let mut line = [0u8; 32];
        let repr = PacketRepr::new(Seq(5), PacketType::ACK, &[0, 0, 0, 4]);
        let n = encode_serial(&repr, &codec, &mut line).unwrap();
        let mut input = &line[..n];
        assert_eq!(decoder.decode(&mut input).unwrap().unwrap(), repr);
    }
}
