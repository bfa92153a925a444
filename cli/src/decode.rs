//! Decoding one seqlink packet into named fields, with its integrity check
//! verified: the readable lines and JSON of `inspect`, and the `ack` of trace
//! lines. Bound packets are checked with their connection id as
//! pseudo-header (docs/PROTOCOL.md 2.3), learned from the handshakes seen.

use seqlink_core::wire::ack::{AckRepr, NackRepr};
use seqlink_core::wire::control::{ErrRepr, HeartbeatRepr, ResetRepr};
use seqlink_core::wire::data::DataRepr;
use seqlink_core::wire::handshake::{Agreement, HandshakeAckRepr, SynAckRepr, SynRepr};
use seqlink_core::wire::{Codec, Packet, PacketType, HEADER_LEN};
use seqlink_core::Integrity;
use serde_json::{json, Map, Value};

/// Bytes of the CRC-32C trailer.
const CRC_TRAILER_LEN: usize = 4;
/// Bytes of application data shown.
const PREVIEW_LEN: usize = 32;

/// The outcome of the integrity check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The check matches with this pseudo-header (0: unbound or seed 000).
    Valid(u32),
    /// It matches with no pseudo-header known.
    Bad,
    /// A bound packet before any handshake was seen: its connection id is unknown.
    Unknown,
}

/// One decoded packet.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Header `seq`.
    pub seq: u32,
    /// Header `type`.
    pub ptype: u8,
    /// Header `len`.
    pub len: u16,
    /// Header `checksum`.
    pub checksum: u16,
    /// Bytes of the packet.
    pub wire_len: usize,
    /// The integrity mode the packet's length shows.
    pub integrity: Integrity,
    /// The integrity check.
    pub check: Check,
    /// The payload's fields, in order.
    pub fields: Vec<(&'static str, Value)>,
    /// What is wrong with the packet's framing or payload, if anything.
    pub problem: Option<String>,
}

impl Decoded {
    /// The name of the type (`DATA`, `CMD_FIRE`, `APP_100`).
    pub fn type_name(&self) -> String {
        type_name(self.ptype)
    }

    /// The acknowledgement the packet carries (an ACK, or DATA with the ACK flag).
    pub fn ack(&self) -> Option<u32> {
        self.fields.iter().find(|(k, _)| *k == "ack").and_then(|(_, v)| v.as_u64()).and_then(|v| u32::try_from(v).ok())
    }

    /// A readable line: header, check, then the payload's fields.
    pub fn line(&self) -> String {
        let check = match self.check {
            Check::Valid(0) => "ok".to_string(),
            Check::Valid(id) => format!("ok (conn {id:#010x})"),
            Check::Bad => "BAD".to_string(),
            Check::Unknown => "BAD-or-bound (fails unbound; no handshake seen for its connection id)".to_string(),
        };
        let integrity = if self.integrity == Integrity::InternetChecksum { "checksum" } else { "crc32c" };
        let mut out = format!(
            "{} seq={} len={} {integrity}={:#06x} {check}",
            self.type_name(),
            self.seq,
            self.len,
            self.checksum
        );
        for (k, v) in &self.fields {
            match v {
                Value::String(s) => out.push_str(&format!(" {k}={s:?}")),
                v => out.push_str(&format!(" {k}={v}")),
            }
        }
        if let Some(p) = &self.problem {
            out.push_str(&format!(" problem={p:?}"));
        }
        out
    }

    /// The same as a JSON object.
    pub fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("seq".into(), json!(self.seq));
        m.insert("type".into(), json!(self.ptype));
        m.insert("type_name".into(), json!(self.type_name()));
        m.insert("len".into(), json!(self.len));
        m.insert("checksum".into(), json!(self.checksum));
        let integrity = if self.integrity == Integrity::InternetChecksum { "checksum" } else { "crc32c" };
        m.insert("integrity".into(), json!(integrity));
        let (valid, conn) = match self.check {
            Check::Valid(id) => (json!(true), json!(id)),
            Check::Bad => (json!(false), Value::Null),
            Check::Unknown => (Value::Null, Value::Null),
        };
        m.insert("check_valid".into(), valid);
        m.insert("connection_id".into(), conn);
        m.insert("wire_len".into(), json!(self.wire_len));
        for (k, v) in &self.fields {
            m.insert((*k).into(), v.clone());
        }
        if let Some(p) = &self.problem {
            m.insert("problem".into(), json!(p));
        }
        m
    }
}

/// The name of a packet type: the protocol's or seed 000's, else `APP_n` (or `RESERVED_n`).
pub fn type_name(ptype: u8) -> String {
    match PacketType(ptype).name() {
        Some(name) => name.to_string(),
        None if PacketType(ptype).is_protocol() => format!("RESERVED_{ptype}"),
        None => format!("APP_{ptype}"),
    }
}

/// Decodes packets, remembering the connection ids of the handshakes it saw.
#[derive(Debug, Default)]
pub struct Decoder {
    connection_ids: Vec<u32>,
}

impl Decoder {
    /// A decoder that knows no connection yet.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Decodes the packets of one datagram: each of a coalesced datagram
    /// ([`split_coalesced`]) when it splits exactly into two or more,
    /// else the datagram as one packet (with what is wrong with it). Empty
    /// if shorter than a header.
    pub fn decode_datagram(&mut self, bytes: &[u8]) -> Vec<Decoded> {
        match split_coalesced(bytes) {
            Some(packets) if packets.len() > 1 => packets.into_iter().filter_map(|p| self.decode(p)).collect(),
            _ => self.decode(bytes).into_iter().collect(),
        }
    }

    /// Decodes one packet (exactly the bytes of one datagram); `None` if
    /// shorter than a header.
    pub fn decode(&mut self, bytes: &[u8]) -> Option<Decoded> {
        let header = bytes.get(..HEADER_LEN)?;
        let packet = Packet::new_unchecked(header);
        let (seq, ptype, len, checksum) =
            (packet.seq().0, packet.packet_type().0, packet.payload_len(), packet.checksum());
        let plain_len = HEADER_LEN + usize::from(len);
        let integrity = match Integrity::from_u8(1) {
            Some(crc) if bytes.len() == plain_len + CRC_TRAILER_LEN && checksum == 0 => crc,
            _ => Integrity::InternetChecksum,
        };
        let mut problem = None;
        if bytes.len() < plain_len {
            problem = Some(format!("truncated: {} of {plain_len} bytes", bytes.len()));
        } else if bytes.len() != plain_len + integrity.trailer_len() {
            problem = Some(format!("length mismatch: {} bytes for a {len}-byte payload", bytes.len()));
        }
        let payload = bytes.get(HEADER_LEN..plain_len.min(bytes.len())).unwrap_or_default();
        let mut fields = Vec::new();
        if let Err(e) = payload_fields(ptype, payload, &mut fields) {
            problem.get_or_insert(e);
        }
        let check = self.check(bytes, ptype, integrity);
        if check != Check::Bad {
            self.learn(ptype, payload);
        }
        Some(Decoded { seq, ptype, len, checksum, wire_len: bytes.len(), integrity, check, fields, problem })
    }

    fn check(&self, bytes: &[u8], ptype: u8, integrity: Integrity) -> Check {
        let Ok(packet) = Packet::new_checked(bytes) else { return Check::Bad };
        let codec = Codec::new().with_max_payload(u16::MAX).with_integrity(integrity);
        for &id in std::iter::once(&0).chain(&self.connection_ids) {
            if packet.verify(&codec.with_pseudo_header(id)).is_ok() {
                return Check::Valid(id);
            }
        }
        let handshake = matches!(PacketType(ptype), PacketType::SYN | PacketType::SYN_ACK | PacketType::HANDSHAKE_ACK);
        if self.connection_ids.is_empty() && !handshake {
            Check::Unknown
        } else {
            Check::Bad
        }
    }

    /// Remembers the connection id an agreement names.
    fn learn(&mut self, ptype: u8, payload: &[u8]) {
        let agreement = match PacketType(ptype) {
            PacketType::SYN_ACK => SynAckRepr::parse(payload).ok().map(|r| r.agreement),
            PacketType::HANDSHAKE_ACK => HandshakeAckRepr::parse(payload).ok().map(|r| r.agreement),
            _ => None,
        };
        if let Some(a) = agreement {
            let id = a.client_id ^ a.server_id;
            if !self.connection_ids.contains(&id) {
                self.connection_ids.push(id);
            }
        }
    }
}

/// The packets of a coalesced datagram (docs/PROTOCOL.md 4.1), if it
/// splits exactly into whole packets. Each starts where the one before it
/// ended and is `9 + len` bytes long, plus a 4-byte CRC-32C trailer when
/// its checksum field is 0 and the datagram has room for it (the integrity
/// mode is not on the wire: the same rule as the Wireshark dissector's).
pub fn split_coalesced(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut packets = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = Packet::new_unchecked(rest.get(..HEADER_LEN)?);
        let plain = HEADER_LEN + usize::from(header.payload_len());
        let crc = header.checksum() == 0 && Integrity::from_u8(1).is_some() && rest.len() >= plain + CRC_TRAILER_LEN;
        let (packet, after) = rest.split_at_checked(if crc { plain + CRC_TRAILER_LEN } else { plain })?;
        packets.push(packet);
        rest = after;
    }
    Some(packets)
}

/// The fields of a payload of type `ptype`.
fn payload_fields(ptype: u8, payload: &[u8], out: &mut Vec<(&'static str, Value)>) -> Result<(), String> {
    let bad = |e: seqlink_core::Error| e.to_string();
    match PacketType(ptype) {
        PacketType::ACK => ack_fields(&AckRepr::parse(payload).map_err(bad)?, out),
        PacketType::NACK => {
            let nack = NackRepr::parse(payload).map_err(bad)?;
            out.push(("nack", json!(nack.seqs().map(|s| s.0).collect::<Vec<_>>())));
        }
        PacketType::HEARTBEAT => {
            let hb = HeartbeatRepr::parse(payload).map_err(bad)?;
            out.push(("kind", json!(if hb.pong { "pong" } else { "ping" })));
            out.push(("stamp", json!(hb.stamp)));
        }
        PacketType::ERR_MSG => {
            let err = ErrRepr::parse(payload).map_err(bad)?;
            out.push(("code", json!(err.code.code())));
            out.push(("code_name", json!(err.code.as_str())));
            out.push(("reason", json!(String::from_utf8_lossy(err.reason))));
        }
        PacketType::DATA => {
            let data = DataRepr::parse(payload).map_err(bad)?;
            out.push(("flags", json!(payload.first().copied().unwrap_or(0))));
            out.push(("app_type", json!(data.app_type.0)));
            out.push(("app_type_name", json!(type_name(data.app_type.0))));
            if let Some(ack) = &data.ack {
                ack_fields(ack, out);
            }
            if let Some(f) = data.fragment {
                out.push(("fragment_index", json!(f.index)));
                out.push(("fragment_count", json!(f.count)));
            }
            if data.unreliable {
                out.push(("unreliable", json!(true)));
            }
            app_fields(data.data, out);
        }
        PacketType::SYN => {
            let syn = SynRepr::parse(payload).map_err(bad)?;
            out.push(("version", json!(syn.version)));
            out.push(("flags", json!(syn.flags)));
            out.push(("client_id", json!(syn.client_id)));
            out.push(("client_isn", json!(syn.isn)));
            params_fields(&syn.params, out);
            out.push(("extension_len", json!(syn.extension.len())));
            out.push(("padding", json!(syn.padding)));
        }
        PacketType::SYN_ACK => agreement_fields(&SynAckRepr::parse(payload).map_err(bad)?.agreement, false, out),
        PacketType::HANDSHAKE_ACK => {
            agreement_fields(&HandshakeAckRepr::parse(payload).map_err(bad)?.agreement, true, out)
        }
        PacketType::FIN => {}
        PacketType::RESET => {
            let reset = ResetRepr::parse(payload).map_err(bad)?;
            out.push(("code", json!(reset.code.code())));
            out.push(("code_name", json!(reset.code.as_str())));
            out.push(("token", json!(reset.token)));
        }
        t if t.is_protocol() => {}
        _ => app_fields(payload, out),
    }
    Ok(())
}

fn ack_fields(ack: &AckRepr, out: &mut Vec<(&'static str, Value)>) {
    out.push(("ack", json!(ack.cumulative.0)));
    if let Some(window) = ack.window {
        out.push(("window", json!(window)));
    }
    let sacked: Vec<u32> = ack.sack.iter().map(|i| ack.cumulative.0.wrapping_add(2).wrapping_add(i as u32)).collect();
    if !sacked.is_empty() {
        out.push(("sack", json!(sacked)));
    }
}

fn params_fields(p: &seqlink_core::Params, out: &mut Vec<(&'static str, Value)>) {
    out.push(("max_payload", json!(p.max_payload)));
    out.push(("window", json!(p.window)));
    out.push(("heartbeat_ms", json!(p.heartbeat_ms)));
    out.push(("idle_timeout_ms", json!(p.idle_timeout_ms)));
}

fn agreement_fields(a: &Agreement, with_client_isn: bool, out: &mut Vec<(&'static str, Value)>) {
    out.push(("version", json!(a.version)));
    out.push(("flags", json!(a.flags)));
    out.push(("client_id", json!(a.client_id)));
    if with_client_isn {
        out.push(("client_isn", json!(a.client_isn)));
    }
    out.push(("server_id", json!(a.server_id)));
    out.push(("server_isn", json!(a.server_isn)));
    params_fields(&a.params, out);
    out.push(("cookie_time", json!(a.cookie_time)));
    out.push(("cookie", json!(a.cookie)));
    out.push(("connection_id", json!(a.client_id ^ a.server_id)));
}

fn app_fields(data: &[u8], out: &mut Vec<(&'static str, Value)>) {
    out.push(("data_len", json!(data.len())));
    let preview = data.get(..PREVIEW_LEN).unwrap_or(data);
    if !preview.is_empty() {
        let text = preview.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
        let shown = if text {
            String::from_utf8_lossy(preview).into_owned()
        } else {
            preview.iter().map(|b| format!("{b:02x}")).collect()
        };
        out.push(("data", json!(shown)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqlink_core::framing::encode_datagram;
    use seqlink_core::{PacketRepr, Seq};

    #[test]
    fn seed_000_fire_command_decodes_with_its_checksum() {
        // docs/PROTOCOL.md 2.1: seq 1, CMD_FIRE, "B5"
        let bytes = [0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x02, 0xc5, 0xbc, 0x42, 0x35];
        let d = Decoder::new().decode(&bytes).unwrap();
        assert_eq!((d.seq, d.type_name(), d.len, d.checksum), (1, "CMD_FIRE".to_string(), 2, 0xc5bc));
        assert_eq!(d.check, Check::Valid(0));
        assert!(d.line().contains("data=\"B5\""), "{}", d.line());
    }

    #[test]
    fn a_flipped_bit_fails_the_check() {
        let mut bytes = [0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x02, 0xc5, 0xbc, 0x42, 0x35];
        bytes[10] ^= 0x04;
        let check = Decoder::new().decode(&bytes).unwrap().check;
        assert!(!matches!(check, Check::Valid(_)), "{check:?}");
    }

    #[test]
    fn an_ack_shows_its_cumulative_and_selective_acks() {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&41u32.to_be_bytes());
        payload[4..6].copy_from_slice(&10u16.to_be_bytes());
        payload[6] = 1;
        payload[7] = 0b101;
        let mut out = [0u8; 64];
        let n = encode_datagram(&PacketRepr::new(Seq(7), PacketType::ACK, &payload), &Codec::new(), &mut out).unwrap();
        let d = Decoder::new().decode(&out[..n]).unwrap();
        assert_eq!(d.ack(), Some(41));
        assert!(d.line().contains("window=10 sack=[43,45]"), "{}", d.line());
    }

    #[test]
    fn a_coalesced_datagram_decodes_packet_by_packet() {
        let mut out = [0u8; 64];
        let a = encode_datagram(&PacketRepr::new(Seq(1), PacketType(100), b"one"), &Codec::new(), &mut out).unwrap();
        let b =
            encode_datagram(&PacketRepr::new(Seq(2), PacketType(101), b"two!"), &Codec::new(), &mut out[a..]).unwrap();
        let packets = Decoder::new().decode_datagram(&out[..a + b]);
        let seen: Vec<_> = packets.iter().map(|d| (d.seq, d.ptype, d.len, d.check)).collect();
        assert_eq!(seen, [(1, 100, 3, Check::Valid(0)), (2, 101, 4, Check::Valid(0))]);
        // one byte short: not a coalesced datagram, one packet with a problem
        let packets = Decoder::new().decode_datagram(&out[..a + b - 1]);
        assert_eq!(packets.len(), 1);
        assert!(packets[0].problem.is_some());
    }

    #[test]
    fn shorter_than_a_header_is_not_a_packet() {
        assert!(Decoder::new().decode(&[0, 0, 0]).is_none());
    }
}
