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
    opened_on: dt.date | None = None  # the act's date (default today)


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
            today: dt.date = context["today"]
            last_year = today.year + policy.ROUND_YEARS_AHEAD
            if not policy.FIRST_ROUND_YEAR <= command.year <= last_year:
                raise RuleViolation(
                    "LT-3",
                    f"selection rounds run from {policy.FIRST_ROUND_YEAR}, one a year, and are "
                    f"opened at most {policy.ROUND_YEARS_AHEAD} year(s) ahead",
                    fields={"year": [f"Must be from {policy.FIRST_ROUND_YEAR} to {last_year}."]},
                )
            opened_on = command.opened_on or today
            if not policy.PROGRAMME_START <= opened_on <= today:
                raise RuleViolation(
                    "LT-3",
                    "a round is opened on a day from the rules' effective date "
                    f"({policy.PROGRAMME_START.isoformat()}) to today",
                    fields={
                        "opened_on": [
                            f"Must be from {policy.PROGRAMME_START.isoformat()} to today."
                        ]
                    },
                )
            latest = dt.date(command.year + policy.ROUND_WINDOW_YEARS_AFTER, 12, 31)
            if command.window_opens < policy.PROGRAMME_START:
                raise RuleViolation(
                    "LT-8",
                    "no submission window opens before the rules took effect",
                    fields={
                        "window_opens": [
                            f"Must not be before {policy.PROGRAMME_START.isoformat()}."
                        ]
                    },
                )
            if command.window_closes > latest:
                raise RuleViolation(
                    "LT-8",
                    f"the {command.year} round's window closes by {latest.isoformat()}",
                    fields={"window_closes": [f"Must not be after {latest.isoformat()}."]},
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
                        "opened_on": opened_on,
                    },
                    ("LT-3", "LT-8"),
                )
            ]
    raise TypeError(f"unknown command {command!r}")


def stream(year: int) -> str:
    return f"round-{year}"


selection_round = Decider("round", Round(), evolve, decide, policy.POLICY_VERSION)
