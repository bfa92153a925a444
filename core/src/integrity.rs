//! Integrity modes: how a packet proves it was not corrupted.
//!
//! * [`Integrity::InternetChecksum`] (the default, seed 000 exactly): the
//!   header's 16-bit checksum field holds the RFC 1071 checksum of
//!   `seq + type + len + payload`.
//! * [`Integrity::Crc32c`] (feature `crc32c`): for links where a 16-bit sum is
//!   too weak, such as serial lines. The header's checksum field is zero and a
//!   4-byte big-endian CRC-32C (Castagnoli) trailer follows the payload,
//!   covering the whole header and payload.
//!
//! Both fold in an optional 32-bit *pseudo-header* that is never sent (the
//! connection id of an established connection), the way UDP folds in the IP
//! addresses: a packet only verifies on the connection it was made for. A zero
//! pseudo-header leaves the Internet checksum unchanged, so seed 000 packets
//! are exactly the packets with pseudo-header zero.

use crate::checksum::Checksum;

/// The integrity check a [`crate::wire::Codec`] applies to every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Integrity {
    /// RFC 1071 Internet checksum in the header (seed 000).
    #[default]
    InternetChecksum = 0,
    /// CRC-32C trailer after the payload; header checksum field zero.
    #[cfg(feature = "crc32c")]
    Crc32c = 1,
}

impl Integrity {
    /// Bytes this mode appends after the payload.
    pub const fn trailer_len(self) -> usize {
        match self {
            Integrity::InternetChecksum => 0,
            #[cfg(feature = "crc32c")]
            Integrity::Crc32c => 4,
        }
    }

    /// The mode with wire number `value` (0 or 1), if this build supports it.
    pub const fn from_u8(value: u8) -> Option<Integrity> {
        match value {
            0 => Some(Integrity::InternetChecksum),
            #[cfg(feature = "crc32c")]
            1 => Some(Integrity::Crc32c),
            _ => None,
        }
    }

    /// Computes the check value for a packet whose header is `header` (the 9
    /// header bytes, checksum field included) and whose payload is `payload`.
    ///
    /// For the Internet checksum the checksum field is skipped; for CRC-32C it
    /// is covered (and is zero in a valid packet).
    pub(crate) fn compute(self, pseudo_header: u32, header: &[u8; 9], payload: &[u8]) -> u32 {
        match self {
            Integrity::InternetChecksum => {
                let mut c = Checksum::new();
                c.update_u32(pseudo_header);
                c.update(header.get(..7).unwrap_or(&[]));
                c.update(payload);
                u32::from(c.finish())
            }
            #[cfg(feature = "crc32c")]
            Integrity::Crc32c => {
                let mut digest = CRC32C.digest();
                digest.update(&pseudo_header.to_be_bytes());
                digest.update(header);
                digest.update(payload);
                digest.finalize()
            }
        }
    }
}

#[cfg(feature = "crc32c")]
static CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// CRC-32C (Castagnoli, as used by iSCSI and SCTP) of `data`.
///
/// ```
/// // The standard check value of CRC-32C.
/// assert_eq!(seqlink_core::integrity::crc32c(b"123456789"), 0xe306_9283);
/// ```
#[cfg(feature = "crc32c")]
pub fn crc32c(data: &[u8]) -> u32 {
    CRC32C.checksum(data)
}
