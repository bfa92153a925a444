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

/// Bytes summed between folds of the 64-bit accumulators: far below where
/// any accumulator could overflow, whatever the kernel.
const BLOCK: usize = 1 << 30;

/// Inputs shorter than this skip the SIMD dispatch.
#[cfg(target_arch = "x86_64")]
const SIMD_MIN_LEN: usize = 128;

/// The one's complement sum of `data` as big-endian 16-bit words, folded to
/// 16 bits, *not* complemented. Zero only when every byte is zero.
pub fn ones_complement_sum(data: &[u8]) -> u16 {
    let mut total: u16 = 0;
    for block in data.chunks(BLOCK) {
        total = add(total, fold(native_sum(block)));
    }
    u16::from_be(total)
}

/// The Internet checksum of `data`: `!ones_complement_sum(data)`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !ones_complement_sum(data)
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
    let second = if second_at_odd_offset {
        second.swap_bytes()
    } else {
        second
    };
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
/// nothing else becomes zero.
const fn fold(mut s: u64) -> u16 {
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// Sum of `data` (at most [`BLOCK`] bytes) read as native-endian 16-bit words,
/// unfolded; congruent to the folded sum modulo 0xffff.
fn native_sum(data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= SIMD_MIN_LEN {
        if let Some(sum) = x86::sum(data) {
            return sum;
        }
    }
    scalar_sum(data)
}

/// The portable kernel for 64-bit targets: 32-bit words into four
/// independent 64-bit accumulators; no carries to handle below 16 GiB.
#[cfg(not(target_pointer_width = "32"))]
fn scalar_sum(data: &[u8]) -> u64 {
    let mut acc = [0u64; 4];
    let mut chunks = data.chunks_exact(16);
    for chunk in &mut chunks {
        for (a, word) in acc.iter_mut().zip(chunk.chunks_exact(4)) {
            *a += u64::from(read_u32(word));
        }
    }
    let mut sum = acc[0] + acc[1] + acc[2] + acc[3];
    let rest = chunks.remainder();
    let mut words = rest.chunks_exact(4);
    for word in &mut words {
        sum += u64::from(read_u32(word));
    }
    sum + u64::from(tail_sum(words.remainder()))
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
    u64::from(sum) + u64::from(tail_sum(words.remainder()))
}

/// Sum of the last 0..=3 bytes as native-endian words, an odd byte padded with zero.
fn tail_sum(rest: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut pairs = rest.chunks_exact(2);
    for pair in &mut pairs {
        if let [a, b] = *pair {
            sum += u32::from(u16::from_ne_bytes([a, b]));
        }
    }
    if let [last] = *pairs.remainder() {
        sum += u32::from(u16::from_ne_bytes([last, 0]));
    }
    sum
}

/// Reads a native-endian u32 from a 4-byte chunk (the compiler emits one load
/// where unaligned loads are allowed, byte loads on Cortex-M0).
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
                assert_eq!(
                    scalar_ones_complement_sum(data),
                    want,
                    "len {len} offset {offset}"
                );
            }
        }
    }

    #[test]
    fn all_ones_carry_heavy_inputs() {
        for len in [1, 2, 3, 15, 16, 17, 127, 128, 129, 255, 256, 1000] {
            let data = [0xffu8; 1024];
            assert_eq!(
                ones_complement_sum(&data[..len]),
                reference_sum(&data[..len])
            );
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
            let joined = combine(
                ones_complement_sum(&data[..split]),
                ones_complement_sum(&data[split..]),
                split % 2 == 1,
            );
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
        assert_eq!(
            update_u32(before, old, 0xdead_beef),
            internet_checksum(&buf[..64])
        );
    }
}
