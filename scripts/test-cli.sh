#!/usr/bin/env bash
# The CLI's checks beyond `cargo test`: the Wireshark dissector
# (tools/wireshark/seqlink.lua) run by tshark on pcaps the CLI captured,
# field by field against `seqlink inspect --json` of the same files (which
# decodes with seqlink-core's own parsers), in both integrity modes, through
# loss, duplication, bit flips, fragmented messages and coalesced datagrams.
# Installs tshark from Debian's packages when it is missing (as root or
# with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

if ! command -v tshark >/dev/null; then
    echo "test-cli: installing tshark"
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo_cmd[@]}" debconf-set-selections
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq tshark >/dev/null
fi

cargo build -q --locked -p seqlink-cli
bin=target/debug/seqlink
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fields=(frame.number seqlink.type seqlink.seq seqlink.len seqlink.check_ok seqlink.integrity
    seqlink.ack.cumulative seqlink.ack.window seqlink.ack.sack seqlink.nack.seq
    seqlink.data.app_type seqlink.data.fragment_index seqlink.data.fragment_count
    seqlink.hs.connection_id seqlink.hs.max_payload seqlink.hs.window seqlink.heartbeat.kind)

# fragmented 3000-byte messages in both integrity modes, then 100-byte
# messages, which share datagrams (coalesced, docs/PROTOCOL.md 4.1)
for run in checksum:3000 crc32c:3000 checksum:100; do
    integrity=${run%:*} message_size=${run#*:}
    pcap="$work/$integrity.pcap"
    "$bin" demo -q --size 400k --message-size "$message_size" --integrity "$integrity" \
        --loss 3% --dup 2% --corrupt 3% --reorder 2% --seed 5 --pcap "$pcap"
    "$bin" inspect --json "$pcap" >"$work/$integrity.inspect.json"
    tshark -r "$pcap" -X lua_script:tools/wireshark/seqlink.lua -T fields -E separator=/t \
        $(printf -- '-e %s ' "${fields[@]}") 2> >(grep -v 'Running as user' >&2) >"$work/$integrity.tshark.tsv"
    python3 - "$integrity" "$message_size" "$work/$integrity.inspect.json" "$work/$integrity.tshark.tsv" "${fields[@]}" <<'PY'
import json, sys

mode, message_size, inspect_path, tshark_path, *fields = sys.argv[1:]
inspected = {}
for p in map(json.loads, open(inspect_path)):
    inspected.setdefault(p["number"], []).append(p)
rows = {}
for line in open(tshark_path):
    cells = line.rstrip("\n").split("\t")
    row = dict(zip(fields, cells))
    rows[int(row["frame.number"])] = row

def ints(cell):
    return [int(x, 0) for x in cell.split(",")] if cell else []

checked, bad_checks, failures = 0, 0, []
kinds = set()
coalesced = 0
for number, packets in sorted(inspected.items()):
    row = rows.get(number)
    if len(packets) > 1:
        # a coalesced datagram (docs/PROTOCOL.md 4.1): each field lists every packet's value, in order
        coalesced += 1
        if row is None or not row.get("seqlink.type"):
            failures.append(f"#{number}: coalesced datagram of {len(packets)} packets not dissected")
            continue
        cells = lambda name: row[name].split(",") if row[name] else []
        for name, got, want in [
            ("types", [int(x) for x in cells("seqlink.type")], [p["type"] for p in packets]),
            ("seqs", [int(x) for x in cells("seqlink.seq")], [p["seq"] for p in packets]),
            ("lens", [int(x) for x in cells("seqlink.len")], [p["len"] for p in packets]),
            ("integrity", cells("seqlink.integrity"), [p["integrity"] for p in packets]),
            ("checks", [x in ("1", "True") for x in cells("seqlink.check_ok")], [p["check_valid"] is True for p in packets]),
        ]:
            if got != want:
                failures.append(f"#{number} (coalesced): {name}: dissector {got!r}, inspect {want!r}")
        for p in packets:
            checked += 1
            bad_checks += p["check_valid"] is not True
            kinds.add(p["type_name"])
        continue
    p = packets[0]
    if row is None or not row.get("seqlink.type"):
        # the dissector claims only datagrams whose length matches their header
        if "problem" not in p:
            failures.append(f"#{number}: not dissected but decodes cleanly")
        continue
    def expect(name, got, want):
        if got != want:
            failures.append(f"#{number} {p['type_name']}: {name}: dissector {got!r}, inspect {want!r}")
    expect("type", int(row["seqlink.type"]), p["type"])
    expect("seq", int(row["seqlink.seq"]), p["seq"])
    expect("len", int(row["seqlink.len"]), p["len"])
    expect("integrity", row["seqlink.integrity"], p["integrity"])
    expect("check", row["seqlink.check_ok"] in ("1", "True"), p["check_valid"] is True)
    bad_checks += p["check_valid"] is not True
    checked += 1
    kinds.add(p["type_name"])
    if "problem" in p:
        continue
    if "ack" in p:
        expect("ack", ints(row["seqlink.ack.cumulative"]), [p["ack"]])
        if "window" in p:
            expect("window", ints(row["seqlink.ack.window"]), [p["window"]])
        expect("sack", ints(row["seqlink.ack.sack"]), p.get("sack", []))
    if "nack" in p:
        expect("nack", ints(row["seqlink.nack.seq"]), p["nack"])
    if "fragment_index" in p:
        expect("fragment", (ints(row["seqlink.data.fragment_index"]), ints(row["seqlink.data.fragment_count"])),
               ([p["fragment_index"]], [p["fragment_count"]]))
    if "app_type" in p:
        expect("app type", ints(row["seqlink.data.app_type"]), [p["app_type"]])
    if p["type_name"] in ("SYN_ACK", "HANDSHAKE_ACK"):
        expect("connection id", ints(row["seqlink.hs.connection_id"]), [p["connection_id"]])
    if "max_payload" in p:
        expect("max payload", ints(row["seqlink.hs.max_payload"]), [p["max_payload"]])

for needed in ("SYN", "SYN_ACK", "HANDSHAKE_ACK", "DATA", "ACK", "NACK", "FIN"):
    if needed not in kinds and message_size == "3000":
        failures.append(f"no {needed} in the capture")
if coalesced < 10 and message_size == "100":
    failures.append(f"only {coalesced} coalesced datagrams in a capture of small messages")
if bad_checks == 0:
    failures.append("no packet failed its check: the bit flips were not seen")
for f in failures[:20]:
    print("  " + f)
print(f"tshark {mode}, {message_size}-byte messages: {checked} packets compared ({bad_checks} with a failed check, {coalesced} coalesced datagrams), {len(failures)} differences")
sys.exit(1 if failures else 0)
PY
done
echo "test-cli: the dissector agrees with seqlink inspect"
