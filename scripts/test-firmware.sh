#!/usr/bin/env bash
# The firmware example (issue 12; firmware-example/README.md).
#
# Installs what it needs (the Cortex-M Rust targets, Debian's qemu-system-arm,
# a pinned defmt-print in firmware-example/target/tools), checks formatting
# and lints of the firmware workspace, runs its host tests (the application
# over std-embedded-nal on loopback), builds the firmware for thumbv7m,
# thumbv6m and thumbv7em-hf, then runs it on QEMU's lm3s6965evb with
# user-mode networking against the host peer, which sends a few hundred
# messages with 10% loss injected on the host side, checks every echo, and
# walks the device through a graceful close, a host crash and a stop. The
# firmware's defmt logs are decoded and printed. Exits non-zero on any
# failure; every wait is bounded and QEMU is killed on every exit path.
#
#   scripts/test-firmware.sh          everything above
#   scripts/test-firmware.sh --qemu   only the three QEMU runs
#   scripts/test-firmware.sh --size   the size report (flash and RAM of the
#       firmware and of its seqlink part) as a Markdown table
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

FW=firmware-example
MANIFEST=$FW/Cargo.toml
TARGETS=(thumbv7m-none-eabi thumbv6m-none-eabi thumbv7em-none-eabihf)
QEMU_TARGET=thumbv7m-none-eabi
DEFMT_PRINT_VERSION=1.2.0
TOOLS=$FW/target/tools
# The firmware dials 10.0.2.2:7700, which QEMU's user network forwards to the host's loopback.
PEER_BIND=127.0.0.1:7700
# The serial firmware's UART0: QEMU connects it to this TCP address, where the host peer listens.
SERIAL_BIND=127.0.0.1:7701
MESSAGES=${FW_MESSAGES:-300}
LOSS=${FW_LOSS:-0.10}
# Upper bounds: the runs take about 6, 12 and 6 s.
PEER_TIMEOUT=120
QEMU_TIMEOUT=150
export DEFMT_LOG=${DEFMT_LOG:-info}

mode=${1:-all}

# The background processes of the QEMU run: killed on every exit path.
peer_pid=""
qemu_pid=""
cleanup() {
    for pid in $qemu_pid $peer_pid; do
        kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install_tools() {
    local installed
    installed=$(rustup target list --installed)
    for target in "${TARGETS[@]}"; do
        grep -qx "$target" <<<"$installed" || rustup target add "$target"
    done
    if ! command -v qemu-system-arm >/dev/null; then
        echo "test-firmware: installing qemu-system-arm"
        local sudo_cmd=()
        if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
        "${sudo_cmd[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
            qemu-system-arm >/dev/null
    fi
    # (read whole first: with pipefail, `grep -q` closing the pipe early fails the check at random)
    local version
    version=$("$TOOLS/bin/defmt-print" --version 2>/dev/null || true)
    if ! grep -q "$DEFMT_PRINT_VERSION" <<<"$version"; then
        echo "test-firmware: installing defmt-print $DEFMT_PRINT_VERSION into $TOOLS"
        cargo install --quiet --locked defmt-print --version "$DEFMT_PRINT_VERSION" --root "$TOOLS"
    fi
}

build_firmware() {
    for target in "${TARGETS[@]}"; do
        cargo build --manifest-path "$MANIFEST" --locked --release --target "$target" -p seqlink-fw-firmware --bins
    done
}

host_checks() {
    cargo fmt --manifest-path "$MANIFEST" --all -- --check
    cargo clippy --manifest-path "$MANIFEST" --locked --all-targets -- -D warnings
    for target in "${TARGETS[@]}"; do
        cargo clippy --manifest-path "$MANIFEST" --locked --release --target "$target" -p seqlink-fw-firmware \
            -p seqlink-fw-app -- -D warnings
    done
    cargo test --manifest-path "$MANIFEST" --locked
}

# qemu_run NAME ELF PEER_FLAGS QEMU_ARGS...: runs the host peer (with
# PEER_FLAGS) and the firmware ELF in QEMU (with QEMU_ARGS for its network or
# serial line), then prints the firmware's decoded logs; fails unless both
# exit 0.
qemu_run() {
    local name=$1 elf=$FW/target/$QEMU_TARGET/release/$2 peer_flags=$3
    shift 3
    local logs
    logs=$(mktemp -d)
    echo "--- $name: host peer ---"
    # shellcheck disable=SC2086  # PEER_FLAGS is a list of flags
    timeout "$PEER_TIMEOUT" "$FW/target/release/seqlink-fw-host-peer" $peer_flags \
        --messages "$MESSAGES" --loss "$LOSS" --step-timeout 20 &
    peer_pid=$!
    sleep 0.3
    timeout "$QEMU_TIMEOUT" qemu-system-arm -machine lm3s6965evb -cpu cortex-m3 -display none -monitor none \
        "$@" -semihosting-config enable=on,target=native -kernel "$elf" >"$logs/defmt.bin" 2>"$logs/qemu.err" &
    qemu_pid=$!

    local peer_status=0 qemu_status=0
    wait "$peer_pid" || peer_status=$?
    peer_pid=""
    if [ "$peer_status" != 0 ]; then
        # the device cannot stop without the peer: end the emulation now
        kill "$qemu_pid" 2>/dev/null || true
    fi
    # after the STOP the device lingers 2 s, then ends the emulation itself
    for _ in $(seq 100); do
        kill -0 "$qemu_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" || qemu_status=$?
    qemu_pid=""

    echo "--- $name: firmware log (defmt over semihosting, decoded) ---"
    "$TOOLS/bin/defmt-print" -e "$elf" <"$logs/defmt.bin" || true
    # (QEMU retries the serial line's TCP connect until the peer listens: reconnect=1)
    grep -v -e "^Timer with period zero" -e "has no peer" -e "Unable to connect character device serial0" "$logs/qemu.err" >&2 || true
    rm -rf "$logs"
    if [ "$peer_status" != 0 ] || [ "$qemu_status" != 0 ]; then
        echo "test-firmware: $name FAILED (host peer exit $peer_status, firmware exit $qemu_status)" >&2
        exit 1
    fi
    echo "test-firmware: $name run passed"
}

# The three firmwares in QEMU: over Ethernet (smoltcp, UDP through QEMU's
# user network), over UART0 (COBS frames, the line as a TCP stream to the
# host), and the TinyClient variant over Ethernet.
qemu_runs() {
    cargo build --manifest-path "$MANIFEST" --locked --release -p seqlink-fw-host-peer
    qemu_run "Ethernet/UDP" seqlink-fw-firmware "--bind $PEER_BIND" -nic user,model=stellaris -serial null
    qemu_run "serial/COBS" serial "--serial --bind $SERIAL_BIND" -nic none -serial "tcp:$SERIAL_BIND,reconnect=1"
    qemu_run "TinyClient Ethernet/UDP" tiny "--bind $PEER_BIND" -nic user,model=stellaris -serial null
}

case "$mode" in
all)
    install_tools
    host_checks
    build_firmware
    qemu_runs
    ;;
--qemu)
    install_tools
    cargo build --manifest-path "$MANIFEST" --locked --release --target "$QEMU_TARGET" -p seqlink-fw-firmware --bins
    qemu_runs
    ;;
--size)
    install_tools
    build_firmware
    python3 "$FW/size_report.py" "$FW/target" "${TARGETS[@]}"
    ;;
*)
    echo "usage: $0 [--qemu | --size]" >&2
    exit 2
    ;;
esac
