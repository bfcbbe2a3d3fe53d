"""The queue of LT-10.1 grants waiting for prefecture finance's budget: when it moves, the grants
are granted first queued first while the fund has room, and the first in line that does not fit
stops it: nobody behind it jumps the queue (LT-10.1, under TM-1's budget order). Money is fen."""

from __future__ import annotations

from dataclasses import replace

from givenwhenthen import NewEvent, given, then, when

from services.subsidies.domain.fund import Position
from services.subsidies.domain.grant import GrantFromQueue, grant
from services.subsidies.domain.queue import CLAUSE, QueuedGrant, in_turn

FULL = 5_000_000  # 50,000.00 CNY
LINE = {
    "clause": "LT-10.1",
    "amount_fen": FULL,
    "description": "one-time entrepreneurship subsidy (一次性创业补贴) from 州财政",
}


def fund(budget: int | None = None, committed: int = 0, queued: int = 0) -> Position:
    return Position("prefecture_finance", 2026, budget, committed, queued)


def waiting(*amounts: int) -> list[QueuedGrant]:
    """Grants g1, g2, … queued in this order, asking these amounts."""
    return [QueuedGrant(f"g{i}", amount) for i, amount in enumerate(amounts, 1)]


def test_the_queue_binds_under_the_lt_subsidy_budget_clause():
    assert CLAUSE == "LT-10.1"


def test_the_grants_that_fit_are_granted_first_queued_first():
    # given three full grants waiting and room for two of them
    queue = waiting(FULL, FULL, FULL)
    # when the queue moves, then the first two are granted, in queue order
    assert in_turn(queue, fund(budget=2 * FULL + 1, queued=3)) == ["g1", "g2"]


def test_every_waiting_grant_is_granted_when_the_fund_covers_them_all():
    assert in_turn(waiting(FULL, FULL), fund(budget=3 * FULL, committed=FULL)) == ["g1", "g2"]


def test_what_is_already_committed_counts_against_the_budget():
    assert in_turn(waiting(FULL), fund(budget=2 * FULL, committed=FULL + 1)) == []


def test_nobody_behind_the_first_in_line_jumps_the_queue():
    # given a full grant at the head and a reduced one (an LT-16 transfer) behind it
    queue = waiting(FULL, 1_000_000)
    # when the fund has room for the smaller one only, then nobody is granted
    assert in_turn(queue, fund(budget=FULL - 1)) == []


def test_the_queue_stops_at_the_first_grant_that_does_not_fit():
    # room for g1 (40,000) and then 20,000: g2 (50,000) does not fit, so g3 (10,000) waits too
    queue = waiting(4_000_000, FULL, 1_000_000)
    assert in_turn(queue, fund(budget=6_000_000)) == ["g1"]


def test_nothing_moves_without_a_budget_or_without_a_queue():
    assert in_turn(waiting(FULL), fund(budget=None)) == []
    assert in_turn(waiting(FULL), fund(budget=0)) == []
    assert in_turn([], fund(budget=10 * FULL)) == []


def test_a_grant_that_takes_the_last_fen_of_the_budget_fits():
    assert in_turn(waiting(FULL, FULL), fund(budget=2 * FULL)) == ["g1", "g2"]


def queued_event(grant_id: str) -> NewEvent:
    return NewEvent(
        "SubsidyGrantQueued",
        {
            "grant_id": grant_id,
            "talent_id": f"talent-{grant_id}",
            "measure": "LT-10.1",
            "amount_fen": FULL,
            "fiscal_year": 2026,
            "fund": "prefecture_finance",
            "reason": "no budget is set for 州财政 (prefecture_finance) 2026",
            "breakdown": [LINE],
        },
        ("LT-10.1",),
    )


def granted_event(grant_id: str) -> NewEvent:
    return NewEvent(
        "SubsidyGranted",
        {
            "grant_id": grant_id,
            "talent_id": f"talent-{grant_id}",
            "measure": "LT-10.1",
            "amount_fen": FULL,
            "fiscal_year": 2026,
            "fund": "prefecture_finance",
            "breakdown": [LINE],
        },
        ("LT-10.1",),
    )


def test_the_grant_decider_grants_each_grant_in_turn_on_the_fund_charged_by_those_before():
    # given three grants queued for lack of a budget, then a budget with room for two
    position = fund(budget=2 * FULL, queued=3)
    grants = {g: given(grant, queued_event(g)) for g in ("g1", "g2", "g3")}
    # when the queue moves, each grant in turn is decided on the fund as charged so far
    turn = in_turn(waiting(FULL, FULL, FULL), position)
    assert turn == ["g1", "g2"]
    for grant_id in turn:
        events = when(grant, grants[grant_id], GrantFromQueue(), fund=position)
        # then it is granted, charging the fund
        then(events, granted_event(grant_id))
        position = replace(position, committed_fen=position.committed_fen + FULL)
    # and the third, which the queue did not reach, would not fit either
    assert when(grant, grants["g3"], GrantFromQueue(), fund=position) == []
