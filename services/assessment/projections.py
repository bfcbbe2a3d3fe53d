"""Read models of the assessment service, rebuilt from its own events: each tenure, its years
(figures, findings, grades), its breaches and rectification orders, and its disqualification
proposals. The Commerce Bureau's announcement of results (LT-11.1, 考核结果由州商务局通报) reads
the years table."""
import orjson

from services.assessment.domain.schedule import tenure_years
from shared.clock import local_date


def _json(value):
    return orjson.dumps(value, default=str).decode()


class TenuresView:
    migrations = [
        ("tenures_view_0001", """
            CREATE TABLE tenures_view (
                talent_id    text PRIMARY KEY,
                county       text NOT NULL,
                track        text NOT NULL,
                period_start date NOT NULL,
                period_end   date NOT NULL,
                status       text NOT NULL,
                version      integer NOT NULL,
                updated_at   timestamptz NOT NULL
            );
            CREATE TABLE assessment_results (
                talent_id   text NOT NULL,
                tenure_year integer NOT NULL,
                result      text NOT NULL,
                detail      jsonb NOT NULL,
                PRIMARY KEY (talent_id, tenure_year)
            );
        """),
        # v2: years, breaches and proposals. The service rebuilds the new tables from the events
        # at start when they are empty and the store is not (services/assessment/service.py).
        ("tenures_view_0002", """
            DROP TABLE assessment_results;
            DROP TABLE tenures_view;
            CREATE TABLE tenure_view (
                talent_id      text PRIMARY KEY,
                county         text NOT NULL,
                track          text NOT NULL,
                origin         text NOT NULL,
                period_start   date NOT NULL,
                period_end     date NOT NULL,
                transferred_on date,
                baseline_year  integer NOT NULL,
                baseline       jsonb NOT NULL,
                status         text NOT NULL,
                completed_on   date,
                version        integer NOT NULL,
                updated_at     timestamptz NOT NULL
            );
            CREATE INDEX tenure_view_status ON tenure_view (status);
            CREATE TABLE tenure_year_view (
                talent_id            text NOT NULL,
                tenure_year          integer NOT NULL,
                starts_on            date NOT NULL,
                ends_on              date NOT NULL,
                report_due_on        date NOT NULL,
                assessed             boolean NOT NULL,
                figures              jsonb,
                promotion_activities integer,
                backbones_trained    integer,
                full_time_in_chuxiong boolean,
                filed_on             date,
                findings             jsonb,
                result               text,
                basis                text,
                report_missed        boolean NOT NULL DEFAULT false,
                computation          jsonb,
                reasons              jsonb,
                assessed_on          date,
                PRIMARY KEY (talent_id, tenure_year)
            );
            CREATE INDEX tenure_year_view_ends ON tenure_year_view (ends_on);
            CREATE TABLE tenure_breach_view (
                talent_id    text NOT NULL,
                breach_id    text NOT NULL,
                obligation   text NOT NULL,
                tenure_year  integer NOT NULL,
                detail       text NOT NULL,
                rectifiable  boolean NOT NULL,
                status       text NOT NULL,
                found_on     date NOT NULL,
                requirement  text,
                deadline     date,
                rectified_on date,
                PRIMARY KEY (talent_id, breach_id)
            );
            CREATE TABLE tenure_proposal_view (
                talent_id        text NOT NULL,
                proposal_id      text NOT NULL,
                ground           text NOT NULL,
                reasons          jsonb NOT NULL,
                status           text NOT NULL,
                proposed_on      date,
                decided_on       date,
                decision_reasons jsonb,
                PRIMARY KEY (talent_id, proposal_id)
            );
        """),
    ]
    TABLES = ("tenure_view", "tenure_year_view", "tenure_breach_view", "tenure_proposal_view")

    def reset(self, cur):
        cur.execute("; ".join(f"DELETE FROM {table}" for table in self.TABLES))

    def fold(self):
        """The bulk replay path (see the end of this file)."""
        return _TenuresFold()

    def apply(self, cur, event):
        p, talent = event.payload, event.payload["talent_id"]
        status = None
        match event.event_type:
            case "TenureOpened":
                self._opened(cur, p, event)
                return
            case "AnnualReportFiled":
                cur.execute(
                    "UPDATE tenure_year_view SET figures = %s, promotion_activities = %s,"
                    " backbones_trained = %s, full_time_in_chuxiong = %s, filed_on = %s"
                    " WHERE talent_id = %s AND tenure_year = %s",
                    (_json(p["figures"]), p["promotion_activities"], p["backbones_trained"],
                     p["full_time_in_chuxiong"], p.get("filed_on"), talent, p["tenure_year"]))
            case "AssessorFindingsRecorded":
                cur.execute("UPDATE tenure_year_view SET findings = %s WHERE talent_id = %s"
                            " AND tenure_year = %s",
                            (_json({k: p[k] for k in ("ability_clearly_improved",
                                                      "influence_further_increased", "note",
                                                      "recorded_on")}),
                             talent, p["tenure_year"]))
            case "AssessmentPassed" | "AssessmentFailed":
                passed = event.event_type == "AssessmentPassed"
                cur.execute(
                    "UPDATE tenure_year_view SET result = %s, basis = %s, report_missed = %s,"
                    " computation = %s, reasons = %s, assessed_on = coalesce(%s,"
                    " (%s::timestamptz AT TIME ZONE 'Asia/Shanghai')::date)"
                    " WHERE talent_id = %s AND tenure_year = %s",
                    (p["grade"] if passed else "unqualified", p.get("basis"),
                     bool(p.get("report_missed")), _json(p["computation"]),
                     _json(p.get("reasons", [])), p.get("assessed_on"), event.recorded_at,
                     talent, p["tenure_year"]))
            case "ObligationBreached":
                cur.execute("INSERT INTO tenure_breach_view (talent_id, breach_id, obligation,"
                            " tenure_year, detail, rectifiable, status, found_on)"
                            " VALUES (%s, %s, %s, %s, %s, %s, 'open', %s)",
                            (talent, p["breach_id"], p["obligation"], p["tenure_year"],
                             p["detail"], p["rectifiable"], p["found_on"]))
            case "RectificationOrdered":
                self._breach(cur, talent, p["breach_id"], status="ordered",
                             requirement=p["requirement"], deadline=p["deadline"])
            case "RectificationConfirmed":
                self._breach(cur, talent, p["breach_id"], status="rectified",
                             rectified_on=p["rectified_on"])
            case "RectificationDeadlineMissed":
                self._breach(cur, talent, p["breach_id"], status="missed")
            case "DisqualificationProposed":
                pid = p.get("proposal_id") or self._next_proposal(cur, talent)
                cur.execute("INSERT INTO tenure_proposal_view (talent_id, proposal_id, ground,"
                            " reasons, status, proposed_on) VALUES (%s, %s, %s, %s, 'pending',"
                            " %s)", (talent, pid, p["ground"], _json(p["reasons"]),
                                     p.get("proposed_on")))
                cur.execute("UPDATE tenure_breach_view SET status = 'escalated'"
                            " WHERE talent_id = %s AND breach_id = ANY(%s) AND status = 'open'",
                            (talent, list(p.get("breach_ids") or [])))
            case "DisqualificationDeclined":
                cur.execute("UPDATE tenure_proposal_view SET status = 'declined',"
                            " decided_on = %s, decision_reasons = %s"
                            " WHERE talent_id = %s AND proposal_id = %s",
                            (p["decided_on"], _json(p["reasons"]), talent, p["proposal_id"]))
            case "TalentDisqualified":
                approved = p.get("proposal_id")
                cur.execute("UPDATE tenure_proposal_view SET decided_on = %s, status = CASE"
                            " WHEN %s::text IS NULL OR proposal_id = %s THEN 'approved'"
                            " ELSE 'superseded' END"
                            " WHERE talent_id = %s AND status = 'pending'",
                            (p["decided_on"], approved, approved, talent))
                status = "disqualified"
            case "TenureCompleted":
                cur.execute("UPDATE tenure_view SET completed_on = %s WHERE talent_id = %s",
                            (p["completed_on"], talent))
                status = "completed"
        cur.execute("UPDATE tenure_view SET status = coalesce(%s, status), version = %s,"
                    " updated_at = %s WHERE talent_id = %s",
                    (status, event.stream_version, event.recorded_at, talent))

    def _opened(self, cur, p, event):
        cur.execute("INSERT INTO tenure_view (talent_id, county, track, origin, period_start,"
                    " period_end, transferred_on, baseline_year, baseline, status, version,"
                    " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'open', %s, %s)",
                    (p["talent_id"], p["county"], p["track"], p.get("origin", "selection"),
                     p["period_start"], p["period_end"], p.get("transferred_on"),
                     p["baseline_year"], _json(p["baseline"]), event.stream_version,
                     event.recorded_at))
        years = p.get("years") or tenure_years(p["period_start"], p["period_end"],
                                               p.get("transferred_on"))
        for y in years:
            cur.execute("INSERT INTO tenure_year_view (talent_id, tenure_year, starts_on, ends_on,"
                        " report_due_on, assessed) VALUES (%s, %s, %s, %s, %s, %s)",
                        (p["talent_id"], y["tenure_year"], y["starts_on"], y["ends_on"],
                         y["report_due_on"], y["assessed"]))

    @staticmethod
    def _breach(cur, talent, breach_id, **changes):
        sets = ", ".join(f"{column} = %s" for column in changes)
        cur.execute(f"UPDATE tenure_breach_view SET {sets} WHERE talent_id = %s"
                    " AND breach_id = %s", (*changes.values(), talent, breach_id))

    @staticmethod
    def _next_proposal(cur, talent):
        cur.execute("SELECT count(*) FROM tenure_proposal_view WHERE talent_id = %s", (talent,))
        return f"P{cur.fetchone()[0] + 1}"


# -- bulk replay (talent-audit replay) ----------------------------------------------------------
# The same read models folded in memory with the statements' exact effects (an UPDATE of a
# missing row changes nothing), then written once (talent-audit writes them with COPY).
# tests/integration/test_replay_bulk.py checks them against ``apply``; the live path above stays
# the one the service uses.
class _TenuresFold:
    COLUMNS = {
        "tenure_view": ("talent_id", "county", "track", "origin", "period_start", "period_end",
                        "transferred_on", "baseline_year", "baseline", "status", "completed_on",
                        "version", "updated_at"),
        "tenure_year_view": ("talent_id", "tenure_year", "starts_on", "ends_on", "report_due_on",
                             "assessed", "figures", "promotion_activities", "backbones_trained",
                             "full_time_in_chuxiong", "filed_on", "findings", "result", "basis",
                             "report_missed", "computation", "reasons", "assessed_on"),
        "tenure_breach_view": ("talent_id", "breach_id", "obligation", "tenure_year", "detail",
                               "rectifiable", "status", "found_on", "requirement", "deadline",
                               "rectified_on"),
        "tenure_proposal_view": ("talent_id", "proposal_id", "ground", "reasons", "status",
                                 "proposed_on", "decided_on", "decision_reasons"),
    }

    def __init__(self):
        self.tenures, self.years = {}, {}
        self.breaches, self.proposals = {}, {}   # talent -> {id: row}

    def apply(self, event):
        p, kind = event.payload, event.event_type
        talent = p["talent_id"]
        status = None
        if kind == "TenureOpened":
            self._opened(p, event)
            return
        if kind == "AnnualReportFiled":
            row = self.years.get((talent, p["tenure_year"]))
            if row is not None:
                row.update(figures=_json(p["figures"]),
                           promotion_activities=p["promotion_activities"],
                           backbones_trained=p["backbones_trained"],
                           full_time_in_chuxiong=p["full_time_in_chuxiong"],
                           filed_on=p.get("filed_on"))
        elif kind == "AssessorFindingsRecorded":
            row = self.years.get((talent, p["tenure_year"]))
            if row is not None:
                row["findings"] = _json({k: p[k] for k in (
                    "ability_clearly_improved", "influence_further_increased", "note",
                    "recorded_on")})
        elif kind in ("AssessmentPassed", "AssessmentFailed"):
            row = self.years.get((talent, p["tenure_year"]))
            if row is not None:
                assessed_on = p.get("assessed_on")
                row.update(result=p["grade"] if kind == "AssessmentPassed" else "unqualified",
                           basis=p.get("basis"), report_missed=bool(p.get("report_missed")),
                           computation=_json(p["computation"]),
                           reasons=_json(p.get("reasons", [])),
                           assessed_on=assessed_on if assessed_on is not None
                           else local_date(event.recorded_at))
        elif kind == "ObligationBreached":
            self.breaches.setdefault(talent, {})[p["breach_id"]] = dict(
                talent_id=talent, breach_id=p["breach_id"], obligation=p["obligation"],
                tenure_year=p["tenure_year"], detail=p["detail"], rectifiable=p["rectifiable"],
                status="open", found_on=p["found_on"], requirement=None, deadline=None,
                rectified_on=None)
        elif kind == "RectificationOrdered":
            self._breach(talent, p["breach_id"], status="ordered",
                         requirement=p["requirement"], deadline=p["deadline"])
        elif kind == "RectificationConfirmed":
            self._breach(talent, p["breach_id"], status="rectified",
                         rectified_on=p["rectified_on"])
        elif kind == "RectificationDeadlineMissed":
            self._breach(talent, p["breach_id"], status="missed")
        elif kind == "DisqualificationProposed":
            proposals = self.proposals.setdefault(talent, {})
            pid = p.get("proposal_id") or f"P{len(proposals) + 1}"
            proposals[pid] = dict(talent_id=talent, proposal_id=pid, ground=p["ground"],
                                  reasons=_json(p["reasons"]), status="pending",
                                  proposed_on=p.get("proposed_on"), decided_on=None,
                                  decision_reasons=None)
            breaches = self.breaches.get(talent, {})
            for breach_id in p.get("breach_ids") or []:
                row = breaches.get(breach_id)
                if row is not None and row["status"] == "open":
                    row["status"] = "escalated"
        elif kind == "DisqualificationDeclined":
            row = self.proposals.get(talent, {}).get(p["proposal_id"])
            if row is not None:
                row.update(status="declined", decided_on=p["decided_on"],
                           decision_reasons=_json(p["reasons"]))
        elif kind == "TalentDisqualified":
            approved = p.get("proposal_id")
            for row in self.proposals.get(talent, {}).values():
                if row["status"] == "pending":
                    row["decided_on"] = p["decided_on"]
                    row["status"] = ("approved" if approved is None
                                     or row["proposal_id"] == approved else "superseded")
            status = "disqualified"
        elif kind == "TenureCompleted":
            row = self.tenures.get(talent)
            if row is not None:
                row["completed_on"] = p["completed_on"]
            status = "completed"
        row = self.tenures.get(talent)
        if row is not None:
            if status is not None:
                row["status"] = status
            row["version"], row["updated_at"] = event.stream_version, event.recorded_at

    def _opened(self, p, event):
        talent = p["talent_id"]
        self.tenures[talent] = dict(
            talent_id=talent, county=p["county"], track=p["track"],
            origin=p.get("origin", "selection"), period_start=p["period_start"],
            period_end=p["period_end"], transferred_on=p.get("transferred_on"),
            baseline_year=p["baseline_year"], baseline=_json(p["baseline"]), status="open",
            completed_on=None, version=event.stream_version, updated_at=event.recorded_at)
        years = p.get("years") or tenure_years(p["period_start"], p["period_end"],
                                               p.get("transferred_on"))
        for y in years:
            self.years[(talent, y["tenure_year"])] = dict(
                talent_id=talent, tenure_year=y["tenure_year"], starts_on=y["starts_on"],
                ends_on=y["ends_on"], report_due_on=y["report_due_on"], assessed=y["assessed"],
                figures=None, promotion_activities=None, backbones_trained=None,
                full_time_in_chuxiong=None, filed_on=None, findings=None, result=None,
                basis=None, report_missed=False, computation=None, reasons=None,
                assessed_on=None)

    def _breach(self, talent, breach_id, **changes):
        row = self.breaches.get(talent, {}).get(breach_id)
        if row is not None:
            row.update(changes)

    def tables(self):
        sources = {"tenure_view": self.tenures.values(), "tenure_year_view": self.years.values(),
                   "tenure_breach_view": [r for rows in self.breaches.values()
                                          for r in rows.values()],
                   "tenure_proposal_view": [r for rows in self.proposals.values()
                                            for r in rows.values()]}
        return {table: (columns, [tuple(r[c] for c in columns) for r in sources[table]])
                for table, columns in self.COLUMNS.items()}


READ_MODELS = [TenuresView()]
