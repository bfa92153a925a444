//! Internet checksum throughput: seqlink against smoltcp, the
//! `internet-checksum` crate and a plain load-and-add loop (the memory-load
//! bound, compiled both for baseline x86-64 and, where the CPU has it, for
//! AVX2), at 16, 73, 1509 and 65544 bytes.
//!
//! ```text
//! cargo bench -p seqlink-bench --bench checksum
//! ```
//!
//! Criterion prints its usual report for every benchmark; at the end this
//! bench prints a summary table (GB/s = 10^9 bytes/s, from the same samples
//! criterion analysed: the least-squares slope of time against iterations).
//! Results are in docs/BENCHMARKS.md.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

/// Input sizes: tiny, a small odd packet, an Ethernet-sized odd packet, and
/// a little more than 64 KiB.
const SIZES: [usize; 4] = [16, 73, 1509, 65544];

/// Criterion samples per benchmark; the summary uses the last this many.
const SAMPLES: usize = 50;

/// Implementations, in table order.
const IMPLS: [&str; 5] = ["seqlink", "smoltcp", "internet-checksum", "load-bound", "load-bound-avx2"];

/// (implementation, size) -> every (iterations, elapsed) criterion asked for.
type Records = BTreeMap<(&'static str, usize), Vec<(u64, Duration)>>;

thread_local! {
    static RECORDS: RefCell<Records> = const { RefCell::new(BTreeMap::new()) };
}

/// Random bytes from a fixed seed (xorshift64).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

fn seqlink(data: &[u8]) -> u16 {
    seqlink_core::checksum::internet_checksum(data)
}

fn smoltcp(data: &[u8]) -> u16 {
    !smoltcp::wire::checksum::data(data)
}

fn internet_checksum_crate(data: &[u8]) -> u16 {
    u16::from_be_bytes(internet_checksum::checksum(data))
}

/// The memory-load bound: every byte loaded once (as native u64 words) and
/// added with `wrapping_add`; no carry handling, no byte order, no folding.
/// Eight independent sums per 64 bytes, so that loop overhead (and where the
/// loop happens to sit in the binary) does not limit it; the compiler
/// vectorizes it with the baseline x86-64 instruction set (SSE2).
#[inline(always)]
fn load_sum(data: &[u8]) -> u64 {
    let (blocks, rest) = data.as_chunks::<64>();
    let mut acc = [0u64; 8];
    for block in blocks {
        let (words, _) = block.as_chunks::<8>();
        for (a, w) in acc.iter_mut().zip(words) {
            *a = a.wrapping_add(u64::from_ne_bytes(*w));
        }
    }
    let mut sum = acc.iter().fold(0u64, |s, &a| s.wrapping_add(a));
    let (words, rest) = rest.as_chunks::<8>();
    for w in words {
        sum = sum.wrapping_add(u64::from_ne_bytes(*w));
    }
    for &b in rest {
        sum = sum.wrapping_add(u64::from(b));
    }
    sum
}

fn load_bound(data: &[u8]) -> u64 {
    load_sum(data)
}

/// The same loop compiled for AVX2 (32-byte loads, like seqlink's kernel):
/// the bound that matters on this machine.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn load_sum_avx2(data: &[u8]) -> u64 {
    load_sum(data)
}

#[cfg(target_arch = "x86_64")]
fn load_bound_avx2(data: &[u8]) -> u64 {
    // SAFETY: only benchmarked after `is_x86_feature_detected!("avx2")`.
    unsafe { load_sum_avx2(data) }
}

fn run<R>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &'static str,
    size: usize,
    data: &[u8],
    f: fn(&[u8]) -> R,
) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(f(black_box(data)));
            }
            let elapsed = start.elapsed();
            RECORDS.with(|r| {
                r.borrow_mut().entry((name, size)).or_default().push((iters, elapsed));
            });
            elapsed
        });
    });
}

/// Nanoseconds per call: the least-squares slope (through the origin) of the
/// last [`SAMPLES`] samples, i.e. criterion's measurement phase.
fn ns_per_call(samples: &[(u64, Duration)]) -> Option<f64> {
    let last = samples.get(samples.len().checked_sub(SAMPLES)?..)?;
    let (mut xy, mut xx) = (0.0f64, 0.0f64);
    for &(iters, elapsed) in last {
        let x = iters as f64;
        xy += x * elapsed.as_nanos() as f64;
        xx += x * x;
    }
    (xx > 0.0).then(|| xy / xx)
}

fn print_summary() {
    let results = RECORDS.with(|r| {
        r.borrow().iter().filter_map(|(&key, samples)| Some((key, ns_per_call(samples)?))).collect::<BTreeMap<_, _>>()
    });
    if results.is_empty() {
        return;
    }
    let gbps = |name: &str, size: usize| results.get(&(name, size)).map(|&ns| (size as f64 / ns, ns));
    println!();
    println!("## Internet checksum: GB/s (10^9 bytes/s), ns per call in parentheses");
    println!();
    print!("| bytes |");
    for name in IMPLS {
        print!(" {name} |");
    }
    println!(" seqlink / smoltcp | seqlink / best load-bound |");
    print!("|---:|");
    for _ in IMPLS {
        print!("---:|");
    }
    println!("---:|---:|");
    for size in SIZES {
        print!("| {size} |");
        for name in IMPLS {
            match gbps(name, size) {
                Some((g, ns)) => print!(" {g:.2} ({ns:.1} ns) |"),
                None => print!(" - |"),
            }
        }
        let ratio = |other: Option<(f64, f64)>| match (gbps("seqlink", size), other) {
            (Some((a, _)), Some((b, _))) => format!("{:.2}x", a / b),
            _ => "-".to_string(),
        };
        // The faster of the two load-bound builds.
        let bound = match (gbps("load-bound", size), gbps("load-bound-avx2", size)) {
            (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        println!(" {} | {} |", ratio(gbps("smoltcp", size)), ratio(bound));
    }
    println!();
}

fn main() {
    // All three checksums must agree before their speeds mean anything.
    for size in SIZES.iter().copied().chain(0..300) {
        let data = random_bytes(size, 0x5eed_0000 + size as u64);
        let want = seqlink(&data);
        assert_eq!(smoltcp(&data), want, "smoltcp, {size} bytes");
        assert_eq!(internet_checksum_crate(&data), want, "crate, {size} bytes");
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(SAMPLES)
        .configure_from_args();
    for size in SIZES {
        let data = random_bytes(size, 0x5eed_0000 + size as u64);
        let mut group = c.benchmark_group(format!("checksum/{size}"));
        group.throughput(Throughput::Bytes(size as u64));
        run(&mut group, "seqlink", size, &data, seqlink);
        run(&mut group, "smoltcp", size, &data, smoltcp);
        run(&mut group, "internet-checksum", size, &data, internet_checksum_crate);
        run(&mut group, "load-bound", size, &data, load_bound);
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") {
            run(&mut group, "load-bound-avx2", size, &data, load_bound_avx2);
        }
        group.finish();
    }
    c.final_summary();
    print_summary();
}
