"""The blocking server: :func:`serve` gives a :class:`Server`."""

from __future__ import annotations

import selectors
import socket
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union, cast

from .._common import (
    DRAIN_BURST,
    READ_SIZE,
    Address,
    Admit,
    address_of,
    check_port,
    check_timeout,
    check_transport,
    decide,
    is_syn,
    wait_ms,
)
from .._seqlink import BasicSession, EndpointConfig, ConnectionConfig, Endpoint, Handle, Message, StreamDecoder
from ..errors import ConnectionFailedError, Error
from ..types import Delivery, EventKind, PacketType, now_ms

__all__ = ["Server", "Peer", "ServerEvent", "serve", "MAX_BUFFERED"]

# What a server buffers for a TCP peer that does not read, at most (docs/PROTOCOL.md 8.2).
MAX_BUFFERED = 4 << 20


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
        state = "open" if self.open else "closed"
        return f"<seqlink.Peer {kind} {self.address[0]}:{self.address[1]}, {state}>"


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
            data = stream.sock.recv(READ_SIZE)
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
                stream.kind = "seqlink" if is_syn(frame) else "basic"
                if stream.kind == "basic":
                    self._start_basic(stream)
            elif stream.kind == "basic" and is_syn(frame) and self._never_spoke(stream):
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
        for _ in range(DRAIN_BURST):
            try:
                data, address = self._sock.recvfrom(READ_SIZE)
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
        timeout = wait_ms(now, *deadlines)
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
        timeout = check_timeout(timeout)
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

    def __repr__(self) -> str:
        host, port = self.address
        transport = "tcp" if self._tcp else "udp"
        return f"<seqlink.Server {transport} {host}:{port}, {len(self._peers)} peers>"

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
    port = check_port(port)
    if isinstance(config, EndpointConfig):
        endpoint_config = config
        check_transport(transport, config.connection)
    else:
        endpoint_config = EndpointConfig(connection=check_transport(transport, config))
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
