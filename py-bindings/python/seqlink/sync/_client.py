"""The blocking client: :func:`connect` gives a :class:`Client`."""

from __future__ import annotations

import select
import socket
from collections import deque
from typing import Callable, Deque, Iterator, Optional

from .._common import DRAIN_BURST, READ_SIZE, Address, address_of, check_port, check_timeout, check_transport, wait_ms
from .._seqlink import Connection, ConnectionConfig, Message, StreamDecoder
from ..errors import ConnectionFailedError, Error, WouldBlockError
from ..types import Delivery, EventKind, now_ms

__all__ = ["Client", "connect"]


class Client:
    """A connection to a seqlink server, blocking. Made by :func:`connect`.

    Use it as a context manager (``close()`` on exit) or iterate over it to
    read messages until the peer closes.
    """

    def __init__(self, sock: socket.socket, connection: Connection, stream: bool) -> None:
        self._sock = sock
        self.address = address_of(sock.getpeername())
        """The server's address."""
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
        for _ in range(DRAIN_BURST):
            try:
                data = self._sock.recv(READ_SIZE)
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
        timeout = wait_ms(now, self.connection.poll_timeout(), until)
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
        timeout = check_timeout(timeout)
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
        timeout = check_timeout(timeout)
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

    def close(self, timeout: Optional[float] = 5.0) -> None:
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

    def __repr__(self) -> str:
        host, port = self.address
        transport = "udp" if self._stream is None else "tcp"
        return f"<seqlink.Client {transport} to {host}:{port}, {self.connection.state}>"

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
    timeout: Optional[float] = 10.0,
) -> Client:
    """Connects to a seqlink server and completes the handshake.

    ``transport`` is ``"udp"`` (default) or ``"tcp"`` (a TCP connection needs
    ``ConnectionConfig(stream=True)``, the default for it). Raises the
    failure (``ConnectTimeoutError``, ``RefusedError``, ...), ``TimeoutError``
    after ``timeout`` seconds, or the socket's ``OSError``.
    """
    port, timeout = check_port(port), check_timeout(timeout)
    config = check_transport(transport, config)
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
