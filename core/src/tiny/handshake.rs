//! The three handshake payloads (`docs/PROTOCOL.md` 7.3) as lists of
//! fields, written and read by one routine each: the SYN and the
//! HANDSHAKE_ACK this client sends, the SYN_ACK it reads. The same bytes as
//! [`crate::wire::handshake`]'s `SynRepr`, `HandshakeAckRepr` and
//! `SynAckRepr`, without an extension (this client sends none and skips the
//! server's) and without a generic writer per packet.

use crate::error::Error;
use crate::wire::handshake::{Agreement, MAX_EXTENSION};

/// One big-endian field of a handshake payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Version,
    Flags,
    ClientId,
    ClientIsn,
    ServerId,
    ServerIsn,
    MaxPayload,
    Window,
    HeartbeatMs,
    IdleTimeoutMs,
    CookieTime,
    /// The 64-bit cookie's high half.
    CookieHigh,
    /// The 64-bit cookie's low half.
    CookieLow,
    /// The extension's length (16 bits); 0 when written.
    ExtensionLen,
    /// Four zero bytes of padding (read as anything).
    Zero,
}

use Field::*;

/// The SYN: version, flags, id, ISN, parameters, no extension, then padding
/// to the SYN_ACK's fixed size (16 bytes), which bounds the answer (7.3).
pub(super) const SYN: &[Field] = &[
    Version,
    Flags,
    ClientId,
    ClientIsn,
    MaxPayload,
    Window,
    HeartbeatMs,
    IdleTimeoutMs,
    ExtensionLen,
    Zero,
    Zero,
    Zero,
    Zero,
];

/// The SYN_ACK: the agreement without the client's ISN; its extension follows.
pub(super) const SYN_ACK: &[Field] = &[
    Version,
    Flags,
    ClientId,
    ServerId,
    ServerIsn,
    MaxPayload,
    Window,
    HeartbeatMs,
    IdleTimeoutMs,
    CookieTime,
    CookieHigh,
    CookieLow,
    ExtensionLen,
];

/// The HANDSHAKE_ACK: the whole agreement, no extension.
pub(super) const HANDSHAKE_ACK: &[Field] = &[
    Version,
    Flags,
    ClientId,
    ClientIsn,
    ServerId,
    ServerIsn,
    MaxPayload,
    Window,
    HeartbeatMs,
    IdleTimeoutMs,
    CookieTime,
    CookieHigh,
    CookieLow,
    ExtensionLen,
];

impl Field {
    /// Bytes on the wire.
    const fn width(self) -> usize {
        match self {
            Version | Flags => 1,
            MaxPayload | Window | ExtensionLen => 2,
            _ => 4,
        }
    }

    fn get(self, a: &Agreement) -> u32 {
        match self {
            Version => a.version.into(),
            Flags => a.flags.into(),
            ClientId => a.client_id,
            ClientIsn => a.client_isn,
            ServerId => a.server_id,
            ServerIsn => a.server_isn,
            MaxPayload => a.params.max_payload.into(),
            Window => a.params.window.into(),
            HeartbeatMs => a.params.heartbeat_ms,
            IdleTimeoutMs => a.params.idle_timeout_ms,
            CookieTime => a.cookie_time,
            CookieHigh => (a.cookie >> 32) as u32,
            CookieLow => a.cookie as u32,
            ExtensionLen | Zero => 0,
        }
    }

    /// Stores `v` (read as wide as the field) into `a`.
    fn set(self, a: &mut Agreement, v: u32) {
        match self {
            Version => a.version = v as u8,
            Flags => a.flags = v as u8,
            ClientId => a.client_id = v,
            ClientIsn => a.client_isn = v,
            ServerId => a.server_id = v,
            ServerIsn => a.server_isn = v,
            MaxPayload => a.params.max_payload = v as u16,
            Window => a.params.window = v as u16,
            HeartbeatMs => a.params.heartbeat_ms = v,
            IdleTimeoutMs => a.params.idle_timeout_ms = v,
            CookieTime => a.cookie_time = v,
            CookieHigh => a.cookie = (a.cookie & 0xffff_ffff) | u64::from(v) << 32,
            CookieLow => a.cookie = (a.cookie & !0xffff_ffff) | u64::from(v),
            ExtensionLen | Zero => {}
        }
    }
}

/// Writes `fields` of `a` at the start of `out`; their length, or `None`
/// when `out` is too short.
pub(super) fn write(out: &mut [u8], fields: &[Field], a: &Agreement) -> Option<usize> {
    let mut at = 0;
    for &field in fields {
        let value = field.get(a);
        let mut shift = field.width() * 8;
        while shift > 0 {
            shift -= 8;
            *out.get_mut(at)? = (value >> shift) as u8;
            at += 1;
        }
    }
    Some(at)
}

/// Reads `fields` from the start of `payload` into `a` (fields not listed
/// keep their value), then skips the extension whose length the last field
/// gave, with the checks of [`crate::wire::handshake`]'s parsers: a payload
/// shorter than the fields and the extension is [`Error::Truncated`], an
/// extension longer than [`MAX_EXTENSION`] [`Error::Malformed`]; bytes
/// after the extension are ignored.
pub(super) fn read(payload: &[u8], fields: &[Field], a: &mut Agreement) -> Result<(), Error> {
    let mut at = 0;
    let mut value = 0;
    for &field in fields {
        let Some(bytes) = payload.get(at..at + field.width()) else {
            return Err(Error::Truncated { needed: field.width(), available: payload.len().saturating_sub(at) });
        };
        value = bytes.iter().fold(0, |v, &byte| v << 8 | u32::from(byte));
        field.set(a, value);
        at += field.width();
    }
    let extension = value as usize; // the last field is `ExtensionLen`
    if extension > MAX_EXTENSION {
        return Err(Error::Malformed);
    }
    let available = payload.len().saturating_sub(at);
    if extension > available {
        return Err(Error::Truncated { needed: extension, available });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::handshake::{
        HandshakeAckRepr, Params, SynAckRepr, SynRepr, HANDSHAKE_ACK_FIXED_LEN, SYN_ACK_FIXED_LEN, SYN_FIXED_LEN,
    };

    /// Every field different and every byte of it nonzero, so a field
    /// written out of order or at the wrong width shows.
    const AGREEMENT: Agreement = Agreement {
        version: 0x81,
        flags: 0x82,
        client_id: 0x8384_8586,
        client_isn: 0x8788_898a,
        server_id: 0x8b8c_8d8e,
        server_isn: 0x8f90_9192,
        params: Params { max_payload: 0x9394, window: 0x9596, heartbeat_ms: 0x9798_999a, idle_timeout_ms: 0x9b9c_9d9e },
        cookie_time: 0x9fa0_a1a2,
        cookie: 0xa3a4_a5a6_a7a8_a9aa,
    };

    #[test]
    fn the_syn_is_the_wire_modules_syn_padded_to_a_syn_ack() {
        let a = AGREEMENT;
        let syn = SynRepr {
            version: a.version,
            flags: a.flags,
            client_id: a.client_id,
            isn: a.client_isn,
            params: a.params,
            extension: &[],
            padding: SYN_ACK_FIXED_LEN - SYN_FIXED_LEN,
        };
        let mut expected = [0u8; SYN_ACK_FIXED_LEN];
        assert_eq!(syn.emit(&mut expected), Ok(SYN_ACK_FIXED_LEN));
        let mut written = [0xffu8; SYN_ACK_FIXED_LEN + 1];
        assert_eq!(write(&mut written, SYN, &a), Some(SYN_ACK_FIXED_LEN));
        assert_eq!(written[..SYN_ACK_FIXED_LEN], expected);
        assert_eq!(written[SYN_ACK_FIXED_LEN], 0xff);
        assert_eq!(write(&mut written[..SYN_ACK_FIXED_LEN - 1], SYN, &a), None);
    }

    #[test]
    fn the_handshake_ack_is_the_wire_modules() {
        let mut expected = [0u8; HANDSHAKE_ACK_FIXED_LEN];
        let repr = HandshakeAckRepr { agreement: AGREEMENT, extension: &[] };
        assert_eq!(repr.emit(&mut expected), Ok(HANDSHAKE_ACK_FIXED_LEN));
        let mut written = [0u8; HANDSHAKE_ACK_FIXED_LEN];
        assert_eq!(write(&mut written, HANDSHAKE_ACK, &AGREEMENT), Some(HANDSHAKE_ACK_FIXED_LEN));
        assert_eq!(written, expected);
        assert_eq!(write(&mut written[..HANDSHAKE_ACK_FIXED_LEN - 1], HANDSHAKE_ACK, &AGREEMENT), None);
    }

    /// A SYN_ACK with an extension of `ext` bytes and `trailing` bytes after it.
    fn syn_ack(ext: &[u8], trailing: usize) -> ([u8; 128], usize) {
        let mut buf = [0u8; 128];
        let n = SynAckRepr { agreement: AGREEMENT, extension: ext }.emit(&mut buf).unwrap();
        buf[n..n + trailing].fill(0x5a);
        (buf, n + trailing)
    }

    #[test]
    fn a_syn_ack_is_read_and_refused_as_the_wire_module_does() {
        for (ext, trailing) in [(&[][..], 0), (&[1, 2, 3][..], 0), (&[][..], 2), (&[7; 32][..], 1)] {
            let (buf, len) = syn_ack(ext, trailing);
            for cut in 0..=len {
                let payload = &buf[..cut];
                let mut read_back = Agreement { client_isn: 0x1234, ..AGREEMENT };
                read_back.cookie = 0;
                read_back.server_id = 0;
                let result = read(payload, SYN_ACK, &mut read_back);
                match SynAckRepr::parse(payload) {
                    Ok(parsed) => {
                        assert_eq!(result, Ok(()), "{cut} of {len}");
                        assert_eq!(read_back, Agreement { client_isn: 0x1234, ..parsed.agreement });
                        assert_eq!(parsed.agreement, Agreement { client_isn: 0, ..AGREEMENT });
                    }
                    // the same kind of error (the cookie is read in halves: its `needed` may differ)
                    Err(error) => assert_eq!(
                        core::mem::discriminant(&result.unwrap_err()),
                        core::mem::discriminant(&error),
                        "{cut} of {len}"
                    ),
                }
            }
        }
    }

    #[test]
    fn a_syn_ack_announcing_an_extension_over_512_bytes_is_malformed() {
        let (mut buf, len) = syn_ack(&[], 0);
        buf[len - 2..len].copy_from_slice(&(MAX_EXTENSION as u16 + 1).to_be_bytes());
        let mut a = AGREEMENT;
        assert_eq!(read(&buf[..len], SYN_ACK, &mut a), Err(Error::Malformed));
        assert!(SynAckRepr::parse(&buf[..len]).is_err());
    }
}
