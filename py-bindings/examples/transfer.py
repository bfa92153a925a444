"""Reliable file transfer over UDP with seqlink, with a tqdm progress bar.

Receive files into a directory, then send one::

    python examples/transfer.py receive --port 9000 --out received/
    python examples/transfer.py send some.file --host 127.0.0.1 --port 9000

The sender offers the file (name, size, SHA-256), streams it in chunks
(seqlink fragments, orders and retransmits them; ``send`` waits while the
window is full, which paces the progress bar), and waits for the receiver's
verdict on the checksum.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, BinaryIO, Dict, Optional

from tqdm import tqdm

import seqlink

OFFER, CHUNK, END, VERDICT = 100, 101, 102, 103
CHUNK_SIZE = 32 * 1024


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def send_file(
    path: Path,
    host: str,
    port: int,
    *,
    progress: bool = True,
    config: Optional[seqlink.ConnectionConfig] = None,
    timeout: float = 60.0,
) -> Dict[str, Any]:
    """Sends `path` to a receiver; returns the receiver's verdict (``ok`` True when the SHA-256 matched)."""
    size = path.stat().st_size
    offer = {"name": path.name, "size": size, "sha256": sha256_of(path)}
    with seqlink.connect(host, port, config=config, timeout=timeout) as link:
        link.send(OFFER, json.dumps(offer).encode())
        with path.open("rb") as f, tqdm(
            total=size, unit="B", unit_scale=True, desc=path.name, disable=not progress, file=sys.stderr
        ) as bar:
            for block in iter(lambda: f.read(CHUNK_SIZE), b""):
                link.send(CHUNK, block, timeout=timeout)
                bar.update(len(block))
        link.send(END)
        reply = link.recv(timeout=timeout)
        if reply is None or reply.ptype != VERDICT:
            raise seqlink.ConnectionFailedError("the receiver closed without a verdict")
        verdict: Dict[str, Any] = json.loads(reply.payload)
    return verdict


class Incoming:
    """A file being received from one peer."""

    def __init__(self, out_dir: Path, offer: Dict[str, Any]) -> None:
        self.offer = offer
        self.path = out_dir / Path(str(offer["name"])).name  # never outside out_dir
        self.file: BinaryIO = self.path.open("wb")
        self.digest = hashlib.sha256()
        self.received = 0

    def write(self, block: bytes) -> None:
        self.file.write(block)
        self.digest.update(block)
        self.received += len(block)

    def finish(self) -> Dict[str, Any]:
        self.file.close()
        ok = self.received == self.offer["size"] and self.digest.hexdigest() == self.offer["sha256"]
        return {"name": self.path.name, "size": self.received, "sha256": self.digest.hexdigest(), "ok": ok}


def receive_files(server: seqlink.Server, out_dir: Path, *, once: bool = False, idle_timeout: Optional[float] = None) -> int:
    """Stores every file offered to `server` in `out_dir`; returns how many
    arrived intact. With ``once``, returns after the first file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    transfers: Dict[int, Incoming] = {}
    intact = 0
    for event in server.events(timeout=idle_timeout):
        key = id(event.peer)
        message = event.message
        if event.kind == "message" and message is not None:
            if message.ptype == OFFER:
                transfers[key] = Incoming(out_dir, json.loads(message.payload))
            elif message.ptype == CHUNK and key in transfers:
                transfers[key].write(message.payload)
            elif message.ptype == END and key in transfers:
                verdict = transfers.pop(key).finish()
                intact += verdict["ok"]
                event.peer.send(VERDICT, json.dumps(verdict).encode())
                print(f"received {verdict['name']}: {verdict['size']} bytes, {'ok' if verdict['ok'] else 'CORRUPT'}")
                if once:
                    server.flush()
                    # let the verdict arrive before the server goes away
                    for _ in server.events(timeout=0.5):
                        pass
                    return intact
        elif event.kind in ("closed", "failed") and key in transfers:
            transfers.pop(key).file.close()
    return intact


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    receive = commands.add_parser("receive", help="receive files into a directory")
    receive.add_argument("--host", default="127.0.0.1")
    receive.add_argument("--port", type=int, default=9000)
    receive.add_argument("--out", type=Path, default=Path("received"))
    receive.add_argument("--once", action="store_true", help="exit after the first file")
    send = commands.add_parser("send", help="send one file")
    send.add_argument("file", type=Path)
    send.add_argument("--host", default="127.0.0.1")
    send.add_argument("--port", type=int, default=9000)
    send.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.command == "receive":
        with seqlink.serve(args.host, args.port) as server:
            print(f"receiving on {server.address[0]}:{server.address[1]} into {args.out}/", flush=True)
            return 0 if receive_files(server, args.out, once=args.once) or not args.once else 1
    verdict = send_file(args.file, args.host, args.port, progress=not args.quiet)
    print(f"sent {verdict['name']}: {verdict['size']} bytes, receiver says {'ok' if verdict['ok'] else 'CORRUPT'}")
    return 0 if verdict["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
