"""A terminal Battleship client: over seqlink, or (``--basic``) speaking only
seed 000, as the seed's own client does.

Answer the server's prompts: ``R`` or ``M`` to place ships, a cell such as
``A1`` and ``H`` or ``V`` for manual placement, a cell such as ``B5`` to
fire, ``Y`` or ``N`` to play again; ``quit`` leaves at any time.
"""

from __future__ import annotations

import argparse
import queue
import socket
import sys
import threading
from typing import List, Optional, Tuple

import seqlink
from seqlink import PacketType as T

from game import PROMPT_AGAIN, PROMPT_COORD, PROMPT_FIRE, PROMPT_PLACE

Received = Tuple[int, str]


class SeqlinkLink:
    """The game's messages over a seqlink connection (TCP)."""

    def __init__(self, host: str, port: int) -> None:
        self.client = seqlink.connect(host, port, transport="tcp", timeout=10)

    def send(self, ptype: int, text: str = "") -> None:
        self.client.send(ptype, text.encode())

    def receive(self, timeout: float) -> Optional[List[Received]]:
        """What arrived within `timeout` seconds; None once the server closed."""
        try:
            message = self.client.recv(timeout=timeout)
        except TimeoutError:
            return []
        except seqlink.ConnectionFailedError:
            return None
        if message is None:
            return None
        return [(message.ptype, message.payload.decode(errors="replace"))]

    def close(self) -> None:
        self.client.close(timeout=1)


class Seed000Link:
    """The game's messages as seed 000 packets (the basic profile) over a plain TCP socket."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.session = seqlink.BasicSession()

    def send(self, ptype: int, text: str = "") -> None:
        self.sock.sendall(self.session.encode(ptype, text.encode()))

    def receive(self, timeout: float) -> Optional[List[Received]]:
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return []
        except OSError:
            return None
        if not chunk:
            return None
        out = []
        for outcome in self.session.feed(chunk):
            if outcome.kind == "deliver" and outcome.packet is not None:
                out.append((outcome.packet.ptype, outcome.packet.payload.decode(errors="replace")))
        return out

    def close(self) -> None:
        self.sock.close()


def command_for(prompt: str, line: str) -> Tuple[int, str]:
    """The packet type an answer takes, from the last prompt the server sent."""
    if line.strip().lower() in ("q", "quit", "exit"):
        return T.CMD_QUIT, ""
    if PROMPT_PLACE in prompt:
        return T.CMD_PLACE, line
    if PROMPT_COORD in prompt:
        return T.CMD_COORD, line
    if "Orientation" in prompt:
        return T.CMD_ORIENT, line
    if PROMPT_AGAIN in prompt:
        return T.CMD_PLAY_AGAIN, line
    return T.CMD_FIRE, line


LABELS = {
    T.MSG_BOARD_OWN: "Your board",
    T.MSG_BOARD_OPP: "Opponent's board",
    T.MSG_RESULT: "Result",
    T.MSG_GAME_OVER: "GAME OVER",
    T.ERR_MSG: "Error",
    T.MSG_SPECTATOR: "Spectator",
}


def show(ptype: int, text: str) -> None:
    label = LABELS.get(ptype)
    if ptype in (T.MSG_BOARD_OWN, T.MSG_BOARD_OPP):
        print(f"{label}:\n{text}")
    else:
        print(f"[{label}] {text}" if label else text)


def play(link) -> None:
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in sys.stdin], daemon=True).start()
    prompt = ""
    while True:
        received = link.receive(0.1)
        if received is None:
            print("The server closed the connection.")
            return
        for ptype, text in received:
            show(ptype, text)
            if ptype == T.MSG_INFO:
                prompt = text
        while not lines.empty():
            ptype, text = command_for(prompt, lines.get().strip())
            link.send(ptype, text)
            if ptype == T.CMD_QUIT:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description="Battleship client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--basic", action="store_true", help="speak only seed 000 (no seqlink handshake)")
    args = parser.parse_args()
    link = Seed000Link(args.host, args.port) if args.basic else SeqlinkLink(args.host, args.port)
    try:
        play(link)
    except KeyboardInterrupt:
        link.send(T.CMD_QUIT)
    finally:
        link.close()


if __name__ == "__main__":
    main()

__all__ = ["SeqlinkLink", "Seed000Link", "command_for", "PROMPT_FIRE"]
