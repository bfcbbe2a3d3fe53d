"""Funds (资金): one per source and fiscal year (TM-1: budgets are per fiscal year; LT-10.1: the
Leading Talent subsidy comes from prefecture finance).

The budget is event-sourced on the fund's own stream (``BudgetSet``, set by finance). What is
committed against it is stated by the decisions themselves: ``SubsidyGranted`` and
``MeasureClaimApproved`` name the fund and fiscal year they charge, ``SubsidyGrantCancelled``
names what it releases. The service sums them in a read model inside the same transactions, reads
that ``Position`` under a per-fund lock and hands it to the deciders as ``context["fund"]``, so no
two decisions can both take the last of a budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.subsidies.domain import policy
from services.subsidies.domain.money import yuan
from shared.decider import Decider, Event, NewEvent
from shared.errors import RuleViolation


def stream_id(source: str, fiscal_year: int) -> str:
    return f"fund-{source}-{fiscal_year}"


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


@dataclass(frozen=True)
class Fund:
    budget_fen: int | None = None


def evolve(state: Fund, event: Event) -> Fund:
    if event.event_type == "BudgetSet":
        return replace(state, budget_fen=event.payload["amount_fen"])
    return state


def decide(command: SetBudget, state: Fund, context: Mapping[str, Any]) -> list[NewEvent]:
    match command:
        case SetBudget():
            position: Position = context["fund"]
            clause = policy.BUDGET_CLAUSE[command.source]
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
                    },
                    (clause,),
                )
            ]
    raise TypeError(f"unknown command {command!r}")


fund = Decider("fund", Fund(), evolve, decide, policy.POLICY_VERSION)
