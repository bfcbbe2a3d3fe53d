"""Money as the subsidies service writes it: integer fen, shown as yuan, and the lines of a
calculated amount, each citing its clause."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict


class Line(TypedDict):
    """One line of a breakdown."""

    clause: str
    description: str
    amount_fen: int


def yuan(fen: int) -> str:
    """Fen as yuan text: 123456 -> '1,234.56'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def line(clause: str, description: str, amount_fen: int) -> Line:
    """One line of a breakdown (a deduction is negative)."""
    return {"clause": clause, "description": description, "amount_fen": amount_fen}


def clauses_of(lines: Iterable[Line]) -> tuple[str, ...]:
    """The clauses a breakdown cites, in order, once each."""
    return tuple(dict.fromkeys(x["clause"] for x in lines))
