"""The asyncio server: ``await serve(host, port, handler)``."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Tuple, Union, cast

from .. import _seqlink
from .._common import Address, Admit, address_of, check_port, check_transport, decide, is_syn
from .._seqlink import ConnectionConfig, EndpointConfig, Handle, Message, StreamDecoder
from ..errors import ConnectionFailedError, Error
from ..types import EventKind, PacketType, now_ms
from ._connection import Connection, _Timer
from ._opening import Opening

__all__ = ["Server", "serve", "Handler"]


class _ServerConnection(Connection):
    """The server side of one connection: a handle of the server's endpoint."""

    def __init__(self, server: "Server", handle: Handle, address: Address) -> None:
        super().__init__(address)
        self._server = server
        self.handle = handle

    _direction = "from"

    @property
    def state(self) -> str:
        return self._server.endpoint.state(self.handle) or "closed"

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

    _direction = "from"

    @property
    def state(self) -> str:
        return "closed" if self._closed else "established"

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
                if is_syn(frame):
                    self.kind = "seqlink"
                else:
                    self._become_basic()
            elif self.basic is not None and is_syn(frame) and self.basic.session.stats.packets_received_raw == 0:
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

    def __repr__(self) -> str:
        host, port = self.address
        transport = "tcp" if self._stream else "udp"
        return f"<seqlink.aio.Server {transport} {host}:{port}, {len(self._connections)} connections>"

    async def __aenter__(self) -> "Server":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def serve(
    host: str,
    port: int,
    handler: Handler,
    *,
    transport: str = "udp",
    config: Optional[Union[EndpointConfig, ConnectionConfig]] = None,
    admit: Optional[Admit] = None,
    basic_after_ms: Optional[int] = 500,
) -> Opening[Server]:
    """Serves seqlink on ``host:port`` (port 0: any free port, see
    :attr:`Server.address`) over ``"udp"`` or ``"tcp"``: ``await
    handler(connection)`` runs for every client that connects. ``admit``
    decides who may connect, as for :func:`seqlink.serve`. Over TCP, a
    client whose first packet is not a SYN, or that is silent for
    ``basic_after_ms`` (None: never), is a seed 000 client: its connection
    has ``basic`` True and speaks the basic profile.

    ``await`` it for the :class:`Server`, or use it directly in ``async
    with`` (closed when the block ends)."""
    port = check_port(port)
    if isinstance(config, EndpointConfig):
        check_transport(transport, config.connection)
        endpoint_config = config
    else:
        endpoint_config = EndpointConfig(connection=check_transport(transport, config))
    basic = basic_after_ms if transport == "tcp" else None
    server = Server(endpoint_config, handler, stream=transport == "tcp", admit=admit, basic_after_ms=basic)
    return Opening(_listen(server, host, port, transport))


async def _listen(server: Server, host: str, port: int, transport: str) -> Server:
    loop = asyncio.get_running_loop()
    if transport == "tcp":
        server._listener = await loop.create_server(lambda: _ServerStream(server), host, port)
        server.address = address_of(server._listener.sockets[0].getsockname())
    else:
        made, _ = await loop.create_datagram_endpoint(lambda: _ServerDatagrams(server), local_addr=(host, port))
        server._datagrams = made
        server.address = address_of(made.get_extra_info("sockname"))
    return server
