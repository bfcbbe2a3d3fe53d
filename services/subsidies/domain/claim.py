"""The claim aggregate (申请): one Ten Measures subsidy application, on the stream of its claim key
(measure, party and period; see ``measures.claim_id``) — filed with its eligibility and calculated
amount, approved or rejected by the Bureau of Human Resources and Social Security, paid by finance.

Because the stream is the key, "the same person or enterprise cannot be paid twice for the same
measure and period" holds under concurrency: a second claim reads this stream (and is refused), or
races the first to the same stream version (and loses to the store's uniqueness guard). A
rejected claim may be filed again on the same stream, corrected.

Approval charges the measure's fund for the fiscal year of the approval: ``context["fund"]`` is
that fund's ``Position`` and an approval it cannot cover is refused (TM-1), not queued: an
approval is a decision an officer can take again once finance raises the budget.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.subsidies.domain import measures, policy
from services.subsidies.domain.fund import Position
from shared.decider import Decider, Event, NewEvent
from shared.errors import RuleViolation


@dataclass(frozen=True)
class FileClaim:
    claim_id: str
    measure: str
    party_id: str
    party_name: str
    facts: dict[str, Any]  # the measure's facts, typed (dates as date)


@dataclass(frozen=True)
class DecideClaim:
    approve: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class PayClaim:
    payment_reference: str
    paid_on: dt.date


@dataclass(frozen=True)
class Claim:
    status: str = "none"  # none, filed, rejected, approved, paid
    claim_id: str | None = None
    measure: str | None = None
    party_id: str | None = None
    kind: str | None = None
    amount_fen: int = 0
    fund: str | None = None
    fiscal_year: int | None = None


Command = FileClaim | DecideClaim | PayClaim


def fund_of(measure: str) -> str | None:
    """The fund a measure's approval is charged to (None: TM-6, nothing is paid)."""
    return policy.MEASURE_FUND[measure]


def evolve(state: Claim, event: Event) -> Claim:
    p = event.payload
    match event.event_type:
        case "MeasureClaimFiled":
            return Claim(
                status="filed",
                claim_id=p["claim_id"],
                measure=p["measure"],
                party_id=p["party_id"],
                kind=p["kind"],
                amount_fen=p["amount_fen"],
            )
        case "MeasureClaimRejected":
            return replace(state, status="rejected")
        case "MeasureClaimApproved":
            return replace(state, status="approved", fund=p["fund"], fiscal_year=p["fiscal_year"])
        case "MeasureClaimPaid":
            return replace(state, status="paid")
    return state


def decide(command: Command, state: Claim, context: Mapping[str, Any]) -> list[NewEvent]:
    match command:
        case FileClaim():
            return _file(command, state, context)
        case DecideClaim():
            return _decide(command, state, context)
        case PayClaim():
            return _pay(command, state)
    raise TypeError(f"unknown command {command!r}")


def _file(command: FileClaim, state: Claim, context: Mapping[str, Any]) -> list[NewEvent]:
    if state.status not in ("none", "rejected"):
        raise RuleViolation(
            command.measure,
            f"{command.party_id} already has claim "
            f"{state.claim_id} ({state.status}) for this measure "
            f"and period: it cannot be paid twice",
            fields={"party_id": ["Already claimed for this measure and period."]},
            details={"claim_id": state.claim_id, "status": state.status},
        )
    calc = measures.MEASURES[command.measure].calculate(command.facts, context)
    return [
        NewEvent(
            "MeasureClaimFiled",
            {
                "claim_id": command.claim_id,
                "measure": command.measure,
                "party_id": command.party_id,
                "party_name": command.party_name,
                "kind": calc.kind,
                "amount_fen": calc.amount_fen,
                "breakdown": calc.breakdown,
                "eligibility": calc.eligibility,
                "facts": {k: v for k, v in command.facts.items() if v is not None},
                "filed_on": context["today"],
            },
            (command.measure,),
        )
    ]


def _decide(command: DecideClaim, state: Claim, context: Mapping[str, Any]) -> list[NewEvent]:
    if state.status != "filed":
        raise RuleViolation(
            state.measure or "TM-1",
            f"the claim is {state.status}: only a filed claim can be approved or rejected",
        )
    assert state.measure is not None  # a filed claim
    ids = {"claim_id": state.claim_id, "measure": state.measure, "party_id": state.party_id}
    today: dt.date = context["today"]
    if not command.approve:
        if not command.reasons:
            raise RuleViolation(
                state.measure,
                "a rejection must give its reasons",
                fields={"reasons": ["Required when rejecting."]},
            )
        return [
            NewEvent(
                "MeasureClaimRejected",
                {**ids, "reasons": list(command.reasons), "rejected_on": today},
                (state.measure,),
            )
        ]
    fund = fund_of(state.measure)
    clauses: tuple[str, ...] = (state.measure,)
    if fund is not None:
        position: Position = context["fund"]
        position.require_room(state.amount_fen)
        clauses += (policy.BUDGET_CLAUSE[fund],)
    return [
        NewEvent(
            "MeasureClaimApproved",
            {
                **ids,
                "kind": state.kind,
                "amount_fen": state.amount_fen,
                "fund": fund,
                "fiscal_year": today.year,
                "approved_on": today,
            },
            clauses,
        )
    ]


def _pay(command: PayClaim, state: Claim) -> list[NewEvent]:
    clause = state.measure or "TM-1"  # a claim never filed has no measure
    if state.kind == measures.LOAN_CEILING:
        raise RuleViolation(
            clause,
            "a guaranteed loan is disbursed by the lending bank: nothing is paid from a fund",
        )
    if state.status != "approved":
        raise RuleViolation(
            clause, f"the claim is {state.status}: only an approved, unpaid claim can be paid"
        )
    return [
        NewEvent(
            "MeasureClaimPaid",
            {
                "claim_id": state.claim_id,
                "measure": state.measure,
                "party_id": state.party_id,
                "amount_fen": state.amount_fen,
                "fund": state.fund,
                "fiscal_year": state.fiscal_year,
                "payment_reference": command.payment_reference,
                "paid_on": command.paid_on,
            },
            (clause,),
        )
    ]


claim = Decider("claim", Claim(), evolve, decide, policy.POLICY_VERSION)
