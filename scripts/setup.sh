#!/usr/bin/env bash
# Installs what the tests need on a fresh machine: Rust components and the
# embedded targets of the no_std proof. Idempotent; safe to run repeatedly.
set -euo pipefail

EMBEDDED_TARGETS=(thumbv6m-none-eabi thumbv7em-none-eabihf riscv32imac-unknown-none-elf)
MIRI_TOOLCHAIN=${MIRI_TOOLCHAIN:-nightly-2026-05-20}

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install Rust with rustup first" >&2
    exit 1
fi
if command -v rustup >/dev/null 2>&1; then
    installed=$(rustup target list --installed)
    missing=()
    for t in "${EMBEDDED_TARGETS[@]}"; do
        grep -qx "$t" <<<"$installed" || missing+=("$t")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        rustup target add "${missing[@]}"
    fi
    components=$(rustup component list --installed)
    # llvm-tools: llvm-size, llvm-nm and llvm-objdump for scripts/footprint.sh
    for c in rustfmt clippy llvm-tools; do
        grep -q "^$c" <<<"$components" || rustup component add "$c"
    done
    # Miri (nightly) runs the core's byte-level unit tests on a big-endian and
    # a 32-bit target. The nightly is pinned to one known to ship Miri.
    # read the list whole before grep -q (with pipefail an early close could fail the test)
    miri_components=$(rustup component list --toolchain "$MIRI_TOOLCHAIN" --installed 2>/dev/null || true)
    if ! grep -q '^miri' <<<"$miri_components"; then
        rustup toolchain install "$MIRI_TOOLCHAIN" --profile minimal --component miri,rust-src
    fi
fi
command -v python3 >/dev/null 2>&1 || { echo "setup: python3 is needed for the seed test vectors" >&2; exit 1; }
