"""The subsidies service (补贴): the LT-10.1 grant on certification, its payment and its recovery on
disqualification (LT-14); the Ten Measures claims (TM-4…TM-10); the funds they are charged to
(TM-1), per source and fiscal year.

The entrypoints here authenticate (``@endpoint``), parse, build the command and hand it to the
use case in ``handlers.py``, which runs it in one transaction (under the fund's lock where a
decision charges a fund); the rules are the deciders' in ``domain/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import marshmallow
from werkzeug.wrappers import Request

from services.subsidies import handlers, projections, schemas
from services.subsidies.api import OPERATIONS
from services.subsidies.domain import fund as fund_domain
from services.subsidies.domain import grant as grant_domain
from services.subsidies.domain.claim import DecideClaim, PayClaim
from services.subsidies.domain.grant import DemandRecovery, RecordPayment, RecordRepayment
from services.subsidies.settings import SubsidiesSettings
from shared import metrics
from shared.clock import local_date
from shared.errors import InvalidInput
from shared.messaging.consumers import subscribe
from shared.messaging.inbox import IncomingEvent
from shared.runtime import base  # (not ServiceBase itself: `nameko run` would take it)
from shared.runtime.provider import EventStoreProvider
from shared.store import RecordedEvent
from shared.web import endpoint, expected_version, parse_body, query_int

Body = dict[str, Any]


def _result(events: Sequence[RecordedEvent], **extra: Any) -> Body:
    return {
        **extra,
        "version": events[-1].stream_version if events else None,
        "events": [
            {
                "type": e.event_type,
                "stream_id": e.stream_id,
                "clauses": e.clauses,
                "payload": e.data,
                "act_on": handlers.act_on(e.data),
                "recorded_at": e.recorded_at.isoformat(),
            }
            for e in events
        ],
    }


class SubsidiesService(base.ServiceBase):
    name = "subsidies"
    operations = OPERATIONS  # what each HTTP entrypoint takes and answers (OpenAPI)
    uow = EventStoreProvider(projectors=projections.READ_MODELS, settings=SubsidiesSettings)

    # -- funds --------------------------------------------------------------------------------
    @endpoint("POST", "/funds/<source>/<int:fiscal_year>/budget", action="budget.set")
    def set_budget(self, request: Request, source: str, fiscal_year: int) -> Body:
        key = self._load(schemas.FundKey(), {"source": source, "fiscal_year": fiscal_year})
        data = parse_body(request, schemas.SetBudget())
        return _result(
            handlers.set_budget(
                self.uow, fund_domain.SetBudget(**key, **data), expected_version(request)
            )
        )

    @endpoint("GET", "/funds", action="budget.read")
    def list_funds(self, request: Request) -> Body:
        return {"funds": handlers.funds(self.uow, self._year(request))}

    @endpoint("GET", "/funds/<source>/<int:fiscal_year>", action="budget.read")
    def get_fund(self, request: Request, source: str, fiscal_year: int) -> Body:
        self._load(schemas.FundKey(), {"source": source, "fiscal_year": fiscal_year})
        return handlers.fund(self.uow, source, fiscal_year)

    @endpoint("GET", "/totals", action="budget.read")
    def totals(self, request: Request) -> Body:
        return handlers.totals(self.uow, self._year(request))

    # -- the LT-10.1 grant --------------------------------------------------------------------
    @subscribe("applications", "TalentCertified")
    def on_talent_certified(self, event: IncomingEvent, cur: Any) -> None:
        command = grant_domain.for_certification(
            handlers.grant_stream(event.payload["talent_id"]),
            event.payload,
            event.metadata.get("clauses", []),
            local_date(event.recorded_at),
        )
        handlers.grant_for_certification(self.uow, cur, command)

    @subscribe("assessment", "TalentDisqualified")
    def on_talent_disqualified(self, event: IncomingEvent, cur: Any) -> None:
        p = event.payload
        handlers.demand_recovery(
            self.uow,
            cur,
            DemandRecovery(
                ground=p["ground"],
                decided_on=p["decided_on"],
                grant_id=handlers.grant_stream(p["talent_id"]),
                talent_id=p["talent_id"],
            ),
        )

    @endpoint("POST", "/grants/<talent_id>/payments", action="grant.pay")
    def pay(self, request: Request, talent_id: str) -> Body:
        data = parse_body(request, schemas.RecordPayment())
        return _result(
            handlers.pay_grant(
                self.uow, talent_id, RecordPayment(**data), expected_version(request)
            )
        )

    @endpoint("POST", "/grants/<talent_id>/repayments", action="grant.repay")
    def repay(self, request: Request, talent_id: str) -> Body:
        data = parse_body(request, schemas.RecordRepayment())
        return _result(
            handlers.repay_grant(
                self.uow, talent_id, RecordRepayment(**data), expected_version(request)
            )
        )

    @endpoint("GET", "/grants/<talent_id>", action="grant.read")
    def grant_ledger(self, request: Request, talent_id: str) -> Body:
        return handlers.grant_ledger(self.uow, talent_id)

    @endpoint("GET", "/recoveries", action="grant.read")
    def outstanding_recoveries(self, request: Request) -> Body:
        overdue = request.args.get("overdue", "false").lower()
        if overdue not in ("true", "false"):
            raise InvalidInput("overdue is true or false", fields={"overdue": ["Not a boolean."]})
        return handlers.recoveries(self.uow, overdue_only=overdue == "true")

    # -- Ten Measures claims ------------------------------------------------------------------
    @endpoint("POST", "/claims", action="claim.file")
    def file_claim(self, request: Request) -> tuple[int, Body]:
        measure = parse_body(request, schemas.ClaimMeasure())["measure"]
        data = parse_body(request, schemas.CLAIMS[measure]())
        party_id, party_name = data.pop("party_id"), data.pop("party_name")
        filed_on = data.pop("filed_on")
        del data["measure"]
        claim_id, events = handlers.file_claim(
            self.uow, measure, party_id, party_name, data, expected_version(request), filed_on
        )
        return 201, _result(events, claim_id=claim_id)

    @endpoint("POST", "/claims/<claim_id>/decision", action="claim.decide")
    def decide_claim(self, request: Request, claim_id: str) -> Body:
        data = parse_body(request, schemas.DecideClaim())
        command = DecideClaim(
            data["decision"] == "approve", tuple(data["reasons"]), data["decided_on"]
        )
        return _result(
            handlers.decide_claim(self.uow, claim_id, command, expected_version(request)),
            claim_id=claim_id,
        )

    @endpoint("POST", "/claims/<claim_id>/payments", action="claim.pay")
    def pay_claim(self, request: Request, claim_id: str) -> Body:
        data = parse_body(request, schemas.RecordPayment())
        return _result(
            handlers.pay_claim(self.uow, claim_id, PayClaim(**data), expected_version(request)),
            claim_id=claim_id,
        )

    @endpoint("GET", "/claims/<claim_id>", action="claim.read")
    def get_claim(self, request: Request, claim_id: str) -> Body:
        return handlers.claim(self.uow, claim_id)

    @endpoint("GET", "/claims", action="claim.read")
    def list_claims(self, request: Request) -> Body:
        return {
            "claims": handlers.claims(
                self.uow,
                measure=request.args.get("measure"),
                status=request.args.get("status"),
                party_id=request.args.get("party_id"),
            )
        }

    # -- ledgers ------------------------------------------------------------------------------
    @endpoint("GET", "/ledger/<party_id>", action="ledger.read")
    def ledger(self, request: Request, party_id: str) -> Body:
        return handlers.ledger(self.uow, party_id)

    def observe_metrics(self) -> None:
        """Scrape-time gauges of ``GET /metrics``: the recovery demands past their due date."""
        overdue = projections.recoveries(self.uow.query, self.uow.clock.today(), overdue_only=True)
        metrics.observe_overdue_recoveries(self.uow.service, overdue)

    # -- parsing ------------------------------------------------------------------------------
    @staticmethod
    def _load(schema: marshmallow.Schema, data: dict[str, Any]) -> dict[str, Any]:
        try:
            return schema.load(data)
        except marshmallow.ValidationError as exc:
            raise InvalidInput("invalid input", fields=exc.messages_dict) from exc

    def _year(self, request: Request) -> int | None:
        year = query_int(request, "year")
        if year is None:
            return None
        return self._load(schemas.FundKey(only=("fiscal_year",)), {"fiscal_year": year})[
            "fiscal_year"
        ]
