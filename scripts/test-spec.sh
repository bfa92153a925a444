#!/usr/bin/env bash
# The spec check: an independent pure-Python seqlink written from
# docs/PROTOCOL.md alone (tests/spec_peer/) against the Rust implementation
# over loopback UDP/TCP, with injected loss, and codec vectors both ways.
# Needs python3 (3.9+, standard library only). Bounded: about 20 s of runs
# after the CLI build (each run has its own time limit; 300 s in all at most).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v python3 >/dev/null 2>&1; then
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3 >/dev/null
fi
cargo build -p seqlink-cli --locked --quiet
timeout 300 python3 tests/spec_peer/run_interop.py target/debug/seqlink
