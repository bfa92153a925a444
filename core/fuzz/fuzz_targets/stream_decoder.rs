//! `StreamDecoder`: first byte = chunk size and maximum payload, the rest is the stream.
//! The body is `seqlink_tests::fuzz_bodies::stream_decoder`, which
//! `tests/tests/fuzz_equivalent.rs` also runs on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| seqlink_tests::fuzz_bodies::stream_decoder(data));
