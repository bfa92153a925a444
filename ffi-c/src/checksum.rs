//! The Internet checksum (RFC 1071), one-shot and incremental.

use crate::ptr::{bytes, input, put};
use crate::status::{guard, SEQLINK_OK};
use core::ffi::c_int;
use seqlink_core::checksum::{combine, internet_checksum, ones_complement_sum};

/// An incremental Internet checksum over data that arrives in pieces of any
/// length. Plain data: start it with `seqlink_checksum_init`, copy it freely.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkChecksum {
    /// One's complement sum so far (not complemented).
    pub sum: u16,
    /// 1 when an odd number of bytes has been added so far.
    pub odd: u8,
}

/// The Internet checksum of `len` bytes at `data` into `*checksum`
/// (`data` may be null when `len` is 0). Returns 0, or -SEQLINK_E_NULL.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn seqlink_internet_checksum(data: *const u8, len: usize, checksum: *mut u16) -> c_int {
    guard(|| {
        let data = bytes(data, len)?;
        put(checksum, internet_checksum(data))?;
        Ok(SEQLINK_OK)
    })
}

/// Starts an incremental checksum in `*state`. Returns 0, or -SEQLINK_E_NULL.
#[no_mangle]
pub extern "C" fn seqlink_checksum_init(state: *mut SeqlinkChecksum) -> c_int {
    guard(|| {
        put(state, SeqlinkChecksum::default())?;
        Ok(SEQLINK_OK)
    })
}

/// Adds the next `len` bytes at `data` (pieces may have any length, odd ones
/// included). Returns 0, or -SEQLINK_E_NULL.
#[no_mangle]
pub extern "C" fn seqlink_checksum_update(state: *mut SeqlinkChecksum, data: *const u8, len: usize) -> c_int {
    guard(|| {
        let data = bytes(data, len)?;
        let mut next = *input(state)?;
        next.sum = combine(next.sum, ones_complement_sum(data), next.odd != 0);
        next.odd ^= (len % 2) as u8;
        put(state, next)?;
        Ok(SEQLINK_OK)
    })
}

/// The checksum of everything added so far into `*checksum` (the state is
/// unchanged: more may be added). Returns 0, or -SEQLINK_E_NULL.
#[no_mangle]
pub extern "C" fn seqlink_checksum_finish(state: *const SeqlinkChecksum, checksum: *mut u16) -> c_int {
    guard(|| {
        put(checksum, !input(state)?.sum)?;
        Ok(SEQLINK_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_at_odd_offsets_sum_like_the_whole() {
        let data = b"seqlink: checksums that split at odd offsets";
        let mut whole = 0u16;
        assert_eq!(seqlink_internet_checksum(data.as_ptr(), data.len(), &mut whole), 0);
        let mut state = SeqlinkChecksum::default();
        assert_eq!(seqlink_checksum_init(&mut state), 0);
        for piece in [&data[..7], &data[7..8], &data[8..21], &data[21..]] {
            assert_eq!(seqlink_checksum_update(&mut state, piece.as_ptr(), piece.len()), 0);
        }
        let mut pieces = 0u16;
        assert_eq!(seqlink_checksum_finish(&state, &mut pieces), 0);
        assert_eq!(pieces, whole);
    }
}
