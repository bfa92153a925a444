//! The three handshake payloads (`docs/PROTOCOL.md` 7.3) as lists of
//! field indices into one array of values, written and read by one routine
//! each: the SYN and the HANDSHAKE_ACK this client sends, the SYN_ACK it
//! reads. The same bytes as [`crate::wire::handshake`]'s `SynRepr`,
//! `HandshakeAckRepr` and `SynAckRepr`, without an extension (this client
//! sends none and skips the server's) and without a generic writer per
//! packet.

use crate::error::Error;
use crate::wire::handshake::{Agreement, Params, MAX_EXTENSION};

/// One big-endian field of a handshake payload: its index in [`Fields`].
pub(super) type Field = u8;

const VERSION: Field = 0;
const FLAGS: Field = 1;
pub(super) const CLIENT_ID: Field = 2;
const CLIENT_ISN: Field = 3;
pub(super) const SERVER_ID: Field = 4;
const SERVER_ISN: Field = 5;
const MAX_PAYLOAD: Field = 6;
const WINDOW: Field = 7;
const HEARTBEAT_MS: Field = 8;
const IDLE_TIMEOUT_MS: Field = 9;
const COOKIE_TIME: Field = 10;
/// The 64-bit cookie's high half.
const COOKIE_HIGH: Field = 11;
/// The 64-bit cookie's low half.
const COOKIE_LOW: Field = 12;
/// The extension's length; 0 when written.
const EXTENSION_LEN: Field = 13;
/// Four zero bytes (padding).
const ZERO: Field = 14;

/// Every field's value, by index.
pub(super) type Fields = [u32; 15];

/// Bytes on the wire of each field, by index.
const WIDTH: [u8; 15] = [1, 1, 4, 4, 4, 4, 2, 2, 4, 4, 4, 4, 4, 2, 4];

/// The SYN: version, flags, id, ISN, parameters, no extension, then padding
/// to the SYN_ACK's fixed size (16 bytes), which bounds the answer (7.3).
pub(super) const SYN: &[Field] = &[
    VERSION,
    FLAGS,
    CLIENT_ID,
    CLIENT_ISN,
    MAX_PAYLOAD,
    WINDOW,
    HEARTBEAT_MS,
    IDLE_TIMEOUT_MS,
    EXTENSION_LEN,
    ZERO,
    ZERO,
    ZERO,
    ZERO,
];

/// The SYN_ACK: the agreement without the client's ISN; its extension follows.
pub(super) const SYN_ACK: &[Field] = &[
    VERSION,
    FLAGS,
    CLIENT_ID,
    SERVER_ID,
    SERVER_ISN,
    MAX_PAYLOAD,
    WINDOW,
    HEARTBEAT_MS,
    IDLE_TIMEOUT_MS,
    COOKIE_TIME,
    COOKIE_HIGH,
    COOKIE_LOW,
    EXTENSION_LEN,
];

/// The HANDSHAKE_ACK: the whole agreement, no extension.
pub(super) const HANDSHAKE_ACK: &[Field] = &[
    VERSION,
    FLAGS,
    CLIENT_ID,
    CLIENT_ISN,
    SERVER_ID,
    SERVER_ISN,
    MAX_PAYLOAD,
    WINDOW,
    HEARTBEAT_MS,
    IDLE_TIMEOUT_MS,
    COOKIE_TIME,
    COOKIE_HIGH,
    COOKIE_LOW,
    EXTENSION_LEN,
];

/// The agreement's fields by index (the extension's length and the padding 0).
pub(super) fn fields_of(a: &Agreement) -> Fields {
    let p = &a.params;
    [
        a.version.into(),
        a.flags.into(),
        a.client_id,
        a.client_isn,
        a.server_id,
        a.server_isn,
        p.max_payload.into(),
        p.window.into(),
        p.heartbeat_ms,
        p.idle_timeout_ms,
        a.cookie_time,
        (a.cookie >> 32) as u32,
        a.cookie as u32,
        0,
        0,
    ]
}

/// The agreement the fields give (each read as wide as it is on the wire).
pub(super) fn agreement_of(f: &Fields) -> Agreement {
    let [version, flags, client_id, client_isn, server_id, server_isn, max_payload, window, heartbeat_ms, idle_timeout_ms, cookie_time, cookie_high, cookie_low, _, _] =
        *f;
    Agreement {
        version: version as u8,
        flags: flags as u8,
        client_id,
        client_isn,
        server_id,
        server_isn,
        params: Params { max_payload: max_payload as u16, window: window as u16, heartbeat_ms, idle_timeout_ms },
        cookie_time,
        cookie: u64::from(cookie_high) << 32 | u64::from(cookie_low),
    }
}

/// Writes `fields` of `a` at the start of `out`; their length, or `None`
/// when `out` is too short.
pub(super) fn write(out: &mut [u8], fields: &[Field], a: &Agreement) -> Option<usize> {
    let values = fields_of(a);
    let mut at = 0;
    for &field in fields {
        let value = *values.get(usize::from(field))?;
        let mut shift = u32::from(*WIDTH.get(usize::from(field))?) * 8;
        while shift > 0 {
            shift -= 8;
            *out.get_mut(at)? = (value >> shift) as u8;
            at += 1;
        }
    }
    Some(at)
}

/// The value of `field` in `values`.
pub(super) fn value(values: &Fields, field: Field) -> u32 {
    values.get(usize::from(field)).copied().unwrap_or(0)
}

/// Reads `fields` from the start of `payload` over `values` (those not
/// listed keep their value; see [`agreement_of`]), then skips the extension whose length the last field
/// gave, with the checks of [`crate::wire::handshake`]'s parsers: a payload
/// shorter than the fields and the extension is [`Error::Truncated`], an
/// extension longer than [`MAX_EXTENSION`] [`Error::Malformed`]; bytes
/// after the extension are ignored.
pub(super) fn read(payload: &[u8], fields: &[Field], values: &mut Fields) -> Result<(), Error> {
    let mut at = 0;
    let mut value = 0;
    for &field in fields {
        let width = usize::from(WIDTH.get(usize::from(field)).copied().unwrap_or(0));
        let Some(bytes) = payload.get(at..at + width) else {
            return Err(Error::Truncated { needed: width, available: payload.len().saturating_sub(at) });
        };
        value = bytes.iter().fold(0, |v, &byte| v << 8 | u32::from(byte));
        if let Some(slot) = values.get_mut(usize::from(field)) {
            *slot = value;
        }
        at += width;
    }
    let extension = value as usize; // the last field is the extension's length
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
                let before = Agreement { client_isn: 0x1234, server_id: 0, cookie: 0, ..AGREEMENT };
                let mut values = fields_of(&before);
                let result = read(payload, SYN_ACK, &mut values).map(|()| values);
                match SynAckRepr::parse(payload) {
                    Ok(parsed) => {
                        let read_back = result.map(|values| agreement_of(&values));
                        assert_eq!(
                            read_back,
                            Ok(Agreement { client_isn: 0x1234, ..parsed.agreement }),
                            "{cut} of {len}"
                        );
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
        assert_eq!(read(&buf[..len], SYN_ACK, &mut fields_of(&AGREEMENT)), Err(Error::Malformed));
        assert!(SynAckRepr::parse(&buf[..len]).is_err());
    }
}
