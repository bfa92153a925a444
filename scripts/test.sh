#!/usr/bin/env bash
# Runs every test of seqlink: formatting, lints, unit/property/integration
# tests, and the no_std builds for the embedded targets.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export MIRI_TOOLCHAIN=${MIRI_TOOLCHAIN:-nightly-2026-05-20}

step() { printf '\n==> %s\n' "$*"; }

step "setup"
./scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (host, all targets)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p seqlink-core --all-targets --no-default-features --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked
# the core's own tests in its smallest build (every optional feature off;
# tests that need a feature are compiled out with it)
cargo test -p seqlink-core --no-default-features --lib --tests --locked

step "Python package: pip install ./py-bindings in a venv, then its pytest suite"
./scripts/test-py.sh

step "comparison smoke run: seqlink, KCP and ENet through the impairment relay (fails on an error or a hash mismatch, not on speed)"
./scripts/compare.sh --quick

step "C bindings: header freshness, C test suite and examples under ASan/UBSan, pkg-config (scripts/test-ffi.sh)"
./scripts/test-ffi.sh

step "CLI: the Wireshark dissector under tshark against seqlink inspect (installs tshark)"
./scripts/test-cli.sh

step "spec check: the Python peer written from docs/PROTOCOL.md alone against seqlink over loopback (scripts/test-spec.sh)"
./scripts/test-spec.sh

step "rustdoc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -p seqlink-core --no-deps --locked

step "no_std builds of seqlink-core"
for target in thumbv6m-none-eabi thumbv7em-none-eabihf riscv32imac-unknown-none-elf; do
    cargo clippy -p seqlink-core --target "$target" --locked -- -D warnings
    cargo build -p seqlink-core --target "$target" --release --locked
    cargo build -p seqlink-core --target "$target" --release --locked --no-default-features
    cargo build -p seqlink-core --target "$target" --release --locked --features defmt
done

step "footprint of a minimal client firmware (fails above bench/footprint/budget.txt)"
./scripts/footprint.sh

step "a minimal-feature client against a full-featured server under loss (scripts/test-minimal-client.sh)"
./scripts/test-minimal-client.sh

step "firmware example: host tests, Cortex-M builds, and the firmware in QEMU against a host peer with 10% loss"
./scripts/test-firmware.sh

step "Miri: byte-level unit tests on big-endian (s390x) and 32-bit (i686) targets"
# The modules that read and write bytes: checksum kernels, wire formats,
# framings, integrity modes, sequence arithmetic, slot encodings.
for target in s390x-unknown-linux-gnu i686-unknown-linux-gnu; do
    cargo "+$MIRI_TOOLCHAIN" miri test -p seqlink-core --lib --target "$target" -- \
        checksum:: wire:: framing:: integrity:: seq:: link::slots:: basic::
done

step "all tests passed"
