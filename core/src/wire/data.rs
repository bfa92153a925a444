//! Data packets.
//!
//! A reliable message that fits one packet travels as a *plain* data packet:
//! exactly a seed 000 packet whose type is the application's type (any type
//! outside 20..=47) and whose payload is the message.
//!
//! Everything else travels as an *extended* DATA packet (type 24), whose
//! payload starts with a small header:
//!
//! ```text
//! +----------+-------------+--------------------+---------------------------+------+
//! | flags u8 | app type u8 | ack block (if ACK) | index u16, count u16      | data |
//! |          |             | see wire::ack      | (if FRAGMENT)             |      |
//! +----------+-------------+--------------------+---------------------------+------+
//! ```
//!
//! Flags: bit 0 `ACK` (an acknowledgement rides along), bit 1 `FRAGMENT`
//! (this packet is fragment `index` of `count` of one message), bit 2
//! `UNRELIABLE` (unreliable-sequenced: the header's sequence number counts in
//! the separate unreliable space and the packet is never retransmitted).
//! Other bits are zero; a packet with unknown bits set is rejected.

use super::ack::AckRepr;
use super::PacketType;
use crate::error::Error;

/// An acknowledgement block follows the app type.
pub const FLAG_ACK: u8 = 0x01;
/// A fragment header follows (after the ack block, if any).
pub const FLAG_FRAGMENT: u8 = 0x02;
/// The packet is unreliable-sequenced.
pub const FLAG_UNRELIABLE: u8 = 0x04;
const KNOWN_FLAGS: u8 = FLAG_ACK | FLAG_FRAGMENT | FLAG_UNRELIABLE;

/// Bytes of the fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 4;
/// Bytes of the extended header without its optional parts.
pub const EXTENDED_MIN_LEN: usize = 2;

/// Position of a packet within a fragmented message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fragment {
    /// 0-based index of this fragment.
    pub index: u16,
    /// Number of fragments of the message (at least 1).
    pub count: u16,
}

/// The parsed header of an extended DATA packet, and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DataRepr<'a> {
    /// The application's packet type.
    pub app_type: PacketType,
    /// A piggybacked acknowledgement.
    pub ack: Option<AckRepr>,
    /// Fragment position, if the message is fragmented.
    pub fragment: Option<Fragment>,
    /// Unreliable-sequenced packet.
    pub unreliable: bool,
    /// The application data.
    pub data: &'a [u8],
}

impl<'a> DataRepr<'a> {
    /// Parses the payload of a DATA (type 24) packet.
    pub fn parse(payload: &'a [u8]) -> Result<DataRepr<'a>, Error> {
        let Some((&[flags, app_type], mut rest)) = payload.split_first_chunk::<2>() else {
            return Err(Error::Truncated { needed: EXTENDED_MIN_LEN, available: payload.len() });
        };
        if flags & !KNOWN_FLAGS != 0 {
            return Err(Error::Malformed);
        }
        let mut ack = None;
        if flags & FLAG_ACK != 0 {
            let (parsed, used) = AckRepr::parse_block(rest)?;
            ack = Some(parsed);
            rest = rest.get(used..).unwrap_or(&[]);
        }
        let mut fragment = None;
        if flags & FLAG_FRAGMENT != 0 {
            let Some((&[i0, i1, c0, c1], tail)) = rest.split_first_chunk::<4>() else {
                return Err(Error::Truncated { needed: FRAGMENT_HEADER_LEN, available: rest.len() });
            };
            let frag = Fragment { index: u16::from_be_bytes([i0, i1]), count: u16::from_be_bytes([c0, c1]) };
            if frag.count == 0 || frag.index >= frag.count {
                return Err(Error::Malformed);
            }
            fragment = Some(frag);
            rest = tail;
        }
        Ok(DataRepr {
            app_type: PacketType(app_type),
            ack,
            fragment,
            unreliable: flags & FLAG_UNRELIABLE != 0,
            data: rest,
        })
    }

    /// Bytes of the extended header (everything before `data`).
    pub fn header_len(&self) -> usize {
        EXTENDED_MIN_LEN
            + self.ack.map_or(0, |a| a.block_len())
            + if self.fragment.is_some() { FRAGMENT_HEADER_LEN } else { 0 }
    }

    /// Writes the extended header (not the data) at the start of `out`; returns its length.
    pub fn emit_header(&self, out: &mut [u8]) -> Result<usize, Error> {
        let len = self.header_len();
        let available = out.len();
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::BufferTooSmall { needed: len, available });
        };
        let mut flags = 0;
        if self.ack.is_some() {
            flags |= FLAG_ACK;
        }
        if self.fragment.is_some() {
            flags |= FLAG_FRAGMENT;
        }
        if self.unreliable {
            flags |= FLAG_UNRELIABLE;
        }
        let Some(([f, t], mut rest)) = out.split_first_chunk_mut::<2>() else {
            return Err(Error::BufferTooSmall { needed: len, available });
        };
        *f = flags;
        *t = self.app_type.0;
        if let Some(ack) = &self.ack {
            let used = ack.emit_block(rest)?;
            rest = rest.get_mut(used..).unwrap_or(&mut []);
        }
        if let (Some(frag), Some(dst)) = (self.fragment, rest.get_mut(..FRAGMENT_HEADER_LEN)) {
            let [i0, i1] = frag.index.to_be_bytes();
            let [c0, c1] = frag.count.to_be_bytes();
            dst.copy_from_slice(&[i0, i1, c0, c1]);
        }
        Ok(len)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::super::ack::Sack;
    use super::*;
    use crate::seq::Seq;

    #[test]
    fn round_trip_every_combination() {
        let mut sack = Sack::new();
        sack.set(4);
        let acks = [None, Some(AckRepr { cumulative: Seq(70), window: Some(3), sack })];
        let frags = [None, Some(Fragment { index: 2, count: 3 })];
        for ack in acks {
            for fragment in frags {
                for unreliable in [false, true] {
                    let repr = DataRepr { app_type: PacketType(99), ack, fragment, unreliable, data: b"" };
                    let mut buf = [0u8; 64];
                    let n = repr.emit_header(&mut buf).unwrap();
                    buf[n..n + 5].copy_from_slice(b"hello");
                    let parsed = DataRepr::parse(&buf[..n + 5]).unwrap();
                    assert_eq!(parsed, DataRepr { data: b"hello", ..repr });
                }
            }
        }
    }

    #[test]
    fn malformed_headers_are_rejected() {
        assert!(DataRepr::parse(&[]).is_err());
        assert!(DataRepr::parse(&[0x80, 1]).is_err()); // unknown flag
        assert!(DataRepr::parse(&[FLAG_FRAGMENT, 1, 0, 0]).is_err()); // short fragment header
        assert!(DataRepr::parse(&[FLAG_FRAGMENT, 1, 0, 3, 0, 3]).is_err()); // index >= count
        assert!(DataRepr::parse(&[FLAG_FRAGMENT, 1, 0, 0, 0, 0]).is_err()); // count 0
        assert!(DataRepr::parse(&[FLAG_ACK, 1, 0, 0]).is_err()); // short ack block
    }
}
