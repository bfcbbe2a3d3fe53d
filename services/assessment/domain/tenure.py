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
    tenure_years,
)
from shared.decider import Decider, Event, NewEvent
from shared.errors import RuleViolation

K = TypeVar("K")
V = TypeVar("V")


# -- commands ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenTenure:
    """On certification (LT-10): idempotent, whatever the redeliveries."""

    talent_id: str
    county: str
    track: str
    period_start: dt.date
    period_end: dt.date
    baseline_year: int
    baseline: dict[str, int]


@dataclass(frozen=True)
class TransferTenure(OpenTenure):
    """A Yixiang talent still within the original period, transferred on ``transferred_on``
    (LT-16; the applications service certifies them with ``origin = "yixiang_transfer"``)."""

    transferred_on: dt.date


@dataclass(frozen=True)
class FileAnnualReport:
    tenure_year: int
    figures: dict[str, int]
    promotion_activities: int
    backbones_trained: int
    full_time_in_chuxiong: bool


@dataclass(frozen=True)
class RecordFindings:
    tenure_year: int
    ability_clearly_improved: bool
    influence_further_increased: bool
    note: str = ""


@dataclass(frozen=True)
class OrderRectification:
    breach_id: str
    deadline: dt.date
    requirement: str


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
    # breach id -> {obligation, tenure_year, ...}
    breaches: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # proposal id -> {ground, reasons, status, ...}
    proposals: dict[str, Mapping[str, Any]] = field(default_factory=dict)

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


def _set(mapping: Mapping[K, V], key: K, value: V) -> dict[K, V]:
    return {**mapping, key: value}


def _update(
    mapping: Mapping[K, Mapping[str, Any]], key: K, **changes: Any
) -> dict[K, Mapping[str, Any]]:
    return _set(mapping, key, {**mapping[key], **changes})


def evolve(state: Tenure, event: Event) -> Tenure:
    p = event.payload
    match event.event_type:
        case "TenureOpened":
            years = p.get("years") or tenure_years(
                p["period_start"], p["period_end"], p.get("transferred_on")
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
        case "ObligationBreached":
            return replace(
                state,
                breaches=_set(
                    state.breaches,
                    p["breach_id"],
                    {
                        "obligation": p["obligation"],
                        "tenure_year": p["tenure_year"],
                        "detail": p["detail"],
                        "rectifiable": p["rectifiable"],
                        "status": "open",
                        "deadline": None,
                    },
                ),
            )
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
class _Decision:
    """The events of one decision, each evolved into ``state`` as it is added (so later rules see
    earlier ones), and the disqualification grounds found on the way, proposed once per ground."""

    def __init__(self, state: Tenure, context: Mapping[str, Any]) -> None:
        self.state = state
        self.today: dt.date = context["today"]
        # the service always gives the calendar; a decision that reaches no deadline never asks it
        self.calendar = cast(WorkingDays, context.get("calendar"))
        self.events: list[NewEvent] = []
        # ground -> (reasons, breach ids)
        self.grounds: dict[str, tuple[list[str], list[str]]] = {}

    def passed(self, nominal: dt.date) -> dt.date | None:
        """The effective last day of a period ending on ``nominal``, if it has passed."""
        return passed(nominal, self.today, self.calendar)

    def add(self, event_type: str, payload: dict[str, Any], clauses: Iterable[str]) -> None:
        event = NewEvent(event_type, payload, tuple(clauses))
        self.events.append(event)
        self.state = evolve(self.state, event)

    def propose(self, ground: str, reasons: Iterable[str], breach_ids: Iterable[str] = ()) -> None:
        entry = self.grounds.setdefault(ground, ([], []))
        entry[0].extend(reasons)
        entry[1].extend(breach_ids)

    def finish(self) -> list[NewEvent]:
        for ground, (reasons, breach_ids) in self.grounds.items():
            payload: dict[str, Any] = {
                "talent_id": self.state.talent_id,
                "ground": ground,
                "reasons": reasons,
                "proposal_id": f"P{len(self.state.proposals) + 1}",
                "proposed_on": self.today,
            }
            if breach_ids:
                payload["breach_ids"] = breach_ids
            self.add("DisqualificationProposed", payload, ("LT-14", ground))
        self.grounds = {}
        return self.events


def decide(command: Command, state: Tenure, context: Mapping[str, Any]) -> list[NewEvent]:
    decision = _Decision(state, context)
    match command:
        case OpenTenure() if state.status != "none":
            return []  # opened once, whatever the redeliveries (a transfer too)
        case TransferTenure():
            _transfer(decision, command)
        case OpenTenure():
            _open(decision, command, "selection", None, ("LT-10", "LT-11"))
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


def _open(
    decision: _Decision,
    command: OpenTenure,
    origin: str,
    transferred_on: dt.date | None,
    clauses: tuple[str, ...],
) -> None:
    years = tenure_years(command.period_start, command.period_end, transferred_on)
    payload: dict[str, Any] = {
        "talent_id": command.talent_id,
        "county": command.county,
        "track": command.track,
        "period_start": command.period_start,
        "period_end": command.period_end,
        "baseline_year": command.baseline_year,
        "baseline": dict(command.baseline),
        "origin": origin,
        "years": years,
    }
    if transferred_on:
        payload["transferred_on"] = transferred_on
    decision.add("TenureOpened", payload, clauses)


def _transfer(decision: _Decision, command: TransferTenure) -> None:
    """LT-16: the original period is kept; the years that ended before the transfer was recorded
    were the abolished scheme's, the others are assessed here (the shorter remaining period)."""
    effective, transferred_on = policy.LT_EFFECTIVE_DATE, command.transferred_on
    wrong: dict[str, list[str]] = {}
    if command.period_start >= effective:
        wrong["period_start"] = [f"Must be before {effective}."]
    if not effective <= transferred_on <= command.period_end:
        wrong["period_end"] = [f"Must not be before the transfer ({transferred_on})."]
    if wrong:
        raise RuleViolation(
            "LT-16",
            f"only a Yixiang period that began before {effective} and "
            "had not ended when it was transferred transfers",
            fields=wrong,
        )
    _open(decision, command, "yixiang_transfer", transferred_on, ("LT-16", "LT-10", "LT-11"))


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


def _year_open_for_input(decision: _Decision, year: Year, what: str) -> None:
    """Reports and findings are accepted from the year's first day to its due date (LT-11.1)."""
    state, today, n = decision.state, decision.today, year["tenure_year"]
    if n in state.results:
        raise RuleViolation(
            "LT-11.1",
            f"year {n} was already graded: no {what} can change it",
            fields={"tenure_year": ["Already graded."]},
        )
    if today < year["starts_on"]:
        raise RuleViolation(
            "LT-11.1",
            f"tenure year {n} starts on {year['starts_on']}",
            fields={"tenure_year": [f"Year {n} starts on {year['starts_on']}."]},
        )
    if due := decision.passed(year["report_due_on"]):
        raise RuleViolation(
            "LT-11.1",
            f"year {n}'s report was due on {due}",
            fields={"tenure_year": [f"Was due on {due}."]},
        )


def _report(decision: _Decision, command: FileAnnualReport) -> None:
    state, today, n = decision.state, decision.today, command.tenure_year
    _require_open(state, "LT-11.1", "no report can be filed")
    assert state.track is not None  # an open tenure has its track
    year = _assessed_year(state, n)
    if n in state.reports:
        raise RuleViolation(
            "LT-11.1",
            f"year {n} was already reported (一年一考核)",
            fields={"tenure_year": ["Already reported."]},
        )
    _year_open_for_input(decision, year, "report")
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
            "filed_on": today,
        },
        ("LT-11.1", "LT-12"),
    )
    if n in state.findings or final_without_findings(
        state.track, state.baseline, command.figures, growth_years(n)
    ):
        _grade(decision, n)
    if command.promotion_activities < policy.MIN_PROMOTION_ACTIVITIES_PER_YEAR:
        _breach(
            decision,
            "LT-12.1",
            n,
            f"{command.promotion_activities} promotion activities in "
            f"year {n}; at least "
            f"{policy.MIN_PROMOTION_ACTIVITIES_PER_YEAR} required",
        )
    if not command.full_time_in_chuxiong:
        _breach(decision, "LT-12.4", n, f"not working full time in Chuxiong in year {n}")
    _check_backbones(decision)


def _grade(decision: _Decision, n: int) -> None:
    """Grade year ``n`` from its report and whatever findings are on file (LT-11.1)."""
    state = decision.state
    assert state.track is not None  # only an open tenure's years are graded
    report, findings = state.reports[n], state.findings.get(n)
    outcome = grade(state.track, state.baseline, report["figures"], growth_years(n), findings)
    payload: dict[str, Any] = {
        "talent_id": state.talent_id,
        "tenure_year": n,
        "computation": outcome["computation"],
        "assessed_on": decision.today,
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
    _failed(decision, n, outcome["reasons"])


def _failed(decision: _Decision, n: int, reasons: Iterable[str]) -> None:
    failed = sum(r == UNQUALIFIED for r in decision.state.results.values())
    if failed >= policy.FAILED_YEARS_FOR_PROPOSAL:
        decision.propose(
            policy.FAILED_ASSESSMENT_GROUND, [f"annual assessment of year {n} failed", *reasons]
        )


def _breach(
    decision: _Decision, obligation: str, n: int, detail: str, breach_id: str | None = None
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
            "found_on": decision.today,
        },
        (obligation,),
    )
    if not rectifiable:  # LT-12.4: the 3 consecutive full-time years are broken
        decision.propose(
            policy.WORK_BROKEN_GROUND,
            [f"{policy.OBLIGATIONS[obligation]} ({obligation}) broken: {detail}"],
            [breach_id],
        )


def _check_backbones(decision: _Decision) -> None:
    """LT-12.2, once every assessed year is reported or counted missed: the average over the
    assessed years (a missed year counts 0)."""
    state = decision.state
    years = [y["tenure_year"] for y in state.assessed_years]
    if "LT-12.2" in state.breaches or not all(
        n in state.reports or n in state.results for n in years
    ):
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
            breach_id="LT-12.2",
        )


def _findings(decision: _Decision, command: RecordFindings) -> None:
    state, today, n = decision.state, decision.today, command.tenure_year
    _require_open(state, "LT-11.1", "no findings can be recorded")
    if state.track != "influencer":
        raise RuleViolation(
            "LT-11.1",
            "sellers are graded on sales growth alone: LT-11.1 gives "
            "them no qualitative alternative",
            fields={"ability_clearly_improved": ["Influencers only."]},
        )
    year = _assessed_year(state, n)
    if n in state.findings:
        raise RuleViolation(
            "LT-11.1",
            f"the findings for year {n} were already recorded",
            fields={"tenure_year": ["Findings already recorded."]},
        )
    _year_open_for_input(decision, year, "finding")
    decision.add(
        "AssessorFindingsRecorded",
        {
            "talent_id": state.talent_id,
            "tenure_year": n,
            "ability_clearly_improved": command.ability_clearly_improved,
            "influence_further_increased": command.influence_further_increased,
            "note": command.note,
            "recorded_on": today,
        },
        ("LT-11.1", "LT-13"),
    )
    if n in state.reports:
        _grade(decision, n)


def _known_breach(state: Tenure, breach_id: str) -> Mapping[str, Any]:
    if breach_id not in state.breaches:
        raise RuleViolation(
            "LT-13",
            f"no breach {breach_id}",
            fields={"breach_id": [f"Unknown; known: {sorted(state.breaches)}."]},
        )
    return state.breaches[breach_id]


def _order_rectification(decision: _Decision, command: OrderRectification) -> None:
    state, today = decision.state, decision.today
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
    if command.deadline < today:
        raise RuleViolation(
            "LT-13",
            "a rectification deadline cannot be in the past",
            fields={"deadline": ["Must not be before today."]},
        )
    if command.deadline > state.period_end:
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
            "ordered_on": today,
        },
        ("LT-13", breach["obligation"]),
    )


def _confirm_rectification(decision: _Decision, command: ConfirmRectification) -> None:
    state, today = decision.state, decision.today
    _require_open(state, "LT-13", "no rectification can be confirmed")
    breach = _known_breach(state, command.breach_id)
    if breach["status"] != "ordered":
        raise RuleViolation(
            "LT-13",
            f"breach {command.breach_id} is {breach['status']}, not under a rectification order",
            fields={"breach_id": [f"Is {breach['status']}."]},
        )
    if command.rectified_on > today:
        raise RuleViolation(
            "LT-13",
            "a rectification cannot be confirmed in advance",
            fields={"rectified_on": ["Must not be after today."]},
        )
    if deadline := passed(breach["deadline"], command.rectified_on, decision.calendar):
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
            "rectified_on": command.rectified_on,
            "note": command.note,
        },
        ("LT-13", breach["obligation"]),
    )


def _report_ground(decision: _Decision, command: ReportGround) -> None:
    state, today = decision.state, decision.today
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
    if command.occurred_on > today:
        raise RuleViolation(
            ground,
            "a ground cannot be reported before it occurs",
            fields={"occurred_on": ["Must not be after today."]},
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
            "reported_on": today,
        },
        clauses,
    )
    reference = f" ({command.reference})" if command.reference else ""
    decision.propose(
        ground, [f"{command.kind} on {command.occurred_on}: {command.description}{reference}"]
    )


def _proposal(
    state: Tenure, proposal_id: str | None, today: dt.date, decided_on: dt.date
) -> tuple[str, Mapping[str, Any]]:
    """The pending proposal a Leading Group decision is about (LT-14)."""
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
    if decided_on > today:
        raise RuleViolation(
            "LT-14",
            "a decision cannot be dated in the future",
            fields={"decided_on": ["Must not be after today."]},
        )
    if proposal["proposed_on"] and decided_on < proposal["proposed_on"]:
        raise RuleViolation(
            "LT-14",
            f"proposal {proposal_id} was made on {proposal['proposed_on']}",
            fields={"decided_on": [f"Before the proposal ({proposal['proposed_on']})."]},
        )
    return proposal_id, proposal


def _approve(decision: _Decision, command: ApproveDisqualification) -> None:
    state = decision.state
    pid, proposal = _proposal(state, command.proposal_id, decision.today, command.decided_on)
    decision.add(
        "TalentDisqualified",
        {
            "talent_id": state.talent_id,
            "ground": proposal["ground"],
            "reasons": proposal["reasons"],
            "decided_on": command.decided_on,
            "proposal_id": pid,
        },
        ("LT-14", proposal["ground"]),
    )


def _decline(decision: _Decision, command: DeclineDisqualification) -> None:
    state = decision.state
    pid, proposal = _proposal(state, command.proposal_id, decision.today, command.decided_on)
    decision.add(
        "DisqualificationDeclined",
        {
            "talent_id": state.talent_id,
            "proposal_id": pid,
            "ground": proposal["ground"],
            "reasons": list(command.reasons),
            "decided_on": command.decided_on,
        },
        ("LT-14", proposal["ground"]),
    )


def _fire_deadlines(decision: _Decision) -> None:
    """Everything that fell due before today, once: missed reports (counted failed), influencer
    years graded without findings at their due date, missed rectification deadlines, breaches
    left unrectified at the period's end, and completion of a clean period."""
    state, today = decision.state, decision.today
    if state.status != "open":
        return
    assert state.period_end is not None  # an open tenure has its period
    for year in state.assessed_years:
        n = year["tenure_year"]
        if n in decision.state.results or not (due := decision.passed(year["report_due_on"])):
            continue
        if n in decision.state.reports:
            _grade(decision, n)  # an influencer's year without the assessor's findings
            continue
        reason = f"no annual report for year {n} was filed by its due date {due}"
        decision.add(
            "AssessmentFailed",
            {
                "talent_id": state.talent_id,
                "tenure_year": n,
                "reasons": [reason],
                "computation": [],
                "report_missed": True,
                "report_due_on": due,
                "assessed_on": today,
            },
            ("LT-11.1",),
        )
        _failed(decision, n, [reason])
        _check_backbones(decision)
    for breach_id, breach in decision.state.breaches.items():
        if breach["status"] == "ordered" and (deadline := decision.passed(breach["deadline"])):
            decision.add(
                "RectificationDeadlineMissed",
                {
                    "talent_id": state.talent_id,
                    "breach_id": breach_id,
                    "deadline": deadline,
                    "found_on": today,
                },
                ("LT-13", breach["obligation"]),
            )
            decision.propose(
                policy.RECTIFICATION_MISSED_GROUND,
                [
                    f"{breach['obligation']} not rectified by the county's deadline "
                    f"{deadline}: {breach['detail']}"
                ],
                [breach_id],
            )
    if today <= state.period_end:
        return
    unrectified = {bid: b for bid, b in decision.state.breaches.items() if b["status"] == "open"}
    for bid, breach in unrectified.items():
        decision.propose(
            policy.TARGETS_UNMET_GROUND,
            [
                f"{breach['obligation']} not met and not rectified within the training period: "
                f"{breach['detail']}"
            ],
            [bid],
        )
    _complete(decision)


def _complete(decision: _Decision) -> None:
    state = decision.state
    years = [y["tenure_year"] for y in state.assessed_years]
    if (
        decision.grounds
        or state.pending()
        or not all(n in state.results for n in years)
        or any(b["status"] in ("open", "ordered") for b in state.breaches.values())
    ):
        return
    decision.add(
        "TenureCompleted",
        {
            "talent_id": state.talent_id,
            "period_start": state.period_start,
            "period_end": state.period_end,
            "results": [{"tenure_year": n, "result": state.results[n]} for n in years],
            "backbones_trained": sum(r["backbones_trained"] for r in state.reports.values()),
            "completed_on": decision.today,
        },
        ("LT-10", "LT-11.1", "LT-12"),
    )


tenure = Decider("tenure", Tenure(), evolve, decide, policy.POLICY_VERSION)
