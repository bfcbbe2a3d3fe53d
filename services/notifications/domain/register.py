"""The public register (公示与考核结果通报): what this service keeps of the applications and the
talents, from the other services' events, for two purposes:

* addressing: who the applicant of an application is, which county a talent belongs to (the later
  events of an application or a talent do not repeat it);
* the public feeds: the people on public notice with its start and end dates (LT-9.5: 在互联网或
  有关媒体向社会公示), and the annual assessment results the Commerce Bureau announces (LT-11.1:
  考核结果由州商务局通报). Only name, county, category, dates and results are ever published.

Streams: ``candidate-<application_id>`` and ``results-<talent_id>``. ``REGISTER`` maps a source
event to (decider, key, command); adding an event is one entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.notifications.domain.messages import PartiesUnknown, Payload, stage
from services.notifications.domain.policy import POLICY_VERSION
from shared.decider import Decider, Event, NewEvent


@dataclass(frozen=True)
class Source:
    """What the register reads of another service's event."""

    service: str
    event_type: str
    payload: dict[str, Any]
    actor_id: str | None = None
    actor_role: str | None = None
    on: dt.date | None = None  # the day (Asia/Shanghai) the source event was recorded


def applicant_address(
    payload: Payload, actor_id: str | None = None, actor_role: str | None = None
) -> str:
    """The address of an application's applicant: their own id when the application names it
    (``applicant_id``), else the actor who filed it if that actor is the applicant, else the
    application itself (``applicant:<application_id>``, readable by the applicant the register
    knows for it, see ``shared.auth.may_read_inbox``)."""
    if payload.get("applicant_id"):
        return f"applicant:{payload['applicant_id']}"
    if actor_role == "applicant" and actor_id:
        return f"applicant:{actor_id}"
    return f"applicant:{payload['application_id']}"


# -- candidates: the application as the public sees it --------------------------------------------
@dataclass(frozen=True)
class NoteCandidate:
    application_id: str
    applicant: str
    applicant_name: str
    county: str
    category: str
    round_year: int


@dataclass(frozen=True)
class PublishNotice:
    application_id: str
    start_date: dt.date
    end_date: dt.date
    working_days: int


@dataclass(frozen=True)
class CertifyCandidate:
    application_id: str
    talent_id: str
    certified_on: dt.date
    noted: NoteCandidate  # who, from the certification itself (a talent transferred under LT-16
    #                       was never an application here)


@dataclass(frozen=True)
class RejectCandidate:
    application_id: str
    stage: str


@dataclass(frozen=True)
class NoteObjection:
    application_id: str
    objection_id: str


@dataclass(frozen=True)
class ClearObjection:
    application_id: str
    objection_id: str
    outcome: str


@dataclass(frozen=True)
class WithdrawCandidate:
    application_id: str


@dataclass(frozen=True)
class Candidate:
    noted: bool = False
    notice: bool = False  # a notice was published
    outcome: str | None = None  # certified, rejected, withdrawn
    objections: frozenset[str] = frozenset()  # noted
    cleared: frozenset[str] = frozenset()  # resolved


CandidateCommand = (
    NoteCandidate
    | PublishNotice
    | CertifyCandidate
    | RejectCandidate
    | NoteObjection
    | ClearObjection
    | WithdrawCandidate
)


def evolve_candidate(state: Candidate, event: Event) -> Candidate:
    match event.event_type:
        case "CandidateNoted":
            return replace(state, noted=True)
        case "NoticePublished":
            return replace(state, notice=True)
        case "CandidateCertified":
            return replace(state, outcome="certified")
        case "CandidateRejected":
            return replace(state, outcome="rejected")
        case "CandidateWithdrawn":
            return replace(state, outcome="withdrawn")
        case "ObjectionNoted":
            return replace(state, objections=state.objections | {event.payload["objection_id"]})
        case "ObjectionCleared":
            return replace(state, cleared=state.cleared | {event.payload["objection_id"]})
    return state


def decide_candidate(
    command: CandidateCommand, state: Candidate, context: Mapping[str, Any]
) -> list[NewEvent]:
    """Each fact is recorded once, in whatever order the source events arrive (they come on
    separate queues): a notice's dates are kept even if its certification was handled first."""
    if isinstance(command, NoteCandidate):
        if state.noted:
            return []
        return [
            NewEvent(
                "CandidateNoted",
                {
                    "application_id": command.application_id,
                    "applicant": command.applicant,
                    "applicant_name": command.applicant_name,
                    "county": command.county,
                    "category": command.category,
                    "round_year": command.round_year,
                },
                ("LT-9.1",),
            )
        ]
    if not state.noted:
        if isinstance(command, CertifyCandidate):
            return decide_candidate(command.noted, state, context) + decide_candidate(
                command, Candidate(noted=True), context
            )
        raise PartiesUnknown(
            f"application {command.application_id} is not in the register yet",
            subject=f"application_id={command.application_id}",
        )
    match command:
        case PublishNotice():
            if state.notice:
                return []
            return [
                NewEvent(
                    "NoticePublished",
                    {
                        "application_id": command.application_id,
                        "start_date": command.start_date,
                        "end_date": command.end_date,
                        "working_days": command.working_days,
                    },
                    ("LT-9.5",),
                )
            ]
        case CertifyCandidate() if state.outcome is None:
            return [
                NewEvent(
                    "CandidateCertified",
                    {
                        "application_id": command.application_id,
                        "talent_id": command.talent_id,
                        "certified_on": command.certified_on,
                    },
                    ("LT-9.5", "LT-10"),
                )
            ]
        case RejectCandidate() if state.outcome is None:
            return [
                NewEvent(
                    "CandidateRejected",
                    {"application_id": command.application_id, "stage": command.stage},
                    (stage(command.stage)[1],),
                )
            ]
        case WithdrawCandidate() if state.outcome is None:
            return [
                NewEvent(
                    "CandidateWithdrawn", {"application_id": command.application_id}, ("LT-9",)
                )
            ]
        case NoteObjection():
            if command.objection_id in state.objections | state.cleared:
                return []  # noted already, or resolved (its resolution was handled first)
            return [
                NewEvent(
                    "ObjectionNoted",
                    {
                        "application_id": command.application_id,
                        "objection_id": command.objection_id,
                    },
                    ("LT-9.5",),
                )
            ]
        case ClearObjection():
            if command.objection_id in state.cleared:
                return []
            return [
                NewEvent(
                    "ObjectionCleared",
                    {
                        "application_id": command.application_id,
                        "objection_id": command.objection_id,
                        "outcome": command.outcome,
                    },
                    ("LT-9.5",),
                )
            ]
        case CertifyCandidate() | RejectCandidate() | WithdrawCandidate():
            return []  # the application's outcome is final
    raise TypeError(f"unknown command {command!r}")


candidate = Decider("candidate", Candidate(), evolve_candidate, decide_candidate, POLICY_VERSION)


# -- annual assessment results ---------------------------------------------------------------------
@dataclass(frozen=True)
class Announce:
    talent_id: str
    tenure_year: int
    result: str  # excellent, qualified, unqualified
    assessed_on: dt.date | None


@dataclass(frozen=True)
class Results:
    years: frozenset[int] = frozenset()


def evolve_results(state: Results, event: Event) -> Results:
    return Results(state.years | {event.payload["tenure_year"]})


def decide_results(command: Announce, state: Results, context: Mapping[str, Any]) -> list[NewEvent]:
    """Context: ``who``, the register's row for the talent (the announcement names them)."""
    if not context.get("who"):
        raise PartiesUnknown(
            f"talent {command.talent_id} is not in the register yet",
            subject=f"talent_id={command.talent_id}",
        )
    if command.tenure_year in state.years:
        return []
    return [
        NewEvent(
            "AssessmentResultAnnounced",
            {
                "talent_id": command.talent_id,
                "tenure_year": command.tenure_year,
                "result": command.result,
                "assessed_on": command.assessed_on,
            },
            ("LT-11.1",),
        )
    ]


results = Decider("results", Results(), evolve_results, decide_results, POLICY_VERSION)


# -- which source event gives which command ------------------------------------------------------
Command = CandidateCommand | Announce
# what a source event gives: the decider, the stream key and the command
Registration = tuple[Decider[Any], str, Command]


def _note(s: Source, round_year: int) -> NoteCandidate:
    p = s.payload
    return NoteCandidate(
        p["application_id"],
        applicant_address(p, s.actor_id, s.actor_role),
        p["applicant_name"],
        p["county"],
        p["category"],
        round_year,
    )


def _certified(s: Source) -> Registration:
    p = s.payload
    return (
        candidate,
        p["application_id"],
        CertifyCandidate(
            p["application_id"],
            p["talent_id"],
            p["period_start"],
            _note(s, p.get("round_year") or p["period_start"].year),
        ),
    )


def _application(make: Callable[[Payload], CandidateCommand]) -> Callable[[Source], Registration]:
    return lambda s: (candidate, s.payload["application_id"], make(s.payload))


def _announced(result: Callable[[Payload], str]) -> Callable[[Source], Registration]:
    def command(s: Source) -> Registration:
        p = s.payload
        return (
            results,
            p["talent_id"],
            Announce(p["talent_id"], p["tenure_year"], result(p), p.get("assessed_on") or s.on),
        )

    return command


def noted(command: Command) -> dict[str, str]:
    """What the register learns of a candidate from ``command`` (as ``candidates`` keeps it:
    applicant, applicant_name, county, category), or {} if the command notes no one."""
    note = command.noted if isinstance(command, CertifyCandidate) else command
    if not isinstance(note, NoteCandidate):
        return {}
    return {
        "applicant": note.applicant,
        "applicant_name": note.applicant_name,
        "county": note.county,
        "category": note.category,
    }


REGISTER: dict[tuple[str, str], Callable[[Source], Registration]] = {
    ("applications", "ApplicationSubmitted"): lambda s: (
        candidate,
        s.payload["application_id"],
        _note(s, s.payload["round_year"]),
    ),
    ("applications", "PublicNoticeStarted"): _application(
        lambda p: PublishNotice(
            p["application_id"], p["start_date"], p["end_date"], p["working_days"]
        )
    ),
    ("applications", "TalentCertified"): _certified,
    ("applications", "ReviewRejected"): _application(
        lambda p: RejectCandidate(p["application_id"], p["stage"])
    ),
    ("applications", "ApplicationWithdrawn"): _application(
        lambda p: WithdrawCandidate(p["application_id"])
    ),
    ("applications", "ObjectionRaised"): _application(
        lambda p: NoteObjection(p["application_id"], p["objection_id"])
    ),
    ("applications", "ObjectionResolved"): _application(
        lambda p: ClearObjection(p["application_id"], p["objection_id"], p["outcome"])
    ),
    ("assessment", "AssessmentPassed"): _announced(lambda p: p["grade"]),
    ("assessment", "AssessmentFailed"): _announced(lambda p: "unqualified"),
}
