"""The drivers over loopback: blocking and asyncio, UDP and TCP, and a seed
000 client on the TCP server's port. Every wait is bounded."""

from __future__ import annotations

import asyncio
import socket
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, List

import pytest

import seqlink
from seqlink import PacketType

FAST = seqlink.ConnectionConfig(linger_ms=100, close_timeout_ms=3000)
FAST_TCP = seqlink.ConnectionConfig(linger_ms=100, close_timeout_ms=3000, stream=True)


def echo(server: seqlink.Server, event: seqlink.ServerEvent) -> None:
    if event.kind == "message" and event.message is not None:
        event.peer.send(event.message.ptype, event.message.payload)


@contextmanager
def running(server: seqlink.Server, on_event: Callable = echo, seen: List | None = None) -> Iterator[seqlink.Server]:
    """Runs a blocking server's loop in a thread for the duration of the block."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            for event in server.poll(timeout=0.02):
                if seen is not None:
                    seen.append(event)
                on_event(server, event)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(5)
        server.close()


@pytest.mark.parametrize("transport, config", [("udp", FAST), ("tcp", FAST_TCP)])
def test_a_blocking_client_and_server_echo_small_and_large_messages(transport, config):
    seen: List[seqlink.ServerEvent] = []
    with running(seqlink.serve("127.0.0.1", 0, transport=transport, config=config), seen=seen) as server:
        with seqlink.connect(*server.address, transport=transport, config=config, timeout=5) as client:
            messages = [b"B5", b"x" * 5000, bytes(range(256)) * 300]
            for i, payload in enumerate(messages):
                client.send(100 + i, payload)
            for i, payload in enumerate(messages):
                reply = client.recv(timeout=5)
                assert reply is not None and (reply.ptype, reply.payload) == (100 + i, payload)
            assert client.stats.messages_delivered == 3
        for _ in range(100):
            if any(e.kind == "closed" for e in seen):
                break
            threading.Event().wait(0.02)
    kinds = [e.kind for e in seen]
    assert kinds[0] == "connected" and kinds.count("message") == 3 and kinds[-1] == "closed"


def test_recv_times_out_when_nothing_comes():
    with running(seqlink.serve("127.0.0.1", 0, config=FAST), on_event=lambda s, e: None) as server:
        with seqlink.connect(*server.address, config=FAST, timeout=5) as client:
            with pytest.raises(TimeoutError):
                client.recv(timeout=0.1)


def test_connecting_to_a_silent_port_times_out():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        config = seqlink.ConnectionConfig(connect_timeout_ms=300)
        with pytest.raises((seqlink.ConnectTimeoutError, TimeoutError)):
            seqlink.connect(*silent.getsockname(), config=config, timeout=5)
    finally:
        silent.close()


def test_the_client_sees_the_server_go_away():
    server = seqlink.serve("127.0.0.1", 0, config=FAST)
    with running(server, on_event=lambda s, e: None):
        client = seqlink.connect(*server.address, config=FAST, timeout=5)
    # the server aborted every connection when it closed
    with pytest.raises(seqlink.ResetError):
        while client.recv(timeout=5) is not None:
            pass
    client.abort()


def test_a_seed_000_client_speaks_to_the_tcp_server_with_the_basic_profile():
    seen: List[seqlink.ServerEvent] = []

    def answer(server: seqlink.Server, event: seqlink.ServerEvent) -> None:
        if event.kind == "connected":
            event.peer.send(PacketType.MSG_WELCOME, b"Welcome")
        elif event.kind == "message" and event.message is not None and event.message.ptype == PacketType.CMD_FIRE:
            event.peer.send(PacketType.MSG_RESULT, b"HIT " + event.message.payload)

    with running(seqlink.serve("127.0.0.1", 0, transport="tcp", basic_after_ms=100), answer, seen) as server:
        session = seqlink.BasicSession()
        with socket.create_connection(server.address, timeout=5) as raw:
            raw.settimeout(5)
            got: List[seqlink.Packet] = []
            decoder = seqlink.StreamDecoder()
            while not got:  # the server speaks first after its silence
                got += decoder.feed(raw.recv(4096))
            assert (got[0].seq, got[0].ptype, got[0].payload) == (0, PacketType.MSG_WELCOME, b"Welcome")
            raw.sendall(session.encode(PacketType.CMD_FIRE, b"B5"))
            while len(got) < 2:
                got += decoder.feed(raw.recv(4096))
            assert (got[1].seq, got[1].payload) == (1, b"HIT B5")
    assert seen[0].peer.basic is not None
    assert [e.kind for e in seen[:2]] == ["connected", "message"]


def test_a_seed_000_client_that_speaks_first_is_served_at_once():
    def answer(server: seqlink.Server, event: seqlink.ServerEvent) -> None:
        if event.kind == "message" and event.message is not None:
            event.peer.send(PacketType.MSG_INFO, b"got " + event.message.payload)

    with running(seqlink.serve("127.0.0.1", 0, transport="tcp", basic_after_ms=None), answer) as server:
        session = seqlink.BasicSession()
        with socket.create_connection(server.address, timeout=5) as raw:
            raw.settimeout(5)
            raw.sendall(session.encode(PacketType.CMD_PLACE, b"R"))
            decoder = seqlink.StreamDecoder()
            got: List[seqlink.Packet] = []
            while not got:
                got += decoder.feed(raw.recv(4096))
            assert got[0] == seqlink.Packet(0, PacketType.MSG_INFO, b"got R")


@pytest.mark.parametrize("transport, config", [("udp", FAST), ("tcp", FAST_TCP)])
def test_asyncio_client_and_server_echo(transport, config):
    async def handler(conn: seqlink.aio.Connection) -> None:
        async for message in conn:
            await conn.send(message.ptype, message.payload)

    async def main() -> List[bytes]:
        server = await seqlink.aio.serve("127.0.0.1", 0, handler, transport=transport, config=config)
        async with server:
            conn = await seqlink.aio.connect(*server.address, transport=transport, config=config, timeout=5)
            async with conn:
                payloads = [b"one", b"two" * 1000, b"three" * 20000]
                for p in payloads:
                    await conn.send(100, p)
                return [(await conn.recv(timeout=5)).payload for _ in payloads]

    assert asyncio.run(asyncio.wait_for(main(), 30)) == [b"one", b"two" * 1000, b"three" * 20000]


def test_asyncio_client_fails_with_the_refusal_of_a_full_server():
    async def main() -> None:
        config = seqlink.EndpointConfig(connection=FAST, max_connections=1)

        async def hold(conn: seqlink.aio.Connection) -> None:
            await asyncio.sleep(10)

        server = await seqlink.aio.serve("127.0.0.1", 0, hold, config=config)
        async with server:
            first = await seqlink.aio.connect(*server.address, config=FAST, timeout=5)
            with pytest.raises(seqlink.RefusedError) as caught:
                await seqlink.aio.connect(*server.address, config=FAST, timeout=5)
            assert caught.value.peer_code == seqlink.PeerCode.SERVER_FULL
            first.abort()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_asyncio_and_blocking_sides_interoperate():
    async def main(address) -> bytes:
        conn = await seqlink.aio.connect(*address, config=FAST, timeout=5)
        async with conn:
            await conn.send(PacketType.CMD_FIRE, b"C3")
            reply = await conn.recv(timeout=5)
            return reply.payload

    with running(seqlink.serve("127.0.0.1", 0, config=FAST)) as server:
        assert asyncio.run(asyncio.wait_for(main(server.address), 30)) == b"C3"


def test_a_seed_000_client_that_never_reads_is_disconnected_not_buffered_forever():
    seen: List[seqlink.ServerEvent] = []
    blob = bytes(60_000)

    def flood(server: seqlink.Server, event: seqlink.ServerEvent) -> None:
        if event.kind == "connected":
            for _ in range(300):  # 18 MB: more than the socket buffers and the server's bound
                if not event.peer.open:
                    return
                try:
                    event.peer.send(PacketType.MSG_BOARD_OWN, blob)
                except seqlink.ConnectionFailedError:
                    return

    with running(seqlink.serve("127.0.0.1", 0, transport="tcp", basic_after_ms=50), flood, seen) as server:
        with socket.create_connection(server.address, timeout=5):
            for _ in range(250):
                if any(e.kind == "failed" for e in seen):
                    break
                threading.Event().wait(0.02)
    failed = [e for e in seen if e.kind == "failed"]
    assert failed and failed[0].peer.basic is not None and "read nothing" in str(failed[0].error)


def test_a_blocking_server_admits_whom_its_admit_function_accepts():
    asked: List[seqlink.Incoming] = []

    def admit(incoming: seqlink.Incoming) -> "bool | int":
        asked.append(incoming)
        return len(asked) == 1 or seqlink.PeerCode.SERVER_FULL  # the first client only

    config = seqlink.EndpointConfig(connection=FAST)
    with running(seqlink.serve("127.0.0.1", 0, config=config, admit=admit)) as server:
        assert config.auto_accept, "the caller's configuration is left as it was"
        with seqlink.connect(*server.address, config=FAST, timeout=5) as first:
            first.send(100, b"in")
            assert first.recv(timeout=5).payload == b"in"
            with pytest.raises(seqlink.RefusedError) as refused:
                seqlink.connect(*server.address, config=FAST, timeout=5)
            assert refused.value.peer_code == seqlink.PeerCode.SERVER_FULL
    assert len(asked) == 2 and asked[0].peer[0] == "127.0.0.1"


def test_an_asyncio_server_refuses_what_its_admit_function_refuses():
    async def main() -> None:
        async def handler(conn: seqlink.aio.Connection) -> None:
            await conn.recv()

        server = await seqlink.aio.serve("127.0.0.1", 0, handler, config=FAST, admit=lambda incoming: False)
        async with server:
            with pytest.raises(seqlink.RefusedError) as refused:
                await seqlink.aio.connect(*server.address, config=FAST, timeout=5)
            assert refused.value.peer_code == seqlink.PeerCode.REFUSED

    asyncio.run(asyncio.wait_for(main(), 30))


def test_an_asyncio_tcp_server_serves_seed_000_clients_too():
    async def handler(conn: seqlink.aio.Connection) -> None:
        if conn.basic:
            await conn.send(PacketType.MSG_WELCOME, b"Welcome")
        async for message in conn:
            await conn.send(PacketType.MSG_RESULT, b"HIT " + message.payload)

    async def seed_000_client(address, speaks_first: bool) -> List[seqlink.Packet]:
        reader, writer = await asyncio.open_connection(*address)
        session, decoder, got = seqlink.BasicSession(), seqlink.StreamDecoder(), []
        if speaks_first:
            writer.write(session.encode(PacketType.CMD_FIRE, b"A1"))
        else:  # waits for the server to speak after its silence
            while not got:
                got += decoder.feed(await reader.read(4096))
            writer.write(session.encode(PacketType.CMD_FIRE, b"B5"))
        while len(got) < 2:
            got += decoder.feed(await reader.read(4096))
        writer.close()
        return got

    async def main() -> None:
        server = await seqlink.aio.serve("127.0.0.1", 0, handler, transport="tcp", basic_after_ms=100)
        async with server:
            silent = await seed_000_client(server.address, speaks_first=False)
            assert [(p.seq, p.payload) for p in silent] == [(0, b"Welcome"), (1, b"HIT B5")]
            talker = await seed_000_client(server.address, speaks_first=True)
            assert [(p.seq, p.payload) for p in talker] == [(0, b"Welcome"), (1, b"HIT A1")]
            conn = await seqlink.aio.connect(*server.address, transport="tcp", config=FAST_TCP, timeout=5)
            async with conn:
                await conn.send(100, b"C3")
                assert (await conn.recv(timeout=5)).payload == b"HIT C3"

    asyncio.run(asyncio.wait_for(main(), 30))


def test_an_asyncio_server_serves_a_full_table_of_clients_at_once():
    async def handler(conn: seqlink.aio.Connection) -> None:
        async for message in conn:
            await conn.send(message.ptype, message.payload)

    async def client(address, i: int) -> List[bytes]:
        conn = await seqlink.aio.connect(*address, config=FAST, timeout=10)
        async with conn:
            for j in range(20):
                await conn.send(100, b"%d-%d " % (i, j) * 50)
            return [(await conn.recv(timeout=10)).payload for _ in range(20)]

    async def main() -> List[List[bytes]]:
        config = seqlink.EndpointConfig(connection=FAST, max_connections=16)
        async with await seqlink.aio.serve("127.0.0.1", 0, handler, config=config) as server:
            return await asyncio.gather(*(client(server.address, i) for i in range(16)))

    results = asyncio.run(asyncio.wait_for(main(), 60))
    assert results == [[b"%d-%d " % (i, j) * 50 for j in range(20)] for i in range(16)]
