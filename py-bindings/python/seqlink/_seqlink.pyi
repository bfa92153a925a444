"""Typed stubs of the compiled module (seqlink._seqlink)."""

from typing import ClassVar, Optional, Tuple, Union

from .errors import Error

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
