#!/usr/bin/env python3
"""Writes tests/vectors/seed000_packets.txt from seed 000's own Python code.

The functions `internet_checksum`, `create_packet` and
`unpack_and_verify_packet` below are transcribed from section 4 ("Integrating
into Your Python Code") of seed 000 (/work/shared/seeds/000_277c59bbcc7d8fb6.txt),
word for word but for identifiers the OCR of the seed mangled
(`data bytes` -> `data_bytes`, `Oxffff` -> `0xffff`, `"!1"` -> `"!I"`, ...).
Nothing else is used: plain python3, no dependencies, a fixed seed, so the
output is the same on every machine.

    python3 tests/vectors/gen_seed000_vectors.py            # (re)write the file
    python3 tests/vectors/gen_seed000_vectors.py --stdout   # print it instead

File format (one case per line, fields separated by single spaces):

    # ...                                  comment
    <seq> <type> <payload> <packet_hex>    a packet the seed creates and accepts
    ! <reason> <bytes_hex>                 bytes the seed's unpack_and_verify_packet rejects

<seq> and <type> are decimal. <payload> is `-` (empty), lowercase hex, or
`<hex>*<n>`: the hex pattern repeated n times (used for large payloads only).
<packet_hex> is always the complete packet in lowercase hex. <reason> is
what the seed's code reports: `too_short` ("[UNPACK ERROR] Packet too short
for header."), `length_mismatch` ("[UNPACK ERROR] Payload length
mismatch..."), or `checksum` ("[CHECKSUM FAIL] ..."). <bytes_hex> is `-`
for zero bytes.
"""

import contextlib
import io
import os
import random
import struct
import sys

# ---------------------------------------------------------------------------
# Seed 000, section 4.A, transcribed.
# ---------------------------------------------------------------------------

# --- Packet Field Sizes ---
SEQ_NUM_SIZE = 4
PACKET_TYPE_SIZE = 1
PAYLOAD_LEN_SIZE = 2
CHECKSUM_SIZE = 2
HEADER_SIZE = SEQ_NUM_SIZE + PACKET_TYPE_SIZE + PAYLOAD_LEN_SIZE + CHECKSUM_SIZE


def internet_checksum(data_bytes):
    """
    Calculates the Internet Checksum (16-bit one's complement sum).
    'data_bytes' should be the header (with checksum field zeroed) + payload.
    """
    s = 0
    # Iterate over data in 16-bit words
    for i in range(0, len(data_bytes), 2):
        word = data_bytes[i] << 8  # High byte
        if (i + 1) < len(data_bytes):
            word += data_bytes[i + 1]  # Low byte
        s += word
        s = (s & 0xffff) + (s >> 16)  # Fold carry
    # One more fold to catch any carry from the previous fold
    s = (s & 0xffff) + (s >> 16)
    # Return one's complement
    return ~s & 0xffff


def create_packet(seq_num, packet_type, payload=b""):
    """Creates a packet with header and payload, including checksum."""
    payload_len = len(payload)
    # 1. Pack header fields for checksum calculation (checksum field is conceptually zero here)
    #    and concatenate with payload.
    # ! = network (big-endian)
    # I = unsigned int (4 bytes) for seq_num
    # B = unsigned char (1 byte) for packet_type
    # H = unsigned short (2 bytes) for payload_len
    # Data for checksum: SeqNum, PktType, PayloadLen, Payload
    # We'll construct this byte string manually for clarity with the checksum algorithm
    seq_bytes = struct.pack("!I", seq_num)
    type_byte = struct.pack("!B", packet_type)
    len_bytes = struct.pack("!H", payload_len)
    data_to_checksum = seq_bytes + type_byte + len_bytes + payload
    # 2. Calculate checksum
    checksum = internet_checksum(data_to_checksum)
    # 3. Construct full header with calculated checksum
    full_header = struct.pack("!IBHH", seq_num, packet_type, payload_len, checksum)
    return full_header + payload


def unpack_and_verify_packet(packet_bytes):
    """
    Unpacks a received packet and verifies its checksum.
    Returns (seq_num, packet_type, payload, is_valid)
    """
    if len(packet_bytes) < HEADER_SIZE:
        # Packet is too short to contain a full header.
        print("[UNPACK ERROR] Packet too short for header.")
        return None, None, None, False

    header = packet_bytes[:HEADER_SIZE]
    payload = packet_bytes[HEADER_SIZE:]

    # Unpack all header fields including the received checksum
    seq_num, packet_type, payload_len, received_checksum = struct.unpack("!IBHH", header)

    # Verify payload length
    if payload_len != len(payload):
        print(f"[UNPACK ERROR] Payload length mismatch: header says {payload_len}, actual is {len(payload)}.")
        return seq_num, packet_type, payload, False  # Return unpacked values for logging if needed

    # Data for checksum verification: SeqNum, PktType, PayloadLen, Payload
    # This is the data over which the original checksum was computed.
    seq_bytes_recv = struct.pack("!I", seq_num)
    type_byte_recv = struct.pack("!B", packet_type)
    len_bytes_recv = struct.pack("!H", payload_len)
    data_that_was_checksummed = seq_bytes_recv + type_byte_recv + len_bytes_recv + payload

    # Recalculate checksum on the received data (excluding the received checksum itself)
    calculated_checksum = internet_checksum(data_that_was_checksummed)

    is_valid = (calculated_checksum == received_checksum)
    if not is_valid:
        print(f"[CHECKSUM FAIL] Received: {received_checksum:04x}, Calculated: {calculated_checksum:04x}")

    return seq_num, packet_type, payload, is_valid


# ---------------------------------------------------------------------------
# End of the seed's code. What follows only drives it.
# ---------------------------------------------------------------------------


def internet_checksum_folds_after_loop(data_bytes):
    """The other reading of the seed's (OCR-flattened) indentation: both folds
    after the loop. Must agree with `internet_checksum` on every input here."""
    s = 0
    for i in range(0, len(data_bytes), 2):
        word = data_bytes[i] << 8
        if (i + 1) < len(data_bytes):
            word += data_bytes[i + 1]
        s += word
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def seed_verdict(packet_bytes):
    """Runs the seed's unpack_and_verify_packet, its log line captured, and
    returns (result tuple, reason or None)."""
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        result = unpack_and_verify_packet(packet_bytes)
    text = log.getvalue()
    if result[3]:
        assert text == "", text
        return result, None
    if text.startswith("[UNPACK ERROR] Packet too short"):
        return result, "too_short"
    if text.startswith("[UNPACK ERROR] Payload length mismatch"):
        return result, "length_mismatch"
    if text.startswith("[CHECKSUM FAIL]"):
        return result, "checksum"
    raise AssertionError("unexpected log from the seed's code: %r" % text)


def hex_or_dash(data):
    return data.hex() if data else "-"


class Writer:
    def __init__(self):
        self.lines = []
        self.valid = 0
        self.rejected = 0

    def comment(self, text):
        for line in text.split("\n"):
            self.lines.append(("# " + line).rstrip())

    def packet(self, seq, ptype, payload, pattern=None):
        """A packet created by the seed's create_packet, checked by its
        unpack_and_verify_packet. `pattern` (hex, count) writes the payload
        in the repeated form."""
        packet = create_packet(seq, ptype, payload)
        data = packet[:7] + packet[HEADER_SIZE:]
        assert internet_checksum(data) == internet_checksum_folds_after_loop(data)
        (r_seq, r_type, r_payload, ok), reason = seed_verdict(packet)
        assert ok and reason is None, (seq, ptype, reason)
        assert (r_seq, r_type, r_payload) == (seq, ptype, payload)
        if pattern is not None:
            unit, count = pattern
            assert unit * count == payload
            field = "%s*%d" % (unit.hex(), count)
        else:
            field = hex_or_dash(payload)
        self.lines.append("%d %d %s %s" % (seq, ptype, field, packet.hex()))
        self.valid += 1
        return packet

    def reject(self, data, expected=None):
        """Bytes the seed's code must reject; returns False (and writes
        nothing) if it accepts them."""
        _, reason = seed_verdict(data)
        if reason is None:
            return False
        if expected is not None:
            assert reason == expected, (reason, expected, data.hex())
        self.lines.append("! %s %s" % (reason, hex_or_dash(data)))
        self.rejected += 1
        return True

    def text(self):
        return "\n".join(self.lines) + "\n"


# Seed 000's packet types (section 1).
SEED_TYPES = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23]

BOARD_OWN = (
    "  A B C D E F G H I J\n"
    " 1 S S S S S . . . . .\n"
    " 2 . . . . . . . . . .\n"
    " 3 . . X . . . . . . .\n"
    " 4 . . . . . . S . . .\n"
    " 5 . o . . . . S . . .\n"
    " 6 . . . . . . S . . .\n"
    " 7 . . . . . . . . . .\n"
    " 8 . . . S S S . . . .\n"
    " 9 . . . . . . . . . .\n"
    "10 . . . . . . . . S S\n"
)
BOARD_OPP = BOARD_OWN.replace("S", ".")


def hand_picked(w):
    w.comment("--- hand-picked: every seed 000 packet type, with the seed's payloads")
    cases = [
        (0, 0, b"M"),  # CMD_PLACE
        (1, 0, b"R"),
        (2, 1, b"A1"),  # CMD_COORD
        (3, 1, b"J10"),
        (4, 2, b"H"),  # CMD_ORIENT
        (5, 2, b"V"),
        (1, 3, b"B5"),  # CMD_FIRE (the example in core/src/wire.rs)
        (6, 3, b"J10"),
        (7, 4, b""),  # CMD_QUIT
        (8, 5, b"Y"),  # CMD_PLAY_AGAIN
        (9, 5, b"N"),
        (0, 10, "Welcome to Battleship! You are Player 1 \u2693".encode("utf-8")),  # MSG_WELCOME
        (1, 11, "Place your Carrier (5 cells). Enter a coordinate, e.g. A1:".encode("utf-8")),  # MSG_INFO
        (2, 12, BOARD_OWN.encode("utf-8")),  # MSG_BOARD_OWN
        (3, 13, BOARD_OPP.encode("utf-8")),  # MSG_BOARD_OPP
        (4, 14, b"HIT"),  # MSG_RESULT
        (5, 14, b"MISS"),
        (6, 14, b"SUNK Carrier"),
        (7, 15, "Game over \u2014 you win! \U0001F389".encode("utf-8")),  # MSG_GAME_OVER
        (8, 16, "Waiting for another player\u2026 (Warteschlange: 2, \u00e9t\u00e9)".encode("utf-8")),  # MSG_WAITING
        (9, 17, "[Spectator] Player 1 fired at C7: MISS".encode("utf-8")),  # MSG_SPECTATOR
        (10, 20, struct.pack("!I", 9)),  # ACK of seq 9
        (11, 20, struct.pack("!I", 0)),
        (12, 21, struct.pack("!I", 0xFFFFFFFF)),  # NACK
        (13, 21, struct.pack("!I", 0x01020304)),
        (14, 22, b""),  # HEARTBEAT
        (15, 23, "Invalid coordinate: Z99 (\u00fcng\u00fcltig)".encode("utf-8")),  # ERR_MSG
    ]
    for seq, ptype, payload in cases:
        w.packet(seq, ptype, payload)

    w.comment("--- hand-picked: edge values")
    w.comment("all-zero header: sum 0x0000, checksum 0xffff")
    w.packet(0, 0, b"")
    w.comment("seq 0xffff0000, type 0, empty: sum 0xffff, checksum 0x0000")
    w.packet(0xFFFF0000, 0, b"")
    for seq in (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF):
        w.packet(seq, 22, b"")
        w.packet(seq, 14, b"HIT")
    for ptype in (6, 9, 18, 19, 24, 47, 48, 127, 128, 200, 255):
        w.packet(0x00C0FFEE, ptype, b"application-defined type")
    w.comment("all-zero and all-0xff payloads, odd and even lengths")
    for length in (1, 2, 3, 4, 5, 8, 9, 63, 64, 255, 256, 257, 1000, 1001):
        w.packet(length, 60, b"\x00" * length)
        w.packet(length, 61, b"\xff" * length)
    w.packet(0xFFFFFFFF, 0xFF, b"\xff" * 1001)
    w.comment("a counting payload at every length 0..=40")
    for length in range(0, 41):
        w.packet(1000 + length, 11, bytes(range(1, length + 1)))
    w.comment("65535-byte payloads (the largest the length field holds)")
    w.packet(0, 12, b"\xff" * 65535, pattern=(b"\xff", 65535))
    w.packet(0xFFFFFFFF, 255, b"\x00" * 65535, pattern=(b"\x00", 65535))
    unit = bytes(range(255))
    w.packet(0x12345678, 13, unit * 257, pattern=(unit, 257))
    w.comment("65534 bytes, even")
    w.packet(65534, 17, b"\xa5" * 65534, pattern=(b"\xa5", 65534))


def random_packets(w, rng):
    w.comment("--- random packets (random.Random(0x5EED000))")
    for _ in range(294):
        seq = rng.getrandbits(32)
        ptype = SEED_TYPES[rng.randrange(len(SEED_TYPES))] if rng.randrange(10) < 7 else rng.getrandbits(8)
        if rng.randrange(100) < 45:
            length = rng.randrange(0, 65)
        else:
            length = rng.randrange(0, 2001)
        payload = rng.randbytes(length)
        w.packet(seq, ptype, payload)
    w.comment("--- random large packets (a random pattern repeated)")
    for _ in range(6):
        seq = rng.getrandbits(32)
        ptype = rng.getrandbits(8)
        unit = rng.randbytes(rng.randrange(1, 98))
        count = rng.randrange(2001, 65536) // len(unit)
        w.packet(seq, ptype, unit * count, pattern=(unit, count))


def flip(data, bit):
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def rejected(w, rng):
    w.comment("--- rejected by the seed's unpack_and_verify_packet (reason = its log line)")
    base = create_packet(41, 14, b"HIT")
    w.comment("too short: every length below the 9-byte header")
    for n in range(HEADER_SIZE):
        w.reject(base[:n], "too_short")
    w.comment("length mismatch: truncated, extended, length field off")
    empty = create_packet(3, 22, b"")
    w.reject(base[:-1], "length_mismatch")
    w.reject(base[:HEADER_SIZE], "length_mismatch")
    w.reject(base + b"\x00", "length_mismatch")
    w.reject(base + b"HIT", "length_mismatch")
    w.reject(empty + b"\x00", "length_mismatch")
    w.reject(empty + b"\xff\xff", "length_mismatch")
    w.reject(base + base, "length_mismatch")
    for delta in (1, -1, 0x100, 0xFF00):
        bad = bytearray(base)
        bad[5:7] = struct.pack("!H", (len(base) - HEADER_SIZE + delta) & 0xFFFF)
        w.reject(bytes(bad), "length_mismatch")
    w.comment("truncated payload with the length field made to match it: the checksum catches it")
    bad = bytearray(base[:-1])
    bad[5:7] = struct.pack("!H", 2)
    w.reject(bytes(bad), "checksum")
    w.comment("every single-bit flip of a small packet (flips in the length field give length_mismatch)")
    small = create_packet(0x0A0B0C0D, 3, b"B5!")
    for bit in range(len(small) * 8):
        w.reject(flip(small, bit))
    w.comment("negative zero: this packet's checksum is 0x0000 (data sum 0xffff); with the field set")
    w.comment("to 0xffff the seed's receiver rule of section 2 (sum incl. checksum == 0xffff) accepts")
    w.comment("it, but the seed's code of section 4 (calculated == received) rejects it")
    negzero = create_packet(0xFFFF0000, 0, b"")
    assert negzero[7:9] == b"\x00\x00"
    w.reject(negzero[:7] + b"\xff\xff", "checksum")
    w.comment("and the opposite: the all-zero packet's checksum 0xffff sent as 0x0000 (both rules reject it)")
    zero = create_packet(0, 0, b"")
    assert zero[7:9] == b"\xff\xff"
    w.reject(zero[:7] + b"\x00\x00", "checksum")
    w.comment("checksum field zeroed")
    for seq, ptype, payload in ((1, 3, b"B5"), (7, 10, b"hello"), (9, 20, struct.pack("!I", 8))):
        p = create_packet(seq, ptype, payload)
        w.reject(p[:7] + b"\x00\x00" + p[9:], "checksum")
    w.comment("random packets with 1-8 random bit flips (cases the seed accepts are left out)")
    skipped = 0
    made = 0
    while made < 150:
        payload = rng.randbytes(rng.randrange(0, 200))
        packet = create_packet(rng.getrandbits(32), rng.getrandbits(8), payload)
        bad = packet
        for _ in range(rng.randrange(1, 9)):
            bad = flip(bad, rng.randrange(len(bad) * 8))
        if bad == packet:
            continue
        if w.reject(bad):
            made += 1
        else:
            skipped += 1
    w.comment("(%d random bit-flip corruptions the seed accepts were left out)" % skipped)
    w.comment("random truncations and extensions")
    for _ in range(40):
        payload = rng.randbytes(rng.randrange(1, 200))
        packet = create_packet(rng.getrandbits(32), rng.getrandbits(8), payload)
        if rng.randrange(2):
            w.reject(packet[: rng.randrange(len(packet))])
        else:
            w.reject(packet + rng.randbytes(rng.randrange(1, 20)))


def generate():
    rng = random.Random(0x5EED000)
    w = Writer()
    w.comment("seed000_packets.txt: generated by tests/vectors/gen_seed000_vectors.py -- do not edit.")
    w.comment("Packets made and checked by seed 000's own Python code (section 4: internet_checksum,")
    w.comment("create_packet, unpack_and_verify_packet). Regenerate with")
    w.comment("    python3 tests/vectors/gen_seed000_vectors.py")
    w.comment("Format: `<seq> <type> <payload> <packet_hex>` for valid packets, `! <reason> <bytes_hex>`")
    w.comment("for rejected bytes; payload `-` = empty, `<hex>*<n>` = hex pattern repeated n times.")
    hand_picked(w)
    random_packets(w, rng)
    rejected(w, rng)
    w.comment("%d valid packets, %d rejected cases" % (w.valid, w.rejected))
    return w.text()


def main(argv):
    text = generate()
    if "--stdout" in argv[1:]:
        sys.stdout.write(text)
        return 0
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed000_packets.txt")
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(text)
    print("wrote %s (%d bytes)" % (path, len(text)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
