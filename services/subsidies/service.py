"""The subsidies service (补贴): the LT-10.1 grant on certification, its payment and its recovery on
disqualification (LT-14); the Ten Measures claims (TM-4…TM-10); the funds they are charged to
(TM-1), per source and fiscal year.

Every decision that charges a fund runs under that fund's lock (a transaction-scoped advisory
lock taken before anything is appended, so it cannot deadlock with the store's append lock): the
fund's position is read, the decider decides on it, and the read model that sums the commitments
is updated by the same append. Two decisions can therefore never both take the last of a budget,
and an event handler never meets a version conflict it would have to dead-letter.
"""

import marshmallow

from services.subsidies import projections, schemas
from services.subsidies.domain import claim as claim_domain
from services.subsidies.domain import fund as fund_domain
from services.subsidies.domain import grant as grant_domain
from services.subsidies.domain import measures
from services.subsidies.domain.claim import DecideClaim, FileClaim, PayClaim
from services.subsidies.domain.grant import (DemandRecovery, GrantFromQueue, RecordPayment,
                                             RecordRepayment)
from services.subsidies.domain.policy import LT_SUBSIDY_MEASURE
from shared import service as base  # (not ServiceBase itself: `nameko run` would take it)
from shared.clock import local_date
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.locks import FUND as FUND_LOCK
from shared.service import (EventStoreProvider, endpoint, expected_version,
                            parse_body, subscribe)



def _stream(talent_id):
    return f"grant-{LT_SUBSIDY_MEASURE}-{talent_id}"


def _claim_stream(claim_id):
    return f"claim-{claim_id}"


def _result(events, **extra):
    return {**extra, "version": events[-1].stream_version if events else None,
            "events": [{"type": e.event_type, "stream_id": e.stream_id, "clauses": e.clauses,
                        "payload": e.data} for e in events]}


def _history(events):
    return [{"type": e.event_type, "version": e.stream_version, "payload": e.data,
             "clauses": e.clauses, "actor_role": e.metadata.get("actor_role"),
             "recorded_at": e.recorded_at.isoformat()} for e in events]


class SubsidiesService(base.ServiceBase):
    name = "subsidies"
    store = EventStoreProvider(projectors=projections.READ_MODELS)

    # -- funds --------------------------------------------------------------------------------
    def _fund_position(self, cur, source, fiscal_year):
        """Lock the fund for this transaction and read its position."""
        cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                    (FUND_LOCK, fund_domain.stream_id(source, fiscal_year)))
        return projections.fund_position(cur, source, fiscal_year)

    def _grant_queued(self, cur, source, fiscal_year):
        """Grant queued LT-10.1 subsidies the fund now has room for, first queued first (the
        fund's lock is held)."""
        recorded = []
        for queued in projections.queued_grants(cur, source, fiscal_year):
            context = self.store.context(fund=projections.fund_position(cur, source, fiscal_year))
            events = self.store.execute(grant_domain.grant, queued["grant_id"], GrantFromQueue(),
                                        context=context, cur=cur)
            if not events:
                break  # the first in line does not fit: nobody behind it jumps the queue
            recorded += events
        return recorded

    @endpoint("POST", "/funds/<source>/<int:fiscal_year>/budget", action="budget.set")
    def set_budget(self, request, source, fiscal_year):
        key = self._load(schemas.FundKey(), {"source": source, "fiscal_year": fiscal_year})
        data = parse_body(request, schemas.SetBudget())
        with self.store.db.transaction() as cur:
            context = self.store.context(fund=self._fund_position(cur, source, fiscal_year))
            events = self.store.execute(
                fund_domain.fund, fund_domain.stream_id(source, fiscal_year),
                fund_domain.SetBudget(**key, **data), context=context,
                expected_version=expected_version(request), cur=cur)
            if events:
                events += self._grant_queued(cur, source, fiscal_year)
        return _result(events)

    @endpoint("GET", "/funds", action="budget.read")
    def list_funds(self, request):
        year = self._year(request)
        return {"funds": projections.fund_totals(self.store.query, year)}

    @endpoint("GET", "/funds/<source>/<int:fiscal_year>", action="budget.read")
    def get_fund(self, request, source, fiscal_year):
        self._load(schemas.FundKey(), {"source": source, "fiscal_year": fiscal_year})
        [row] = projections.fund_totals(self.store.query, fiscal_year, source) or [None]
        if row is None:
            raise NotFound(f"no budget or commitment for fund {source} {fiscal_year}")
        with self.store.db.transaction() as cur:
            row["queued_grants"] = projections.queued_grants(cur, source, fiscal_year)
        row["history"] = _history(self.store.store.read_stream(
            fund_domain.stream_id(source, fiscal_year)))
        return row

    @endpoint("GET", "/totals", action="budget.read")
    def totals(self, request):
        year = self._year(request)
        return {"fiscal_year": year, "funds": projections.fund_totals(self.store.query, year),
                "measures": projections.measure_totals(self.store.query, year),
                "pending_claims": projections.pending_claims(self.store.query)}

    # -- the LT-10.1 grant --------------------------------------------------------------------
    @subscribe("applications", "TalentCertified")
    def on_talent_certified(self, event, cur):
        recorded_on = local_date(event.recorded_at)
        command = grant_domain.for_certification(
            _stream(event.payload["talent_id"]), event.payload, event.metadata.get("clauses", []),
            recorded_on)
        position = self._fund_position(cur, grant_domain.FUND, command.certified_on.year)
        self.store.execute(grant_domain.grant, command.grant_id, command,
                           context=self.store.context(fund=position), cur=cur)

    @subscribe("assessment", "TalentDisqualified")
    def on_talent_disqualified(self, event, cur):
        p = event.payload
        stream = _stream(p["talent_id"])
        state = grant_domain.grant.replay(self.store.store.read_stream(stream, cur=cur))
        if state.fund:  # a cancellation may release a commitment: hold the fund first
            self._fund_position(cur, state.fund, state.fiscal_year)
        events = self.store.execute(grant_domain.grant, stream, DemandRecovery(
            ground=p["ground"], decided_on=p["decided_on"], grant_id=stream,
            talent_id=p["talent_id"]), cur=cur)
        if any(e.payload.get("released_fen") for e in events):
            self._grant_queued(cur, state.fund, state.fiscal_year)

    def _existing(self, talent_id):
        if not self.store.store.read_stream(_stream(talent_id)):
            raise NotFound(f"no grant for talent {talent_id}")

    @endpoint("POST", "/grants/<talent_id>/payments", action="grant.pay")
    def pay(self, request, talent_id):
        data = parse_body(request, schemas.RecordPayment())
        self._existing(talent_id)
        return _result(self.store.execute(
            grant_domain.grant, _stream(talent_id), RecordPayment(**data),
            expected_version=expected_version(request)))

    @endpoint("POST", "/grants/<talent_id>/repayments", action="grant.repay")
    def repay(self, request, talent_id):
        data = parse_body(request, schemas.RecordRepayment())
        self._existing(talent_id)
        return _result(self.store.execute(
            grant_domain.grant, _stream(talent_id), RecordRepayment(**data),
            expected_version=expected_version(request)))

    @endpoint("GET", "/grants/<talent_id>", action="grant.read")
    def grant_ledger(self, request, talent_id):
        principal = self.store.principal
        if principal.role == "talent" and principal.actor_id != talent_id:
            raise Forbidden("a talent reads only their own grant")
        grants = self.store.query("SELECT * FROM grants_view WHERE talent_id = %s",
                                  (talent_id,))
        if not grants:
            raise NotFound(f"no grant for talent {talent_id}")
        return {"talent_id": talent_id, "grants": grants,
                "history": _history(self.store.store.read_stream(_stream(talent_id)))}

    @endpoint("GET", "/recoveries", action="grant.read")
    def outstanding_recoveries(self, request):
        overdue = request.args.get("overdue", "false").lower()
        if overdue not in ("true", "false"):
            raise InvalidInput("overdue is true or false", fields={"overdue": ["Not a boolean."]})
        return {"today": self.store.clock.today(), "recoveries": projections.recoveries(
            self.store.query, self.store.clock.today(), overdue_only=overdue == "true")}

    # -- Ten Measures claims ------------------------------------------------------------------
    def _tm7_2020_rate(self):
        value = self.store.config.get("TM7_2020_RATE_FEN")
        return int(value) if value not in (None, "") else None

    def _claim(self, claim_id):
        return self.store.load(claim_domain.claim, _claim_stream(claim_id))[0]

    @endpoint("POST", "/claims", action="claim.file")
    def file_claim(self, request):
        measure = parse_body(request, schemas.ClaimMeasure())["measure"]
        data = parse_body(request, schemas.CLAIMS[measure]())
        party_id, party_name = data.pop("party_id"), data.pop("party_name")
        del data["measure"]
        context = self.store.context(tm7_2020_rate_fen=self._tm7_2020_rate())
        claim_id = measures.claim_id(measure, party_id, data, context["today"])
        events = self.store.execute(
            claim_domain.claim, _claim_stream(claim_id),
            FileClaim(claim_id, measure, party_id, party_name, data), context=context,
            expected_version=expected_version(request))
        return 201, _result(events, claim_id=claim_id)

    @endpoint("POST", "/claims/<claim_id>/decision", action="claim.decide")
    def decide_claim(self, request, claim_id):
        data = parse_body(request, schemas.DecideClaim())
        state = self._claim(claim_id)
        approve = data["decision"] == "approve"
        source = claim_domain.fund_of(state.measure)
        with self.store.db.transaction() as cur:
            context = self.store.context()
            if approve and source:
                context["fund"] = self._fund_position(cur, source, context["today"].year)
            events = self.store.execute(
                claim_domain.claim, _claim_stream(claim_id),
                DecideClaim(approve, tuple(data["reasons"])), context=context,
                expected_version=expected_version(request), cur=cur)
        return _result(events, claim_id=claim_id)

    @endpoint("POST", "/claims/<claim_id>/payments", action="claim.pay")
    def pay_claim(self, request, claim_id):
        data = parse_body(request, schemas.RecordPayment())
        self._claim(claim_id)
        return _result(self.store.execute(
            claim_domain.claim, _claim_stream(claim_id), PayClaim(**data),
            expected_version=expected_version(request)), claim_id=claim_id)

    @endpoint("GET", "/claims/<claim_id>", action="claim.read")
    def get_claim(self, request, claim_id):
        row = self.store.query("SELECT * FROM claims_view WHERE claim_id = %s", (claim_id,),
                               one=True)
        if row is None:
            raise NotFound(f"no claim {claim_id}")
        history = self.store.store.read_stream(_claim_stream(claim_id))
        filed = [e for e in history if e.event_type == "MeasureClaimFiled"][-1].data
        return {**row, "breakdown": filed["breakdown"], "eligibility": filed["eligibility"],
                "facts": filed["facts"], "history": _history(history)}

    @endpoint("GET", "/claims", action="claim.read")
    def list_claims(self, request):
        sql, args = "SELECT * FROM claims_view WHERE true", []
        for column in ("measure", "status", "party_id"):
            if value := request.args.get(column):
                sql += f" AND {column} = %s"
                args.append(value)
        return {"claims": self.store.query(sql + " ORDER BY updated_at, claim_id", args)}

    # -- ledgers ------------------------------------------------------------------------------
    @endpoint("GET", "/ledger/<party_id>", action="ledger.read")
    def ledger(self, request, party_id):
        ledger = projections.ledger(self.store.query, party_id)
        if not ledger["grants"] and not ledger["claims"]:
            raise NotFound(f"no grant or claim for {party_id}")
        return ledger

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _load(schema, data):
        try:
            return schema.load(data)
        except marshmallow.ValidationError as exc:
            raise InvalidInput("invalid input", fields=exc.messages)

    def _year(self, request):
        year = request.args.get("year")
        if year is None:
            return None
        return self._load(schemas.FundKey(only=("fiscal_year",)),
                          {"fiscal_year": int(year) if year.isdigit() else year})["fiscal_year"]
