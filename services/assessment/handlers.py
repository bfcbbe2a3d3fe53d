"""The assessment service's use cases: each looks up what it needs, checks who may act
(``shared.auth.authorize``), runs the command on the talent's tenure (the ``tenure`` decider,
deciding with the clock's today and the working-day calendar) and returns the recorded events,
or the rows a read returns.

The commands come from the entrypoints of services/assessment/service.py; the rules are the
decider's (services/assessment/domain/tenure.py) and the authorisation policy's."""

from __future__ import annotations

from typing import Any

from services.assessment import queries
from services.assessment.domain.tenure import (
    ApproveDisqualification,
    ConfirmRectification,
    DeclineDisqualification,
    FileAnnualReport,
    FireDeadlines,
    OpenTenure,
    OrderRectification,
    RecordFindings,
    ReportGround,
    tenure,
)
from shared import logging as tlog
from shared.auth import COUNTY_SCOPED, authorize, missing
from shared.calendar import WorkingDayCalendar
from shared.errors import TalentError
from shared.runtime.provider import UnitOfWork
from shared.runtime.timers import exclusive
from shared.store import RecordedEvent

log = tlog.get_logger(__name__)

DEADLINES = "assessment.deadlines"
"""The name of the lock the deadline sweep holds: one replica sweeps at a time."""

RESULTS = ("excellent", "qualified", "unqualified")


def stream(talent_id: str) -> str:
    """The stream of a talent's tenure."""
    return f"tenure-{talent_id}"


def _tenure_for(uow: UnitOfWork, action: str, talent_id: str) -> dict[str, Any]:
    """The talent's tenure row, if the caller may do ``action`` on it: county staff only in its
    county, a talent only on their own tenure."""
    row = queries.tenure_row(uow.query, talent_id)
    if row is None:
        raise missing(uow.caller, f"no tenure for talent {talent_id}", owner=talent_id)
    authorize(uow.caller, action, row["county"], owner=talent_id, record="tenure")
    return row


def _run(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    talent_id: str,
    command: Any,
    *,
    expected_version: int | None = None,
    cur: Any = None,
) -> list[RecordedEvent]:
    """Run ``command`` on the talent's tenure (in ``cur``'s transaction if given, else in one of
    its own), deciding with the clock's today and the working-day calendar."""
    return uow.run(
        tenure,
        stream(talent_id),
        command,
        context=uow.context(calendar=calendar),
        expected_version=expected_version,
        cur=cur,
    )


def _act(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    action: str,
    talent_id: str,
    command: Any,
    expected_version: int | None,
) -> list[RecordedEvent]:
    """``command`` on the talent's tenure by the caller, if they may do ``action`` on it."""
    _tenure_for(uow, action, talent_id)
    return _run(uow, calendar, talent_id, command, expected_version=expected_version)


# -- opening ---------------------------------------------------------------------------------------
def open_tenure(
    uow: UnitOfWork, calendar: WorkingDayCalendar, command: OpenTenure, cur: Any
) -> list[RecordedEvent]:
    """The tenure of a certified talent (LT-10), or of a transferred Yixiang talent (LT-16, a
    ``TransferTenure``), opened in ``cur``'s transaction (the one recording the certification
    in the inbox); none if it is open already."""
    return _run(uow, calendar, command.talent_id, command, cur=cur)


# -- commands --------------------------------------------------------------------------------------
def file_report(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    talent_id: str,
    command: FileAnnualReport,
    expected_version: int | None = None,
) -> list[RecordedEvent]:
    """A year's report, by the talent or their county (LT-11.1, LT-12)."""
    return _act(uow, calendar, "tenure.report", talent_id, command, expected_version)


def record_findings(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    talent_id: str,
    command: RecordFindings,
    expected_version: int | None = None,
) -> list[RecordedEvent]:
    """The county assessor's findings on an influencer's year (LT-11.1, LT-13)."""
    return _act(uow, calendar, "tenure.findings", talent_id, command, expected_version)


def order_rectification(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    talent_id: str,
    command: OrderRectification,
    expected_version: int | None = None,
) -> list[RecordedEvent]:
    """The county's order to rectify a breach by a deadline (LT-13)."""
    return _act(uow, calendar, "tenure.rectification", talent_id, command, expected_version)


def confirm_rectification(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    talent_id: str,
    command: ConfirmRectification,
    expected_version: int | None = None,
) -> list[RecordedEvent]:
    """The county's confirmation that a breach was rectified in time (LT-13)."""
    return _act(uow, calendar, "tenure.rectification", talent_id, command, expected_version)


def report_ground(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    talent_id: str,
    command: ReportGround,
    expected_version: int | None = None,
) -> list[RecordedEvent]:
    """An LT-14 ground; who may report it depends on its kind (``tenure.ground.<kind>``)."""
    return _act(
        uow, calendar, f"tenure.ground.{command.kind}", talent_id, command, expected_version
    )


def approve_disqualification(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    talent_id: str,
    command: ApproveDisqualification,
    expected_version: int | None = None,
) -> list[RecordedEvent]:
    """The Leading Group's approval of a pending proposal: the talent is disqualified (LT-14)."""
    return _act(uow, calendar, "disqualification.approve", talent_id, command, expected_version)


def decline_disqualification(
    uow: UnitOfWork,
    calendar: WorkingDayCalendar,
    talent_id: str,
    command: DeclineDisqualification,
    expected_version: int | None = None,
) -> list[RecordedEvent]:
    """The Leading Group's refusal of a pending proposal, with its reasons (LT-14)."""
    return _act(uow, calendar, "disqualification.decline", talent_id, command, expected_version)


# -- deadlines -------------------------------------------------------------------------------------
def fire_deadlines(uow: UnitOfWork, calendar: WorkingDayCalendar) -> dict[str, Any]:
    """FireDeadlines on every open tenure, in one replica at a time (the others skip at once);
    idempotent (what was fired is in the stream, so the next sweep fires nothing again).
    ``{"ran", "today", "fired": {talent id: [event types]}}``."""
    today = uow.clock.today()
    with exclusive(uow.db, DEADLINES) as mine:
        if not mine:
            log.info("deadline_sweep_skipped", today=today.isoformat())
            return {"ran": False, "today": today, "fired": {}}
        talents = queries.open_tenures(uow.query)
        fired = {}
        for talent_id in talents:
            try:
                events = _run(uow, calendar, talent_id, FireDeadlines())
            except TalentError as exc:  # e.g. a concurrent command: the next sweep retries
                log.warning(
                    "deadline_sweep_refused", talent_id=talent_id, code=exc.code, error=exc.message
                )
                continue
            if events:
                fired[talent_id] = [e.event_type for e in events]
        log.info(
            "deadline_sweep",
            today=today.isoformat(),
            tenures=len(talents),
            fired=sum(map(len, fired.values())),
        )
        return {"ran": True, "today": today, "fired": fired}


# -- read models -----------------------------------------------------------------------------------
def read_tenure(uow: UnitOfWork, talent_id: str) -> dict[str, Any]:
    """A talent's tenure, if the caller may read it: every year's dates, figures, findings and
    grade (with the computation), the breaches and rectification orders, the proposals and
    decisions."""
    row = _tenure_for(uow, "tenure.read", talent_id)
    row["years"] = queries.year_rows(uow.query, talent_id)
    row["breaches"] = queries.breach_rows(uow.query, talent_id)
    row["proposals"] = queries.proposal_rows(uow.query, talent_id)
    return row


def results(uow: UnitOfWork, year: int | None, county: str | None) -> dict[str, Any]:
    """The annual results for the Commerce Bureau's announcement (LT-11.1): each graded year
    (of ``year``, of ``county``, if given), with the count of each result; county staff read
    their own county's only."""
    principal = uow.principal
    assert principal is not None  # the endpoint authenticated the caller
    authorize(principal, "assessment.results.read", county)
    if principal.role in COUNTY_SCOPED:
        county = principal.county
    rows = queries.graded_years(uow.query, year, county)
    summary = {result: sum(r["result"] == result for r in rows) for result in RESULTS}
    return {"year": year, "county": county, "summary": summary, "results": rows}
