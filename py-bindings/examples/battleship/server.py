"""Seed 000's Battleship over seqlink: a server for two players and any
number of spectators.

It listens on one TCP port for both kinds of clients: seqlink clients
(``client.py``) and clients that speak only seed 000 (the basic profile: no
handshake, sequence numbers from 0). Run it, then two (or more) clients::

    python examples/battleship/server.py --port 5000
    python examples/battleship/client.py --port 5000          # seqlink
    python examples/battleship/client.py --port 5000 --basic  # seed 000 only
"""

from __future__ import annotations

import argparse
import random
import threading
from typing import Dict, List, Optional

import seqlink
from seqlink import PacketType as T

from game import (
    CLASSIC_FLEET,
    PROMPT_AGAIN,
    PROMPT_FIRE,
    PROMPT_ORIENT,
    PROMPT_PLACE,
    SMALL_FLEET,
    Board,
    Cell,
    cell_name,
    parse_cell,
)


class Player:
    """One client: a player (``phase`` says where in the game) or a spectator."""

    def __init__(self, peer: seqlink.Peer, name: str) -> None:
        self.peer = peer
        self.name = name
        self.phase = "waiting"  # waiting, choose, coord, orient, placed, turn, wait, again, spectator
        self.board: Optional[Board] = None
        self.next_ship = 0
        self.start: Optional[Cell] = None
        self.again: Optional[bool] = None

    def say(self, ptype: int, text: str) -> None:
        try:
            self.peer.send(ptype, text.encode())
        except seqlink.Error:
            pass  # the client is gone: its "closed" event follows


class BattleshipServer:
    """The game, driven by the events of a :class:`seqlink.Server`."""

    def __init__(self, server: seqlink.Server, *, size: int = 10, fleet=CLASSIC_FLEET, seed: Optional[int] = None) -> None:
        self.server = server
        self.size = size
        self.fleet = fleet
        self.rng = random.Random(seed)
        self.clients: Dict[int, Player] = {}
        self.players: List[Player] = []  # the two at the table
        self.spectators: List[Player] = []
        self.arrivals = 0

    # ---- events ----------------------------------------------------------------

    def handle(self, event: seqlink.ServerEvent) -> None:
        key = id(event.peer)
        if event.kind == "connected":
            self.arrivals += 1
            self.join(Player(event.peer, f"Player {self.arrivals}"))
        elif event.kind in ("closed", "failed"):
            player = self.clients.pop(key, None)
            if player is not None:
                self.leave(player, gone=True)
        elif event.kind == "message" and event.message is not None and key in self.clients:
            self.command(self.clients[key], event.message.ptype, event.message.payload.decode(errors="replace"))

    def run(self, stop: Optional[threading.Event] = None) -> None:
        """Serves until `stop` is set (forever without one)."""
        while stop is None or not stop.is_set():
            for event in self.server.poll(timeout=0.05):
                self.handle(event)

    # ---- arrivals and departures ---------------------------------------------

    def join(self, player: Player) -> None:
        self.clients[id(player.peer)] = player
        player.say(T.MSG_WELCOME, f"Welcome to Battleship, {player.name}!")
        if len(self.players) < 2:
            self.players.append(player)
            if len(self.players) == 2:
                self.start_game()
            else:
                player.say(T.MSG_WAITING, "Waiting for an opponent...")
        else:
            player.phase = "spectator"
            self.spectators.append(player)
            player.say(T.MSG_SPECTATOR, f"You are watching {self.players[0].name} against {self.players[1].name}.")

    def leave(self, player: Player, gone: bool = False) -> None:
        self.clients.pop(id(player.peer), None)
        if not gone:
            player.peer.close()
        if player in self.spectators:
            self.spectators.remove(player)
            return
        if player not in self.players:
            return
        self.players.remove(player)
        for other in self.players:
            if other.phase in ("choose", "coord", "orient", "placed", "turn", "wait"):
                other.say(T.MSG_GAME_OVER, f"{player.name} left the game. You win!")
            else:
                other.say(T.MSG_INFO, f"{player.name} left.")
            self.tell_spectators(f"{player.name} left the game.")
            other.phase, other.board = "waiting", None
            other.say(T.MSG_WAITING, "Waiting for an opponent...")
        if self.spectators and len(self.players) < 2:
            newcomer = self.spectators.pop(0)
            newcomer.say(T.MSG_INFO, "A seat is free: you are playing now.")
            self.players.append(newcomer)
            if len(self.players) == 2:
                self.start_game()
            else:
                newcomer.phase = "waiting"
                newcomer.say(T.MSG_WAITING, "Waiting for an opponent...")

    # ---- the game --------------------------------------------------------------

    def opponent(self, player: Player) -> Player:
        return self.players[1] if self.players[0] is player else self.players[0]

    def tell_spectators(self, text: str) -> None:
        for spectator in self.spectators:
            spectator.say(T.MSG_SPECTATOR, text)

    def start_game(self) -> None:
        first, second = self.players
        for player in self.players:
            player.board, player.next_ship, player.again = Board(self.size), 0, None
            player.phase = "choose"
            player.say(T.MSG_INFO, f"{first.name} against {second.name}. {PROMPT_PLACE}")
        self.tell_spectators(f"New game: {first.name} against {second.name}.")

    def command(self, player: Player, ptype: int, text: str) -> None:
        if ptype == T.CMD_QUIT or (ptype == T.CMD_PLAY_AGAIN and text.strip().upper() == "N"):
            player.say(T.MSG_INFO, "Goodbye!")
            self.leave(player)
            return
        handlers = {
            (T.CMD_PLACE, "choose"): self.choose,
            (T.CMD_COORD, "coord"): self.coordinate,
            (T.CMD_ORIENT, "orient"): self.orientation,
            (T.CMD_FIRE, "turn"): self.fire,
            (T.CMD_PLAY_AGAIN, "again"): self.play_again,
        }
        handler = handlers.get((ptype, player.phase))
        if handler is not None:
            handler(player, text.strip().upper())
        elif ptype == T.CMD_FIRE and player.phase == "wait":
            player.say(T.ERR_MSG, "Not your turn.")
        else:
            player.say(T.ERR_MSG, f"Unexpected command {ptype} now.")

    def choose(self, player: Player, text: str) -> None:
        assert player.board is not None
        if text == "R":
            player.board.place_randomly(self.fleet, self.rng)
            self.placed(player)
        elif text == "M":
            player.phase = "coord"
            self.ask_coordinate(player)
        else:
            player.say(T.ERR_MSG, "Answer M or R.")
            player.say(T.MSG_INFO, PROMPT_PLACE)

    def ask_coordinate(self, player: Player) -> None:
        name, length = self.fleet[player.next_ship]
        player.say(T.MSG_INFO, f"Place your {name} ({length} cells): coordinate of its first cell?")

    def coordinate(self, player: Player, text: str) -> None:
        cell = parse_cell(text, self.size)
        if cell is None:
            player.say(T.ERR_MSG, f"{text!r} is not a cell of the board.")
            self.ask_coordinate(player)
            return
        player.start, player.phase = cell, "orient"
        player.say(T.MSG_INFO, PROMPT_ORIENT.format(ship=self.fleet[player.next_ship][0]))

    def orientation(self, player: Player, text: str) -> None:
        assert player.board is not None and player.start is not None
        name, length = self.fleet[player.next_ship]
        if text not in ("H", "V") or not player.board.place(name, player.start, length, text):
            player.say(T.ERR_MSG, f"The {name} does not fit there.")
            player.phase = "coord"
            self.ask_coordinate(player)
            return
        player.next_ship += 1
        if player.next_ship < len(self.fleet):
            player.say(T.MSG_BOARD_OWN, player.board.render(reveal=True))
            player.phase = "coord"
            self.ask_coordinate(player)
        else:
            self.placed(player)

    def placed(self, player: Player) -> None:
        assert player.board is not None
        player.phase = "placed"
        player.say(T.MSG_BOARD_OWN, player.board.render(reveal=True))
        other = self.opponent(player)
        if other.phase != "placed":
            player.say(T.MSG_WAITING, f"Waiting for {other.name} to place their ships...")
            return
        first, second = self.players
        first.phase, second.phase = "turn", "wait"
        self.tell_spectators("The ships are placed. Battle!")
        second.say(T.MSG_INFO, f"Waiting for {first.name}'s shot.")
        first.say(T.MSG_INFO, PROMPT_FIRE)

    def fire(self, player: Player, text: str) -> None:
        other = self.opponent(player)
        assert other.board is not None
        cell = parse_cell(text, self.size)
        result = "INVALID" if cell is None else other.board.fire(cell)
        if cell is None or result == "ALREADY":
            player.say(T.ERR_MSG, f"You cannot fire at {text!r}." if cell is None else f"You already fired at {text}.")
            player.say(T.MSG_INFO, PROMPT_FIRE)
            return
        player.say(T.MSG_RESULT, result)
        player.say(T.MSG_BOARD_OPP, other.board.render(reveal=False))
        other.say(T.MSG_INFO, f"{player.name} fired at {cell_name(cell)}: {result}")
        other.say(T.MSG_BOARD_OWN, other.board.render(reveal=True))
        self.tell_spectators(f"{player.name} fired at {cell_name(cell)}: {result}\n{other.board.render(reveal=False)}")
        if other.board.defeated:
            self.game_over(winner=player, loser=other)
            return
        player.phase, other.phase = "wait", "turn"
        player.say(T.MSG_INFO, f"Waiting for {other.name}'s shot.")
        other.say(T.MSG_INFO, PROMPT_FIRE)

    def game_over(self, winner: Player, loser: Player) -> None:
        assert winner.board is not None and loser.board is not None
        winner.say(T.MSG_GAME_OVER, "You win! Every enemy ship is sunk.")
        loser.say(T.MSG_GAME_OVER, f"You lose. {winner.name} sank your fleet.")
        loser.say(T.MSG_BOARD_OPP, winner.board.render(reveal=True))
        self.tell_spectators(f"Game over: {winner.name} wins.")
        for player in self.players:
            player.phase, player.again = "again", None
            player.say(T.MSG_INFO, PROMPT_AGAIN)

    def play_again(self, player: Player, text: str) -> None:
        if text not in ("Y", "N"):
            player.say(T.ERR_MSG, "Answer Y or N.")
            player.say(T.MSG_INFO, PROMPT_AGAIN)
            return
        player.again = True
        if all(p.again for p in self.players) and len(self.players) == 2:
            self.start_game()
        else:
            player.say(T.MSG_WAITING, "Waiting for your opponent's answer...")


def main() -> None:
    parser = argparse.ArgumentParser(description="Battleship server (seqlink and seed 000 clients on one TCP port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--small", action="store_true", help="a 5x5 board with two ships")
    args = parser.parse_args()
    with seqlink.serve(args.host, args.port, transport="tcp") as server:
        print(f"Battleship on {server.address[0]}:{server.address[1]} (TCP)", flush=True)
        game = BattleshipServer(server, **({"size": 5, "fleet": SMALL_FLEET} if args.small else {}))
        try:
            game.run()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
