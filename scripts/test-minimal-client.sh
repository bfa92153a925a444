#!/usr/bin/env bash
# Interop of a minimal-feature client with a full-featured server (issue 8).
#
# tests/minimal-client builds seqlink-core with default-features = false (no
# congestion control, SACK, NACK, fast retransmit, fragmentation, ...) in a
# workspace of its own (in the main one cargo unifies features), and its test
# drives that client against `full_peer` (tests/src/bin, every default
# feature) through a lossy simulated path: every message must come back
# echoed, in order, the client must never send a NACK or a SACK bit, and
# neither side may offer or agree to coalesced datagrams nor send the client
# one, and the client fails on a SYN_ACK forged to agree to coalescing
# (tests/interop.rs); the firmware example's device settings exchange 300
# echoes at 10% loss each way, over 100 seeds (tests/firmware_echo.rs:
# issue 8/12, a full sender stalled on a receiver that never SACKs); a bare
# link built so takes `coalesce` as off (tests/bare_link.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

MANIFEST=tests/minimal-client/Cargo.toml
cargo fmt --manifest-path "$MANIFEST" -- --check
cargo clippy --manifest-path "$MANIFEST" --all-targets --locked -- -D warnings
cargo test --manifest-path "$MANIFEST" --locked
