//! Shared helpers for seqlink cross-crate tests.
