//! Payloads of the handshake packets: SYN, SYN_ACK and HANDSHAKE_ACK
//! (`docs/PROTOCOL.md` section 7.3), and the [`ErrorCode`] that ERR_MSG and
//! RESET carry (their payloads are in [`super::control`]).

use crate::bytes::copy_prefix;
use crate::error::Error;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// Handshake flag: the sender supports CRC-32C.
pub const FLAG_CRC_SUPPORTED: u8 = 0x01;
/// Handshake flag: the sender prefers CRC-32C (SYN) / CRC-32C was chosen (SYN_ACK, HANDSHAKE_ACK).
pub const FLAG_CRC: u8 = 0x02;
/// Handshake flag: the sender takes coalesced datagrams (SYN) / both sides
/// send them (SYN_ACK, HANDSHAKE_ACK); `docs/PROTOCOL.md` 4.1.
pub const FLAG_COALESCE: u8 = 0x04;

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

// The fields follow each other in the order of PROTOCOL 7.3, each big-endian
// and as wide as its type: `SynRepr::parse`/`emit`, `Params::read`/`write`
// and `Agreement::read`/`write` are where that order is written down, read
// and written by the same `Reader` and `Writer`.

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
        let [byte] = self.take()?;
        Ok(byte)
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
    /// The length-prefixed extension (at most [`MAX_EXTENSION`] bytes).
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

/// Writes big-endian fields into a slice of exactly the payload's length
/// (checked once by [`Writer::new`]).
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    /// A writer of `len` bytes at the start of `out`, whose extension must fit its length field.
    fn new(out: &'a mut [u8], len: usize, extension: &[u8]) -> Result<Writer<'a>, Error> {
        if extension.len() > MAX_EXTENSION {
            return Err(Error::PayloadTooLarge { len: extension.len(), max: MAX_EXTENSION });
        }
        let available = out.len();
        match out.get_mut(..len) {
            Some(out) => Ok(Writer { out, at: 0 }),
            None => Err(Error::BufferTooSmall { needed: len, available }),
        }
    }
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.at..self.at + bytes.len()) {
            copy_prefix(dst, bytes);
        }
        self.at += bytes.len();
    }
    fn extension(&mut self, ext: &[u8]) {
        self.put(&(ext.len() as u16).to_be_bytes());
        self.put(ext);
    }
    /// Zeros the rest (the padding); returns the length written.
    fn finish(self) -> usize {
        if let Some(rest) = self.out.get_mut(self.at..) {
            rest.fill(0);
        }
        self.out.len()
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

impl Params {
    fn read(r: &mut Reader<'_>) -> Result<Params, Error> {
        Ok(Params { max_payload: r.u16()?, window: r.u16()?, heartbeat_ms: r.u32()?, idle_timeout_ms: r.u32()? })
    }

    fn write(&self, w: &mut Writer<'_>) {
        let [p0, p1] = self.max_payload.to_be_bytes();
        let [w0, w1] = self.window.to_be_bytes();
        let [h0, h1, h2, h3] = self.heartbeat_ms.to_be_bytes();
        let [i0, i1, i2, i3] = self.idle_timeout_ms.to_be_bytes();
        w.put(&[p0, p1, w0, w1, h0, h1, h2, h3, i0, i1, i2, i3]);
    }
}

/// SYN (client -> server): the client's proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SynRepr<'a> {
    /// Protocol version.
    pub version: u8,
    /// `FLAG_CRC_SUPPORTED`, `FLAG_CRC` (preferred), `FLAG_COALESCE`.
    pub flags: u8,
    /// The client's random connection id half.
    pub client_id: u32,
    /// The client's initial sequence number.
    pub isn: u32,
    /// The client's limits and wishes.
    pub params: Params,
    /// Extension data (room for a key exchange).
    pub extension: &'a [u8],
    /// Bytes after the extension: zeros when emitted, ignored (only
    /// counted) when parsed. They let the server answer with as many bytes
    /// as the SYN had.
    pub padding: usize,
}

impl<'a> SynRepr<'a> {
    /// Parses a SYN payload (the bytes after the extension count as padding).
    pub fn parse(payload: &'a [u8]) -> Result<SynRepr<'a>, Error> {
        let mut r = Reader(payload);
        let syn = SynRepr {
            version: r.u8()?,
            flags: r.u8()?,
            client_id: r.u32()?,
            isn: r.u32()?,
            params: Params::read(&mut r)?,
            extension: r.extension()?,
            padding: 0,
        };
        Ok(SynRepr { padding: r.0.len(), ..syn })
    }

    /// Bytes [`SynRepr::emit`] writes: the fixed part, the extension and the padding.
    pub fn buffer_len(&self) -> usize {
        SYN_FIXED_LEN + self.extension.len() + self.padding
    }

    /// Writes the payload at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut w = Writer::new(out, self.buffer_len(), self.extension)?;
        w.put(&[self.version, self.flags]);
        w.put(&self.client_id.to_be_bytes());
        w.put(&self.isn.to_be_bytes());
        self.params.write(&mut w);
        w.extension(self.extension);
        Ok(w.finish())
    }
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

impl Agreement {
    /// Reads an agreement; the SYN_ACK form has no `client_isn` (it reads as 0).
    fn read(r: &mut Reader<'_>, with_client_isn: bool) -> Result<Agreement, Error> {
        let (version, flags, client_id) = (r.u8()?, r.u8()?, r.u32()?);
        let client_isn = if with_client_isn { r.u32()? } else { 0 };
        let (server_id, server_isn) = (r.u32()?, r.u32()?);
        let params = Params::read(r)?;
        let (cookie_time, cookie) = (r.u32()?, r.u64()?);
        Ok(Agreement { version, flags, client_id, client_isn, server_id, server_isn, params, cookie_time, cookie })
    }

    /// Writes an agreement, with or without `client_isn`, then `extension`; returns the length.
    fn emit(&self, out: &mut [u8], with_client_isn: bool, extension: &[u8]) -> Result<usize, Error> {
        let fixed = if with_client_isn { HANDSHAKE_ACK_FIXED_LEN } else { SYN_ACK_FIXED_LEN };
        let mut w = Writer::new(out, fixed + extension.len(), extension)?;
        w.put(&[self.version, self.flags]);
        w.put(&self.client_id.to_be_bytes());
        if with_client_isn {
            w.put(&self.client_isn.to_be_bytes());
        }
        w.put(&self.server_id.to_be_bytes());
        w.put(&self.server_isn.to_be_bytes());
        self.params.write(&mut w);
        w.put(&self.cookie_time.to_be_bytes());
        w.put(&self.cookie.to_be_bytes());
        w.extension(extension);
        Ok(w.finish())
    }
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
    /// Parses a SYN_ACK payload (bytes after the extension are ignored).
    pub fn parse(payload: &'a [u8]) -> Result<SynAckRepr<'a>, Error> {
        let mut r = Reader(payload);
        let agreement = Agreement::read(&mut r, false)?;
        Ok(SynAckRepr { agreement, extension: r.extension()? })
    }

    /// Bytes [`SynAckRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        SYN_ACK_FIXED_LEN + self.extension.len()
    }

    /// Writes the payload at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.agreement.emit(out, false, self.extension)
    }
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
    /// Parses a HANDSHAKE_ACK payload (bytes after the extension are ignored).
    pub fn parse(payload: &'a [u8]) -> Result<HandshakeAckRepr<'a>, Error> {
        let mut r = Reader(payload);
        let agreement = Agreement::read(&mut r, true)?;
        Ok(HandshakeAckRepr { agreement, extension: r.extension()? })
    }

    /// Bytes [`HandshakeAckRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HANDSHAKE_ACK_FIXED_LEN + self.extension.len()
    }

    /// Writes the payload at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.agreement.emit(out, true, self.extension)
    }
}

/// Error codes carried by ERR_MSG (and RESET) packets.
///
/// The code is the byte on the wire ([`ErrorCode::code`], PROTOCOL 9.3): its
/// own space, apart from the crate's error codes of [`crate::describe`]. A
/// peer's code no variant has arrives as [`ErrorCode::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
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

    /// The byte on the wire (0..=8 so far; stable).
    pub const fn code(&self) -> u8 {
        *self as u8
    }

    /// A short constant description.
    pub const fn as_str(&self) -> &'static str {
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

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    const PARAMS: Params = Params { max_payload: 1200, window: 32, heartbeat_ms: 1000, idle_timeout_ms: 10_000 };

    const AGREEMENT: Agreement = Agreement {
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

    /// Every format's contract: emit writes `buffer_len` bytes, parse gives
    /// the value back, one byte less of buffer is a typed error, and so is
    /// every cut of the payload before the end of its extension.
    macro_rules! check_contract {
        ($repr:expr, $ty:ident, $meaningful:expr) => {{
            let repr = $repr;
            let mut buf = [0xa5u8; 256];
            let n = repr.emit(&mut buf).unwrap();
            assert_eq!(n, repr.buffer_len());
            assert_eq!($ty::parse(&buf[..n]).unwrap(), repr);
            assert_eq!(repr.emit(&mut buf[..n - 1]), Err(Error::BufferTooSmall { needed: n, available: n - 1 }));
            for cut in 0..$meaningful {
                assert!($ty::parse(&buf[..cut]).is_err(), "{cut} of {n} bytes parsed");
            }
        }};
    }

    #[test]
    fn syn_round_trip_with_padding() {
        let syn = SynRepr {
            version: 1,
            flags: FLAG_CRC_SUPPORTED,
            client_id: 7,
            isn: 99,
            params: PARAMS,
            extension: b"key",
            padding: 20,
        };
        let mut buf = [0xffu8; 128];
        let n = syn.emit(&mut buf).unwrap();
        assert_eq!(n, SYN_FIXED_LEN + 3 + 20);
        assert!(buf[SYN_FIXED_LEN + 3..n].iter().all(|&b| b == 0), "padding is zeros");
        check_contract!(syn, SynRepr, SYN_FIXED_LEN + 3);
        let bare = SynRepr { extension: b"", padding: 0, ..syn };
        check_contract!(bare, SynRepr, SYN_FIXED_LEN);
        assert_eq!(bare.buffer_len(), SYN_FIXED_LEN);
    }

    #[test]
    fn syn_bytes_are_laid_out_as_documented() {
        let syn = SynRepr {
            version: 1,
            flags: 3,
            client_id: 0x0a0b_0c0d,
            isn: 0x1112_1314,
            params: Params {
                max_payload: 0x2122,
                window: 0x2324,
                heartbeat_ms: 0x2526_2728,
                idle_timeout_ms: 0x292a_2b2c,
            },
            extension: b"E",
            padding: 1,
        };
        let mut buf = [0u8; 26];
        assert_eq!(syn.emit(&mut buf), Ok(26));
        assert_eq!(
            buf,
            [
                1, 3, 0x0a, 0x0b, 0x0c, 0x0d, 0x11, 0x12, 0x13, 0x14, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
                0x29, 0x2a, 0x2b, 0x2c, 0, 1, b'E', 0
            ]
        );
    }

    #[test]
    fn agreement_bytes_are_laid_out_as_documented() {
        let agreement = Agreement {
            version: 1,
            flags: 2,
            client_id: 0x0a0b_0c0d,
            client_isn: 0x1112_1314,
            server_id: 0x2122_2324,
            server_isn: 0x3132_3334,
            params: Params {
                max_payload: 0x4142,
                window: 0x4344,
                heartbeat_ms: 0x4546_4748,
                idle_timeout_ms: 0x494a_4b4c,
            },
            cookie_time: 0x5152_5354,
            cookie: 0x6162_6364_6566_6768,
        };
        let tail = [
            0x21, 0x22, 0x23, 0x24, 0x31, 0x32, 0x33, 0x34, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
            0x4b, 0x4c, 0x51, 0x52, 0x53, 0x54, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0, 1, b'E',
        ];
        let mut buf = [0u8; 64];
        let n = HandshakeAckRepr { agreement, extension: b"E" }.emit(&mut buf).unwrap();
        assert_eq!(buf[..10], [1, 2, 0x0a, 0x0b, 0x0c, 0x0d, 0x11, 0x12, 0x13, 0x14]);
        assert_eq!(buf[10..n], tail);
        let n = SynAckRepr { agreement, extension: b"E" }.emit(&mut buf).unwrap();
        assert_eq!(buf[..6], [1, 2, 0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(buf[6..n], tail);
    }

    #[test]
    fn agreement_round_trips() {
        let ack = HandshakeAckRepr { agreement: AGREEMENT, extension: b"" };
        check_contract!(ack, HandshakeAckRepr, HANDSHAKE_ACK_FIXED_LEN);
        assert_eq!(ack.buffer_len(), HANDSHAKE_ACK_FIXED_LEN);
        let ack = HandshakeAckRepr { agreement: AGREEMENT, extension: b"client key" };
        check_contract!(ack, HandshakeAckRepr, HANDSHAKE_ACK_FIXED_LEN + 10);
        // a SYN_ACK leaves the client's ISN out: it parses as 0
        let syn_ack = SynAckRepr { agreement: Agreement { client_isn: 0, ..AGREEMENT }, extension: b"xy" };
        check_contract!(syn_ack, SynAckRepr, SYN_ACK_FIXED_LEN + 2);
        assert_eq!(syn_ack.buffer_len(), SYN_ACK_FIXED_LEN + 2);
        let mut buf = [0u8; 64];
        let n = SynAckRepr { agreement: AGREEMENT, extension: b"xy" }.emit(&mut buf).unwrap();
        assert_eq!(SynAckRepr::parse(&buf[..n]).unwrap(), syn_ack);
    }

    #[test]
    fn extensions_beyond_512_bytes_are_refused_both_ways() {
        let long = [0u8; MAX_EXTENSION + 1];
        let ack = SynAckRepr { agreement: AGREEMENT, extension: &long };
        let mut buf = [0u8; 600];
        assert_eq!(ack.emit(&mut buf), Err(Error::PayloadTooLarge { len: 513, max: MAX_EXTENSION }));
        let n = SynAckRepr { agreement: AGREEMENT, extension: &long[..512] }.emit(&mut buf).unwrap();
        buf[SYN_ACK_FIXED_LEN - 2..SYN_ACK_FIXED_LEN].copy_from_slice(&513u16.to_be_bytes());
        assert_eq!(SynAckRepr::parse(&buf[..n + 1]), Err(Error::Malformed));
    }
}
