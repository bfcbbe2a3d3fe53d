"""The application aggregate (申报): submission with its eligibility, the LT-9 review stages, the
public notice with its objections, certification and withdrawal. Stream ``application-<id>``.

Pure: ``decide(command, state, context)`` and ``evolve(state, event)``. ``context`` carries
``today``, the working-day ``calendar`` and what the service looked up under the store's append
lock: the ``round`` (a ``round.Round``), the registry lookups for eligibility, and the round's
``standing`` (live candidates with their expert scores) for the quota.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.applications.domain import eligibility, policy
from services.applications.domain.round import Round
from shared.decider import Decider, Event, NewEvent
from shared.errors import NotFound, RuleViolation

OPEN = ("in_review", "approved", "on_notice", "suspended")


# -- commands ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Submit:
    application_id: str
    round_year: int
    county: str
    applicant_name: str
    enterprise_name: str
    category: str
    evidence: dict[str, int]  # the category's integer figures (fen, counts)
    submitted_on: dt.date
    applicant_id: str | None = None  # the applicant's actor id, when they have an account
    person_key: str | None = None  # keyed pseudonym of the ID number (identity.person_key)
    id_number_masked: str | None = None
    enterprise_code: str | None = None  # unified social credit code; None for an individual
    # the category's non-numeric evidence
    facts: dict[str, Any] = field(default_factory=dict)
    # LT-6 basic conditions (form part 2)
    declarations: dict[str, Any] = field(default_factory=dict)
    integrity: dict[str, Any] = field(default_factory=dict)  # LT-7 credit and conduct
    form: dict[str, Any] = field(default_factory=dict)  # the rest of the application form


@dataclass(frozen=True)
class Review:
    stage: str
    passed: bool
    opinion: str = ""
    reasons: tuple[str, ...] = ()
    decided_on: dt.date | None = None
    # LT-9.1: {body, agrees, opinion, signed_on} per county body
    county_opinions: tuple[Mapping[str, Any], ...] = ()
    # LT-9.3: {name, score[, vote]} per committee member
    experts: tuple[Mapping[str, Any], ...] = ()
    chair: Mapping[str, Any] | None = None  # LT-9.3: {name, signed_on}
    discipline_opinion: Mapping[str, Any] | None = None  # LT-9.4: {body, clear, opinion}
    findings: str = ""  # LT-9.4: what the inspection verified
    cited: tuple[str, ...] = ()  # further clauses a rejection applies (e.g. LT-7)


@dataclass(frozen=True)
class StartNotice:
    start_date: dt.date


@dataclass(frozen=True)
class RaiseObjection:
    objection_id: str
    received_on: dt.date
    summary: str
    source: str


@dataclass(frozen=True)
class ResolveObjection:
    objection_id: str
    upheld: bool
    finding: str
    resolved_on: dt.date | None = None


@dataclass(frozen=True)
class Certify:
    talent_id: str


@dataclass(frozen=True)
class Withdraw:
    reason: str


@dataclass(frozen=True)
class Candidate:
    """A live candidate of the round who has an expert score (for the quota, LT-8/LT-9.5)."""

    application_id: str
    expert_score: Decimal
    approved: bool = False  # passed the Leading Group
    confirmed: bool = False  # passed the Standing Committee
    certified: bool = False


# -- state ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Application:
    # new, in_review, ineligible, approved, on_notice, suspended, certified, rejected, withdrawn
    status: str = "new"
    application: dict[str, Any] = field(default_factory=dict)  # the ApplicationSubmitted payload
    stages_passed: tuple[str, ...] = ()
    last_decided_on: dt.date | None = None
    expert_score: Decimal | None = None
    notice_start: dt.date | None = None
    notice_end: dt.date | None = None
    # id -> received_on of open objections
    objections: dict[str, dt.date] = field(default_factory=dict)
    resolved: tuple[str, ...] = ()
    talent_id: str | None = None

    @property
    def next_stage(self) -> str | None:
        done = len(self.stages_passed)
        return policy.STAGE_NAMES[done] if done < len(policy.STAGE_NAMES) else None


Command = Submit | Review | StartNotice | RaiseObjection | ResolveObjection | Certify | Withdraw


def evolve(state: Application, event: Event) -> Application:
    p = event.payload
    match event.event_type:
        case "ApplicationSubmitted":
            return replace(
                state, status="in_review", application=dict(p), last_decided_on=p["submitted_on"]
            )
        case "EligibilityAssessed":
            return state if p["eligible"] else replace(state, status="ineligible")
        case "ReviewPassed":
            passed = state.stages_passed + (p["stage"],)
            status = "approved" if len(passed) == len(policy.STAGE_NAMES) else "in_review"
            score = Decimal(p["expert_score"]) if "expert_score" in p else state.expert_score
            return replace(
                state,
                stages_passed=passed,
                status=status,
                expert_score=score,
                last_decided_on=p.get("decided_on", state.last_decided_on),
            )
        case "ReviewRejected":
            return replace(state, status="rejected")
        case "PublicNoticeStarted":
            return replace(
                state, status="on_notice", notice_start=p["start_date"], notice_end=p["end_date"]
            )
        case "ObjectionRaised":
            return replace(
                state,
                status="suspended",
                objections={**state.objections, p["objection_id"]: p["received_on"]},
            )
        case "ObjectionResolved":
            still = {k: v for k, v in state.objections.items() if k != p["objection_id"]}
            status = "on_notice" if not still and state.status == "suspended" else state.status
            return replace(
                state,
                objections=still,
                status=status,
                resolved=state.resolved + (p["objection_id"],),
            )
        case "TalentCertified":
            return replace(state, status="certified", talent_id=p["talent_id"])
        case "ApplicationWithdrawn":
            return replace(state, status="withdrawn")
    return state


def decide(command: Command, state: Application, context: Mapping[str, Any]) -> list[NewEvent]:
    match command:
        case Submit():
            return _submit(command, state, context)
        case Review():
            return _review(command, state, context)
        case StartNotice():
            return _start_notice(command, state, context)
        case RaiseObjection():
            return _raise_objection(command, state, context)
        case ResolveObjection():
            return _resolve_objection(command, state, context)
        case Certify():
            return _certify(command, state, context)
        case Withdraw():
            return _withdraw(command, state, context)
    raise TypeError(f"unknown command {command!r}")


# -- submission and eligibility (LT-6, LT-7, LT-8, LT-9.1, LT-10) ------------------------------
def _submit(command: Submit, state: Application, context: Mapping[str, Any]) -> list[NewEvent]:
    if state.status != "new":
        raise RuleViolation("LT-9.1", "this application was already submitted")
    rnd: Round | None = context.get("round")
    if rnd is None or not rnd.opened:
        raise RuleViolation(
            "LT-8",
            f"no selection round is open for {command.round_year}",
            fields={"round_year": ["No round open for this year."]},
        )
    if command.submitted_on > context["today"]:
        raise RuleViolation(
            "LT-9.1",
            "an application cannot be filed in the future",
            fields={"submitted_on": ["Must not be after today."]},
        )
    if not rnd.accepts(command.submitted_on):
        assert rnd.window_opens is not None and rnd.window_closes is not None
        raise RuleViolation(
            "LT-8",
            f"the {rnd.year} round accepts applications from "
            f"{rnd.window_opens.isoformat()} to "
            f"{rnd.window_closes.isoformat()}",
            fields={"submitted_on": ["Outside the round's submission window."]},
        )
    optional = {
        "applicant_id": command.applicant_id,
        "person_key": command.person_key,
        "id_number_masked": command.id_number_masked,
        "enterprise_code": command.enterprise_code,
        "facts": command.facts or None,
        "declarations": command.declarations or None,
        "integrity": command.integrity or None,
        "form": command.form or None,
    }
    submitted = {
        "application_id": command.application_id,
        "round_year": command.round_year,
        "county": command.county,
        "applicant_name": command.applicant_name,
        "enterprise_name": command.enterprise_name,
        "category": command.category,
        "evidence": dict(command.evidence),
        "submitted_on": command.submitted_on,
        **{k: v for k, v in optional.items() if v is not None},
    }
    eligible, checks = eligibility.assess(command, context.get("lookups", {}))
    return [
        NewEvent("ApplicationSubmitted", submitted, ("LT-9.1", command.category)),
        NewEvent(
            "EligibilityAssessed",
            {
                "application_id": command.application_id,
                "eligible": eligible,
                "failed": [
                    f"{c['clause']} {c['check']}"
                    for c in checks
                    if c["required"] and not c["passed"]
                ],
                "checks": checks,
            },
            eligibility.clauses_of(checks),
        ),
    ]


# -- the review stages (LT-9) -------------------------------------------------------------------
def _review(command: Review, state: Application, context: Mapping[str, Any]) -> list[NewEvent]:
    if state.status != "in_review":
        raise RuleViolation("LT-9", f"the application is {state.status}, not in review")
    if command.stage != state.next_stage:
        raise RuleViolation(
            "LT-9",
            f"stage {command.stage} is out of order: the next stage is {state.next_stage}",
            fields={"stage": [state.next_stage]},
        )
    clause = policy.STAGE_CLAUSE[command.stage]
    decided_on = _decision_date(command.decided_on, state, context, clause)
    record: dict[str, Any] = {
        "application_id": state.application["application_id"],
        "stage": command.stage,
        "decided_on": decided_on,
    }
    clauses: tuple[str, ...] = (clause,)
    if command.stage == "county_recommendation":
        record.update(_county_recommendation(command))
    elif command.stage == "expert_review":
        record.update(_expert_review(command))
    elif command.stage == "inspection":
        record.update(_inspection(command))
    elif command.passed and command.stage == "approval":
        record["ranking"] = _approval_ranking(state, context)
        clauses += ("LT-8",)
    elif command.passed and command.stage == "standing_committee":
        _within_quota(state, context, "confirmed", "agreed by the Standing Committee")
        clauses += ("LT-8",)
    if command.passed:
        return [NewEvent("ReviewPassed", {**record, "opinion": command.opinion}, clauses)]
    if not command.reasons:
        raise RuleViolation(
            clause,
            "a rejection must give its reasons",
            fields={"reasons": ["Required when rejecting."]},
        )
    return [
        NewEvent(
            "ReviewRejected",
            {**record, "reasons": list(command.reasons)},
            clauses + tuple(c for c in command.cited if c not in clauses),
        )
    ]


def _decision_date(
    decided_on: dt.date | None,
    state: Application,
    context: Mapping[str, Any],
    clause: str,
    field_name: str = "decided_on",
) -> dt.date:
    """A decision is dated on the day it was signed: not in the future, not before the step it
    follows."""
    day: dt.date = decided_on or context["today"]
    if day > context["today"]:
        raise RuleViolation(
            clause,
            "a decision cannot be dated in the future",
            fields={field_name: ["Must not be after today."]},
        )
    if state.last_decided_on and day < state.last_decided_on:
        raise RuleViolation(
            clause,
            f"a decision cannot precede the step before it ({state.last_decided_on.isoformat()})",
            fields={field_name: [f"Must not be before {state.last_decided_on.isoformat()}."]},
        )
    return day


def _county_recommendation(command: Review) -> dict[str, Any]:
    """LT-9.1: the county recommends after collecting the six county bodies' opinions (form part
    6); it recommends only with all six on file, none objecting."""
    opinions = [dict(o) for o in command.county_opinions]
    if command.passed:
        missing = sorted(set(policy.COUNTY_BODIES) - {o["body"] for o in opinions})
        if missing:
            raise RuleViolation(
                "LT-9.1",
                "the county recommends only with the opinions of all six county bodies",
                fields={"county_opinions": [f"Missing: {', '.join(missing)}."]},
            )
        objecting = sorted(o["body"] for o in opinions if not o["agrees"])
        if objecting and policy.COUNTY_RECOMMENDATION_NEEDS_ALL_AGREE:
            raise RuleViolation(
                "LT-9.1",
                f"{', '.join(objecting)} did not agree: the county cannot recommend",
                fields={"county_opinions": [f"Not agreed by: {', '.join(objecting)}."]},
            )
    return {"county_opinions": opinions} if opinions else {}


def expert_score(experts: Sequence[Mapping[str, Any]]) -> Decimal:
    """The committee's score: the members' average, to 2 decimals (half up)."""
    total = sum((Decimal(e["score"]) for e in experts), Decimal(0))
    return (total / len(experts)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _expert_review(command: Review) -> dict[str, Any]:
    """LT-9.3: the committee's members score (and may vote); the chair signs. The committee's
    decision is the votes' majority (过半数), or, without votes, the average score."""
    experts = [dict(e) for e in command.experts]
    if len(experts) < policy.EXPERT_PANEL_MIN:
        raise RuleViolation(
            "LT-9.3",
            f"a review committee has at least {policy.EXPERT_PANEL_MIN} members",
            fields={"experts": [f"At least {policy.EXPERT_PANEL_MIN} members."]},
        )
    if not command.chair:
        raise RuleViolation(
            "LT-9.3",
            "the committee's chair signs its opinion",
            fields={"chair": ["Required: the chair's sign-off."]},
        )
    score = expert_score(experts)
    votes = [e["vote"] for e in experts if "vote" in e]
    if votes:
        in_favour = votes.count("for")
        passes = 2 * in_favour > len(experts)
        tally = f"{in_favour} of {len(experts)} members voted for"
    else:
        passes = score >= policy.EXPERT_PASS_SCORE
        tally = f"average score {score} against a pass mark of {policy.EXPERT_PASS_SCORE}"
    if passes != command.passed:
        raise RuleViolation(
            "LT-9.3",
            f"the committee's decision is its members': {tally}, so "
            f"the candidate {'passes' if passes else 'does not pass'}",
            fields={"decision": ["pass" if passes else "reject"]},
        )
    return {"experts": experts, "expert_score": str(score), "chair": dict(command.chair)}


def _inspection(command: Review) -> dict[str, Any]:
    """LT-9.4: inspection verifies the candidate, with discipline inspection's opinion; a pass
    needs that opinion and a clear one."""
    opinion = dict(command.discipline_opinion) if command.discipline_opinion else None
    if command.passed and opinion is None:
        raise RuleViolation(
            "LT-9.4",
            "the inspection needs the discipline inspection and supervision opinion",
            fields={"discipline_opinion": ["Required to pass the inspection."]},
        )
    if command.passed and opinion is not None and not opinion["clear"]:
        raise RuleViolation(
            "LT-9.4",
            "discipline inspection raised an issue: the inspection cannot pass",
            fields={"discipline_opinion": ["Not clear."]},
        )
    out = {"findings": command.findings} if command.findings else {}
    return {**out, "discipline_opinion": opinion} if opinion else out


def _others(state: Application, context: Mapping[str, Any]) -> list[Candidate]:
    me = state.application["application_id"]
    return [c for c in context.get("standing", ()) if c.application_id != me]


def _approval_ranking(state: Application, context: Mapping[str, Any]) -> dict[str, Any]:
    """LT-8 and LT-9.5: the quota binds at approval and candidates are taken in order of their
    expert score. A candidate is approved only while a slot is free after those already approved
    and every live candidate with a higher score (ties share a rank)."""
    rnd: Round = context["round"]
    score = state.expert_score
    assert rnd.quota is not None and score is not None  # an open round; a scored candidate
    others = _others(state, context)
    taken = sum(1 for c in others if c.approved)
    if taken >= rnd.quota:
        raise RuleViolation(
            "LT-8",
            f"the {rnd.year} round's quota of {rnd.quota} is taken",
            details={"quota": rnd.quota, "approved": taken},
        )
    ahead = sorted(c.application_id for c in others if not c.approved and c.expert_score > score)
    rank = 1 + sum(1 for c in others if c.expert_score > score)
    if taken + len(ahead) >= rnd.quota:
        raise RuleViolation(
            "LT-9.5",
            f"ranked {rank} by expert score: the {rnd.quota - taken} "
            f"free place(s) of the quota go first to the "
            f"{len(ahead)} higher-scored candidate(s) still in review",
            details={"rank": rank, "quota": rnd.quota, "approved": taken, "ahead": ahead},
        )
    return {
        "rank": rank,
        "candidates": len(others) + 1,
        "quota": rnd.quota,
        "approved": taken,
        "expert_score": str(score),
    }


def _within_quota(state: Application, context: Mapping[str, Any], flag: str, what: str) -> None:
    rnd: Round = context["round"]
    taken = sum(1 for c in _others(state, context) if getattr(c, flag))
    assert rnd.quota is not None  # an open round
    if taken >= rnd.quota:
        raise RuleViolation(
            "LT-8",
            f"{taken} candidate(s) of the {rnd.year} round are already "
            f"{what}: the quota is {rnd.quota}",
            details={"quota": rnd.quota, flag: taken},
        )


# -- public notice, objections, certification (LT-9.5, LT-10) -----------------------------------
def _start_notice(
    command: StartNotice, state: Application, context: Mapping[str, Any]
) -> list[NewEvent]:
    if state.status != "approved":
        raise RuleViolation(
            "LT-9.5",
            f"the application is {state.status}: only a candidate the "
            "Standing Committee agreed goes on public notice",
        )
    _decision_date(command.start_date, state, context, "LT-9.5", "start_date")
    end: dt.date = context["calendar"].nth_working_day(
        command.start_date, policy.NOTICE_WORKING_DAYS
    )
    return [
        NewEvent(
            "PublicNoticeStarted",
            {
                "application_id": state.application["application_id"],
                "start_date": command.start_date,
                "end_date": end,
                "working_days": policy.NOTICE_WORKING_DAYS,
            },
            ("LT-9.5",),
        )
    ]


def _raise_objection(
    command: RaiseObjection, state: Application, context: Mapping[str, Any]
) -> list[NewEvent]:
    if state.status not in ("on_notice", "suspended"):
        raise RuleViolation(
            "LT-9.5",
            f"the application is {state.status}: objections are raised during its public notice",
        )
    if command.objection_id in state.objections or command.objection_id in state.resolved:
        raise RuleViolation("LT-9.5", f"objection {command.objection_id} is already recorded")
    day = command.received_on
    assert state.notice_start is not None and state.notice_end is not None  # on notice
    if day > context["today"]:
        raise RuleViolation(
            "LT-9.5",
            "an objection cannot be received in the future",
            fields={"received_on": ["Must not be after today."]},
        )
    if not state.notice_start <= day <= state.notice_end:
        raise RuleViolation(
            "LT-9.5",
            f"the public notice ran from "
            f"{state.notice_start.isoformat()} to "
            f"{state.notice_end.isoformat()}",
            fields={"received_on": ["Outside the public notice."]},
        )
    return [
        NewEvent(
            "ObjectionRaised",
            {
                "application_id": state.application["application_id"],
                "objection_id": command.objection_id,
                "received_on": day,
                "summary": command.summary,
                "source": command.source,
            },
            ("LT-9.5",),
        )
    ]


def _resolve_objection(
    command: ResolveObjection, state: Application, context: Mapping[str, Any]
) -> list[NewEvent]:
    received = state.objections.get(command.objection_id)
    if received is None:
        if command.objection_id in state.resolved:
            raise RuleViolation("LT-9.5", f"objection {command.objection_id} is already resolved")
        raise NotFound(f"no objection {command.objection_id} on this application")
    day: dt.date = command.resolved_on or context["today"]
    if day > context["today"] or day < received:
        raise RuleViolation(
            "LT-9.5",
            f"an objection received on {received.isoformat()} is "
            "resolved on or after that day and not in the future",
            fields={"resolved_on": ["Out of range."]},
        )
    app_id = state.application["application_id"]
    events = [
        NewEvent(
            "ObjectionResolved",
            {
                "application_id": app_id,
                "objection_id": command.objection_id,
                "outcome": "upheld" if command.upheld else "dismissed",
                "finding": command.finding,
                "resolved_on": day,
            },
            ("LT-9.5",),
        )
    ]
    if command.upheld:  # 公示中发现影响选拔认定问题: not certified
        events.append(
            NewEvent(
                "ReviewRejected",
                {
                    "application_id": app_id,
                    "stage": policy.NOTICE_STAGE,
                    "decided_on": day,
                    "reasons": [command.finding],
                },
                ("LT-9.5",),
            )
        )
    return events


def _certify(command: Certify, state: Application, context: Mapping[str, Any]) -> list[NewEvent]:
    if state.status == "suspended":
        raise RuleViolation(
            "LT-9.5",
            "certification is suspended until the objection(s) "
            f"{', '.join(sorted(state.objections))} are resolved",
        )
    if state.status != "on_notice":
        raise RuleViolation("LT-9.5", f"the application is {state.status}, not on notice")
    today: dt.date = context["today"]
    assert state.notice_end is not None  # on notice
    if today <= state.notice_end:
        raise RuleViolation(
            "LT-9.5", f"the public notice runs until the end of {state.notice_end.isoformat()}"
        )
    _within_quota(state, context, "certified", "certified")
    app = state.application
    other = context.get("lookups", {}).get("enterprise_talent")
    if app.get("enterprise_code") and other:
        raise RuleViolation(
            "LT-10", f"enterprise {app['enterprise_code']} already has a Leading Talent ({other})"
        )
    track = policy.TRACK_OF_CATEGORY[app["category"]]
    baseline = {k: app["evidence"].get(k, 0) for k in policy.BASELINE_FIGURES[track]}
    optional = {
        "applicant_id": app.get("applicant_id"),
        "enterprise_code": app.get("enterprise_code"),
    }
    return [
        NewEvent(
            "TalentCertified",
            {
                "talent_id": command.talent_id,
                "application_id": app["application_id"],
                "applicant_name": app["applicant_name"],
                "county": app["county"],
                "category": app["category"],
                "track": track,
                "baseline_year": app["round_year"] - 1,
                "baseline": baseline,
                "period_start": today,
                "period_end": period_end(today),
                "origin": "selection",
                "round_year": app["round_year"],
                "enterprise_name": app["enterprise_name"],
                **{k: v for k, v in optional.items() if v is not None},
            },
            ("LT-9.5", "LT-8", "LT-10"),
        )
    ]


def period_end(start: dt.date) -> dt.date:
    """The last day of the LT-10 training period that starts on ``start`` (届满: inclusive)."""
    years = policy.TRAINING_PERIOD_YEARS
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        anniversary = start.replace(year=start.year + years, day=28) + dt.timedelta(days=1)
    return anniversary - dt.timedelta(days=1)


# -- withdrawal ----------------------------------------------------------------------------------
def _withdraw(command: Withdraw, state: Application, context: Mapping[str, Any]) -> list[NewEvent]:
    if state.status not in OPEN:
        raise RuleViolation(
            "LT-9",
            f"the application is {state.status}: only an application "
            "still in the selection can be withdrawn",
        )
    return [
        NewEvent(
            "ApplicationWithdrawn",
            {
                "application_id": state.application["application_id"],
                "reason": command.reason,
                "withdrawn_on": context["today"],
                "stage": state.next_stage or state.status,
            },
            ("LT-9",),
        )
    ]


def stream(application_id: str) -> str:
    return f"application-{application_id}"


application = Decider("application", Application(), evolve, decide, policy.POLICY_VERSION)
