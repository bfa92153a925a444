"""Seed 004's test cases against examples/buffered_echo (client and server on
seqlink's length-prefixed framing)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Iterator, Tuple

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "buffered_echo"))

from buffered_client import BufferedClient  # noqa: E402
from buffered_server import BufferedServer  # noqa: E402

BUFFER = 64
SPEECH = "Four score and seven years ago our fathers brought forth on this continent, a new nation, "


@pytest.fixture
def server() -> Iterator[Tuple[BufferedServer, threading.Thread]]:
    server = BufferedServer("127.0.0.1", 0, BUFFER)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    yield server, thread
    server.keep_running = False
    thread.join(5)
    server.shutdown()


def client_of(server: BufferedServer) -> BufferedClient:
    return BufferedClient(*server.address, BUFFER)


def echoed(client: BufferedClient, message: str) -> Tuple[str, bool]:
    client.send_message(message)
    return client.receive_message()


def test_seed_004_example_loses_its_first_ten_characters(server):
    # seed 004: [30][Four score and seven years ago] comes back as a 20-byte payload
    client = client_of(server[0])
    reply, ok = echoed(client, "Four score and seven years ago")
    assert ok and reply == " and seven years ago" and len(reply.encode()) == 20
    client.shutdown()


@pytest.mark.parametrize("length", [BUFFER // 2, BUFFER + 7, BUFFER * 9 + 3], ids=["short", "medium", "long"])
def test_short_medium_and_long_messages(server, length):
    client = client_of(server[0])
    message = (SPEECH * 20)[:length]
    assert echoed(client, message) == (message[10:], True)
    client.shutdown()


def test_three_messages_in_series(server):
    client = client_of(server[0])
    for i in range(3):
        message = f"message {i}: " + SPEECH * (i + 1)
        assert echoed(client, message) == (message[10:], True)
    client.shutdown()


def test_three_messages_in_parallel(server):
    client = client_of(server[0])
    messages = [f"parallel {i}: " + SPEECH * (i + 1) for i in range(3)]
    for message in messages:
        client.send_message(message)
    assert [client.receive_message() for _ in messages] == [(m[10:], True) for m in messages]
    client.shutdown()


def test_the_client_detects_a_server_shutdown(server):
    buffered, thread = server
    client = client_of(buffered)
    assert echoed(client, "0123456789still here") == ("still here", True)
    buffered.keep_running = False
    for i in range(5):
        client.send_message(f"0123456789 message {i} after the shutdown")
    thread.join(5)
    assert not thread.is_alive()
    replies = [client.receive_message() for _ in range(6)]
    assert ("", False) in replies
    client.shutdown()


def test_the_server_serves_the_next_client_after_a_disconnect(server):
    first = client_of(server[0])
    assert echoed(first, "0123456789first") == ("first", True)
    first.shutdown()
    second = client_of(server[0])
    assert echoed(second, "0123456789second") == ("second", True)
    second.shutdown()
