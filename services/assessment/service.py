"""The assessment service (考核): tenures, annual reports and grades (LT-11), obligations and
rectification (LT-12, LT-13), disqualification (LT-14), completion.

Time: "today" is the service clock's (``shared/clocks.py``): the real date, or ``CLOCK_TODAY``
in a test configuration. Deadlines (report due dates, rectification deadlines, the period
end) are fired by a timer that runs in every replica and acts in one at a time
(``shared/timers.py``); ``POST /deadlines/run`` runs the same sweep at once for an operator."""

import marshmallow

from services.assessment import schemas
from services.assessment.domain import tenure as tenure_domain
from services.assessment.domain.tenure import (
    ApproveDisqualification, ConfirmRectification, DeclineDisqualification, FileAnnualReport,
    FireDeadlines, OpenTenure, OrderRectification, RecordFindings, ReportGround, TransferTenure)
from services.assessment import projections
from shared import logging as tlog
from shared import service as base  # (not ServiceBase itself: `nameko run` would take it)
from shared.auth import authorize
from shared.calendar import WorkingDayCalendar
from shared.clock import clock_for, local_date
from shared.errors import Forbidden, InvalidInput, NotFound, TalentError
from shared.service import (EventStoreProvider, endpoint, expected_version, parse_body,
                            subscribe)
from shared.timers import exclusive, lock_key, timer

log = tlog.get_logger(__name__)
DEADLINES = "assessment.deadlines"


def _stream(talent_id):
    return f"tenure-{talent_id}"


class AssessmentStore(EventStoreProvider):
    """The event store with the configured clock and working-day calendar; read models that a
    migration left empty are rebuilt from the events at start (one replica does it, the others
    wait and find it done)."""

    def setup(self):
        super().setup()
        self.clock = clock_for(self.config)
        self.calendar = WorkingDayCalendar.from_config(self.config.get("WORKING_DAY_OVERRIDES"))
        with self.db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("assessment.rebuild"),))
            cur.execute("SELECT NOT EXISTS (SELECT 1 FROM tenure_view) AND EXISTS"
                        " (SELECT 1 FROM events WHERE event_type = 'TenureOpened')")
            if cur.fetchone()[0]:
                log.warning("read_models_rebuilding")
                self.store.rebuild_projections()


class AssessmentService(base.ServiceBase):
    name = "assessment"
    store = AssessmentStore(projectors=projections.READ_MODELS)

    # -- opening ---------------------------------------------------------------------------------
    @subscribe("applications", "TalentCertified")
    def on_talent_certified(self, event, cur):
        p = event.payload
        opening = dict(talent_id=p["talent_id"], county=p["county"], track=p["track"],
                       period_start=p["period_start"], period_end=p["period_end"],
                       baseline_year=p["baseline_year"], baseline=p["baseline"])
        if p.get("origin") == "yixiang_transfer":  # LT-16, transferred on the day recorded
            command = TransferTenure(**opening, transferred_on=local_date(event.recorded_at))
        else:
            command = OpenTenure(**opening)
        self._execute(p["talent_id"], command, cur=cur)

    # -- commands ----------------------------------------------------------------------------------
    def _tenure(self, talent_id):
        row = self.store.query("SELECT * FROM tenure_view WHERE talent_id = %s", (talent_id,),
                               one=True)
        if row is None:
            raise NotFound(f"no tenure for talent {talent_id}")
        return row

    def _guard(self, action, talent_id):
        """The tenure, if the caller may do ``action`` on it: county staff only in their county,
        a talent only on their own tenure."""
        tenure = self._tenure(talent_id)
        principal = self.store.principal
        authorize(principal, action, tenure["county"])
        if principal.role == "talent" and principal.actor_id != talent_id:
            raise Forbidden("a talent acts only on their own tenure")
        return tenure

    def _execute(self, talent_id, command, **kwargs):
        """Run ``command`` on the talent's tenure, deciding with the clock's today and the
        working-day calendar."""
        context = self.store.context(calendar=self.store.provider.calendar)
        return self.store.execute(tenure_domain.tenure, _stream(talent_id), command,
                                  context=context, **kwargs)

    def _run(self, request, talent_id, command):
        events = self._execute(talent_id, command, expected_version=expected_version(request))
        return {"version": events[-1].stream_version if events else None,
                "events": [{"type": e.event_type, "clauses": e.clauses, "payload": e.data}
                           for e in events]}

    @endpoint("POST", "/tenures/<talent_id>/reports", action="tenure.report")
    def file_report(self, request, talent_id):
        data = parse_body(request, schemas.FileAnnualReport())
        self._guard("tenure.report", talent_id)
        return self._run(request, talent_id, FileAnnualReport(**data))

    @endpoint("POST", "/tenures/<talent_id>/findings", action="tenure.findings")
    def record_findings(self, request, talent_id):
        data = parse_body(request, schemas.RecordFindings())
        self._guard("tenure.findings", talent_id)
        return self._run(request, talent_id, RecordFindings(**data))

    @endpoint("POST", "/tenures/<talent_id>/breaches/<breach_id>/rectification",
              action="tenure.rectification")
    def order_rectification(self, request, talent_id, breach_id):
        data = parse_body(request, schemas.OrderRectification())
        self._guard("tenure.rectification", talent_id)
        return self._run(request, talent_id, OrderRectification(breach_id=breach_id, **data))

    @endpoint("POST", "/tenures/<talent_id>/breaches/<breach_id>/rectified",
              action="tenure.rectification")
    def confirm_rectification(self, request, talent_id, breach_id):
        data = parse_body(request, schemas.ConfirmRectification())
        self._guard("tenure.rectification", talent_id)
        return self._run(request, talent_id, ConfirmRectification(breach_id=breach_id, **data))

    @endpoint("POST", "/tenures/<talent_id>/grounds")
    def report_ground(self, request, talent_id):
        """An LT-14 ground; who may report it depends on its kind (``tenure.ground.<kind>``)."""
        data = parse_body(request, schemas.ReportGround())
        self._guard(f"tenure.ground.{data['kind']}", talent_id)
        return self._run(request, talent_id, ReportGround(**data))

    @endpoint("POST", "/tenures/<talent_id>/disqualification", action="disqualification.approve")
    def approve_disqualification(self, request, talent_id):
        data = parse_body(request, schemas.ApproveDisqualification())
        self._guard("disqualification.approve", talent_id)
        return self._run(request, talent_id, ApproveDisqualification(**data))

    @endpoint("POST", "/tenures/<talent_id>/disqualification/decline",
              action="disqualification.decline")
    def decline_disqualification(self, request, talent_id):
        data = parse_body(request, schemas.DeclineDisqualification())
        self._guard("disqualification.decline", talent_id)
        return self._run(request, talent_id, DeclineDisqualification(
            decided_on=data["decided_on"], reasons=tuple(data["reasons"]),
            proposal_id=data["proposal_id"]))

    # -- deadlines -------------------------------------------------------------------------------
    def _sweep(self):
        """FireDeadlines on every open tenure, in one replica at a time; idempotent (what was
        fired is in the stream, so the next sweep fires nothing again)."""
        today = self.store.clock.today()
        with exclusive(self.store.db, DEADLINES) as mine:
            if not mine:
                log.info("deadline_sweep_skipped", today=today.isoformat())
                return {"ran": False, "today": today, "fired": {}}
            open_tenures = [row["talent_id"] for row in self.store.query(
                "SELECT talent_id FROM tenure_view WHERE status = 'open' ORDER BY talent_id")]
            fired = {}
            for talent_id in open_tenures:
                try:
                    events = self._execute(talent_id, FireDeadlines())
                except TalentError as exc:  # e.g. a concurrent command: the next sweep retries
                    log.warning("deadline_sweep_refused", talent_id=talent_id, code=exc.code,
                                error=exc.message)
                    continue
                if events:
                    fired[talent_id] = [e.event_type for e in events]
            log.info("deadline_sweep", today=today.isoformat(), tenures=len(open_tenures),
                     fired=sum(map(len, fired.values())))
            return {"ran": True, "today": today, "fired": fired}

    @timer("DEADLINE_TIMER_SECONDS", 3600)
    def deadline_timer(self):
        self._sweep()

    @endpoint("POST", "/deadlines/run", action="deadlines.run")
    def run_deadlines(self, request):
        return self._sweep()

    # -- read models -----------------------------------------------------------------------------
    @endpoint("GET", "/tenures/<talent_id>", action="tenure.read")
    def get_tenure(self, request, talent_id):
        """A talent's tenure: every year's dates, figures, findings and grade (with the
        computation), the breaches and rectification orders, the proposals and decisions."""
        tenure = self._guard("tenure.read", talent_id)
        tenure["years"] = self.store.query(
            "SELECT tenure_year, starts_on, ends_on, report_due_on, assessed, figures,"
            " promotion_activities, backbones_trained, full_time_in_chuxiong, filed_on,"
            " findings, result, basis, report_missed, computation, reasons, assessed_on"
            " FROM tenure_year_view WHERE talent_id = %s ORDER BY tenure_year", (talent_id,))
        tenure["breaches"] = self.store.query(
            "SELECT breach_id, obligation, tenure_year, detail, rectifiable, status, found_on,"
            " requirement, deadline, rectified_on FROM tenure_breach_view WHERE talent_id = %s"
            " ORDER BY found_on, breach_id", (talent_id,))
        tenure["proposals"] = self.store.query(
            "SELECT proposal_id, ground, reasons, status, proposed_on, decided_on,"
            " decision_reasons FROM tenure_proposal_view WHERE talent_id = %s"
            " ORDER BY length(proposal_id), proposal_id", (talent_id,))
        return tenure

    @endpoint("GET", "/results", action="assessment.results.read")
    def results(self, request):
        """The annual results for the Commerce Bureau's announcement (LT-11.1): each graded year,
        under the calendar year in which its tenure year ended; county staff see their county."""
        try:
            query = schemas.ResultsQuery().load(request.args.to_dict())
        except marshmallow.ValidationError as exc:
            raise InvalidInput("invalid query", fields=exc.messages)
        principal = self.store.principal
        if principal.role == "county_officer":
            if query["county"] not in (None, principal.county):
                raise Forbidden(f"county_officer of {principal.county} may not read "
                                f"{query['county']}")
            query["county"] = principal.county
        sql = ("SELECT extract(year FROM y.ends_on)::int AS year, t.talent_id, t.county,"
               " t.track, y.tenure_year, y.starts_on, y.ends_on, y.result, y.basis,"
               " y.report_missed, y.reasons, y.assessed_on"
               " FROM tenure_year_view y JOIN tenure_view t USING (talent_id)"
               " WHERE y.result IS NOT NULL")
        args = []
        if query["year"] is not None:
            sql += " AND extract(year FROM y.ends_on) = %s"
            args.append(query["year"])
        if query["county"] is not None:
            sql += " AND t.county = %s"
            args.append(query["county"])
        rows = self.store.query(sql + " ORDER BY year, t.county, t.talent_id, y.tenure_year",
                                args)
        summary = {result: sum(r["result"] == result for r in rows)
                   for result in ("excellent", "qualified", "unqualified")}
        return {"year": query["year"], "county": query["county"], "summary": summary,
                "results": rows}
