"""The assessment service (考核): tenures, annual reports and grades (LT-11), obligations and
rectification (LT-12, LT-13), disqualification (LT-14), completion.

The entrypoints parse a request or an event into a command and hand it to the use cases of
services/assessment/handlers.py. Time: "today" is the service clock's (``shared/clock.py``): the
real date, or ``CLOCK_TODAY`` in a test configuration. Deadlines (report due dates,
rectification deadlines, the period end) are fired by a timer that runs in every replica and
acts in one at a time (``shared/runtime/timers.py``); ``POST /deadlines/run`` runs the same
sweep at once for an operator."""

from __future__ import annotations

from typing import Any

import marshmallow

from services.assessment import handlers, projections, queries, schemas
from services.assessment.domain.tenure import (
    ApproveDisqualification,
    ConfirmRectification,
    DeclineDisqualification,
    FileAnnualReport,
    OpenTenure,
    OrderRectification,
    RecordFindings,
    ReportGround,
    TransferTenure,
)
from services.assessment.settings import AssessmentSettings
from shared.calendar import WorkingDayCalendar
from shared.clock import local_date
from shared.errors import InvalidInput
from shared.messaging.consumers import subscribe
from shared.runtime import base  # (not ServiceBase itself: `nameko run` would take it)
from shared.runtime.provider import EventStoreProvider
from shared.runtime.timers import timer
from shared.store import RecordedEvent
from shared.web import endpoint, expected_version, parse_body


class AssessmentStore(EventStoreProvider[AssessmentSettings]):
    """The event store with the configured clock and working-day calendar; read models that a
    migration left empty are rebuilt from the events at start (one replica does it, the others
    wait and find it done)."""

    def setup(self) -> None:
        super().setup()
        self.calendar = WorkingDayCalendar.from_config(self.settings.working_day_overrides)
        self.rebuild_if(queries.READ_MODELS_STALE)


def _recorded(events: list[RecordedEvent]) -> dict[str, Any]:
    """The answer to a command: the tenure's version after it and the events it recorded."""
    return {
        "version": events[-1].stream_version if events else None,
        "events": [{"type": e.event_type, "clauses": e.clauses, "payload": e.data} for e in events],
    }


class AssessmentService(base.ServiceBase):
    name = "assessment"
    uow = AssessmentStore(projectors=projections.READ_MODELS, settings=AssessmentSettings)

    @property
    def calendar(self) -> WorkingDayCalendar:
        return self.uow.provider.calendar

    # -- opening ---------------------------------------------------------------------------------
    @subscribe("applications", "TalentCertified")
    def on_talent_certified(self, event: Any, cur: Any) -> None:
        p = event.payload
        opening = dict(
            talent_id=p["talent_id"],
            county=p["county"],
            track=p["track"],
            period_start=p["period_start"],
            period_end=p["period_end"],
            baseline_year=p["baseline_year"],
            baseline=p["baseline"],
        )
        command: OpenTenure
        if p.get("origin") == "yixiang_transfer":  # LT-16: windows open when it is recorded
            recorded_on = p.get("certified_on") or local_date(event.recorded_at)
            command = TransferTenure(**opening, certified_on=recorded_on)
        else:  # LT-10: the tenure counts from the certification's act date
            command = OpenTenure(**opening, certified_on=p.get("certified_on") or p["period_start"])
        handlers.open_tenure(self.uow, self.calendar, command, cur)

    def _dated(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        """``data`` with the act date ``name`` set to today (Asia/Shanghai, the service's clock)
        when the caller left it out."""
        if data.get(name) is None:
            data[name] = self.uow.clock.today()
        return data

    # -- commands ----------------------------------------------------------------------------------
    @endpoint("POST", "/tenures/<talent_id>/reports", action="tenure.report")
    def file_report(self, request: Any, talent_id: str) -> dict[str, Any]:
        data = self._dated(parse_body(request, schemas.FileAnnualReport()), "reported_on")
        return _recorded(
            handlers.file_report(
                self.uow,
                self.calendar,
                talent_id,
                FileAnnualReport(**data),
                expected_version(request),
            )
        )

    @endpoint("POST", "/tenures/<talent_id>/findings", action="tenure.findings")
    def record_findings(self, request: Any, talent_id: str) -> dict[str, Any]:
        data = self._dated(parse_body(request, schemas.RecordFindings()), "found_on")
        return _recorded(
            handlers.record_findings(
                self.uow,
                self.calendar,
                talent_id,
                RecordFindings(**data),
                expected_version(request),
            )
        )

    @endpoint(
        "POST",
        "/tenures/<talent_id>/breaches/<breach_id>/rectification",
        action="tenure.rectification",
    )
    def order_rectification(self, request: Any, talent_id: str, breach_id: str) -> dict[str, Any]:
        data = self._dated(parse_body(request, schemas.OrderRectification()), "ordered_on")
        return _recorded(
            handlers.order_rectification(
                self.uow,
                self.calendar,
                talent_id,
                OrderRectification(breach_id=breach_id, **data),
                expected_version(request),
            )
        )

    @endpoint(
        "POST", "/tenures/<talent_id>/breaches/<breach_id>/rectified", action="tenure.rectification"
    )
    def confirm_rectification(self, request: Any, talent_id: str, breach_id: str) -> dict[str, Any]:
        data = parse_body(request, schemas.ConfirmRectification())
        return _recorded(
            handlers.confirm_rectification(
                self.uow,
                self.calendar,
                talent_id,
                ConfirmRectification(breach_id=breach_id, **data),
                expected_version(request),
            )
        )

    @endpoint("POST", "/tenures/<talent_id>/grounds")
    def report_ground(self, request: Any, talent_id: str) -> dict[str, Any]:
        """An LT-14 ground; who may report it depends on its kind (``tenure.ground.<kind>``)."""
        data = self._dated(parse_body(request, schemas.ReportGround()), "reported_on")
        return _recorded(
            handlers.report_ground(
                self.uow, self.calendar, talent_id, ReportGround(**data), expected_version(request)
            )
        )

    @endpoint("POST", "/tenures/<talent_id>/disqualification", action="disqualification.approve")
    def approve_disqualification(self, request: Any, talent_id: str) -> dict[str, Any]:
        data = parse_body(request, schemas.ApproveDisqualification())
        return _recorded(
            handlers.approve_disqualification(
                self.uow,
                self.calendar,
                talent_id,
                ApproveDisqualification(**data),
                expected_version(request),
            )
        )

    @endpoint(
        "POST", "/tenures/<talent_id>/disqualification/decline", action="disqualification.decline"
    )
    def decline_disqualification(self, request: Any, talent_id: str) -> dict[str, Any]:
        data = parse_body(request, schemas.DeclineDisqualification())
        command = DeclineDisqualification(
            decided_on=data["decided_on"],
            reasons=tuple(data["reasons"]),
            proposal_id=data["proposal_id"],
        )
        return _recorded(
            handlers.decline_disqualification(
                self.uow, self.calendar, talent_id, command, expected_version(request)
            )
        )

    # -- deadlines -------------------------------------------------------------------------------
    @timer("DEADLINE_TIMER_SECONDS", 3600)
    def deadline_timer(self) -> None:
        handlers.fire_deadlines(self.uow, self.calendar)

    @endpoint("POST", "/deadlines/run", action="deadlines.run")
    def run_deadlines(self, request: Any) -> dict[str, Any]:
        return handlers.fire_deadlines(self.uow, self.calendar)

    # -- read models -----------------------------------------------------------------------------
    @endpoint("GET", "/tenures/<talent_id>", action="tenure.read")
    def get_tenure(self, request: Any, talent_id: str) -> dict[str, Any]:
        """A talent's tenure: every year's dates, figures, findings and grade (with the
        computation), the breaches and rectification orders, the proposals and decisions."""
        return handlers.read_tenure(self.uow, talent_id)

    @endpoint("GET", "/results", action="assessment.results.read")
    def results(self, request: Any) -> dict[str, Any]:
        """The annual results for the Commerce Bureau's announcement (LT-11.1): each graded year,
        under the calendar year in which its tenure year ended; county staff see their county."""
        try:
            query = schemas.ResultsQuery().load(request.args.to_dict())
        except marshmallow.ValidationError as exc:
            raise InvalidInput("invalid query", fields=exc.messages_dict) from exc
        return handlers.results(self.uow, query["year"], query["county"])
