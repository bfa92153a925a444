//! `PacketRepr::decode` and the `Packet` view's accessors on arbitrary bytes.
//! The body is `seqlink_tests::fuzz_bodies::packet_decode`, which
//! `tests/tests/fuzz_equivalent.rs` also runs on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| seqlink_tests::fuzz_bodies::packet_decode(data));
