//! Byte and ring helpers that link no panic path (no length-mismatch panic,
//! no division by zero), for the footprint of firmware builds.

/// Copies as many bytes as both slices hold and returns how many. Unlike
/// `copy_from_slice` it has no length-mismatch panic to link.
pub(crate) fn copy_prefix(dst: &mut [u8], src: &[u8]) -> usize {
    let mut n = 0;
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
        n += 1;
    }
    n
}

/// `index` wrapped into a ring of `len` slots, for an index less than two
/// rings long (a slot plus at most a ring: every caller's case), without a
/// division (a software routine on Cortex-M0); 0 beyond that and for an
/// empty ring.
pub(crate) fn ring_index(index: usize, len: usize) -> usize {
    if index < len {
        index
    } else {
        index.checked_sub(len).filter(|&wrapped| wrapped < len).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_the_shorter_length() {
        let mut dst = [0u8; 3];
        assert_eq!(copy_prefix(&mut dst, b"abcde"), 3);
        assert_eq!(&dst, b"abc");
        let mut dst = [9u8; 4];
        assert_eq!(copy_prefix(&mut dst, b"xy"), 2);
        assert_eq!(&dst, b"xy\x09\x09");
    }

    #[test]
    fn ring_index_wraps_and_tolerates_an_empty_ring() {
        assert_eq!(ring_index(5, 4), 1);
        assert_eq!(ring_index(3, 4), 3);
        assert_eq!(ring_index(7, 4), 3);
        assert_eq!(ring_index(7, 0), 0);
        // beyond two rings (no caller's case): slot 0, never out of the ring
        assert_eq!(ring_index(8, 4), 0);
        assert_eq!(ring_index(usize::MAX, 4), 0);
    }
}
