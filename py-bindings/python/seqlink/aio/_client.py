"""The asyncio client: ``await connect(...)``."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Optional

from .. import _seqlink
from .._common import Address, check_port, check_timeout, check_transport
from .._seqlink import ConnectionConfig, StreamDecoder
from ..errors import ConnectionFailedError, Error
from ..types import EventKind, now_ms
from ._connection import Connection, _Timer
from ._opening import Opening

__all__ = ["connect"]


class _ClientProtocol(asyncio.Protocol, asyncio.DatagramProtocol):
    """Feeds what a transport receives to a client connection."""

    def __init__(self, client: "_Client") -> None:
        self.client = client

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.client._input(data)

    def data_received(self, data: bytes) -> None:
        self.client._input_stream(data)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors: lost datagrams, the protocol retransmits

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.client._transport_lost()


class _Client(Connection):
    """The client side: one sans-IO connection over one transport."""

    def __init__(self, address: Address, config: ConnectionConfig, stream: bool) -> None:
        super().__init__(address)
        self.connection = _seqlink.Connection(now_ms(), config)
        """The sans-IO connection underneath."""
        self._transport: Optional[asyncio.BaseTransport] = None
        self._decoder = StreamDecoder() if stream else None
        self._timer = _Timer(self._on_timer)
        self._lost = False

    def _attach(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._service()

    def _input(self, data: bytes) -> None:
        self.connection.handle_datagram(now_ms(), data)
        self._service()

    def _input_stream(self, data: bytes) -> None:
        assert self._decoder is not None
        now = now_ms()
        try:
            for frame in self._decoder.feed_frames(data):
                self.connection.handle_datagram(now, frame)
        except Error:
            self.connection.transport_closed()
        self._service()

    def _transport_lost(self) -> None:
        if not self._lost:
            self._lost = True
            self.connection.transport_closed()
            self._service()

    def _on_timer(self) -> None:
        now = now_ms()
        due = self.connection.poll_timeout()
        if due is not None and due <= now:
            self.connection.handle_timeout(now)
        self._service()

    def _service(self) -> None:
        """Sends what is ready, hands out events and messages, rearms the timer."""
        now = now_ms()
        transport = self._transport
        if transport is not None and not transport.is_closing():
            for datagram in self.connection.transmit(now):
                if self._decoder is None:
                    transport.sendto(datagram)  # type: ignore[attr-defined]
                else:
                    transport.write(datagram)  # type: ignore[attr-defined]
        while (event := self.connection.poll_event()) is not None:
            if event.kind == EventKind.FAILED:
                self._failure = event.error
            elif event.kind == EventKind.CLOSED:
                self._closed = True
        while (message := self.connection.recv()) is not None:
            self._inbox.append(message)
        self._timer.arm(None if self.connection.is_closed else self.connection.poll_timeout())
        self._wake()

    @property
    def state(self) -> str:
        return self.connection.state

    def _finished(self) -> bool:
        return self.connection.is_closed or self._lost or self.connection.peer_finished

    def _close_done(self) -> bool:
        return self.connection.is_closed or self._lost

    def _try_send(self, ptype: int, payload: bytes, delivery: int) -> None:
        if self._failure is not None:
            raise self._failure
        self.connection.send(ptype, payload, delivery)
        self._service()

    def _start_close(self) -> None:
        self.connection.close(now_ms())
        self._service()

    def _start_abort(self, code: int) -> None:
        self.connection.abort(now_ms(), code)
        self._service()

    def _release(self) -> None:
        self._timer.cancel()
        if self._transport is not None:
            self._transport.close()

    @property
    def stats(self):  # type: ignore[no-untyped-def]
        """The connection's counters (:class:`seqlink.Stats`)."""
        return self.connection.stats


def connect(
    host: str,
    port: int,
    *,
    transport: str = "udp",
    config: Optional[ConnectionConfig] = None,
    timeout: Optional[float] = 10.0,
) -> Opening[Connection]:
    """Connects to a seqlink server over ``"udp"`` or ``"tcp"`` and completes
    the handshake (at most ``timeout`` seconds); raises the failure or
    ``asyncio.TimeoutError``. ``await`` it for the :class:`Connection`, or
    use it directly in ``async with`` (closed when the block ends)."""
    port, timeout = check_port(port), check_timeout(timeout)
    config = check_transport(transport, config)
    return Opening(_connect(host, port, transport, config, timeout))


async def _connect(
    host: str, port: int, transport: str, config: ConnectionConfig, timeout: Optional[float]
) -> Connection:
    loop = asyncio.get_running_loop()
    client = _Client((host, port), config, stream=transport == "tcp")
    made: asyncio.BaseTransport
    if transport == "tcp":
        made, _ = await asyncio.wait_for(
            loop.create_connection(lambda: _ClientProtocol(client), host, port), timeout
        )
        made.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        made, _ = await loop.create_datagram_endpoint(lambda: _ClientProtocol(client), remote_addr=(host, port))
    client._attach(made)
    until = None if timeout is None else loop.time() + timeout
    try:
        while not (client.connection.is_established or client.connection.is_closed):
            left = None if until is None else until - loop.time()
            if left is not None and left <= 0:
                raise asyncio.TimeoutError(f"no handshake with {host}:{port} within {timeout} s")
            await client._wait_change(left)
        if not client.connection.is_established:
            raise client._failure or client.connection.failure or ConnectionFailedError("closed during the handshake")
    except BaseException:
        client._release()
        raise
    return client
