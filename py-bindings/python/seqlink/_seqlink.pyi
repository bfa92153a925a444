"""Typed stubs of the compiled module (seqlink._seqlink)."""

from typing import ClassVar, Optional, Tuple, Union

from .errors import Error
from .stats import BasicStats, EndpointStats, Stats

_Bytes = Union[bytes, bytearray]

class Packet:
    """A packet: sequence number, type and payload (immutable, compared by value)."""

    __match_args__: ClassVar[Tuple[str, str, str]]
    seq: int
    ptype: int
    payload: bytes
    def __init__(self, seq: int, ptype: int, payload: Optional[_Bytes] = None) -> None: ...
    def encode(self) -> bytes:
        """The packet's bytes on the wire."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

def internet_checksum(data: _Bytes) -> int:
    """The RFC 1071 Internet checksum of ``data``."""

def encode_packet(seq: int, ptype: int, payload: Optional[_Bytes] = None, *, crc32c: bool = False) -> bytes:
    """One packet as bytes: the 9-byte header, then the payload."""

def decode_packet(data: _Bytes, *, max_payload: Optional[int] = None, crc32c: bool = False) -> Packet:
    """Parses exactly one packet; raises a ``DecodeError`` (``ChecksumError``, ...)."""

def encode_serial(seq: int, ptype: int, payload: Optional[_Bytes] = None) -> bytes:
    """One packet as a serial frame: COBS, then the ``0x00`` delimiter."""

def encode_length_prefixed(payload: _Bytes) -> bytes:
    """One message of seed 004's framing: a 4-byte big-endian length, then the payload."""

def describe(code: int) -> str:
    """The core's short description of a stable code."""

class StreamDecoder:
    """Whole packets from a byte stream (TCP) fed in chunks of any size."""

    def __init__(self, *, max_payload: Optional[int] = None, crc32c: bool = False) -> None: ...
    def feed(self, data: _Bytes) -> list[Packet]:
        """Takes a chunk; returns the packets it completed (corrupt ones are skipped and counted)."""
    def feed_frames(self, data: _Bytes) -> list[bytes]:
        """Takes a chunk; returns each completed packet's raw bytes, unchecked."""
    @property
    def corrupt(self) -> int:
        """Packets skipped because their check failed."""
    @property
    def last_error(self) -> Optional[Error]:
        """The last skipped packet's error."""
    @property
    def buffered(self) -> int:
        """Bytes held of a packet not yet complete."""
    def reset(self) -> None:
        """Forgets the partial packet and a fatal error."""

class SerialDecoder:
    """Packets from a serial line: COBS frames ended by ``0x00``; nothing is fatal."""

    def __init__(self, *, max_payload: Optional[int] = None, crc32c: bool = False) -> None: ...
    def feed(self, data: _Bytes) -> list[Packet]:
        """Takes a chunk; returns the packets it completed (broken frames are skipped and counted)."""
    @property
    def corrupt(self) -> int:
        """Frames skipped."""
    @property
    def last_error(self) -> Optional[Error]:
        """The last skipped frame's error."""
    @property
    def buffered(self) -> int:
        """Bytes held of a frame not yet complete."""
    def reset(self) -> None:
        """Forgets the partial frame."""

class LengthPrefixedDecoder:
    """Seed 004's ``[u32 length][payload]`` messages from a byte stream."""

    def __init__(self, *, max_len: Optional[int] = None) -> None: ...
    def feed(self, data: _Bytes) -> list[bytes]:
        """Takes a chunk; returns the messages it completed."""
    @property
    def max_len(self) -> int:
        """The longest message accepted."""
    @property
    def buffered(self) -> int:
        """Bytes held of a message not yet complete."""
    def reset(self) -> None:
        """Forgets the partial message and a fatal error."""

_Peer = Union[int, Tuple[str, int], Tuple[str, int, int, int]]

class ConnectionConfig:
    """Settings of a connection; every argument is a keyword, the defaults are the core's."""

    max_payload: int
    window: int
    heartbeat_ms: int
    idle_timeout_ms: int
    connect_timeout_ms: int
    close_timeout_ms: int
    linger_ms: int
    prefer_crc: bool
    stream: bool
    unreliable_slots: int
    timing: str
    congestion: str
    extension: bytes
    coalesce_wait_ms: int
    redundancy: int
    def __init__(
        self,
        *,
        max_payload: int = 1200,
        window: int = 256,
        heartbeat_ms: int = 1000,
        idle_timeout_ms: int = 10000,
        connect_timeout_ms: int = 10000,
        close_timeout_ms: int = 30000,
        linger_ms: int = 2000,
        prefer_crc: bool = False,
        stream: bool = False,
        unreliable_slots: int = 8,
        timing: str = "low_latency",
        congestion: str = "loss_tolerant",
        extension: bytes = b"",
        coalesce_wait_ms: int = 0,
        redundancy: int = 1,
    ) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    @property
    def storage_len(self) -> int:
        """Bytes of link storage a connection with these settings holds."""
    @property
    def max_datagram_len(self) -> int:
        """The largest datagram a connection with these settings emits."""

class EndpointConfig:
    """Settings of a server endpoint."""

    connection: ConnectionConfig
    max_connections: int
    cookie_lifetime_ms: int
    resets_per_second: int
    auto_accept: bool
    def __init__(
        self,
        *,
        connection: Optional[ConnectionConfig] = None,
        max_connections: int = 16,
        cookie_lifetime_ms: int = 10000,
        resets_per_second: int = 50,
        auto_accept: bool = True,
    ) -> None: ...

class Handle:
    """Names a connection of an endpoint; stale once its slot is reused."""

    @property
    def index(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class Event:
    """Something that happened to a connection, or a peer an endpoint refused."""

    @property
    def kind(self) -> int:
        """The stable code (``EventKind``)."""
    @property
    def name(self) -> str: ...
    @property
    def reason(self) -> Optional[int]: ...
    @property
    def peer_code(self) -> Optional[int]: ...
    @property
    def fragments(self) -> Optional[int]: ...
    @property
    def seq(self) -> Optional[int]: ...
    @property
    def error(self) -> Optional[Error]:
        """A failure as its exception."""
    @property
    def handle(self) -> Optional[Handle]: ...
    @property
    def peer(self) -> Optional[_Peer]: ...

class Message:
    """A received message."""

    __match_args__: ClassVar[Tuple[str, str, str]]
    ptype: int
    payload: bytes
    delivery: int
    def __init__(self, ptype: int, payload: _Bytes, delivery: int = 0) -> None: ...
    def __eq__(self, other: object) -> bool: ...

class Connection:
    """A client connection, sans-IO (time in integer milliseconds)."""

    def __init__(self, now: int, config: Optional[ConnectionConfig] = None, *, entropy: Optional[int] = None) -> None: ...
    def handle_datagram(self, now: int, data: _Bytes) -> None: ...
    def poll_transmit(self, now: int) -> Optional[bytes]: ...
    def transmit(self, now: int) -> list[bytes]: ...
    def poll_timeout(self) -> Optional[int]: ...
    def handle_timeout(self, now: int) -> None: ...
    def send(self, ptype: int, message: _Bytes, delivery: Optional[int] = None) -> None: ...
    def recv(self) -> Optional[Message]: ...
    def poll_event(self) -> Optional[Event]: ...
    def close(self, now: int) -> None: ...
    def abort(self, now: int, code: int = 7) -> None: ...
    def transport_closed(self) -> None: ...
    @property
    def state(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def is_established(self) -> bool: ...
    @property
    def is_closed(self) -> bool: ...
    @property
    def peer_finished(self) -> bool:
        """Whether the peer's FIN arrived: no message follows the ones ``recv`` still has."""
    @property
    def failure(self) -> Optional[Error]: ...
    @property
    def connection_id(self) -> int: ...
    @property
    def peer_extension(self) -> bytes: ...
    @property
    def stats(self) -> Stats: ...

class Incoming:
    """A proven handshake waiting for the application's decision."""

    peer: _Peer
    max_payload: int
    window: int
    heartbeat_ms: int
    idle_timeout_ms: int
    extension: bytes

class Endpoint:
    """A server endpoint over one socket, sans-IO."""

    def __init__(
        self, config: Optional[EndpointConfig] = None, *, secret: Optional[bytes] = None, entropy: Optional[int] = None
    ) -> None: ...
    def handle_datagram(self, now: int, peer: _Peer, data: _Bytes) -> None: ...
    def poll_transmit(self, now: int) -> Optional[Tuple[_Peer, bytes]]: ...
    def transmit(self, now: int) -> list[Tuple[_Peer, bytes]]: ...
    def poll_timeout(self) -> Optional[int]: ...
    def handle_timeout(self, now: int) -> None: ...
    def poll_event(self) -> Optional[Event]: ...
    def poll_incoming(self) -> Optional[Incoming]: ...
    def accept_incoming(self, incoming: Incoming, now: int) -> Handle: ...
    def refuse(self, incoming: Incoming, code: int = 4) -> None: ...
    def accept(self) -> Optional[Handle]: ...
    def send(self, handle: Handle, ptype: int, message: _Bytes, delivery: Optional[int] = None) -> None: ...
    def recv(self, handle: Handle) -> Optional[Message]: ...
    def close(self, handle: Handle, now: int) -> None: ...
    def abort(self, handle: Handle, now: int, code: int = 7) -> None: ...
    def transport_closed(self, handle: Handle) -> None: ...
    def release(self, handle: Handle) -> None: ...
    def peer(self, handle: Handle) -> Optional[_Peer]: ...
    def state(self, handle: Handle) -> Optional[str]: ...
    def is_open(self, handle: Handle) -> bool: ...
    def peer_finished(self, handle: Handle) -> bool: ...
    def connection_stats(self, handle: Handle) -> Optional[Stats]: ...
    @property
    def connection_count(self) -> int: ...
    @property
    def incoming_count(self) -> int: ...
    @property
    def stats(self) -> EndpointStats: ...

class Outcome:
    """What the basic profile made of one received packet."""

    kind: str
    packet: Optional[Packet]
    ptype: Optional[int]
    seq: Optional[int]
    error: Optional[Error]
    expected: Optional[int]
    got: Optional[int]

class BasicSession:
    """One side of a seed 000 conversation (the basic profile)."""

    def __init__(self, *, out_of_order: str = "discard", acks: bool = False, max_payload: Optional[int] = None) -> None: ...
    def encode(self, ptype: int, payload: Optional[_Bytes] = None) -> bytes: ...
    def receive(self, datagram: _Bytes) -> Outcome: ...
    def feed(self, chunk: _Bytes) -> list[Outcome]: ...
    def poll_control(self) -> Optional[bytes]: ...
    @property
    def expected(self) -> int: ...
    @property
    def stats(self) -> BasicStats: ...
