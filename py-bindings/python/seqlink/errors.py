"""Every exception seqlink raises: one class per stable code of the core.

All of them derive from :class:`Error`, itself a :class:`ValueError`. Each
class carries the stable code of its kind (``docs/PROTOCOL.md`` section 9) as
the class attribute ``code``; :func:`error_for_code` maps a code back to its
class, and :func:`seqlink.describe` gives the core's short description of any
code.

======  =============================  ==========================================
codes   base class                     raised when
======  =============================  ==========================================
1-19    :class:`DecodeError`           bytes could not be parsed, framed or emitted
20-39   :class:`SendError`             a message was refused by ``send``
40-59   :class:`ConfigError`           a configuration or its storage was refused
60-79   :class:`ConnectionFailedError` a connection failed (blocking drivers raise it)
100-119 :class:`AdmissionError`        a server's admission decision did nothing
======  =============================  ==========================================
"""

from __future__ import annotations

from typing import ClassVar, Dict, Optional, Type

__all__ = [
    "Error",
    "DecodeError",
    "TruncatedError",
    "LengthMismatchError",
    "ChecksumError",
    "PayloadTooLargeError",
    "BufferTooSmallError",
    "BadFrameError",
    "MalformedError",
    "FrameTooLongError",
    "SendError",
    "WouldBlockError",
    "MessageTooLargeError",
    "ReservedTypeError",
    "UnreliableDisabledError",
    "FailedError",
    "NotConnectedError",
    "ClosingError",
    "UnknownHandleError",
    "ConfigError",
    "WindowError",
    "PayloadLimitError",
    "ExtensionError",
    "StorageError",
    "ConnectionFailedError",
    "DeadPeerError",
    "IdleTimeoutError",
    "ConnectTimeoutError",
    "CloseTimeoutError",
    "RefusedError",
    "ResetError",
    "ProtocolViolationError",
    "AdmissionError",
    "StaleTicketError",
    "TableFullError",
    "error_for_code",
]


class Error(ValueError):
    """Base of every seqlink exception.

    ``code`` is the stable code of the kind (0 for an invalid argument, which
    has no code in the core). Failures of a connection also carry
    ``peer_code`` (the code byte the peer sent, for refusals and resets) and
    ``seq`` (the oldest unacknowledged packet of a dead peer), else ``None``.
    """

    code: ClassVar[int] = 0

    def __init__(self, message: str, *, peer_code: Optional[int] = None, seq: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.peer_code = peer_code
        self.seq = seq


# ---- 1..=19: wire and framing -------------------------------------------------


class DecodeError(Error):
    """Bytes could not be parsed or framed (codes 1-19; encoders raise 4 and 5 too)."""


class TruncatedError(DecodeError):
    """Fewer bytes than the 9-byte header."""

    code = 1


class LengthMismatchError(DecodeError):
    """The payload bytes present differ from the header's length field."""

    code = 2


class ChecksumError(DecodeError):
    """The integrity check failed: the packet was corrupted (or is another connection's)."""

    code = 3


class PayloadTooLargeError(DecodeError):
    """A payload is longer than the configured maximum (fatal for a byte stream)."""

    code = 4


class BufferTooSmallError(DecodeError):
    """The result does not fit the buffer it must be written into."""

    code = 5


class BadFrameError(DecodeError):
    """A serial frame is not valid COBS."""

    code = 6


class MalformedError(DecodeError):
    """A control or data payload does not follow its format."""

    code = 7


class FrameTooLongError(DecodeError):
    """A serial frame outgrew the decoder's buffer; it was skipped."""

    code = 8


# ---- 20..=39: send refused ------------------------------------------------------


class SendError(Error):
    """A message was refused by ``send`` (codes 20-39)."""


class WouldBlockError(SendError):
    """The send window is full: retry after the ``Writable`` event."""

    code = 20


class MessageTooLargeError(SendError):
    """The message is longer than this link can ever send."""

    code = 21


class ReservedTypeError(SendError):
    """Packet types 20-47 belong to the protocol."""

    code = 22


class UnreliableDisabledError(SendError):
    """Unreliable delivery is off (no unreliable slots)."""

    code = 23


class FailedError(SendError):
    """The link or connection failed (its failure says why)."""

    code = 24


class NotConnectedError(SendError):
    """The handshake has not completed: retry after the ``Connected`` event."""

    code = 25


class ClosingError(SendError):
    """This side closed or aborted, or the peer closed: nothing more is sent."""

    code = 26


class UnknownHandleError(SendError):
    """A server has no connection with this handle."""

    code = 27


# ---- 40..=59: configuration ------------------------------------------------------


class ConfigError(Error):
    """A configuration or its storage was refused (codes 40-59)."""


class WindowError(ConfigError):
    """A window is 0 or above the maximum (256)."""

    code = 40


class PayloadLimitError(ConfigError):
    """The maximum payload is below the minimum of 64 bytes."""

    code = 41


class ExtensionError(ConfigError):
    """A handshake extension is longer than 32 bytes."""

    code = 42


class StorageError(ConfigError):
    """The storage is smaller than the configuration needs."""

    code = 43


# ---- 60..=79: connection failures -------------------------------------------------


class ConnectionFailedError(Error):
    """A link or connection failed (codes 60-79): the drivers raise it."""


class DeadPeerError(ConnectionFailedError):
    """The peer stopped answering (retransmissions or pings exhausted); ``seq`` says which packet."""

    code = 60


class IdleTimeoutError(ConnectionFailedError):
    """Nothing arrived from the peer for the idle timeout."""

    code = 61


class ConnectTimeoutError(ConnectionFailedError):
    """The handshake did not complete in time."""

    code = 62


class CloseTimeoutError(ConnectionFailedError):
    """The close did not complete in time."""

    code = 63


class RefusedError(ConnectionFailedError):
    """The peer refused the connection; ``peer_code`` is the code it sent."""

    code = 64


class ResetError(ConnectionFailedError):
    """The peer ended the connection with a RESET; ``peer_code`` is the code it sent."""

    code = 65


class ProtocolViolationError(ConnectionFailedError):
    """The peer broke the protocol."""

    code = 66


# ---- 100..=119: admission -------------------------------------------------------


class AdmissionError(Error):
    """A server's admission decision did nothing (codes 100-119)."""


class StaleTicketError(AdmissionError):
    """The ticket names no waiting handshake: already decided, expired or replaced."""

    code = 100


class TableFullError(AdmissionError):
    """The connection table is full: the handshake keeps waiting."""

    code = 101


def _leaves(cls: Type[Error]) -> Dict[int, Type[Error]]:
    found: Dict[int, Type[Error]] = {}
    for sub in cls.__subclasses__():
        if "code" in sub.__dict__:
            found[sub.code] = sub
        found.update(_leaves(sub))
    return found


_BY_CODE: Dict[int, Type[Error]] = _leaves(Error)

_BASE_BY_RANGE = (
    (range(1, 20), DecodeError),
    (range(20, 40), SendError),
    (range(40, 60), ConfigError),
    (range(60, 80), ConnectionFailedError),
    (range(100, 120), AdmissionError),
)


def error_for_code(code: int) -> Type[Error]:
    """The exception class of a stable code (the range's base class for a code no kind has yet)."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    for codes, base in _BASE_BY_RANGE:
        if code in codes:
            return base
    return Error


def _raise_code(code: int, message: str, peer_code: Optional[int], seq: Optional[int]) -> Error:
    """Builds the exception the compiled module raises (called from Rust)."""
    return error_for_code(code)(message, peer_code=peer_code, seq=seq)
