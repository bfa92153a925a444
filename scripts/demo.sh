#!/usr/bin/env bash
# The main job: `seqlink demo`, a sender and a receiver over real UDP sockets
# on loopback through injected loss, duplication, reordering, bit flips and
# delay, with live progress and both sides' statistics. Arguments go to
# `seqlink demo` (see `./scripts/demo.sh --help`), e.g. --size 32MiB --loss 10%.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p seqlink-cli -- demo "$@"
