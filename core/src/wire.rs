//! The packet format of seed 000: a 9-byte big-endian header, then the payload.
//!
//! ```text
//!  0               4       5               7               9
//! +---------------+-------+---------------+---------------+-----------------+
//! | seq (u32)     | type  | len (u16)     | checksum (u16)| payload (len)   |
//! +---------------+-------+---------------+---------------+-----------------+
//! ```
//!
//! Two layers, in the manner of smoltcp's `wire` module:
//! * [`Packet`] is a view over a byte buffer. [`Packet::new_checked`] checks
//!   the length once; no accessor can panic, checked or not.
//! * [`PacketRepr`] is the parsed packet. [`PacketRepr::parse`] verifies
//!   length, maximum and integrity; [`PacketRepr::emit`] writes a packet into
//!   a caller buffer.
//!
//! Each payload format has its own module ([`ack`], [`data`],
//! [`handshake`], [`control`]) and the same verbs: `Repr::parse(&[u8]) ->
//! Result<Repr, Error>`, `repr.buffer_len()` and `repr.emit(&mut [u8]) ->
//! Result<usize, Error>`, which writes exactly `buffer_len` bytes or returns
//! [`Error::BufferTooSmall`]. Fixed offsets are named once per format (a
//! private `field` module); the handshake payloads, whose fields simply
//! follow each other, are read and written field by field in the order of
//! `docs/PROTOCOL.md`.
//!
//! ```
//! use seqlink_core::wire::{Codec, PacketRepr, PacketType};
//! use seqlink_core::Seq;
//!
//! let codec = Codec::new();
//! let repr = PacketRepr::new(Seq(1), PacketType::CMD_FIRE, b"B5");
//! let mut buf = [0u8; 64];
//! let n = repr.emit(&mut buf, &codec).unwrap();
//! assert_eq!(&buf[..n], &[0, 0, 0, 1, 3, 0, 2, 0xc5, 0xbc, b'B', b'5']);
//! assert_eq!(PacketRepr::decode(&buf[..n], &codec).unwrap(), repr);
//! ```

pub mod ack;
pub mod control;
pub mod data;
pub mod handshake;
pub(crate) mod pseudo;

use crate::bytes::copy_prefix;
use crate::error::Error;
use crate::integrity::Integrity;
use crate::seq::Seq;

/// Header length in bytes: seq (4) + type (1) + len (2) + checksum (2).
pub const HEADER_LEN: usize = 9;

/// The largest payload the 16-bit length field can describe.
pub const MAX_PAYLOAD: u16 = u16::MAX;

/// Byte ranges of the header fields, in one place.
mod field {
    use core::ops::Range;
    pub const SEQ: Range<usize> = 0..4;
    pub const TYPE: usize = 4;
    pub const LENGTH: Range<usize> = 5..7;
    pub const CHECKSUM: Range<usize> = 7..9;
    pub const PAYLOAD: usize = 9;
}

/// A packet type: one byte, seed 000's numbers kept.
///
/// | values | owner |
/// |---|---|
/// | 0-5, 10-17 | seed 000's Battleship commands and messages (application types) |
/// | 20-23 | ACK, NACK (see [`ack`]), HEARTBEAT, ERR_MSG (see [`control`]) |
/// | 24 | DATA: seqlink's extended data packet (see [`data`]) |
/// | 25-29 | SYN, SYN_ACK, HANDSHAKE_ACK (see [`handshake`]), FIN, RESET (see [`control`]) |
/// | 30-47 | reserved for future control packets |
/// | everything else | applications; passed through untouched |
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct PacketType(pub u8);

impl PacketType {
    /// Client -> server: placement choice, `M` (manual) or `R` (random).
    pub const CMD_PLACE: PacketType = PacketType(0);
    /// Client -> server: placement coordinate, e.g. `A1`.
    pub const CMD_COORD: PacketType = PacketType(1);
    /// Client -> server: placement orientation, `H` or `V`.
    pub const CMD_ORIENT: PacketType = PacketType(2);
    /// Client -> server: fire at a coordinate, e.g. `B5`.
    pub const CMD_FIRE: PacketType = PacketType(3);
    /// Client -> server: the player quits (no payload).
    pub const CMD_QUIT: PacketType = PacketType(4);
    /// Client -> server: answer to "play again?", `Y` or `N`.
    pub const CMD_PLAY_AGAIN: PacketType = PacketType(5);
    /// Server -> client: welcome message (UTF-8).
    pub const MSG_WELCOME: PacketType = PacketType(10);
    /// Server -> client: information or prompt (UTF-8).
    pub const MSG_INFO: PacketType = PacketType(11);
    /// Server -> client: the player's own board.
    pub const MSG_BOARD_OWN: PacketType = PacketType(12);
    /// Server -> client: the opponent's public board.
    pub const MSG_BOARD_OPP: PacketType = PacketType(13);
    /// Server -> client: result of a shot (`HIT`, `MISS`, ...).
    pub const MSG_RESULT: PacketType = PacketType(14);
    /// Server -> client: game over (UTF-8).
    pub const MSG_GAME_OVER: PacketType = PacketType(15);
    /// Server -> client: waiting for a player (UTF-8).
    pub const MSG_WAITING: PacketType = PacketType(16);
    /// Server -> client: spectator messages (UTF-8).
    pub const MSG_SPECTATOR: PacketType = PacketType(17);
    /// Acknowledgement; seed 000 payload: the acknowledged sequence number (4 bytes).
    pub const ACK: PacketType = PacketType(20);
    /// Negative acknowledgement; payload: the missing or corrupted sequence number (4 bytes).
    pub const NACK: PacketType = PacketType(21);
    /// Keep-alive (no payload in seed 000).
    pub const HEARTBEAT: PacketType = PacketType(22);
    /// Error message (seed 000's `ERR_MSG`).
    pub const ERR_MSG: PacketType = PacketType(23);
    /// Short name for [`PacketType::ERR_MSG`].
    pub const ERR: PacketType = PacketType::ERR_MSG;
    /// seqlink's extended data packet (fragments, unreliable messages,
    /// piggybacked acknowledgements); see [`data`].
    pub const DATA: PacketType = PacketType(24);
    /// Handshake, client -> server: open a connection (see `wire::handshake`).
    pub const SYN: PacketType = PacketType(25);
    /// Handshake, server -> client: parameters and a stateless cookie.
    pub const SYN_ACK: PacketType = PacketType(26);
    /// Handshake, client -> server: the cookie echoed; the server creates the connection.
    pub const HANDSHAKE_ACK: PacketType = PacketType(27);
    /// Graceful close: no data follows (a reliable packet, acknowledged like data).
    pub const FIN: PacketType = PacketType(28);
    /// Abort, or answer to a packet for an unknown connection.
    pub const RESET: PacketType = PacketType(29);
    /// First value of the range reserved for seqlink's control packets.
    pub const RESERVED_FIRST: PacketType = PacketType(24);
    /// Last value of the range reserved for seqlink's control packets.
    pub const RESERVED_LAST: PacketType = PacketType(47);

    /// The raw byte.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// `true` for ACK, NACK, HEARTBEAT, ERR_MSG and the reserved control range (20..=47).
    pub const fn is_protocol(self) -> bool {
        matches!(self.0, 20..=47)
    }

    /// `true` for the range reserved for seqlink's future control packets (24..=47).
    pub const fn is_reserved(self) -> bool {
        matches!(self.0, 24..=47)
    }

    /// `true` for values that belong to applications (everything but 20..=47).
    pub const fn is_application(self) -> bool {
        !self.is_protocol()
    }

    /// The seed 000 mnemonic, if this is one of its types.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "CMD_PLACE",
            1 => "CMD_COORD",
            2 => "CMD_ORIENT",
            3 => "CMD_FIRE",
            4 => "CMD_QUIT",
            5 => "CMD_PLAY_AGAIN",
            10 => "MSG_WELCOME",
            11 => "MSG_INFO",
            12 => "MSG_BOARD_OWN",
            13 => "MSG_BOARD_OPP",
            14 => "MSG_RESULT",
            15 => "MSG_GAME_OVER",
            16 => "MSG_WAITING",
            17 => "MSG_SPECTATOR",
            20 => "ACK",
            21 => "NACK",
            22 => "HEARTBEAT",
            23 => "ERR_MSG",
            24 => "DATA",
            25 => "SYN",
            26 => "SYN_ACK",
            27 => "HANDSHAKE_ACK",
            28 => "FIN",
            29 => "RESET",
            _ => return None,
        })
    }
}

impl From<u8> for PacketType {
    fn from(value: u8) -> PacketType {
        PacketType(value)
    }
}

impl From<PacketType> for u8 {
    fn from(ptype: PacketType) -> u8 {
        ptype.0
    }
}

/// How packets are bounded and checked: the settings every parser and
/// emitter of one link shares.
///
/// [`Codec::new`] is seed 000 exactly: payloads up to 65535 bytes, the
/// Internet checksum, no pseudo-header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Codec {
    /// Largest payload accepted or emitted (at most 65535).
    pub max_payload: u16,
    /// The integrity check.
    pub integrity: Integrity,
    /// A 32-bit value folded into the check but never sent (the connection
    /// id once a connection is established; 0 means none, as in seed 000).
    pub pseudo_header: u32,
}

impl Codec {
    /// Seed 000's settings.
    pub const fn new() -> Codec {
        Codec { max_payload: MAX_PAYLOAD, integrity: Integrity::InternetChecksum, pseudo_header: 0 }
    }

    /// The same codec with another payload maximum.
    pub const fn with_max_payload(mut self, max_payload: u16) -> Codec {
        self.max_payload = max_payload;
        self
    }

    /// The same codec with another integrity mode.
    pub const fn with_integrity(mut self, integrity: Integrity) -> Codec {
        self.integrity = integrity;
        self
    }

    /// The same codec with another pseudo-header.
    pub const fn with_pseudo_header(mut self, pseudo_header: u32) -> Codec {
        self.pseudo_header = pseudo_header;
        self
    }

    /// Bytes on the wire for a packet with a payload of `payload_len` bytes.
    pub const fn packet_len(&self, payload_len: usize) -> usize {
        HEADER_LEN + payload_len + self.integrity.trailer_len()
    }

    /// The largest packet this codec accepts or emits.
    pub const fn max_packet_len(&self) -> usize {
        self.packet_len(self.max_payload as usize)
    }
}

impl Default for Codec {
    fn default() -> Codec {
        Codec::new()
    }
}

/// A read/write view of a packet in a byte buffer.
///
/// Accessors never panic: on a buffer shorter than the header they read
/// zeros. [`Packet::new_checked`] guarantees the header and the declared
/// payload are present, so every accessor then reads real bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer, checking that it holds the header and the declared payload.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the header and the declared payload.
    pub fn check_len(&self) -> Result<(), Error> {
        let available = self.buffer.as_ref().len();
        if available < HEADER_LEN {
            return Err(Error::Truncated { needed: HEADER_LEN, available });
        }
        let declared = usize::from(self.payload_len());
        let actual = available - HEADER_LEN;
        if actual < declared {
            return Err(Error::LengthMismatch { declared, actual });
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn header(&self) -> [u8; HEADER_LEN] {
        self.buffer.as_ref().first_chunk().copied().unwrap_or([0; HEADER_LEN])
    }

    /// The sequence number.
    pub fn seq(&self) -> Seq {
        let h = self.header();
        Seq(u32::from_be_bytes([h[0], h[1], h[2], h[3]]))
    }

    /// The packet type.
    pub fn packet_type(&self) -> PacketType {
        PacketType(self.header()[field::TYPE])
    }

    /// The declared payload length.
    pub fn payload_len(&self) -> u16 {
        let h = self.header();
        u16::from_be_bytes([h[5], h[6]])
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        let h = self.header();
        u16::from_be_bytes([h[7], h[8]])
    }

    /// The check value the packet carries: the checksum field, or the CRC-32C trailer.
    pub fn received_check(&self, integrity: Integrity) -> u32 {
        match integrity {
            Integrity::InternetChecksum => u32::from(self.checksum()),
            #[cfg(feature = "crc32c")]
            Integrity::Crc32c => {
                let start = HEADER_LEN + usize::from(self.payload_len());
                match self.buffer.as_ref().get(start..start + 4) {
                    Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
                    _ => 0,
                }
            }
        }
    }

    /// The check value computed over the header and payload as they are now.
    pub fn computed_check(&self, codec: &Codec) -> u32 {
        codec.integrity.compute(codec.pseudo_header, &self.header(), self.payload_slice())
    }

    /// Checks the integrity of the header and payload.
    /// Checks the integrity of the header and payload. In the CRC-32C mode
    /// the header's checksum field must also be zero.
    pub fn verify(&self, codec: &Codec) -> Result<(), Error> {
        let received = self.received_check(codec.integrity);
        let computed = self.computed_check(codec);
        if received != computed {
            return Err(Error::BadChecksum { received, computed });
        }
        if codec.integrity != Integrity::InternetChecksum && self.checksum() != 0 {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    fn payload_slice(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        self.buffer.as_ref().get(field::PAYLOAD..end).unwrap_or(&[])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload (empty if the buffer does not hold all of it).
    pub fn payload(&self) -> &'a [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        self.buffer.as_ref().get(field::PAYLOAD..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_bytes(&mut self, at: usize, bytes: &[u8]) {
        if let Some(dst) = self.buffer.as_mut().get_mut(at..at + bytes.len()) {
            copy_prefix(dst, bytes);
        }
    }

    /// Sets the sequence number.
    pub fn set_seq(&mut self, seq: Seq) {
        self.set_bytes(field::SEQ.start, &seq.0.to_be_bytes());
    }

    /// Sets the packet type.
    pub fn set_packet_type(&mut self, ptype: PacketType) {
        self.set_bytes(field::TYPE, &[ptype.0]);
    }

    /// Sets the declared payload length.
    pub fn set_payload_len(&mut self, len: u16) {
        self.set_bytes(field::LENGTH.start, &len.to_be_bytes());
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, checksum: u16) {
        self.set_bytes(field::CHECKSUM.start, &checksum.to_be_bytes());
    }

    /// The payload, writable (empty if the buffer does not hold all of it).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        self.buffer.as_mut().get_mut(field::PAYLOAD..end).unwrap_or(&mut [])
    }

    /// Computes and stores the check value (checksum field, or CRC trailer)
    /// for the header and payload as they are now. Returns the packet's
    /// length on the wire.
    pub fn fill_check(&mut self, codec: &Codec) -> Result<usize, Error> {
        let payload_len = usize::from(self.payload_len());
        let total = codec.packet_len(payload_len);
        let available = self.buffer.as_ref().len();
        if available < total {
            return Err(Error::BufferTooSmall { needed: total, available });
        }
        self.set_checksum(0);
        let check = self.computed_check(codec);
        match codec.integrity {
            Integrity::InternetChecksum => self.set_checksum(check as u16),
            #[cfg(feature = "crc32c")]
            Integrity::Crc32c => self.set_bytes(HEADER_LEN + payload_len, &check.to_be_bytes()),
        }
        Ok(total)
    }
}

/// Completes a packet whose `payload_len` payload bytes are already in place
/// after the header in `buf`: writes the header and the check (the in-place
/// form of [`PacketRepr::emit`], for writers that build the payload in the
/// packet buffer). Returns the packet's length on the wire.
pub(crate) fn seal(
    buf: &mut [u8],
    codec: &Codec,
    seq: Seq,
    ptype: PacketType,
    payload_len: usize,
) -> Result<usize, Error> {
    if payload_len > usize::from(codec.max_payload) {
        return Err(Error::PayloadTooLarge { len: payload_len, max: usize::from(codec.max_payload) });
    }
    let mut packet = Packet::new_unchecked(buf);
    packet.set_seq(seq);
    packet.set_packet_type(ptype);
    packet.set_payload_len(payload_len as u16);
    packet.fill_check(codec)
}

/// A parsed packet: sequence number, type and a borrowed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PacketRepr<'a> {
    /// Sequence number.
    pub seq: Seq,
    /// Packet type.
    pub ptype: PacketType,
    /// Payload bytes.
    pub payload: &'a [u8],
}

impl<'a> PacketRepr<'a> {
    /// A packet to emit.
    pub const fn new(seq: Seq, ptype: PacketType, payload: &'a [u8]) -> PacketRepr<'a> {
        PacketRepr { seq, ptype, payload }
    }

    /// Parses a view that must hold exactly one packet (header, payload and
    /// trailer, nothing more), within the codec's maximum, with a valid check.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>, codec: &Codec) -> Result<PacketRepr<'a>, Error> {
        let available = packet.buffer.as_ref().len();
        if available < HEADER_LEN {
            return Err(Error::Truncated { needed: HEADER_LEN, available });
        }
        let declared = usize::from(packet.payload_len());
        if declared > usize::from(codec.max_payload) {
            return Err(Error::PayloadTooLarge { len: declared, max: usize::from(codec.max_payload) });
        }
        if available != codec.packet_len(declared) {
            let actual = available.saturating_sub(HEADER_LEN + codec.integrity.trailer_len());
            return Err(Error::LengthMismatch { declared, actual });
        }
        packet.verify(codec)?;
        Ok(PacketRepr { seq: packet.seq(), ptype: packet.packet_type(), payload: packet.payload() })
    }

    /// Parses `bytes` as exactly one packet (datagram rules: no short or trailing bytes).
    pub fn decode(bytes: &'a [u8], codec: &Codec) -> Result<PacketRepr<'a>, Error> {
        PacketRepr::parse(&Packet::new_unchecked(bytes), codec)
    }

    /// Parses a coalesced datagram (`docs/PROTOCOL.md` 4.1): the packets
    /// it carries one after another, each `HEADER_LEN + len + trailer`
    /// bytes long as its header says. The packets are read in order up to
    /// the first that fails (its error is the last item): what follows a
    /// damaged packet cannot be framed.
    ///
    /// ```
    /// use seqlink_core::wire::{Codec, PacketRepr, PacketType};
    /// use seqlink_core::Seq;
    /// let codec = Codec::new();
    /// let mut datagram = [0u8; 64];
    /// let a = PacketRepr::new(Seq(1), PacketType(100), b"one").emit(&mut datagram, &codec).unwrap();
    /// let b = PacketRepr::new(Seq(2), PacketType(100), b"two").emit(&mut datagram[a..], &codec).unwrap();
    /// let packets: Vec<_> = PacketRepr::decode_all(&datagram[..a + b], &codec).collect();
    /// assert_eq!(packets, [Ok(PacketRepr::new(Seq(1), PacketType(100), b"one")), Ok(PacketRepr::new(Seq(2), PacketType(100), b"two"))]);
    /// ```
    pub fn decode_all(datagram: &'a [u8], codec: &Codec) -> CoalescedPackets<'a> {
        CoalescedPackets { rest: datagram, codec: *codec }
    }

    /// Bytes [`PacketRepr::emit`] writes with this codec.
    pub const fn buffer_len(&self, codec: &Codec) -> usize {
        codec.packet_len(self.payload.len())
    }

    /// Writes the packet at the start of `buf`; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8], codec: &Codec) -> Result<usize, Error> {
        let (header, trailer) = self.header_and_trailer(codec)?;
        let len = self.payload.len();
        let total = codec.packet_len(len);
        let available = buf.len();
        let Some(out) = buf.get_mut(..total) else {
            return Err(Error::BufferTooSmall { needed: total, available });
        };
        let Some((head, rest)) = out.split_at_mut_checked(HEADER_LEN) else {
            return Err(Error::BufferTooSmall { needed: total, available });
        };
        let Some((body, tail)) = rest.split_at_mut_checked(len) else {
            return Err(Error::BufferTooSmall { needed: total, available });
        };
        copy_prefix(head, &header);
        copy_prefix(body, self.payload);
        copy_prefix(tail, &trailer);
        Ok(total)
    }

    /// The header (check included) and the trailer bytes (only the first
    /// [`Integrity::trailer_len`] are sent), for writers that place the
    /// payload themselves, such as the serial framing.
    pub(crate) fn header_and_trailer(&self, codec: &Codec) -> Result<([u8; HEADER_LEN], [u8; 4]), Error> {
        let len = self.payload.len();
        if len > usize::from(codec.max_payload) {
            return Err(Error::PayloadTooLarge { len, max: usize::from(codec.max_payload) });
        }
        let [s0, s1, s2, s3] = self.seq.0.to_be_bytes();
        let [l0, l1] = (len as u16).to_be_bytes();
        let mut header = [s0, s1, s2, s3, self.ptype.0, l0, l1, 0, 0];
        let check = codec.integrity.compute(codec.pseudo_header, &header, self.payload);
        let trailer = match codec.integrity {
            Integrity::InternetChecksum => {
                let [c0, c1] = (check as u16).to_be_bytes();
                header = [s0, s1, s2, s3, self.ptype.0, l0, l1, c0, c1];
                [0u8; 4]
            }
            #[cfg(feature = "crc32c")]
            Integrity::Crc32c => check.to_be_bytes(),
        };
        Ok((header, trailer))
    }
}

/// The packets of a coalesced datagram ([`PacketRepr::decode_all`]).
#[derive(Debug, Clone)]
pub struct CoalescedPackets<'a> {
    rest: &'a [u8],
    codec: Codec,
}

impl<'a> Iterator for CoalescedPackets<'a> {
    type Item = Result<PacketRepr<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        // the length its header declares; without a whole header, the rest (and its error)
        let declared = match Packet::new_checked(self.rest) {
            Ok(packet) => self.codec.packet_len(usize::from(packet.payload_len())),
            Err(_) => self.rest.len(),
        };
        let (packet, rest) = self.rest.split_at_checked(declared).unwrap_or((self.rest, &[]));
        let result = PacketRepr::decode(packet, &self.codec);
        self.rest = if result.is_ok() { rest } else { &[] };
        Some(result)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_are_big_endian() {
        let codec = Codec::new();
        let repr = PacketRepr::new(Seq(0x0102_0304), PacketType(0xaa), b"xyz");
        let mut buf = [0u8; 16];
        let n = repr.emit(&mut buf, &codec).unwrap();
        assert_eq!(n, 12);
        assert_eq!(&buf[..7], &[1, 2, 3, 4, 0xaa, 0, 3]);
        let packet = Packet::new_checked(&buf[..n]).unwrap();
        assert_eq!(packet.seq(), Seq(0x0102_0304));
        assert_eq!(packet.packet_type(), PacketType(0xaa));
        assert_eq!(packet.payload_len(), 3);
        assert_eq!(packet.payload(), b"xyz");
        // the checksum covers seq + type + len + payload, not the checksum field
        let mut covered = [0u8; 10];
        covered[..7].copy_from_slice(&buf[..7]);
        covered[7..].copy_from_slice(b"xyz");
        assert_eq!(packet.checksum(), crate::checksum::internet_checksum(&covered));
    }

    #[test]
    fn typed_errors() {
        let codec = Codec::new();
        let mut buf = [0u8; 32];
        let n = PacketRepr::new(Seq(7), PacketType::MSG_INFO, b"hello").emit(&mut buf, &codec).unwrap();
        assert_eq!(PacketRepr::decode(&buf[..5], &codec), Err(Error::Truncated { needed: 9, available: 5 }));
        assert_eq!(PacketRepr::decode(&buf[..n - 1], &codec), Err(Error::LengthMismatch { declared: 5, actual: 4 }));
        assert_eq!(PacketRepr::decode(&buf[..n + 1], &codec), Err(Error::LengthMismatch { declared: 5, actual: 6 }));
        let small = codec.with_max_payload(4);
        assert_eq!(PacketRepr::decode(&buf[..n], &small), Err(Error::PayloadTooLarge { len: 5, max: 4 }));
        let good = u32::from(Packet::new_unchecked(&buf[..n]).checksum());
        buf[10] ^= 0x40;
        match PacketRepr::decode(&buf[..n], &codec) {
            Err(Error::BadChecksum { received, computed }) => {
                assert_eq!(received, good);
                assert_ne!(computed, good);
            }
            other => panic!("expected a checksum error, got {other:?}"),
        }
        assert_eq!(
            PacketRepr::new(Seq(0), PacketType(0), b"hello").emit(&mut buf[..13], &codec),
            Err(Error::BufferTooSmall { needed: 14, available: 13 })
        );
        assert_eq!(
            PacketRepr::new(Seq(0), PacketType(0), b"hello").emit(&mut buf, &small),
            Err(Error::PayloadTooLarge { len: 5, max: 4 })
        );
    }

    #[test]
    fn accessors_on_short_buffers_do_not_panic() {
        let packet = Packet::new_unchecked(&[1u8, 2, 3][..]);
        assert_eq!(packet.seq(), Seq(0));
        assert_eq!(packet.payload(), b"");
        assert!(packet.check_len().is_err());
        let mut short = [0u8; 4];
        let mut packet = Packet::new_unchecked(&mut short[..]);
        packet.set_checksum(0xffff);
        packet.set_payload_len(100);
        assert!(packet.payload_mut().is_empty());
        assert!(packet.fill_check(&Codec::new()).is_err());
    }

    #[test]
    fn pseudo_header_binds_packets_to_a_connection() {
        let a = Codec::new().with_pseudo_header(0x1234_5678);
        let b = Codec::new().with_pseudo_header(0x1234_5679);
        let mut buf = [0u8; 32];
        let n = PacketRepr::new(Seq(1), PacketType(60), b"data").emit(&mut buf, &a).unwrap();
        assert!(PacketRepr::decode(&buf[..n], &a).is_ok());
        assert!(matches!(PacketRepr::decode(&buf[..n], &b), Err(Error::BadChecksum { .. })));
        assert!(matches!(PacketRepr::decode(&buf[..n], &Codec::new()), Err(Error::BadChecksum { .. })));
    }

    #[cfg(feature = "crc32c")]
    #[test]
    fn crc32c_mode_appends_a_trailer() {
        let codec = Codec::new().with_integrity(Integrity::Crc32c);
        let repr = PacketRepr::new(Seq(9), PacketType::MSG_RESULT, b"HIT");
        let mut buf = [0u8; 32];
        let n = repr.emit(&mut buf, &codec).unwrap();
        assert_eq!(n, 9 + 3 + 4);
        assert_eq!(&buf[7..9], &[0, 0]);
        let mut covered = [0u8; 16];
        covered[4..16].copy_from_slice(&buf[..12]);
        let crc = crate::integrity::crc32c(&covered);
        assert_eq!(&buf[12..16], &crc.to_be_bytes());
        assert_eq!(PacketRepr::decode(&buf[..n], &codec).unwrap(), repr);
        // a non-zero checksum field is refused even with a matching CRC
        let mut odd = buf;
        odd[8] = 1;
        let crc = crate::integrity::crc32c(&[&[0u8; 4][..], &odd[..12]].concat_array());
        odd[12..16].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(PacketRepr::decode(&odd[..n], &codec), Err(Error::Malformed));
        for bit in 0..(n * 8) {
            let mut bad = buf;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(PacketRepr::decode(&bad[..n], &codec).is_err(), "bit {bit}");
        }
    }

    #[cfg(feature = "crc32c")]
    trait ConcatArray {
        fn concat_array(&self) -> [u8; 16];
    }
    #[cfg(feature = "crc32c")]
    impl ConcatArray for [&[u8]; 2] {
        fn concat_array(&self) -> [u8; 16] {
            let mut out = [0u8; 16];
            out[..self[0].len()].copy_from_slice(self[0]);
            out[self[0].len()..self[0].len() + self[1].len()].copy_from_slice(self[1]);
            out
        }
    }

    #[test]
    fn packet_type_ranges() {
        assert!(PacketType::ACK.is_protocol());
        assert!(PacketType(24).is_reserved() && PacketType(47).is_reserved());
        assert!(!PacketType(48).is_reserved() && PacketType(48).is_application());
        assert!(PacketType::CMD_FIRE.is_application());
        assert_eq!(PacketType::ERR_MSG.name(), Some("ERR_MSG"));
        assert_eq!(PacketType(200).name(), None);
    }
}
