"""The grant aggregate (补贴): one stream per talent for the one-time 50,000 CNY of LT-10.1 —
granted (or queued until prefecture finance's budget has room, or declined for a talent
transferred under LT-16), paid, and, after a disqualification, cancelled or recovered with its
repayments (LT-14).

Budget (TM-1 reading applied to LT-10.1's fund): the subsidy is an entitlement of certification,
so a certification that finds the year's prefecture-finance budget short is not refused: the grant
is queued (``SubsidyGrantQueued``) and granted, first queued first, when finance raises the
budget; while any wait, a new certification joins the end of the queue. ``context["fund"]`` is
the fund's ``Position`` (see ``fund.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from services.subsidies.domain import policy
from services.subsidies.domain.fund import Position
from services.subsidies.domain.money import Line, clauses_of, line, yuan
from shared.decider import Decider, Event, NewEvent
from shared.errors import RuleViolation

# prefecture finance (州财政); a fund pays LT-10.1, so the entry is never None
FUND = cast(str, policy.MEASURE_FUND[policy.LT_SUBSIDY_MEASURE])


@dataclass(frozen=True)
class GrantForCertification:
    grant_id: str
    talent_id: str
    certified_on: dt.date
    transferred: bool = False  # a Yixiang talent transferred in under LT-16
    # what the Yixiang scheme already paid as a startup subsidy
    prior_subsidy_fen: int | None = None


@dataclass(frozen=True)
class GrantFromQueue:
    """The fund's budget was raised: grant a queued subsidy if it now fits."""


@dataclass(frozen=True)
class RecordPayment:
    payment_reference: str
    paid_on: dt.date


@dataclass(frozen=True)
class DemandRecovery:
    ground: str
    decided_on: dt.date
    grant_id: str | None = None  # known to the service even before the grant exists
    talent_id: str | None = None


@dataclass(frozen=True)
class RecordRepayment:
    amount_fen: int
    reference: str


@dataclass(frozen=True)
class Grant:
    # none, queued, declined, granted, paid, cancelled, recovery_demanded, recovered
    status: str = "none"
    grant_id: str | None = None
    talent_id: str | None = None
    amount_fen: int = 0
    fund: str | None = None
    fiscal_year: int | None = None
    breakdown: tuple[Line, ...] = ()
    paid_fen: int = 0
    demanded_fen: int = 0
    repaid_fen: int = 0

    @property
    def outstanding_fen(self) -> int:
        return self.demanded_fen - self.repaid_fen


Command = GrantForCertification | GrantFromQueue | RecordPayment | DemandRecovery | RecordRepayment


def for_certification(
    grant_id: str, certified: Mapping[str, Any], clauses: Collection[str], recorded_on: dt.date
) -> GrantForCertification:
    """The grant command a ``TalentCertified`` implies. A Yixiang talent transferred under LT-16
    keeps the original period, so it is recognised by ``origin``, by citing LT-16, or by a period
    that began before these rules took effect (no certification under them can); its subsidy is
    charged to the year the transfer was recorded, not the year its old period began."""
    transferred = (
        certified.get("origin") == "yixiang_transfer"
        or "LT-16" in clauses
        or certified["period_start"] < policy.LT_RULES_EFFECTIVE
    )
    return GrantForCertification(
        grant_id=grant_id,
        talent_id=certified["talent_id"],
        certified_on=recorded_on if transferred else certified["period_start"],
        transferred=transferred,
        prior_subsidy_fen=certified.get("prior_startup_subsidy_fen"),
    )


def evolve(state: Grant, event: Event) -> Grant:
    p = event.payload
    match event.event_type:
        case "SubsidyGrantQueued":
            return replace(
                state,
                status="queued",
                grant_id=p["grant_id"],
                talent_id=p["talent_id"],
                amount_fen=p["amount_fen"],
                fund=p["fund"],
                fiscal_year=p["fiscal_year"],
                breakdown=tuple(p["breakdown"]),
            )
        case "SubsidyGrantDeclined":
            return replace(
                state, status="declined", grant_id=p["grant_id"], talent_id=p["talent_id"]
            )
        case "SubsidyGranted":
            return replace(
                state,
                status="granted",
                grant_id=p["grant_id"],
                talent_id=p["talent_id"],
                amount_fen=p["amount_fen"],
                fund=p.get("fund"),
                fiscal_year=p["fiscal_year"],
            )
        case "SubsidyPaid":
            return replace(state, status="paid", paid_fen=state.paid_fen + p["amount_fen"])
        case "SubsidyGrantCancelled":
            return replace(
                state, status="cancelled", grant_id=p["grant_id"], talent_id=p["talent_id"]
            )
        case "SubsidyRecoveryDemanded":
            return replace(state, status="recovery_demanded", demanded_fen=p["amount_fen"])
        case "SubsidyRepaymentRecorded":
            return replace(state, repaid_fen=state.repaid_fen + p["amount_fen"])
        case "SubsidyRecovered":
            return replace(state, status="recovered")
    return state


def decide(command: Command, state: Grant, context: Mapping[str, Any]) -> list[NewEvent]:
    match command:
        case GrantForCertification():
            return _grant(command, state, context["fund"])
        case GrantFromQueue():
            if state.status != "queued" or not context["fund"].has_room(state.amount_fen):
                return []
            assert state.fiscal_year is not None  # queued in a fiscal year's fund
            return [
                _granted(
                    {"grant_id": state.grant_id, "talent_id": state.talent_id},
                    state.amount_fen,
                    state.fiscal_year,
                    state.breakdown,
                )
            ]
        case RecordPayment():
            if state.status != "granted":
                raise RuleViolation(
                    "LT-10.1",
                    f"the grant is {state.status}: only a granted, unpaid subsidy can be paid",
                )
            return [
                NewEvent(
                    "SubsidyPaid",
                    {
                        "grant_id": state.grant_id,
                        "talent_id": state.talent_id,
                        "amount_fen": state.amount_fen,
                        "payment_reference": command.payment_reference,
                        "paid_on": command.paid_on,
                    },
                    ("LT-10.1",),
                )
            ]
        case DemandRecovery():
            return _demand(command, state)
        case RecordRepayment():
            return _repay(command, state)
    raise TypeError(f"unknown command {command!r}")


def _grant(command: GrantForCertification, state: Grant, position: Position) -> list[NewEvent]:
    if state.status != "none":
        return []  # one grant decision per talent, whatever the redeliveries (LT-10.1)
    ids = {"grant_id": command.grant_id, "talent_id": command.talent_id}
    amount = policy.LT_ENTREPRENEURSHIP_SUBSIDY_FEN
    lines = [
        line(
            "LT-10.1",
            f"one-time entrepreneurship subsidy (一次性创业补贴) from {policy.FUNDS[FUND]}",
            amount,
        )
    ]
    if command.transferred:
        prior = command.prior_subsidy_fen or 0
        if not policy.LT16_TRANSFERRED_TALENTS_GET_SUBSIDY or prior >= amount:
            return [
                NewEvent(
                    "SubsidyGrantDeclined",
                    {**ids, "measure": policy.LT_SUBSIDY_MEASURE, "reason": _declined(prior)},
                    ("LT-16", "LT-10.1"),
                )
            ]
        lines.append(
            line(
                "LT-16",
                "transferred from the Yixiang scheme: less the startup "
                "subsidy it already paid (一次性: once per person)",
                -prior,
            )
        )
        amount -= prior
    year = command.certified_on.year
    if position.has_room(amount) and not position.queued:
        return [_granted(ids, amount, year, lines)]
    if position.queued:
        reason = f"{position.queued} grant(s) wait ahead in the queue of this fund"
    else:
        refusal = position.refusal(amount)
        assert refusal is not None  # the fund has no room
        reason = refusal.message
    return [
        NewEvent(
            "SubsidyGrantQueued",
            {
                **ids,
                "measure": policy.LT_SUBSIDY_MEASURE,
                "amount_fen": amount,
                "fiscal_year": year,
                "fund": FUND,
                "reason": reason,
                "breakdown": lines,
            },
            clauses_of(lines),
        )
    ]


def _declined(prior: int) -> str:
    if not policy.LT16_TRANSFERRED_TALENTS_GET_SUBSIDY:
        return (
            "transferred from the Yixiang scheme (LT-16): the subsidy goes with "
            "certification under these rules"
        )
    return (
        f"transferred from the Yixiang scheme (LT-16), which already paid {yuan(prior)} CNY "
        f"as a startup subsidy: the subsidy is one-time"
    )


def _granted(
    ids: Mapping[str, str | None], amount: int, fiscal_year: int, lines: Sequence[Line]
) -> NewEvent:
    return NewEvent(
        "SubsidyGranted",
        {
            **ids,
            "measure": policy.LT_SUBSIDY_MEASURE,
            "amount_fen": amount,
            "fiscal_year": fiscal_year,
            "fund": FUND,
            "breakdown": list(lines),
        },
        clauses_of(lines),
    )


def _demand(command: DemandRecovery, state: Grant) -> list[NewEvent]:
    if state.status == "none" and command.grant_id:
        # The disqualification arrived before the certification (they travel on different
        # queues): record the cancellation so the late certification grants nothing (LT-14).
        return [
            NewEvent(
                "SubsidyGrantCancelled",
                {
                    "grant_id": command.grant_id,
                    "talent_id": command.talent_id,
                    "ground": command.ground,
                },
                ("LT-14", command.ground),
            )
        ]
    ids = {"grant_id": state.grant_id, "talent_id": state.talent_id}
    if state.status in ("queued", "granted"):
        # not paid: a granted subsidy's commitment goes back to its fund
        released = (
            {"released_fen": state.amount_fen, "fund": state.fund, "fiscal_year": state.fiscal_year}
            if state.status == "granted" and state.fund
            else {}
        )
        return [
            NewEvent(
                "SubsidyGrantCancelled",
                {**ids, "ground": command.ground, **released},
                ("LT-14", command.ground),
            )
        ]
    if state.status != "paid":
        return []  # nothing granted or already settled: nothing to recover
    due = command.decided_on + dt.timedelta(days=policy.RECOVERY_DUE_DAYS)
    return [
        NewEvent(
            "SubsidyRecoveryDemanded",
            {**ids, "amount_fen": state.paid_fen, "ground": command.ground, "due_on": due},
            ("LT-14", command.ground),
        )
    ]


def _repay(command: RecordRepayment, state: Grant) -> list[NewEvent]:
    if state.status != "recovery_demanded":
        raise RuleViolation("LT-14", f"the grant is {state.status}: no recovery is outstanding")
    if command.amount_fen <= 0:
        raise RuleViolation(
            "LT-14",
            "a repayment must be a positive amount",
            fields={"amount_fen": ["Must be greater than 0."]},
        )
    if command.amount_fen > state.outstanding_fen:
        raise RuleViolation(
            "LT-14",
            f"repayment exceeds the outstanding {state.outstanding_fen} fen",
            fields={"amount_fen": [f"At most {state.outstanding_fen}."]},
        )
    ids = {"grant_id": state.grant_id, "talent_id": state.talent_id}
    outstanding = state.outstanding_fen - command.amount_fen
    events = [
        NewEvent(
            "SubsidyRepaymentRecorded",
            {
                **ids,
                "amount_fen": command.amount_fen,
                "reference": command.reference,
                "outstanding_fen": outstanding,
            },
            ("LT-14",),
        )
    ]
    if outstanding == 0:
        events.append(
            NewEvent("SubsidyRecovered", {**ids, "amount_fen": state.demanded_fen}, ("LT-14",))
        )
    return events


grant = Decider("grant", Grant(), evolve, decide, policy.POLICY_VERSION)
