#!/usr/bin/env bash
# Builds, installs and tests the Python package (py-bindings/, import name
# `seqlink`) in a virtual environment: `pip install ./py-bindings` exactly as
# a newcomer runs it, then the Rust side's fmt and clippy, and the pytest
# suite (hypothesis properties, drivers over loopback, interoperability with
# the Rust drivers of seqlink-std, the examples).
# Idempotent: the environment (target/py-venv) is reused when present.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
VENV=${SEQLINK_PY_VENV:-target/py-venv}

step() { printf '\n==> %s\n' "$*"; }

step "python virtual environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        # Debian's python3 keeps venv (and its ensurepip) in a package of its own
        sudo_cmd=()
        if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
        "${sudo_cmd[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --disable-pip-version-check pytest pytest-timeout hypothesis tqdm

step "pip install ./py-bindings (maturin builds the abi3 extension)"
"$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./py-bindings

step "py-bindings: cargo fmt --check, cargo clippy"
(cd py-bindings && cargo fmt -- --check && cargo clippy --locked --all-targets -- -D warnings)

step "seqlink-std peer for the interoperability tests (py-bindings/examples/std_peer.rs)"
(cd py-bindings && cargo build --release --locked --example std_peer)
export SEQLINK_STD_PEER="$PWD/py-bindings/target/release/examples/std_peer"

step "pytest (py-bindings/tests)"
(cd py-bindings && "../$PY" -m pytest -q -p no:cacheprovider --timeout=120 tests)
