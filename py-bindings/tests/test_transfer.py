"""examples/transfer.py: a file crosses UDP on loopback intact, with its progress bar."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import seqlink

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import transfer  # noqa: E402


def test_a_two_megabyte_file_arrives_intact(tmp_path):
    source = tmp_path / "random.bin"
    source.write_bytes(os.urandom(2 * 1024 * 1024 + 123))
    out = tmp_path / "out"
    server = seqlink.serve("127.0.0.1", 0)
    results = []
    receiver = threading.Thread(target=lambda: results.append(transfer.receive_files(server, out, once=True, idle_timeout=30)))
    receiver.start()
    try:
        verdict = transfer.send_file(source, *server.address, progress=False, timeout=30)
    finally:
        receiver.join(30)
        server.close()
    assert verdict["ok"] and verdict["size"] == source.stat().st_size
    assert (out / "random.bin").read_bytes() == source.read_bytes()
    assert results == [1]


def test_the_command_line_sends_a_file_with_a_progress_bar(tmp_path):
    source = tmp_path / "notes.txt"
    source.write_bytes(b"seqlink\n" * 50_000)
    out = tmp_path / "out"
    server = seqlink.serve("127.0.0.1", 0)
    host, port = server.address
    receiver = threading.Thread(target=transfer.receive_files, args=(server, out), kwargs={"once": True, "idle_timeout": 30})
    receiver.start()
    try:
        run = subprocess.run(
            [sys.executable, str(EXAMPLES / "transfer.py"), "send", str(source), "--host", host, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        receiver.join(30)
        server.close()
    assert run.returncode == 0, run.stderr
    assert "receiver says ok" in run.stdout
    assert "notes.txt" in run.stderr and "100%" in run.stderr  # tqdm's bar
    assert (out / "notes.txt").read_bytes() == source.read_bytes()
