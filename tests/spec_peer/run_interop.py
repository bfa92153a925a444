#!/usr/bin/env python3
"""Runs the spec-only Python peer (seqlink_spec.py) against the Rust seqlink.

Usage: run_interop.py SEQLINK_BINARY

Over loopback UDP (and TCP): Python client -> `seqlink echo`, Rust `seqlink
send` -> Python server, both with injected loss; codec vectors both ways
(Python-made packets decoded by `seqlink inspect --json`, Rust-made packets
from a `--pcap` capture decoded by the Python codec). Exits non-zero on the
first failure. Every run is bounded in time.
"""

import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seqlink_spec as S  # noqa: E402

SEQLINK = None
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
START = time.monotonic()
CHECKS = 0


def now_ms():
    return int((time.monotonic() - START) * 1000)


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)


def section(name):
    print(f"--- {name}", flush=True)


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Lossy:
    """Drops a seeded fraction of datagrams each way on the Python side."""

    def __init__(self, sock, loss, seed):
        self.sock, self.loss, self.rng = sock, loss, random.Random(seed)
        self.dropped = 0

    def sendto(self, data, addr):
        if self.rng.random() < self.loss:
            self.dropped += 1
            return
        self.sock.sendto(data, addr)

    def recv(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None, None
        data, addr = self.sock.recvfrom(70000)
        if self.rng.random() < self.loss:
            self.dropped += 1
            return None, None
        return data, addr


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


# --- codec -----------------------------------------------------------------------------


def codec_self_tests():
    section("codec: spec examples and seed 000 vectors")
    check(S.encode_packet(1, 3, b"B5").hex() == "00000001030002c5bc4235", "2.1 example")
    check(S.encode_packet(0, 0, b"")[7:9] == b"\xff\xff", "all-zero packet checksum 0xffff")
    check(S.crc32c(b"123456789") == 0xE3069283, "CRC-32C check value")
    check(S.length_prefix(b"Four score and seven years ago")[:4].hex() == "0000001e", "4.4 example")
    n = 0
    with open(os.path.join(ROOT, "tests", "vectors", "seed000_packets.txt")) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if parts[0] == "!":
                try:
                    S.decode_packet(bytes.fromhex(parts[2].replace("-", "")))
                    check(False, f"seed 000 rejects {line}")
                except S.SpecError:
                    pass
                continue
            seq, ptype, payload, wire = parts
            if payload == "-":
                payload = ""
            elif "*" in payload:
                pat, times = payload.split("*")
                payload = pat * int(times)
            p = bytes.fromhex(payload)
            check(S.encode_packet(int(seq), int(ptype), p).hex() == wire, f"seed vector {seq}")
            check(S.decode_packet(bytes.fromhex(wire)) == (int(seq), int(ptype), p), "decode")
            n += 1
    check(n > 10, "seed vectors read")
    # pseudo-header: a zero id leaves the checksum unchanged; another fails
    p = S.encode_packet(5, 100, b"hello", pseudo=0x12345678)
    check(S.decode_packet(p, 0x12345678)[2] == b"hello", "bound packet")
    try:
        S.decode_packet(p, 0)
        check(False, "a bound packet fails with pseudo-header 0")
    except S.SpecError as e:
        check(e.kind == "BadChecksum", "BadChecksum")
    check(S.recover_token(p) == S.id_sum(0x12345678), "7.7 token recovery")
    c = S.encode_packet(5, 100, b"hello", pseudo=0x12345678, crc=True)
    check(len(c) == 9 + 5 + 4 and c[7:9] == b"\0\0", "CRC-32C layout")
    check(S.decode_packet(c, 0x12345678, crc=True)[2] == b"hello", "CRC-32C round trip")
    # COBS (4.3)
    for data in (b"", b"\0", b"\0\0", b"\x11\x22\0\x33", bytes(range(1, 256)), bytes(300),
                 bytes(range(256)) * 3, b"\x01" * 254, b"\x01" * 253 + b"\0"):
        enc = S.cobs_encode(data)
        check(0 not in enc and S.cobs_decode(enc) == data, f"COBS round trip {len(data)}")
        check(len(enc) + 1 <= len(data) + len(data) // 254 + 2, "COBS bound")
    check(S.cobs_encode(b"\x11\x22\0\x33") == b"\x03\x11\x22\x02\x33", "COBS example")
    deframer = S.CobsDeframer(200)
    pk = S.encode_packet(7, 100, b"\0\0abc\0")
    got = deframer.feed(b"\0\0" + S.cobs_encode(pk) + b"\0" + b"\x05ab\0" + S.cobs_encode(pk) + b"\0")
    check(got[0] == pk and isinstance(got[1], S.SpecError) and got[1].kind == "BadFrame"
          and got[2] == pk, "COBS stream with a bad frame")
    # stream framing (4.2)
    d = S.StreamDeframer(100)
    stream = S.encode_packet(1, 100, b"a" * 10) + S.encode_packet(2, 100, b"b" * 3)
    check(d.feed(stream[:5]) == [] and len(d.feed(stream[5:])) == 2, "stream deframing")
    got = d.feed(S.encode_packet(3, 100, b"c" * 101) + stream)
    check(len(got) == 1 and got[0].kind == "PayloadTooLarge" and d.feed(stream) == [],
          "a len over the maximum ends the stream")


def inspect(lines):
    """Decodes hex lines with the Rust `seqlink inspect --json`."""
    with tempfile.NamedTemporaryFile("w", suffix=".hex", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run([SEQLINK, "inspect", "--json", "--format", "hex", f.name],
                             capture_output=True, text=True, timeout=30)
    finally:
        os.unlink(f.name)
    check(out.returncode == 0, f"inspect failed: {out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def codec_python_to_rust():
    section("codec: Python-encoded packets decoded by `seqlink inspect --json`")
    rng = random.Random(7)
    client_id, server_id = 0x11223344, 0x55667788
    cid = client_id ^ server_id
    syn = dict(version=1, flags=3, client_id=client_id, client_isn=1000, max_payload=1200,
               window=64, heartbeat_ms=1000, idle_timeout_ms=10000, ext=b"xy")
    synack = dict(syn, flags=2, server_id=server_id, server_isn=5000, cookie_time=123,
                  cookie=0x0102030405060708, ext=b"")
    hsack = dict(synack, client_isn=1000, ext=b"xy")
    pkts = [
        (S.encode_packet(0, S.SYN, S.encode_syn(syn, 40)), dict(type=25, client_id=client_id,
                                                               client_isn=1000, flags=3)),
        (S.encode_packet(0, S.SYN_ACK, S.encode_synack(synack)), dict(type=26)),
        (S.encode_packet(0, S.HANDSHAKE_ACK, S.encode_hsack(hsack)), dict(type=27)),
    ]
    bound = [
        (S.ACK, S.encode_ack_block(999, 64, [1001, 1003, 1020]), {}),
        (S.ACK, struct.pack(">I", 999), {}),
        (S.NACK, S.encode_nack([1000, 1002, 1004]), dict(nack=[1000, 1002, 1004])),
        (S.HEARTBEAT, S.encode_heartbeat(False, 77), dict(kind="ping", stamp=77)),
        (S.HEARTBEAT, S.encode_heartbeat(True, 77), dict(kind="pong", stamp=77)),
        (S.ERR_MSG, S.encode_err(6, "idle"), dict(code=6, reason="idle")),
        (S.DATA, S.encode_data(100, b"frag", fragment=(1, 3)), dict(app_type=100, fragment_index=1,
                                                                    fragment_count=3)),
        (S.DATA, S.encode_data(101, b"u", unreliable=True), dict(app_type=101, unreliable=True)),
        (S.DATA, S.encode_data(S.FIN, b"", ack=(999, 10, [])), dict(app_type=28)),
        (S.DATA, S.encode_data(100, b"x", ack=(999, 10, [1001]), fragment=(0, 2)),
         dict(fragment_index=0, fragment_count=2)),
        (S.FIN, b"", {}),
        (S.RESET, S.encode_reset(7, S.id_sum(cid)), dict(code=7)),
        (100, bytes(rng.getrandbits(8) for _ in range(300)), {}),
    ]
    for ptype, payload, fields in bound:
        pkts.append((S.encode_packet(rng.getrandbits(32), ptype, payload, pseudo=cid),
                     dict(fields, type=ptype)))
    got = inspect([p.hex() for p, _ in pkts])
    check(len(got) == len(pkts), f"inspect decoded {len(got)} of {len(pkts)}")
    for (p, fields), g in zip(pkts, got):
        check(g.get("check_valid") is True, f"Rust accepts type {fields['type']}: {g}")
        check(g["seq"] == struct.unpack(">I", p[:4])[0] and g["len"] == len(p) - 9, "header")
        if fields["type"] in (20, 21, 22, 23, 24, 28, 29) or fields["type"] >= 48:
            check(g.get("connection_id") == cid, f"bound with the connection id: {g}")
        for k, v in fields.items():
            check(g.get(k) == v, f"type {fields['type']}: {k} = {g.get(k)!r}, want {v!r}: {g}")
    print(f"    {len(pkts)} packets: every field as encoded")


def pcap_packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    pos = 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[pos : pos + 16])
        frame = data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        ihl = (frame[0] & 0x0F) * 4
        yield frame[ihl + 8 :]


def codec_rust_to_python(pcap, crc=False):
    """Every packet of a Rust capture decodes with the Python codec."""
    cid, n, types = None, 0, set()
    for pkt in pcap_packets(pcap):
        seq, ptype, length, _ = S.peek_header(pkt)
        types.add(ptype)
        if ptype in S.UNBOUND_TYPES or cid is None:
            seq, ptype, payload = S.decode_packet(pkt)
            if ptype == S.SYN:
                S.decode_syn(payload)
            elif ptype == S.SYN_ACK:
                h = S.decode_synack(payload)
                cid = h["client_id"] ^ h["server_id"]
            elif ptype == S.HANDSHAKE_ACK:
                S.decode_hsack(payload)
            n += 1
            continue
        seq, ptype, payload = S.decode_packet(pkt, cid, crc)
        if ptype == S.ACK:
            S.decode_ack(payload)
        elif ptype == S.NACK:
            S.decode_nack(payload)
        elif ptype == S.DATA:
            S.decode_data(payload)
        elif ptype == S.HEARTBEAT:
            S.decode_heartbeat(payload)
        n += 1
    check(n > 10, "a capture with packets")
    return n, types


# --- connections over UDP ------------------------------------------------------------------


def start(args, **kw):
    return subprocess.Popen([SEQLINK] + args, stdout=kw.get("stdout", subprocess.DEVNULL),
                            stderr=subprocess.PIPE, stdin=kw.get("stdin", subprocess.DEVNULL))


def wait_listening(proc, what):
    line = proc.stderr.readline().decode()
    check(what in line, f"server started: {line!r}")


def run_client(sock, addr, hs, until, limit_s, what="time limit", proc=None):
    """Drives a ClientHandshake until `until()` or the time limit; a failure
    names the state of the seqlink process `proc` too, when given."""
    deadline = time.monotonic() + limit_s
    while not until():
        if time.monotonic() >= deadline:
            peer = ""
            if proc is not None:
                rc = proc.poll()
                peer = "; seqlink " + ("still running" if rc is None else f"exited {rc}: {proc.stderr.read().decode()}")
            conn = hs.conn
            detail = f", {conn.stats}, our FIN {conn.fin_seq} in flight {conn.fin_seq in conn.flight}, queued {len(conn.queue)}, peer FIN {conn.peer_fin}" if conn else ""
            check(False, f"{what}: state {hs.state}{detail}{peer}")
        for d in hs.poll(now_ms()):
            sock.sendto(d, addr)
        data, src = sock.recv(0.005)
        if data is not None:
            hs.receive(data, now_ms())
        check(hs.state != "failed", f"client failed: {hs.refused}")
        if hs.conn is not None:
            check(hs.conn.state != "failed", f"connection failed: {hs.conn.fail_reason}")


def python_client_to_rust_echo(loss, rust_loss, seed, crc=False, heartbeat=0):
    section(f"Python client -> seqlink echo over UDP (loss {loss} here, {rust_loss} there, "
            f"crc32c {crc}, heartbeat {heartbeat})")
    port = free_port()
    pcap = tempfile.mktemp(suffix=".pcap")
    args = ["echo", str(port), "--bind", "127.0.0.1", "--once", "-q", "--seed", str(seed),
            "--pcap", pcap]
    if rust_loss:
        args += ["--loss", str(rust_loss)]
    if crc:
        args += ["--integrity", "crc32c"]
    if heartbeat:
        args += ["--heartbeat", str(heartbeat)]
    proc = start(args)
    try:
        wait_listening(proc, "echoing on udp")
        sock = Lossy(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), loss, seed)
        sock.sock.bind(("127.0.0.1", 0))
        addr = ("127.0.0.1", port)
        hs = S.ClientHandshake(max_payload=1000, window=32, crc=crc, heartbeat_ms=heartbeat,
                               rng=random.Random(seed))
        run_client(sock, addr, hs, lambda: hs.state == "established", 10)
        conn = hs.conn
        check(conn.crc == crc, "CRC-32C negotiated as asked")
        rng = random.Random(seed)
        sizes = [0, 1, 10, 500, 1000, 1001, 2500, 994 * 5 + 3] + [rng.randrange(1, 1200) for _ in range(60)]
        sent = []
        for i, n in enumerate(sizes):
            msg = bytes(rng.getrandbits(8) for _ in range(n))
            ptype = 100 + i % 50 if i % 7 else 19
            conn.send(ptype, msg)
            sent.append((ptype, msg))
        run_client(sock, addr, hs, lambda: len(conn.messages) >= len(sent), 60)
        check(conn.messages == sent, "every echo byte-exact and in order")
        if heartbeat:
            # stay idle and ping nothing ourselves for 30 heartbeats: the Rust
            # side pings, and only our pongs keep it from failing with DeadPeer
            # after max_retries (20) unanswered pings (7.5)
            conn.heartbeat_ms = 0
            t = time.monotonic() + heartbeat * 30 / 1000
            run_client(sock, addr, hs, lambda: time.monotonic() > t, 10)
            check(conn.stats["pings_answered"] >= 20, f"the Rust side pinged: {conn.stats}")
            conn.heartbeat_ms = heartbeat
            conn.send(120, b"after the idle time")
            run_client(sock, addr, hs, lambda: conn.messages[-1] == (120, b"after the idle time"), 5,
                       "no echo after the idle time: the Rust side took our pongs for none")
        conn.ping(4242)
        run_client(sock, addr, hs, lambda: 4242 in conn.pongs or loss > 0, 5)
        conn.close()
        run_client(sock, addr, hs, lambda: conn.state in ("linger", "closed"), 30)
        run_client(sock, addr, hs, lambda: conn.state == "closed", 5)
        rc = proc.wait(timeout=15)
        err = proc.stderr.read().decode()
        check(rc == 0, f"echo --once exit {rc}: {err}")
        n, types = codec_rust_to_python(pcap, crc)
        print(f"    {len(sent)} messages echoed byte-exactly ({sum(sizes)} bytes), "
              f"{conn.stats['retransmits']} Python retransmissions, {sock.dropped} dropped here; "
              f"Rust capture: {n} packets decoded by Python, types {sorted(types)}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if os.path.exists(pcap):
            os.unlink(pcap)


def rust_send_to_python_server(loss, rust_loss, seed, size, message_size=None, crc=False, rust_crc=None):
    section(f"seqlink send -> Python server over UDP ({size} bytes, loss {loss} here, "
            f"{rust_loss} there, message size {message_size}, crc32c {crc})")
    sock = Lossy(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), loss, seed)
    sock.sock.bind(("127.0.0.1", 0))
    server = S.Server(max_payload=1200, window=64, crc=crc, rng=random.Random(seed))
    data = random.Random(seed).randbytes(size) if hasattr(random.Random, "randbytes") \
        else os.urandom(size)
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
    args = ["send", f"127.0.0.1:{sock.sock.getsockname()[1]}", f.name, "-q", "--seed", str(seed)]
    if rust_loss:
        args += ["--loss", str(rust_loss)]
    if message_size:
        args += ["--message-size", str(message_size)]
    if crc if rust_crc is None else rust_crc:
        args += ["--integrity", "crc32c"]
    proc = start(args)
    received, end, conn = bytearray(), None, None
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None or (conn is not None and not conn.done):
            check(time.monotonic() < deadline, "time limit")
            pkt, addr = sock.recv(0.005)
            if pkt is not None:
                for d in server.receive(pkt, addr, now_ms()):
                    sock.sendto(d, addr)
            for addr, (c, _) in list(server.conns.items()):
                conn = c
                for d in c.poll(now_ms()):
                    sock.sendto(d, addr)
                while c.messages:
                    ptype, m = c.messages.pop(0)
                    if ptype == 100:
                        received += m
                    elif ptype == 101:
                        end = struct.unpack(">QQ", m)
                        whole = end == (len(received), fnv1a64(received))
                        c.send(102, b"\0" if whole else b"\1")
                        c.close()
            if proc.poll() is not None and conn is None:
                break
        err = proc.stderr.read().decode()
        check(proc.returncode == 0, f"seqlink send exit {proc.returncode}: {err}")
        check(bytes(received) == data, "the file arrived byte-exact")
        check(end == (size, fnv1a64(data)), "FILE_END carries length and FNV-1a-64")
        check(conn is not None and conn.state == "closed", f"closed gracefully: {conn and conn.state}")
        check(conn.crc == crc, f"CRC-32C chosen when both support it and either prefers it: {conn.crc}")
        print(f"    {size} bytes byte-exact, {conn.stats['duplicates']} duplicates, "
              f"{conn.stats['retransmits']} Python retransmissions, {conn.stats['nacks']} NACKs sent, "
              f"{sock.dropped} dropped here")
    finally:
        os.unlink(f.name)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def python_client_to_rust_echo_tcp(seed):
    section("Python client -> seqlink echo --tcp (stream framing, 4.2, 8)")
    port = free_port(socket.SOCK_STREAM)
    proc = start(["echo", str(port), "--bind", "127.0.0.1", "--once", "-q", "--tcp"])
    try:
        wait_listening(proc, "echoing on tcp")
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        deframer = S.StreamDeframer()
        hs = S.ClientHandshake(max_payload=1000, window=16, stream=True, rng=random.Random(seed))
        sock.sendall(hs.syn())
        rng = random.Random(seed)
        sent = [(100 + i % 20, rng.randbytes(rng.randrange(0, 4000)) if hasattr(rng, "randbytes")
                 else os.urandom(rng.randrange(0, 4000))) for i in range(40)]
        queued = False
        deadline = time.monotonic() + 30
        while hs.conn is None or not hs.conn.done:
            check(time.monotonic() < deadline, f"time limit: {hs.state}")
            r, _, _ = select.select([sock], [], [], 0.005)
            if r:
                data = sock.recv(65536)
                if not data:
                    break
                for pkt in deframer.feed(data):
                    check(isinstance(pkt, bytes), f"stream framing: {pkt}")
                    hs.receive(pkt, now_ms())
            check(hs.state != "failed", f"client failed: {hs.refused}")
            if hs.state == "established" and not queued:
                for ptype, msg in sent:
                    hs.conn.send(ptype, msg)
                queued = True
            if queued and len(hs.conn.messages) == len(sent) and not hs.conn.closing:
                hs.conn.close()
            for d in hs.poll(now_ms()):
                sock.sendall(d)
        check(hs.conn.messages == sent, "every echo byte-exact and in order over TCP")
        check(hs.conn.state in ("linger", "closed"), f"closed (the stream end ends the linger, 7.8): {hs.conn.state}")
        sock.close()
        rc = proc.wait(timeout=15)
        check(rc == 0, f"echo --tcp --once exit {rc}: {proc.stderr.read().decode()}")
        print(f"    {len(sent)} messages echoed byte-exactly over TCP")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def probes_against_rust_server(seed):
    section("probes of the Rust server's stateless answers (7.3 short SYN, version, 7.7 RESET)")
    port = free_port()
    proc = start(["echo", str(port), "--bind", "127.0.0.1", "-q"])
    try:
        wait_listening(proc, "echoing on udp")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        addr = ("127.0.0.1", port)

        def ask(datagram):
            sock.sendto(datagram, addr)
            try:
                return sock.recv(70000)
            except socket.timeout:
                return None

        hs = S.ClientHandshake(rng=random.Random(seed))
        syn = S.encode_syn(hs.proposal, 40)
        check(ask(S.encode_packet(0, S.SYN, syn[:39])) is None, "a 48-byte SYN is not answered")
        v2 = dict(hs.proposal, version=2)
        reply = ask(S.encode_packet(0, S.SYN, S.encode_syn(v2, 24)))
        check(reply is not None and len(reply) <= 9 + 24, "a refusal is cut to the SYN's size")
        seq, ptype, payload = S.decode_packet(reply)
        check(ptype == S.ERR_MSG and seq == 0 and payload[0] == 1, f"version refused with code 1: {reply}")
        cid = 0x0BADCAFE
        probe = S.encode_packet(0xDEADBEEF, S.HEARTBEAT, S.encode_heartbeat(False, 1), pseudo=cid)
        reply = ask(probe)
        check(reply is not None, "a bound packet from an unknown address gets a RESET")
        seq, ptype, payload = S.decode_packet(reply)
        code, token = S.decode_reset(payload)
        check(ptype == S.RESET and code == 8 and seq == 0xDEADBEEF and token == S.id_sum(cid),
              f"unbound RESET code 8, seq echoed, token = the id's sum: {seq:#x} {code} {token:#x}")
        reply = ask(S.encode_packet(0, 100, b"", pseudo=0)[:9])  # a valid unbound packet: token 0
        check(reply is None, "no RESET for a packet whose token is 0 or 0xffff")
        print("    short SYN dropped, version refused, RESET token recovered as specified")
    finally:
        proc.kill()
        proc.wait()


def recv_listening(proc, port, tcp=False):
    """Waits until `seqlink recv` listens (it prints nothing with -q)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            check(False, f"recv exited: {proc.stderr.read().decode()}")
        if tcp:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        else:
            return time.sleep(0.3)
    check(False, "recv did not listen")


def python_client_to_rust_recv(loss, impair, seed, size):
    section(f"Python client -> seqlink recv over UDP ({size} bytes, loss {loss} here, "
            f"{' '.join(impair)} there)")
    port = free_port()
    out = tempfile.mktemp()
    proc = start(["recv", str(port), "--bind", "127.0.0.1", "-o", out, "-q", "--wait", "30",
                  "--seed", str(seed)] + impair)
    try:
        recv_listening(proc, port)
        sock = Lossy(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), loss, seed)
        sock.sock.bind(("127.0.0.1", 0))
        addr = ("127.0.0.1", port)
        hs = S.ClientHandshake(max_payload=1400, window=48, rng=random.Random(seed))
        run_client(sock, addr, hs, lambda: hs.state == "established", 10)
        conn = hs.conn
        rng = random.Random(seed)
        data = bytes(rng.getrandbits(8) for _ in range(size))
        chunk = conn.max_payload
        pos = 0
        deadline = time.monotonic() + 60
        while pos < len(data):
            # keep at most two windows queued: a sender is told to wait by its window
            while len(conn.queue) < 2 * conn.window and pos < len(data):
                conn.send(100, data[pos : pos + chunk])
                pos += chunk
            run_client(sock, addr, hs, lambda: len(conn.queue) < conn.window, 60)
            check(time.monotonic() < deadline, "time limit")
        conn.send(101, struct.pack(">QQ", len(data), fnv1a64(data)))
        run_client(sock, addr, hs, lambda: any(t == 102 for t, _ in conn.messages), 60)
        check(conn.messages[-1] == (102, b"\0"), f"the receiver's verdict is whole: {conn.messages}")
        conn.close()
        run_client(sock, addr, hs, lambda: conn.state in ("linger", "closed"), 30, proc=proc)
        # linger as a peer does (7.6): our last ACK may be lost, and the
        # receiver exits only once its FIN is acknowledged (or its close times out)
        run_client(sock, addr, hs, lambda: proc.poll() is not None, 20, "recv still running", proc=proc)
        rc = proc.wait()
        check(rc == 0, f"recv exit {rc}: {proc.stderr.read().decode()}")
        with open(out, "rb") as f:
            check(f.read() == data, "the file arrived byte-exact")
        print(f"    {size} bytes byte-exact, {conn.stats['retransmits']} Python retransmissions, "
              f"{conn.stats['duplicates']} duplicates, {conn.stats['corrupt']} corrupt, {sock.dropped} dropped here")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if os.path.exists(out):
            os.unlink(out)


def basic_client_to_rust_recv_tcp(seed, size):
    section("seed 000 basic-profile client (8, 8.1) -> seqlink recv --tcp")
    port = free_port(socket.SOCK_STREAM)
    out = tempfile.mktemp()
    proc = start(["recv", str(port), "--bind", "127.0.0.1", "-o", out, "-q", "--tcp", "--wait", "30"])
    try:
        recv_listening(proc, port, tcp=True)
        rng = random.Random(seed)
        data = bytes(rng.getrandbits(8) for _ in range(size))
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        seq = 0
        for pos in range(0, len(data), 1000):
            sock.sendall(S.encode_packet(seq, 100, data[pos : pos + 1000]))
            seq += 1
        sock.sendall(S.encode_packet(seq, 101, struct.pack(">QQ", len(data), fnv1a64(data))))
        # the receiver answers in its own sequence space from 0 and closes the stream
        deframer, got = S.StreamDeframer(), []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += deframer.feed(chunk)
        sock.close()
        packets = [S.decode_packet(p) for p in got]
        check([p[0] for p in packets] == list(range(len(packets))), "numbered from 0 on every packet")
        check((0, 102, b"\0") in [(q, t, m) for q, t, m in packets] or any(t == 102 and m == b"\0" for _, t, m in packets),
              f"the verdict is whole: {packets}")
        rc = proc.wait(timeout=20)
        check(rc == 0, f"recv exit {rc}: {proc.stderr.read().decode()}")
        with open(out, "rb") as f:
            check(f.read() == data, "the file arrived byte-exact")
        print(f"    {size} bytes byte-exact; the receiver's packets: {[(q, t) for q, t, _ in packets]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if os.path.exists(out):
            os.unlink(out)


def probe_receiver_rules(seed):
    section("the Rust receiver's answers, packet by packet (6.3, 6.4, 6.5, 7.5, 7.7)")
    port = free_port()
    proc = start(["echo", str(port), "--bind", "127.0.0.1", "--once", "-q", "--window", "16"])
    try:
        wait_listening(proc, "echoing on udp")
        sock = Lossy(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0.0, seed)
        sock.sock.bind(("127.0.0.1", 0))
        addr = ("127.0.0.1", port)
        hs = S.ClientHandshake(max_payload=500, window=16, rng=random.Random(seed))
        run_client(sock, addr, hs, lambda: hs.state == "established", 10)
        conn = hs.conn
        isn, cid = conn.next_seq, conn.conn_id
        run_client(sock, addr, hs, lambda: True, 1)
        t = time.monotonic() + 0.1
        run_client(sock, addr, hs, lambda: time.monotonic() > t, 1)  # let the confirmation settle

        def exchange(seq, ptype, payload, wait=0.3):
            """Sends one raw bound packet; returns the control packets that came back."""
            sock.sendto(S.encode_packet(seq, ptype, payload, cid), addr)
            got, end = [], time.monotonic() + wait
            while time.monotonic() < end:
                data, _ = sock.recv(0.005)
                if data is None:
                    continue
                q, pt, pl = S.decode_packet(data, cid)
                if pt in (S.ACK, S.NACK, S.HEARTBEAT):
                    got.append((q, pt, pl))
                hs.receive(data, now_ms())
                for d in hs.poll(now_ms()):
                    sock.sendto(d, addr)
            return got

        def acks(got):
            return [S.decode_ack(pl) for _, pt, pl in got if pt == S.ACK]

        def nacks(got):
            return [S.decode_nack(pl) for _, pt, pl in got if pt == S.NACK]

        conn.next_seq = (isn + 3) % S.MOD32  # the three packets below are sent by hand
        got = exchange(isn + 2, 100, b"third")
        check((isn - 1 + S.MOD32) % S.MOD32 in [a[0] for a in acks(got)] and
              any(a[2] == [(isn + 2) % S.MOD32] for a in acks(got)),
              f"beyond a gap: an ACK at once, cumulative isn-1, SACK of isn+2 (bit 1): {acks(got)}")
        check([isn, (isn + 1) % S.MOD32] in nacks(got),
              f"beyond a gap: a NACK naming the expected packet and the hole: {nacks(got)}")
        got = exchange(isn + 1, 100, b"second")
        check(any(a[0] == (isn - 1) % S.MOD32 and sorted(a[2]) == [(isn + 1) % S.MOD32, (isn + 2) % S.MOD32]
                  for a in acks(got)), f"a second packet beyond the gap: SACK of both: {acks(got)}")
        got = exchange(isn, 100, b"first")
        check(any(a[0] == (isn + 2) % S.MOD32 for a in acks(got)),
              f"the gap filled: an ACK at once with cumulative isn+2: {acks(got)}")
        run_client(sock, addr, hs, lambda: len(conn.messages) >= 3, 5)
        check(conn.messages[:3] == [(100, b"first"), (100, b"second"), (100, b"third")],
              f"delivered in order once: {conn.messages}")
        got = exchange(isn, 100, b"first")
        check(any(a[0] == (isn + 2) % S.MOD32 for a in acks(got)),
              f"a duplicate: an ACK with the current cumulative: {acks(got)}")
        got = exchange(isn + 3 + 16, 100, b"far")
        check(any(a[0] == (isn + 2) % S.MOD32 for a in acks(got)),
              f"beyond the window: dropped and answered with an ACK: {acks(got)}")
        got = exchange(conn.next_seq, S.HEARTBEAT, b"")
        check(any(pt == S.HEARTBEAT and pl == bytes.fromhex("0100000000") for _, pt, pl in got),
              f"an empty HEARTBEAT gets the pong 01 00 00 00 00: {got}")
        got = exchange(conn.next_seq, S.HEARTBEAT, S.encode_heartbeat(False, 0xA1B2C3D4))
        check(any(pt == S.HEARTBEAT and pl == S.encode_heartbeat(True, 0xA1B2C3D4) for _, pt, pl in got),
              f"a ping's stamp is echoed: {got}")
        got_ctl = [q for q, pt, _ in got]
        check(all(q == got_ctl[0] for q in got_ctl), "control packets carry the next sequence number")
        # 6.2: unreliable packets in their own space; a late or repeated one is dropped
        unreliable = [(5, b"u5"), (6, b"u6"), (6, b"u6 again"), (4, b"u4 late"), (9, b"u9")]
        for q, m in unreliable:
            conn.send_unreliable(150, m, q)
        for d in conn.out:
            sock.sendto(d, addr)
        conn.out = []
        run_client(sock, addr, hs, lambda: (150, b"u9") in conn.messages, 5)
        echoed = [m for t, m in conn.messages if t == 150]
        check(echoed == [b"u5", b"u6", b"u9"], f"unreliable: first taken whatever its seq, then only later ones: {echoed}")
        # 6.2: DATA with a reserved flag bit is malformed and dropped
        bad = bytearray(S.encode_data(151, b"reserved flag"))
        bad[0] |= 0x08
        exchange(conn.next_seq, S.DATA, bytes(bad))
        conn.send(151, b"proper")
        run_client(sock, addr, hs, lambda: (151, b"proper") in conn.messages, 5)
        check((151, b"reserved flag") not in conn.messages, "a DATA packet with flag bit 3 is dropped")
        # 7.7: a bound ERR_MSG outside [next expected, next expected + window] is dropped
        exchange(conn.next_seq + 17, S.ERR_MSG, S.encode_err(0, "blind"))
        conn.send(100, b"still there")
        run_client(sock, addr, hs, lambda: (100, b"still there") in conn.messages, 5)
        check(conn.state == "established", "the out-of-window ERR_MSG was ignored")
        conn.close()
        run_client(sock, addr, hs, lambda: conn.state in ("linger", "closed"), 10)
        check(proc.wait(timeout=15) == 0, "echo --once ends cleanly")
        print("    gap/SACK/NACK, fill, duplicate, beyond-window, pings and a blind ERR_MSG as specified")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def probe_idle_timeout(seed):
    section("a silent peer: the Rust side pings every heartbeat_ms, then ERR_MSG code 6 (7.5)")
    port = free_port()
    proc = start(["echo", str(port), "--bind", "127.0.0.1", "--once", "-q", "--heartbeat", "100"])
    try:
        wait_listening(proc, "echoing on udp")
        sock = Lossy(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0.0, seed)
        sock.sock.bind(("127.0.0.1", 0))
        addr = ("127.0.0.1", port)
        hs = S.ClientHandshake(heartbeat_ms=0, idle_timeout_ms=800, rng=random.Random(seed))
        run_client(sock, addr, hs, lambda: hs.state == "established", 10)
        conn = hs.conn
        check(conn.heartbeat_ms == 100, f"heartbeat agreed: the smaller non-zero value: {conn.heartbeat_ms}")
        silent_from = time.monotonic()
        pings, err = [], None
        while err is None and time.monotonic() < silent_from + 5:
            data, _ = sock.recv(0.01)
            if data is None:
                continue
            q, pt, pl = S.decode_packet(data, conn.conn_id)
            if pt == S.HEARTBEAT:
                pings.append((time.monotonic() - silent_from, S.decode_heartbeat(pl)))
            elif pt == S.ERR_MSG:
                err = (time.monotonic() - silent_from, q, S.decode_err(pl))
        check(err is not None, "an ERR_MSG after the idle timeout")
        elapsed, q, (code, reason) = err
        check(code == 6 and q == conn.recv_next, f"ERR_MSG code 6 with the sender's next seq: {err}")
        check(0.7 <= elapsed <= 2.5, f"after idle_timeout_ms (800 ms): {elapsed:.3f} s")
        check(len(pings) >= 4 and all(not pong for _, (pong, _) in pings),
              f"pings while silent, about every 100 ms: {pings}")
        rc = proc.wait(timeout=10)
        print(f"    {len(pings)} pings, then ERR_MSG code 6 ({reason!r}) after {elapsed:.2f} s; echo exit {rc}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def rust_send_tcp_to_python_server(seed, size):
    section(f"seqlink send --tcp -> Python server over TCP ({size} bytes; 4.2, 8)")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    server = S.Server(max_payload=1200, window=32, rng=random.Random(seed), stream=True)
    data = bytes(random.Random(seed).getrandbits(8) for _ in range(size))
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
    proc = start(["send", f"127.0.0.1:{listener.getsockname()[1]}", f.name, "-q", "--tcp"])
    received, end, conn, syn_len = bytearray(), None, None, None
    try:
        listener.settimeout(10)
        sock, addr = listener.accept()
        deframer = S.StreamDeframer()
        deadline = time.monotonic() + 30
        open_ = True
        while open_ and (conn is None or not conn.done):
            check(time.monotonic() < deadline, "time limit")
            r, _, _ = select.select([sock], [], [], 0.005)
            if r:
                chunk = sock.recv(65536)
                if not chunk:
                    open_ = False
                for pkt in deframer.feed(chunk):
                    check(isinstance(pkt, bytes), f"stream framing: {pkt}")
                    if syn_len is None:
                        syn_len = len(pkt)
                    for d in server.receive(pkt, addr, now_ms()):
                        sock.sendall(d)
            for c, _ in server.conns.values():
                conn = c
                while c.messages:
                    ptype, m = c.messages.pop(0)
                    if ptype == 100:
                        received += m
                    elif ptype == 101:
                        end = struct.unpack(">QQ", m)
                        c.send(102, b"\0" if end == (len(received), fnv1a64(received)) else b"\1")
                        c.close()
                for d in c.poll(now_ms()):
                    sock.sendall(d)
        sock.close()
        rc = proc.wait(timeout=15)
        check(rc == 0, f"seqlink send --tcp exit {rc}: {proc.stderr.read().decode()}")
        check(bytes(received) == data, "the file arrived byte-exact over TCP")
        check(not conn.crc, "never CRC-32C over a stream")
        print(f"    {size} bytes byte-exact; the Rust stream client's SYN was {syn_len} bytes; "
              f"connection {conn.state}")
    finally:
        os.unlink(f.name)
        listener.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    global SEQLINK
    SEQLINK = os.path.abspath(sys.argv[1])
    codec_self_tests()
    codec_python_to_rust()
    probes_against_rust_server(8)
    probe_receiver_rules(12)
    probe_idle_timeout(14)
    python_client_to_rust_echo(0.0, 0.0, 1)
    rust_send_to_python_server(0.0, 0.0, 2, 200_000)
    python_client_to_rust_echo(0.05, 0.05, 3)
    rust_send_to_python_server(0.05, 0.05, 4, 300_000, message_size=3000)
    python_client_to_rust_echo(0.02, 0.02, 5, crc=True, heartbeat=50)
    rust_send_to_python_server(0.02, 0.02, 6, 100_000, crc=True)
    rust_send_to_python_server(0.0, 0.0, 13, 20_000, crc=True, rust_crc=False)
    python_client_to_rust_echo_tcp(7)
    python_client_to_rust_recv(0.0, [], 9, 150_000)
    python_client_to_rust_recv(0.03, ["--loss", "0.03", "--dup", "0.03", "--reorder", "0.05",
                                      "--corrupt", "0.03"], 10, 300_000)
    basic_client_to_rust_recv_tcp(11, 50_000)
    rust_send_tcp_to_python_server(15, 200_000)
    print(f"all {CHECKS} checks passed in {time.monotonic() - START:.1f} s")


if __name__ == "__main__":
    main()
