"""The application aggregate (申报): submission with its eligibility, the LT-9 review stages, the
public notice with its objections, certification and withdrawal. Stream ``application-<id>``.

Pure: ``decide(command, state, context)`` and ``evolve(state, event)``. ``context`` carries
``today``, the working-day ``calendar`` and what the service looked up under the store's append
lock: the ``round`` (a ``round.Round``), the registry ``lookups`` (eligibility's, the person's
live applications and training periods for LT-10.1, the enterprise's talent for LT-10), and the
round's ``standing`` (live candidates with their expert scores and proposal ranks) for the quota.

Every act is dated (``submitted_on``, ``decided_on``, ``start_date``, ``received_on``,
``resolved_on``, ``certified_on``, ``withdrawn_on``; default today): not after today, not before
the programme (``policy.PROGRAMME_START``), not before the act before it on the stream.
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
    # LT-6.3 (at the county recommendation): {employment_strong, tax_large, reasons}
    seller_contribution: Mapping[str, Any] | None = None
    proposal: Mapping[str, Any] | None = None  # LT-9.5 提出人选: {rank?, reason?}


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
    certified_on: dt.date | None = None  # the act's date (default today)


@dataclass(frozen=True)
class Withdraw:
    reason: str
    withdrawn_on: dt.date | None = None  # the act's date (default today)


@dataclass(frozen=True)
class Candidate:
    """A live candidate of the round who has an expert score (for the quota, LT-8/LT-9.5)."""

    application_id: str
    expert_score: Decimal
    approved: bool = False  # passed the Leading Group
    confirmed: bool = False  # passed the Standing Committee
    certified: bool = False
    inspected: bool = False  # passed the inspection (LT-9.4)
    proposed: bool = False  # on the Commerce Bureau's proposal (LT-9.5)
    proposal_rank: int | None = None


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
    proposal_rank: int | None = None  # the rank the Commerce Bureau proposed (LT-9.5)

    @property
    def next_stage(self) -> str | None:
        """The stage after the last one passed (by name: a history recorded before a stage was
        added goes on from where it stood)."""
        if not self.stages_passed:
            return policy.STAGE_NAMES[0]
        done = policy.STAGE_NAMES.index(self.stages_passed[-1]) + 1
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
            status = "approved" if p["stage"] == policy.STAGE_NAMES[-1] else "in_review"
            score = Decimal(p["expert_score"]) if "expert_score" in p else state.expert_score
            rank = p["proposal"]["rank"] if "proposal" in p else state.proposal_rank
            return replace(
                state,
                stages_passed=passed,
                status=status,
                expert_score=score,
                proposal_rank=rank,
                last_decided_on=p.get("decided_on", state.last_decided_on),
            )
        case "ReviewRejected":
            return replace(state, status="rejected")
        case "PublicNoticeStarted":
            return replace(
                state,
                status="on_notice",
                notice_start=p["start_date"],
                notice_end=p["end_date"],
                last_decided_on=max(p["start_date"], state.last_decided_on or p["start_date"]),
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
                last_decided_on=max(p["resolved_on"], state.last_decided_on or p["resolved_on"]),
            )
        case "TalentCertified":
            day = p.get("certified_on", p["period_start"])
            return replace(state, status="certified", talent_id=p["talent_id"], last_decided_on=day)
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
    _not_before_programme(command.submitted_on, "LT-9.1", "submitted_on")
    if not rnd.accepts(command.submitted_on):
        assert rnd.window_opens is not None and rnd.window_closes is not None
        raise RuleViolation(
            "LT-8",
            f"the {rnd.year} round accepts applications from "
            f"{rnd.window_opens.isoformat()} to "
            f"{rnd.window_closes.isoformat()}",
            fields={"submitted_on": ["Outside the round's submission window."]},
        )
    _once_per_person(command, context.get("lookups", {}))
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


def _once_per_person(command: Submit, lookups: Mapping[str, Any]) -> None:
    """LT-10.1 每人一次性: a person (by their pseudonym) holds no two live applications and does
    not apply while in a training period; a former talent whose period has ended may."""
    live = tuple(lookups.get("person_applications", ()))
    if len(live) + 1 > policy.PERSON_LIVE_APPLICATIONS_MAX:
        raise RuleViolation(
            "LT-10.1",
            f"this person already holds a live application ({', '.join(live)}): "
            "one person, one application at a time",
            fields={"id_number": ["Already has a live application."]},
            details={"applications": list(live)},
        )
    if policy.APPLY_DURING_TRAINING_PERIOD:
        return
    day = command.submitted_on
    for talent_id, start, end in lookups.get("person_talents", ()):
        if start <= day <= end:
            raise RuleViolation(
                "LT-10.1",
                f"this person is a Leading Talent ({talent_id}) in a training period from "
                f"{start.isoformat()} to {end.isoformat()}: no application during it",
                fields={"id_number": [f"In a training period until {end.isoformat()}."]},
                details={"talent_id": talent_id},
            )


def _not_before_programme(day: dt.date, clause: str, field_name: str) -> None:
    if day < policy.PROGRAMME_START:
        raise RuleViolation(
            clause,
            f"the rules took effect on {policy.PROGRAMME_START.isoformat()} (LT-16): no act of "
            "this programme is dated before that day",
            fields={field_name: [f"Must not be before {policy.PROGRAMME_START.isoformat()}."]},
        )


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
    _stage_records_only(command)
    if command.stage == "county_recommendation":
        county = _county_recommendation(command, state)
        record.update(county)
        if "seller_contribution" in county:
            clauses += ("LT-6.3",)
    elif command.stage == "expert_review":
        record.update(_expert_review(command))
    elif command.stage == "inspection":
        record.update(_inspection(command))
    elif command.passed and command.stage == "proposal":
        record["proposal"] = _proposal(command, state, context)
        clauses += ("LT-8",)
    elif command.passed and command.stage == "approval":
        _one_per_enterprise(state, context, decided_on, "approved")
        record["ranking"] = _approval_ranking(state, context)
        clauses += ("LT-8", "LT-10")
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


def _stage_records_only(command: Review) -> None:
    """A stage's own records only: the LT-6.3 judgement belongs to the county's recommendation,
    the rank to the proposal."""
    for name, stage in (("seller_contribution", "county_recommendation"), ("proposal", "proposal")):
        if getattr(command, name) is not None and command.stage != stage:
            raise RuleViolation(
                policy.STAGE_CLAUSE[command.stage],
                f"{name} is part of the {stage} record",
                fields={name: [f"Not part of the {command.stage} record."]},
            )


def _decision_date(
    decided_on: dt.date | None,
    state: Application,
    context: Mapping[str, Any],
    clause: str,
    field_name: str = "decided_on",
) -> dt.date:
    """An act is dated on the day it happened (a decision on the day it was signed): not in the
    future, not before the programme, not before the step it follows."""
    day: dt.date = decided_on or context["today"]
    if day > context["today"]:
        raise RuleViolation(
            clause,
            "an act cannot be dated in the future",
            fields={field_name: ["Must not be after today."]},
        )
    _not_before_programme(day, clause, field_name)
    if state.last_decided_on and day < state.last_decided_on:
        raise RuleViolation(
            clause,
            f"an act cannot precede the step before it ({state.last_decided_on.isoformat()})",
            fields={field_name: [f"Must not be before {state.last_decided_on.isoformat()}."]},
        )
    return day


def _county_recommendation(command: Review, state: Application) -> dict[str, Any]:
    """LT-9.1 征求有关部门意见后择优推荐: the county recommends after collecting the six county bodies'
    opinions (form part 6). Under the reading "county_decides" an opinion against is recorded
    (and shown to every later stage) and the county recommends on its own decision, giving its
    reasons; under "any_body_vetoes" a body's opinion against refuses the recommendation. An
    LT-6.3 applicant is recommended only with the county's judgement that their job creation is
    strong or their tax contribution large (``_seller_contribution``)."""
    opinions = [dict(o) for o in command.county_opinions]
    out: dict[str, Any] = {"county_opinions": opinions} if opinions else {}
    if command.passed:
        missing = sorted(set(policy.COUNTY_BODIES) - {o["body"] for o in opinions})
        if missing:
            raise RuleViolation(
                "LT-9.1",
                "the county recommends only with the opinions of all six county bodies",
                fields={"county_opinions": [f"Missing: {', '.join(missing)}."]},
            )
        against = sorted(o["body"] for o in opinions if not o["agrees"])
        if against and policy.COUNTY_RECOMMENDATION_READING == "any_body_vetoes":
            raise RuleViolation(
                "LT-9.1",
                f"{', '.join(against)} did not agree: the county cannot recommend",
                fields={"county_opinions": [f"Not agreed by: {', '.join(against)}."]},
            )
        if against and not command.reasons:
            raise RuleViolation(
                "LT-9.1",
                f"{', '.join(against)} did not agree: the county recommends on its own "
                "decision and gives its reasons",
                fields={"reasons": ["Required when a county body's opinion is against."]},
            )
        if command.reasons:
            out["reasons"] = list(command.reasons)
    judged = _seller_contribution(command, state)
    if judged is not None:
        out["seller_contribution"] = judged
    return out


def _seller_contribution(command: Review, state: Application) -> dict[str, Any] | None:
    """LT-6.3 有一定就业带动能力或税收贡献较大, under the reading "county_judgement": the county's
    recorded judgement on the figures the applicant showed (jobs driven, tax paid), with its
    reasons; a recommendation passes only if it finds one of the two. None where it does not
    apply (another category, the "threshold" reading, or a rejection without a judgement)."""
    app = state.application
    applies = (
        app.get("category") == "LT-6.3" and policy.SELLER_CONTRIBUTION_READING == "county_judgement"
    )
    given = command.seller_contribution
    if not applies:
        if given is not None:
            raise RuleViolation(
                "LT-9.1",
                "the county judges job creation and tax contribution of LT-6.3 applicants only",
                fields={"seller_contribution": ["Only for an LT-6.3 applicant."]},
            )
        return None
    if given is None:
        if not command.passed:
            return None
        raise RuleViolation(
            "LT-6.3",
            "the rules set no figure for 带动就业能力强或税收贡献较大: the county records its "
            "judgement on the figures shown before it recommends",
            fields={"seller_contribution": ["Required to recommend an LT-6.3 applicant."]},
        )
    strong, large = bool(given["employment_strong"]), bool(given["tax_large"])
    if command.passed and not (strong or large):
        raise RuleViolation(
            "LT-6.3",
            "the county found neither strong job creation nor a large tax contribution: "
            "an LT-6.3 applicant cannot be recommended",
            fields={"seller_contribution": ["Neither employment_strong nor tax_large."]},
        )
    evidence = app.get("evidence", {})
    return {
        "jobs_driven": evidence.get("jobs_driven", 0),
        "tax_paid_fen": evidence.get("tax_paid_fen", 0),
        "employment_strong": strong,
        "tax_large": large,
        "met": strong or large,
        "reasons": given["reasons"],
        "reading": policy.SELLER_CONTRIBUTION_READING,
    }


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


def _proposal(command: Review, state: Application, context: Mapping[str, Any]) -> dict[str, Any]:
    """LT-9.5 提出人选: the Commerce Bureau proposes the candidate, from the review and the
    inspection, at a rank with its reason. The quota (LT-8) binds here: no more proposed in a
    round than its quota. Without a rank of its own the bureau follows the committee's score
    (``policy.PROPOSAL_DEFAULT_ORDER``): the candidate takes the rank of its score (ties share
    it) and waits while higher-scored candidates not yet proposed still need the places. A rank
    of the bureau's own must be free, within the quota, and give its reason."""
    rnd: Round = context["round"]
    score = state.expert_score
    assert rnd.quota is not None and score is not None  # an open round; a scored candidate
    others = _others(state, context)
    taken = sum(1 for c in others if c.proposed or c.approved)
    if taken >= rnd.quota:
        raise RuleViolation(
            "LT-8",
            f"the {rnd.year} round's quota of {rnd.quota} is taken by the candidates proposed",
            details={"quota": rnd.quota, "proposed": taken},
        )
    given = dict(command.proposal or {})
    by_score = 1 + sum(1 for c in others if c.inspected and c.expert_score > score)
    rank = given.get("rank")
    if rank is None:
        ahead = sorted(
            c.application_id
            for c in others
            if c.inspected and not (c.proposed or c.approved) and c.expert_score > score
        )
        if taken + len(ahead) >= rnd.quota:
            raise RuleViolation(
                "LT-9.5",
                f"ranked {by_score} by expert score: the {rnd.quota - taken} free place(s) of "
                f"the quota go first to the {len(ahead)} higher-scored candidate(s) not yet "
                "proposed (or give a rank of the bureau's own with its reason)",
                details={"rank": by_score, "quota": rnd.quota, "proposed": taken, "ahead": ahead},
            )
        rank, order = by_score, policy.PROPOSAL_DEFAULT_ORDER
        reason = given.get("reason") or f"专家评审得分 {score}，排名第 {by_score}"
    else:
        holder = sorted(c.application_id for c in others if c.proposal_rank == rank)
        if rank > rnd.quota or holder:
            raise RuleViolation(
                "LT-9.5",
                f"rank {rank} is "
                + (f"held by {', '.join(holder)}" if holder else f"beyond the quota {rnd.quota}"),
                fields={"proposal": {"rank": [f"A free rank from 1 to {rnd.quota}."]}},
            )
        if not given.get("reason"):
            raise RuleViolation(
                "LT-9.5",
                "a rank of the bureau's own gives its reason (根据综合评审和考察等情况)",
                fields={"proposal": {"reason": ["Required with a rank."]}},
            )
        order, reason = "bureau", given["reason"]
    return {
        "rank": rank,
        "reason": reason,
        "order": order,
        "rank_by_score": by_score,
        "expert_score": str(score),
        "quota": rnd.quota,
        "proposed": taken,
    }


def _approval_ranking(state: Application, context: Mapping[str, Any]) -> dict[str, Any]:
    """LT-8 and LT-9.5: the quota binds again at approval (no more approved in a round than its
    quota), the candidate at the rank the Commerce Bureau proposed."""
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
    rank = state.proposal_rank or 1 + sum(1 for c in others if c.expert_score > score)
    return {
        "rank": rank,
        "candidates": len(others) + 1,
        "quota": rnd.quota,
        "approved": taken,
        "expert_score": str(score),
    }


def _one_per_enterprise(
    state: Application, context: Mapping[str, Any], day: dt.date, what: str
) -> None:
    """LT-10 同一企业只认定一名领军人才: no second person of an enterprise is approved or certified
    while the enterprise has a certified talent (``policy.ENTERPRISE_TALENT_COUNTS``: "ever", any
    talent it ever had; "in_period", one whose training period covers ``day``).
    ``lookups["enterprise_talents"]``: the enterprise's talents other than this person's."""
    code = state.application.get("enterprise_code")
    if not code:
        return
    for talent_id, start, end in context.get("lookups", {}).get("enterprise_talents", ()):
        if policy.ENTERPRISE_TALENT_COUNTS == "in_period" and not start <= day <= end:
            continue
        raise RuleViolation(
            "LT-10",
            f"enterprise {code} already has a Leading Talent ({talent_id}): one enterprise, "
            f"one talent (同一企业只认定一名), so no second person of it is {what}",
            details={"enterprise_code": code, "talent_id": talent_id},
        )


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
    """LT-9.5 and LT-10: the candidate is certified after the notice closes, on the act's date
    (``certified_on``, from which the training period counts), within the round's quota, not a
    second talent of an enterprise, not a person already in a training period (LT-10.1)."""
    if state.status == "suspended":
        raise RuleViolation(
            "LT-9.5",
            "certification is suspended until the objection(s) "
            f"{', '.join(sorted(state.objections))} are resolved",
        )
    if state.status != "on_notice":
        raise RuleViolation("LT-9.5", f"the application is {state.status}, not on notice")
    day = _decision_date(command.certified_on, state, context, "LT-9.5", "certified_on")
    assert state.notice_end is not None  # on notice
    if day <= state.notice_end:
        raise RuleViolation(
            "LT-9.5",
            f"the public notice runs until the end of {state.notice_end.isoformat()}",
            fields={"certified_on": [f"Must be after {state.notice_end.isoformat()}."]},
        )
    _within_quota(state, context, "certified", "certified")
    _one_per_enterprise(state, context, day, "certified")
    app = state.application
    for talent_id, start, end in context.get("lookups", {}).get("person_talents", ()):
        if start <= day <= end:
            raise RuleViolation(
                "LT-10.1",
                f"this person is already a Leading Talent ({talent_id}) in a training period "
                f"until {end.isoformat()}",
                details={"talent_id": talent_id},
            )
    track = policy.TRACK_OF_CATEGORY[app["category"]]
    baseline = {k: app["evidence"].get(k, 0) for k in policy.BASELINE_FIGURES[track]}
    optional = {
        "applicant_id": app.get("applicant_id"),
        "enterprise_code": app.get("enterprise_code"),
        "person_key": app.get("person_key"),
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
                "period_start": day,
                "period_end": period_end(day),
                "origin": "selection",
                "round_year": app["round_year"],
                "enterprise_name": app["enterprise_name"],
                "certified_on": day,
                **{k: v for k, v in optional.items() if v is not None},
            },
            ("LT-9.5", "LT-8", "LT-10", "LT-10.1"),
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
    day = _decision_date(command.withdrawn_on, state, context, "LT-9", "withdrawn_on")
    return [
        NewEvent(
            "ApplicationWithdrawn",
            {
                "application_id": state.application["application_id"],
                "reason": command.reason,
                "withdrawn_on": day,
                "stage": state.next_stage or state.status,
            },
            ("LT-9",),
        )
    ]


def stream(application_id: str) -> str:
    return f"application-{application_id}"


application = Decider("application", Application(), evolve, decide, policy.POLICY_VERSION)
