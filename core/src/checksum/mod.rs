//! The Internet checksum (RFC 1071), its incremental update (RFC 1624), and
//! sums that combine across buffers split at any offset.
//!
//! The checksum is the one's complement of the one's complement sum of the
//! data read as big-endian 16-bit words, an odd final byte padded with zero.
//! It is exactly what seed 000's `internet_checksum` computes:
//!
//! ```
//! use seqlink_core::checksum::{internet_checksum, ones_complement_sum};
//! // RFC 1071 section 3's example bytes.
//! let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
//! assert_eq!(ones_complement_sum(&data), 0xddf2);
//! assert_eq!(internet_checksum(&data), 0x220d);
//! ```
//!
//! Speed: on 64-bit hosts the sum reads 32-bit words into several 64-bit
//! accumulators (no carry handling in the loop); on x86-64 an AVX2 kernel is
//! chosen at run time when the CPU has it; 32-bit targets (Cortex-M) use a
//! compact add-with-carry loop. All paths agree bit for bit, on little- and
//! big-endian targets, for inputs of any length.

#[cfg(target_arch = "x86_64")]
mod x86;

/// Bytes a kernel sums in one call: far below where any of its accumulators
/// could overflow. Longer inputs are summed a block at a time.
const BLOCK: usize = 1 << 30;

/// Inputs shorter than this skip the SIMD dispatch.
#[cfg(target_arch = "x86_64")]
const SIMD_MIN_LEN: usize = 128;

/// Inputs shorter than this (most packets) go straight to [`short_sum`],
/// inlined: no dispatch and next to no setup.
#[cfg(not(target_pointer_width = "32"))]
const SHORT_LEN: usize = 128;

/// The one's complement sum of `data` as big-endian 16-bit words, folded to
/// 16 bits, *not* complemented. Zero only when every byte is zero.
pub fn ones_complement_sum(data: &[u8]) -> u16 {
    sum(data)
}

/// The body of [`ones_complement_sum`], inlined into both public functions
/// so that a short checksum is one call.
#[inline(always)]
fn sum(data: &[u8]) -> u16 {
    #[cfg(not(target_pointer_width = "32"))]
    if data.len() < SHORT_LEN {
        return u16::from_be(fold(short_sum(data)));
    }
    // Once AVX2 has been detected, inputs up to a block call its kernel
    // directly; everything else (and the first call) takes the long path.
    #[cfg(target_arch = "x86_64")]
    if data.len() <= BLOCK && data.len() >= SIMD_MIN_LEN {
        if let Some(sum) = x86::sum_if_detected(data) {
            return u16::from_be(fold(sum));
        }
    }
    u16::from_be(fold(long_sum(data)))
}

/// The unfolded sum of `data` of any length, a [`BLOCK`] at a time (kept out
/// of line on 64-bit targets so that the short path above stays small).
#[cfg_attr(not(target_pointer_width = "32"), inline(never))]
fn long_sum(data: &[u8]) -> u64 {
    let mut total = 0;
    for block in data.chunks(BLOCK) {
        total = add_carry(total, native_sum(block));
    }
    total
}

/// The Internet checksum of `data`: `!ones_complement_sum(data)`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// One's complement addition of two 16-bit sums (end-around carry).
pub const fn add(a: u16, b: u16) -> u16 {
    let s = a as u32 + b as u32;
    ((s & 0xffff) + (s >> 16)) as u16
}

/// Combines the sum of a first buffer with the sum of the buffer that follows
/// it. `second_at_odd_offset` is `true` when the first buffer's length is odd:
/// the second buffer's bytes then fall in the other halves of the words.
pub const fn combine(first: u16, second: u16, second_at_odd_offset: bool) -> u16 {
    let second = if second_at_odd_offset { second.swap_bytes() } else { second };
    add(first, second)
}

/// RFC 1624 incremental update (eqn. 3): the checksum after one 16-bit word
/// of the covered data changed from `old_word` to `new_word`.
///
/// ```
/// use seqlink_core::checksum::{internet_checksum, update};
/// let mut data = [0x12, 0x34, 0x56, 0x78];
/// let before = internet_checksum(&data);
/// data[2] = 0xab;
/// data[3] = 0xcd;
/// assert_eq!(update(before, 0x5678, 0xabcd), internet_checksum(&data));
/// ```
pub const fn update(checksum: u16, old_word: u16, new_word: u16) -> u16 {
    !add(add(!checksum, !old_word), new_word)
}

/// RFC 1624 update for a changed 32-bit big-endian field at an even offset.
pub const fn update_u32(checksum: u16, old: u32, new: u32) -> u16 {
    let c = update(checksum, (old >> 16) as u16, (new >> 16) as u16);
    update(c, old as u16, new as u16)
}

/// An incremental Internet checksum over data that arrives in pieces of any length.
///
/// ```
/// use seqlink_core::checksum::{internet_checksum, Checksum};
/// let data = b"seqlink: checksums that split at odd offsets";
/// let mut c = Checksum::new();
/// c.update(&data[..7]);
/// c.update(&data[7..20]);
/// c.update(&data[20..]);
/// assert_eq!(c.finish(), internet_checksum(data));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Checksum {
    sum: u16,
    odd: bool,
}

impl Checksum {
    /// An empty checksum state.
    pub const fn new() -> Checksum {
        Checksum { sum: 0, odd: false }
    }

    /// Adds the next bytes of the covered data.
    pub fn update(&mut self, data: &[u8]) {
        self.sum = combine(self.sum, ones_complement_sum(data), self.odd);
        self.odd ^= data.len() % 2 == 1;
    }

    /// Adds a big-endian 16-bit value as the next two bytes.
    pub fn update_u16(&mut self, value: u16) {
        self.update(&value.to_be_bytes());
    }

    /// Adds a big-endian 32-bit value as the next four bytes.
    pub fn update_u32(&mut self, value: u32) {
        self.update(&value.to_be_bytes());
    }

    /// `true` when an odd number of bytes has been added so far.
    pub const fn is_odd(&self) -> bool {
        self.odd
    }

    /// The one's complement sum so far (not complemented).
    pub const fn sum(&self) -> u16 {
        self.sum
    }

    /// The Internet checksum of everything added so far.
    pub const fn finish(&self) -> u16 {
        !self.sum
    }
}

/// Folds a wide sum to 16 bits with end-around carries; zero stays zero and
/// nothing else becomes zero. (Two add-with-carry steps: 2^32 - 1 is a
/// multiple of 0xffff, so each step keeps the sum's value modulo 0xffff.)
const fn fold(s: u64) -> u16 {
    let (lo, carry) = (s as u32).overflowing_add((s >> 32) as u32);
    // No overflow: after a carry `lo` is at most 2^32 - 2.
    let s = lo + carry as u32;
    let (lo, carry) = (s as u16).overflowing_add((s >> 16) as u16);
    lo + carry as u16
}

/// Sum of `data` (at most [`BLOCK`] bytes) read as native-endian 16-bit words,
/// unfolded; congruent to the folded sum modulo 0xffff, and zero only when
/// every byte is zero.
fn native_sum(data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= SIMD_MIN_LEN {
        if let Some(sum) = x86::sum(data) {
            return sum;
        }
    }
    scalar_sum(data)
}

/// The portable kernel for 64-bit targets. Long inputs take a loop the
/// compiler vectorizes (SSE2, NEON): the 32-bit halves of 64-bit words summed
/// into 64-bit lanes, no carries to handle below 16 GiB. Short inputs (most
/// packets, and the tail of the long loop and of the SIMD kernel) take
/// [`short_sum`], which has almost no setup.
#[cfg(not(target_pointer_width = "32"))]
fn scalar_sum(data: &[u8]) -> u64 {
    if data.len() < SHORT_LEN {
        return short_sum(data);
    }
    let (words, rest) = data.as_chunks::<8>();
    let mut sum = 0u64;
    for word in words {
        let x = u64::from_ne_bytes(*word);
        sum += (x & 0xffff_ffff) + (x >> 32);
    }
    add_carry(sum, short_sum(rest))
}

/// 64-bit words added with end-around carry (a sum modulo 2^64 - 1, a
/// multiple of 0xffff) into two accumulators, 16 bytes per step, then at
/// most one step each of 8, 4, 2 and 1 bytes.
#[cfg(not(target_pointer_width = "32"))]
#[inline(always)]
fn short_sum(data: &[u8]) -> u64 {
    let (pairs, rest) = data.as_chunks::<16>();
    let (mut a, mut b) = (0u64, 0u64);
    for pair in pairs {
        let (x, y) = pair.split_at(8);
        a = add_carry(a, read_u64(x));
        b = add_carry(b, read_u64(y));
    }
    let mut sum = add_carry(a, b);
    let mut rest = rest;
    if let Some((word, tail)) = rest.split_first_chunk::<8>() {
        sum = add_carry(sum, u64::from_ne_bytes(*word));
        rest = tail;
    }
    if let Some((word, tail)) = rest.split_first_chunk::<4>() {
        sum = add_carry(sum, u64::from(u32::from_ne_bytes(*word)));
        rest = tail;
    }
    add_carry(sum, u64::from(tail_sum(rest)))
}

/// 64-bit addition with end-around carry: zero only when both are zero, and
/// congruent to `a + b` modulo 0xffff.
#[inline(always)]
const fn add_carry(a: u64, b: u64) -> u64 {
    let (sum, carry) = a.overflowing_add(b);
    // No overflow: after a carry `sum` is at most 2^64 - 2.
    sum + carry as u64
}

/// The compact kernel for 32-bit targets (Cortex-M0/M3/M4, RISC-V 32): a
/// 32-bit add-with-carry loop over words.
#[cfg(target_pointer_width = "32")]
fn scalar_sum(data: &[u8]) -> u64 {
    let mut sum: u32 = 0;
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let (s, carry) = sum.overflowing_add(read_u32(word));
        sum = s + carry as u32;
    }
    add_carry(u64::from(sum), u64::from(tail_sum(words.remainder())))
}

/// Sum of the last 0..=3 bytes as native-endian words, an odd byte padded with zero.
fn tail_sum(rest: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut rest = rest;
    if let Some((pair, tail)) = rest.split_first_chunk::<2>() {
        sum += u32::from(u16::from_ne_bytes(*pair));
        rest = tail;
    }
    if let [last] = *rest {
        sum += u32::from(u16::from_ne_bytes([last, 0]));
    }
    sum
}

/// Reads a native-endian u64 from an 8-byte chunk (one load).
#[cfg(not(target_pointer_width = "32"))]
#[inline(always)]
fn read_u64(word: &[u8]) -> u64 {
    match word.first_chunk::<8>() {
        Some(bytes) => u64::from_ne_bytes(*bytes),
        None => 0,
    }
}

/// Reads a native-endian u32 from a 4-byte chunk (the compiler emits one load
/// where unaligned loads are allowed, byte loads on Cortex-M0).
#[cfg(target_pointer_width = "32")]
#[inline(always)]
fn read_u32(word: &[u8]) -> u32 {
    match *word {
        [a, b, c, d] => u32::from_ne_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// The portable kernel, for comparing the SIMD kernel against it in tests.
#[cfg(test)]
pub(crate) fn scalar_ones_complement_sum(data: &[u8]) -> u16 {
    u16::from_be(fold(scalar_sum(data)))
}

/// The plainest reference: the seed's loop, one big-endian word at a time.
#[cfg(test)]
pub(crate) fn reference_sum(data: &[u8]) -> u16 {
    let mut s: u64 = 0;
    for pair in data.chunks(2) {
        let hi = u64::from(pair.first().copied().unwrap_or(0));
        let lo = u64::from(pair.get(1).copied().unwrap_or(0));
        s += (hi << 8) | lo;
        s = (s & 0xffff) + (s >> 16);
    }
    ((s & 0xffff) + (s >> 16)) as u16
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A small deterministic generator so the tests also run under Miri.
    fn bytes(seed: u64, len: usize) -> impl Iterator<Item = u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len).map(move |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
    }

    fn random(seed: u64, len: usize) -> [u8; 1024] {
        let mut buf = [0u8; 1024];
        for (b, v) in buf.iter_mut().zip(bytes(seed, len)) {
            *b = v;
        }
        buf
    }

    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(ones_complement_sum(&data), 0xddf2);
        assert_eq!(internet_checksum(&data), 0x220d);
    }

    #[test]
    fn empty_and_zero_inputs() {
        assert_eq!(ones_complement_sum(&[]), 0);
        assert_eq!(internet_checksum(&[]), 0xffff);
        assert_eq!(internet_checksum(&[0; 9]), 0xffff);
        assert_eq!(internet_checksum(&[0xff, 0xff]), 0x0000);
        assert_eq!(internet_checksum(&[0x01]), 0xfeff);
    }

    #[test]
    fn every_length_and_offset_up_to_300_matches_the_reference() {
        let max = if cfg!(miri) { 80 } else { 300 };
        for len in 0..=max {
            for offset in 0..4 {
                let buf = random(len as u64 * 7 + offset as u64, len + offset);
                let data = &buf[offset..offset + len];
                let want = reference_sum(data);
                assert_eq!(ones_complement_sum(data), want, "len {len} offset {offset}");
                assert_eq!(scalar_ones_complement_sum(data), want, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn all_ones_carry_heavy_inputs() {
        for len in [1, 2, 3, 15, 16, 17, 127, 128, 129, 255, 256, 1000] {
            let data = [0xffu8; 1024];
            assert_eq!(ones_complement_sum(&data[..len]), reference_sum(&data[..len]));
        }
    }

    #[test]
    fn splits_at_every_offset_combine() {
        let buf = random(99, 301);
        let data = &buf[..301];
        let whole = internet_checksum(data);
        for split in 0..=data.len() {
            let mut c = Checksum::new();
            c.update(&data[..split]);
            c.update(&data[split..]);
            assert_eq!(c.finish(), whole, "split at {split}");
            let joined =
                combine(ones_complement_sum(&data[..split]), ones_complement_sum(&data[split..]), split % 2 == 1);
            assert_eq!(!joined, whole);
        }
        // three pieces, all odd
        let mut c = Checksum::new();
        c.update(&data[..3]);
        c.update(&data[3..8]);
        c.update(&data[8..]);
        assert_eq!(c.finish(), whole);
        c.update_u16(0x1234);
        let mut d = Checksum::new();
        d.update(data);
        d.update(&[0x12, 0x34]);
        assert_eq!(c, d);
    }

    #[test]
    fn rfc1624_update_matches_recomputation() {
        let mut buf = random(5, 64);
        for i in 0..32 {
            let before = internet_checksum(&buf[..64]);
            let old = u16::from_be_bytes([buf[2 * i], buf[2 * i + 1]]);
            let new = old.wrapping_mul(31).wrapping_add(i as u16);
            buf[2 * i..2 * i + 2].copy_from_slice(&new.to_be_bytes());
            assert_eq!(update(before, old, new), internet_checksum(&buf[..64]));
        }
        let before = internet_checksum(&buf[..64]);
        let old = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        buf[8..12].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        assert_eq!(update_u32(before, old, 0xdead_beef), internet_checksum(&buf[..64]));
    }
}
