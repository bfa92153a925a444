//! Payloads of the connection control packets: SYN, SYN_ACK, HANDSHAKE_ACK,
//! ERR_MSG, RESET and HEARTBEAT. Formats are in `docs/PROTOCOL.md` section 7.

use crate::bytes::copy_prefix;
use crate::error::Error;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// Handshake flag: the sender supports CRC-32C.
pub const FLAG_CRC_SUPPORTED: u8 = 0x01;
/// Handshake flag: the sender prefers CRC-32C (SYN) / CRC-32C was chosen (SYN_ACK, HANDSHAKE_ACK).
pub const FLAG_CRC: u8 = 0x02;

/// Most extension bytes a handshake packet carries on the wire.
pub const MAX_EXTENSION: usize = 512;
/// Most extension bytes a connection sends and keeps from its peer (an X25519 key).
pub const CONNECTION_EXTENSION: usize = 32;
/// Largest handshake payload a connection sends: a SYN with a full extension
/// and padding for a server extension of the same size.
pub const MAX_HANDSHAKE_PAYLOAD: usize = SYN_FIXED_LEN + CONNECTION_EXTENSION + 16 + CONNECTION_EXTENSION;

/// Bytes of a SYN payload before its extension.
pub const SYN_FIXED_LEN: usize = 24;
/// Bytes of a SYN_ACK payload before its extension.
pub const SYN_ACK_FIXED_LEN: usize = 40;
/// Bytes of a HANDSHAKE_ACK payload before its extension.
pub const HANDSHAKE_ACK_FIXED_LEN: usize = 44;

/// Reads big-endian fields off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let Some((head, rest)) = self.0.split_first_chunk::<N>() else {
            return Err(Error::Truncated { needed: N, available: self.0.len() });
        };
        self.0 = rest;
        Ok(*head)
    }
    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.take()?))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.take()?))
    }
    fn extension(&mut self) -> Result<&'a [u8], Error> {
        let len = usize::from(self.u16()?);
        if len > MAX_EXTENSION {
            return Err(Error::Malformed);
        }
        let Some((ext, rest)) = self.0.split_at_checked(len) else {
            return Err(Error::Truncated { needed: len, available: self.0.len() });
        };
        self.0 = rest;
        Ok(ext)
    }
}

/// Writes big-endian fields into a slice.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
    overflow: bool,
}

impl<'a> Writer<'a> {
    fn new(out: &'a mut [u8]) -> Writer<'a> {
        Writer { out, at: 0, overflow: false }
    }
    fn put(&mut self, bytes: &[u8]) {
        match self.out.get_mut(self.at..self.at + bytes.len()) {
            Some(dst) => {
                copy_prefix(dst, bytes);
            }
            None => self.overflow = true,
        }
        self.at += bytes.len();
    }
    fn extension(&mut self, ext: &[u8]) {
        self.put(&(ext.len() as u16).to_be_bytes());
        self.put(ext);
    }
    fn finish(self) -> Result<usize, Error> {
        if self.overflow {
            Err(Error::BufferTooSmall { needed: self.at, available: self.out.len() })
        } else {
            Ok(self.at)
        }
    }
}

/// Connection parameters as exchanged in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Largest packet payload.
    pub max_payload: u16,
    /// Window, in packets, each way.
    pub window: u16,
    /// Heartbeat interval when idle, milliseconds (0: no heartbeats).
    pub heartbeat_ms: u32,
    /// Silence after which the connection fails, milliseconds (0: never).
    pub idle_timeout_ms: u32,
}

/// SYN (client -> server): the client's proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SynRepr<'a> {
    /// Protocol version.
    pub version: u8,
    /// `FLAG_CRC_SUPPORTED`, `FLAG_CRC` (preferred).
    pub flags: u8,
    /// The client's random connection id half.
    pub client_id: u32,
    /// The client's initial sequence number.
    pub isn: u32,
    /// The client's limits and wishes.
    pub params: Params,
    /// Extension data (room for a key exchange).
    pub extension: &'a [u8],
}

impl<'a> SynRepr<'a> {
    /// Parses a SYN payload (trailing padding is allowed and ignored).
    pub fn parse(payload: &'a [u8]) -> Result<SynRepr<'a>, Error> {
        let mut r = Reader(payload);
        Ok(SynRepr {
            version: r.u8()?,
            flags: r.u8()?,
            client_id: r.u32()?,
            isn: r.u32()?,
            params: Params {
                max_payload: r.u16()?,
                window: r.u16()?,
                heartbeat_ms: r.u32()?,
                idle_timeout_ms: r.u32()?,
            },
            extension: r.extension()?,
        })
    }

    /// Writes the payload followed by `padding` zero bytes; returns its length.
    pub fn emit(&self, out: &mut [u8], padding: usize) -> Result<usize, Error> {
        let mut w = Writer::new(out);
        w.put(&[self.version, self.flags]);
        w.put(&self.client_id.to_be_bytes());
        w.put(&self.isn.to_be_bytes());
        put_params(&mut w, &self.params);
        w.extension(self.extension);
        for _ in 0..padding {
            w.put(&[0]);
        }
        w.finish()
    }
}

fn put_params(w: &mut Writer<'_>, p: &Params) {
    w.put(&p.max_payload.to_be_bytes());
    w.put(&p.window.to_be_bytes());
    w.put(&p.heartbeat_ms.to_be_bytes());
    w.put(&p.idle_timeout_ms.to_be_bytes());
}

/// What a SYN_ACK and a HANDSHAKE_ACK both carry: the agreed parameters and the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Agreement {
    /// Protocol version.
    pub version: u8,
    /// `FLAG_CRC` when CRC-32C was chosen.
    pub flags: u8,
    /// The client's connection id half.
    pub client_id: u32,
    /// The client's initial sequence number.
    pub client_isn: u32,
    /// The server's connection id half.
    pub server_id: u32,
    /// The server's initial sequence number.
    pub server_isn: u32,
    /// The agreed parameters.
    pub params: Params,
    /// The server's clock (milliseconds, modulo 2^32) when it made the cookie; only the server reads it.
    pub cookie_time: u32,
    /// The server's MAC over all of the above and the client's address.
    pub cookie: u64,
}

/// SYN_ACK (server -> client): the agreement (without the client's ISN) and the server's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SynAckRepr<'a> {
    /// The agreement; `client_isn` is not sent (it is 0 after parsing).
    pub agreement: Agreement,
    /// Extension data.
    pub extension: &'a [u8],
}

impl<'a> SynAckRepr<'a> {
    /// Parses a SYN_ACK payload.
    pub fn parse(payload: &'a [u8]) -> Result<SynAckRepr<'a>, Error> {
        let mut r = Reader(payload);
        let agreement = read_agreement(&mut r, false)?;
        Ok(SynAckRepr { agreement, extension: r.extension()? })
    }

    /// Writes the payload; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut w = Writer::new(out);
        write_agreement(&mut w, &self.agreement, false);
        w.extension(self.extension);
        w.finish()
    }
}

/// Reads an agreement; the SYN_ACK form has no `client_isn` (it reads as 0).
fn read_agreement(r: &mut Reader<'_>, with_client_isn: bool) -> Result<Agreement, Error> {
    let (version, flags, client_id) = (r.u8()?, r.u8()?, r.u32()?);
    let client_isn = if with_client_isn { r.u32()? } else { 0 };
    let (server_id, server_isn) = (r.u32()?, r.u32()?);
    let params = Params { max_payload: r.u16()?, window: r.u16()?, heartbeat_ms: r.u32()?, idle_timeout_ms: r.u32()? };
    let (cookie_time, cookie) = (r.u32()?, r.u64()?);
    Ok(Agreement { version, flags, client_id, client_isn, server_id, server_isn, params, cookie_time, cookie })
}

/// Writes an agreement, with or without `client_isn`.
fn write_agreement(w: &mut Writer<'_>, a: &Agreement, with_client_isn: bool) {
    w.put(&[a.version, a.flags]);
    w.put(&a.client_id.to_be_bytes());
    if with_client_isn {
        w.put(&a.client_isn.to_be_bytes());
    }
    w.put(&a.server_id.to_be_bytes());
    w.put(&a.server_isn.to_be_bytes());
    put_params(w, &a.params);
    w.put(&a.cookie_time.to_be_bytes());
    w.put(&a.cookie.to_be_bytes());
}

/// HANDSHAKE_ACK (client -> server): the whole agreement echoed, so that the
/// server can create the connection from this packet alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HandshakeAckRepr<'a> {
    /// The agreement, cookie included.
    pub agreement: Agreement,
    /// The client's extension data.
    pub extension: &'a [u8],
}

impl<'a> HandshakeAckRepr<'a> {
    /// Parses a HANDSHAKE_ACK payload.
    pub fn parse(payload: &'a [u8]) -> Result<HandshakeAckRepr<'a>, Error> {
        let mut r = Reader(payload);
        let agreement = read_agreement(&mut r, true)?;
        Ok(HandshakeAckRepr { agreement, extension: r.extension()? })
    }

    /// Writes the payload; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut w = Writer::new(out);
        write_agreement(&mut w, &self.agreement, true);
        w.extension(self.extension);
        w.finish()
    }
}

/// Error codes carried by ERR_MSG (and RESET) packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ErrorCode {
    /// Anything else (including a seed 000 peer's plain-text ERR_MSG).
    Other = 0,
    /// The peer speaks another protocol version.
    VersionMismatch = 1,
    /// A proposed parameter is outside what the receiver accepts.
    BadParameters = 2,
    /// The server has no room for another connection.
    ServerFull = 3,
    /// The application refused the connection.
    Refused = 4,
    /// The peer broke the protocol.
    ProtocolViolation = 5,
    /// The connection was silent for too long.
    IdleTimeout = 6,
    /// The peer aborted the connection.
    Aborted = 7,
    /// The receiver has no such connection.
    UnknownConnection = 8,
}

impl ErrorCode {
    /// The code for a byte (unknown bytes are `Other`).
    pub const fn from_u8(v: u8) -> ErrorCode {
        match v {
            1 => ErrorCode::VersionMismatch,
            2 => ErrorCode::BadParameters,
            3 => ErrorCode::ServerFull,
            4 => ErrorCode::Refused,
            5 => ErrorCode::ProtocolViolation,
            6 => ErrorCode::IdleTimeout,
            7 => ErrorCode::Aborted,
            8 => ErrorCode::UnknownConnection,
            _ => ErrorCode::Other,
        }
    }

    /// A short constant description.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Other => "error",
            ErrorCode::VersionMismatch => "protocol version mismatch",
            ErrorCode::BadParameters => "parameters not acceptable",
            ErrorCode::ServerFull => "server full",
            ErrorCode::Refused => "connection refused",
            ErrorCode::ProtocolViolation => "protocol violation",
            ErrorCode::IdleTimeout => "idle timeout",
            ErrorCode::Aborted => "connection aborted",
            ErrorCode::UnknownConnection => "unknown connection",
        }
    }
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
    /// Parses an ERR_MSG payload: `[code u8][reason]`.
    pub fn parse(payload: &'a [u8]) -> ErrRepr<'a> {
        match payload.split_first() {
            Some((&code, reason)) => ErrRepr { code: ErrorCode::from_u8(code), reason },
            None => ErrRepr { code: ErrorCode::Other, reason: &[] },
        }
    }

    /// Writes the payload, the reason cut to fit `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> usize {
        let Some((code, rest)) = out.split_first_mut() else {
            return 0;
        };
        *code = self.code as u8;
        let mut n = self.reason.len().min(rest.len());
        // cut at a character boundary
        while n > 0 && n < self.reason.len() && self.reason.get(n).is_some_and(|b| b & 0xc0 == 0x80) {
            n -= 1;
        }
        if let (Some(dst), Some(src)) = (rest.get_mut(..n), self.reason.get(..n)) {
            copy_prefix(dst, src);
        }
        1 + n
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

/// Bytes of a RESET payload.
pub const RESET_LEN: usize = 3;

impl ResetRepr {
    /// Parses a RESET payload.
    pub fn parse(payload: &[u8]) -> Result<ResetRepr, Error> {
        match *payload {
            [code, t0, t1] => Ok(ResetRepr { code: ErrorCode::from_u8(code), token: u16::from_be_bytes([t0, t1]) }),
            _ => Err(Error::LengthMismatch { declared: RESET_LEN, actual: payload.len() }),
        }
    }

    /// The payload bytes.
    pub fn to_bytes(&self) -> [u8; RESET_LEN] {
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

/// Bytes of a HEARTBEAT payload (seed 000's heartbeat is empty: a ping without a stamp).
pub const HEARTBEAT_LEN: usize = 5;

impl HeartbeatRepr {
    /// Parses a HEARTBEAT payload; an empty one (seed 000) is a ping.
    pub fn parse(payload: &[u8]) -> Result<HeartbeatRepr, Error> {
        match *payload {
            [] => Ok(HeartbeatRepr { pong: false, stamp: 0 }),
            [kind @ (0 | 1), a, b, c, d] => {
                Ok(HeartbeatRepr { pong: kind == 1, stamp: u32::from_be_bytes([a, b, c, d]) })
            }
            _ => Err(Error::Malformed),
        }
    }

    /// The payload bytes.
    pub fn to_bytes(&self) -> [u8; HEARTBEAT_LEN] {
        let [a, b, c, d] = self.stamp.to_be_bytes();
        [u8::from(self.pong), a, b, c, d]
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    const PARAMS: Params = Params { max_payload: 1200, window: 32, heartbeat_ms: 1000, idle_timeout_ms: 10_000 };

    #[test]
    fn syn_round_trip_with_padding() {
        let syn =
            SynRepr { version: 1, flags: FLAG_CRC_SUPPORTED, client_id: 7, isn: 99, params: PARAMS, extension: b"key" };
        let mut buf = [0u8; 128];
        let n = syn.emit(&mut buf, 20).unwrap();
        assert_eq!(n, SYN_FIXED_LEN + 3 + 20);
        assert_eq!(SynRepr::parse(&buf[..n]).unwrap(), syn);
        assert!(SynRepr::parse(&buf[..SYN_FIXED_LEN - 1]).is_err());
        assert!(syn.emit(&mut buf[..10], 0).is_err());
    }

    #[test]
    fn agreement_round_trips() {
        let agreement = Agreement {
            version: 1,
            flags: FLAG_CRC,
            client_id: 1,
            client_isn: 2,
            server_id: 3,
            server_isn: 4,
            params: PARAMS,
            cookie_time: 5,
            cookie: 0x0102_0304_0506_0708,
        };
        let mut buf = [0u8; 128];
        let n = HandshakeAckRepr { agreement, extension: b"" }.emit(&mut buf).unwrap();
        assert_eq!(n, HANDSHAKE_ACK_FIXED_LEN);
        assert_eq!(HandshakeAckRepr::parse(&buf[..n]).unwrap().agreement, agreement);
        let n = SynAckRepr { agreement, extension: b"xy" }.emit(&mut buf).unwrap();
        assert_eq!(n, SYN_ACK_FIXED_LEN + 2);
        let parsed = SynAckRepr::parse(&buf[..n]).unwrap();
        assert_eq!(parsed.agreement, Agreement { client_isn: 0, ..agreement });
        assert_eq!(parsed.extension, b"xy");
    }

    #[test]
    fn err_reason_is_cut_at_a_character_boundary() {
        let err = ErrRepr { code: ErrorCode::ServerFull, reason: "server full: ééé".as_bytes() };
        let mut buf = [0u8; 16];
        let n = err.emit(&mut buf);
        let parsed = ErrRepr::parse(&buf[..n]);
        assert_eq!(parsed.code, ErrorCode::ServerFull);
        assert!(core::str::from_utf8(parsed.reason).is_ok());
        assert_eq!(ErrRepr::parse(b"").code, ErrorCode::Other);
    }

    #[test]
    fn heartbeat_and_reset() {
        assert_eq!(HeartbeatRepr::parse(&[]).unwrap(), HeartbeatRepr { pong: false, stamp: 0 });
        let hb = HeartbeatRepr { pong: true, stamp: 0xdead_beef };
        assert_eq!(HeartbeatRepr::parse(&hb.to_bytes()).unwrap(), hb);
        assert!(HeartbeatRepr::parse(&[2, 0, 0, 0, 0]).is_err());
        let reset = ResetRepr { code: ErrorCode::UnknownConnection, token: 0x1234 };
        assert_eq!(ResetRepr::parse(&reset.to_bytes()).unwrap(), reset);
    }
}
