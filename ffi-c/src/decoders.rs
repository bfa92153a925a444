//! Decoders of byte streams, serial lines and length-prefixed messages, in
//! caller memory: size query, `_init` into memory the caller owns (or
//! `_new`), feed bytes with `_decode`, `_free`.
//!
//! Each `_decode` call takes bytes from `input` until one packet (or
//! message) is complete and returns 1 with it, or takes all of `input` and
//! returns 0 (more bytes needed); `*consumed` says how many bytes it took,
//! always. A negative return is the error of one packet: it was skipped, and
//! decoding goes on with the rest of `input`, except after
//! -SEQLINK_E_PAYLOAD_TOO_LARGE from a stream (a length field past the
//! maximum: the stream has lost its framing, and every later call fails
//! the same way until `_reset`). A returned payload points into the input or
//! into the decoder: valid until the next call on the decoder.
//! A decoder is not thread-safe: one thread at a time.

use crate::codec::{SeqlinkCodec, SeqlinkPacket};
use crate::object::{free, get, make, size_with_tail, Memory, Opaque};
use crate::ptr::{bytes, check_out, input, put};
use crate::status::{guard, ready, Outcome, Status, SEQLINK_OK};
use core::ffi::{c_int, c_void};
use seqlink_core::framing::PREFIX_LEN;
use seqlink_core::{Error, LengthPrefixedDecoder, SerialDecoder, StreamDecoder};

/// A decoder of packets from a byte stream (TCP): opaque, in caller memory
/// (`_size`, `_init`) or from `_new`; ended by `_free`. One thread at a time.
pub struct SeqlinkStreamDecoder {
    _opaque: [u8; 0],
}

/// A decoder of serial frames (COBS, ended by 0x00): opaque, as the stream decoder.
pub struct SeqlinkSerialDecoder {
    _opaque: [u8; 0],
}

/// A decoder of length-prefixed messages (4-byte big-endian length):
/// opaque, as the stream decoder.
pub struct SeqlinkLengthPrefixedDecoder {
    _opaque: [u8; 0],
}

type Buffer = &'static mut [u8];

impl Opaque for SeqlinkStreamDecoder {
    type Inner = StreamDecoder<Buffer>;
    const MAGIC: u32 = 0x5351_0001;
}

impl Opaque for SeqlinkSerialDecoder {
    type Inner = SerialDecoder<Buffer>;
    const MAGIC: u32 = 0x5351_0002;
}

impl Opaque for SeqlinkLengthPrefixedDecoder {
    type Inner = LengthPrefixedDecoder<Buffer>;
    const MAGIC: u32 = 0x5351_0003;
}

fn packet_decoder_size<O: Opaque>(codec: *const SeqlinkCodec) -> Result<(usize, seqlink_core::Codec), Status> {
    let codec = input(codec)?.to_core()?;
    let size = size_with_tail::<O>(codec.max_packet_len()).ok_or(Status::INVALID)?;
    Ok((size, codec))
}

fn prefixed_size(max_len: usize) -> Result<usize, Status> {
    max_len.checked_add(PREFIX_LEN).and_then(size_with_tail::<SeqlinkLengthPrefixedDecoder>).ok_or(Status::INVALID)
}

fn make_stream(memory: Memory, codec: *const SeqlinkCodec, out: *mut *mut SeqlinkStreamDecoder) -> Outcome {
    let (size, codec) = packet_decoder_size::<SeqlinkStreamDecoder>(codec)?;
    make(memory, size, out, |buffer| StreamDecoder::new(buffer, codec).map_err(Status::from))
}

fn make_serial(memory: Memory, codec: *const SeqlinkCodec, out: *mut *mut SeqlinkSerialDecoder) -> Outcome {
    let (size, codec) = packet_decoder_size::<SeqlinkSerialDecoder>(codec)?;
    make(memory, size, out, |buffer| SerialDecoder::new(buffer, codec).map_err(Status::from))
}

fn make_prefixed(memory: Memory, max_len: usize, out: *mut *mut SeqlinkLengthPrefixedDecoder) -> Outcome {
    make(memory, prefixed_size(max_len)?, out, |buffer| {
        LengthPrefixedDecoder::new(buffer, max_len).map_err(Status::from)
    })
}

/// Writes `*consumed`, then gives the decoded item's outcome.
fn finish<T>(
    consumed: *mut usize,
    taken: usize,
    item: Option<Result<T, Error>>,
    deliver: impl FnOnce(T) -> Result<(), Status>,
) -> Outcome {
    put(consumed, taken)?;
    match item {
        None => ready(false),
        Some(Err(e)) => Err(e.into()),
        Some(Ok(value)) => deliver(value).and(ready(true)),
    }
}

fn decode_packets<O: Opaque>(
    decoder: *mut O,
    data: *const u8,
    len: usize,
    consumed: *mut usize,
    packet: *mut SeqlinkPacket,
    next: impl FnOnce(&mut O::Inner, &mut &[u8]) -> Option<Result<SeqlinkPacket, Error>>,
) -> Outcome {
    let decoder = get(decoder)?;
    let data = bytes(data, len)?;
    check_out(consumed)?;
    check_out(packet)?;
    let mut rest = data;
    let item = next(decoder, &mut rest);
    finish(consumed, len - rest.len(), item, |p| put(packet, p))
}

/// Bytes of memory a stream decoder for `codec` needs, into `*size`
/// (align it to `SEQLINK_ALIGN`). Returns 0, -SEQLINK_E_NULL, -SEQLINK_E_INVALID.
#[no_mangle]
pub extern "C" fn seqlink_stream_decoder_size(codec: *const SeqlinkCodec, size: *mut usize) -> c_int {
    guard(|| {
        put(size, packet_decoder_size::<SeqlinkStreamDecoder>(codec)?.0)?;
        Ok(SEQLINK_OK)
    })
}

/// Makes a stream decoder in the caller's `mem` (`mem_len` bytes, aligned to
/// `SEQLINK_ALIGN`, at least the size query's) and stores it in `*decoder`.
/// The memory stays the caller's: keep it in place and untouched until
/// `seqlink_stream_decoder_free`. Returns 0, -SEQLINK_E_NULL,
/// -SEQLINK_E_MISALIGNED, -SEQLINK_E_TOO_SMALL, -SEQLINK_E_INVALID.
#[no_mangle]
pub extern "C" fn seqlink_stream_decoder_init(
    mem: *mut c_void,
    mem_len: usize,
    codec: *const SeqlinkCodec,
    decoder: *mut *mut SeqlinkStreamDecoder,
) -> c_int {
    guard(|| make_stream(Memory::Caller(mem, mem_len), codec, decoder))
}

/// Allocates a stream decoder for `codec` into `*decoder`; free it with
/// `seqlink_stream_decoder_free`. Returns 0, -SEQLINK_E_NO_MEMORY, or as `_init`.
#[no_mangle]
pub extern "C" fn seqlink_stream_decoder_new(
    codec: *const SeqlinkCodec,
    decoder: *mut *mut SeqlinkStreamDecoder,
) -> c_int {
    guard(|| make_stream(Memory::Allocated, codec, decoder))
}

/// Decodes the next packet of a byte stream (see the module rules above).
/// Returns 1 with `*packet`, 0 when more bytes are needed, or minus the
/// packet's error; `*consumed` is set in every case but null arguments.
#[no_mangle]
pub extern "C" fn seqlink_stream_decoder_decode(
    decoder: *mut SeqlinkStreamDecoder,
    data: *const u8,
    len: usize,
    consumed: *mut usize,
    packet: *mut SeqlinkPacket,
) -> c_int {
    guard(|| {
        decode_packets(decoder, data, len, consumed, packet, |d, rest| {
            d.decode(rest).map(|r| r.map(|p| SeqlinkPacket::from_core(&p)))
        })
    })
}

/// Like `seqlink_stream_decoder_decode`, but gives each packet's raw bytes
/// (`*frame`, `*frame_len`), delimited by its length field and within the
/// codec's maximum, without checking them: for a seqlink connection over
/// TCP, whose packets carry its connection id in their check. Feed each
/// frame to `seqlink_connection_handle_datagram`.
#[no_mangle]
pub extern "C" fn seqlink_stream_decoder_decode_frame(
    decoder: *mut SeqlinkStreamDecoder,
    data: *const u8,
    len: usize,
    consumed: *mut usize,
    frame: *mut *const u8,
    frame_len: *mut usize,
) -> c_int {
    guard(|| {
        let decoder = get(decoder)?;
        let data = bytes(data, len)?;
        check_out(consumed)?;
        check_out(frame)?;
        check_out(frame_len)?;
        let mut rest = data;
        let item = decoder.decode_frame(&mut rest);
        finish(consumed, len - rest.len(), item, |f| put(frame, f.as_ptr()).and(put(frame_len, f.len())))
    })
}

/// Forgets a partial packet and a failure (for a new stream). Returns 0 or
/// -SEQLINK_E_NULL / -SEQLINK_E_BAD_OBJECT.
#[no_mangle]
pub extern "C" fn seqlink_stream_decoder_reset(decoder: *mut SeqlinkStreamDecoder) -> c_int {
    guard(|| {
        get(decoder)?.reset();
        Ok(SEQLINK_OK)
    })
}

/// Ends a stream decoder: frees it if `_new` made it; caller memory is the
/// caller's again. Null is a no-op. Returns 0 or -SEQLINK_E_BAD_OBJECT.
#[no_mangle]
pub extern "C" fn seqlink_stream_decoder_free(decoder: *mut SeqlinkStreamDecoder) -> c_int {
    guard(|| free(decoder).and(Ok(SEQLINK_OK)))
}

/// Bytes of memory a serial decoder for `codec` needs, into `*size`.
#[no_mangle]
pub extern "C" fn seqlink_serial_decoder_size(codec: *const SeqlinkCodec, size: *mut usize) -> c_int {
    guard(|| {
        put(size, packet_decoder_size::<SeqlinkSerialDecoder>(codec)?.0)?;
        Ok(SEQLINK_OK)
    })
}

/// Makes a serial decoder in the caller's memory (as `seqlink_stream_decoder_init`).
#[no_mangle]
pub extern "C" fn seqlink_serial_decoder_init(
    mem: *mut c_void,
    mem_len: usize,
    codec: *const SeqlinkCodec,
    decoder: *mut *mut SeqlinkSerialDecoder,
) -> c_int {
    guard(|| make_serial(Memory::Caller(mem, mem_len), codec, decoder))
}

/// Allocates a serial decoder (as `seqlink_stream_decoder_new`).
#[no_mangle]
pub extern "C" fn seqlink_serial_decoder_new(
    codec: *const SeqlinkCodec,
    decoder: *mut *mut SeqlinkSerialDecoder,
) -> c_int {
    guard(|| make_serial(Memory::Allocated, codec, decoder))
}

/// Decodes the next serial frame's packet (see the module rules above;
/// no serial error is fatal).
#[no_mangle]
pub extern "C" fn seqlink_serial_decoder_decode(
    decoder: *mut SeqlinkSerialDecoder,
    data: *const u8,
    len: usize,
    consumed: *mut usize,
    packet: *mut SeqlinkPacket,
) -> c_int {
    guard(|| {
        decode_packets(decoder, data, len, consumed, packet, |d, rest| {
            d.decode(rest).map(|r| r.map(|p| SeqlinkPacket::from_core(&p)))
        })
    })
}

/// Ends a serial decoder (as `seqlink_stream_decoder_free`).
#[no_mangle]
pub extern "C" fn seqlink_serial_decoder_free(decoder: *mut SeqlinkSerialDecoder) -> c_int {
    guard(|| free(decoder).and(Ok(SEQLINK_OK)))
}

/// Bytes of memory a length-prefixed decoder for messages of at most
/// `max_len` bytes needs, into `*size`.
#[no_mangle]
pub extern "C" fn seqlink_length_prefixed_decoder_size(max_len: usize, size: *mut usize) -> c_int {
    guard(|| {
        put(size, prefixed_size(max_len)?)?;
        Ok(SEQLINK_OK)
    })
}

/// Makes a length-prefixed decoder for messages of at most `max_len` bytes
/// in the caller's memory (as `seqlink_stream_decoder_init`).
#[no_mangle]
pub extern "C" fn seqlink_length_prefixed_decoder_init(
    mem: *mut c_void,
    mem_len: usize,
    max_len: usize,
    decoder: *mut *mut SeqlinkLengthPrefixedDecoder,
) -> c_int {
    guard(|| make_prefixed(Memory::Caller(mem, mem_len), max_len, decoder))
}

/// Allocates a length-prefixed decoder (as `seqlink_stream_decoder_new`).
#[no_mangle]
pub extern "C" fn seqlink_length_prefixed_decoder_new(
    max_len: usize,
    decoder: *mut *mut SeqlinkLengthPrefixedDecoder,
) -> c_int {
    guard(|| make_prefixed(Memory::Allocated, max_len, decoder))
}

/// Decodes the next message: 1 with `*message` and `*message_len` (pointing
/// into the input or the decoder), 0 when more bytes are needed, or minus
/// the error (-SEQLINK_E_PAYLOAD_TOO_LARGE is fatal until `_reset`).
#[no_mangle]
pub extern "C" fn seqlink_length_prefixed_decoder_decode(
    decoder: *mut SeqlinkLengthPrefixedDecoder,
    data: *const u8,
    len: usize,
    consumed: *mut usize,
    message: *mut *const u8,
    message_len: *mut usize,
) -> c_int {
    guard(|| {
        let decoder = get(decoder)?;
        let data = bytes(data, len)?;
        check_out(consumed)?;
        check_out(message)?;
        check_out(message_len)?;
        let mut rest = data;
        let item = decoder.decode(&mut rest);
        finish(consumed, len - rest.len(), item, |m| {
            put(message, m.as_ptr())?;
            put(message_len, m.len())
        })
    })
}

/// Forgets a partial message and a failure (for a new stream).
#[no_mangle]
pub extern "C" fn seqlink_length_prefixed_decoder_reset(decoder: *mut SeqlinkLengthPrefixedDecoder) -> c_int {
    guard(|| {
        get(decoder)?.reset();
        Ok(SEQLINK_OK)
    })
}

/// Ends a length-prefixed decoder (as `seqlink_stream_decoder_free`).
#[no_mangle]
pub extern "C" fn seqlink_length_prefixed_decoder_free(decoder: *mut SeqlinkLengthPrefixedDecoder) -> c_int {
    guard(|| free(decoder).and(Ok(SEQLINK_OK)))
}
