#!/usr/bin/env bash
# The main job: a demo of seqlink over real UDP sockets on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p seqlink-std --example loopback_demo -- "$@"
