"""The queue of LT-10.1 grants waiting for a fund's budget: which of them the fund now has room
for, in turn.

A certification that finds prefecture finance's budget short queues its grant (``grant.py``).
When the queue moves (finance raises the budget, or a cancelled grant gives its commitment back),
the grants are granted first queued first while the fund has room, each charging the fund before
the next is looked at; the first in line that does not fit stops the queue: nobody behind it jumps
the queue, not even a smaller grant that would fit (LT-10.1, under the budget order of TM-1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from services.subsidies.domain import policy
from services.subsidies.domain.fund import Position

# The clause the queue's order binds under: the budget clause of prefecture finance's fund, which
# pays the LT-10.1 subsidy.
CLAUSE = policy.BUDGET_CLAUSE["prefecture_finance"]


@dataclass(frozen=True)
class QueuedGrant:
    """A grant waiting in the queue, and what it would charge the fund."""

    grant_id: str
    amount_fen: int


def in_turn(queue: Iterable[QueuedGrant], position: Position) -> list[str]:
    """The ids of the grants of ``queue`` (first queued first) that the fund at ``position`` has
    room for, granted one after the other: the longest head of the queue whose amounts fit
    together. The first grant that does not fit ends it, whatever waits behind it (CLAUSE)."""
    granted: list[str] = []
    for waiting in queue:
        if not position.has_room(waiting.amount_fen):
            break
        granted.append(waiting.grant_id)
        position = replace(position, committed_fen=position.committed_fen + waiting.amount_fen)
    return granted
