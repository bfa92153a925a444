//! The one error type of the wire and framing layers.

use core::fmt;

/// Why bytes could not be parsed, emitted or framed.
///
/// Every variant names the check that failed and carries the numbers that
/// failed it, so a log line or a C caller's `strerror` can say exactly what
/// went wrong. Errors never mean that earlier, already accepted packets are
/// lost: decoders stay usable after every error but [`Error::PayloadTooLarge`]
/// from a byte stream (see [`crate::framing::StreamDecoder`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than the fixed header needs.
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// A datagram or frame holds more or fewer payload bytes than its header declares.
    LengthMismatch {
        /// Payload length from the header.
        declared: usize,
        /// Payload bytes actually present.
        actual: usize,
    },
    /// The integrity check failed: the packet was corrupted (or belongs to another connection).
    BadChecksum {
        /// Check value carried by the packet.
        received: u32,
        /// Check value computed over the bytes received.
        computed: u32,
    },
    /// A declared or given payload is longer than the configured maximum.
    PayloadTooLarge {
        /// The payload length.
        len: usize,
        /// The maximum allowed.
        max: usize,
    },
    /// The caller's buffer cannot hold what must be written into it.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// A serial frame is not valid COBS (a block runs past the delimiter).
    BadFrame,
    /// A control or data payload does not follow its documented format.
    Malformed,
    /// A serial frame grew past the decoder's buffer before its delimiter; it was skipped.
    FrameTooLong {
        /// The largest frame the decoder can hold.
        max: usize,
    },
}

impl Error {
    /// A short constant description, without formatting machinery (for `strerror`-style use).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Error::Truncated { .. } => "truncated: fewer bytes than the header needs",
            Error::LengthMismatch { .. } => "length mismatch: payload length differs from header",
            Error::BadChecksum { .. } => "bad checksum: packet corrupted",
            Error::PayloadTooLarge { .. } => "payload larger than the configured maximum",
            Error::BufferTooSmall { .. } => "buffer too small",
            Error::BadFrame => "bad frame: invalid COBS encoding",
            Error::FrameTooLong { .. } => "frame longer than the decoder buffer",
            Error::Malformed => "malformed payload",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { needed, available } => {
                write!(f, "truncated: need {needed} bytes, have {available}")
            }
            Error::LengthMismatch { declared, actual } => {
                write!(f, "length mismatch: header declares {declared} payload bytes, {actual} present")
            }
            Error::BadChecksum { received, computed } => {
                write!(f, "bad checksum: received {received:#06x}, computed {computed:#06x}")
            }
            Error::PayloadTooLarge { len, max } => {
                write!(f, "payload of {len} bytes exceeds the maximum of {max}")
            }
            Error::BufferTooSmall { needed, available } => {
                write!(f, "buffer too small: need {needed} bytes, have {available}")
            }
            Error::BadFrame | Error::Malformed => f.write_str(self.as_str()),
            Error::FrameTooLong { max } => write!(f, "frame longer than the decoder's {max} bytes"),
        }
    }
}

impl core::error::Error for Error {}
