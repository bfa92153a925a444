"""examples/battleship: a full game between two scripted clients, one over
seqlink and one that speaks only seed 000 (its packets built and checked here
with struct, as the seed describes, without seqlink), with a spectator."""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

import seqlink

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "battleship"))

import game  # noqa: E402
from client import SeqlinkLink, command_for  # noqa: E402
from server import BattleshipServer  # noqa: E402

T = seqlink.PacketType
CELLS = [f"{row}{col}" for row in "ABCDE" for col in range(1, 6)]


class Seed000Only:
    """A client that knows nothing but seed 000: 9-byte header, Internet checksum, seq from 0."""

    def __init__(self, address: Tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        self.next_seq = 0
        self.expected = 0
        self.buffer = b""
        self.bad: List[str] = []

    @staticmethod
    def checksum(data: bytes) -> int:
        if len(data) % 2:
            data += b"\x00"
        total = sum(struct.unpack(f"!{len(data) // 2}H", data))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF

    def send(self, ptype: int, text: str = "") -> None:
        payload = text.encode()
        head = struct.pack("!IBH", self.next_seq, ptype, len(payload))
        self.sock.sendall(head + struct.pack("!H", self.checksum(head + payload)) + payload)
        self.next_seq += 1

    def receive(self, timeout: float) -> Optional[List[Tuple[int, str]]]:
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return []
        if not chunk:
            return None
        self.buffer += chunk
        out = []
        while len(self.buffer) >= 9:
            seq, ptype, length, check = struct.unpack("!IBHH", self.buffer[:9])
            if len(self.buffer) < 9 + length:
                break
            payload, self.buffer = self.buffer[9 : 9 + length], self.buffer[9 + length :]
            if self.checksum(self.buffer[:0] + struct.pack("!IBH", seq, ptype, length) + payload) != check:
                self.bad.append(f"checksum of packet {seq}")
            if seq != self.expected:
                self.bad.append(f"packet {seq}, expected {self.expected}")
            self.expected = seq + 1
            out.append((ptype, payload.decode()))
        return out

    def close(self) -> None:
        self.sock.close()


class Bot:
    """Answers every prompt of the server from a script; keeps every message."""

    def __init__(self, link, placement: str, manual=(), first_shot: Optional[str] = None) -> None:
        self.link = link
        self.placement = placement
        self.manual = list(manual)
        self.shots = ([first_shot] if first_shot else []) + list(CELLS)
        self.seen: List[Tuple[int, str]] = []
        self.error: Optional[BaseException] = None
        self.leaving = False
        self.go = threading.Event()  # set: answer prompts
        self.go.set()

    def answer(self, prompt: str) -> Optional[str]:
        if game.PROMPT_PLACE in prompt:
            return self.placement
        if game.PROMPT_COORD in prompt:
            return self.manual[0][0]
        if "Orientation" in prompt:
            return self.manual.pop(0)[1]
        if game.PROMPT_FIRE in prompt:
            return self.shots.pop(0)
        if game.PROMPT_AGAIN in prompt:
            self.leaving = True  # no more answers: a seat may free up for the spectator meanwhile
            return "N"
        return None

    def run(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline and (received := self.link.receive(0.05)) is not None:
                for ptype, text in received:
                    self.seen.append((ptype, text))
                    reply = self.answer(text) if ptype == T.MSG_INFO and not self.leaving else None
                    if reply is not None and self.go.wait(10):
                        self.link.send(command_for(text, reply)[0], reply)
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            self.link.close()

    def texts(self, ptype: int) -> List[str]:
        return [text for p, text in self.seen if p == ptype]


def wait_for(condition, seconds: float = 10) -> None:
    done = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        done.wait(0.02)
    raise AssertionError("timed out")


def test_a_full_game_between_a_seqlink_client_and_a_seed_000_client():
    server = seqlink.serve("127.0.0.1", 0, transport="tcp", basic_after_ms=100)
    battleship = BattleshipServer(server, size=5, fleet=game.SMALL_FLEET, seed=1)
    stop = threading.Event()
    serving = threading.Thread(target=battleship.run, args=(stop,), daemon=True)
    serving.start()
    threads = []
    try:
        modern = Bot(SeqlinkLink(*server.address), "M", manual=[("A1", "H"), ("C1", "V")])
        threads.append(threading.Thread(target=modern.run))
        threads[-1].start()
        wait_for(lambda: modern.texts(T.MSG_WAITING))  # Player 1 is seated
        legacy_link = Seed000Only(server.address)
        legacy = Bot(legacy_link, "R", first_shot="Z9")
        legacy.go.clear()  # the game waits for the spectator
        threads.append(threading.Thread(target=legacy.run))
        threads[-1].start()
        wait_for(lambda: modern.texts(T.MSG_INFO) and legacy.texts(T.MSG_INFO))
        watcher = SeqlinkLink(*server.address)
        watched: List[str] = []

        def watch() -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any("Game over" in t for t in watched):
                got = watcher.receive(0.05)
                if got is None:
                    break
                watched.extend(text for ptype, text in got if ptype == T.MSG_SPECTATOR)
                if watched:
                    legacy.go.set()
            watcher.close()

        threads.append(threading.Thread(target=watch))
        threads[-1].start()
        for thread in threads:
            thread.join(40)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        stop.set()
        serving.join(5)
        server.close()

    assert modern.error is None and legacy.error is None
    assert modern.texts(T.MSG_WELCOME) == ["Welcome to Battleship, Player 1!"]
    assert legacy.texts(T.MSG_WELCOME) == ["Welcome to Battleship, Player 2!"]
    # manual placement: a cruiser from A1 to the right, a destroyer from C1 down
    own = modern.texts(T.MSG_BOARD_OWN)[1].splitlines()  # once both ships are placed
    assert own[1].split()[1:4] == ["S", "S", "S"] and own[3].split()[1] == own[4].split()[1] == "S"
    # the seed 000 client's bad shot was answered with an error, then the game went on
    assert any("Z9" in text for text in legacy.texts(T.ERR_MSG))
    results = modern.texts(T.MSG_RESULT) + legacy.texts(T.MSG_RESULT)
    assert {"HIT", "MISS"} <= set(results) and any(r.startswith("SUNK") for r in results)
    endings = sorted(modern.texts(T.MSG_GAME_OVER) + legacy.texts(T.MSG_GAME_OVER))
    assert endings[0].startswith("You lose") and endings[1].startswith("You win")
    assert "Goodbye!" in modern.texts(T.MSG_INFO) and "Goodbye!" in legacy.texts(T.MSG_INFO)
    # every packet to the seed 000 client was whole, checked and in sequence
    assert legacy_link.bad == [] and legacy_link.expected > 20
    assert watched[0].startswith("You are watching") and any("Game over" in text for text in watched)


@pytest.mark.parametrize(
    "prompt, line, ptype",
    [
        (game.PROMPT_PLACE, "R", T.CMD_PLACE),
        ("Place your Cruiser (3 cells): coordinate of its first cell?", "A1", T.CMD_COORD),
        ("Orientation of your Cruiser: H or V?", "H", T.CMD_ORIENT),
        (game.PROMPT_FIRE, "B5", T.CMD_FIRE),
        (game.PROMPT_AGAIN, "Y", T.CMD_PLAY_AGAIN),
        ("anything", "quit", T.CMD_QUIT),
    ],
)
def test_the_terminal_client_answers_each_prompt_with_its_command(prompt, line, ptype):
    assert command_for(prompt, line)[0] == ptype


def test_boards_sink_ships_and_refuse_overlaps():
    board = game.Board(5)
    assert board.place("Cruiser", (0, 0), 3, "H") and not board.place("Destroyer", (0, 2), 2, "V")
    assert not board.place("Destroyer", (4, 4), 2, "H")
    assert board.place("Destroyer", (2, 0), 2, "V")
    assert [board.fire(c) for c in [(0, 0), (0, 1), (4, 4), (0, 0), (0, 2)]] == ["HIT", "HIT", "MISS", "ALREADY", "SUNK Cruiser"]
    assert not board.defeated
    board.fire((2, 0))
    assert board.fire((3, 0)) == "SUNK Destroyer" and board.defeated
    assert game.parse_cell("B5", 5) == (1, 4) and game.parse_cell("F1", 5) is None and game.parse_cell("A0", 5) is None
