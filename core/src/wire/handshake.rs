//! Payloads of the handshake packets: SYN, SYN_ACK and HANDSHAKE_ACK
//! (`docs/PROTOCOL.md` section 7.3), and the [`ErrorCode`] that ERR_MSG and
//! RESET carry (their payloads are in [`super::control`]).

use core::ops::Range;

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
pub const SYN_FIXED_LEN: usize = field::SYN.ext_len.end;
/// Bytes of a SYN_ACK payload before its extension.
pub const SYN_ACK_FIXED_LEN: usize = field::SYN_ACK.ext_len.end;
/// Bytes of a HANDSHAKE_ACK payload before its extension.
pub const HANDSHAKE_ACK_FIXED_LEN: usize = field::HANDSHAKE_ACK.ext_len.end;

/// Byte positions of the handshake payloads' fields, in one place.
mod field {
    use core::ops::Range;

    /// First in all three payloads.
    pub const VERSION: Range<usize> = 0..1;
    /// First in all three payloads.
    pub const FLAGS: Range<usize> = 1..2;
    /// First in all three payloads.
    pub const CLIENT_ID: Range<usize> = 2..6;

    /// Within the parameters block.
    pub const MAX_PAYLOAD: Range<usize> = 0..2;
    /// Within the parameters block.
    pub const WINDOW: Range<usize> = 2..4;
    /// Within the parameters block.
    pub const HEARTBEAT_MS: Range<usize> = 4..8;
    /// Within the parameters block.
    pub const IDLE_TIMEOUT_MS: Range<usize> = 8..12;

    /// Where a payload's fields after `CLIENT_ID` sit; `None` for fields it does not carry.
    pub struct Layout {
        pub client_isn: Option<Range<usize>>,
        pub server_id: Option<Range<usize>>,
        pub server_isn: Option<Range<usize>>,
        pub params: Range<usize>,
        pub cookie_time: Option<Range<usize>>,
        pub cookie: Option<Range<usize>>,
        pub ext_len: Range<usize>,
    }

    pub const SYN: Layout = Layout {
        client_isn: Some(6..10),
        server_id: None,
        server_isn: None,
        params: 10..22,
        cookie_time: None,
        cookie: None,
        ext_len: 22..24,
    };

    pub const SYN_ACK: Layout = Layout {
        client_isn: None,
        server_id: Some(6..10),
        server_isn: Some(10..14),
        params: 14..26,
        cookie_time: Some(26..30),
        cookie: Some(30..38),
        ext_len: 38..40,
    };

    pub const HANDSHAKE_ACK: Layout = Layout {
        client_isn: Some(6..10),
        server_id: Some(10..14),
        server_isn: Some(14..18),
        params: 18..30,
        cookie_time: Some(30..34),
        cookie: Some(34..42),
        ext_len: 42..44,
    };
}

/// The `N` bytes at `range` of a payload whose fixed part was checked
/// present (zeros for a field the layout does not have).
fn bytes_at<const N: usize>(payload: &[u8], range: Option<Range<usize>>) -> [u8; N] {
    range.and_then(|r| payload.get(r)).and_then(|b| <[u8; N]>::try_from(b).ok()).unwrap_or([0; N])
}

fn u8_at(payload: &[u8], range: Range<usize>) -> u8 {
    let [byte] = bytes_at(payload, Some(range));
    byte
}

fn u16_at(payload: &[u8], range: Range<usize>) -> u16 {
    u16::from_be_bytes(bytes_at(payload, Some(range)))
}

fn u32_at(payload: &[u8], range: Option<Range<usize>>) -> u32 {
    u32::from_be_bytes(bytes_at(payload, range))
}

/// Writes `bytes` at `range` of `out` (nothing for a field the layout does not have).
fn put(out: &mut [u8], range: Option<Range<usize>>, bytes: &[u8]) {
    if let Some(dst) = range.and_then(|r| out.get_mut(r)) {
        for (d, s) in dst.iter_mut().zip(bytes) {
            *d = *s;
        }
    }
}

/// Parses the fixed part and the extension of a payload laid out as
/// `layout`; returns the extension and the bytes after it.
fn parse_frame<'a>(payload: &'a [u8], layout: &field::Layout) -> Result<(&'a [u8], &'a [u8]), Error> {
    let fixed = layout.ext_len.end;
    let Some((_, rest)) = payload.split_at_checked(fixed) else {
        return Err(Error::Truncated { needed: fixed, available: payload.len() });
    };
    let len = usize::from(u16_at(payload, layout.ext_len.clone()));
    if len > MAX_EXTENSION {
        return Err(Error::Malformed);
    }
    rest.split_at_checked(len).ok_or(Error::Truncated { needed: fixed + len, available: payload.len() })
}

/// Checks that `len` bytes fit `out` and the extension fits its length
/// field; writes the extension and zeros the rest of the `len` bytes.
fn emit_frame<'a>(
    out: &'a mut [u8],
    len: usize,
    layout: &field::Layout,
    extension: &[u8],
) -> Result<&'a mut [u8], Error> {
    if extension.len() > MAX_EXTENSION {
        return Err(Error::PayloadTooLarge { len: extension.len(), max: MAX_EXTENSION });
    }
    let available = out.len();
    let Some(out) = out.get_mut(..len) else {
        return Err(Error::BufferTooSmall { needed: len, available });
    };
    out.fill(0);
    put(out, Some(layout.ext_len.clone()), &(extension.len() as u16).to_be_bytes());
    put(out, Some(layout.ext_len.end..layout.ext_len.end + extension.len()), extension);
    Ok(out)
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
    fn read(payload: &[u8], at: &Range<usize>) -> Params {
        let block = payload.get(at.clone()).unwrap_or(&[]);
        Params {
            max_payload: u16_at(block, field::MAX_PAYLOAD),
            window: u16_at(block, field::WINDOW),
            heartbeat_ms: u32_at(block, Some(field::HEARTBEAT_MS)),
            idle_timeout_ms: u32_at(block, Some(field::IDLE_TIMEOUT_MS)),
        }
    }

    fn write(&self, out: &mut [u8], at: &Range<usize>) {
        if let Some(block) = out.get_mut(at.clone()) {
            put(block, Some(field::MAX_PAYLOAD), &self.max_payload.to_be_bytes());
            put(block, Some(field::WINDOW), &self.window.to_be_bytes());
            put(block, Some(field::HEARTBEAT_MS), &self.heartbeat_ms.to_be_bytes());
            put(block, Some(field::IDLE_TIMEOUT_MS), &self.idle_timeout_ms.to_be_bytes());
        }
    }
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
    /// Bytes after the extension: zeros when emitted, ignored (only
    /// counted) when parsed. They let the server answer with as many bytes
    /// as the SYN had.
    pub padding: usize,
}

impl<'a> SynRepr<'a> {
    /// Parses a SYN payload (the bytes after the extension count as padding).
    pub fn parse(payload: &'a [u8]) -> Result<SynRepr<'a>, Error> {
        let (extension, padding) = parse_frame(payload, &field::SYN)?;
        Ok(SynRepr {
            version: u8_at(payload, field::VERSION),
            flags: u8_at(payload, field::FLAGS),
            client_id: u32_at(payload, Some(field::CLIENT_ID)),
            isn: u32_at(payload, field::SYN.client_isn),
            params: Params::read(payload, &field::SYN.params),
            extension,
            padding: padding.len(),
        })
    }

    /// Bytes [`SynRepr::emit`] writes: the fixed part, the extension and the padding.
    pub fn buffer_len(&self) -> usize {
        SYN_FIXED_LEN + self.extension.len() + self.padding
    }

    /// Writes the payload at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let len = self.buffer_len();
        let out = emit_frame(out, len, &field::SYN, self.extension)?;
        put(out, Some(field::VERSION), &[self.version]);
        put(out, Some(field::FLAGS), &[self.flags]);
        put(out, Some(field::CLIENT_ID), &self.client_id.to_be_bytes());
        put(out, field::SYN.client_isn, &self.isn.to_be_bytes());
        self.params.write(out, &field::SYN.params);
        Ok(len)
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
    /// Parses an agreement laid out as `layout`, and its extension (bytes after it are ignored).
    fn parse<'a>(payload: &'a [u8], layout: &field::Layout) -> Result<(Agreement, &'a [u8]), Error> {
        let (extension, _) = parse_frame(payload, layout)?;
        let agreement = Agreement {
            version: u8_at(payload, field::VERSION),
            flags: u8_at(payload, field::FLAGS),
            client_id: u32_at(payload, Some(field::CLIENT_ID)),
            client_isn: u32_at(payload, layout.client_isn.clone()),
            server_id: u32_at(payload, layout.server_id.clone()),
            server_isn: u32_at(payload, layout.server_isn.clone()),
            params: Params::read(payload, &layout.params),
            cookie_time: u32_at(payload, layout.cookie_time.clone()),
            cookie: u64::from_be_bytes(bytes_at(payload, layout.cookie.clone())),
        };
        Ok((agreement, extension))
    }

    /// Writes the agreement laid out as `layout`, and `extension`; returns the length.
    fn emit(&self, out: &mut [u8], layout: &field::Layout, extension: &[u8]) -> Result<usize, Error> {
        let len = layout.ext_len.end + extension.len();
        let out = emit_frame(out, len, layout, extension)?;
        put(out, Some(field::VERSION), &[self.version]);
        put(out, Some(field::FLAGS), &[self.flags]);
        put(out, Some(field::CLIENT_ID), &self.client_id.to_be_bytes());
        put(out, layout.client_isn.clone(), &self.client_isn.to_be_bytes());
        put(out, layout.server_id.clone(), &self.server_id.to_be_bytes());
        put(out, layout.server_isn.clone(), &self.server_isn.to_be_bytes());
        self.params.write(out, &layout.params);
        put(out, layout.cookie_time.clone(), &self.cookie_time.to_be_bytes());
        put(out, layout.cookie.clone(), &self.cookie.to_be_bytes());
        Ok(len)
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
        let (agreement, extension) = Agreement::parse(payload, &field::SYN_ACK)?;
        Ok(SynAckRepr { agreement, extension })
    }

    /// Bytes [`SynAckRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        SYN_ACK_FIXED_LEN + self.extension.len()
    }

    /// Writes the payload at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.agreement.emit(out, &field::SYN_ACK, self.extension)
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
        let (agreement, extension) = Agreement::parse(payload, &field::HANDSHAKE_ACK)?;
        Ok(HandshakeAckRepr { agreement, extension })
    }

    /// Bytes [`HandshakeAckRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HANDSHAKE_ACK_FIXED_LEN + self.extension.len()
    }

    /// Writes the payload at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.agreement.emit(out, &field::HANDSHAKE_ACK, self.extension)
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
