"""The Python drivers against seqlink-std, the Rust drivers, over loopback:
examples/std_peer.rs (built by scripts/test-py.sh; its path in SEQLINK_STD_PEER)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from pathlib import Path
from typing import List

import pytest

import seqlink

DEFAULT = Path(__file__).resolve().parents[1] / "target" / "release" / "examples" / "std_peer"
STD_PEER = Path(os.environ.get("SEQLINK_STD_PEER", DEFAULT))

pytestmark = pytest.mark.skipif(
    not STD_PEER.exists(), reason="build it first: cargo build --release --example std_peer (scripts/test-py.sh does)"
)

MESSAGES = [b"B5", bytes(5000), bytes(range(256)) * 300]
CONFIG = {"udp": seqlink.ConnectionConfig(linger_ms=100), "tcp": seqlink.ConnectionConfig(linger_ms=100, stream=True)}


def start_rust_echo(transport: str) -> "tuple[subprocess.Popen[str], int]":
    process = subprocess.Popen([str(STD_PEER), f"{transport}-echo"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_python_client_talks_to_a_rust_server(transport):
    process, port = start_rust_echo(transport)
    try:
        with seqlink.connect("127.0.0.1", port, transport=transport, config=CONFIG[transport], timeout=10) as client:
            for message in MESSAGES:
                client.send(100, message)
                reply = client.recv(timeout=10)
                assert reply is not None and reply.payload == message
        assert process.wait(5) == 0  # the Rust side saw the close complete
    finally:
        process.kill()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_an_asyncio_client_talks_to_a_rust_server(transport):
    process, port = start_rust_echo(transport)

    async def main() -> List[bytes]:
        conn = await seqlink.aio.connect("127.0.0.1", port, transport=transport, config=CONFIG[transport], timeout=10)
        async with conn:
            replies = []
            for message in MESSAGES:
                await conn.send(100, message)
                replies.append((await conn.recv(timeout=10)).payload)
            return replies

    try:
        assert asyncio.run(asyncio.wait_for(main(), 30)) == MESSAGES
        assert process.wait(5) == 0  # the Rust side saw the close complete
    finally:
        process.kill()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_rust_client_talks_to_a_python_server(transport):
    server = seqlink.serve("127.0.0.1", 0, transport=transport, config=CONFIG[transport])
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            for event in server.poll(timeout=0.02):
                if event.kind == "message" and event.message is not None:
                    event.peer.send(event.message.ptype, event.message.payload)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    try:
        run = subprocess.run(
            [str(STD_PEER), f"{transport}-client", str(server.address[1])], capture_output=True, text=True, timeout=30
        )
        assert run.returncode == 0 and run.stdout.strip() == "OK", run.stderr
    finally:
        stop.set()
        thread.join(5)
        server.close()
