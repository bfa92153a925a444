"""seqlink: typed, checksummed, sequenced packets with reliable delivery.

Python bindings of the seqlink Rust core (``seqlink._seqlink``), with the
enums, exceptions and socket drivers in pure Python.

>>> import seqlink
>>> wire = seqlink.encode_packet(1, seqlink.PacketType.CMD_FIRE, b"B5")
>>> wire.hex()
'00000001030002c5bc4235'
>>> seqlink.decode_packet(wire)
Packet(seq=1, ptype=PacketType.CMD_FIRE, payload=b'B5')
"""

from __future__ import annotations

from importlib import metadata as _metadata

from . import errors
from ._seqlink import (
    BasicSession,
    Connection,
    ConnectionConfig,
    Endpoint,
    EndpointConfig,
    Event,
    Handle,
    Incoming,
    LengthPrefixedDecoder,
    Message,
    Outcome,
    Packet,
    SerialDecoder,
    StreamDecoder,
    decode_packet,
    describe,
    encode_length_prefixed,
    encode_packet,
    encode_serial,
    internet_checksum,
)
from .errors import *  # noqa: F401,F403  (one class per stable code)
from .errors import ChecksumError, DecodeError, Error, error_for_code
from . import aio, sync
from .stats import BasicStats, EndpointStats, Stats
from .sync import Client, Peer, Server, ServerEvent, connect, serve
from .types import Delivery, EventKind, PacketType, PeerCode, State, now_ms

try:
    __version__ = _metadata.version("seqlink")
    """The installed package's version (the Rust crate's)."""
except _metadata.PackageNotFoundError:  # imported from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Packet",
    "PacketType",
    "Delivery",
    "internet_checksum",
    "encode_packet",
    "decode_packet",
    "encode_serial",
    "encode_length_prefixed",
    "StreamDecoder",
    "SerialDecoder",
    "LengthPrefixedDecoder",
    "describe",
    "Connection",
    "ConnectionConfig",
    "Endpoint",
    "EndpointConfig",
    "Handle",
    "Incoming",
    "Event",
    "EventKind",
    "Message",
    "State",
    "PeerCode",
    "Stats",
    "EndpointStats",
    "BasicSession",
    "BasicStats",
    "Outcome",
    "now_ms",
    "connect",
    "serve",
    "Client",
    "Server",
    "Peer",
    "ServerEvent",
    "sync",
    "aio",
    "errors",
    "stats",
    "types",
    "error_for_code",
    "Error",
    "DecodeError",
    "ChecksumError",
] + [name for name in errors.__all__ if name not in ("Error", "DecodeError", "ChecksumError", "error_for_code")]
