#!/usr/bin/env bash
# Tests the C bindings (ffi-c/): the header is fresh and compiles as C99
# -pedantic and as C++; the C test suite and every example build with
# -Wall -Wextra -Werror -fsanitize=address,undefined and run (round trips,
# error paths, a C client against Rust peers of seqlink-std over loopback, a
# file transfer over UDP with injected loss, the basic profile over TCP, a
# client in static memory that allocates nothing); then the install story:
# the pkg-config file of the build tree and of `make install`.
# Installs gcc, g++, make and pkg-config if missing. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n--> ffi: %s\n' "$*"; }

missing=()
for tool in gcc g++ make pkg-config; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "test-ffi: installing gcc, g++, make, pkg-config"
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq gcc g++ make pkg-config >/dev/null
fi

target_dir=${CARGO_TARGET_DIR:-target}
lib_dir="$target_dir/debug"
out="$target_dir/ffi-c"
mkdir -p "$out"
include=ffi-c/include

step "build libseqlink (debug) and the Rust peers"
cargo build -p seqlink-ffi --locked
cargo build -p seqlink-ffi --example rust_peer --locked
peer="$lib_dir/examples/rust_peer"

step "the committed header is what cbindgen makes of the source"
cargo test -p seqlink-ffi --test header --locked -q

step "the header compiles as C99 -pedantic and as C++"
printf '#include "seqlink.h"\nint main(void) { return seqlink_version() == 0; }\n' >"$out/header_check.c"
gcc -std=c99 -pedantic -Wall -Wextra -Werror -I"$include" -fsyntax-only "$out/header_check.c"
g++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$include" -x c++ -fsyntax-only "$out/header_check.c"

# Static linking against the archive, sanitizers on.
cflags=(-Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -I"$include")
libs=("$lib_dir/libseqlink.a" -lgcc_s -lutil -lrt -lpthread -lm -ldl)
build() { # build OUTPUT STD SOURCES... [EXTRA FLAGS after --]
    local output=$1 std=$2
    shift 2
    gcc "-std=$std" "${cflags[@]}" "$@" "${libs[@]}" -o "$out/$output"
}

# Starts a Rust peer in the background; its port is the first line it prints.
start_peer() { # start_peer MODE -> sets peer_pid, peer_port
    local port_file="$out/$1.port"
    rm -f "$port_file"
    timeout 60 "$peer" "$1" >"$port_file" &
    peer_pid=$!
    for _ in $(seq 100); do
        peer_port=$(head -n 1 "$port_file" 2>/dev/null || true)
        [ -n "$peer_port" ] && return 0
        sleep 0.1
    done
    echo "test-ffi: the Rust peer $1 did not start" >&2
    return 1
}

step "C test suite (ASan/UBSan)"
build test_api c11 ffi-c/tests/c/test_api.c -Iffi-c/tests/c
timeout 120 "$out/test_api"

step "a C client against Rust peers (seqlink-std UdpServer and TcpServer) over loopback"
build rust_peer_client c11 ffi-c/tests/c/rust_peer_client.c -Iffi-c/tests/c
for transport in udp tcp; do
    start_peer "$transport-echo"
    timeout 30 "$out/rust_peer_client" "$transport" "$peer_port"
    wait "$peer_pid"
done

step "examples/codec.c"
build codec c99 ffi-c/examples/codec.c
timeout 30 "$out/codec"

step "examples/static_memory.c: arrays sized by the query functions, no allocation"
build static_memory c11 ffi-c/examples/static_memory.c
sizes=$("$out/static_memory" --sizes)
echo "sizes: $sizes"
# shellcheck disable=SC2086 # the -D flags split on purpose
build static_memory c11 ffi-c/examples/static_memory.c $sizes -DCOUNT_ALLOCATIONS \
    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=posix_memalign
timeout 30 "$out/static_memory"

step "examples/udp_transfer.c: a 1 MB file over UDP, 10% of the datagrams dropped each way"
build udp_transfer c99 ffi-c/examples/udp_transfer.c
head -c 1000000 /dev/urandom >"$out/transfer.in"
rm -f "$out/transfer.out" "$out/transfer.port"
timeout 90 "$out/udp_transfer" server 0 "$out/transfer.out" 10 >"$out/transfer.port" &
server_pid=$!
for _ in $(seq 100); do
    [ -s "$out/transfer.port" ] && break
    sleep 0.1
done
timeout 90 "$out/udp_transfer" client "$(head -n 1 "$out/transfer.port")" "$out/transfer.in" 10
wait "$server_pid"
cmp "$out/transfer.in" "$out/transfer.out"
echo "received file identical to the sent one"

step "examples/seed000_client.c: the basic profile over TCP against seqlink-std's basic-profile server"
build seed000_client c99 ffi-c/examples/seed000_client.c
start_peer basic-tcp
timeout 30 "$out/seed000_client" "$peer_port"
wait "$peer_pid"

step "install story: pkg-config for the build tree, and make install PREFIX=..."
make -s -C ffi-c pc PROFILE=debug TARGET_DIR="$(cd "$target_dir" && pwd)"
PKG_CONFIG_PATH="$lib_dir/pkgconfig" cc ffi-c/examples/codec.c \
    $(PKG_CONFIG_PATH="$lib_dir/pkgconfig" pkg-config --cflags --libs seqlink) -o "$out/codec_pc"
LD_LIBRARY_PATH="$lib_dir" timeout 30 "$out/codec_pc" >/dev/null
prefix="$out/prefix"
rm -rf "$prefix"
make -s -C ffi-c install PROFILE=debug PREFIX="$(cd "$out" && pwd)/prefix" TARGET_DIR="$(cd "$target_dir" && pwd)"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc ffi-c/examples/codec.c \
    $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs seqlink) -o "$out/codec_installed"
LD_LIBRARY_PATH="$prefix/lib" timeout 30 "$out/codec_installed" >/dev/null
rm -f "$prefix/lib/libseqlink.so"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc ffi-c/examples/codec.c \
    $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --static --cflags --libs seqlink) -o "$out/codec_static"
timeout 30 "$out/codec_static" >/dev/null
echo "pkg-config builds work: shared (build tree, installed) and static (installed)"

step "the complete program of ffi-c/README.md, against a Rust peer"
awk '/^```c$/ { inside = 1; next } /^```$/ { if (inside) exit } inside' ffi-c/README.md >"$out/readme_hello.c"
gcc -std=c99 "${cflags[@]}" "$out/readme_hello.c" \
    $(PKG_CONFIG_PATH="$lib_dir/pkgconfig" pkg-config --cflags seqlink) "${libs[@]}" -o "$out/readme_hello"
start_peer udp-echo
timeout 30 "$out/readme_hello" "$peer_port" | tee "$out/readme_hello.out"
wait "$peer_pid"
grep -qx "answer: hello" "$out/readme_hello.out"

step "C bindings: all passed"
