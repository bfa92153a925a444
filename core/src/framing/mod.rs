//! Framings: how packets are delimited on each kind of link.
//!
//! | link | framing | encode | decode |
//! |---|---|---|---|
//! | datagrams (UDP) | one packet per datagram | [`encode_datagram`] | [`decode_datagram`] |
//! | byte stream (TCP) | packets back to back | [`encode_datagram`] per packet | [`StreamDecoder`] |
//! | serial line | COBS frame + `0x00` per packet | [`encode_serial`]; a connection's datagram: [`encode_serial_frame`] | [`SerialDecoder`] (`decode_frame` for raw bytes) |
//! | seed 004 messages | `[u32 len][payload]` | [`encode_length_prefixed`] | [`LengthPrefixedDecoder`] |
//!
//! Every decoder is incremental, bounded by a buffer the caller provides, and
//! allocation-free. Decoders share one calling convention: `decode(&mut
//! input)` takes bytes from the front of the `input` slice until one result
//! is ready, so the natural loop is
//!
//! ```text
//! let mut input = chunk;
//! while let Some(result) = decoder.decode(&mut input) { /* one packet or error */ }
//! ```
//!
//! and `None` always means the whole chunk was taken.

mod assembler;
mod length_prefixed;
mod serial;
mod stream;

pub use length_prefixed::{encode_length_prefixed, LengthPrefixedDecoder, PREFIX_LEN};
pub use serial::{encode_serial, encode_serial_frame, max_serial_frame_len, SerialDecoder, DELIMITER};
pub use stream::StreamDecoder;

use crate::error::Error;
use crate::wire::{Codec, PacketRepr};

/// Parses a datagram that must hold exactly one packet: short or trailing
/// bytes are errors ([`Error::Truncated`], [`Error::LengthMismatch`]).
pub fn decode_datagram<'a>(datagram: &'a [u8], codec: &Codec) -> Result<PacketRepr<'a>, Error> {
    PacketRepr::decode(datagram, codec)
}

/// Writes one packet as a datagram (or as the next packet of a byte stream);
/// returns the bytes written.
pub fn encode_datagram(repr: &PacketRepr<'_>, codec: &Codec, out: &mut [u8]) -> Result<usize, Error> {
    repr.emit(out, codec)
}
