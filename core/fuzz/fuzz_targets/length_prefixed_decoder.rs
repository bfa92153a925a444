//! `LengthPrefixedDecoder`: first byte = chunk size and maximum length, the rest is the stream.
//! The body is `seqlink_tests::fuzz_bodies::length_prefixed_decoder`, which
//! `tests/tests/fuzz_equivalent.rs` also runs on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| seqlink_tests::fuzz_bodies::length_prefixed_decoder(data));
