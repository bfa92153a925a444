"""What :func:`connect` and :func:`serve` return: a coroutine (await it, or
hand it to ``asyncio.run`` or ``create_task``) that is also an async context
manager by itself (``async with seqlink.aio.connect(...) as conn``)."""

from __future__ import annotations

from typing import Any, Coroutine, Generator, Optional, TypeVar

T = TypeVar("T")


class Opening(Coroutine[Any, Any, T]):
    """``await`` it for the object (a connection or a server), or use it in
    ``async with``: the object is closed when the block ends."""

    def __init__(self, opening: Coroutine[Any, Any, T]) -> None:
        self._opening = opening
        self._opened: Optional[Any] = None

    def __await__(self) -> Generator[Any, None, T]:
        return self._opening.__await__()

    def send(self, value: Any) -> Any:
        return self._opening.send(value)

    def throw(self, *args: Any) -> Any:
        return self._opening.throw(*args)

    def close(self) -> None:
        self._opening.close()

    async def __aenter__(self) -> T:
        opened = await self._opening
        self._opened = opened
        return await opened.__aenter__()  # type: ignore[attr-defined, no-any-return]

    async def __aexit__(self, *exc: Any) -> None:
        if self._opened is not None:
            await self._opened.__aexit__(*exc)
