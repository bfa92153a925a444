"""What the blocking and asyncio drivers share: socket addresses, the
kind of a TCP stream's first packet, transports, admission."""

from __future__ import annotations

from typing import Callable, Optional, Tuple, Union

from ._seqlink import ConnectionConfig, Endpoint, Incoming
from .errors import Error, TableFullError
from .types import PacketType, PeerCode, now_ms

Address = Tuple[str, int]

READ_SIZE = 65536
DRAIN_BURST = 256


def wait_ms(now: int, *deadlines: Optional[int]) -> Optional[float]:
    """Seconds until the earliest deadline (None: none), never negative."""
    due = [d for d in deadlines if d is not None]
    return max(0, min(due) - now) / 1000 if due else None


Admit = Callable[[Incoming], Union[bool, int]]
"""An admission decision: True accepts, False or a ``PeerCode`` refuses."""


def decide(endpoint: Endpoint, admit: Admit) -> None:
    """Puts every waiting handshake of `endpoint` to `admit` (a server's admission)."""
    while (incoming := endpoint.poll_incoming()) is not None:
        verdict = admit(incoming)
        if verdict is True:
            try:
                endpoint.accept_incoming(incoming, now_ms())
            except TableFullError:
                endpoint.refuse(incoming, PeerCode.SERVER_FULL)
        else:
            endpoint.refuse(incoming, PeerCode.REFUSED if verdict is False else int(verdict))


def address_of(peer: object) -> Address:
    """The ``(host, port)`` of a socket address (IPv6 addresses carry two more fields)."""
    assert isinstance(peer, tuple) and len(peer) >= 2, peer
    return (str(peer[0]), int(peer[1]))


def is_syn(frame: bytes) -> bool:
    return len(frame) > 4 and frame[4] == PacketType.SYN


def check_transport(transport: str, config: Optional[ConnectionConfig]) -> ConnectionConfig:
    if transport not in ("udp", "tcp"):
        raise Error(f'transport must be "udp" or "tcp", got {transport!r}')
    if config is None:
        return ConnectionConfig(stream=transport == "tcp")
    if config.stream != (transport == "tcp"):
        raise Error(f"a {transport.upper()} connection needs ConnectionConfig(stream={transport == 'tcp'})")
    return config




def check_port(port: object) -> int:
    """`port` as a port number: ``TypeError`` if not an int, ``seqlink.Error`` out of 0..=65535."""
    if not isinstance(port, int) or isinstance(port, bool):
        raise TypeError(f"port must be an int, got {type(port).__name__} {port!r}")
    if not 0 <= port <= 0xFFFF:
        raise Error(f"port must be an integer in 0..=65535, got {port}")
    return port


def check_timeout(timeout: object, name: str = "timeout") -> Optional[float]:
    """`timeout` in seconds (None: no limit): ``TypeError`` if not a number,
    ``seqlink.Error`` if negative or NaN."""
    if timeout is None:
        return None
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
        raise TypeError(f"{name} must be a number of seconds or None, got {type(timeout).__name__} {timeout!r}")
    if not timeout >= 0:  # also NaN
        raise Error(f"{name} must be a number of seconds >= 0, got {timeout}")
    return float(timeout)
