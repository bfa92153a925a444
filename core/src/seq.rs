//! 32-bit sequence numbers with RFC 1982 serial-number arithmetic.
//!
//! Sequence numbers wrap from `u32::MAX` to `0`. Two numbers compare by the
//! signed distance between them, so `0` comes *after* `u32::MAX`. Numbers
//! exactly 2^31 apart are not ordered (RFC 1982 leaves that case undefined).
//!
//! ```
//! use seqlink_core::Seq;
//! let last = Seq::new(u32::MAX);
//! let first = last.next();
//! assert_eq!(first, Seq::new(0));
//! assert!(first.is_after(last));
//! assert_eq!(first.distance_from(last), 1);
//! ```

use core::cmp::Ordering;

/// A packet sequence number (the header's first field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Seq(pub u32);

impl Seq {
    /// The zero sequence number.
    pub const ZERO: Seq = Seq(0);

    /// Wraps a raw number.
    pub const fn new(value: u32) -> Seq {
        Seq(value)
    }

    /// The raw number.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// The number after this one (wrapping).
    pub const fn next(self) -> Seq {
        Seq(self.0.wrapping_add(1))
    }

    /// This number advanced by `n` (wrapping).
    pub const fn advance(self, n: u32) -> Seq {
        Seq(self.0.wrapping_add(n))
    }

    /// This number moved back by `n` (wrapping).
    pub const fn retreat(self, n: u32) -> Seq {
        Seq(self.0.wrapping_sub(n))
    }

    /// Signed distance `self - earlier`: positive when `self` comes after `earlier`.
    ///
    /// For numbers exactly 2^31 apart the result is `i32::MIN` whichever way round.
    pub const fn distance_from(self, earlier: Seq) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// Number of steps forward from `start` to `self` (wrapping), as an unsigned offset.
    pub const fn offset_from(self, start: Seq) -> u32 {
        self.0.wrapping_sub(start.0)
    }

    /// RFC 1982 comparison; `None` when the numbers are exactly 2^31 apart.
    pub const fn serial_cmp(self, other: Seq) -> Option<Ordering> {
        match self.distance_from(other) {
            0 => Some(Ordering::Equal),
            i32::MIN => None,
            d if d > 0 => Some(Ordering::Greater),
            _ => Some(Ordering::Less),
        }
    }

    /// `true` when `self` comes strictly after `other`.
    pub const fn is_after(self, other: Seq) -> bool {
        matches!(self.serial_cmp(other), Some(Ordering::Greater))
    }

    /// `true` when `self` comes strictly before `other`.
    pub const fn is_before(self, other: Seq) -> bool {
        matches!(self.serial_cmp(other), Some(Ordering::Less))
    }

    /// `true` when `self` lies in the half-open window `[start, start + len)`.
    pub const fn in_window(self, start: Seq, len: u32) -> bool {
        self.offset_from(start) < len
    }
}

impl PartialOrd for Seq {
    /// Serial-number order: partial, since numbers 2^31 apart are unordered.
    fn partial_cmp(&self, other: &Seq) -> Option<Ordering> {
        self.serial_cmp(*other)
    }
}

impl From<u32> for Seq {
    fn from(value: u32) -> Seq {
        Seq(value)
    }
}

impl From<Seq> for u32 {
    fn from(seq: Seq) -> u32 {
        seq.0
    }
}

impl core::fmt::Display for Seq {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_across_the_wrap() {
        let max = Seq(u32::MAX);
        let zero = Seq(0);
        assert!(zero.is_after(max));
        assert!(max.is_before(zero));
        assert!(zero > max);
        assert_eq!(zero.distance_from(max), 1);
        assert_eq!(max.distance_from(zero), -1);
        assert_eq!(max.next(), zero);
        assert_eq!(zero.retreat(1), max);
        assert_eq!(max.advance(10), Seq(9));
        assert_eq!(Seq(5).offset_from(max), 6);
    }

    #[test]
    fn half_way_is_unordered() {
        let a = Seq(7);
        let b = a.advance(1 << 31);
        assert_eq!(a.serial_cmp(b), None);
        assert_eq!(b.serial_cmp(a), None);
        assert!(!a.is_after(b) && !a.is_before(b));
        assert_eq!(a.partial_cmp(&b), None);
        // one step less than half-way is still ordered
        let c = a.advance((1 << 31) - 1);
        assert!(c.is_after(a));
        assert!(a.is_before(c));
    }

    #[test]
    fn windows_wrap() {
        let start = Seq(u32::MAX - 1);
        assert!(start.in_window(start, 1));
        assert!(Seq(0).in_window(start, 3));
        assert!(!Seq(1).in_window(start, 3));
        assert!(!start.retreat(1).in_window(start, 3));
        assert!(!start.in_window(start, 0));
    }

    #[test]
    fn every_distance_round_trips_near_the_wrap() {
        for base in [0u32, 1, u32::MAX, u32::MAX - 100, 1 << 31, (1 << 31) - 1] {
            for d in -300i32..300 {
                let a = Seq(base);
                let b = Seq(base.wrapping_add(d as u32));
                assert_eq!(b.distance_from(a), d);
                assert_eq!(a.distance_from(b), -d);
                assert_eq!(b.is_after(a), d > 0);
                assert_eq!(b.is_before(a), d < 0);
            }
        }
    }
}
