//! Benchmarks live in `benches/` and `src/bin/`; see docs/BENCHMARKS.md.

pub mod compare;
