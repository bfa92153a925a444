"""py-bindings/README.md: its Python examples run as written (the echo
server's fixed port 9000 becomes a free one)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def block(first_line: str) -> str:
    found = [b for b in python_blocks() if first_line in b]
    assert len(found) == 1, f"README has {len(found)} python blocks with {first_line!r}"
    return found[0]


def run(code: str, timeout: float = 30) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_python_block_is_one_of_the_tested_ones():
    assert len(python_blocks()) == 5


def test_the_packet_quick_start_prints_the_checksum_error():
    out = run(block("seqlink.encode_packet(1, PacketType.CMD_FIRE"))
    assert out.startswith("3 bad checksum: packet corrupted (received 0xc5bc, computed")


def test_the_blocking_echo_server_answers_its_client():
    port = str(free_udp_port())
    server = block("seqlink.serve(").replace("9000", port)
    client = block("seqlink.connect(").replace("9000", port)
    assert "9000" not in server + client
    serving = subprocess.Popen([sys.executable, "-c", server], stderr=subprocess.PIPE, text=True)
    try:
        assert run(client) == "b'hello'\n"
    finally:
        serving.kill()
        _, errors = serving.communicate(timeout=10)
    assert "Traceback" not in errors, errors


def test_the_asyncio_example_echoes_ping():
    assert run(block("async def echo")) == "b'ping'\n"


def test_the_sans_io_example_connects_and_delivers_hello():
    out = run(block("seqlink.Endpoint(")).splitlines()
    assert out == ["<Event.connected>", "Message(ptype=100, payload=b'hello', delivery=Delivery.RELIABLE)"]


@pytest.mark.parametrize("command", re.findall(r"python (py-bindings/examples/\S+\.py)", README.read_text()))
def test_every_example_the_readme_names_exists(command: str):
    assert (README.parents[1] / command).is_file(), command
