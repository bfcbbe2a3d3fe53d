"""Funds (资金): one per source and fiscal year (TM-1: budgets are per fiscal year; LT-10.1: the
Leading Talent subsidy comes from prefecture finance).

The budget is event-sourced on the fund's own stream (``BudgetSet``, set by finance). What is
committed against it is stated by the decisions themselves: ``SubsidyGranted`` and
``MeasureClaimApproved`` name the fund and fiscal year they charge, ``SubsidyGrantCancelled``
names what it releases. The service sums them in a read model inside the same transactions, reads
that ``Position`` under a per-fund lock and hands it to the deciders as ``context["fund"]``, so no
two decisions can both take the last of a budget.

A fund has budgets only for the fiscal years of the measures it pays (``years``): the Ten
Measures' funds for the years of TM-1's span (2020–2022, or as a recorded extension has it),
prefecture finance from the year the Leading Talent rules took effect; and at most
``policy.BUDGET_YEARS_AHEAD`` years after the current one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.subsidies.domain import policy
from services.subsidies.domain.dates import act_date
from services.subsidies.domain.money import yuan
from shared.decider import Decider, Event, NewEvent
from shared.errors import RuleViolation


def stream_id(source: str, fiscal_year: int) -> str:
    return f"fund-{source}-{fiscal_year}"


def programme_start(source: str) -> tuple[dt.date, str]:
    """The first day of the programme a fund pays, and its name."""
    if policy.BUDGET_CLAUSE[source] == "LT-10.1":
        return policy.LT_PROGRAMME_START, "the Leading Talent rules"
    return policy.TM_PROGRAMME_START, "the Ten Measures"


def years(source: str, today: dt.date, extension: policy.Extension | None) -> tuple[int, int, str]:
    """The fiscal years (first, last) a fund can have a budget for, and how to cite them."""
    ahead = today.year + policy.BUDGET_YEARS_AHEAD
    if policy.BUDGET_CLAUSE[source] == "LT-10.1":
        first = policy.LT_PROGRAMME_START.year
        return first, ahead, f"the Leading Talent rules took effect on {policy.LT_PROGRAMME_START}"
    start, until, span = policy.tm_span(extension)
    return start.year, min(until.year, ahead), f"the Ten Measures run {span}"


def require_year(
    source: str,
    fiscal_year: int,
    today: dt.date,
    extension: policy.Extension | None,
    field: str = "fiscal_year",
    what: str = "",
) -> None:
    """Refuse (under the fund's budget clause, naming ``field``) a fiscal year the fund has no
    budget for."""
    first, last, why = years(source, today, extension)
    if first <= fiscal_year <= last:
        return
    raise RuleViolation(
        policy.BUDGET_CLAUSE[source],
        f"{what}{policy.FUNDS[source]} ({source}) has no budget for {fiscal_year}: {why}; "
        f"its fiscal years are {first} to {last}",
        fields={field: [f"A fiscal year from {first} to {last}."]},
        details={"fund": source, "fiscal_year": fiscal_year, "first": first, "last": last},
    )


@dataclass(frozen=True)
class Position:
    """A fund's budget (None: never set), what decisions have committed against it, and how many
    LT-10.1 grants wait in its queue."""

    source: str
    fiscal_year: int
    budget_fen: int | None = None
    committed_fen: int = 0
    queued: int = 0

    @property
    def available_fen(self) -> int:
        return (self.budget_fen or 0) - self.committed_fen

    def has_room(self, amount_fen: int) -> bool:
        return self.budget_fen is not None and amount_fen <= self.available_fen

    def refusal(self, amount_fen: int) -> RuleViolation | None:
        """Why ``amount_fen`` cannot be charged, naming the budget's clause (None if it can)."""
        if self.has_room(amount_fen):
            return None
        name = f"{policy.FUNDS[self.source]} ({self.source}) {self.fiscal_year}"
        if self.budget_fen is None:
            message = f"no budget is set for {name}"
        else:
            message = (
                f"{name} has {yuan(self.available_fen)} CNY left of its budget of "
                f"{yuan(self.budget_fen)}; {yuan(amount_fen)} is needed"
            )
        return RuleViolation(
            policy.BUDGET_CLAUSE[self.source],
            message,
            details={
                "fund": self.source,
                "fiscal_year": self.fiscal_year,
                "budget_fen": self.budget_fen,
                "committed_fen": self.committed_fen,
                "available_fen": self.available_fen,
                "needed_fen": amount_fen,
            },
        )

    def require_room(self, amount_fen: int) -> None:
        if (refusal := self.refusal(amount_fen)) is not None:
            raise refusal


@dataclass(frozen=True)
class SetBudget:
    source: str
    fiscal_year: int
    amount_fen: int
    reference: str  # the appropriation's document number
    set_on: dt.date | None = None  # None: today


@dataclass(frozen=True)
class Fund:
    budget_fen: int | None = None
    set_on: dt.date | None = None  # the last budget's date (none recorded before dates were)


def evolve(state: Fund, event: Event) -> Fund:
    if event.event_type == "BudgetSet":
        return replace(
            state,
            budget_fen=event.payload["amount_fen"],
            set_on=event.payload.get("set_on") or state.set_on,
        )
    return state


def decide(command: SetBudget, state: Fund, context: Mapping[str, Any]) -> list[NewEvent]:
    match command:
        case SetBudget():
            position: Position = context["fund"]
            clause = policy.BUDGET_CLAUSE[command.source]
            today: dt.date = context["today"]
            require_year(command.source, command.fiscal_year, today, context.get("tm_extension"))
            start, programme = programme_start(command.source)
            set_on = act_date(
                command.set_on,
                field="set_on",
                clause=clause,
                today=today,
                programme_start=start,
                programme=programme,
                previous=state.set_on,
                previous_act="the budget set before it",
            )
            if command.amount_fen < position.committed_fen:
                raise RuleViolation(
                    clause,
                    f"the budget cannot be set below the "
                    f"{yuan(position.committed_fen)} CNY already "
                    f"committed",
                    fields={"amount_fen": [f"At least {position.committed_fen}."]},
                )
            if command.amount_fen == state.budget_fen:
                return []  # the same budget again: nothing changes
            return [
                NewEvent(
                    "BudgetSet",
                    {
                        "fund": command.source,
                        "fiscal_year": command.fiscal_year,
                        "amount_fen": command.amount_fen,
                        "previous_fen": state.budget_fen or 0,
                        "committed_fen": position.committed_fen,
                        "reference": command.reference,
                        "set_on": set_on,
                    },
                    (clause,),
                )
            ]
    raise TypeError(f"unknown command {command!r}")


fund = Decider("fund", Fund(), evolve, decide, policy.POLICY_VERSION)
