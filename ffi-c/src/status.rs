//! Return codes, their descriptions, the panic boundary and the version.
//!
//! Negative return values are minus a stable code: the core's codes
//! (`docs/PROTOCOL.md` section 9, 1..=119) and this binding's own
//! (200..=219) for what only a C caller can get wrong.

use core::ffi::{c_char, c_int};
use seqlink_core::link::{ConfigError, SendError};
use seqlink_core::{AdmissionError, Error};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Success (and "nothing": no event, no datagram, no message).
pub const SEQLINK_OK: c_int = 0;
/// The function produced something (an event, a datagram, a message, a packet).
pub const SEQLINK_READY: c_int = 1;

/// A required pointer was null.
pub const SEQLINK_E_NULL: c_int = 200;
/// A pointer is not aligned for its type (objects: to `SEQLINK_ALIGN`).
pub const SEQLINK_E_MISALIGNED: c_int = 201;
/// The memory given to an `_init` function is smaller than its size query said.
pub const SEQLINK_E_TOO_SMALL: c_int = 202;
/// An argument is out of range (an unknown enum value, a length past 32 bytes, ...).
pub const SEQLINK_E_INVALID: c_int = 203;
/// The object is not initialized, already freed, or of another kind.
pub const SEQLINK_E_BAD_OBJECT: c_int = 204;
/// A panic inside the library was caught at the boundary (a bug: please report it).
pub const SEQLINK_E_PANIC: c_int = 205;
/// The allocation of an `_new` function failed.
pub const SEQLINK_E_NO_MEMORY: c_int = 206;

/// Wire and framing: fewer bytes than the header needs.
pub const SEQLINK_E_TRUNCATED: c_int = 1;
/// Wire and framing: payload bytes differ from the header's length.
pub const SEQLINK_E_LENGTH_MISMATCH: c_int = 2;
/// Wire and framing: the integrity check failed.
pub const SEQLINK_E_BAD_CHECKSUM: c_int = 3;
/// Wire and framing: a payload is longer than the configured maximum.
pub const SEQLINK_E_PAYLOAD_TOO_LARGE: c_int = 4;
/// Wire and framing: the caller's buffer cannot hold the result.
pub const SEQLINK_E_BUFFER_TOO_SMALL: c_int = 5;
/// Wire and framing: a serial frame is not valid COBS.
pub const SEQLINK_E_BAD_FRAME: c_int = 6;
/// Wire and framing: a payload does not follow its format.
pub const SEQLINK_E_MALFORMED: c_int = 7;
/// Wire and framing: a serial frame outgrew the decoder's buffer (skipped).
pub const SEQLINK_E_FRAME_TOO_LONG: c_int = 8;
/// Send: the send window is full; retry after the Writable event.
pub const SEQLINK_E_WOULD_BLOCK: c_int = 20;
/// Send: the message is longer than this link can ever send.
pub const SEQLINK_E_MESSAGE_TOO_LARGE: c_int = 21;
/// Send: packet types 20..=47 belong to the protocol.
pub const SEQLINK_E_RESERVED_TYPE: c_int = 22;
/// Send: unreliable delivery is off.
pub const SEQLINK_E_UNRELIABLE_DISABLED: c_int = 23;
/// Send: the connection failed.
pub const SEQLINK_E_FAILED: c_int = 24;
/// Send: the handshake is not complete yet; retry after the Connected event.
pub const SEQLINK_E_NOT_CONNECTED: c_int = 25;
/// Send: the connection is closing or closed.
pub const SEQLINK_E_CLOSING: c_int = 26;
/// Send: the endpoint has no connection with this handle.
pub const SEQLINK_E_UNKNOWN_HANDLE: c_int = 27;
/// Configuration: a window is 0 or above 256.
pub const SEQLINK_E_BAD_WINDOW: c_int = 40;
/// Configuration: `max_payload` is below 64.
pub const SEQLINK_E_BAD_PAYLOAD: c_int = 41;
/// Configuration: a handshake extension is longer than 32 bytes.
pub const SEQLINK_E_BAD_EXTENSION: c_int = 42;
/// Configuration: the storage is smaller than the configuration needs.
pub const SEQLINK_E_STORAGE: c_int = 43;
/// Admission: the ticket names no waiting handshake.
pub const SEQLINK_E_STALE_TICKET: c_int = 100;
/// Admission: the connection table is full (the handshake keeps waiting).
pub const SEQLINK_E_TABLE_FULL: c_int = 101;

/// A failure of this binding, as a positive stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status(pub c_int);

impl Status {
    pub(crate) const NULL: Status = Status(SEQLINK_E_NULL);
    pub(crate) const MISALIGNED: Status = Status(SEQLINK_E_MISALIGNED);
    pub(crate) const TOO_SMALL: Status = Status(SEQLINK_E_TOO_SMALL);
    pub(crate) const INVALID: Status = Status(SEQLINK_E_INVALID);
    pub(crate) const BAD_OBJECT: Status = Status(SEQLINK_E_BAD_OBJECT);
    pub(crate) const NO_MEMORY: Status = Status(SEQLINK_E_NO_MEMORY);
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        Status(c_int::from(e.code()))
    }
}

impl From<SendError> for Status {
    fn from(e: SendError) -> Status {
        Status(c_int::from(e.code()))
    }
}

impl From<ConfigError> for Status {
    fn from(e: ConfigError) -> Status {
        Status(c_int::from(e.code()))
    }
}

impl From<AdmissionError> for Status {
    fn from(e: AdmissionError) -> Status {
        Status(c_int::from(e.code()))
    }
}

/// What an entry point's body returns: a non-negative result or a failure.
pub(crate) type Outcome = Result<c_int, Status>;

/// Runs an entry point's body inside the panic boundary: its value, minus
/// the code of its failure, or minus [`SEQLINK_E_PANIC`] if it panicked.
pub(crate) fn guard(body: impl FnOnce() -> Outcome) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(Status(code))) => -code,
        Err(_) => -SEQLINK_E_PANIC,
    }
}

/// `SEQLINK_OK` when something was done, `SEQLINK_READY` when something was produced.
pub(crate) fn ready(produced: bool) -> Outcome {
    Ok(if produced { SEQLINK_READY } else { SEQLINK_OK })
}

const BINDING_TEXTS: [&str; 7] = [
    "null pointer\0",
    "misaligned pointer\0",
    "memory smaller than the size query said\0",
    "invalid argument\0",
    "not an initialized object of this kind (or already freed)\0",
    "panic caught at the C boundary (a bug in seqlink)\0",
    "out of memory\0",
];

/// Describes a code as a static NUL-terminated string: the core's stable
/// codes (`docs/PROTOCOL.md` section 9) and this binding's 200..=219.
/// Negative values are taken as minus a code, so a return value can be
/// passed as it is. Never null; unknown codes give "unknown code".
/// Thread-safe.
#[no_mangle]
pub extern "C" fn seqlink_strerror(code: c_int) -> *const c_char {
    let code = code.unsigned_abs();
    match code.checked_sub(SEQLINK_E_NULL as u32).and_then(|i| BINDING_TEXTS.get(i as usize)) {
        Some(text) => text.as_ptr().cast(),
        None => core_text(code).as_ptr().cast(),
    }
}

/// Codes the core may describe (its ranges end at 119).
const CORE_CODES: usize = 128;
/// Room for one description and its NUL.
const TEXT_ROOM: usize = 80;

/// Every core description, NUL-terminated, built at compile time: no
/// allocation, no initialisation (a description that does not fit fails the build).
static CORE_TEXTS: [[u8; TEXT_ROOM]; CORE_CODES] = core_texts();

const fn core_texts() -> [[u8; TEXT_ROOM]; CORE_CODES] {
    let mut table = [[0u8; TEXT_ROOM]; CORE_CODES];
    let mut code = 0;
    while code < CORE_CODES {
        let text = seqlink_core::describe(code as u8).as_bytes();
        assert!(text.len() < TEXT_ROOM, "a core description is longer than TEXT_ROOM");
        let mut i = 0;
        while i < text.len() {
            table[code][i] = text[i];
            i += 1;
        }
        code += 1;
    }
    table
}

/// The core's description of `code`, NUL-terminated.
fn core_text(code: u32) -> &'static [u8] {
    usize::try_from(code).ok().and_then(|c| CORE_TEXTS.get(c)).map_or(b"unknown code\0", |t| t.as_slice())
}

/// The library's version, "MAJOR.MINOR.PATCH", a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn seqlink_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    fn text(code: c_int) -> String {
        // SAFETY: seqlink_strerror returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(seqlink_strerror(code)) }.to_str().map(str::to_owned).unwrap_or_default()
    }

    #[test]
    fn strerror_names_core_and_binding_codes_either_sign() {
        assert_eq!(text(-3), seqlink_core::describe(3));
        assert_eq!(text(20), seqlink_core::describe(20));
        assert_eq!(text(-SEQLINK_E_NULL), "null pointer");
        assert_eq!(text(219), "unknown code");
        assert_eq!(text(c_int::MIN), "unknown code");
    }

    #[test]
    fn a_panic_inside_an_entry_point_comes_back_as_a_code() {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {})); // keep the test output quiet
        let code = guard(|| panic!("a bug"));
        std::panic::set_hook(previous);
        assert_eq!(code, -SEQLINK_E_PANIC);
        assert_eq!(guard(|| Err(Status::NULL)), -SEQLINK_E_NULL);
        assert_eq!(guard(|| Ok(7)), 7);
    }

    #[test]
    fn named_codes_are_the_cores() {
        use seqlink_core::event::EventKind;
        assert_eq!(SEQLINK_E_BAD_CHECKSUM, c_int::from(Error::BadChecksum { received: 0, computed: 0 }.code()));
        assert_eq!(SEQLINK_E_FRAME_TOO_LONG, c_int::from(Error::FrameTooLong { max: 0 }.code()));
        assert_eq!(SEQLINK_E_UNKNOWN_HANDLE, c_int::from(SendError::UnknownHandle.code()));
        assert_eq!(SEQLINK_E_STORAGE, c_int::from(ConfigError::Storage { needed: 0, available: 0 }.code()));
        assert_eq!(SEQLINK_E_TABLE_FULL, c_int::from(AdmissionError::Full.code()));
        assert_eq!(crate::records::SEQLINK_EVENT_PEER_REFUSED, EventKind::PeerRefused.code());
    }
}
