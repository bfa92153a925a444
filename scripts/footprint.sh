#!/usr/bin/env bash
# Footprint of a minimal seqlink client firmware on Cortex-M (issue 8).
#
# Builds the size probes (bench/footprint: one client, window 4, payload 128,
# opt-level "z", fat LTO, one codegen unit, panics halt; `probe` drives a full
# `Connection`, `tiny` the tiny client engine `TinyClient`) and an empty
# baseline for thumbv6m-none-eabi and thumbv7em-none-eabihf, then prints for
# each probe the flash and RAM the client adds, size_of of its state, a
# static stack estimate and the panic/core::fmt symbols linked. Fails when
# the flash or the panic symbol count of either exceeds
# bench/footprint/budget.txt (the `probe` lines and the `tiny/...` lines).
#
#   scripts/footprint.sh               measure and check the budget
#   scripts/footprint.sh --set-budget  write the measured figures as the budget
#   scripts/footprint.sh --features    the flash and RAM with each optional core
#       feature alone on top of the minimal set, and with all default features
#   scripts/footprint.sh --verify-stack  the same report from a nightly build
#       with -Z emit-stack-sizes, whose frames it checks against LLVM's own
#       (toolchain: $STACK_TOOLCHAIN, else $MIRI_TOOLCHAIN, else the pinned nightly)
set -euo pipefail
cd "$(dirname "$0")/.."

PROBE=bench/footprint
TARGETS=(thumbv6m-none-eabi thumbv7em-none-eabihf)
mode=${1:-check}
toolchain=""

host=$(rustc -vV | sed -n 's/^host: //p')
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
if [ ! -x "$tools/llvm-objdump" ]; then
    echo "footprint: llvm-tools not installed (rustup component add llvm-tools, or scripts/setup.sh)" >&2
    exit 1
fi

# build FEATURES TARGET_DIR: builds both images for every target and prints
# the TARGET:DIR arguments of report.py.
build() {
    local features=$1 target_dir=$2 specs=()
    for target in "${TARGETS[@]}"; do
        cargo ${toolchain:+"+$toolchain"} build --manifest-path "$PROBE/Cargo.toml" --release --locked --quiet \
            --target "$target" --target-dir "$target_dir" --bins --features "$features"
        specs+=("$target:$target_dir/$target/release")
    done
    echo "${specs[@]}"
}

report() {
    python3 "$PROBE/report.py" --tools "$tools" --budget "$PROBE/budget.txt" "$@"
}

case "$mode" in
check)
    specs=$(build "" "$PROBE/target")
    status=0
    # shellcheck disable=SC2086
    report $specs || status=1
    echo
    # shellcheck disable=SC2086
    report --image tiny $specs || status=1
    exit $status
    ;;
--set-budget)
    specs=$(build "" "$PROBE/target")
    # shellcheck disable=SC2086
    report --set-budget $specs
    # shellcheck disable=SC2086
    report --image tiny --set-budget $specs
    ;;
--features)
    echo "| core features | $(printf '%s flash | ' "${TARGETS[@]}")$(printf '%s RAM | ' "${TARGETS[@]}")" | sed 's/ $//'
    echo "|---|$(printf -- '---:|%.0s' "${TARGETS[@]}" "${TARGETS[@]}")"
    for variant in "none (default-features = false)::" "crc32c:crc32c:" \
        "crc32c, client asks for CRC-32C:prefer-crc:" "endpoint:endpoint:" "unreliable:unreliable:" \
        "trace:trace:" "fragmentation:fragmentation:" "full-stats:full-stats:" "peer-details:peer-details:" \
        "congestion:congestion:" "fast-recovery:fast-recovery:" "stats:stats:" "coalescing:coalescing:" \
        "all default features:crc32c,endpoint,unreliable,trace,fragmentation,full-stats,peer-details,congestion,fast-recovery,stats,coalescing:" "defmt:defmt:"; do
        IFS=: read -r label features _ <<<"$variant"
        # shellcheck disable=SC2046
        figures=$(report --brief $(build "$features" "$PROBE/target/features-$(tr , - <<<"${features:-none}")"))
        flash=$(awk '{printf "%s B | ", $2}' <<<"$figures")
        ram=$(awk '{printf "%s B | ", $3}' <<<"$figures")
        echo "| $label | $flash$ram" | sed 's/ $//'
    done
    ;;
--verify-stack)
    toolchain=${STACK_TOOLCHAIN:-${MIRI_TOOLCHAIN:-nightly-2026-05-20}}
    installed=$(rustup target list --installed --toolchain "$toolchain")
    for target in "${TARGETS[@]}"; do
        grep -qx "$target" <<<"$installed" || rustup target add --toolchain "$toolchain" "$target"
    done
    export RUSTFLAGS="-Z emit-stack-sizes"
    specs=$(build "" "$PROBE/target/stack-sizes")
    # shellcheck disable=SC2086
    report --no-budget $specs
    # shellcheck disable=SC2086
    report --image tiny --no-budget $specs
    ;;
*)
    echo "usage: $0 [--set-budget | --features | --verify-stack]" >&2
    exit 2
    ;;
esac
