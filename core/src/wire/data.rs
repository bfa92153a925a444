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
use crate::bytes::copy_prefix;
use crate::error::Error;

/// Byte positions of the extended header's fixed fields and of the
/// fragment header's fields, in one place.
mod field {
    use core::ops::Range;
    pub const FLAGS: usize = 0;
    pub const APP_TYPE: usize = 1;
    /// Where the optional parts (ack block, then fragment header) start.
    pub const OPTIONAL: usize = 2;
    /// Within the fragment header.
    pub const INDEX: Range<usize> = 0..2;
    /// Within the fragment header.
    pub const COUNT: Range<usize> = 2..4;
}

/// An acknowledgement block follows the app type.
pub const FLAG_ACK: u8 = 0x01;
/// A fragment header follows (after the ack block, if any).
pub const FLAG_FRAGMENT: u8 = 0x02;
/// The packet is unreliable-sequenced.
pub const FLAG_UNRELIABLE: u8 = 0x04;
const KNOWN_FLAGS: u8 = FLAG_ACK | FLAG_FRAGMENT | FLAG_UNRELIABLE;

/// Bytes of the fragment header.
pub const FRAGMENT_HEADER_LEN: usize = field::COUNT.end;
/// Bytes of the extended header without its optional parts.
pub const EXTENDED_MIN_LEN: usize = field::OPTIONAL;

/// Position of a packet within a fragmented message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fragment {
    /// 0-based index of this fragment.
    pub index: u16,
    /// Number of fragments of the message (at least 1).
    pub count: u16,
}

impl Fragment {
    /// Parses a fragment header at the start of `bytes` (bytes after it are
    /// not looked at); `count` 0 or `index >= count` is [`Error::Malformed`].
    pub fn parse(bytes: &[u8]) -> Result<Fragment, Error> {
        let (Some(&[i0, i1]), Some(&[c0, c1])) = (bytes.get(field::INDEX), bytes.get(field::COUNT)) else {
            return Err(Error::Truncated { needed: FRAGMENT_HEADER_LEN, available: bytes.len() });
        };
        let fragment = Fragment { index: u16::from_be_bytes([i0, i1]), count: u16::from_be_bytes([c0, c1]) };
        if fragment.count == 0 || fragment.index >= fragment.count {
            return Err(Error::Malformed);
        }
        Ok(fragment)
    }

    /// Bytes [`Fragment::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        FRAGMENT_HEADER_LEN
    }

    /// Writes the fragment header at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let available = out.len();
        let Some(dst) = out.get_mut(..FRAGMENT_HEADER_LEN) else {
            return Err(Error::BufferTooSmall { needed: FRAGMENT_HEADER_LEN, available });
        };
        // the fields in order: index, count
        let [i0, i1] = self.index.to_be_bytes();
        let [c0, c1] = self.count.to_be_bytes();
        copy_prefix(dst, &[i0, i1, c0, c1]);
        Ok(FRAGMENT_HEADER_LEN)
    }
}

/// The parsed header of an extended DATA packet, and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DataRepr<'a> {
    /// The application's packet type.
    pub app_type: PacketType,
    /// A piggybacked acknowledgement (always sent as an extended block).
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
        let (Some(&flags), Some(&app_type)) = (payload.get(field::FLAGS), payload.get(field::APP_TYPE)) else {
            return Err(Error::Truncated { needed: EXTENDED_MIN_LEN, available: payload.len() });
        };
        if flags & !KNOWN_FLAGS != 0 {
            return Err(Error::Malformed);
        }
        let mut rest = payload.get(field::OPTIONAL..).unwrap_or(&[]);
        let mut ack = None;
        if flags & FLAG_ACK != 0 {
            let (parsed, used) = AckRepr::parse_block(rest)?;
            ack = Some(parsed);
            rest = rest.get(used..).unwrap_or(&[]);
        }
        let mut fragment = None;
        if flags & FLAG_FRAGMENT != 0 {
            fragment = Some(Fragment::parse(rest)?);
            rest = rest.get(FRAGMENT_HEADER_LEN..).unwrap_or(&[]);
        }
        Ok(DataRepr {
            app_type: PacketType(app_type),
            ack,
            fragment,
            unreliable: flags & FLAG_UNRELIABLE != 0,
            data: rest,
        })
    }

    /// Bytes [`DataRepr::emit`] writes: the extended header and the data.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.data.len()
    }

    /// Writes the payload (extended header, then data) at the start of
    /// `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let len = self.buffer_len();
        let available = out.len();
        let Some((header, data)) = out.get_mut(..len).and_then(|out| out.split_at_mut_checked(self.header_len()))
        else {
            return Err(Error::BufferTooSmall { needed: len, available });
        };
        self.emit_header(header)?;
        copy_prefix(data, self.data);
        Ok(len)
    }

    /// Bytes of the extended header (everything before `data`).
    pub fn header_len(&self) -> usize {
        EXTENDED_MIN_LEN + self.ack.map_or(0, |a| a.block_len()) + self.fragment.map_or(0, |f| f.buffer_len())
    }

    /// Writes the extended header alone at the start of `out`, for a writer
    /// that places the data itself; returns its length.
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
        let Some(([f, t], mut rest)) = out.split_first_chunk_mut::<{ field::OPTIONAL }>() else {
            return Err(Error::BufferTooSmall { needed: len, available });
        };
        *f = flags;
        *t = self.app_type.0;
        if let Some(ack) = &self.ack {
            let used = ack.emit_block(rest)?;
            rest = rest.get_mut(used..).unwrap_or(&mut []);
        }
        if let Some(fragment) = &self.fragment {
            fragment.emit(rest)?;
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

    fn every_combination() -> impl Iterator<Item = DataRepr<'static>> {
        let mut sack = Sack::new();
        sack.set(4);
        let acks = [None, Some(AckRepr { cumulative: Seq(70), window: Some(3), sack })];
        let frags = [None, Some(Fragment { index: 2, count: 3 })];
        acks.into_iter().flat_map(move |ack| {
            frags.into_iter().flat_map(move |fragment| {
                [false, true].into_iter().map(move |unreliable| DataRepr {
                    app_type: PacketType(99),
                    ack,
                    fragment,
                    unreliable,
                    data: b"hello",
                })
            })
        })
    }

    #[test]
    fn round_trip_every_combination() {
        for repr in every_combination() {
            let mut buf = [0u8; 64];
            let n = repr.emit(&mut buf).unwrap();
            assert_eq!(n, repr.buffer_len());
            assert_eq!(DataRepr::parse(&buf[..n]).unwrap(), repr);
            assert_eq!(repr.emit(&mut buf[..n - 1]), Err(Error::BufferTooSmall { needed: n, available: n - 1 }));
            // the header alone, data placed by the caller, gives the same bytes
            let mut split = [0u8; 64];
            let h = repr.emit_header(&mut split).unwrap();
            assert_eq!(h, repr.header_len());
            split[h..n].copy_from_slice(repr.data);
            assert_eq!(split[..n], buf[..n]);
            assert!(repr.emit_header(&mut split[..h - 1]).is_err());
            // every cut inside the header is a typed error (a cut in the data is shorter data)
            for cut in 0..h {
                assert!(DataRepr::parse(&buf[..cut]).is_err(), "{cut} of {h} header bytes: {repr:?}");
            }
        }
    }

    #[test]
    fn fragment_round_trip() {
        let fragment = Fragment { index: 0x0102, count: 0x0304 };
        let mut buf = [0u8; 4];
        assert_eq!(fragment.emit(&mut buf), Ok(fragment.buffer_len()));
        assert_eq!(buf, [1, 2, 3, 4]);
        assert_eq!(Fragment::parse(&buf), Ok(fragment));
        assert_eq!(fragment.emit(&mut buf[..3]), Err(Error::BufferTooSmall { needed: 4, available: 3 }));
        for cut in 0..4 {
            assert_eq!(Fragment::parse(&buf[..cut]), Err(Error::Truncated { needed: 4, available: cut }));
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
