"""asyncio drivers on asyncio's own transports: ``await connect(...)`` gives
a :class:`Connection`, ``await serve(host, port, handler)`` runs
``handler(connection)`` as a task for every client, over UDP or TCP.

Over TCP the server also serves seed 000 clients on the same port (the
basic profile, ``docs/PROTOCOL.md`` 8.1), as the blocking one does.

The protocol runs in the event loop's callbacks: input is handled as it
arrives, and one timer per client or server (``call_later`` at the core's
``poll_timeout()``) drives retransmissions and heartbeats, so nothing
depends on the application awaiting.

>>> import asyncio, seqlink
>>> async def echo(conn):
...     async for message in conn:
...         await conn.send(message.ptype, message.payload)
>>> async def main():
...     server = await seqlink.aio.serve("127.0.0.1", 0, echo)
...     async with server:
...         conn = await seqlink.aio.connect(*server.address)
...         await conn.send(100, b"ping")
...         reply = await conn.recv(timeout=5)
...         await conn.close()
...         return reply.payload
>>> asyncio.run(main())
b'ping'
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from typing import Any, AsyncIterator, Awaitable, Callable, Deque, Dict, Optional, Set, Tuple, Union, cast

from . import _seqlink
from ._seqlink import ConnectionConfig, EndpointConfig, Handle, Message, StreamDecoder
from .errors import ConnectionFailedError, Error, WouldBlockError
from .sync import Admit, _check_transport, _is_syn, address_of, decide
from .types import Delivery, EventKind, PacketType, now_ms

__all__ = ["connect", "serve", "Connection", "Server"]

Address = Tuple[str, int]


class _Timer:
    """One rescheduled callback at the core's next deadline."""

    def __init__(self, fire: Callable[[], None]) -> None:
        self._fire = fire
        self._handle: Optional[asyncio.TimerHandle] = None
        self._at: Optional[int] = None

    def arm(self, due: Optional[int]) -> None:
        if due == self._at and self._handle is not None:
            return
        self.cancel()
        if due is not None:
            self._at = due
            self._handle = asyncio.get_running_loop().call_later(max(0, due - now_ms()) / 1000, self._run)

    def _run(self) -> None:
        self._handle, self._at = None, None
        self._fire()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle, self._at = None, None


class Connection:
    """One seqlink connection, either side: ``recv``, ``send``, ``close``.
    Iterate over it (``async for``) to read messages until the peer closes."""

    basic = False
    """True for a seed 000 client of a TCP server (the basic profile)."""

    def __init__(self, address: Address) -> None:
        self.address = address
        """The peer's address."""
        self._inbox: Deque[Message] = deque()
        self._failure: Optional[Error] = None
        self._closed = False
        self._changed = asyncio.Event()

    # what each side provides
    def _try_send(self, ptype: int, payload: bytes, delivery: int) -> None:
        raise NotImplementedError

    def _start_close(self) -> None:
        raise NotImplementedError

    def _start_abort(self, code: int) -> None:
        raise NotImplementedError

    def _finished(self) -> bool:
        """Whether nothing more will arrive."""
        raise NotImplementedError

    def _close_done(self) -> bool:
        """Whether the close completed (linger time included) or the connection is over."""
        raise NotImplementedError

    # shared by both sides
    def _wake(self) -> None:
        self._changed.set()

    async def _wait_change(self, timeout: Optional[float]) -> None:
        self._changed.clear()
        if timeout is None:
            await self._changed.wait()
        else:
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def send(
        self, ptype: int, payload: bytes = b"", delivery: int = Delivery.RELIABLE, timeout: Optional[float] = None
    ) -> None:
        """Queues a message (sent at once); waits while the send window is
        full. Raises the failure, a :class:`~seqlink.SendError`, or
        ``asyncio.TimeoutError``."""
        loop = asyncio.get_running_loop()
        until = None if timeout is None else loop.time() + timeout
        while True:
            try:
                self._try_send(ptype, payload, delivery)
                return
            except WouldBlockError:
                if self._failure is not None:
                    raise self._failure from None
                left = None if until is None else max(0.0, until - loop.time())
                await self._wait_change(left)

    async def recv(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next message, or None once the peer closed. Raises the failure
        (a :class:`~seqlink.ConnectionFailedError`) or ``asyncio.TimeoutError``."""
        loop = asyncio.get_running_loop()
        until = None if timeout is None else loop.time() + timeout
        while not self._inbox:
            if self._failure is not None:
                raise self._failure
            if self._closed or self._finished():
                return None
            left = None if until is None else max(0.0, until - loop.time())
            await self._wait_change(left)
        return self._inbox.popleft()

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Message]:
        while (message := await self.recv()) is not None:
            yield message

    async def close(self, timeout: float = 5.0) -> None:
        """Closes gracefully and waits (at most ``timeout`` seconds) until both
        sides are done and the linger time (``linger_ms``) passed."""
        self._start_close()
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while not (self._failure is not None or self._close_done()):
            left = until - loop.time()
            if left <= 0:
                break
            try:
                await self._wait_change(left)
            except asyncio.TimeoutError:
                break
        self._release()

    def abort(self, code: int = 7) -> None:
        """Aborts at once: a RESET goes to the peer."""
        self._start_abort(code)
        self._release()

    def _release(self) -> None:
        """Lets go of the transport once the connection is over."""

    async def __aenter__(self) -> "Connection":
        return self

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is None:
            await self.close()
        else:
            self.abort()


# ---- client ------------------------------------------------------------------


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


async def connect(
    host: str,
    port: int,
    *,
    transport: str = "udp",
    config: Optional[ConnectionConfig] = None,
    timeout: float = 10.0,
) -> Connection:
    """Connects to a seqlink server over ``"udp"`` or ``"tcp"`` and completes
    the handshake; raises the failure or ``asyncio.TimeoutError``."""
    config = _check_transport(transport, config)
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
    until = loop.time() + timeout
    try:
        while not (client.connection.is_established or client.connection.is_closed):
            left = until - loop.time()
            if left <= 0:
                raise asyncio.TimeoutError(f"no handshake with {host}:{port} within {timeout} s")
            await client._wait_change(left)
        if not client.connection.is_established:
            raise client._failure or client.connection.failure or ConnectionFailedError("closed during the handshake")
    except BaseException:
        client._release()
        raise
    return client


# ---- server ------------------------------------------------------------------


class _ServerConnection(Connection):
    """The server side of one connection: a handle of the server's endpoint."""

    def __init__(self, server: "Server", handle: Handle, address: Address) -> None:
        super().__init__(address)
        self._server = server
        self.handle = handle

    def _finished(self) -> bool:
        state = self._server.endpoint.state(self.handle)
        return state in (None, "closed", "failed") or self._server.endpoint.peer_finished(self.handle)

    def _close_done(self) -> bool:
        return self._server.endpoint.state(self.handle) in (None, "closed", "failed")

    def _try_send(self, ptype: int, payload: bytes, delivery: int) -> None:
        if self._failure is not None:
            raise self._failure
        self._server.endpoint.send(self.handle, ptype, payload, delivery)
        self._server._service()

    def _start_close(self) -> None:
        self._server.endpoint.close(self.handle, now_ms())
        self._server._service()

    def _start_abort(self, code: int) -> None:
        self._server.endpoint.abort(self.handle, now_ms(), code)
        self._server._service()


class _ServerDatagrams(asyncio.DatagramProtocol):
    def __init__(self, server: "Server") -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.server.endpoint.handle_datagram(now_ms(), addr, data)
        self.server._service()

    def error_received(self, exc: Exception) -> None:
        pass


class _BasicConnection(Connection):
    """A seed 000 client of a TCP server (the basic profile): its messages are
    its packets in order, sent as seed 000 packets; closing ends the stream."""

    basic = True

    def __init__(self, stream: "_ServerStream") -> None:
        super().__init__(stream.address)
        self._stream = stream
        self.session = _seqlink.BasicSession()
        """The seed 000 session (sequence numbers, statistics)."""

    def _judge(self, frame: bytes) -> None:
        outcome = self.session.receive(frame)
        packet = outcome.packet
        if packet is not None and packet.ptype != PacketType.HEARTBEAT:
            self._inbox.append(Message(packet.ptype, packet.payload))
        self._wake()

    def _try_send(self, ptype: int, payload: bytes, delivery: int) -> None:
        transport = self._stream.transport
        if self._closed or transport is None or transport.is_closing():
            raise ConnectionFailedError("the seed 000 client is gone")
        transport.write(self.session.encode(ptype, payload))  # type: ignore[attr-defined]

    def _finished(self) -> bool:
        return self._closed

    def _close_done(self) -> bool:
        return True

    def _start_close(self) -> None:
        self._release()

    def _start_abort(self, code: int) -> None:
        self._release()

    def _release(self) -> None:
        if self._stream.transport is not None:
            self._stream.transport.close()


class _ServerStream(asyncio.Protocol):
    """One accepted TCP stream of a server: a seqlink client (its first
    packet is a SYN) or a seed 000 client (any other first packet, or
    silence for ``basic_after_ms``; docs/PROTOCOL.md 8.1)."""

    def __init__(self, server: "Server") -> None:
        self.server = server
        self.decoder = StreamDecoder()
        self.address: Address = ("", 0)
        self.transport: Optional[asyncio.BaseTransport] = None
        self.kind: Optional[str] = None
        self.basic: Optional[_BasicConnection] = None
        self._silence: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.address = address_of(transport.get_extra_info("peername"))
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server._streams[self.address] = transport
        if self.server._basic_after_ms is not None:
            delay = self.server._basic_after_ms / 1000
            self._silence = asyncio.get_running_loop().call_later(delay, self._silent)

    def _silent(self) -> None:
        if self.kind is None:
            self._become_basic()

    def _become_basic(self) -> None:
        self.kind = "basic"
        self.basic = _BasicConnection(self)
        self.server._spawn(self.basic)

    def data_received(self, data: bytes) -> None:
        now = now_ms()
        try:
            frames = self.decoder.feed_frames(data)
        except Error:
            frames = []
            if self.transport is not None:
                self.transport.close()
        for frame in frames:
            if self.kind is None:
                if self._silence is not None:
                    self._silence.cancel()
                if _is_syn(frame):
                    self.kind = "seqlink"
                else:
                    self._become_basic()
            elif self.basic is not None and _is_syn(frame) and self.basic.session.stats.packets_received_raw == 0:
                # a slow seqlink client taken for a silent seed 000 one: forget the basic state
                self.basic._closed = True
                self.basic._wake()
                self.basic, self.kind = None, "seqlink"
            if self.kind == "seqlink":
                self.server.endpoint.handle_datagram(now, self.address, frame)
            elif self.basic is not None:
                self.basic._judge(frame)
        self.server._service()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self._silence is not None:
            self._silence.cancel()
        self.server._streams.pop(self.address, None)
        if self.basic is not None:
            self.basic._closed = True
            self.basic._wake()
        for conn in self.server._connections.values():
            if conn.address == self.address:
                self.server.endpoint.transport_closed(conn.handle)
        self.server._service()


Handler = Callable[[Connection], Awaitable[Any]]


class Server:
    """A seqlink server on the event loop: every connection is handed to the
    handler as a :class:`Connection`, in a task of its own. Made by :func:`serve`."""

    def __init__(
        self,
        config: EndpointConfig,
        handler: Handler,
        stream: bool,
        admit: Optional[Admit] = None,
        basic_after_ms: Optional[int] = None,
    ) -> None:
        self._admit = admit
        self._basic_after_ms = basic_after_ms
        automatic = config.auto_accept
        config.auto_accept = admit is None  # with `admit`, handshakes wait for its decision
        try:
            self.endpoint = _seqlink.Endpoint(config)
            """The sans-IO endpoint underneath."""
        finally:
            config.auto_accept = automatic
        self._handler = handler
        self._stream = stream
        self._timer = _Timer(self._on_timer)
        self._connections: Dict[Handle, _ServerConnection] = {}
        self._streams: Dict[Address, asyncio.BaseTransport] = {}
        self._tasks: Set["asyncio.Task[Any]"] = set()
        self._datagrams: Optional[asyncio.DatagramTransport] = None
        self._listener: Optional[asyncio.AbstractServer] = None
        self.address: Address = ("", 0)
        """The bound address."""

    def _on_timer(self) -> None:
        now = now_ms()
        due = self.endpoint.poll_timeout()
        if due is not None and due <= now:
            self.endpoint.handle_timeout(now)
        self._service()

    def _service(self) -> None:
        if self._admit is not None:
            decide(self.endpoint, self._admit)
        now = now_ms()
        for peer, datagram in self.endpoint.transmit(now):
            if self._datagrams is not None:
                self._datagrams.sendto(datagram, cast(Tuple[Any, ...], peer))
            else:
                stream = self._streams.get(address_of(peer))
                if stream is not None and not stream.is_closing():
                    stream.write(datagram)  # type: ignore[attr-defined]
        while (event := self.endpoint.poll_event()) is not None:
            if event.handle is None:
                continue
            conn = self._connections.get(event.handle)
            if event.kind == EventKind.CONNECTED:
                conn = _ServerConnection(self, event.handle, address_of(self.endpoint.peer(event.handle)))
                self._connections[event.handle] = conn
                self._spawn(conn)
            elif conn is not None and event.kind == EventKind.FAILED:
                conn._failure = event.error
            elif conn is not None and event.kind == EventKind.CLOSED:
                conn._closed = True
        for handle, conn in list(self._connections.items()):
            while (message := self.endpoint.recv(handle)) is not None:
                conn._inbox.append(message)
            if not self.endpoint.is_open(handle):
                conn._closed = conn._closed or conn._failure is None
                del self._connections[handle]
                stream = self._streams.get(conn.address)
                if stream is not None:
                    stream.close()
            conn._wake()
        self._timer.arm(self.endpoint.poll_timeout())

    def _spawn(self, conn: Connection) -> None:
        """Runs the handler for a new connection, in a task of its own."""
        task = asyncio.get_running_loop().create_task(self._run_handler(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_handler(self, conn: Connection) -> None:
        try:
            await self._handler(conn)
        except Exception:
            conn.abort()
            raise

    async def close(self) -> None:
        """Stops serving: aborts every connection, closes the transports, cancels the handlers."""
        for conn in list(self._connections.values()):
            self.endpoint.abort(conn.handle, now_ms(), 7)
        self._service()
        self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for stream in list(self._streams.values()):
            stream.close()
        if self._datagrams is not None:
            self._datagrams.close()
        if self._listener is not None:
            self._listener.close()
            await self._listener.wait_closed()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> "Server":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def serve(
    host: str,
    port: int,
    handler: Handler,
    *,
    transport: str = "udp",
    config: Optional[Union[EndpointConfig, ConnectionConfig]] = None,
    admit: Optional[Admit] = None,
    basic_after_ms: Optional[int] = 500,
) -> Server:
    """Serves seqlink on ``host:port`` (port 0: any free port, see
    :attr:`Server.address`) over ``"udp"`` or ``"tcp"``: ``await
    handler(connection)`` runs for every client that connects. ``admit``
    decides who may connect, as for :func:`seqlink.serve`. Over TCP, a
    client whose first packet is not a SYN, or that is silent for
    ``basic_after_ms`` (None: never), is a seed 000 client: its connection
    has ``basic`` True and speaks the basic profile."""
    if isinstance(config, EndpointConfig):
        _check_transport(transport, config.connection)
        endpoint_config = config
    else:
        endpoint_config = EndpointConfig(connection=_check_transport(transport, config))
    loop = asyncio.get_running_loop()
    basic = basic_after_ms if transport == "tcp" else None
    server = Server(endpoint_config, handler, stream=transport == "tcp", admit=admit, basic_after_ms=basic)
    if transport == "tcp":
        server._listener = await loop.create_server(lambda: _ServerStream(server), host, port)
        server.address = address_of(server._listener.sockets[0].getsockname())
    else:
        made, _ = await loop.create_datagram_endpoint(lambda: _ServerDatagrams(server), local_addr=(host, port))
        server._datagrams = made
        server.address = address_of(made.get_extra_info("sockname"))
    return server
