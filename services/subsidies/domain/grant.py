"""The grant aggregate (补贴): one stream per talent for the one-time 50,000 CNY of LT-10.1 —
granted (or queued until prefecture finance's budget has room, or declined for a talent
transferred under LT-16), paid, and, after a disqualification, cancelled or recovered with its
repayments (LT-14).

Budget (TM-1 reading applied to LT-10.1's fund): the subsidy is an entitlement of certification,
so a certification that finds the year's prefecture-finance budget short is not refused: the grant
is queued (``SubsidyGrantQueued``) and granted, first queued first, when finance raises the
budget; while any wait, a new certification joins the end of the queue. ``context["fund"]`` is
the fund's ``Position`` (see ``fund.py``).

Once per person (LT-10.1 "每人一次性"): ``context["person_grants"]`` are the grant decisions
already recorded for the same person (by ``person_key``) under other talent ids; one that counts
(``policy.LT10_1_ONCE_PER_PERSON_COUNTS``) makes this certification's decision a
``SubsidyGrantDeclined`` citing LT-10.1.

Acts carry their own dates (``paid_on``, ``repaid_on``), bounded by ``dates.act_date``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from services.subsidies.domain import policy
from services.subsidies.domain.dates import act_date
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
    # the person (keyed pseudonym of the ID number); None: known only by the talent id
    person_key: str | None = None


@dataclass(frozen=True)
class GrantFromQueue:
    """The fund's budget was raised: grant a queued subsidy if it now fits."""


@dataclass(frozen=True)
class RecordPayment:
    payment_reference: str
    paid_on: dt.date | None = None  # None: today


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
    repaid_on: dt.date | None = None  # None: today


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
    person_key: str | None = None
    certified_on: dt.date | None = None  # the certification the grant was decided on
    last_act_on: dt.date | None = None  # the latest act's date (certification, payment, ...)

    @property
    def outstanding_fen(self) -> int:
        return self.demanded_fen - self.repaid_fen


Command = GrantForCertification | GrantFromQueue | RecordPayment | DemandRecovery | RecordRepayment


def for_certification(
    grant_id: str, certified: Mapping[str, Any], clauses: Collection[str], recorded_on: dt.date
) -> GrantForCertification:
    """The grant command a ``TalentCertified`` implies. A Yixiang talent transferred under LT-16
    keeps the original period, so it is recognised by ``origin``, by citing LT-16, or by a period
    that began before these rules took effect (no certification under them can). The
    certification's date is its act date ``certified_on``; a certification recorded without one
    is dated by its period's start, or a transferred talent's by the day it was recorded (not the
    day its old period began). The person is ``person_key`` (the talent id when absent)."""
    transferred = (
        certified.get("origin") == "yixiang_transfer"
        or "LT-16" in clauses
        or certified["period_start"] < policy.LT_RULES_EFFECTIVE
    )
    certified_on = certified.get("certified_on") or (
        recorded_on if transferred else certified["period_start"]
    )
    return GrantForCertification(
        grant_id=grant_id,
        talent_id=certified["talent_id"],
        certified_on=certified_on,
        transferred=transferred,
        prior_subsidy_fen=certified.get("prior_startup_subsidy_fen"),
        person_key=certified.get("person_key"),
    )


def fiscal_year(certified_on: dt.date) -> int:
    """The fiscal year a grant is charged to: its certification's, and never before the year these
    rules took effect (a transferred talent's old period may have begun earlier)."""
    return max(certified_on, policy.LT_RULES_EFFECTIVE).year


def person_of(command: GrantForCertification) -> str:
    """Who the grant is paid to, for once per person (LT-10.1)."""
    return command.person_key or command.talent_id


def evolve(state: Grant, event: Event) -> Grant:
    p = event.payload
    match event.event_type:
        case "SubsidyGrantQueued":
            return replace(
                _decided(state, p),
                status="queued",
                amount_fen=p["amount_fen"],
                fund=p["fund"],
                fiscal_year=p["fiscal_year"],
                breakdown=tuple(p["breakdown"]),
            )
        case "SubsidyGrantDeclined":
            return replace(_decided(state, p), status="declined")
        case "SubsidyGranted":
            return replace(
                _decided(state, p),
                status="granted",
                amount_fen=p["amount_fen"],
                fund=p.get("fund"),
                fiscal_year=p["fiscal_year"],
            )
        case "SubsidyPaid":
            return replace(
                state,
                status="paid",
                paid_fen=state.paid_fen + p["amount_fen"],
                last_act_on=_later(state.last_act_on, p["paid_on"]),
            )
        case "SubsidyGrantCancelled":
            return replace(
                state, status="cancelled", grant_id=p["grant_id"], talent_id=p["talent_id"]
            )
        case "SubsidyRecoveryDemanded":
            return replace(
                state,
                status="recovery_demanded",
                demanded_fen=p["amount_fen"],
                last_act_on=_later(state.last_act_on, p.get("decided_on")),
            )
        case "SubsidyRepaymentRecorded":
            return replace(
                state,
                repaid_fen=state.repaid_fen + p["amount_fen"],
                last_act_on=_later(state.last_act_on, p.get("repaid_on")),
            )
        case "SubsidyRecovered":
            return replace(state, status="recovered")
    return state


def _decided(state: Grant, p: Mapping[str, Any]) -> Grant:
    """The state a grant decision (granted, queued, declined) leaves: who, and on which
    certification (payloads recorded before act dates were kept have neither person nor date)."""
    certified_on = p.get("certified_on") or state.certified_on
    return replace(
        state,
        grant_id=p["grant_id"],
        talent_id=p["talent_id"],
        person_key=p.get("person_key") or state.person_key,
        certified_on=certified_on,
        last_act_on=_later(state.last_act_on, certified_on),
    )


def _later(day: dt.date | None, other: dt.date | None) -> dt.date | None:
    if day is None or other is None:
        return day or other
    return max(day, other)


def decide(command: Command, state: Grant, context: Mapping[str, Any]) -> list[NewEvent]:
    match command:
        case GrantForCertification():
            return _grant(command, state, context["fund"], context.get("person_grants", ()))
        case GrantFromQueue():
            if state.status != "queued" or not context["fund"].has_room(state.amount_fen):
                return []
            assert state.fiscal_year is not None  # queued in a fiscal year's fund
            return [
                _granted(
                    _ids(state.grant_id, state.talent_id, state.person_key, state.certified_on),
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
            paid_on = act_date(
                command.paid_on,
                field="paid_on",
                clause="LT-10.1",
                today=context["today"],
                programme_start=policy.LT_PROGRAMME_START,
                programme="the Leading Talent rules",
                previous=state.last_act_on,
                previous_act="the certification the subsidy was granted on",
            )
            return [
                NewEvent(
                    "SubsidyPaid",
                    {
                        "grant_id": state.grant_id,
                        "talent_id": state.talent_id,
                        "amount_fen": state.amount_fen,
                        "payment_reference": command.payment_reference,
                        "paid_on": paid_on,
                    },
                    ("LT-10.1",),
                )
            ]
        case DemandRecovery():
            return _demand(command, state)
        case RecordRepayment():
            return _repay(command, state, context["today"])
    raise TypeError(f"unknown command {command!r}")


def _ids(
    grant_id: str | None,
    talent_id: str | None,
    person_key: str | None,
    certified_on: dt.date | None,
) -> dict[str, Any]:
    """What every grant decision names: the grant, the talent, the person, the certification."""
    ids: dict[str, Any] = {"grant_id": grant_id, "talent_id": talent_id}
    if person_key is not None:
        ids["person_key"] = person_key
    if certified_on is not None:
        ids["certified_on"] = certified_on
    return ids


def _once_per_person(
    command: GrantForCertification, ids: Mapping[str, Any], earlier: Iterable[Mapping[str, Any]]
) -> NewEvent | None:
    """LT-10.1 每人一次性: the decline recorded when the person already had a grant that counts."""
    for grant in earlier:
        if grant["grant_id"] == command.grant_id:
            continue
        if grant["status"] in policy.LT10_1_ONCE_PER_PERSON_COUNTS:
            return NewEvent(
                "SubsidyGrantDeclined",
                {
                    **ids,
                    "measure": policy.LT_SUBSIDY_MEASURE,
                    "ground": "LT-10.1",
                    "earlier_grant_id": grant["grant_id"],
                    "reason": (
                        f"the one-time subsidy is paid to a person once (每人一次性): this "
                        f"person's grant {grant['grant_id']} (talent {grant['talent_id']}) is "
                        f"{grant['status']}"
                    ),
                },
                ("LT-10.1",),
            )
    return None


def _grant(
    command: GrantForCertification,
    state: Grant,
    position: Position,
    person_grants: Iterable[Mapping[str, Any]],
) -> list[NewEvent]:
    if state.status != "none":
        return []  # one grant decision per talent, whatever the redeliveries (LT-10.1)
    ids = _ids(command.grant_id, command.talent_id, person_of(command), command.certified_on)
    if (declined := _once_per_person(command, ids, person_grants)) is not None:
        return [declined]
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
                    {
                        **ids,
                        "measure": policy.LT_SUBSIDY_MEASURE,
                        "ground": "LT-16",
                        "reason": _declined(prior),
                    },
                    ("LT-16", "LT-10.1"),
                )
            ]
        if not policy.LT16_DEDUCT_YIXIANG_SUBSIDY:
            prior = 0
        lines.append(
            line(
                "LT-16",
                "transferred from the Yixiang scheme: less the startup "
                "subsidy it already paid (一次性: once per person)",
                -prior,
            )
        )
        amount -= prior
    year = fiscal_year(command.certified_on)
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
    ids: Mapping[str, Any], amount: int, fiscal_year: int, lines: Sequence[Line]
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
            {
                **ids,
                "amount_fen": state.paid_fen,
                "ground": command.ground,
                "due_on": due,
                "decided_on": command.decided_on,
            },
            ("LT-14", command.ground),
        )
    ]


def _repay(command: RecordRepayment, state: Grant, today: dt.date) -> list[NewEvent]:
    if state.status != "recovery_demanded":
        raise RuleViolation("LT-14", f"the grant is {state.status}: no recovery is outstanding")
    repaid_on = act_date(
        command.repaid_on,
        field="repaid_on",
        clause="LT-14",
        today=today,
        programme_start=policy.LT_PROGRAMME_START,
        programme="the Leading Talent rules",
        previous=state.last_act_on,
        previous_act="the disqualification or the repayment before it",
    )
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
                "repaid_on": repaid_on,
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
