"""Packet types: seed 000's numbers, and the control types seqlink adds."""

from __future__ import annotations

import enum
import time

__all__ = ["PacketType", "Delivery", "State", "EventKind", "PeerCode", "now_ms"]


class PacketType(enum.IntEnum):
    """One byte on the wire. 0-5 and 10-17 are seed 000's Battleship types,
    20-23 its control types, 24-29 seqlink's, 30-47 reserved; every other
    value belongs to applications (``encode_packet`` takes any int 0-255)."""

    CMD_PLACE = 0
    """Client -> server: placement choice, ``M`` (manual) or ``R`` (random)."""
    CMD_COORD = 1
    """Client -> server: placement coordinate, e.g. ``A1``."""
    CMD_ORIENT = 2
    """Client -> server: placement orientation, ``H`` or ``V``."""
    CMD_FIRE = 3
    """Client -> server: fire at a coordinate, e.g. ``B5``."""
    CMD_QUIT = 4
    """Client -> server: the player quits."""
    CMD_PLAY_AGAIN = 5
    """Client -> server: answer to "play again?", ``Y`` or ``N``."""
    MSG_WELCOME = 10
    """Server -> client: welcome message."""
    MSG_INFO = 11
    """Server -> client: information or prompt."""
    MSG_BOARD_OWN = 12
    """Server -> client: the player's own board."""
    MSG_BOARD_OPP = 13
    """Server -> client: the opponent's public board."""
    MSG_RESULT = 14
    """Server -> client: result of a shot (``HIT``, ``MISS``, ...)."""
    MSG_GAME_OVER = 15
    """Server -> client: game over."""
    MSG_WAITING = 16
    """Server -> client: waiting for a player."""
    MSG_SPECTATOR = 17
    """Server -> client: spectator messages."""
    ACK = 20
    """Acknowledgement."""
    NACK = 21
    """Negative acknowledgement."""
    HEARTBEAT = 22
    """Keep-alive."""
    ERR_MSG = 23
    """Error message."""
    DATA = 24
    """seqlink's extended data packet (fragments, unreliable messages)."""
    SYN = 25
    """Handshake, client -> server: open a connection."""
    SYN_ACK = 26
    """Handshake, server -> client: parameters and a stateless cookie."""
    HANDSHAKE_ACK = 27
    """Handshake, client -> server: the cookie echoed."""
    FIN = 28
    """Graceful close."""
    RESET = 29
    """Abort, or the answer to a packet of an unknown connection."""

    @staticmethod
    def is_protocol(value: int) -> bool:
        """Whether ``value`` belongs to the protocol (20-47): applications cannot send it."""
        return 20 <= value <= 47

    @staticmethod
    def is_application(value: int) -> bool:
        """Whether ``value`` belongs to applications (0-255 but 20-47)."""
        return 0 <= value <= 255 and not PacketType.is_protocol(value)


class Delivery(enum.IntEnum):
    """How a message is sent (the core's ``Delivery``)."""

    RELIABLE = 0
    """Delivered exactly once, in order; retransmitted until acknowledged."""
    UNRELIABLE = 1
    """Sent once; delivered only if newer than every unreliable message delivered before it."""


class State(str, enum.Enum):
    """Where a connection is in its life (``Connection.state`` compares equal to these)."""

    SYN_SENT = "syn_sent"
    """Client: SYN sent, waiting for the SYN_ACK."""
    CONFIRMING = "confirming"
    """Client: HANDSHAKE_ACK sent, waiting for the server's first packet."""
    ESTABLISHED = "established"
    """Messages flow both ways."""
    CLOSING = "closing"
    """A FIN is queued or received: finishing delivery both ways."""
    LINGER = "linger"
    """Closed for the application; still acknowledging late duplicates."""
    CLOSED = "closed"
    """Closed gracefully."""
    FAILED = "failed"
    """Failed; ``Connection.failure`` says why."""


class EventKind(enum.IntEnum):
    """The stable codes of event kinds (``Event.kind``)."""

    CONNECTED = 80
    CLOSED = 81
    WRITABLE = 82
    MESSAGE_DROPPED = 83
    FAILED = 84
    PEER_REFUSED = 85


class PeerCode(enum.IntEnum):
    """The code byte of ERR_MSG and RESET packets (docs/PROTOCOL.md 9.3)."""

    OTHER = 0
    VERSION_MISMATCH = 1
    BAD_PARAMETERS = 2
    SERVER_FULL = 3
    REFUSED = 4
    PROTOCOL_VIOLATION = 5
    IDLE_TIMEOUT = 6
    ABORTED = 7
    UNKNOWN_CONNECTION = 8


def now_ms() -> int:
    """Milliseconds on the monotonic clock: the ``now`` the sans-IO objects take."""
    return time.monotonic_ns() // 1_000_000
