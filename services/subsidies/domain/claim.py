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

TM-1: the measures run 2020–2022 (``policy.tm_span``, extended by ``context["tm_extension"]`` when
a notice extended them). A claim whose act (the hire, the founding, the internships; the filing,
for a loan or a base's award) falls outside is refused, and so is an approval in a year whose fund
has no budget under TM-1. Every act carries its date (``filed_on``, ``decided_on``, ``paid_on``,
today by default), bounded by ``dates.act_date``; a fact's date is not after the filing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.subsidies.domain import measures, policy
from services.subsidies.domain.dates import act_date
from services.subsidies.domain.fund import Position, require_year
from shared.decider import Decider, Event, NewEvent
from shared.errors import RuleViolation


@dataclass(frozen=True)
class FileClaim:
    claim_id: str
    measure: str
    party_id: str
    party_name: str
    facts: dict[str, Any]  # the measure's facts, typed (dates as date)
    filed_on: dt.date | None = None  # None: today


@dataclass(frozen=True)
class DecideClaim:
    approve: bool
    reasons: tuple[str, ...] = ()
    decided_on: dt.date | None = None  # None: today


@dataclass(frozen=True)
class PayClaim:
    payment_reference: str
    paid_on: dt.date | None = None  # None: today


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
    filed_on: dt.date | None = None
    last_act_on: dt.date | None = None  # the latest act's date: filing, decision, payment


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
                filed_on=p["filed_on"],
                last_act_on=p["filed_on"],
            )
        case "MeasureClaimRejected":
            return replace(state, status="rejected", last_act_on=p["rejected_on"])
        case "MeasureClaimApproved":
            return replace(
                state,
                status="approved",
                fund=p["fund"],
                fiscal_year=p["fiscal_year"],
                last_act_on=p["approved_on"],
            )
        case "MeasureClaimPaid":
            return replace(state, status="paid", last_act_on=p["paid_on"])
    return state


def decide(command: Command, state: Claim, context: Mapping[str, Any]) -> list[NewEvent]:
    match command:
        case FileClaim():
            return _file(command, state, context)
        case DecideClaim():
            return _decide(command, state, context)
        case PayClaim():
            return _pay(command, state, context["today"])
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
    today: dt.date = context["today"]
    filed_on = act_date(
        command.filed_on,
        field="filed_on",
        clause="TM-1",
        today=today,
        programme_start=policy.TM_PROGRAMME_START,
        programme="the Ten Measures",
        previous=state.last_act_on,
        previous_act="the rejection of the earlier filing",
    )
    span = _within_span(command.measure, command.facts, filed_on, context.get("tm_extension"))
    _check_fact_dates(command.measure, command.facts, filed_on)
    calc = measures.MEASURES[command.measure].calculate(
        command.facts, {**context, "filed_on": filed_on}
    )
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
                "eligibility": [*calc.eligibility, span],
                "facts": {k: v for k, v in command.facts.items() if v is not None},
                "filed_on": filed_on,
            },
            (command.measure, "TM-1"),
        )
    ]


def _dates(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    """Every date among the facts, with its path."""
    if isinstance(value, dt.date):
        return [(path, value)]
    if isinstance(value, Mapping):
        return [found for k, v in value.items() for found in _dates(v, (*path, k))]
    if isinstance(value, (list, tuple)):
        return [found for i, v in enumerate(value) for found in _dates(v, (*path, i))]
    return []


def _check_fact_dates(measure: str, facts: Mapping[str, Any], filed_on: dt.date) -> None:
    """A fact's date is not after the claim's filing (nor today), and not before
    ``policy.FACT_DATES_FROM``."""
    for path, day in _dates(facts):
        name = ".".join(map(str, path))
        if day > filed_on:
            measures.refuse(
                measure,
                f"{name} {day} is after the claim's filing on {filed_on}: a claim states what "
                f"has happened",
                *path,
            )
        if day < policy.FACT_DATES_FROM:
            measures.refuse(measure, f"{name} {day} is before {policy.FACT_DATES_FROM}", *path)


def _within_span(
    measure: str, facts: Mapping[str, Any], filed_on: dt.date, extension: Any
) -> measures.Finding:
    """TM-1: the claim's act lies within the Ten Measures' span; the finding that says so."""
    start, until, span = policy.tm_span(extension)
    spec = measures.MEASURES[measure]
    acts = spec.acts(facts) or [(("filed_on",), filed_on, spec.filing_act)]
    for path, day, what in acts:
        if not start <= day <= until:
            measures.refuse(
                "TM-1",
                f"{what} on {day} is outside the Ten Measures' span {span}: no claim under "
                f"{measure} can be taken for it",
                *path,
            )
    days = sorted(day for _, day, _ in acts)
    when_ = f"on {days[0]}" if days[0] == days[-1] else f"from {days[0]} to {days[-1]}"
    what = acts[0][2] if len(acts) == 1 else f"{len(acts)} acts"
    return measures.finding("TM-1", f"{what} {when_}: within the Ten Measures' span {span}")


def _decide(command: DecideClaim, state: Claim, context: Mapping[str, Any]) -> list[NewEvent]:
    if state.status != "filed":
        raise RuleViolation(
            state.measure or "TM-1",
            f"the claim is {state.status}: only a filed claim can be approved or rejected",
        )
    assert state.measure is not None  # a filed claim
    ids = {"claim_id": state.claim_id, "measure": state.measure, "party_id": state.party_id}
    today: dt.date = context["today"]
    decided_on = act_date(
        command.decided_on,
        field="decided_on",
        clause=state.measure,
        today=today,
        programme_start=policy.TM_PROGRAMME_START,
        programme="the Ten Measures",
        previous=state.last_act_on,
        previous_act="the claim's filing",
    )
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
                {**ids, "reasons": list(command.reasons), "rejected_on": decided_on},
                (state.measure,),
            )
        ]
    fund = fund_of(state.measure)
    clauses: tuple[str, ...] = (state.measure,)
    if fund is not None:
        require_year(
            fund,
            decided_on.year,
            today,
            context.get("tm_extension"),
            field="decided_on",
            what=f"an approval on {decided_on} is charged to its fiscal year, and ",
        )
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
                "fiscal_year": decided_on.year,
                "approved_on": decided_on,
            },
            clauses,
        )
    ]


def _pay(command: PayClaim, state: Claim, today: dt.date) -> list[NewEvent]:
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
    paid_on = act_date(
        command.paid_on,
        field="paid_on",
        clause=clause,
        today=today,
        programme_start=policy.TM_PROGRAMME_START,
        programme="the Ten Measures",
        previous=state.last_act_on,
        previous_act="the claim's approval",
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
                "paid_on": paid_on,
            },
            (clause,),
        )
    ]


claim = Decider("claim", Claim(), evolve, decide, policy.POLICY_VERSION)
