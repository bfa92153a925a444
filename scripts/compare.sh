#!/usr/bin/env bash
# seqlink against KCP (the `kcp` crate) and ENet (libenet) through one
# seeded impairment relay on loopback UDP; see docs/BENCHMARKS.md.
#
#   scripts/compare.sh           the full grid, every bulk cell 3 times per library
#                                (the tables show medians): CSV of every run in
#                                bench/results/compare.csv, tables and SVG plots
#                                into docs/BENCHMARKS.md and docs/compare/
#                                (about 7 minutes on 2 cores)
#   scripts/compare.sh --quick   the smoke test: one small bulk cell and one short
#                                latency cell per library; fails only when a run
#                                errs or its data fails the hash check
#
# Extra arguments go to the binary (e.g. --mib 16, or --repeat 5: the last
# --repeat given counts).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

quick=0
args=()
for a in "$@"; do
    if [ "$a" = "--quick" ]; then quick=1; else args+=("$a"); fi
done

# ENet comes from Debian's libenet-dev (headers and libenet.so).
if [ ! -f /usr/include/enet/enet.h ]; then
    echo "compare: installing libenet-dev"
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq libenet-dev >/dev/null
fi

cargo build --release --locked -p seqlink-bench --features enet --bin compare
bin=target/release/compare

if [ "$quick" = 1 ]; then
    exec "$bin" --quick --csv target/compare-quick.csv "${args[@]}"
fi

enet_version=$(dpkg-query -W -f='${Version}' libenet-dev 2>/dev/null || echo unknown)
kcp_version=$(grep -A1 '^name = "kcp"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
meta="Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -sr) $(uname -m), ${cpu:-unknown CPU}, $(nproc) cores
(shared with other work, so figures vary from run to run); seqlink ${commit}, kcp ${kcp_version},
libenet ${enet_version}. CSV: \`bench/results/compare.csv\`."

exec "$bin" --repeat 3 --csv bench/results/compare.csv --docs docs/BENCHMARKS.md --plots docs/compare --meta "$meta" "${args[@]}"
