"""What both sides of an asyncio connection share: the application's calls."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import AsyncIterator, Callable, Deque, Optional

from .._common import Address, check_timeout
from .._seqlink import Message
from ..errors import Error, WouldBlockError
from ..types import Delivery, now_ms

__all__ = ["Connection"]


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

    _direction = "to"

    @property
    def state(self) -> str:
        """The connection's state, as :attr:`seqlink.Connection.state` names it
        (``"syn_sent"``, ``"established"``, ``"closing"``, ``"closed"``,
        ``"failed"``, ...; a seed 000 client: ``"established"`` or ``"closed"``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        host, port = self.address[:2]
        return f"<seqlink.aio.Connection {self._direction} {host}:{port}, {self.state}>"

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
        timeout = check_timeout(timeout)
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
        timeout = check_timeout(timeout)
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

    async def close(self, timeout: Optional[float] = 5.0) -> None:
        """Closes gracefully and waits (at most ``timeout`` seconds) until both
        sides are done and the linger time (``linger_ms``) passed."""
        self._start_close()
        loop = asyncio.get_running_loop()
        timeout = check_timeout(timeout)
        until = None if timeout is None else loop.time() + timeout
        while not (self._failure is not None or self._close_done()):
            left = None if until is None else until - loop.time()
            if left is not None and left <= 0:
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
