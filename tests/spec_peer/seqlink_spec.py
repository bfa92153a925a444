"""An independent seqlink implementation written from docs/PROTOCOL.md alone.

Pure Python 3.9+, standard library only. It imports nothing of the project:
its only source is the spec, so wherever it and the Rust implementation
disagree, either the spec or the code is wrong. Section numbers in comments
refer to docs/PROTOCOL.md.
"""

import hashlib
import hmac
import os
import random
import struct

HEADER_LEN = 9
MOD32 = 1 << 32

# 3, 7.1: packet types of the protocol
ACK, NACK, HEARTBEAT, ERR_MSG, DATA = 20, 21, 22, 23, 24
SYN, SYN_ACK, HANDSHAKE_ACK, FIN, RESET = 25, 26, 27, 28, 29
UNBOUND_TYPES = (SYN, SYN_ACK, HANDSHAKE_ACK)
UNBOUND_MAX_PAYLOAD = 104  # 1: the least limit for unbound packets

# 6.2: DATA flags
F_ACK, F_FRAGMENT, F_UNRELIABLE = 0x01, 0x02, 0x04

# 7.3: handshake flags
SYN_SUPPORTS_CRC, SYN_PREFERS_CRC = 0x01, 0x02
SYNACK_CRC_CHOSEN = 0x02


class SpecError(Exception):
    """A packet the spec says a receiver rejects; `kind` names the error (9.1)."""

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind} {detail}".strip())
        self.kind = kind


# --- 2.1 Internet checksum ---------------------------------------------------


def ones_sum(data, acc=0):
    """One's complement sum of big-endian 16-bit words (odd length: zero pad)."""
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    for i in range(0, len(data), 2):
        acc += (data[i] << 8) | data[i + 1]
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return acc


def internet_checksum(data, pseudo=0):
    """2.1 + 2.3: the pseudo-header's 4 bytes are summed before `data`."""
    return ~ones_sum(struct.pack(">I", pseudo) + bytes(data)) & 0xFFFF


def id_sum(conn_id):
    """7.2: the one's complement sum of a 32-bit connection id."""
    return ones_sum(struct.pack(">I", conn_id))


# --- 2.2 CRC-32C ---------------------------------------------------------------


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# --- 1, 2: packets --------------------------------------------------------------


def encode_packet(seq, ptype, payload=b"", pseudo=0, crc=False):
    payload = bytes(payload)
    if len(payload) > 0xFFFF:
        raise SpecError("PayloadTooLarge")
    head = struct.pack(">IBH", seq % MOD32, ptype, len(payload))
    if crc:
        body = head + b"\x00\x00" + payload
        return body + struct.pack(">I", crc32c(struct.pack(">I", pseudo) + body))
    return head + struct.pack(">H", internet_checksum(head + payload, pseudo)) + payload


def peek_header(buf):
    if len(buf) < HEADER_LEN:
        raise SpecError("Truncated")
    return struct.unpack(">IBHH", bytes(buf[:HEADER_LEN]))


def decode_packet(buf, pseudo=0, crc=False, max_payload=0xFFFF):
    """1: the receiver's checks, in the spec's order. Returns (seq, type, payload)."""
    buf = bytes(buf)
    seq, ptype, length, checksum = peek_header(buf)
    if length > max_payload:
        raise SpecError("PayloadTooLarge")
    trailer = 4 if crc else 0
    if len(buf) != HEADER_LEN + length + trailer:
        raise SpecError("LengthMismatch")
    payload = buf[HEADER_LEN : HEADER_LEN + length]
    if crc:
        (got,) = struct.unpack(">I", buf[HEADER_LEN + length :])
        want = crc32c(struct.pack(">I", pseudo) + buf[:7] + b"\x00\x00" + payload)
        if checksum != 0 or got != want:
            raise SpecError("BadChecksum", f"{got:#x} != {want:#x}")
    else:
        want = internet_checksum(buf[:7] + payload, pseudo)
        if checksum != want:
            raise SpecError("BadChecksum", f"{checksum:#x} != {want:#x}")
    return seq, ptype, payload


def recover_token(buf):
    """7.7: the pseudo-header's one's complement sum from a received packet."""
    seq, ptype, length, checksum = peek_header(buf)
    data_sum = ones_sum(bytes(buf[:7]) + bytes(buf[HEADER_LEN : HEADER_LEN + length]))
    # ~checksum = pseudo_sum + data_sum (one's complement); subtract data_sum.
    token = (~checksum & 0xFFFF) + (~data_sum & 0xFFFF)
    while token >> 16:
        token = (token & 0xFFFF) + (token >> 16)
    return token


# --- 5: sequence numbers ------------------------------------------------------------


def seq_after(a, b):
    return 1 <= (a - b) % MOD32 <= (1 << 31) - 1


def seq_diff(a, b):
    return (a - b) % MOD32


# --- 6.3: ACK and the ack block ----------------------------------------------------------


def encode_ack_block(cumulative, window, sacked=()):
    """`sacked`: sequence numbers held beyond `cumulative + 1`."""
    bits = bytearray(32)
    top = -1
    for s in sacked:
        i = seq_diff(s, cumulative + 2)
        if i < 256:
            bits[i // 8] |= 1 << (i % 8)
            top = max(top, i // 8)
    bitmap = bytes(bits[: top + 1])
    return struct.pack(">IHB", cumulative % MOD32, window, len(bitmap)) + bitmap


def decode_ack_block(payload):
    """Returns (cumulative, window or None, [sacked seqs], bytes used)."""
    if len(payload) < 7:
        raise SpecError("Malformed", "ack block")
    cumulative, window, sack_len = struct.unpack(">IHB", payload[:7])
    if sack_len > 32 or len(payload) < 7 + sack_len:
        raise SpecError("Malformed", "sack")
    sacked = []
    for i in range(sack_len * 8):
        if payload[7 + i // 8] >> (i % 8) & 1:
            sacked.append((cumulative + 2 + i) % MOD32)
    return cumulative, window, sacked, 7 + sack_len


def decode_ack(payload):
    if len(payload) == 4:
        return struct.unpack(">I", payload)[0], None, []
    cumulative, window, sacked, used = decode_ack_block(payload)
    if used != len(payload):
        raise SpecError("Malformed", "ack length")
    return cumulative, window, sacked


# --- 6.4: NACK ------------------------------------------------------------------------


def encode_nack(seqs):
    seqs = list(seqs)
    if not 1 <= len(seqs) <= 16:
        raise SpecError("Malformed", "nack count")
    return b"".join(struct.pack(">I", s % MOD32) for s in seqs)


def decode_nack(payload):
    if len(payload) % 4 or not 4 <= len(payload) <= 64:
        raise SpecError("Malformed", "nack length")
    return [struct.unpack(">I", payload[i : i + 4])[0] for i in range(0, len(payload), 4)]


# --- 6.2: extended DATA ---------------------------------------------------------------


def encode_data(app_type, data=b"", ack=None, fragment=None, unreliable=False):
    """`ack`: (cumulative, window, sacked); `fragment`: (index, count)."""
    flags = (F_ACK if ack else 0) | (F_FRAGMENT if fragment else 0)
    flags |= F_UNRELIABLE if unreliable else 0
    out = struct.pack(">BB", flags, app_type)
    if ack:
        out += encode_ack_block(*ack)
    if fragment:
        out += struct.pack(">HH", *fragment)
    return out + bytes(data)


def decode_data(payload):
    """Returns dict(flags, app_type, ack, fragment, unreliable, data)."""
    if len(payload) < 2:
        raise SpecError("Malformed", "data")
    flags, app_type = payload[0], payload[1]
    if flags & 0xF8:
        raise SpecError("Malformed", "data flags")
    pos, ack, fragment = 2, None, None
    if flags & F_ACK:
        cumulative, window, sacked, used = decode_ack_block(payload[pos:])
        ack = (cumulative, window, sacked)
        pos += used
    if flags & F_FRAGMENT:
        if len(payload) < pos + 4:
            raise SpecError("Malformed", "fragment")
        index, count = struct.unpack(">HH", payload[pos : pos + 4])
        if count < 1 or index >= count:
            raise SpecError("Malformed", "fragment index")
        fragment = (index, count)
        pos += 4
    return dict(flags=flags, app_type=app_type, ack=ack, fragment=fragment,
                unreliable=bool(flags & F_UNRELIABLE), data=bytes(payload[pos:]))


# --- 7.1: heartbeat, ERR_MSG, RESET --------------------------------------------------------


def encode_heartbeat(pong, stamp):
    return struct.pack(">BI", 1 if pong else 0, stamp % MOD32)


def decode_heartbeat(payload):
    """Returns (pong, stamp); an empty payload is a ping without a stamp."""
    if len(payload) == 0:
        return False, None
    if len(payload) != 5 or payload[0] > 1:
        raise SpecError("Malformed", "heartbeat")
    return payload[0] == 1, struct.unpack(">I", payload[1:])[0]


def encode_err(code, reason=""):
    return bytes([code]) + reason.encode()


def decode_err(payload):
    if not payload:
        return 0, ""
    return payload[0], bytes(payload[1:]).decode("utf-8", "replace")


def encode_reset(code, token):
    return struct.pack(">BH", code, token)


def decode_reset(payload):
    if len(payload) != 3:
        raise SpecError("Malformed", "reset")
    return struct.unpack(">BH", payload)


# --- 7.3: handshake packets -------------------------------------------------------------------

PARAMS = ("max_payload", "window", "heartbeat_ms", "idle_timeout_ms")


def encode_syn(h, pad_to=40):
    out = struct.pack(">BBIIHHIIH", h["version"], h["flags"], h["client_id"], h["client_isn"],
                      h["max_payload"], h["window"], h["heartbeat_ms"], h["idle_timeout_ms"],
                      len(h.get("ext", b""))) + h.get("ext", b"")
    return out + bytes(max(0, pad_to - len(out)))


def decode_syn(p):
    if len(p) < 24:
        raise SpecError("Malformed", "syn")
    f = struct.unpack(">BBIIHHIIH", p[:24])
    h = dict(zip(("version", "flags", "client_id", "client_isn") + PARAMS, f[:8]))
    if f[8] > 512 or len(p) < 24 + f[8]:
        raise SpecError("Malformed", "syn ext")
    h["ext"] = bytes(p[24 : 24 + f[8]])
    h["padding"] = len(p) - 24 - f[8]
    return h


_SYNACK = ">BBIIIHHIIIQH"
_SYNACK_NAMES = ("version", "flags", "client_id", "server_id", "server_isn") + PARAMS + (
    "cookie_time", "cookie")
_HSACK = ">BBIIIIHHIIIQH"
_HSACK_NAMES = ("version", "flags", "client_id", "client_isn", "server_id", "server_isn") + PARAMS + (
    "cookie_time", "cookie")


def _encode_fixed(fmt, names, h):
    ext = h.get("ext", b"")
    return struct.pack(fmt, *[h[n] for n in names], len(ext)) + ext


def _decode_fixed(fmt, names, p):
    size = struct.calcsize(fmt)
    if len(p) < size:
        raise SpecError("Malformed", "handshake")
    f = struct.unpack(fmt, p[:size])
    h = dict(zip(names, f[:-1]))
    # 7.3: ext_len above 512 is malformed; bytes after the extension are ignored
    if f[-1] > 512 or len(p) < size + f[-1]:
        raise SpecError("Malformed", "handshake ext")
    h["ext"] = bytes(p[size : size + f[-1]])
    return h


def encode_synack(h):
    return _encode_fixed(_SYNACK, _SYNACK_NAMES, h)


def decode_synack(p):
    return _decode_fixed(_SYNACK, _SYNACK_NAMES, p)


def encode_hsack(h):
    return _encode_fixed(_HSACK, _HSACK_NAMES, h)


def decode_hsack(p):
    return _decode_fixed(_HSACK, _HSACK_NAMES, p)


# --- 4: framings -------------------------------------------------------------------------------


class StreamDeframer:
    """4.2: packets back to back, each cut out by its own `len`.

    `feed` returns the packets cut out, then a SpecError if the stream hit a
    fatal error (a `len` over the maximum); nothing more comes after it.
    """

    def __init__(self, max_payload=0xFFFF, crc=False):
        self.buf = bytearray()
        self.max_payload = max_payload
        self.trailer = 4 if crc else 0
        self.failed = False

    def feed(self, data):
        if self.failed:
            return []
        self.buf += data
        out = []
        while len(self.buf) >= HEADER_LEN:
            length = struct.unpack(">H", self.buf[5:7])[0]
            if length > self.max_payload:
                self.failed = True
                out.append(SpecError("PayloadTooLarge", "fatal stream error"))
                break
            total = HEADER_LEN + length + self.trailer
            if len(self.buf) < total:
                break
            out.append(bytes(self.buf[:total]))
            del self.buf[:total]
        return out


def cobs_encode(data):
    """4.3: COBS, without the trailing delimiter."""
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out += bytes([255]) + block
                block = bytearray()
    out += bytes([len(block) + 1]) + block
    return bytes(out)


def cobs_decode(frame):
    out = bytearray()
    i = 0
    while i < len(frame):
        code = frame[i]
        if code == 0 or i + code > len(frame):
            raise SpecError("BadFrame")
        out += frame[i + 1 : i + code]
        i += code
        if code < 255 and i < len(frame):
            out.append(0)
    return bytes(out)


def cobs_decode_prefix(frame):
    """The bytes a partial frame decodes to so far (the last block may be cut)."""
    out = bytearray()
    i = 0
    while i < len(frame):
        code = frame[i]
        out += frame[i + 1 : i + code]
        i += code
        if code < 255 and i < len(frame):
            out.append(0)
    return out


class CobsDeframer:
    def __init__(self, max_packet):
        self.buf = bytearray()
        self.max_packet = max_packet
        self.skipping = False

    def feed(self, data):
        """Returns a list of decoded packets or SpecError instances."""
        out = []
        for b in data:
            if b == 0:
                if self.skipping:
                    out.append(SpecError("FrameTooLong"))
                elif self.buf:
                    try:
                        out.append(cobs_decode(bytes(self.buf)))
                    except SpecError as e:
                        out.append(e)
                self.buf = bytearray()
                self.skipping = False
            elif not self.skipping:
                self.buf.append(b)
                # 4.3: the decoded bytes outgrow the maximum packet (decoded <= encoded - 1)
                if len(self.buf) - 1 > self.max_packet and len(cobs_decode_prefix(self.buf)) > self.max_packet:
                    self.skipping = True
                    self.buf = bytearray()
        return out


def length_prefix(message):
    """4.4: seed 004's `[u32 length][payload]`."""
    return struct.pack(">I", len(message)) + bytes(message)


class LengthPrefixDeframer:
    """4.4; `feed` returns messages, then a SpecError on a fatal length."""

    def __init__(self, max_len):
        self.buf = bytearray()
        self.max_len = max_len
        self.failed = False

    def feed(self, data):
        if self.failed:
            return []
        self.buf += data
        out = []
        while len(self.buf) >= 4:
            (n,) = struct.unpack(">I", self.buf[:4])
            if n > self.max_len:
                self.failed = True
                out.append(SpecError("PayloadTooLarge", "fatal stream error"))
                break
            if len(self.buf) < 4 + n:
                break
            out.append(bytes(self.buf[4 : 4 + n]))
            del self.buf[: 4 + n]
        return out


# --- 6, 7: a minimal connection ---------------------------------------------------------------


class Outstanding:
    __slots__ = ("seq", "ptype", "payload", "sent", "deadline", "retries", "sacked")

    def __init__(self, seq, ptype, payload):
        self.seq, self.ptype, self.payload = seq, ptype, payload
        self.sent = self.deadline = None
        self.retries = 0
        self.sacked = False


class Connection:
    """One side of an established connection (client or server), sans-IO.

    Feed received datagrams to `receive(datagram, now)`; collect datagrams to
    send from `poll(now)`. `now` is in milliseconds.
    """

    INITIAL_RTO = 200
    MAX_RTO = 3000
    MAX_RETRIES = 30
    LINGER = 600
    NACK_INTERVAL = 100

    def __init__(self, conn_id, crc, my_isn, peer_isn, max_payload, window, heartbeat_ms=0,
                 stream=False):
        self.conn_id, self.crc = conn_id, crc
        self.max_payload, self.window = max_payload, window
        self.heartbeat_ms = heartbeat_ms
        self.stream = stream  # 8: no retransmission over a byte stream
        # send side
        self.next_seq = my_isn
        self.acked_up_to = (my_isn - 1) % MOD32  # peer's cumulative ack
        self.peer_window = window
        self.queue = []  # (ptype, payload) not yet numbered
        self.flight = {}  # seq -> Outstanding
        self.fin_seq = None
        self.closing = False
        # receive side
        self.recv_next = peer_isn
        self.held = {}
        self.fragments = []
        self.last_unreliable = None
        self.peer_fin = False
        self.ack_due = False
        # events
        self.messages = []  # (app_type, bytes)
        self.unreliable = []
        self.pongs = []  # stamps echoed by the peer
        self.state = "established"
        self.fail_reason = None
        self.closed_at = None
        self.last_heard = None
        self.last_sent = None
        self.out = []
        self.last_nack = None
        self.stats = dict(retransmits=0, corrupt=0, duplicates=0, pings_answered=0, nacks=0)

    # -- application side
    def send(self, app_type, data):
        assert not 20 <= app_type <= 47 and not self.closing
        data = bytes(data)
        if len(data) <= self.max_payload:
            self.queue.append((app_type, data))
            return
        chunk = self.max_payload - 6
        count = -(-len(data) // chunk)
        assert count <= self.window, "6.2: a message longer than window * (max_payload - 6)"
        for i in range(count):
            part = data[i * chunk : (i + 1) * chunk]
            self.queue.append((DATA, encode_data(app_type, part, fragment=(i, count))))

    def send_unreliable(self, app_type, data, seq):
        self._emit(seq, DATA, encode_data(app_type, data, unreliable=True))

    def ping(self, stamp):
        self._emit(self.next_seq, HEARTBEAT, encode_heartbeat(False, stamp))

    def close(self):
        if not self.closing:
            self.closing = True
            self.queue.append((FIN, b""))

    @property
    def done(self):
        return self.state in ("closed", "failed")

    # -- wire
    def _emit(self, seq, ptype, payload, now=None):
        self.out.append(encode_packet(seq, ptype, payload, self.conn_id, self.crc))
        if now is not None:
            self.last_sent = now

    def _ack_payload(self):
        held = [s for s in self.held if s != self.recv_next]
        return encode_ack_block((self.recv_next - 1) % MOD32, self.window, held)

    def _send_ack(self, now):
        self._emit(self.next_seq, ACK, self._ack_payload(), now)
        self.ack_due = False

    def _transmit(self, o, now):
        self._emit(o.seq, o.ptype, o.payload, now)
        o.sent = now
        if self.stream:
            o.deadline = None
        else:
            rto = min(self.INITIAL_RTO * (2 ** o.retries), self.MAX_RTO)
            o.deadline = now + rto + 20

    def _fail(self, reason, now):
        if not self.done:
            self.state, self.fail_reason = "failed", reason

    def receive(self, datagram, now):
        try:
            seq, ptype, _, _ = peek_header(datagram)
            pseudo = 0 if ptype in UNBOUND_TYPES else self.conn_id
            crc = self.crc and ptype not in UNBOUND_TYPES
            try:
                limit = UNBOUND_MAX_PAYLOAD if pseudo == 0 else 0
                seq, ptype, payload = decode_packet(datagram, pseudo, crc, max(self.max_payload, limit))
            except SpecError:
                if ptype not in (ERR_MSG, RESET):
                    raise
                seq, ptype, payload = decode_packet(datagram, 0, False, max(self.max_payload, UNBOUND_MAX_PAYLOAD))
                pseudo = 0
        except SpecError:
            self.stats["corrupt"] += 1
            return
        if ptype in UNBOUND_TYPES:
            return "handshake", ptype, payload
        if self.state == "failed":
            return
        self.last_heard = now
        self._pings_unanswered = 0
        if ptype == ACK:
            self._on_ack(*decode_ack(payload), now)
        elif ptype == NACK:
            for s in decode_nack(payload):
                o = self.flight.get(s)
                if o is not None and o.sent is not None and now - o.sent > 10:
                    self.stats["retransmits"] += 1
                    self._transmit(o, now)
        elif ptype == HEARTBEAT:
            pong, stamp = decode_heartbeat(payload)
            if pong:
                self.pongs.append(stamp)
            else:
                self.stats["pings_answered"] += 1
                self._emit(self.next_seq, HEARTBEAT, encode_heartbeat(True, stamp or 0), now)
        elif ptype in (ERR_MSG, RESET):
            if pseudo == 0 and ptype == ERR_MSG:
                return  # unbound ERR_MSG: a refusal, not for an established connection
            if pseudo == 0:
                code, token = decode_reset(payload)
                oldest = min(self.flight, key=lambda s: seq_diff(s, self.acked_up_to), default=self.next_seq)
                if token != id_sum(self.conn_id) or seq_diff(seq, oldest) > seq_diff(self.next_seq, oldest):
                    return
            elif seq_diff(seq, self.recv_next) > self.window:
                return
            self._fail(("reset", payload[0] if payload else 0), now)
        elif ptype == DATA:
            d = decode_data(payload)
            if d["ack"]:
                self._on_ack(*d["ack"], now)
            if d["unreliable"]:
                if self.last_unreliable is None or seq_after(seq, self.last_unreliable):
                    self.last_unreliable = seq
                    self.unreliable.append((d["app_type"], d["data"]))
            else:
                self._on_reliable(seq, d["app_type"], d["fragment"], d["data"], now)
        elif ptype == FIN:
            self._on_reliable(seq, FIN, None, payload, now)
        elif 20 <= ptype <= 47:
            return  # reserved
        else:
            self._on_reliable(seq, ptype, None, payload, now)

    def _on_ack(self, cumulative, window, sacked, now):
        if seq_diff(cumulative, self.acked_up_to) <= seq_diff(self.next_seq - 1, self.acked_up_to):
            for s in list(self.flight):
                if seq_diff(s, self.acked_up_to) <= seq_diff(cumulative, self.acked_up_to):
                    del self.flight[s]
            self.acked_up_to = cumulative
        if window is not None:
            self.peer_window = window
        for s in sacked:
            if s in self.flight:
                self.flight[s].sacked = True

    def _on_reliable(self, seq, ptype, fragment, data, now):
        d = seq_diff(seq, self.recv_next)
        if d >= 1 << 31 or seq in self.held:
            self.stats["duplicates"] += 1
            self._send_ack(now)
            if self.state == "linger":
                self.closed_at = now
            return
        if d >= self.window:
            self._send_ack(now)
            return
        self.held[seq] = (ptype, fragment, data)
        in_order = d == 0
        while self.recv_next in self.held:
            self._deliver(*self.held.pop(self.recv_next))
            self.recv_next = (self.recv_next + 1) % MOD32
        if in_order and not self.held:
            self.ack_due = True  # delayed by at most one poll
        else:
            self._send_ack(now)
            self._maybe_nack(now)

    def _maybe_nack(self, now):
        """6.4: name the next expected packet and the holes below the highest
        held one (at most 16), at most once per NACK_INTERVAL for the same
        first packet."""
        if not self.held or self.stream:
            return
        if self.last_nack and self.last_nack[0] == self.recv_next \
                and now - self.last_nack[1] < self.NACK_INTERVAL:
            return
        top = max(seq_diff(s, self.recv_next) for s in self.held)
        missing = [(self.recv_next + i) % MOD32 for i in range(top)
                   if (self.recv_next + i) % MOD32 not in self.held][:16]
        self._emit(self.next_seq, NACK, encode_nack(missing), now)
        self.last_nack = (self.recv_next, now)
        self.stats["nacks"] += 1

    def _deliver(self, ptype, fragment, data):
        if fragment is None:
            if ptype == FIN:
                self.peer_fin = True
                self.close()  # 7.6 passive close
            else:
                self.messages.append((ptype, data))
            return
        index, count = fragment
        self.fragments.append(data)
        if index == count - 1:
            self.messages.append((ptype, b"".join(self.fragments)))
            self.fragments = []

    def _can_send_new(self):
        if len(self.flight) >= self.window:
            return False
        if self.stream:
            return seq_diff(self.next_seq, self.acked_up_to + 1) < self.peer_window
        if self.peer_window == 0:
            return not self.flight  # one probe
        return seq_diff(self.next_seq, self.acked_up_to + 1) < self.peer_window

    def poll(self, now):
        if self.done:
            out, self.out = self.out, []
            return out
        if self.last_heard is None:
            self.last_heard = now
        if self.last_sent is None:
            self.last_sent = now
        # retransmission on timeout (6.6): a SACKed packet has no deadline except
        # the oldest; after a timeout the others wait one more RTO (a silent
        # path gets the oldest packet, not the whole window)
        order = sorted(self.flight, key=lambda s: seq_diff(s, self.acked_up_to))
        for i, s in enumerate(order):
            o = self.flight[s]
            if o.deadline is None or now < o.deadline or (o.sacked and i > 0):
                continue
            if o.retries >= self.MAX_RETRIES:
                self._fail("dead_peer", now)
                break
            o.retries += 1
            self.stats["retransmits"] += 1
            self._transmit(o, now)
            for later in order[i + 1 :]:
                other = self.flight[later]
                if other.deadline is not None:
                    other.deadline = max(other.deadline, o.deadline)
            break
        # new packets
        while self.queue and self._can_send_new():
            ptype, payload = self.queue.pop(0)
            o = Outstanding(self.next_seq, ptype, payload)
            if ptype == FIN:
                self.fin_seq = o.seq
            self.next_seq = (self.next_seq + 1) % MOD32
            self.flight[o.seq] = o
            self._transmit(o, now)
        if self.ack_due:
            self._send_ack(now)
        # heartbeat (7.5)
        if self.heartbeat_ms and now - max(self.last_sent, self.last_heard) >= self.heartbeat_ms:
            self._emit(self.next_seq, HEARTBEAT, encode_heartbeat(False, now), now)
        # close (7.6)
        if self.state == "established" and self.fin_seq is not None and self.peer_fin \
                and self.fin_seq not in self.flight and not self.queue:
            self.state, self.closed_at = "linger", now
        if self.state == "linger" and now - self.closed_at >= self.LINGER:
            self.state = "closed"
        out, self.out = self.out, []
        return out


# --- 7.3: the two sides of the handshake -----------------------------------------------------


def negotiate(proposal, mine):
    """The server's decision (7.3); returns (agreement dict, None) or (None, err code)."""
    if proposal["version"] != 1:
        return None, 1
    if proposal["max_payload"] < 64 or proposal["window"] == 0:
        return None, 2
    agreed = dict(
        max_payload=min(proposal["max_payload"], mine["max_payload"]),
        window=min(proposal["window"], mine["window"], 256),
    )
    for k in ("heartbeat_ms", "idle_timeout_ms"):
        vals = [v for v in (proposal[k], mine[k]) if v]
        agreed[k] = min(vals) if vals else 0
    return agreed, None


class ClientHandshake:
    """7.3, client side: SYN, then HANDSHAKE_ACK until the first bound packet."""

    def __init__(self, max_payload=1200, window=64, heartbeat_ms=0, idle_timeout_ms=0,
                 crc=False, ext=b"", server_ext_room=0, stream=False, rng=None):
        rng = rng or random.Random()
        self.stream = stream
        self.proposal = dict(version=1, flags=(SYN_SUPPORTS_CRC | SYN_PREFERS_CRC) if crc else 0,
                             client_id=rng.getrandbits(32), client_isn=rng.getrandbits(32),
                             max_payload=max_payload, window=window, heartbeat_ms=heartbeat_ms,
                             idle_timeout_ms=idle_timeout_ms, ext=ext)
        self.pad_to = 40 + len(ext) + server_ext_room
        self.state = "syn_sent"
        self.hsack = None
        self.conn = None
        self.rto = 200
        self.deadline = 0
        self.refused = None
        self.server_ext = None

    def syn(self):
        return encode_packet(0, SYN, encode_syn(self.proposal, self.pad_to))

    def receive(self, datagram, now):
        if self.conn is not None:
            r = self.conn.receive(datagram, now)
            if r and r[1] == SYN_ACK and self.hsack:
                self.conn.out.append(self.hsack)  # a duplicate SYN_ACK: resend (7.3)
            elif self.state == "confirming" and self.conn.last_heard == now:
                self.state = "established"
            return
        try:
            seq, ptype, payload = decode_packet(datagram)
        except SpecError:
            return
        if ptype == ERR_MSG:
            self.refused = decode_err(payload)
            self.state = "failed"
            return
        if ptype != SYN_ACK:
            return
        h = decode_synack(payload)
        p = self.proposal
        if h["client_id"] != p["client_id"]:
            return
        ok = h["version"] == 1 and 64 <= h["max_payload"] <= p["max_payload"] \
            and 1 <= h["window"] <= p["window"]
        for k in ("heartbeat_ms", "idle_timeout_ms"):
            # 0 proposes nothing ("the smaller non-zero value"): the server's value stands
            ok = ok and (p[k] == 0 or 0 < h[k] <= p[k])
        if h["flags"] & SYNACK_CRC_CHOSEN and not p["flags"] & SYN_SUPPORTS_CRC:
            ok = False
        if not ok:
            self.state = "failed"
            self.refused = ("ProtocolViolation", h)
            return
        self.server_ext = h["ext"]
        ack = dict(h, client_isn=p["client_isn"], ext=p["ext"])
        self.hsack = encode_packet(0, HANDSHAKE_ACK, encode_hsack(ack))
        self.conn = Connection(p["client_id"] ^ h["server_id"], bool(h["flags"] & SYNACK_CRC_CHOSEN),
                               p["client_isn"], h["server_isn"], h["max_payload"], h["window"],
                               h["heartbeat_ms"], self.stream)
        self.conn.out.append(self.hsack)
        self.state = "confirming"
        self.rto, self.deadline = 200, now + 200

    def poll(self, now):
        out = []
        if self.state == "syn_sent" and now >= self.deadline and not self.stream:
            out.append(self.syn())
            self.deadline = now + self.rto
            self.rto *= 2
        if self.state == "confirming" and now >= self.deadline and not self.stream:
            out.append(self.hsack)
            self.deadline = now + self.rto
            self.rto *= 2
        if self.conn is not None:
            if self.state == "confirming":
                out += self.conn.out  # only the HANDSHAKE_ACK and its resends before Connected
                self.conn.out = []
            else:
                out += self.conn.poll(now)
        return out


class Server:
    """7.3, server side: stateless cookie, SYN_ACK, binding at the HANDSHAKE_ACK."""

    COOKIE_LIFETIME = 10_000

    def __init__(self, max_payload=1200, window=64, heartbeat_ms=0, idle_timeout_ms=0, crc=False,
                 rng=None, stream=False):
        self.rng = rng or random.Random()
        self.stream = stream  # 8: over a byte stream: no CRC, short SYNs refused with code 5
        self.mine = dict(max_payload=max_payload, window=window, heartbeat_ms=heartbeat_ms,
                         idle_timeout_ms=idle_timeout_ms)
        self.crc = crc
        self.secret = os.urandom(16)
        self.conns = {}  # addr -> (Connection, cookie)
        self.stats = dict(short_syns=0, bad_cookies=0, resets=0)

    def _cookie(self, addr, h):
        # The cookie is the server's own business (only it reads it); this
        # implementation uses HMAC-SHA256 in place of the spec's SipHash-2-4.
        fields = [h[k] for k in _HSACK_NAMES[:-1]]
        msg = repr((addr, fields)).encode()
        return int.from_bytes(hmac.new(self.secret, msg, hashlib.sha256).digest()[:8], "big")

    def receive(self, datagram, addr, now):
        """Returns a list of datagrams to send back to `addr`."""
        if addr in self.conns:
            conn, cookie = self.conns[addr]
            r = conn.receive(datagram, now)
            if r and r[1] == HANDSHAKE_ACK:
                h = decode_hsack(r[2])
                if h["cookie"] == cookie:
                    conn._send_ack(now)  # a duplicate: confirm again
                # other agreements from this address are ignored as replays
            return []
        try:
            limit = max(self.mine["max_payload"], UNBOUND_MAX_PAYLOAD)
            seq, ptype, payload = decode_packet(datagram, max_payload=limit)
        except SpecError:
            try:
                seq, ptype, length, _ = peek_header(datagram)
            except SpecError:
                return []
            # 7.7: a bound packet from an unknown address -> unbound RESET code 8
            if len(datagram) >= 12 and len(datagram) == HEADER_LEN + length \
                    and recover_token(datagram) not in (0, 0xFFFF):
                self.stats["resets"] += 1
                return [encode_packet(seq, RESET, encode_reset(8, recover_token(datagram)))]
            return []
        if ptype == SYN:
            h = decode_syn(payload)
            if h["version"] != 1:
                return [encode_packet(0, ERR_MSG, encode_err(1, "version"))[: len(datagram)]]
            if len(datagram) < HEADER_LEN + 40:
                self.stats["short_syns"] += 1
                if self.stream:
                    return [encode_packet(0, ERR_MSG, encode_err(5, "SYN too short: pad it to the SYN_ACK's size"))]
                return []
            agreed, err = negotiate(h, self.mine)
            if err:
                return [encode_packet(0, ERR_MSG, encode_err(err, "bad parameters"))[: len(datagram)]]
            while True:
                server_id = self.rng.getrandbits(32)
                if id_sum(server_id ^ h["client_id"]) not in (0, 0xFFFF):
                    break
            # chosen when both support it and either prefers it; this server
            # supports it always and prefers it when `crc` is set
            crc = h["flags"] & SYN_SUPPORTS_CRC and (h["flags"] & SYN_PREFERS_CRC or self.crc) \
                and not self.stream
            reply = dict(agreed, version=1, flags=SYNACK_CRC_CHOSEN if crc else 0,
                         client_id=h["client_id"], client_isn=h["client_isn"], server_id=server_id,
                         server_isn=self.rng.getrandbits(32), cookie_time=now % MOD32)
            reply["cookie"] = self._cookie(addr, reply)
            return [encode_packet(0, SYN_ACK, encode_synack(reply))]
        if ptype == HANDSHAKE_ACK:
            h = decode_hsack(payload)
            if h["cookie"] != self._cookie(addr, h) \
                    or (now - h["cookie_time"]) % MOD32 >= self.COOKIE_LIFETIME:
                self.stats["bad_cookies"] += 1
                return []
            conn = Connection(h["client_id"] ^ h["server_id"], bool(h["flags"] & SYNACK_CRC_CHOSEN),
                              h["server_isn"], h["client_isn"], h["max_payload"], h["window"],
                              h["heartbeat_ms"], self.stream)
            conn.client_ext = h["ext"]
            self.conns[addr] = (conn, h["cookie"])
            conn._send_ack(now)  # the first bound packet confirms the connection
            return conn.poll(now)
        return []
