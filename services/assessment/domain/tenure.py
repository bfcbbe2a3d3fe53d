"""The tenure aggregate (培养期): the training period of one certified (or transferred) talent, its
annual reports and grades (LT-11), obligations and rectification (LT-12, LT-13), disqualification
proposals and the Leading Group's decisions (LT-14), and completion.

Pure: ``decide(command, state, context)`` with ``context["today"]`` and ``context["calendar"]``
(the working-day calendar, for deadlines that fall on a holiday); ``evolve(state, event)``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

from services.assessment.domain import policy
from services.assessment.domain.grading import UNQUALIFIED, final_without_findings, grade
from services.assessment.domain.schedule import (
    WorkingDays,
    Year,
    growth_years,
    passed,
    period_end,
    tenure_years,
)
from shared.decider import Decider, Event, NewEvent
from shared.errors import RuleViolation

K = TypeVar("K")
V = TypeVar("V")


# -- commands ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenTenure:
    """On certification (LT-10): idempotent, whatever the redeliveries. ``certified_on`` is the
    certification's act date, from which the tenure counts (the service gives the period start
    when the certification carries no act date)."""

    talent_id: str
    county: str
    track: str
    period_start: dt.date
    period_end: dt.date
    baseline_year: int
    baseline: dict[str, int]
    certified_on: dt.date


@dataclass(frozen=True)
class TransferTenure(OpenTenure):
    """A Yixiang talent whose period was running on 2022-09-01 (LT-16; the applications service
    certifies them with ``origin = "yixiang_transfer"``); ``certified_on`` is the day the
    transfer was recorded, when the windows of years that ended before it open."""


@dataclass(frozen=True)
class FileAnnualReport:
    tenure_year: int
    figures: dict[str, int]
    promotion_activities: int
    backbones_trained: int
    full_time_in_chuxiong: bool
    reported_on: dt.date


@dataclass(frozen=True)
class RecordFindings:
    """The county's findings on a year (LT-13): LT-12.3 and LT-12.5 for every talent, and for an
    influencer the qualitative alternatives of LT-11.1 (None for a seller)."""

    tenure_year: int
    found_on: dt.date
    application_and_innovation: bool
    other_work: str
    ability_clearly_improved: bool | None = None
    influence_further_increased: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class OrderRectification:
    breach_id: str
    deadline: dt.date
    requirement: str
    ordered_on: dt.date


@dataclass(frozen=True)
class ConfirmRectification:
    breach_id: str
    rectified_on: dt.date
    note: str = ""


@dataclass(frozen=True)
class ReportGround:
    kind: str
    occurred_on: dt.date
    description: str
    reported_on: dt.date
    reference: str = ""


@dataclass(frozen=True)
class ApproveDisqualification:
    decided_on: dt.date
    proposal_id: str | None = None  # None: the one pending proposal


@dataclass(frozen=True)
class DeclineDisqualification:
    decided_on: dt.date
    reasons: tuple[str, ...]
    proposal_id: str | None = None  # None: the one pending proposal


@dataclass(frozen=True)
class FireDeadlines:
    """The timer's command: whatever fell due before ``context["today"]``."""


# -- state ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tenure:
    status: str = "none"  # none, open, completed, disqualified
    talent_id: str | None = None
    county: str | None = None
    track: str | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    baseline: dict[str, int] = field(default_factory=dict)
    years: tuple[Year, ...] = ()  # schedule.tenure_years() entries
    # tenure year -> AnnualReportFiled payload
    reports: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    # tenure year -> assessor findings payload
    findings: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    # tenure year -> excellent/qualified/unqualified
    results: dict[int, str] = field(default_factory=dict)
    # breach id -> {obligation, tenure_year, ...}; a missing report is one (obligation LT-11.1)
    breaches: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # proposal id -> {ground, reasons, status, ...}
    proposals: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # tenure year -> the breach id of its missing report
    missed: dict[int, str] = field(default_factory=dict)
    reminded: frozenset[int] = frozenset()  # years whose talent was reminded of the window
    last_act_on: dt.date | None = None  # the latest act date on the stream

    @property
    def assessed_years(self) -> list[Year]:
        return [y for y in self.years if y["assessed"]]

    def pending(self) -> list[str]:
        return [pid for pid, p in self.proposals.items() if p["status"] == "pending"]


Command = (
    OpenTenure
    | TransferTenure
    | FileAnnualReport
    | RecordFindings
    | OrderRectification
    | ConfirmRectification
    | ReportGround
    | ApproveDisqualification
    | DeclineDisqualification
    | FireDeadlines
)

# The act date of each event (the first of these fields it has): what "the tenure's previous act"
# is for a date a caller gives. The reminder is a message, not an act on the tenure.
ACT_DATES: dict[str, tuple[str, ...]] = {
    "TenureOpened": ("certified_on", "period_start"),
    "AnnualReportFiled": ("reported_on",),
    "AssessorFindingsRecorded": ("found_on",),
    "AssessmentPassed": ("assessed_on",),
    "AssessmentFailed": ("assessed_on",),
    "AnnualReportMissed": ("missed_on",),
    "ObligationBreached": ("found_on",),
    "RectificationOrdered": ("ordered_on",),
    "RectificationConfirmed": ("rectified_on",),
    "RectificationDeadlineMissed": ("found_on",),
    "DisqualificationGroundReported": ("reported_on",),
    "DisqualificationProposed": ("proposed_on",),
    "DisqualificationDeclined": ("decided_on",),
    "TalentDisqualified": ("decided_on",),
    "TenureCompleted": ("completed_on",),
}


def _set(mapping: Mapping[K, V], key: K, value: V) -> dict[K, V]:
    return {**mapping, key: value}


def _update(
    mapping: Mapping[K, Mapping[str, Any]], key: K, **changes: Any
) -> dict[K, Mapping[str, Any]]:
    return _set(mapping, key, {**mapping[key], **changes})


def _acted(state: Tenure, event: Event) -> Tenure:
    """``state`` with the event's act date as its latest, if it is later."""
    for name in ACT_DATES.get(event.event_type, ()):
        on = event.payload.get(name)
        if on is not None:
            if state.last_act_on is None or on > state.last_act_on:
                return replace(state, last_act_on=on)
            break
    return state


def evolve(state: Tenure, event: Event) -> Tenure:
    return _acted(_evolve(state, event), event)


def _breach_entry(
    p: Mapping[str, Any], obligation: str, detail: str, rectifiable: bool
) -> dict[str, Any]:
    return {
        "obligation": obligation,
        "tenure_year": p["tenure_year"],
        "detail": detail,
        "rectifiable": rectifiable,
        "status": "open",
        "deadline": None,
        "found_on": p.get("found_on") or p.get("missed_on"),
    }


def _evolve(state: Tenure, event: Event) -> Tenure:
    p = event.payload
    match event.event_type:
        case "TenureOpened":
            years = p.get("years") or tenure_years(
                p["period_start"], p["period_end"], p.get("transfer_recorded_on")
            )
            return replace(
                state,
                status="open",
                talent_id=p["talent_id"],
                county=p["county"],
                track=p["track"],
                period_start=p["period_start"],
                period_end=p["period_end"],
                baseline=dict(p["baseline"]),
                years=tuple(dict(y) for y in years),
            )
        case "AnnualReportFiled":
            return replace(state, reports=_set(state.reports, p["tenure_year"], p))
        case "AssessorFindingsRecorded":
            return replace(state, findings=_set(state.findings, p["tenure_year"], p))
        case "AssessmentPassed":
            return replace(state, results=_set(state.results, p["tenure_year"], p["grade"]))
        case "AssessmentFailed":
            return replace(state, results=_set(state.results, p["tenure_year"], UNQUALIFIED))
        case "AnnualReportReminded":
            return replace(state, reminded=state.reminded | {p["tenure_year"]})
        case "AnnualReportMissed":
            n = p["tenure_year"]
            entry = _breach_entry(p, policy.MISSED_REPORT_OBLIGATION, p["detail"], True)
            return replace(
                state,
                missed=_set(state.missed, n, p["breach_id"]),
                breaches=_set(state.breaches, p["breach_id"], entry),
            )
        case "ObligationBreached":
            entry = _breach_entry(p, p["obligation"], p["detail"], p["rectifiable"])
            return replace(state, breaches=_set(state.breaches, p["breach_id"], entry))
        case "RectificationOrdered":
            return replace(
                state,
                breaches=_update(
                    state.breaches, p["breach_id"], status="ordered", deadline=p["deadline"]
                ),
            )
        case "RectificationConfirmed":
            return replace(
                state, breaches=_update(state.breaches, p["breach_id"], status="rectified")
            )
        case "RectificationDeadlineMissed":
            return replace(state, breaches=_update(state.breaches, p["breach_id"], status="missed"))
        case "DisqualificationProposed":
            pid = p.get("proposal_id") or f"P{len(state.proposals) + 1}"
            breaches = state.breaches
            for bid in p.get("breach_ids") or ():
                if breaches[bid]["status"] == "open":
                    breaches = _update(breaches, bid, status="escalated")
            return replace(
                state,
                breaches=breaches,
                proposals=_set(
                    state.proposals,
                    pid,
                    {
                        "ground": p["ground"],
                        "reasons": list(p["reasons"]),
                        "status": "pending",
                        "proposed_on": p.get("proposed_on"),
                    },
                ),
            )
        case "DisqualificationDeclined":
            return replace(
                state, proposals=_update(state.proposals, p["proposal_id"], status="declined")
            )
        case "TalentDisqualified":
            approved = p.get("proposal_id")
            proposals: dict[str, Mapping[str, Any]] = {}
            for pid, prop in state.proposals.items():
                if prop["status"] == "pending":  # the approved one; any other is moot now
                    prop = {
                        **prop,
                        "status": "approved" if approved in (None, pid) else "superseded",
                    }
                proposals[pid] = prop
            return replace(state, status="disqualified", proposals=proposals)
        case "TenureCompleted":
            return replace(state, status="completed")
    return state


# -- deciding ------------------------------------------------------------------------------------
DAY = dt.timedelta(days=1)


class _Decision:
    """The events of one decision, each evolved into ``state`` as it is added (so later rules see
    earlier ones), and the disqualification grounds found on the way, proposed once per ground
    (dated the latest day one of its reasons arose)."""

    def __init__(self, state: Tenure, context: Mapping[str, Any]) -> None:
        self.state = state
        self.today: dt.date = context["today"]
        # the service always gives the calendar; a decision that reaches no deadline never asks it
        self.calendar = cast(WorkingDays, context.get("calendar"))
        self.events: list[NewEvent] = []
        # ground -> (reasons, breach ids, the day it arose)
        self.grounds: dict[str, tuple[list[str], list[str], dt.date]] = {}

    def passed(self, nominal: dt.date, on: dt.date | None = None) -> dt.date | None:
        """The effective last day of a period ending on ``nominal``, if it has passed by ``on``
        (default today)."""
        return passed(nominal, self.today if on is None else on, self.calendar)

    def add(self, event_type: str, payload: dict[str, Any], clauses: Iterable[str]) -> None:
        event = NewEvent(event_type, payload, tuple(clauses))
        self.events.append(event)
        self.state = evolve(self.state, event)

    def propose(
        self, ground: str, reasons: Iterable[str], on: dt.date, breach_ids: Iterable[str] = ()
    ) -> None:
        entry = self.grounds.setdefault(ground, ([], [], on))
        entry[0].extend(reasons)
        entry[1].extend(breach_ids)
        if on > entry[2]:
            self.grounds[ground] = (entry[0], entry[1], on)

    def finish(self) -> list[NewEvent]:
        for ground, (reasons, breach_ids, on) in self.grounds.items():
            payload: dict[str, Any] = {
                "talent_id": self.state.talent_id,
                "ground": ground,
                "reasons": reasons,
                "proposal_id": f"P{len(self.state.proposals) + 1}",
                "proposed_on": on,
            }
            if breach_ids:
                payload["breach_ids"] = breach_ids
            self.add("DisqualificationProposed", payload, ("LT-14", ground))
        self.grounds = {}
        return self.events

    def act_on(self, name: str, on: dt.date, clause: str) -> dt.date:
        """``on``, the date a caller gave for an act (field ``name``), if it is within bounds:
        not after today, not before the rules took effect, not before the tenure's previous
        act; else refused naming the field and the rule, nothing written."""
        earliest, previous = policy.EARLIEST_ACT_DATE, self.state.last_act_on
        if on > self.today:
            problem = (clause, f"Must not be after today ({self.today}).")
        elif on < earliest:
            problem = ("LT-16", f"Must not be before {earliest}, when the rules took effect.")
        elif previous is not None and on < previous:
            problem = (clause, f"Must not be before the tenure's previous act ({previous}).")
        else:
            return on
        raise RuleViolation(
            problem[0], f"{name} {on} is out of bounds", fields={name: [problem[1]]}
        )


def decide(command: Command, state: Tenure, context: Mapping[str, Any]) -> list[NewEvent]:
    decision = _Decision(state, context)
    match command:
        case OpenTenure() if state.status != "none":
            return []  # opened once, whatever the redeliveries (a transfer too)
        case TransferTenure():
            _transfer(decision, command)
        case OpenTenure():
            _open(decision, command)
        case FileAnnualReport():
            _report(decision, command)
        case RecordFindings():
            _findings(decision, command)
        case OrderRectification():
            _order_rectification(decision, command)
        case ConfirmRectification():
            _confirm_rectification(decision, command)
        case ReportGround():
            _report_ground(decision, command)
        case ApproveDisqualification():
            _approve(decision, command)
        case DeclineDisqualification():
            _decline(decision, command)
        case FireDeadlines():
            _fire_deadlines(decision)
        case _:
            raise TypeError(f"unknown command {command!r}")
    return decision.finish()


def _open(decision: _Decision, command: OpenTenure) -> None:
    """LT-10: the period counts from the certification's act date; the period the certification
    names is kept when it starts that day, else the period is counted from the act date."""
    start = command.certified_on
    end = command.period_end if command.period_start == start else period_end(start)
    payload: dict[str, Any] = {
        "talent_id": command.talent_id,
        "county": command.county,
        "track": command.track,
        "period_start": start,
        "period_end": end,
        "baseline_year": command.baseline_year,
        "baseline": dict(command.baseline),
        "origin": "selection",
        "certified_on": command.certified_on,
        "years": tenure_years(start, end),
    }
    decision.add("TenureOpened", payload, ("LT-10", "LT-11"))


def _transfer(decision: _Decision, command: TransferTenure) -> None:
    """LT-16: a Yixiang period running on 2022-09-01 transfers on that day, keeping its dates;
    its years ending on or after that day are assessed, the windows of those that ended before
    the transfer was recorded opening on the day it was."""
    effective = policy.LT_EFFECTIVE_DATE
    wrong: dict[str, list[str]] = {}
    if command.period_start >= effective:
        wrong["period_start"] = [f"Must be before {effective}."]
    if command.period_end < effective:
        wrong["period_end"] = [f"Must not be before {effective} (the period was running then)."]
    if wrong:
        raise RuleViolation(
            "LT-16",
            f"only a Yixiang period that began before {effective} and "
            "had not ended that day transfers",
            fields=wrong,
        )
    recorded_on = max(command.certified_on, effective)
    payload: dict[str, Any] = {
        "talent_id": command.talent_id,
        "county": command.county,
        "track": command.track,
        "period_start": command.period_start,
        "period_end": command.period_end,
        "baseline_year": command.baseline_year,
        "baseline": dict(command.baseline),
        "origin": "yixiang_transfer",
        "certified_on": recorded_on,
        "transferred_on": effective,
        "transfer_recorded_on": recorded_on,
        "years": tenure_years(command.period_start, command.period_end, recorded_on),
    }
    decision.add("TenureOpened", payload, ("LT-16", "LT-10", "LT-11"))


def _require_open(state: Tenure, clause: str, what: str) -> None:
    if state.status != "open":
        raise RuleViolation(clause, f"the tenure is {state.status}: {what}")


def _assessed_year(state: Tenure, number: int) -> Year:
    """The schedule entry of tenure year ``number``, if it is assessed here (LT-10, LT-16)."""
    assessed = [y["tenure_year"] for y in state.assessed_years]
    for year in state.assessed_years:
        if year["tenure_year"] == number:
            return year
    transferred_before = any(y["tenure_year"] == number for y in state.years)
    listed = ", ".join(map(str, assessed))
    raise RuleViolation(
        "LT-16" if transferred_before else "LT-10",
        f"year {number} is outside the tenure's assessed years {assessed}",
        fields={"tenure_year": [f"Must be one of {listed}."]},
    )


def _window_text(year: Year) -> str:
    return (
        f"{year['window_opens_on']} to {year['report_due_on']} (a last day that is not a "
        "working day moves to the next working day)"
    )


def _filing_closes(state: Tenure, year: Year) -> dt.date:
    """The nominal last day a year's report can be filed: its window's, or the deadline of the
    county's order to file it once missing (LT-13)."""
    breach_id = state.missed.get(year["tenure_year"])
    if breach_id is not None and state.breaches[breach_id]["deadline"] is not None:
        deadline: dt.date = state.breaches[breach_id]["deadline"]
        return deadline
    closes: dt.date = year["report_due_on"]
    return closes


def _report(decision: _Decision, command: FileAnnualReport) -> None:
    state, n = decision.state, command.tenure_year
    _require_open(state, "LT-11.1", "no report can be filed")
    assert state.track is not None  # an open tenure has its track
    year = _assessed_year(state, n)
    if n in state.reports:
        raise RuleViolation(
            "LT-11.1",
            f"year {n} was already reported (一年一考核)",
            fields={"tenure_year": ["Already reported."]},
        )
    if n in state.results:
        raise RuleViolation(
            "LT-11.1",
            f"year {n} was already graded: no report can change it",
            fields={"tenure_year": ["Already graded."]},
        )
    on = decision.act_on("reported_on", command.reported_on, "LT-11.1")
    if on < year["window_opens_on"]:
        raise RuleViolation(
            "LT-11.1",
            f"year {n} ends on {year['ends_on']}: its report covers the whole year and is filed "
            f"in its window, {_window_text(year)}",
            fields={
                "reported_on": [f"Before the report window of year {n}: {_window_text(year)}."]
            },
            details={
                "window_opens_on": year["window_opens_on"],
                "window_closes_on": year["report_due_on"],
            },
        )
    breach_id = state.missed.get(n)
    breach = state.breaches.get(breach_id) if breach_id else None
    if breach_id is None and (closed := decision.passed(year["report_due_on"], on)):
        raise RuleViolation(
            "LT-11.1",
            f"year {n}'s report window closed on {closed}: a missing report is filed by the "
            "deadline the county orders (LT-13)",
            fields={"reported_on": [f"After the report window of year {n} (closed {closed})."]},
        )
    if breach is not None:
        if breach["status"] != "ordered":
            raise RuleViolation(
                "LT-13",
                f"year {n}'s report is missing and {breach['status']}: it is filed by the "
                "deadline the county orders",
                fields={"tenure_year": [f"Report missing, breach {breach_id} {breach['status']}."]},
            )
        if deadline := decision.passed(breach["deadline"], on):
            raise RuleViolation(
                "LT-13",
                f"the county's deadline for year {n}'s report was {deadline}",
                fields={"reported_on": [f"After the deadline {deadline}."]},
            )
    missing = [f for f in policy.GRADED_FIGURES[state.track] if f not in command.figures]
    if missing:
        raise RuleViolation(
            "LT-11.1",
            "figures missing for the grading",
            fields={f"figures.{f}": ["Required."] for f in missing},
        )
    decision.add(
        "AnnualReportFiled",
        {
            "talent_id": state.talent_id,
            "tenure_year": n,
            "figures": dict(command.figures),
            "promotion_activities": command.promotion_activities,
            "backbones_trained": command.backbones_trained,
            "full_time_in_chuxiong": command.full_time_in_chuxiong,
            "reported_on": on,
        },
        ("LT-11.1", "LT-12"),
    )
    if breach_id is not None:
        decision.add(
            "RectificationConfirmed",
            {
                "talent_id": state.talent_id,
                "breach_id": breach_id,
                "rectified_on": on,
                "note": f"the annual report of year {n} was filed",
            },
            ("LT-13", policy.MISSED_REPORT_OBLIGATION),
        )
    if n in state.findings or final_without_findings(
        state.track, state.baseline, command.figures, growth_years(n)
    ):
        _grade(decision, n, on)
    if command.promotion_activities < policy.MIN_PROMOTION_ACTIVITIES_PER_YEAR:
        _breach(
            decision,
            "LT-12.1",
            n,
            f"{command.promotion_activities} promotion activities in "
            f"year {n}; at least "
            f"{policy.MIN_PROMOTION_ACTIVITIES_PER_YEAR} required",
            on,
        )
    if not command.full_time_in_chuxiong:
        _breach(decision, "LT-12.4", n, f"not working full time in Chuxiong in year {n}", on)
    _check_backbones(decision, on)


def _grade(decision: _Decision, n: int, on: dt.date) -> None:
    """Grade year ``n`` from its report and whatever findings are on file (LT-11.1), on ``on``."""
    state = decision.state
    assert state.track is not None  # only an open tenure's years are graded
    report, findings = state.reports[n], state.findings.get(n)
    outcome = grade(state.track, state.baseline, report["figures"], growth_years(n), findings)
    payload: dict[str, Any] = {
        "talent_id": state.talent_id,
        "tenure_year": n,
        "computation": outcome["computation"],
        "assessed_on": on,
    }
    if state.track == "influencer":
        payload["findings"] = findings and {
            k: findings[k] for k in ("ability_clearly_improved", "influence_further_increased")
        }
    if outcome["result"] != UNQUALIFIED:
        decision.add(
            "AssessmentPassed",
            {**payload, "grade": outcome["result"], "basis": outcome["basis"]},
            ("LT-11.1",),
        )
        return
    decision.add("AssessmentFailed", {**payload, "reasons": outcome["reasons"]}, ("LT-11.1",))
    failed = sum(r == UNQUALIFIED for r in decision.state.results.values())
    if failed >= policy.FAILED_YEARS_FOR_PROPOSAL:
        decision.propose(
            policy.FAILED_ASSESSMENT_GROUND,
            [f"annual assessment of year {n} failed", *outcome["reasons"]],
            on,
        )


def _breach(
    decision: _Decision,
    obligation: str,
    n: int,
    detail: str,
    on: dt.date,
    breach_id: str | None = None,
) -> None:
    breach_id = breach_id or f"{obligation}-y{n}"
    rectifiable = obligation not in policy.NOT_RECTIFIABLE
    decision.add(
        "ObligationBreached",
        {
            "talent_id": decision.state.talent_id,
            "breach_id": breach_id,
            "obligation": obligation,
            "tenure_year": n,
            "detail": detail,
            "rectifiable": rectifiable,
            "found_on": on,
        },
        (obligation,),
    )
    if not rectifiable:  # LT-12.4: the 3 consecutive full-time years are broken
        decision.propose(
            policy.WORK_BROKEN_GROUND,
            [f"{policy.OBLIGATIONS[obligation]} ({obligation}) broken: {detail}"],
            on,
            [breach_id],
        )


def _check_backbones(decision: _Decision, on: dt.date) -> None:
    """LT-12.2, once every assessed year is reported or its report given up (a missing report
    whose rectification deadline passed counts 0): the average over the assessed years."""
    state = decision.state
    years = [y["tenure_year"] for y in state.assessed_years]

    def settled(n: int) -> bool:
        breach_id = state.missed.get(n)
        return n in state.reports or (
            breach_id is not None and state.breaches[breach_id]["status"] in ("missed", "escalated")
        )

    if "LT-12.2" in state.breaches or not all(settled(n) for n in years):
        return
    total = sum(state.reports[n]["backbones_trained"] for n in years if n in state.reports)
    required = policy.MIN_BACKBONES_PER_YEAR_ON_AVERAGE * len(years)
    if total < required:
        _breach(
            decision,
            "LT-12.2",
            years[-1],
            f"{total} backbones trained over {len(years)} assessed years; at least "
            f"{required} required ({policy.MIN_BACKBONES_PER_YEAR_ON_AVERAGE} a year on "
            f"average)",
            on,
            breach_id="LT-12.2",
        )


def _findings(decision: _Decision, command: RecordFindings) -> None:
    """The county's yearly findings (LT-13): LT-12.3 and LT-12.5 recorded for every talent; an
    influencer's also carry LT-11.1's qualitative alternatives and grade the year if its report
    is in."""
    state, n = decision.state, command.tenure_year
    _require_open(state, "LT-13", "no findings can be recorded")
    year = _assessed_year(state, n)
    influencer = state.track == "influencer"
    given = (command.ability_clearly_improved, command.influence_further_increased)
    if not influencer and any(v is not None for v in given):
        raise RuleViolation(
            "LT-11.1",
            "sellers are graded on sales growth alone: LT-11.1 gives "
            "them no qualitative alternative",
            fields={"ability_clearly_improved": ["Influencers only."]},
        )
    if influencer and any(v is None for v in given):
        raise RuleViolation(
            "LT-11.1",
            "an influencer's findings say whether promotion ability clearly improved and "
            "influence further increased",
            fields={
                k: ["Required for an influencer."]
                for k, v in zip(
                    ("ability_clearly_improved", "influence_further_increased"), given, strict=True
                )
                if v is None
            },
        )
    if n in state.findings:
        raise RuleViolation(
            "LT-13",
            f"the findings for year {n} were already recorded",
            fields={"tenure_year": ["Findings already recorded."]},
        )
    on = decision.act_on("found_on", command.found_on, "LT-13")
    if on < year["window_opens_on"]:
        raise RuleViolation(
            "LT-11.1",
            f"year {n} ends on {year['ends_on']}: the findings on it are recorded from its "
            f"report window on, {_window_text(year)}",
            fields={"found_on": [f"Before the report window of year {n}: {_window_text(year)}."]},
        )
    if influencer:
        if n in state.results:
            raise RuleViolation(
                "LT-11.1",
                f"year {n} was already graded: no finding can change it",
                fields={"tenure_year": ["Already graded."]},
            )
        if closed := decision.passed(_filing_closes(state, year), on):
            raise RuleViolation(
                "LT-11.1",
                f"year {n} is graded with what was on file when its filing closed ({closed})",
                fields={"found_on": [f"After year {n}'s filing closed ({closed})."]},
            )
    payload: dict[str, Any] = {
        "talent_id": state.talent_id,
        "tenure_year": n,
        "application_and_innovation": command.application_and_innovation,
        "other_work": command.other_work,
        "note": command.note,
        "found_on": on,
    }
    clauses: tuple[str, ...] = ("LT-12.3", "LT-12.5", "LT-13")
    if influencer:
        payload["ability_clearly_improved"] = command.ability_clearly_improved
        payload["influence_further_increased"] = command.influence_further_increased
        clauses = ("LT-11.1", *clauses)
    decision.add("AssessorFindingsRecorded", payload, clauses)
    if influencer and n in state.reports:
        _grade(decision, n, on)


def _known_breach(state: Tenure, breach_id: str) -> Mapping[str, Any]:
    if breach_id not in state.breaches:
        raise RuleViolation(
            "LT-13",
            f"no breach {breach_id}",
            fields={"breach_id": [f"Unknown; known: {sorted(state.breaches)}."]},
        )
    return state.breaches[breach_id]


def _order_rectification(decision: _Decision, command: OrderRectification) -> None:
    state = decision.state
    _require_open(state, "LT-13", "no rectification can be ordered")
    assert state.period_end is not None  # an open tenure has its period
    breach = _known_breach(state, command.breach_id)
    if not breach["rectifiable"]:
        raise RuleViolation(
            breach["obligation"],
            f"{policy.OBLIGATIONS[breach['obligation']]}: a broken continuity cannot be rectified",
            fields={"breach_id": ["Not rectifiable."]},
        )
    if breach["status"] != "open":
        raise RuleViolation(
            "LT-13",
            f"breach {command.breach_id} is {breach['status']}",
            fields={"breach_id": [f"Already {breach['status']}."]},
        )
    on = decision.act_on("ordered_on", command.ordered_on, "LT-13")
    if command.deadline < on:
        raise RuleViolation(
            "LT-13",
            "a rectification deadline cannot be before the order",
            fields={"deadline": [f"Must not be before the order ({on})."]},
        )
    if breach["obligation"] == policy.MISSED_REPORT_OBLIGATION:
        latest = on + dt.timedelta(days=policy.MISSED_REPORT_MAX_DEADLINE_DAYS)
        if command.deadline > latest:
            raise RuleViolation(
                "LT-13",
                "a missing report is ordered filed within "
                f"{policy.MISSED_REPORT_MAX_DEADLINE_DAYS} days of the order",
                fields={"deadline": [f"Must not be after {latest}."]},
            )
    elif command.deadline > state.period_end:
        raise RuleViolation(
            "LT-13",
            "rectification is ordered within the training period (在培养期内…限期整改)",
            fields={"deadline": [f"Must not be after {state.period_end}."]},
        )
    decision.add(
        "RectificationOrdered",
        {
            "talent_id": state.talent_id,
            "breach_id": command.breach_id,
            "requirement": command.requirement,
            "deadline": command.deadline,
            "ordered_on": on,
        },
        ("LT-13", breach["obligation"]),
    )


def _confirm_rectification(decision: _Decision, command: ConfirmRectification) -> None:
    state = decision.state
    _require_open(state, "LT-13", "no rectification can be confirmed")
    breach = _known_breach(state, command.breach_id)
    if breach["obligation"] == policy.MISSED_REPORT_OBLIGATION:
        raise RuleViolation(
            "LT-13",
            "a missing report is rectified by filing it",
            fields={"breach_id": ["Rectified by filing the year's report."]},
        )
    if breach["status"] != "ordered":
        raise RuleViolation(
            "LT-13",
            f"breach {command.breach_id} is {breach['status']}, not under a rectification order",
            fields={"breach_id": [f"Is {breach['status']}."]},
        )
    on = decision.act_on("rectified_on", command.rectified_on, "LT-13")
    if deadline := passed(breach["deadline"], on, decision.calendar):
        raise RuleViolation(
            "LT-13",
            f"the deadline was {deadline}",
            fields={"rectified_on": [f"After the deadline {deadline}."]},
        )
    decision.add(
        "RectificationConfirmed",
        {
            "talent_id": state.talent_id,
            "breach_id": command.breach_id,
            "rectified_on": on,
            "note": command.note,
        },
        ("LT-13", breach["obligation"]),
    )


def _report_ground(decision: _Decision, command: ReportGround) -> None:
    state = decision.state
    ground = policy.REPORTED_GROUNDS[command.kind]
    if state.status not in ("open", "completed"):
        raise RuleViolation(ground, f"the tenure is {state.status}: no ground can be reported")
    assert state.period_start is not None and state.period_end is not None  # it was opened
    if not state.period_start <= command.occurred_on <= state.period_end:
        raise RuleViolation(
            "LT-14",
            "LT-14 grounds arise within the training period "
            f"({state.period_start} to {state.period_end})",
            fields={"occurred_on": ["Outside the training period."]},
        )
    on = decision.act_on("reported_on", command.reported_on, ground)
    if command.occurred_on > on:
        raise RuleViolation(
            ground,
            "a ground cannot be reported before it occurs",
            fields={"occurred_on": [f"Must not be after the report ({on})."]},
        )
    clauses = ("LT-14", ground) + (("LT-12.4",) if command.kind == "departure" else ())
    decision.add(
        "DisqualificationGroundReported",
        {
            "talent_id": state.talent_id,
            "kind": command.kind,
            "ground": ground,
            "occurred_on": command.occurred_on,
            "description": command.description,
            "reference": command.reference,
            "reported_on": on,
        },
        clauses,
    )
    reference = f" ({command.reference})" if command.reference else ""
    decision.propose(
        ground, [f"{command.kind} on {command.occurred_on}: {command.description}{reference}"], on
    )


def _proposal(
    decision: _Decision, proposal_id: str | None, decided_on: dt.date
) -> tuple[str, Mapping[str, Any], dt.date]:
    """The pending proposal a Leading Group decision is about (LT-14), and the decision's date."""
    state = decision.state
    pending = state.pending()
    if not pending:
        raise RuleViolation(
            "LT-14", f"the tenure is {state.status}: there is no disqualification proposal pending"
        )
    if proposal_id is None and len(pending) > 1:
        raise RuleViolation(
            "LT-14",
            "several proposals are pending: name one",
            fields={"proposal_id": [f"Required; pending: {', '.join(pending)}."]},
        )
    proposal_id = proposal_id or pending[0]
    if proposal_id not in pending:
        raise RuleViolation(
            "LT-14",
            f"proposal {proposal_id} is not pending",
            fields={"proposal_id": [f"Pending: {', '.join(pending)}."]},
        )
    proposal = state.proposals[proposal_id]
    if proposal["proposed_on"] and decided_on < proposal["proposed_on"]:
        raise RuleViolation(
            "LT-14",
            f"proposal {proposal_id} was made on {proposal['proposed_on']}",
            fields={"decided_on": [f"Before the proposal ({proposal['proposed_on']})."]},
        )
    return proposal_id, proposal, decision.act_on("decided_on", decided_on, "LT-14")


def _approve(decision: _Decision, command: ApproveDisqualification) -> None:
    state = decision.state
    pid, proposal, on = _proposal(decision, command.proposal_id, command.decided_on)
    decision.add(
        "TalentDisqualified",
        {
            "talent_id": state.talent_id,
            "ground": proposal["ground"],
            "reasons": proposal["reasons"],
            "decided_on": on,
            "proposal_id": pid,
        },
        ("LT-14", proposal["ground"]),
    )


def _decline(decision: _Decision, command: DeclineDisqualification) -> None:
    state = decision.state
    pid, proposal, on = _proposal(decision, command.proposal_id, command.decided_on)
    decision.add(
        "DisqualificationDeclined",
        {
            "talent_id": state.talent_id,
            "proposal_id": pid,
            "ground": proposal["ground"],
            "reasons": list(command.reasons),
            "decided_on": on,
        },
        ("LT-14", proposal["ground"]),
    )


def _fire_deadlines(decision: _Decision) -> None:
    """Everything that fell due before today, once, each dated the day it fell due (however late
    the sweep runs): a reminder to the talent before a window closes; a year graded with what is
    on file when its filing closes; a report missing at its window's close; a missed
    rectification deadline; breaches left unrectified at the period's end; completion."""
    state, today = decision.state, decision.today
    if state.status != "open":
        return
    assert state.period_end is not None  # an open tenure has its period
    for year in state.assessed_years:
        n = year["tenure_year"]
        current = decision.state
        if n in current.results:
            continue
        if n in current.reports:
            if last := decision.passed(_filing_closes(current, year)):
                _grade(decision, n, last + DAY)  # an influencer's year without findings
            continue
        if n in current.missed:
            continue  # the county's order (or its deadline) decides
        if last := decision.passed(year["report_due_on"]):
            _missed(decision, year, last)
            continue
        closes = year["report_due_on"]
        remind_from = closes - dt.timedelta(days=policy.REMINDER_DAYS_BEFORE_CLOSE)
        if n not in current.reminded and remind_from <= today <= closes:
            decision.add(
                "AnnualReportReminded",
                {
                    "talent_id": state.talent_id,
                    "tenure_year": n,
                    "window_opens_on": year["window_opens_on"],
                    "window_closes_on": closes,
                    "reminded_on": today,
                },
                ("LT-11.1",),
            )
    for breach_id, breach in decision.state.breaches.items():
        if breach["status"] == "ordered" and (deadline := decision.passed(breach["deadline"])):
            on = deadline + DAY
            decision.add(
                "RectificationDeadlineMissed",
                {
                    "talent_id": state.talent_id,
                    "breach_id": breach_id,
                    "deadline": deadline,
                    "found_on": on,
                },
                ("LT-13", breach["obligation"]),
            )
            what = (
                f"the annual report of year {breach['tenure_year']} not filed"
                if breach["obligation"] == policy.MISSED_REPORT_OBLIGATION
                else f"{breach['obligation']} not rectified"
            )
            decision.propose(
                policy.RECTIFICATION_MISSED_GROUND,
                [f"{what} by the county's deadline {deadline}: {breach['detail']}"],
                on,
                [breach_id],
            )
            _check_backbones(decision, on)
    if today <= state.period_end:
        return
    end_day = state.period_end + DAY
    for bid, breach in decision.state.breaches.items():
        if breach["status"] != "open" or breach["obligation"] == policy.MISSED_REPORT_OBLIGATION:
            continue  # a missing report is no ground until a deadline ordered for it is missed
        decision.propose(
            policy.TARGETS_UNMET_GROUND,
            [
                f"{breach['obligation']} not met and not rectified within the training period: "
                f"{breach['detail']}"
            ],
            max(end_day, breach["found_on"] or end_day),
            [bid],
        )
    _complete(decision, end_day)


def _missed(decision: _Decision, year: Year, last: dt.date) -> None:
    """No report by the window's last day ``last``: not a failed assessment; the county is told
    and orders it filed by a deadline (LT-13)."""
    n = year["tenure_year"]
    decision.add(
        "AnnualReportMissed",
        {
            "talent_id": decision.state.talent_id,
            "tenure_year": n,
            "breach_id": f"report-y{n}",
            "window_opens_on": year["window_opens_on"],
            "window_closed_on": last,
            "detail": f"no annual report for year {n} was filed in its window "
            f"({year['window_opens_on']} to {last})",
            "missed_on": last + DAY,
        },
        ("LT-11.1", "LT-13"),
    )


def _complete(decision: _Decision, end_day: dt.date) -> None:
    state = decision.state
    years = [y["tenure_year"] for y in state.assessed_years]
    if (
        decision.grounds
        or state.pending()
        or not all(n in state.results for n in years)
        or any(b["status"] in ("open", "ordered") for b in state.breaches.values())
    ):
        return
    on = max(end_day, state.last_act_on or end_day)
    decision.add(
        "TenureCompleted",
        {
            "talent_id": state.talent_id,
            "period_start": state.period_start,
            "period_end": state.period_end,
            "results": [{"tenure_year": n, "result": state.results[n]} for n in years],
            "backbones_trained": sum(r["backbones_trained"] for r in state.reports.values()),
            "completed_on": on,
        },
        ("LT-10", "LT-11.1", "LT-12"),
    )


tenure = Decider("tenure", Tenure(), evolve, decide, policy.POLICY_VERSION)
