//! Payloads of the connection control packets that are not part of the
//! handshake: ERR_MSG, RESET and HEARTBEAT (`docs/PROTOCOL.md` section 7.1).

use super::handshake::ErrorCode;
use crate::bytes::copy_prefix;
use crate::error::Error;

/// Byte positions of the control payloads' fields, in one place.
mod field {
    use core::ops::Range;
    /// ERR_MSG and RESET: the error code.
    pub const CODE: usize = 0;
    /// ERR_MSG: the UTF-8 reason fills the rest of the payload.
    pub const REASON: usize = 1;
    /// RESET: the token.
    pub const TOKEN: Range<usize> = 1..3;
    /// HEARTBEAT: 0 ping, 1 pong.
    pub const KIND: usize = 0;
    /// HEARTBEAT: the pinger's clock.
    pub const STAMP: Range<usize> = 1..5;
}

/// Bytes of a RESET payload.
pub const RESET_LEN: usize = field::TOKEN.end;
/// Bytes of a HEARTBEAT payload (seed 000's heartbeat is empty: a ping without a stamp).
pub const HEARTBEAT_LEN: usize = field::STAMP.end;

const HEARTBEAT_PING: u8 = 0;
const HEARTBEAT_PONG: u8 = 1;

/// The first `len` bytes of `out`, or a typed error if it is shorter.
fn exact(out: &mut [u8], len: usize) -> Result<&mut [u8], Error> {
    let available = out.len();
    out.get_mut(..len).ok_or(Error::BufferTooSmall { needed: len, available })
}

/// ERR_MSG payload: a code and a UTF-8 reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ErrRepr<'a> {
    /// What went wrong.
    pub code: ErrorCode,
    /// Human-readable reason (UTF-8, possibly empty).
    pub reason: &'a [u8],
}

impl<'a> ErrRepr<'a> {
    /// Parses an ERR_MSG payload: `[code u8][reason]`. Never fails: an empty
    /// payload, or a seed 000 peer's plain text, reads with code `Other`
    /// (or whatever its first byte maps to).
    pub fn parse(payload: &'a [u8]) -> Result<ErrRepr<'a>, Error> {
        Ok(match payload.split_first() {
            Some((&code, reason)) => ErrRepr { code: ErrorCode::from_u8(code), reason },
            None => ErrRepr { code: ErrorCode::Other, reason: &[] },
        })
    }

    /// The same message with the reason cut, at a character boundary, so
    /// that [`ErrRepr::buffer_len`] is at most `max_len` (but at least 1).
    pub fn fitted(self, max_len: usize) -> ErrRepr<'a> {
        let mut n = self.reason.len().min(max_len.saturating_sub(field::REASON));
        while n > 0 && n < self.reason.len() && self.reason.get(n).is_some_and(|b| b & 0xc0 == 0x80) {
            n -= 1;
        }
        ErrRepr { code: self.code, reason: self.reason.get(..n).unwrap_or(&[]) }
    }

    /// Bytes [`ErrRepr::emit`] writes: the code and the whole reason.
    pub fn buffer_len(&self) -> usize {
        field::REASON + self.reason.len()
    }

    /// Writes the payload at the start of `out`; returns its length. See
    /// [`ErrRepr::fitted`] to cut the reason to a size first.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let len = self.buffer_len();
        let Some((code, reason)) = exact(out, len)?.split_first_mut() else {
            return Err(Error::BufferTooSmall { needed: len, available: 0 });
        };
        *code = self.code as u8;
        copy_prefix(reason, self.reason);
        Ok(len)
    }
}

/// RESET payload: `[code u8][token u16]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ResetRepr {
    /// Why.
    pub code: ErrorCode,
    /// For a RESET answering a packet of an unknown connection: the one's
    /// complement sum of that packet's pseudo-header, recovered from its
    /// checksum, which proves the RESET answers a packet of this connection.
    pub token: u16,
}

impl ResetRepr {
    /// Parses a RESET payload: exactly [`RESET_LEN`] bytes.
    pub fn parse(payload: &[u8]) -> Result<ResetRepr, Error> {
        match (payload.len(), payload.get(field::CODE), payload.get(field::TOKEN)) {
            (RESET_LEN, Some(&code), Some(&[t0, t1])) => {
                Ok(ResetRepr { code: ErrorCode::from_u8(code), token: u16::from_be_bytes([t0, t1]) })
            }
            _ => Err(Error::LengthMismatch { declared: RESET_LEN, actual: payload.len() }),
        }
    }

    /// Bytes [`ResetRepr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        RESET_LEN
    }

    /// Writes the payload at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        copy_prefix(exact(out, RESET_LEN)?, &self.to_bytes());
        Ok(RESET_LEN)
    }

    /// The payload as an array.
    pub(crate) fn to_bytes(self) -> [u8; RESET_LEN] {
        // the fields in order: code, token
        let [t0, t1] = self.token.to_be_bytes();
        [self.code as u8, t0, t1]
    }
}

/// HEARTBEAT payload: a ping or its pong, with the pinger's clock echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeartbeatRepr {
    /// `true` for the answer.
    pub pong: bool,
    /// The pinger's clock (low 32 bits of its milliseconds) when it pinged.
    pub stamp: u32,
}

impl HeartbeatRepr {
    /// Parses a HEARTBEAT payload; an empty one (seed 000) is a ping with stamp 0.
    pub fn parse(payload: &[u8]) -> Result<HeartbeatRepr, Error> {
        if payload.is_empty() {
            return Ok(HeartbeatRepr { pong: false, stamp: 0 });
        }
        match (payload.len(), payload.get(field::KIND), payload.get(field::STAMP)) {
            (HEARTBEAT_LEN, Some(&kind @ (HEARTBEAT_PING | HEARTBEAT_PONG)), Some(&[a, b, c, d])) => {
                Ok(HeartbeatRepr { pong: kind == HEARTBEAT_PONG, stamp: u32::from_be_bytes([a, b, c, d]) })
            }
            _ => Err(Error::Malformed),
        }
    }

    /// Bytes [`HeartbeatRepr::emit`] writes (always the stamped form).
    pub const fn buffer_len(&self) -> usize {
        HEARTBEAT_LEN
    }

    /// Writes the payload at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        copy_prefix(exact(out, HEARTBEAT_LEN)?, &self.to_bytes());
        Ok(HEARTBEAT_LEN)
    }

    /// The payload as an array.
    pub(crate) fn to_bytes(self) -> [u8; HEARTBEAT_LEN] {
        // the fields in order: kind, stamp
        let [a, b, c, d] = self.stamp.to_be_bytes();
        [if self.pong { HEARTBEAT_PONG } else { HEARTBEAT_PING }, a, b, c, d]
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn err_round_trip_and_a_buffer_one_byte_short() {
        let err = ErrRepr { code: ErrorCode::ServerFull, reason: b"server full" };
        let mut buf = [0u8; 16];
        let n = err.emit(&mut buf).unwrap();
        assert_eq!(n, err.buffer_len());
        assert_eq!(&buf[..n], b"\x03server full");
        assert_eq!(ErrRepr::parse(&buf[..n]), Ok(err));
        assert_eq!(err.emit(&mut buf[..n - 1]), Err(Error::BufferTooSmall { needed: n, available: n - 1 }));
        assert_eq!(
            ErrRepr { code: ErrorCode::Other, reason: b"" }.emit(&mut []),
            Err(Error::BufferTooSmall { needed: 1, available: 0 })
        );
        // every cut still reads (an ERR_MSG has no fixed length; seed 000 sends plain text)
        for cut in 0..n {
            assert!(ErrRepr::parse(&buf[..cut]).is_ok());
        }
        assert_eq!(ErrRepr::parse(b""), Ok(ErrRepr { code: ErrorCode::Other, reason: b"" }));
    }

    #[test]
    fn err_reason_is_cut_at_a_character_boundary() {
        let err = ErrRepr { code: ErrorCode::ServerFull, reason: "server full: ééé".as_bytes() };
        let fitted = err.fitted(17);
        assert_eq!(fitted.buffer_len(), 16, "the é across the limit is left out whole");
        let mut buf = [0u8; 16];
        let n = fitted.emit(&mut buf).unwrap();
        let parsed = ErrRepr::parse(&buf[..n]).unwrap();
        assert_eq!(parsed.code, ErrorCode::ServerFull);
        assert_eq!(core::str::from_utf8(parsed.reason), Ok("server full: é"));
        assert_eq!(err.fitted(64), err);
        assert_eq!(err.fitted(0).buffer_len(), 1);
    }

    #[test]
    fn reset_round_trip() {
        let reset = ResetRepr { code: ErrorCode::UnknownConnection, token: 0x1234 };
        let mut buf = [0u8; RESET_LEN];
        assert_eq!(reset.emit(&mut buf), Ok(reset.buffer_len()));
        assert_eq!(buf, [8, 0x12, 0x34]);
        assert_eq!(ResetRepr::parse(&buf), Ok(reset));
        assert_eq!(reset.emit(&mut buf[..2]), Err(Error::BufferTooSmall { needed: 3, available: 2 }));
        for cut in 0..RESET_LEN {
            assert_eq!(ResetRepr::parse(&buf[..cut]), Err(Error::LengthMismatch { declared: 3, actual: cut }));
        }
        assert!(ResetRepr::parse(&[8, 0x12, 0x34, 0]).is_err());
    }

    #[test]
    fn heartbeat_round_trip() {
        assert_eq!(HeartbeatRepr::parse(&[]), Ok(HeartbeatRepr { pong: false, stamp: 0 }));
        for pong in [false, true] {
            let hb = HeartbeatRepr { pong, stamp: 0xdead_beef };
            let mut buf = [0u8; HEARTBEAT_LEN];
            assert_eq!(hb.emit(&mut buf), Ok(hb.buffer_len()));
            assert_eq!(buf, [u8::from(pong), 0xde, 0xad, 0xbe, 0xef]);
            assert_eq!(HeartbeatRepr::parse(&buf), Ok(hb));
            assert_eq!(hb.emit(&mut buf[..4]), Err(Error::BufferTooSmall { needed: 5, available: 4 }));
            // an empty payload is seed 000's ping; every other cut is an error
            for cut in 1..HEARTBEAT_LEN {
                assert_eq!(HeartbeatRepr::parse(&buf[..cut]), Err(Error::Malformed));
            }
        }
        assert!(HeartbeatRepr::parse(&[2, 0, 0, 0, 0]).is_err());
    }
}
