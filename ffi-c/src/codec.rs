//! Packets: encode and decode one packet, and the serial (COBS) and
//! length-prefixed framings of one packet or message.

use crate::ptr::{bytes, bytes_mut, check_out, input, put};
use crate::status::{guard, Outcome, Status, SEQLINK_OK};
use core::ffi::c_int;
use seqlink_core::framing::{encode_datagram, encode_length_prefixed, encode_serial, max_serial_frame_len};
use seqlink_core::{Codec, Error, Integrity, PacketRepr, PacketType, Seq};

/// Bytes of the packet header (seq u32, type u8, len u16, checksum u16, big-endian).
pub const SEQLINK_HEADER_LEN: usize = 9;
/// Integrity mode: the Internet checksum in the header (seed 000).
pub const SEQLINK_INTEGRITY_INTERNET_CHECKSUM: u8 = 0;
/// Integrity mode: a CRC-32C trailer after the payload.
pub const SEQLINK_INTEGRITY_CRC32C: u8 = 1;
/// Seed 000 packet type CMD_PLACE.
pub const SEQLINK_TYPE_CMD_PLACE: u8 = 0;
/// Seed 000 packet type CMD_FIRE.
pub const SEQLINK_TYPE_CMD_FIRE: u8 = 3;
/// Seed 000 packet type CMD_QUIT.
pub const SEQLINK_TYPE_CMD_QUIT: u8 = 4;
/// Seed 000 packet type MSG_WELCOME.
pub const SEQLINK_TYPE_MSG_WELCOME: u8 = 10;
/// Seed 000 packet type MSG_INFO.
pub const SEQLINK_TYPE_MSG_INFO: u8 = 11;
/// Seed 000 packet type MSG_RESULT.
pub const SEQLINK_TYPE_MSG_RESULT: u8 = 14;
/// Seed 000 packet type ACK (its payload: the acknowledged sequence number).
pub const SEQLINK_TYPE_ACK: u8 = 20;
/// Seed 000 packet type NACK (its payload: the expected sequence number).
pub const SEQLINK_TYPE_NACK: u8 = 21;
/// The first application packet type after the protocol's 20..=47.
pub const SEQLINK_TYPE_APPLICATION_FIRST: u8 = 48;

/// How packets are checked: plain data, start from `seqlink_codec_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqlinkCodec {
    /// Largest payload accepted or written (seed 000: 65535; smaller bounds decoder buffers).
    pub max_payload: u16,
    /// `SEQLINK_INTEGRITY_INTERNET_CHECKSUM` or `SEQLINK_INTEGRITY_CRC32C`.
    pub integrity: u8,
    /// Value folded into every check but never sent (a connection id; 0 for seed 000).
    pub pseudo_header: u32,
}

impl SeqlinkCodec {
    pub(crate) fn to_core(self) -> Result<Codec, Status> {
        let integrity = Integrity::from_u8(self.integrity).ok_or(Status::INVALID)?;
        Ok(Codec::new()
            .with_max_payload(self.max_payload)
            .with_integrity(integrity)
            .with_pseudo_header(self.pseudo_header))
    }

    pub(crate) fn from_core(codec: &Codec) -> SeqlinkCodec {
        SeqlinkCodec {
            max_payload: codec.max_payload,
            integrity: codec.integrity as u8,
            pseudo_header: codec.pseudo_header,
        }
    }
}

/// A decoded packet. `payload` points into the bytes that were decoded (or
/// into a decoder's buffer): valid as long as those bytes, and for a decoder
/// until its next call.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqlinkPacket {
    /// Sequence number.
    pub seq: u32,
    /// Packet type.
    pub ptype: u8,
    /// The payload (never null; may point at 0 bytes).
    pub payload: *const u8,
    /// Payload bytes.
    pub payload_len: usize,
}

impl SeqlinkPacket {
    pub(crate) fn from_core(packet: &PacketRepr<'_>) -> SeqlinkPacket {
        SeqlinkPacket {
            seq: packet.seq.0,
            ptype: packet.ptype.0,
            payload: packet.payload.as_ptr(),
            payload_len: packet.payload.len(),
        }
    }
}

/// A framing of one packet: the datagram (the packet as it is) or serial (COBS).
type Framing = fn(&PacketRepr<'_>, &Codec, &mut [u8]) -> Result<usize, Error>;

/// Encodes one packet (`header`: sequence number and type) with `framing`
/// into `out` and its length into `*written`.
fn encode_framed(
    codec: *const SeqlinkCodec,
    (seq, ptype): (u32, u8),
    payload: &[u8],
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
    framing: Framing,
) -> Outcome {
    let codec = input(codec)?.to_core()?;
    check_out(written)?;
    let out = bytes_mut(out, out_len)?;
    let n = framing(&PacketRepr::new(Seq(seq), PacketType(ptype), payload), &codec, out)?;
    put(written, n).and(Ok(SEQLINK_OK))
}

/// Seed 000's codec: payloads up to 65535 bytes, the Internet checksum, no pseudo-header.
#[no_mangle]
pub extern "C" fn seqlink_codec_default() -> SeqlinkCodec {
    SeqlinkCodec::from_core(&Codec::new())
}

/// Bytes of the largest packet `codec` accepts, into `*len`. Returns 0,
/// -SEQLINK_E_NULL, or -SEQLINK_E_INVALID (unknown integrity mode).
#[no_mangle]
pub extern "C" fn seqlink_codec_max_packet_len(codec: *const SeqlinkCodec, len: *mut usize) -> c_int {
    guard(|| {
        put(len, input(codec)?.to_core()?.max_packet_len())?;
        Ok(SEQLINK_OK)
    })
}

/// Writes one packet into `out` (`out_len` bytes) and its length into
/// `*written`. Returns 0; -SEQLINK_E_PAYLOAD_TOO_LARGE above the codec's
/// maximum; -SEQLINK_E_BUFFER_TOO_SMALL; -SEQLINK_E_NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn seqlink_encode(
    codec: *const SeqlinkCodec,
    seq: u32,
    ptype: u8,
    payload: *const u8,
    payload_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> c_int {
    guard(|| {
        let payload = bytes(payload, payload_len)?;
        encode_framed(codec, (seq, ptype), payload, out, out_len, written, encode_datagram)
    })
}

/// Decodes and checks the one packet of `len` bytes at `data` (a datagram)
/// into `*packet`, whose payload points into `data`. Returns 0;
/// -SEQLINK_E_TRUNCATED, -SEQLINK_E_LENGTH_MISMATCH, -SEQLINK_E_BAD_CHECKSUM,
/// -SEQLINK_E_PAYLOAD_TOO_LARGE; -SEQLINK_E_NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn seqlink_decode(
    codec: *const SeqlinkCodec,
    data: *const u8,
    len: usize,
    packet: *mut SeqlinkPacket,
) -> c_int {
    guard(|| {
        let codec = input(codec)?.to_core()?;
        let data = bytes(data, len)?;
        check_out(packet)?;
        let decoded = PacketRepr::decode(data, &codec)?;
        put(packet, SeqlinkPacket::from_core(&decoded))?;
        Ok(SEQLINK_OK)
    })
}

/// The largest serial frame (COBS and the 0x00 delimiter) of a packet of
/// `packet_len` bytes: the room `seqlink_encode_serial` needs at most.
#[no_mangle]
pub extern "C" fn seqlink_serial_frame_len(packet_len: usize) -> usize {
    max_serial_frame_len(packet_len)
}

/// Writes one packet as a serial frame (COBS, ended by 0x00) into `out` and
/// its length into `*written`. Returns as `seqlink_encode`.
#[no_mangle]
pub extern "C" fn seqlink_encode_serial(
    codec: *const SeqlinkCodec,
    seq: u32,
    ptype: u8,
    payload: *const u8,
    payload_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> c_int {
    guard(|| {
        let payload = bytes(payload, payload_len)?;
        encode_framed(codec, (seq, ptype), payload, out, out_len, written, encode_serial)
    })
}

/// Writes `len` bytes at `message` behind a 4-byte big-endian length into
/// `out` and the frame's length into `*written`. Returns 0,
/// -SEQLINK_E_BUFFER_TOO_SMALL, -SEQLINK_E_PAYLOAD_TOO_LARGE, -SEQLINK_E_NULL.
#[no_mangle]
pub extern "C" fn seqlink_encode_length_prefixed(
    message: *const u8,
    len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> c_int {
    guard(|| {
        let message = bytes(message, len)?;
        check_out(written)?;
        let out = bytes_mut(out, out_len)?;
        let n = encode_length_prefixed(message, out)?;
        put(written, n)?;
        Ok(SEQLINK_OK)
    })
}
