"""Battleship rules, apart from any networking: boards, ships, placement, shots."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

Cell = Tuple[int, int]  # (row, column), from 0

CLASSIC_FLEET = (("Carrier", 5), ("Battleship", 4), ("Cruiser", 3), ("Submarine", 3), ("Destroyer", 2))
SMALL_FLEET = (("Cruiser", 3), ("Destroyer", 2))

# The prompts the server sends (MSG_INFO); clients answer by their meaning.
PROMPT_PLACE = "Place your ships: M (manual) or R (random)?"
PROMPT_COORD = "coordinate of its first cell"  # "Place your Cruiser (3 cells): coordinate of its first cell?"
PROMPT_ORIENT = "Orientation of your {ship}: H or V?"
PROMPT_FIRE = "Your turn: fire at a coordinate (e.g. B5)."
PROMPT_AGAIN = "Play again? Y or N"


def parse_cell(text: str, size: int) -> Optional[Cell]:
    """``"B5"`` -> (1, 4) on a board of `size`, or None when it is not a cell of it."""
    text = text.strip().upper()
    if len(text) < 2 or not text[0].isalpha() or not text[1:].isdigit():
        return None
    row, column = ord(text[0]) - ord("A"), int(text[1:]) - 1
    return (row, column) if 0 <= row < size and 0 <= column < size else None


def cell_name(cell: Cell) -> str:
    return f"{chr(ord('A') + cell[0])}{cell[1] + 1}"


@dataclass
class Ship:
    name: str
    cells: Set[Cell]
    hits: Set[Cell] = field(default_factory=set)

    @property
    def sunk(self) -> bool:
        return self.hits == self.cells


@dataclass
class Board:
    """One player's waters: their ships and the shots they took."""

    size: int = 10
    ships: List[Ship] = field(default_factory=list)
    shots: Dict[Cell, bool] = field(default_factory=dict)  # cell -> hit

    def cells_of(self, start: Cell, length: int, orientation: str) -> Optional[Set[Cell]]:
        """The cells a ship would take, or None when it leaves the board or overlaps a ship."""
        drow, dcol = (0, 1) if orientation.upper() == "H" else (1, 0)
        cells = {(start[0] + i * drow, start[1] + i * dcol) for i in range(length)}
        taken = set().union(*(s.cells for s in self.ships)) if self.ships else set()
        if any(not (0 <= r < self.size and 0 <= c < self.size) for r, c in cells) or cells & taken:
            return None
        return cells

    def place(self, name: str, start: Cell, length: int, orientation: str) -> bool:
        cells = self.cells_of(start, length, orientation)
        if cells is None:
            return False
        self.ships.append(Ship(name, cells))
        return True

    def place_randomly(self, fleet, rng: random.Random) -> None:
        self.ships.clear()
        for name, length in fleet:
            while not self.place(name, (rng.randrange(self.size), rng.randrange(self.size)), length, rng.choice("HV")):
                pass

    def fire(self, cell: Cell) -> str:
        """Takes a shot: ``"MISS"``, ``"HIT"``, ``"SUNK <ship>"``, or ``"ALREADY"`` for a cell shot before."""
        if cell in self.shots:
            return "ALREADY"
        for ship in self.ships:
            if cell in ship.cells:
                ship.hits.add(cell)
                self.shots[cell] = True
                return f"SUNK {ship.name}" if ship.sunk else "HIT"
        self.shots[cell] = False
        return "MISS"

    @property
    def defeated(self) -> bool:
        return bool(self.ships) and all(s.sunk for s in self.ships)

    def render(self, reveal: bool) -> str:
        """The board as text: ``S`` ship (only when `reveal`), ``X`` hit, ``o`` miss, ``.`` water."""
        ships = set().union(*(s.cells for s in self.ships)) if reveal and self.ships else set()
        header = "   " + " ".join(f"{c + 1:>2}" for c in range(self.size))
        rows = [header]
        for r in range(self.size):
            marks = []
            for c in range(self.size):
                shot = self.shots.get((r, c))
                marks.append("X" if shot else "o" if shot is False else "S" if (r, c) in ships else ".")
            rows.append(f"{chr(ord('A') + r)}  " + " ".join(f"{m:>2}" for m in marks))
        return "\n".join(rows)
