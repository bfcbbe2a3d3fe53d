"""The selection round (选拔认定, LT-3, LT-8): one a year from 2022, with its quota of at most 10
and the window in which the counties accept applications. Stream ``round-<year>``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.applications.domain import policy
from shared.decider import Decider, Event, NewEvent
from shared.errors import RuleViolation


@dataclass(frozen=True)
class OpenRound:
    year: int
    quota: int
    window_opens: dt.date
    window_closes: dt.date


@dataclass(frozen=True)
class Round:
    """The round of a year; all None until it is opened."""

    year: int | None = None
    quota: int | None = None
    window_opens: dt.date | None = None
    window_closes: dt.date | None = None

    @property
    def opened(self) -> bool:
        return self.year is not None

    def accepts(self, day: dt.date) -> bool:
        """The window's both ends count (以内). Asked of an opened round only."""
        assert self.window_opens is not None and self.window_closes is not None
        return self.window_opens <= day <= self.window_closes


def evolve(state: Round, event: Event) -> Round:
    if event.event_type == "RoundOpened":
        p = event.payload
        return Round(p["year"], p["quota"], p["window_opens"], p["window_closes"])
    return state


def decide(command: OpenRound, state: Round, context: Mapping[str, Any]) -> list[NewEvent]:
    match command:
        case OpenRound():
            if state.opened:
                raise RuleViolation(
                    "LT-8",
                    f"the {command.year} round is already open: one selection round a year",
                    fields={"year": ["A round for this year exists."]},
                )
            if command.year < policy.FIRST_ROUND_YEAR:
                raise RuleViolation(
                    "LT-3",
                    f"selection rounds start in {policy.FIRST_ROUND_YEAR}",
                    fields={"year": [f"Must be {policy.FIRST_ROUND_YEAR} or later."]},
                )
            if not 1 <= command.quota <= policy.ROUND_QUOTA_MAX:
                raise RuleViolation(
                    "LT-8",
                    f"a round certifies at most {policy.ROUND_QUOTA_MAX} (不超过)",
                    fields={"quota": [f"Must be between 1 and {policy.ROUND_QUOTA_MAX}."]},
                )
            if command.window_closes < command.window_opens:
                raise RuleViolation(
                    "LT-8",
                    "the submission window closes before it opens",
                    fields={"window_closes": ["Must not be before window_opens."]},
                )
            return [
                NewEvent(
                    "RoundOpened",
                    {
                        "year": command.year,
                        "quota": command.quota,
                        "window_opens": command.window_opens,
                        "window_closes": command.window_closes,
                        "opened_on": context["today"],
                    },
                    ("LT-3", "LT-8"),
                )
            ]
    raise TypeError(f"unknown command {command!r}")


def stream(year: int) -> str:
    return f"round-{year}"


selection_round = Decider("round", Round(), evolve, decide, policy.POLICY_VERSION)
