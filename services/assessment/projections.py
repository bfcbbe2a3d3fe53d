"""Read models of the assessment service, rebuilt from its own events: each tenure, its years
(figures, findings, grades), its breaches and rectification orders, and its disqualification
proposals. The Commerce Bureau's announcement of results (LT-11.1, 考核结果由州商务局通报) reads
the years table. Defined once (``shared.readmodel``): the live path's statements and
talent-audit's bulk replay both come from that definition."""

from __future__ import annotations

import orjson

from services.assessment.domain.schedule import tenure_years
from shared.clock import local_date
from shared.readmodel import (
    By,
    Case,
    Eq,
    Event,
    Expression,
    In,
    ReadModel,
    Rows,
    Table,
    on,
    otherwise,
)

TENURES, YEARS = "tenure_view", "tenure_year_view"
BREACHES, PROPOSALS = "tenure_breach_view", "tenure_proposal_view"


def _json(value: object) -> str:
    return orjson.dumps(value, default=str).decode()


class TenuresView(ReadModel):
    """Every event of a tenure's stream moves its ``tenure_view`` row on (version, time and, for
    a disqualification or the tenure's end, its status)."""

    tables = (
        Table(
            TENURES,
            key=("talent_id",),
            columns=(
                "talent_id",
                "county",
                "track",
                "origin",
                "period_start",
                "period_end",
                "certified_on",
                "transferred_on",
                "transfer_recorded_on",
                "baseline_year",
                "baseline",
                "status",
                "completed_on",
                "version",
                "updated_at",
            ),
        ),
        Table(
            YEARS,
            key=("talent_id", "tenure_year"),
            columns=(
                "talent_id",
                "tenure_year",
                "starts_on",
                "ends_on",
                "window_opens_on",
                "report_due_on",
                "assessed",
                "figures",
                "promotion_activities",
                "backbones_trained",
                "full_time_in_chuxiong",
                "reported_on",
                "report_recorded_at",
                "findings",
                "reminded_on",
                "missed_on",
                "result",
                "basis",
                "report_missed",
                "computation",
                "reasons",
                "assessed_on",
                "assessed_recorded_at",
            ),
            defaults={"report_missed": False},
        ),
        Table(
            BREACHES,
            key=("talent_id", "breach_id"),
            columns=(
                "talent_id",
                "breach_id",
                "obligation",
                "tenure_year",
                "detail",
                "rectifiable",
                "status",
                "found_on",
                "requirement",
                "ordered_on",
                "deadline",
                "rectified_on",
            ),
        ),
        Table(
            PROPOSALS,
            key=("talent_id", "proposal_id"),
            columns=(
                "talent_id",
                "proposal_id",
                "ground",
                "reasons",
                "status",
                "proposed_on",
                "decided_on",
                "decision_reasons",
            ),
            lookups=(("talent_id",),),
        ),
    )
    migrations = [
        (
            "tenures_view_0001",
            """
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
        """,
        ),
        # v2: years, breaches and proposals. The service rebuilds the new tables from the events
        # at start when they are empty and the store is not (services/assessment/service.py).
        (
            "tenures_view_0002",
            """
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
        """,
        ),
        # v3: the report windows (LT-11.1), the acts' dates beside the times they were recorded,
        # missing reports. The tables are made again; the service rebuilds them from the events
        # at start, as for v2.
        (
            "tenures_view_0003",
            """
            DROP TABLE tenure_view, tenure_year_view, tenure_breach_view, tenure_proposal_view;
            CREATE TABLE tenure_view (
                talent_id      text PRIMARY KEY,
                county         text NOT NULL,
                track          text NOT NULL,
                origin         text NOT NULL,
                period_start   date NOT NULL,
                period_end     date NOT NULL,
                certified_on   date,
                transferred_on date,
                transfer_recorded_on date,
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
                window_opens_on      date,
                report_due_on        date NOT NULL,
                assessed             boolean NOT NULL,
                figures              jsonb,
                promotion_activities integer,
                backbones_trained    integer,
                full_time_in_chuxiong boolean,
                reported_on          date,
                report_recorded_at   timestamptz,
                findings             jsonb,
                reminded_on          date,
                missed_on            date,
                result               text,
                basis                text,
                report_missed        boolean NOT NULL DEFAULT false,
                computation          jsonb,
                reasons              jsonb,
                assessed_on          date,
                assessed_recorded_at timestamptz,
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
                ordered_on   date,
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
        """,
        ),
    ]

    @on("TenureOpened")
    def opened(self, event: Event, rows: Rows) -> None:
        p = event.payload
        talent = p["talent_id"]
        rows.insert(
            TENURES,
            {
                "talent_id": talent,
                "county": p["county"],
                "track": p["track"],
                "origin": p.get("origin", "selection"),
                "period_start": p["period_start"],
                "period_end": p["period_end"],
                "certified_on": p.get("certified_on"),
                "transferred_on": p.get("transferred_on"),
                "transfer_recorded_on": p.get("transfer_recorded_on"),
                "baseline_year": p["baseline_year"],
                "baseline": _json(p["baseline"]),
                "status": "open",
                "version": event.stream_version,
                "updated_at": event.recorded_at,
            },
        )
        years = p.get("years") or tenure_years(
            p["period_start"], p["period_end"], p.get("transfer_recorded_on")
        )
        for y in years:
            rows.insert(
                YEARS,
                {
                    "talent_id": talent,
                    "tenure_year": y["tenure_year"],
                    "starts_on": y["starts_on"],
                    "ends_on": y["ends_on"],
                    "window_opens_on": y.get("window_opens_on"),
                    "report_due_on": y["report_due_on"],
                    "assessed": y["assessed"],
                },
            )

    # (a year's values are made only for a year the tenure has: see Rows.update)
    @on("AnnualReportFiled")
    def report_filed(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.update(
            YEARS,
            (p["talent_id"], p["tenure_year"]),
            lambda: {
                "figures": _json(p["figures"]),
                "promotion_activities": p["promotion_activities"],
                "backbones_trained": p["backbones_trained"],
                "full_time_in_chuxiong": p["full_time_in_chuxiong"],
                "reported_on": p.get("reported_on"),
                "report_recorded_at": event.recorded_at,
            },
        )
        _tenure(rows, event)

    @on("AssessorFindingsRecorded")
    def findings(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.update(
            YEARS,
            (p["talent_id"], p["tenure_year"]),
            lambda: {
                "findings": _json(
                    {
                        **{
                            k: p.get(k)
                            for k in (
                                "ability_clearly_improved",
                                "influence_further_increased",
                                "application_and_innovation",
                                "other_work",
                                "note",
                                "found_on",
                            )
                        },
                        "recorded_at": event.recorded_at,
                    }
                )
            },
        )
        _tenure(rows, event)

    @on("AssessmentPassed", "AssessmentFailed")
    def assessed(self, event: Event, rows: Rows) -> None:
        p = event.payload

        def values() -> dict:
            assessed_on = p.get("assessed_on")
            # (report_missed: a missing report rectified keeps its mark; only events of the
            # earlier reading, which failed a missed year, carry the flag)
            missed = {"report_missed": True} if p.get("report_missed") else {}
            return {
                **missed,
                "result": p["grade"] if event.event_type == "AssessmentPassed" else "unqualified",
                "basis": p.get("basis"),
                "computation": _json(p["computation"]),
                "reasons": _json(p.get("reasons", [])),
                "assessed_on": local_date(event.recorded_at)
                if assessed_on is None
                else assessed_on,
                "assessed_recorded_at": event.recorded_at,
            }

        rows.update(YEARS, (p["talent_id"], p["tenure_year"]), values)
        _tenure(rows, event)

    @on("AnnualReportReminded")
    def reminded(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.update(
            YEARS, (p["talent_id"], p["tenure_year"]), lambda: {"reminded_on": p["reminded_on"]}
        )
        _tenure(rows, event)

    @on("AnnualReportMissed")
    def report_missed(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.update(
            YEARS,
            (p["talent_id"], p["tenure_year"]),
            lambda: {"missed_on": p["missed_on"], "report_missed": True},
        )
        rows.insert(
            BREACHES,
            {
                "talent_id": p["talent_id"],
                "breach_id": p["breach_id"],
                "obligation": "LT-11.1",
                "tenure_year": p["tenure_year"],
                "detail": p["detail"],
                "rectifiable": True,
                "status": "open",
                "found_on": p["missed_on"],
            },
        )
        _tenure(rows, event)

    @on("ObligationBreached")
    def breached(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.insert(
            BREACHES,
            {
                "talent_id": p["talent_id"],
                "breach_id": p["breach_id"],
                "obligation": p["obligation"],
                "tenure_year": p["tenure_year"],
                "detail": p["detail"],
                "rectifiable": p["rectifiable"],
                "status": "open",
                "found_on": p["found_on"],
            },
        )
        _tenure(rows, event)

    @on("RectificationOrdered")
    def ordered(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.update(
            BREACHES,
            (p["talent_id"], p["breach_id"]),
            {
                "status": "ordered",
                "requirement": p["requirement"],
                "ordered_on": p.get("ordered_on"),
                "deadline": p["deadline"],
            },
        )
        _tenure(rows, event)

    @on("RectificationConfirmed")
    def rectified(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.update(
            BREACHES,
            (p["talent_id"], p["breach_id"]),
            {"status": "rectified", "rectified_on": p["rectified_on"]},
        )
        _tenure(rows, event)

    @on("RectificationDeadlineMissed")
    def missed(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.update(BREACHES, (p["talent_id"], p["breach_id"]), {"status": "missed"})
        _tenure(rows, event)

    @on("DisqualificationProposed")
    def proposed(self, event: Event, rows: Rows) -> None:
        p = event.payload
        talent = p["talent_id"]
        # a proposal recorded without an id is named by its place among the talent's proposals
        pid = p.get("proposal_id") or f"P{rows.count(PROPOSALS, By(talent_id=talent)) + 1}"
        rows.insert(
            PROPOSALS,
            {
                "talent_id": talent,
                "proposal_id": pid,
                "ground": p["ground"],
                "reasons": _json(p["reasons"]),
                "status": "pending",
                "proposed_on": p.get("proposed_on"),
            },
        )
        rows.update(
            BREACHES,
            In((talent, b) for b in p.get("breach_ids") or ()),
            {"status": "escalated"},
            only=Eq("status", "open"),
        )
        _tenure(rows, event)

    @on("DisqualificationDeclined")
    def declined(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.update(
            PROPOSALS,
            (p["talent_id"], p["proposal_id"]),
            {
                "status": "declined",
                "decided_on": p["decided_on"],
                "decision_reasons": _json(p["reasons"]),
            },
        )
        _tenure(rows, event)

    @on("TalentDisqualified")
    def disqualified(self, event: Event, rows: Rows) -> None:
        p = event.payload
        approved = p.get("proposal_id")
        # the pending proposals are decided: the one approved (all, if none is named), the
        # others superseded
        computed: dict[str, Expression] | None
        if approved is None:
            values, computed = {"decided_on": p["decided_on"], "status": "approved"}, None
        else:
            values = {"decided_on": p["decided_on"]}
            computed = {
                "status": Case((Eq("proposal_id", approved), "approved"), otherwise="superseded")
            }
        rows.update(
            PROPOSALS, By(talent_id=p["talent_id"]), values, computed, only=Eq("status", "pending")
        )
        _tenure(rows, event, {"status": "disqualified"})

    @on("TenureCompleted")
    def completed(self, event: Event, rows: Rows) -> None:
        _tenure(rows, event, {"status": "completed", "completed_on": event.payload["completed_on"]})

    @otherwise
    def recorded(self, event: Event, rows: Rows) -> None:
        _tenure(rows, event)


def _tenure(rows: Rows, event: Event, values: dict | None = None) -> None:
    """The tenure moved on to the event's version and time (and ``values``)."""
    moved = {"version": event.stream_version, "updated_at": event.recorded_at}
    rows.update(
        TENURES, event.payload["talent_id"], moved if values is None else {**values, **moved}
    )


READ_MODELS = [TenuresView()]
