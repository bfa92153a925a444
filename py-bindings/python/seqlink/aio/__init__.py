"""asyncio drivers on asyncio's own transports: ``await connect(...)`` gives
a :class:`Connection`, ``await serve(host, port, handler)`` runs
``handler(connection)`` as a task for every client, over UDP or TCP. Both
are also async context managers as they are (``async with connect(...) as
conn:``), closed when the block ends.

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
...     async with seqlink.aio.serve("127.0.0.1", 0, echo) as server:
...         async with seqlink.aio.connect(*server.address) as conn:
...             await conn.send(100, b"ping")
...             reply = await conn.recv(timeout=5)
...     return reply.payload
>>> asyncio.run(main())
b'ping'
"""

from ._client import connect
from ._connection import Connection
from ._server import Handler, Server, serve

__all__ = ["connect", "serve", "Connection", "Server", "Handler"]
