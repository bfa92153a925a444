//! A tiny client's packets: the 9-byte header (`docs/PROTOCOL.md` 1) with
//! the Internet checksum and the pseudo-header (2.1, 2.3), read and sealed
//! in place by byte loops. The same packets as [`crate::wire::PacketRepr`]
//! with a [`crate::wire::Codec`] of the Internet checksum, without what
//! this client never speaks (CRC-32C, coalesced datagrams) and without the
//! word-at-a-time sum.

use crate::seq::Seq;
use crate::wire::{PacketRepr, PacketType, HEADER_LEN};

/// Where the checksum field lies in the header.
const CHECKSUM: core::ops::Range<usize> = 7..9;

/// The one's complement sum (not complemented) of `pseudo`'s two 16-bit halves.
pub(super) fn pseudo_sum(pseudo: u32) -> u16 {
    fold((pseudo >> 16) + (pseudo & 0xffff))
}

/// `sum` folded to 16 bits with end-around carries (for a sum below 2^32).
fn fold(sum: u32) -> u16 {
    let sum = (sum & 0xffff) + (sum >> 16);
    ((sum & 0xffff) + (sum >> 16)) as u16
}

/// The Internet checksum of `packet` (its header and payload, the checksum
/// field skipped) with `pseudo` summed first. Every byte at an even place
/// of `packet` is a word's high byte (the skipped field is two bytes, so
/// the payload keeps the parity of its place), and at most 65,544 bytes
/// (a header and the largest payload) keep the sum below 2^32.
fn checksum(pseudo: u32, packet: &[u8]) -> u16 {
    let mut sum = (pseudo >> 16) + (pseudo & 0xffff);
    for (i, &byte) in packet.iter().enumerate() {
        if !CHECKSUM.contains(&i) {
            sum += u32::from(byte) << if i % 2 == 0 { 8 } else { 0 };
        }
    }
    !fold(sum)
}

/// The one packet `datagram` holds: its header and exactly the payload
/// its length declares, at most `max_payload` bytes, with the checksum of
/// `pseudo` and its bytes (`docs/PROTOCOL.md` 1, 2.1, 2.3). `None` for
/// anything else.
pub(super) fn open(datagram: &[u8], max_payload: u16, pseudo: u32) -> Option<PacketRepr<'_>> {
    let (&[s0, s1, s2, s3, ptype, l0, l1, c0, c1], payload) = datagram.split_first_chunk::<HEADER_LEN>()?;
    let len = u16::from_be_bytes([l0, l1]);
    if len > max_payload
        || payload.len() != usize::from(len)
        || checksum(pseudo, datagram) != u16::from_be_bytes([c0, c1])
    {
        return None;
    }
    Some(PacketRepr { seq: Seq(u32::from_be_bytes([s0, s1, s2, s3])), ptype: PacketType(ptype), payload })
}

/// Writes the header and the checksum (of `pseudo` and the packet's bytes)
/// of a packet whose `len` payload bytes are already in place after the
/// header in `buf`; the packet's length, or `None` when `buf` does not hold
/// it or `len` does not fit the length field.
pub(super) fn seal(buf: &mut [u8], pseudo: u32, seq: Seq, ptype: PacketType, len: usize) -> Option<usize> {
    let [l0, l1] = u16::try_from(len).ok()?.to_be_bytes();
    let [s0, s1, s2, s3] = seq.0.to_be_bytes();
    let packet = buf.get_mut(..HEADER_LEN + len)?;
    let (header, _) = packet.split_first_chunk_mut::<HEADER_LEN>()?;
    *header = [s0, s1, s2, s3, ptype.0, l0, l1, 0, 0];
    let [c0, c1] = checksum(pseudo, packet).to_be_bytes();
    if let Some((header, _)) = packet.split_first_chunk_mut::<HEADER_LEN>() {
        *header = [s0, s1, s2, s3, ptype.0, l0, l1, c0, c1];
    }
    Some(HEADER_LEN + len)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::{Codec, PacketRepr};

    /// Payloads of odd and even lengths, with 0xff bytes (the largest words) and zeros.
    const PAYLOADS: [&[u8]; 5] = [b"", b"B5", b"\xff\xff\xff", &[0xff; 128], &[0, 1, 2, 0xfe, 0xff, 0x80, 0x7f]];
    const PSEUDOS: [u32; 5] = [0, 1, 0xffff_ffff, 0x1234_5678, 0xffff_0000];

    #[test]
    fn a_sealed_packet_is_the_wire_modules_packet() {
        for pseudo in PSEUDOS {
            for payload in PAYLOADS {
                let codec = Codec::new().with_pseudo_header(pseudo);
                let mut expected = [0u8; 160];
                let n =
                    PacketRepr::new(Seq(0x8081_8283), PacketType(100), payload).emit(&mut expected, &codec).unwrap();
                let mut sealed = [0xaau8; 160];
                sealed[HEADER_LEN..HEADER_LEN + payload.len()].copy_from_slice(payload);
                let sealed_len = seal(&mut sealed, pseudo, Seq(0x8081_8283), PacketType(100), payload.len());
                assert_eq!(sealed_len, Some(n));
                assert_eq!(sealed[..n], expected[..n], "pseudo {pseudo:#x}, payload {payload:?}");
            }
        }
    }

    #[test]
    fn a_packet_opens_exactly_when_the_wire_module_decodes_it() {
        for pseudo in PSEUDOS {
            for payload in PAYLOADS {
                let mut buf = [0u8; 160];
                let n = PacketRepr::new(Seq(7), PacketType(24), payload)
                    .emit(&mut buf, &Codec::new().with_pseudo_header(pseudo))
                    .unwrap();
                for max_payload in [64, 128] {
                    let codec = Codec::new().with_pseudo_header(pseudo).with_max_payload(max_payload);
                    let check = |datagram: &[u8]| {
                        let decoded = PacketRepr::decode(datagram, &codec).ok();
                        assert_eq!(open(datagram, max_payload, pseudo), decoded, "{datagram:?}");
                    };
                    for cut in 0..=n + 1 {
                        check(&buf[..cut]); // short, exact and one byte long
                    }
                    for flipped in 0..n {
                        let mut damaged = buf;
                        damaged[flipped] ^= 0x10;
                        check(&damaged[..n]);
                    }
                    // another pseudo-header (another connection's packet)
                    assert_eq!(open(&buf[..n], max_payload, pseudo ^ 1), None);
                }
            }
        }
    }

    #[test]
    fn the_pseudo_sum_is_the_wire_modules() {
        for pseudo in PSEUDOS {
            assert_eq!(pseudo_sum(pseudo), crate::wire::pseudo::pseudo_sum(pseudo), "{pseudo:#x}");
        }
    }

    #[test]
    fn a_payload_longer_than_the_length_field_is_not_sealed() {
        let mut buf = [0u8; 4];
        assert_eq!(seal(&mut buf, 0, Seq(0), PacketType(100), usize::from(u16::MAX) + 1), None);
        assert_eq!(seal(&mut buf, 0, Seq(0), PacketType(100), 0), None); // 4 bytes hold no header
    }
}
