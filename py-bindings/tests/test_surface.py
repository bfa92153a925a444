"""The drivers as a Python user meets them: context managers, reprs."""

from __future__ import annotations

import asyncio
import threading
import time

import seqlink


async def echo(conn: seqlink.aio.Connection) -> None:
    async for message in conn:
        await conn.send(message.ptype, message.payload)


def test_aio_connect_and_serve_are_async_context_managers_without_an_extra_await():
    async def main() -> bytes:
        async with seqlink.aio.serve("127.0.0.1", 0, echo) as server:
            async with seqlink.aio.connect(*server.address, timeout=5) as conn:
                await conn.send(100, b"ping")
                reply = await conn.recv(timeout=5)
            assert conn.connection.is_closed
        return reply.payload

    assert asyncio.run(main()) == b"ping"


def test_aio_connect_and_serve_still_await_to_their_objects():
    async def main() -> str:
        server = await seqlink.aio.serve("127.0.0.1", 0, echo)
        async with server:
            conn = await seqlink.aio.connect(*server.address, timeout=5)
            async with conn:
                return type(conn).__name__

    assert asyncio.run(main()) == "_Client"


def test_the_blocking_client_and_server_say_where_they_are_and_how_they_are():
    with seqlink.serve("127.0.0.1", 0) as server:
        host, port = server.address
        assert repr(server) == f"<seqlink.Server udp {host}:{port}, 0 peers>"
        stop = threading.Event()
        serving = threading.Thread(target=lambda: [server.poll(0.05) for _ in iter(stop.is_set, True)])
        serving.start()
        try:
            with seqlink.connect(host, port, timeout=5) as client:
                assert repr(client) == f"<seqlink.Client udp to {host}:{port}, established>"
                deadline = time.monotonic() + 5  # the server may see the handshake end a moment later
                while not server.peers and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert repr(server) == f"<seqlink.Server udp {host}:{port}, 1 peers>"
                local_host, local_port = client.local_address
                assert repr(server.peers[0]) == f"<seqlink.Peer seqlink {local_host}:{local_port}, open>"
            assert repr(client) in (f"<seqlink.Client udp to {host}:{port}, {state}>" for state in ("closed", "linger"))
        finally:
            stop.set()
            serving.join(5)


def test_the_asyncio_connection_and_server_say_where_they_are_and_how_they_are():
    async def main() -> None:
        async with seqlink.aio.serve("127.0.0.1", 0, echo, transport="tcp") as server:
            host, port = server.address
            assert repr(server) == f"<seqlink.aio.Server tcp {host}:{port}, 0 connections>"
            async with seqlink.aio.connect(host, port, transport="tcp", timeout=5) as conn:
                assert repr(conn) == f"<seqlink.aio.Connection to {host}:{port}, established>"

    asyncio.run(main())
