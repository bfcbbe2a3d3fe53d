"""Given / when / then for the pure deciders: no database, no clock, no network.

    state = given(application, ApplicationSubmitted(...), ReviewPassed(...))
    events = when(application, state, Review("qualification_review", True))
    then(events, NewEvent("ReviewPassed", {...}, ("LT-9.2",)))
    refused("LT-9", application, state, Review("inspection", True))

``given`` evolves fake recorded events made from NewEvents (what a decider returns), so a history
can be written by hand or be the output of earlier ``when`` calls. ``then`` compares the event
types, payloads and clauses exactly, and checks every payload against its event contract (the
store would refuse one that does not match).
"""

import datetime as dt
from dataclasses import dataclass

import pytest

from shared.calendar import WorkingDayCalendar
from shared.contracts import load_all
from shared.decider import NewEvent  # noqa: F401  (re-exported for the tests)
from shared.errors import RuleViolation

TODAY = dt.date(2026, 11, 23)
CST = dt.timezone(dt.timedelta(hours=8), "CST")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=CST)
CONTRACTS = load_all()


@dataclass(frozen=True)
class FakeRecorded:
    """The part of a RecordedEvent that ``evolve`` reads."""

    event_type: str
    payload: dict
    stream_version: int
    clauses: tuple = ()


def recorded(*new_events, first_version=1):
    return [
        FakeRecorded(e.event_type, e.payload, first_version + i, tuple(e.clauses))
        for i, e in enumerate(new_events)
    ]


def given(decider, *new_events):
    """The state after ``new_events`` (NewEvents, or lists of them as ``when`` returns)."""
    flat = []
    for e in new_events:
        flat.extend(e if isinstance(e, (list, tuple)) else [e])
    return decider.replay(recorded(*flat))


def context(**overrides):
    ctx = {"today": TODAY, "now": NOW, "calendar": WorkingDayCalendar()}
    ctx.update(overrides)
    return ctx


def when(decider, state, command, **ctx):
    """``decide`` with the default context; keyword arguments replace its entries."""
    return decider.decide(command, state, context(**ctx))


def then(events, *expected):
    """``events`` are exactly ``expected``: same types, payloads and clauses, in order; and each
    payload passes its event contract."""
    actual = [(e.event_type, e.payload, tuple(e.clauses)) for e in events]
    wanted = [(e.event_type, e.payload, tuple(e.clauses)) for e in expected]
    assert [a[0] for a in actual] == [w[0] for w in wanted], "event types differ"
    for a, w in zip(actual, wanted):
        assert a[1] == w[1], f"{a[0]} payload differs"
        assert a[2] == w[2], f"{a[0]} clauses differ"
    conforms(events)


def conforms(events):
    for e in events:
        CONTRACTS.encode(e.event_type, e.payload)  # raises InvalidInput naming the fields


def types(events):
    return [e.event_type for e in events]


def refused(clause, decider, state, command, **ctx):
    """``command`` is refused by a RuleViolation citing ``clause``; returns the violation."""
    with pytest.raises(RuleViolation) as info:
        when(decider, state, command, **ctx)
    assert info.value.clause == clause, (
        f"refused under {info.value.clause}, not {clause}: {info.value.message}"
    )
    return info.value
