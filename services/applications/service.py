"""The applications service (申报与评审): its HTTP and RPC entrypoints. Each authenticates (the
``endpoint`` decorator), parses the request, builds the command and hands it to its use case in
services/applications/handlers.py, which runs it in one transaction under the locks its rules
need (see there); the rules are the deciders' (services/applications/domain/).

Time: "today" is the service clock's (``shared/clock.py``): the real date, or ``CLOCK_TODAY`` in
a test or demo configuration. Working days: ``WORKING_DAY_OVERRIDES`` (``shared/calendar.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Request

from services.applications import handlers, projections, queries, schemas
from services.applications.api import OPERATIONS
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
from services.applications.identity import mask_id_number, person_key
from services.applications.settings import ApplicationsSettings
from shared.calendar import WorkingDayCalendar
from shared.errors import Forbidden, InvalidInput
from shared.messaging.consumers import rpc
from shared.provenance import import_uuid
from shared.runtime import base  # (not ServiceBase itself: `nameko run` would take it)
from shared.runtime.provider import EventStoreProvider
from shared.store import RecordedEvent
from shared.web import endpoint, expected_version, parse_body, query_int

Response = dict[str, Any] | tuple[int, dict[str, Any]]


class ApplicationsStore(EventStoreProvider[ApplicationsSettings]):
    """The event store with the configured clock and the working-day calendar, built once at
    start from ``WORKING_DAY_OVERRIDES`` (a malformed schedule stops the service naming the year
    and the date). Read models a migration added (or widened) after events were recorded are
    rebuilt from the events at start, by one replica at a time."""

    def setup(self) -> None:
        super().setup()
        self.calendar = WorkingDayCalendar.from_config(self.settings.working_day_overrides)
        self.rebuild_if(queries.READ_MODELS_STALE)


def _year_arg(request: Request) -> int | None:
    """The ``round`` query argument as a year, or InvalidInput naming it."""
    value = query_int(request, "round")
    if value is None or isinstance(value, int):
        return value
    raise InvalidInput("round must be a year", fields={"round": ["Not a valid integer."]})


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A read-model row as JSON-safe values for RPC callers (dates and decimals as text)."""
    return {
        k: (v if v is None or isinstance(v, (bool, int, str, list, dict)) else str(v))
        for k, v in row.items()
    }


def _result(
    events: list[RecordedEvent], status: int = 200, **extra: Any
) -> tuple[int, dict[str, Any]]:
    """The response to a command: ``extra``, the stream's version after it and its events."""
    last = events[-1] if events else None
    return status, {
        **extra,
        "version": last.stream_version if last else None,
        "events": [{"type": e.event_type, "clauses": e.clauses, "payload": e.data} for e in events],
    }


ACT_DATES = (
    "submitted_on",
    "decided_on",
    "start_date",
    "received_on",
    "resolved_on",
    "certified_on",
    "withdrawn_on",
    "erased_on",
)
"""The payload fields that carry an act's date, one per event type of an application."""


def _act_on(payload: dict[str, Any]) -> Any:
    return next((payload[k] for k in ACT_DATES if payload.get(k) is not None), None)


def _act(e: RecordedEvent) -> dict[str, Any]:
    """An act with both its dates: when it happened and when it was recorded."""
    return {
        "type": e.event_type,
        "stage": e.data.get("stage"),
        "act_on": str(_act_on(e.data)),
        "recorded_at": e.recorded_at.isoformat(),
    }


def _county_recommendation(history: list[RecordedEvent]) -> dict[str, Any] | None:
    """LT-9.1 as every later stage sees it: the six bodies' opinions, those against, the county's
    decision and reasons, and (LT-6.3) its judgement on job creation and tax."""
    event = next(
        (
            e
            for e in history
            if e.event_type in ("ReviewPassed", "ReviewRejected")
            and e.data.get("stage") == "county_recommendation"
        ),
        None,
    )
    if event is None:
        return None
    p = event.data
    opinions = p.get("county_opinions", [])
    return {
        "decision": "recommended" if event.event_type == "ReviewPassed" else "not_recommended",
        "decided_on": p.get("decided_on"),
        "recorded_at": event.recorded_at.isoformat(),
        "opinions": opinions,
        "opinions_against": [o for o in opinions if not o["agrees"]],
        "reasons": p.get("reasons", []),
        "seller_contribution": p.get("seller_contribution"),
    }


class ApplicationsService(base.ServiceBase):
    name = "applications"
    operations = OPERATIONS  # what each HTTP entrypoint takes and answers (OpenAPI)
    uow = ApplicationsStore(projectors=projections.READ_MODELS, settings=ApplicationsSettings)

    @property
    def calendar(self) -> WorkingDayCalendar:
        return self.uow.provider.calendar

    # -- rounds (LT-3, LT-8) --------------------------------------------------------------------
    @endpoint("POST", "/rounds", action="round.open")
    def open_round(self, request: Request) -> Response:
        data = parse_body(request, schemas.OpenRound)
        events = handlers.open_round(self.uow, self.calendar, round_domain.OpenRound(**data))
        return _result(events, 201, year=data["year"])

    @endpoint("GET", "/rounds", action="application.read")
    def list_rounds(self, request: Request) -> Response:
        return {"rounds": handlers.rounds(self.uow)}

    @endpoint("GET", "/rounds/<int:year>", action="application.read")
    def get_round(self, request: Request, year: int) -> Response:
        return handlers.round_status(self.uow, year)

    # -- the application --------------------------------------------------------------------------
    @endpoint("POST", "/applications", action="application.submit")
    def submit(self, request: Request) -> Response:
        data = parse_body(request, schemas.SubmitApplication)
        principal = self.uow.principal
        if principal.role == "applicant":
            if data.setdefault("applicant_id", principal.actor_id) != principal.actor_id:
                raise Forbidden(
                    "an applicant files only their own application",
                    fields={"applicant_id": ["Must be your own id."]},
                )
        id_number = data.pop("id_number")
        imported = self.uow.provenance
        command = Submit(
            # an imported row names the same application however often it is imported
            application_id=import_uuid(imported["key"]) if imported else str(uuid.uuid4()),
            person_key=person_key(self.uow.settings.person_key_secret, id_number),
            id_number_masked=mask_id_number(id_number),
            **data,
        )
        events = handlers.submit(self.uow, self.calendar, command)
        assessed = events[-1].payload
        return _result(
            events,
            201,
            application_id=command.application_id,
            eligible=assessed["eligible"],
            failed=assessed["failed"],
        )

    @endpoint("POST", "/applications/<application_id>/reviews")
    def review(self, request: Request, application_id: str) -> Response:
        data = parse_body(request, schemas.RecordReview)
        command = Review(
            stage=data["stage"],
            passed=data["decision"] == "pass",
            opinion=data["opinion"],
            reasons=tuple(data["reasons"]),
            decided_on=data["decided_on"],
            county_opinions=tuple(data.get("county_opinions", ())),
            experts=tuple(data.get("experts", ())),
            chair=data.get("chair"),
            discipline_opinion=data.get("discipline_opinion"),
            findings=data.get("findings", ""),
            cited=tuple(data["clauses"]),
            seller_contribution=data.get("seller_contribution"),
            proposal=data.get("proposal"),
        )
        events = handlers.review(
            self.uow, self.calendar, application_id, command, expected=expected_version(request)
        )
        return _result(events, application_id=application_id)

    @endpoint("POST", "/applications/<application_id>/notice", action="notice.start")
    def start_notice(self, request: Request, application_id: str) -> Response:
        data = parse_body(request, schemas.StartNotice)
        events = handlers.start_notice(
            self.uow,
            self.calendar,
            application_id,
            StartNotice(data["start_date"]),
            expected=expected_version(request),
        )
        return _result(events, application_id=application_id)

    @endpoint("POST", "/applications/<application_id>/objections", action="objection.record")
    def raise_objection(self, request: Request, application_id: str) -> Response:
        data = parse_body(request, schemas.RaiseObjection)
        command = RaiseObjection(objection_id=str(uuid.uuid4()), **data)
        events = handlers.raise_objection(
            self.uow, self.calendar, application_id, command, expected=expected_version(request)
        )
        _, body = _result(events, application_id=application_id)
        return 201, {**body, "objection_id": command.objection_id}

    @endpoint(
        "POST",
        "/applications/<application_id>/objections/<objection_id>/resolution",
        action="objection.resolve",
    )
    def resolve_objection(
        self, request: Request, application_id: str, objection_id: str
    ) -> Response:
        data = parse_body(request, schemas.ResolveObjection)
        command = ResolveObjection(
            objection_id, data["outcome"] == "upheld", data["finding"], data["resolved_on"]
        )
        events = handlers.resolve_objection(
            self.uow, self.calendar, application_id, command, expected=expected_version(request)
        )
        return _result(events, application_id=application_id)

    @endpoint("POST", "/applications/<application_id>/certification", action="notice.close")
    def certify(self, request: Request, application_id: str) -> Response:
        data = parse_body(request, schemas.Certify)
        events = handlers.certify(
            self.uow,
            self.calendar,
            application_id,
            Certify(talent_id=f"talent-{application_id}", certified_on=data["certified_on"]),
            expected=expected_version(request),
        )
        return _result(events, application_id=application_id)

    @endpoint("POST", "/applications/<application_id>/withdrawal", action="application.withdraw")
    def withdraw(self, request: Request, application_id: str) -> Response:
        data = parse_body(request, schemas.Withdraw)
        events = handlers.withdraw(
            self.uow,
            self.calendar,
            application_id,
            Withdraw(data["reason"], data["withdrawn_on"]),
            expected=expected_version(request),
        )
        return _result(events, application_id=application_id)

    @endpoint("POST", "/applications/<application_id>/erasure", action="person.erase")
    def erase_person(self, request: Request, application_id: str) -> Response:
        """Erase the applicant's personal data (个人信息保护法 art. 47; see
        ``handlers.erase_person``)."""
        data = parse_body(request, schemas.ErasePerson)
        events = handlers.erase_person(self.uow, application_id, data["basis"])
        return _result(events, application_id=application_id, erased=True)

    @endpoint("GET", "/applications/<application_id>", action="application.read")
    def get_application(self, request: Request, application_id: str) -> Response:
        app, history = handlers.application_with_history(self.uow, application_id)
        app["history"] = [
            {
                "position": e.global_position,
                "version": e.stream_version,
                "type": e.event_type,
                "payload": e.data,
                "metadata": e.metadata,
                "recorded_at": e.recorded_at.isoformat(),
            }
            for e in history
        ]
        app["eligibility"] = next(
            (e.data for e in history if e.event_type == "EligibilityAssessed"), None
        )
        app["county_recommendation"] = _county_recommendation(history)
        app["acts"] = [_act(e) for e in history if _act_on(e.data) is not None]
        return app

    @endpoint("GET", "/applications", action="application.read")
    def list_applications(self, request: Request) -> Response:
        args = request.args
        return {
            "applications": handlers.applications(
                self.uow,
                county=args.get("county"),
                round_year=_year_arg(request),
                status=args.get("status"),
                stage=args.get("stage"),
            )
        }

    @endpoint("GET", "/notices", public=True)
    def public_notices(self, request: Request) -> Response:
        """The public-notice list (公示): who is on notice, from when to when."""
        return {"notices": handlers.notices(self.uow, _year_arg(request))}

    # -- the Yixiang scheme (LT-10, LT-16) -------------------------------------------------------
    def _person(self, id_number: str) -> tuple[str, str]:
        """The person's keyed pseudonym and the masked form of their ID number."""
        return person_key(self.uow.settings.person_key_secret, id_number), mask_id_number(id_number)

    @endpoint("POST", "/yixiang/applicants", action="yixiang.import")
    def register_yixiang_applicant(self, request: Request) -> Response:
        data = parse_body(request, schemas.RegisterYixiangApplicant)
        key, masked = self._person(data["id_number"])
        command = yixiang_domain.RegisterFormerApplicant(
            key, masked, data["name"], data["applied_year"]
        )
        events = handlers.register_yixiang_applicant(self.uow, self.calendar, command)
        return _result(events, 201 if events else 200, registered=True)

    @endpoint("POST", "/yixiang/transfers", action="yixiang.import")
    def transfer_yixiang_talent(self, request: Request) -> Response:
        data = parse_body(request, schemas.TransferYixiangTalent)
        key, masked = self._person(data.pop("id_number"))
        enterprise = data.pop("enterprise")
        code = enterprise["credit_code"]
        command = yixiang_domain.TransferTalent(
            talent_id=f"talent-yixiang-{data['yixiang_talent_id']}",
            person_key=key,
            id_number_masked=masked,
            enterprise_name=enterprise["name"],
            enterprise_code=None if code == schemas.NONE else code,
            **data,
        )
        events = handlers.transfer_yixiang_talent(
            self.uow, self.calendar, command, expected=expected_version(request)
        )
        return _result(events, 201, talent_id=command.talent_id)

    # -- for other services ----------------------------------------------------------------------
    @rpc
    def application_status(self, application_id: str) -> dict[str, Any]:
        return _plain(handlers.application(self.uow, application_id))

    @rpc
    def round_status(self, year: int) -> dict[str, Any]:
        return _plain(handlers.round_status(self.uow, year))

    @rpc
    def notices(self, round_year: int | None = None) -> list[dict[str, Any]]:
        return [_plain(row) for row in handlers.notices(self.uow, round_year)]
