"""The applications service's use cases: one function each, taking the unit of work (and the
working-day calendar where a decision counts working days) and a command, and running it in one
transaction: lock, load, look up, decide, append. Each returns the recorded events (a read: the
rows).

Locks. A command whose rules span applications (opening a round, the Yixiang register, a
submission, certification and the quota stages of the review) takes the service's rules lock
(``RULES_LOCK``) before it reads what its decision needs (the round, the registry, the round's
standing), so no other such command changes those between the reading and the append. A
submission's rules (former Yixiang applicants and once per person, LT-10.1; the enterprise's
talent and rivals it shows) span only its enterprise and its person: it holds the rules lock shared and one exclusive lock per enterprise
and per person (``rule_key_lock``), so submissions of different enterprises and people run side
by side while the other rule-spanning commands, holding the rules lock exclusively, still exclude
them. A command that decides on its own application alone (the other review stages, the notice,
objections, withdrawal) takes no lock: its stream's version guards it, and what it changes can only
make a rule-spanning check stricter, never let one through. An erasure holds the rules lock
exclusively while it deletes the person's key, so no submission seals under that key meanwhile.

Round trips. A command on an application reads the application's row in the same round trip as
BEGIN and its locks (``UnitOfWork.locked(query=...)``), and its append carries COMMIT.

Authorisation beyond the endpoint's role check: a county officer acts only within their county,
an applicant only on their own application (``shared.auth.authorize``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.applications import queries
from services.applications.domain import application as app_domain
from services.applications.domain import person as person_domain
from services.applications.domain import round as round_domain
from services.applications.domain import yixiang as yixiang_domain
from services.applications.domain.application import (
    Certify,
    RaiseObjection,
    ResolveObjection,
    Review,
    StartNotice,
    Submit,
    Withdraw,
)
from services.applications.domain.policy import STAGES
from services.applications.domain.round import OpenRound, Round
from services.applications.domain.yixiang import RegisterFormerApplicant, TransferTalent
from services.applications.projections import (
    enterprise_talents,
    person_talents,
    registry_lookups,
    standing,
)
from shared import logging as tlog
from shared.auth import authorize, missing
from shared.calendar import WorkingDayCalendar
from shared.decider import Decider
from shared.errors import NotFound
from shared.locks import lock_key, rule_key_lock
from shared.runtime.provider import UnitOfWork
from shared.store import RecordedEvent
from shared.store.sealing import PERSONAL

log = tlog.get_logger(__name__)

RULES_LOCK = lock_key("applications.rules")
STAGE_ACTION = {name: f"review.{name}" for name, _, _ in STAGES}
QUOTA_STAGES = ("proposal", "approval", "standing_committee")

Row = dict[str, Any]
Events = list[RecordedEvent]


# -- running a command ---------------------------------------------------------------------------
def _under_rules(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    decider: Decider[Any],
    stream_id: str,
    command: Any,
    *,
    expected: int | None = None,
    lookups: Callable[[Any], dict[str, Any]] | None = None,
    keys: list[str] | None = None,
) -> Events:
    """Decide ``command`` on ``stream_id`` under the rules lock, with ``lookups(cur)`` (a dict)
    added to the context: exclusively, or, given ``keys`` (names of what the rules read, e.g. an
    enterprise), shared and with an exclusive lock per key. ``expected``: the version the caller
    last saw (If-Match)."""
    if keys:
        shared, exclusive = [RULES_LOCK], list({rule_key_lock(key) for key in keys})
    else:
        shared, exclusive = [], [RULES_LOCK]
    with uow.locked(shared=shared, exclusive=exclusive) as cur:
        found = lookups(cur) if lookups else {}
        return uow.run(
            decider,
            stream_id,
            command,
            context=uow.context(calendar=calendar, **found),
            expected_version=expected,
            cur=cur,
            commit=True,
        )


def _on_application(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    application_id: str,
    action: str,
    command: Any,
    *,
    expected: int | None = None,
    lookups: Callable[[Any, Row], dict[str, Any]] | None = None,
) -> Events:
    """Decide ``command`` on the application: its row is read in the same round trip as BEGIN,
    its reader authorised for ``action`` (404/403 as ``application``), and handed to
    ``lookups(cur, row)``; with ``lookups`` (its rules span applications) under the rules lock,
    exclusively; without, under no lock."""
    exclusive = [RULES_LOCK] if lookups is not None else []
    with uow.locked(
        exclusive=exclusive, query=queries.APPLICATION_ROW, args=(application_id,)
    ) as cur:
        row = authorized(uow, queries.fetched_row(cur), application_id, action)
        found = lookups(cur, row) if lookups else {}
        return uow.run(
            app_domain.application,
            app_domain.stream(application_id),
            command,
            context=uow.context(calendar=calendar, **found),
            expected_version=expected,
            cur=cur,
            commit=True,
        )


def _round(uow: UnitOfWork, cur: Any, year: int) -> Round | None:
    """The selection round of ``year`` from its stream, or None."""
    history = uow.events.read_stream(round_domain.stream(year), cur=cur)
    return round_domain.selection_round.replay(history) if history else None


def _quota_context(uow: UnitOfWork, cur: Any, row: Row) -> dict[str, Any]:
    """What the quota needs: the application's round and the round's standing."""
    return {
        "round": _round(uow, cur, row["round_year"]),
        "standing": standing(cur, row["round_year"]),
    }


# -- reading applications with their authorisation -----------------------------------------------
def authorized(uow: UnitOfWork, row: Row | None, application_id: str, action: str) -> Row:
    """``row`` of the application if the caller may do ``action`` on it; NotFound without one.
    Another service (no principal) may."""
    if row is None:
        raise missing(uow.principal, f"application {application_id} not found")
    principal = uow.principal
    if principal is not None:
        authorize(principal, action, row["county"], owner=row["applicant_id"], record="application")
    return row


def application(uow: UnitOfWork, application_id: str, action: str = "application.read") -> Row:
    """The application's row, if the caller may do ``action`` on it."""
    return authorized(
        uow, queries.application_row(uow.query, application_id), application_id, action
    )


def application_with_history(uow: UnitOfWork, application_id: str) -> tuple[Row, Events]:
    """The application's row (if the caller may read it) and its stream."""
    row = application(uow, application_id)
    return row, uow.events.read_stream(app_domain.stream(application_id))


def applications(
    uow: UnitOfWork,
    *,
    county: str | None = None,
    round_year: int | None = None,
    status: str | None = None,
    stage: str | None = None,
) -> list[Row]:
    """The applications the caller may read matching the filters given: a county officer's of
    their county, an applicant's own."""
    principal = uow.caller
    filters = {"county": county, "round_year": round_year, "status": status, "stage": stage}
    if principal.role == "county_officer":
        authorize(principal, "application.read", county or principal.county)
        filters["county"] = principal.county
    if principal.role == "applicant":
        filters["applicant_id"] = principal.actor_id
    return queries.applications(uow.query, filters)


def notices(uow: UnitOfWork, round_year: int | None = None) -> list[Row]:
    """The public-notice list (公示), of ``round_year``'s round if given."""
    return queries.notices(uow.query, round_year)


# -- rounds (LT-3, LT-8) ---------------------------------------------------------------------------
def open_round(uow: UnitOfWork, calendar: WorkingDayCalendar, command: OpenRound) -> Events:
    return _under_rules(
        uow, calendar, round_domain.selection_round, round_domain.stream(command.year), command
    )


def rounds(uow: UnitOfWork) -> list[Row]:
    return queries.rounds(uow.query)


def round_status(uow: UnitOfWork, year: int) -> Row:
    """The round with how many of its applications are in each status and how many certified."""
    row = queries.round_row(uow.query, year)
    if row is None:
        raise NotFound(f"no selection round for {year}")
    row["applications"] = queries.status_counts(uow.query, year)
    row["certified"] = row["applications"].get("certified", 0)
    row["proposal"] = queries.proposal(uow.query, year)
    return row


# -- the application -----------------------------------------------------------------------------
def submit(uow: UnitOfWork, calendar: WorkingDayCalendar, command: Submit) -> Events:
    """File an application: its eligibility is assessed against the round and the registry
    (LT-10), under the rules lock shared and the locks of its person and enterprise."""
    authorize(uow.caller, "application.submit", command.county)

    def lookups(cur: Any) -> dict[str, Any]:
        return {
            "round": _round(uow, cur, command.round_year),
            "lookups": registry_lookups(
                cur,
                person_key=command.person_key,
                enterprise_code=command.enterprise_code,
                round_year=command.round_year,
                application_id=command.application_id,
            ),
        }

    keys = [f"person:{command.person_key}"]
    if command.enterprise_code:
        keys.append(f"enterprise:{command.enterprise_code}")
    return _under_rules(
        uow,
        calendar,
        app_domain.application,
        app_domain.stream(command.application_id),
        command,
        lookups=lookups,
        keys=keys,
    )


def review(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    application_id: str,
    command: Review,
    *,
    expected: int | None = None,
) -> Events:
    """Record a stage's decision (LT-9), by the stage's body; the quota stages (the proposal,
    approval and the Standing Committee, LT-8) under the rules lock with the round's standing,
    approval with the enterprise's talents too (LT-10)."""

    def quota(cur: Any, row: Row) -> dict[str, Any]:
        found = _quota_context(uow, cur, row)
        if command.stage == "approval":
            talents = enterprise_talents(cur, row["enterprise_code"], row["person_key"])
            found["lookups"] = {"enterprise_talents": talents}
        return found

    if command.stage not in QUOTA_STAGES:
        return _on_application(
            uow, calendar, application_id, STAGE_ACTION[command.stage], command, expected=expected
        )
    return _on_application(
        uow,
        calendar,
        application_id,
        STAGE_ACTION[command.stage],
        command,
        expected=expected,
        lookups=quota,
    )


def start_notice(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    application_id: str,
    command: StartNotice,
    *,
    expected: int | None = None,
) -> Events:
    return _on_application(
        uow, calendar, application_id, "notice.start", command, expected=expected
    )


def raise_objection(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    application_id: str,
    command: RaiseObjection,
    *,
    expected: int | None = None,
) -> Events:
    return _on_application(
        uow, calendar, application_id, "objection.record", command, expected=expected
    )


def resolve_objection(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    application_id: str,
    command: ResolveObjection,
    *,
    expected: int | None = None,
) -> Events:
    return _on_application(
        uow, calendar, application_id, "objection.resolve", command, expected=expected
    )


def certify(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    application_id: str,
    command: Certify,
    *,
    expected: int | None = None,
) -> Events:
    """Certify the application after its notice, under the rules lock: the quota, one talent
    per enterprise (LT-10) and once per person (LT-10.1)."""

    def lookups(cur: Any, row: Row) -> dict[str, Any]:
        return {
            **_quota_context(uow, cur, row),
            "lookups": {
                "enterprise_talents": enterprise_talents(
                    cur, row["enterprise_code"], row["person_key"]
                ),
                "person_talents": person_talents(cur, row["person_key"]),
            },
        }

    return _on_application(
        uow, calendar, application_id, "notice.close", command, expected=expected, lookups=lookups
    )


def withdraw(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    application_id: str,
    command: Withdraw,
    *,
    expected: int | None = None,
) -> Events:
    return _on_application(
        uow, calendar, application_id, "application.withdraw", command, expected=expected
    )


def erase_person(uow: UnitOfWork, application_id: str, basis: str) -> Events:
    """Erase the applicant's personal data (个人信息保护法 art. 47): delete their key, so every
    field sealed for them (shared/store/sealing.py: ID number's masked form, phone, native place,
    photo, gender, birth date) reads "erased" in every event, the hash chain unchanged; record ``PersonErased``,
    which names them only by pseudonym. The deletion and the record commit together or not at
    all, under the rules lock held exclusively (no submission seals under the key meanwhile)."""
    application(uow, application_id, "person.erase")
    history = uow.events.read_stream(app_domain.stream(application_id))
    submitted = next((e for e in history if e.event_type == "ApplicationSubmitted"), None)
    key = submitted and submitted.data.get("person_key")
    if not key:
        raise NotFound(f"application {application_id} names no person to erase")
    command = person_domain.ErasePerson(
        person_key=key,
        application_id=application_id,
        basis=basis,
        fields_erased=PERSONAL["ApplicationSubmitted"][1],
    )
    with uow.locked(exclusive=[RULES_LOCK]) as cur:
        held = uow.events.keystore.erase(cur, key)
        events = uow.run(
            person_domain.person,
            person_domain.stream(key),
            command,
            context=uow.context(key_held=held),
            cur=cur,
            commit=True,
        )
    log.info("person_erased", application_id=application_id, basis=basis)
    return events


# -- the Yixiang scheme (LT-10, LT-16) -------------------------------------------------------------
def register_yixiang_applicant(
    uow: UnitOfWork, calendar: WorkingDayCalendar, command: RegisterFormerApplicant
) -> Events:
    return _under_rules(
        uow,
        calendar,
        yixiang_domain.yixiang_person,
        yixiang_domain.stream(command.person_key),
        command,
    )


def transfer_yixiang_talent(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    command: TransferTalent,
    *,
    expected: int | None = None,
) -> Events:
    return _under_rules(
        uow,
        calendar,
        yixiang_domain.yixiang_person,
        yixiang_domain.stream(command.person_key),
        command,
        expected=expected,
    )
