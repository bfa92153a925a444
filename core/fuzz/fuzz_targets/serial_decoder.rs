//! `SerialDecoder` (COBS): first byte = chunk size and maximum payload, the rest is the line.
//! The body is `seqlink_tests::fuzz_bodies::serial_decoder`, which
//! `tests/tests/fuzz_equivalent.rs` also runs on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| seqlink_tests::fuzz_bodies::serial_decoder(data));
