//! The one error type of the wire and framing layers, and [`describe`]:
//! the text of every stable code of the crate.

use core::fmt;

use crate::event::{EventKind, FailReason};
use crate::link::{ConfigError, SendError};

/// What [`describe`] says for a code no kind has.
pub(crate) const UNKNOWN_CODE: &str = "unknown code";

/// The short constant description of any stable code of the crate:
/// `describe(e.code()) == e.as_str()` for every error and event kind. Code 0
/// is "none"; codes no kind has are "unknown code". For C's `strerror`.
///
/// Every error kind and event kind of the crate has a stable code, one `u8`,
/// unique across the crate so that this one lookup names any of them. The
/// codes are part of the API (bindings and logs depend on them): a code never
/// changes meaning and is never reused; new kinds take new codes in their
/// enum's range. `docs/PROTOCOL.md` section 9 lists every code.
///
/// | codes | what | code of |
/// |---|---|---|
/// | 0 | none: no error, no event | |
/// | 1..=19 | wire and framing errors | [`Error::code`] |
/// | 20..=39 | why `send` refused a message | [`SendError::code`] |
/// | 40..=59 | why a configuration or storage was refused | [`ConfigError::code`] |
/// | 60..=79 | why a link or connection failed | [`FailReason::code`] |
/// | 80..=99 | event kinds | [`EventKind`], [`crate::Event::code`] |
///
/// The error codes a peer sends in ERR_MSG and RESET packets are another
/// space, the byte on the wire: [`crate::wire::handshake::ErrorCode::code`].
///
/// ```
/// use seqlink_core::{describe, link::SendError};
/// assert_eq!(SendError::WouldBlock.code(), 20);
/// assert_eq!(describe(20), SendError::WouldBlock.as_str());
/// assert_eq!(describe(200), "unknown code");
/// ```
pub const fn describe(code: u8) -> &'static str {
    match code {
        0 => "none",
        1..=19 => Error::text(code),
        20..=39 => SendError::text(code),
        40..=59 => ConfigError::text(code),
        60..=79 => FailReason::text(code),
        80..=99 => EventKind::text(code),
        #[cfg(feature = "endpoint")]
        100..=119 => crate::endpoint::AdmissionError::text(code),
        _ => UNKNOWN_CODE,
    }
}

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
    /// The stable code of this kind of error (1..=19, see [`describe`]).
    pub const fn code(&self) -> u8 {
        match self {
            Error::Truncated { .. } => 1,
            Error::LengthMismatch { .. } => 2,
            Error::BadChecksum { .. } => 3,
            Error::PayloadTooLarge { .. } => 4,
            Error::BufferTooSmall { .. } => 5,
            Error::BadFrame => 6,
            Error::Malformed => 7,
            Error::FrameTooLong { .. } => 8,
        }
    }

    /// A short constant description, without formatting machinery (for `strerror`-style use).
    pub const fn as_str(&self) -> &'static str {
        Error::text(self.code())
    }

    pub(crate) const fn text(code: u8) -> &'static str {
        match code {
            1 => "truncated: fewer bytes than the header needs",
            2 => "length mismatch: payload length differs from header",
            3 => "bad checksum: packet corrupted",
            4 => "payload larger than the configured maximum",
            5 => "buffer too small",
            6 => "bad frame: invalid COBS encoding",
            7 => "malformed payload",
            8 => "frame longer than the decoder buffer",
            _ => UNKNOWN_CODE,
        }
    }
}

/// The description ([`Error::as_str`]) followed by the numbers of the check that failed.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        match *self {
            Error::Truncated { needed, available } | Error::BufferTooSmall { needed, available } => {
                write!(f, " (need {needed} bytes, have {available})")
            }
            Error::LengthMismatch { declared, actual } => write!(f, " (declared {declared} bytes, {actual} present)"),
            Error::BadChecksum { received, computed } => {
                write!(f, " (received {received:#06x}, computed {computed:#06x})")
            }
            Error::PayloadTooLarge { len, max } => write!(f, " ({len} bytes, maximum {max})"),
            Error::FrameTooLong { max } => write!(f, " ({max} bytes)"),
            Error::BadFrame | Error::Malformed => Ok(()),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

    extern crate std;
    use std::collections::BTreeSet;
    use std::string::{String, ToString};
    use std::vec::Vec;

    use super::*;
    use crate::event::{Event, EventRecord};
    use crate::seq::Seq;
    use crate::wire::handshake::ErrorCode;

    /// Every kind with its code, description and `Display` text. The codes
    /// are frozen: a binding or a log written against v1 must read the same
    /// meaning forever.
    fn every_code() -> Vec<(u8, &'static str, String)> {
        let errors = [
            Error::Truncated { needed: 9, available: 3 },
            Error::LengthMismatch { declared: 4, actual: 2 },
            Error::BadChecksum { received: 1, computed: 2 },
            Error::PayloadTooLarge { len: 9, max: 8 },
            Error::BufferTooSmall { needed: 9, available: 8 },
            Error::BadFrame,
            Error::Malformed,
            Error::FrameTooLong { max: 64 },
        ];
        let sends = [
            SendError::WouldBlock,
            SendError::MessageTooLarge { max: 10 },
            SendError::ReservedType,
            SendError::UnreliableDisabled,
            SendError::Failed,
            SendError::NotConnected,
            SendError::Closing,
            SendError::UnknownHandle,
        ];
        let configs = [
            ConfigError::Window,
            ConfigError::Payload,
            ConfigError::Extension,
            ConfigError::Storage { needed: 2, available: 1 },
        ];
        let failures = [
            FailReason::DeadPeer { seq: Seq(5) },
            FailReason::IdleTimeout,
            FailReason::ConnectTimeout,
            FailReason::CloseTimeout,
            FailReason::Refused { code: ErrorCode::ServerFull },
            FailReason::Reset { code: ErrorCode::Aborted },
            FailReason::ProtocolViolation,
        ];
        let events = [
            Event::Connected,
            Event::Closed,
            Event::Writable,
            Event::MessageDropped { fragments: 3 },
            Event::Failed(FailReason::IdleTimeout),
        ];
        let mut all = Vec::new();
        all.extend(errors.iter().map(|e| (e.code(), e.as_str(), e.to_string())));
        all.extend(sends.iter().map(|e| (e.code(), e.as_str(), e.to_string())));
        all.extend(configs.iter().map(|e| (e.code(), e.as_str(), e.to_string())));
        all.extend(failures.iter().map(|e| (e.code(), e.as_str(), e.to_string())));
        all.extend(events.iter().map(|e| (e.code(), e.as_str(), e.to_string())));
        let refused = crate::event::EventKind::PeerRefused;
        all.push((refused.code(), refused.as_str(), refused.as_str().into()));
        #[cfg(feature = "endpoint")]
        {
            use crate::endpoint::AdmissionError;
            let admissions = [AdmissionError::StaleTicket, AdmissionError::Full];
            all.extend(admissions.iter().map(|e| (e.code(), e.as_str(), e.to_string())));
        }
        all
    }

    #[test]
    fn the_codes_never_change() {
        let codes: Vec<u8> = every_code().iter().map(|&(code, ..)| code).collect();
        let frozen: Vec<u8> = [
            (1..=8).collect::<Vec<u8>>(),   // Error: Truncated .. FrameTooLong
            (20..=27).collect::<Vec<u8>>(), // SendError: WouldBlock .. UnknownHandle
            (40..=43).collect::<Vec<u8>>(), // ConfigError: Window .. Storage
            (60..=66).collect::<Vec<u8>>(), // FailReason: DeadPeer .. ProtocolViolation
            (80..=85).collect::<Vec<u8>>(), // EventKind: Connected .. Failed, PeerRefused
            #[cfg(feature = "endpoint")]
            (100..=101).collect::<Vec<u8>>(), // AdmissionError: StaleTicket, Full
        ]
        .concat();
        assert_eq!(codes, frozen);
        let wire: Vec<u8> = [
            ErrorCode::Other,
            ErrorCode::VersionMismatch,
            ErrorCode::BadParameters,
            ErrorCode::ServerFull,
            ErrorCode::Refused,
            ErrorCode::ProtocolViolation,
            ErrorCode::IdleTimeout,
            ErrorCode::Aborted,
            ErrorCode::UnknownConnection,
        ]
        .iter()
        .map(ErrorCode::code)
        .collect();
        assert_eq!(wire, (0..=8).collect::<Vec<u8>>(), "the peer codes are bytes on the wire");
    }

    #[test]
    fn every_code_is_distinct_and_described_the_same_way_everywhere() {
        let all = every_code();
        let codes: BTreeSet<u8> = all.iter().map(|&(code, ..)| code).collect();
        let texts: BTreeSet<&str> = all.iter().map(|&(_, text, _)| text).collect();
        assert_eq!(codes.len(), all.len(), "one code per kind");
        assert_eq!(texts.len(), all.len(), "one description per kind");
        for (code, text, display) in all {
            assert_eq!(describe(code), text, "code {code}");
            assert_ne!(text, UNKNOWN_CODE);
            assert!(display.starts_with(text), "Display of code {code} begins with its description: {display}");
        }
        for code in (0..=u8::MAX).filter(|c| !codes.contains(c)) {
            let expected = if code == 0 { "none" } else { UNKNOWN_CODE };
            assert_eq!(describe(code), expected, "code {code} belongs to no kind");
        }
    }

    #[test]
    fn display_adds_the_numbers_to_the_description() {
        let text = Error::Truncated { needed: 9, available: 3 }.to_string();
        assert_eq!(text, "truncated: fewer bytes than the header needs (need 9 bytes, have 3)");
        assert_eq!(SendError::MessageTooLarge { max: 10 }.to_string(), "message too large (maximum 10 bytes)");
        let text = FailReason::Refused { code: ErrorCode::ServerFull }.to_string();
        assert_eq!(text, "refused by the peer (peer code 3: server full)");
        assert_eq!(
            FailReason::DeadPeer { seq: Seq(12) }.to_string(),
            "dead peer: retransmissions exhausted (packet 12)"
        );
        let text = Event::Failed(FailReason::IdleTimeout).to_string();
        assert_eq!(text, "failed: idle timeout: the peer went silent");
    }

    #[test]
    fn wire_codes_read_back_from_their_byte() {
        for byte in 0..=u8::MAX {
            let code = ErrorCode::from_u8(byte);
            assert_eq!(code.code(), if byte <= 8 { byte } else { 0 });
        }
    }

    #[test]
    fn events_flatten_to_plain_records() {
        let record = |e: Event| {
            let r = EventRecord::from(e);
            (r.kind, r.reason, r.peer_code, r.fragments, r.seq)
        };
        assert_eq!(record(Event::Connected), (80, 0, 0, 0, 0));
        assert_eq!(record(Event::Closed), (81, 0, 0, 0, 0));
        assert_eq!(record(Event::Writable), (82, 0, 0, 0, 0));
        assert_eq!(record(Event::MessageDropped { fragments: 300 }), (83, 0, 0, 300, 0));
        assert_eq!(record(Event::Failed(FailReason::DeadPeer { seq: Seq(0xdead_beef) })), (84, 60, 0, 0, 0xdead_beef));
        assert_eq!(record(Event::Failed(FailReason::IdleTimeout)), (84, 61, 0, 0, 0));
        let refused = Event::Failed(FailReason::Refused { code: ErrorCode::ServerFull });
        assert_eq!(record(refused), (84, 64, 3, 0, 0));
        let reset = Event::Failed(FailReason::Reset { code: ErrorCode::Other });
        assert_eq!(record(reset), (84, 65, 0, 0, 0));
        assert_eq!(EventRecord::default(), EventRecord::NONE);
        assert_eq!(EventRecord::NONE.kind, 0, "no event");
    }

    #[test]
    fn the_event_record_has_the_layout_of_its_c_struct() {
        use core::mem::{align_of, offset_of, size_of};
        assert_eq!(offset_of!(EventRecord, kind), 0);
        assert_eq!(offset_of!(EventRecord, reason), 1);
        assert_eq!(offset_of!(EventRecord, peer_code), 2);
        assert_eq!(offset_of!(EventRecord, fragments), 4);
        assert_eq!(offset_of!(EventRecord, seq), 8);
        assert_eq!((size_of::<EventRecord>(), align_of::<EventRecord>()), (12, 4));
    }
}
