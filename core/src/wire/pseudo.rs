//! The connection id as a pseudo-header: folded into the Internet checksum
//! but never sent (`docs/PROTOCOL.md`), and recovered from a checksum to
//! prove that a RESET answers a packet of one connection.

use crate::checksum::ones_complement_sum;
#[cfg(feature = "endpoint")]
use {
    super::{Packet, HEADER_LEN},
    crate::checksum::{add, Checksum},
};

/// The one's complement sum of a connection id as a pseudo-header.
pub(crate) fn pseudo_sum(conn_id: u32) -> u16 {
    ones_complement_sum(&conn_id.to_be_bytes())
}

/// One's complement sums compare equal modulo 0xffff (0 and 0xffff are the same number).
pub(crate) fn same_sum(a: u16, b: u16) -> bool {
    a == b || (a == 0 || a == 0xffff) && (b == 0 || b == 0xffff)
}

/// The pseudo-header sum a packet was checked with, recovered from its
/// Internet checksum: the token of a RESET for an unknown connection.
/// `None` unless `datagram` is exactly one packet without a trailer.
#[cfg(feature = "endpoint")]
pub(crate) fn recover_pseudo_sum(datagram: &[u8]) -> Option<u16> {
    let packet = Packet::new_checked(datagram).ok()?;
    if datagram.len() != HEADER_LEN + usize::from(packet.payload_len()) {
        return None;
    }
    let mut covered = Checksum::new();
    covered.update(datagram.get(..super::field::CHECKSUM.start)?);
    covered.update(packet.payload());
    // received = !(data + pseudo)  =>  pseudo = !received - data
    Some(add(!packet.checksum(), !covered.sum()))
}

#[cfg(all(test, feature = "endpoint"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::{Codec, PacketRepr, PacketType};
    use crate::Seq;

    #[test]
    fn the_pseudo_header_is_recovered_from_a_packet_checksum() {
        let conn_id = 0x1234_5678;
        let codec = Codec::new().with_pseudo_header(conn_id);
        let mut buf = [0u8; 32];
        let n = PacketRepr::new(Seq(3), PacketType(60), b"payload").emit(&mut buf, &codec).unwrap();
        let token = recover_pseudo_sum(buf.get(..n).unwrap()).unwrap();
        assert!(same_sum(token, pseudo_sum(conn_id)));
        assert!(!same_sum(token, pseudo_sum(conn_id ^ 1)));
    }

    #[test]
    fn short_or_padded_datagrams_give_no_token() {
        let mut buf = [0u8; 32];
        let n = PacketRepr::new(Seq(3), PacketType(60), b"xy").emit(&mut buf, &Codec::new()).unwrap();
        assert_eq!(recover_pseudo_sum(buf.get(..n - 1).unwrap()), None);
        assert_eq!(recover_pseudo_sum(buf.get(..n + 1).unwrap()), None);
        assert_eq!(recover_pseudo_sum(&[]), None);
    }
}
