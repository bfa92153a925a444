"""Blocking drivers over Python's own sockets: :func:`connect` gives a
:class:`Client`, :func:`serve` a :class:`Server`, over UDP or TCP.

Both run the sans-IO core on the calling thread: every blocking call
(``recv``, ``send`` when the window is full, ``close``, ``Server.poll``)
waits on the socket with :func:`select.select` until data arrives or the
next timer is due, so retransmissions and heartbeats happen while the
application waits. Nothing runs between calls: call them often enough for
the heartbeats (``ConnectionConfig.heartbeat_ms``).

A TCP server also serves clients that speak only seed 000 (the basic
profile, ``docs/PROTOCOL.md`` 8.1): a stream whose first packet is not a SYN,
or that stays silent for ``basic_after_ms``, is a basic-profile peer. A TCP
peer that lets more than :data:`MAX_BUFFERED` bytes of output pile up (it
does not read) is disconnected (``docs/PROTOCOL.md`` 8.2).
"""

from __future__ import annotations

import select
import selectors
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple, Union, cast

from ._seqlink import (
    BasicSession,
    Connection,
    ConnectionConfig,
    Endpoint,
    EndpointConfig,
    Handle,
    Incoming,
    Message,
    StreamDecoder,
)
from .errors import ConnectionFailedError, Error, TableFullError, WouldBlockError
from .types import Delivery, EventKind, PacketType, PeerCode, now_ms

__all__ = ["connect", "serve", "Client", "Server", "Peer", "ServerEvent"]

Address = Tuple[str, int]

_READ_SIZE = 65536
# What a server buffers for a TCP peer that does not read, at most (docs/PROTOCOL.md 8.2).
MAX_BUFFERED = 4 << 20
_DRAIN_BURST = 256


def _wait_ms(now: int, *deadlines: Optional[int]) -> Optional[float]:
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


def _is_syn(frame: bytes) -> bool:
    return len(frame) > 4 and frame[4] == PacketType.SYN


def _check_transport(transport: str, config: Optional[ConnectionConfig]) -> ConnectionConfig:
    if transport not in ("udp", "tcp"):
        raise Error(f'transport must be "udp" or "tcp", got {transport!r}')
    if config is None:
        return ConnectionConfig(stream=transport == "tcp")
    if config.stream != (transport == "tcp"):
        raise Error(f"a {transport.upper()} connection needs ConnectionConfig(stream={transport == 'tcp'})")
    return config


class Client:
    """A connection to a seqlink server, blocking. Made by :func:`connect`.

    Use it as a context manager (``close()`` on exit) or iterate over it to
    read messages until the peer closes.
    """

    def __init__(self, sock: socket.socket, connection: Connection, stream: bool) -> None:
        self._sock = sock
        self.connection = connection
        """The sans-IO connection underneath."""
        self._stream = StreamDecoder() if stream else None
        self._inbox: Deque[Message] = deque()
        self._failure: Optional[Error] = None
        self._closed = False
        self._eof = False

    # ---- the loop ------------------------------------------------------------

    def _flush(self, now: int) -> None:
        for datagram in self.connection.transmit(now):
            try:
                if self._stream is not None:
                    self._sock.sendall(datagram)
                else:
                    self._sock.send(datagram)
            except (BlockingIOError, ConnectionRefusedError, InterruptedError):
                pass  # a lost datagram: the protocol retransmits
            except OSError:
                if self._stream is None:
                    raise
                self._transport_closed()
                return

    def _transport_closed(self) -> None:
        if not self._eof:
            self._eof = True
            self.connection.transport_closed()

    def _read(self, now: int) -> None:
        for _ in range(_DRAIN_BURST):
            try:
                data = self._sock.recv(_READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:
                continue  # ICMP port unreachable from an earlier datagram
            except OSError:
                self._transport_closed()
                return
            if self._stream is None:
                self.connection.handle_datagram(now, data)
                continue
            if not data:
                self._transport_closed()
                return
            for frame in self._stream.feed_frames(data):
                self.connection.handle_datagram(now, frame)
            return  # one read per wake-up: the stream socket blocks

    def _step(self, until: Optional[int]) -> None:
        """Sends what is ready, waits for input or the next timer (at most until `until`), handles both."""
        now = now_ms()
        self._flush(now)
        timeout = _wait_ms(now, self.connection.poll_timeout(), until)
        readable = [] if self._eof else [self._sock]
        if readable:
            ready, _, _ = select.select(readable, [], [], timeout)
        else:
            ready = []
        now = now_ms()
        if ready:
            self._read(now)
        due = self.connection.poll_timeout()
        if due is not None and due <= now:
            self.connection.handle_timeout(now)
        self._flush(now)
        self._collect()

    def _collect(self) -> None:
        while (event := self.connection.poll_event()) is not None:
            if event.kind == EventKind.FAILED:
                self._failure = event.error
            elif event.kind == EventKind.CLOSED:
                self._closed = True
        while (message := self.connection.recv()) is not None:
            self._inbox.append(message)

    def _wait(self, done: Callable[[], bool], timeout: Optional[float]) -> bool:
        until = None if timeout is None else now_ms() + int(timeout * 1000)
        while not done():
            if until is not None and now_ms() >= until:
                return False
            if self.connection.is_closed and not done():
                return done()
            self._step(until)
        return True

    # ---- the application's calls ---------------------------------------------

    def send(
        self, ptype: int, payload: bytes = b"", delivery: int = Delivery.RELIABLE, timeout: Optional[float] = None
    ) -> None:
        """Queues a message and sends what it can at once. Waits while the send
        window is full (``TimeoutError`` after ``timeout`` seconds); raises the
        connection's failure, or a :class:`~seqlink.SendError`."""
        until = None if timeout is None else now_ms() + int(timeout * 1000)
        while True:
            try:
                self.connection.send(ptype, payload, delivery)
                break
            except WouldBlockError:
                if self._failure is not None:
                    raise self._failure from None
                if until is not None and now_ms() >= until:
                    raise TimeoutError("the send window stayed full") from None
                self._step(until)
        self._flush(now_ms())

    def recv(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next message; None once the peer closed (after its last
        message). Raises the failure (a :class:`~seqlink.ConnectionFailedError`),
        or ``TimeoutError`` after ``timeout`` seconds."""
        self._wait(lambda: bool(self._inbox) or self._finished(), timeout)
        if self._inbox:
            return self._inbox.popleft()
        failure = self._failure or self.connection.failure
        if failure is not None:
            raise failure
        if self._finished():
            return None
        raise TimeoutError("no message within the timeout")

    def _finished(self) -> bool:
        """Whether no message can arrive any more."""
        return self.connection.is_closed or self._eof or self.connection.peer_finished

    def __iter__(self) -> Iterator[Message]:
        """The messages until the peer closes."""
        while (message := self.recv()) is not None:
            yield message

    def poll(self) -> None:
        """Runs the protocol once without waiting (timers, input, output)."""
        self._step(now_ms())

    def close(self, timeout: float = 5.0) -> None:
        """Closes gracefully: waits until everything sent was delivered, the
        peer closed too and the linger time passed (``linger_ms``; at most
        ``timeout`` seconds in all), then closes the socket."""
        try:
            self.connection.close(now_ms())
            # until both sides are done and the linger time passed (late duplicates are answered meanwhile)
            self._wait(lambda: self.connection.is_closed or self._eof, timeout)
            self._flush(now_ms())
        finally:
            self._sock.close()

    def abort(self, code: int = 7) -> None:
        """Aborts at once (a RESET goes to the peer) and closes the socket."""
        try:
            self.connection.abort(now_ms(), code)
            self._flush(now_ms())
        finally:
            self._sock.close()

    @property
    def stats(self):  # type: ignore[no-untyped-def]
        """The connection's counters (:class:`seqlink.Stats`)."""
        return self.connection.stats

    @property
    def local_address(self) -> Address:
        """This side's socket address."""
        return address_of(self._sock.getsockname())

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sock.fileno() >= 0:
            if exc[0] is None:
                self.close()
            else:
                self.abort()


def connect(
    host: str,
    port: int,
    *,
    transport: str = "udp",
    config: Optional[ConnectionConfig] = None,
    timeout: float = 10.0,
) -> Client:
    """Connects to a seqlink server and completes the handshake.

    ``transport`` is ``"udp"`` (default) or ``"tcp"`` (a TCP connection needs
    ``ConnectionConfig(stream=True)``, the default for it). Raises the
    failure (``ConnectTimeoutError``, ``RefusedError``, ...), ``TimeoutError``
    after ``timeout`` seconds, or the socket's ``OSError``.
    """
    config = _check_transport(transport, config)
    if transport == "tcp":
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.connect(address)
        sock.setblocking(False)
    client = Client(sock, Connection(now_ms(), config), stream=transport == "tcp")
    try:
        if not client._wait(lambda: client.connection.is_established or client.connection.is_closed, timeout):
            raise TimeoutError(f"no handshake with {host}:{port} within {timeout} s")
        client._collect()
        if not client.connection.is_established:
            failure = client._failure or client.connection.failure
            raise failure if failure is not None else ConnectionFailedError("the connection closed during the handshake")
    except BaseException:
        sock.close()
        raise
    return client


# ---- server ------------------------------------------------------------------


@dataclass(frozen=True)
class ServerEvent:
    """What :meth:`Server.poll` reports: ``kind`` is ``"connected"``,
    ``"message"`` (with ``message``), ``"closed"`` (gracefully, or the TCP
    stream ended) or ``"failed"`` (with ``error``)."""

    kind: str
    peer: "Peer"
    message: Optional[Message] = None
    error: Optional[Error] = None


class Peer:
    """One client of a :class:`Server`: a seqlink connection, or (over TCP) a
    basic-profile seed 000 client (``basic`` is True)."""

    def __init__(self, server: "Server", address: Address, handle: Optional[Handle] = None) -> None:
        self._server = server
        self.address = address
        """The client's address."""
        self.handle = handle
        """The endpoint's handle (None for a basic-profile client)."""
        self.basic: Optional[BasicSession] = None
        """The seed 000 session of a basic-profile client, else None."""
        self.open = True
        """False once the peer closed, failed or was closed."""

    def send(self, ptype: int, payload: bytes = b"", delivery: int = Delivery.RELIABLE) -> None:
        """Queues a message to this client (sent at the next :meth:`Server.poll`
        or :meth:`Server.flush`); raises a :class:`~seqlink.SendError`."""
        self._server._send(self, ptype, payload, delivery)

    def close(self) -> None:
        """Closes this client's connection gracefully (a basic client's stream at once)."""
        self._server._close(self)

    def __repr__(self) -> str:
        kind = "basic" if self.basic is not None else "seqlink"
        return f"<Peer {kind} {self.address[0]}:{self.address[1]}>"


class _Stream:
    """One accepted TCP stream: its socket, its frames, and who it turned out to be."""

    def __init__(self, sock: socket.socket, address: Address, now: int) -> None:
        self.sock = sock
        self.address = address
        self.decoder = StreamDecoder()
        self.opened = now
        self.kind: Optional[str] = None  # None until known, "seqlink" or "basic"
        self.peer: Optional[Peer] = None
        self.outbox = bytearray()


class Server:
    """A seqlink server, blocking. Made by :func:`serve`; read it with
    :meth:`poll` (or iterate over :meth:`events`)."""

    def __init__(
        self,
        sock: socket.socket,
        config: EndpointConfig,
        stream: bool,
        basic_after_ms: Optional[int] = None,
        admit: Optional[Admit] = None,
    ) -> None:
        self._sock = sock
        self._admit = admit
        automatic = config.auto_accept
        config.auto_accept = admit is None  # with `admit`, handshakes wait for its decision
        try:
            self.endpoint = Endpoint(config)
            """The sans-IO endpoint underneath."""
        finally:
            config.auto_accept = automatic
        self._tcp = stream
        self._basic_after_ms = basic_after_ms
        self._peers: Dict[Handle, Peer] = {}
        self._streams: Dict[Address, _Stream] = {}
        self._pending: List[ServerEvent] = []

    @property
    def address(self) -> Address:
        """The bound address (the port the system picked for port 0)."""
        return address_of(self._sock.getsockname())

    @property
    def peers(self) -> List[Peer]:
        """The open peers."""
        out = [p for p in self._peers.values() if p.open]
        out += [s.peer for s in self._streams.values() if s.peer is not None and s.peer.basic is not None and s.peer.open]
        return out

    # ---- output ----------------------------------------------------------------

    def flush(self) -> None:
        """Sends everything queued, now."""
        now = now_ms()
        for peer, datagram in self.endpoint.transmit(now):
            if self._tcp:
                stream = self._streams.get(address_of(peer))
                if stream is not None:
                    self._queue(stream, datagram)
            else:
                try:
                    self._sock.sendto(datagram, cast(Tuple[Any, ...], peer))
                except (BlockingIOError, InterruptedError, ConnectionRefusedError):
                    pass  # lost: the protocol retransmits
        for stream in list(self._streams.values()):
            self._write(stream)

    def _queue(self, stream: _Stream, data: bytes) -> None:
        """Buffers output for a stream; a peer that lets more than
        :data:`MAX_BUFFERED` bytes pile up is disconnected."""
        if len(stream.outbox) + len(data) > MAX_BUFFERED:
            self._drop_stream(stream, ConnectionFailedError(f"the peer read nothing of {len(stream.outbox)} bytes"))
            return
        stream.outbox += data

    def _write(self, stream: _Stream) -> None:
        if not stream.outbox:
            return
        try:
            sent = stream.sock.send(stream.outbox)
            del stream.outbox[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop_stream(stream)

    # ---- input -----------------------------------------------------------------

    def _accept(self, now: int) -> None:
        try:
            sock, address = self._sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._streams[address_of(address)] = _Stream(sock, address_of(address), now)

    def _read_stream(self, stream: _Stream, now: int) -> None:
        try:
            data = stream.sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop_stream(stream)
            return
        try:
            frames = stream.decoder.feed_frames(data)
        except Error as err:
            self._drop_stream(stream, err)
            return
        for frame in frames:
            if stream.kind is None:
                stream.kind = "seqlink" if _is_syn(frame) else "basic"
                if stream.kind == "basic":
                    self._start_basic(stream)
            elif stream.kind == "basic" and _is_syn(frame) and self._never_spoke(stream):
                # a slow seqlink client taken for a silent seed 000 one: forget the basic state
                if stream.peer is not None:
                    stream.peer.open = False
                    self._pending.append(ServerEvent("closed", stream.peer))
                stream.peer, stream.kind = None, "seqlink"
            if stream.kind == "seqlink":
                self.endpoint.handle_datagram(now, stream.address, frame)
            elif stream.peer is not None and stream.peer.basic is not None:
                self._judge_basic(stream, frame)

    @staticmethod
    def _never_spoke(stream: _Stream) -> bool:
        peer = stream.peer
        return peer is None or peer.basic is None or peer.basic.stats.packets_received_raw == 0

    def _start_basic(self, stream: _Stream) -> None:
        peer = Peer(self, stream.address)
        peer.basic = BasicSession()
        stream.peer = peer
        self._pending.append(ServerEvent("connected", peer))

    def _judge_basic(self, stream: _Stream, frame: bytes) -> None:
        peer = stream.peer
        assert peer is not None and peer.basic is not None
        outcome = peer.basic.receive(frame)
        if outcome.kind == "deliver" and outcome.packet is not None:
            packet = outcome.packet
            if packet.ptype != PacketType.HEARTBEAT:
                self._pending.append(ServerEvent("message", peer, Message(packet.ptype, packet.payload)))
        while (control := peer.basic.poll_control()) is not None:
            self._queue(stream, control)

    def _drop_stream(self, stream: _Stream, error: Optional[Error] = None) -> None:
        self._streams.pop(stream.address, None)
        try:
            stream.sock.close()
        except OSError:
            pass
        if stream.kind == "seqlink":
            for handle, peer in self._peers.items():
                if peer.address == stream.address and peer.open:
                    # the stream ended: the connection fails as reset, or finishes its linger
                    self.endpoint.transport_closed(handle)
        elif stream.peer is not None and stream.peer.open:
            stream.peer.open = False
            kind = "failed" if error is not None else "closed"
            self._pending.append(ServerEvent(kind, stream.peer, error=error))

    def _read_udp(self, now: int) -> None:
        for _ in range(_DRAIN_BURST):
            try:
                data, address = self._sock.recvfrom(_READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:
                continue
            self.endpoint.handle_datagram(now, address, data)

    def _step(self, until: Optional[int]) -> None:
        now = now_ms()
        self.flush()
        deadlines = [self.endpoint.poll_timeout(), until]
        if self._basic_after_ms is not None:
            deadlines += [s.opened + self._basic_after_ms for s in self._streams.values() if s.kind is None]
        timeout = _wait_ms(now, *deadlines)
        # a selector (epoll, kqueue) rather than select(): no limit of 1024 descriptors
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ, None)
            for stream in self._streams.values():
                wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if stream.outbox else 0)
                selector.register(stream.sock, wanted, stream)
            ready = selector.select(timeout)
        now = now_ms()
        for key, mask in ready:
            stream = key.data
            if stream is None:
                self._accept(now) if self._tcp else self._read_udp(now)
                continue
            if mask & selectors.EVENT_WRITE and stream.address in self._streams:
                self._write(stream)
            if mask & selectors.EVENT_READ and stream.address in self._streams:
                self._read_stream(stream, now)
        if self._basic_after_ms is not None:
            for stream in self._streams.values():
                if stream.kind is None and now - stream.opened >= self._basic_after_ms:
                    stream.kind = "basic"  # silent: a seed 000 client waiting for the server
                    self._start_basic(stream)
        due = self.endpoint.poll_timeout()
        if due is not None and due <= now:
            self.endpoint.handle_timeout(now)
        self.flush()
        self._collect()

    def _collect(self) -> None:
        if self._admit is not None:
            decide(self.endpoint, self._admit)
        ended: List[ServerEvent] = []
        while (event := self.endpoint.poll_event()) is not None:
            if event.handle is None:
                continue  # a refused peer: no connection
            if event.kind == EventKind.CONNECTED:
                peer = Peer(self, address_of(self.endpoint.peer(event.handle)), event.handle)
                self._peers[event.handle] = peer
                self._pending.append(ServerEvent("connected", peer))
            elif event.kind in (EventKind.CLOSED, EventKind.FAILED) and event.handle in self._peers:
                peer = self._peers[event.handle]
                if peer.open:
                    peer.open = False
                    kind = "closed" if event.kind == EventKind.CLOSED else "failed"
                    ended.append(ServerEvent(kind, peer, error=event.error))
        for handle, peer in list(self._peers.items()):
            while (message := self.endpoint.recv(handle)) is not None:
                self._pending.append(ServerEvent("message", peer, message))
            if not self.endpoint.is_open(handle):
                del self._peers[handle]
                if self._tcp:
                    stream = self._streams.get(peer.address)
                    if stream is not None and not stream.outbox:
                        self._streams.pop(peer.address, None)
                        stream.sock.close()
        self._pending += ended

    # ---- the application's calls ---------------------------------------------

    def poll(self, timeout: Optional[float] = None) -> List[ServerEvent]:
        """Runs the server until something happens or ``timeout`` seconds
        passed (None: until something happens); returns what happened."""
        until = None if timeout is None else now_ms() + int(timeout * 1000)
        while not self._pending:
            self._step(until)
            if until is not None and now_ms() >= until:
                break
        events, self._pending = self._pending, []
        return events

    def events(self, timeout: Optional[float] = None) -> Iterator[ServerEvent]:
        """Everything that happens, forever (or until nothing happened for ``timeout`` seconds)."""
        while True:
            batch = self.poll(timeout)
            if not batch and timeout is not None:
                return
            yield from batch

    def _send(self, peer: Peer, ptype: int, payload: bytes, delivery: int) -> None:
        if peer.basic is not None:
            stream = self._streams.get(peer.address)
            if stream is None or not peer.open:
                raise ConnectionFailedError("the basic-profile client is gone")
            self._queue(stream, peer.basic.encode(ptype, payload))
            if stream.address in self._streams:
                self._write(stream)
            return
        assert peer.handle is not None
        self.endpoint.send(peer.handle, ptype, payload, delivery)

    def _close(self, peer: Peer) -> None:
        if peer.basic is not None:
            stream = self._streams.get(peer.address)
            if stream is not None:
                self._write(stream)
                self._drop_stream(stream)
            return
        if peer.handle is not None:
            self.endpoint.close(peer.handle, now_ms())
            self.flush()

    def close(self) -> None:
        """Stops serving: aborts every connection and closes every socket."""
        now = now_ms()
        for handle in list(self._peers):
            self.endpoint.abort(handle, now, 7)
        try:
            self.flush()
        finally:
            for stream in list(self._streams.values()):
                stream.sock.close()
            self._streams.clear()
            self._sock.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(
    host: str,
    port: int,
    *,
    transport: str = "udp",
    config: Optional[Union[EndpointConfig, ConnectionConfig]] = None,
    basic_after_ms: Optional[int] = 500,
    admit: Optional[Admit] = None,
) -> Server:
    """Binds a seqlink server to ``host:port`` (port 0: any free port, see
    :attr:`Server.address`) over ``"udp"`` or ``"tcp"``.

    ``config`` is an :class:`EndpointConfig` or just the connections'
    :class:`ConnectionConfig`. Over TCP, a stream whose first packet is not a
    SYN, or that is silent for ``basic_after_ms`` (None: never), is served as
    a seed 000 basic-profile client.

    ``admit``, when given, decides who may connect: it is called with each
    :class:`~seqlink.Incoming` handshake (the client proved its address) and
    returns True to accept it, or a :class:`~seqlink.PeerCode` (or False,
    for ``PeerCode.REFUSED``) to refuse it; the client then fails with
    :class:`~seqlink.RefusedError`.
    """
    if isinstance(config, EndpointConfig):
        endpoint_config = config
        _check_transport(transport, config.connection)
    else:
        endpoint_config = EndpointConfig(connection=_check_transport(transport, config))
    family = socket.getaddrinfo(host, port)[0][0]
    if transport == "tcp":
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    else:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((host, port))
    sock.setblocking(False)
    basic = basic_after_ms if transport == "tcp" else None
    return Server(sock, endpoint_config, stream=transport == "tcp", basic_after_ms=basic, admit=admit)
