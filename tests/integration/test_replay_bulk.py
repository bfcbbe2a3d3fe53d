"""Each read model is defined once (``shared.readmodel``), and its two sinks make the same rows
from the same events: the SQL sink's statements in PostgreSQL (the live path, ``apply``) and the
memory sink's rows written with COPY (``fold``, as ``talent-audit replay`` does). Checked as of
every position of a history of every event kind of each service (and of a read model that uses
every kind of change), through the real store and the console command as of a position and a date,
and against the tables the migrations make."""

import datetime as dt
import importlib
import io
import json
import uuid

import psycopg2
import pytest

from services import audit_cli as audit
from shared.db import Database
from shared.decider import NewEvent
from shared.readmodel import ReadModel
from shared.store import EventStore, Metadata, RecordedEvent
from talent_audit.copy import copy_rows
from tests.support import library

pytestmark = pytest.mark.integration
UTC = dt.UTC
D = dt.date(2024, 6, 3)
META = Metadata("tester", "system", "corr", policy_version="test")
APPLICATIONS_TABLES = {"applications_view", "rounds_view", "talents_view", "yixiang_persons"}
ODD = "tab\there, new\nline, back\\slash \\N 楚雄"


def dump(cur, schema):
    """Every read model of ``schema``: table -> sorted rows."""
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        " AND table_name <> 'schema_migrations' ORDER BY table_name",
        (schema,),
    )
    out = {}
    for (table,) in cur.fetchall():
        cur.execute(f'SELECT * FROM "{schema}"."{table}"')
        out[table] = sorted(map(repr, cur.fetchall()))
    return out


def assert_sinks_agree(dsn, models, events):
    """As of every position: the rows of the SQL sink == the rows of the memory sink + COPY."""
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            for cut in range(1, len(events) + 1):
                for schema in ("live", "bulk"):
                    cur.execute(
                        f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
                        f" SET search_path TO {schema}"
                    )
                    for m in models:
                        for _name, sql in m.migrations:
                            cur.execute(sql)
                cur.execute("SET search_path TO live")
                for event in events[:cut]:
                    for m in models:
                        m.apply(cur, event)
                folds = [m.fold() for m in models]
                for event in events[:cut]:
                    for f in folds:
                        if f.event_types is None or event.event_type in f.event_types:
                            f.apply(event)
                for f in folds:
                    for table, (columns, rows) in f.tables().items():
                        copy_rows(cur, f"bulk.{table}", columns, rows)
                live = dump(cur, "live")
                assert live == dump(cur, "bulk"), (cut, events[cut - 1])
        return live
    finally:
        conn.close()


def test_every_kind_of_change_makes_the_same_rows_through_both_sinks(fresh_db):
    final = assert_sinks_agree(fresh_db("sinks"), [library.Library()], library.history())
    assert all(final.values())


# -- event by event, every kind ------------------------------------------------------------------
def _events():
    spec = [
        (
            "RoundOpened",
            "round-2024",
            {"year": 2024, "quota": 5, "window_opens": D, "window_closes": D, "opened_on": D},
        ),
        (
            "YixiangApplicantRegistered",
            "yx",
            {"person_key": "pk-1", "name": ODD, "applied_year": 2021},
        ),
        (
            "YixiangApplicantRegistered",
            "yx",
            {"person_key": "pk-1", "name": "again", "applied_year": 2022},
        ),
        (
            "YixiangTalentTransferred",
            "yx",
            {"person_key": "pk-1", "name": "x", "talent_id": "t-yx-1"},
        ),
        (
            "YixiangTalentTransferred",
            "yx",
            {"person_key": "pk-2", "name": "y", "talent_id": "t-yx-2"},
        ),
        ("ReviewPassed", "app-none", {"application_id": "app-none", "stage": "inspection"}),
    ]
    for i in range(6):
        app = f"app-{i}"
        spec.append(
            (
                "ApplicationSubmitted",
                app,
                {
                    "application_id": app,
                    "round_year": 2024,
                    "county": "楚雄市",
                    "applicant_name": ODD if i == 1 else f"申报人{i}",
                    "category": "LT-6.3",
                    "enterprise_name": f"企业{i}",
                    "submitted_on": D,
                    **({"applicant_id": f"ap-{i}", "enterprise_code": f"EC{i}"} if i % 2 else {}),
                },
            )
        )
        spec.append(
            (
                "EligibilityAssessed",
                app,
                {
                    "application_id": app,
                    "eligible": i != 2,
                    "failed": [] if i != 2 else ["LT-7.1", ODD],
                },
            )
        )
    for stage in ("county_recommendation", "qualification_review", "expert_review"):
        for i in (0, 1, 3, 4, 5):
            score = {"expert_review": "87.455"}.get(stage) if i != 5 else None
            spec.append(
                (
                    "ReviewPassed",
                    f"app-{i}",
                    {"application_id": f"app-{i}", "stage": stage, "expert_score": score},
                )
            )
    spec += [
        ("ReviewRejected", "app-3", {"application_id": "app-3", "stage": "inspection"}),
        ("ApplicationWithdrawn", "app-4", {"application_id": "app-4", "stage": "inspection"}),
        (
            "PublicNoticeStarted",
            "app-0",
            {"application_id": "app-0", "start_date": D, "end_date": D + dt.timedelta(days=7)},
        ),
        (
            "PublicNoticeStarted",
            "app-1",
            {"application_id": "app-1", "start_date": D, "end_date": D},
        ),
        ("ObjectionRaised", "app-0", {"application_id": "app-0"}),
        ("ObjectionRaised", "app-0", {"application_id": "app-0"}),
        ("ObjectionResolved", "app-0", {"application_id": "app-0"}),
        ("ObjectionResolved", "app-0", {"application_id": "app-0"}),
        ("ObjectionRaised", "app-1", {"application_id": "app-1"}),
        (
            "TalentCertified",
            "app-0",
            {
                "talent_id": "t-0",
                "application_id": "app-0",
                "applicant_name": "申报人0",
                "county": "楚雄市",
                "period_start": D,
                "period_end": D,
                "enterprise_code": "E0",
            },
        ),
        (
            "TalentCertified",
            "app-1",
            {
                "talent_id": "t-1",
                "application_id": "app-1",
                "applicant_name": ODD,
                "county": "楚雄市",
                "period_start": D,
                "period_end": D,
                "origin": "transfer",
            },
        ),
    ]
    return _recorded([("application",) + item for item in spec])


def _recorded(spec):
    versions, events = {}, []
    at = dt.datetime(2024, 6, 3, 1, 2, 3, 450_000, tzinfo=UTC)
    for position, (stream_type, kind, stream, payload) in enumerate(spec, 1):
        versions[stream] = versions.get(stream, 0) + 1
        events.append(
            RecordedEvent(
                position,
                str(uuid.uuid4()),
                stream_type,
                stream,
                versions[stream],
                kind,
                1,
                payload,
                payload,
                {"correlation_id": f"corr-{position % 3}"},
                at + dt.timedelta(seconds=position),
                "",
                "",
            )
        )
    return events


def test_every_applications_event_kind_makes_the_same_rows_through_both_sinks(fresh_db):
    from services.applications.projections import READ_MODELS

    final = assert_sinks_agree(fresh_db("sinks"), READ_MODELS, _events())
    assert all(final.values())
    assert any("Decimal('87.46')" in r for r in final["applications_view"])


def _subsidies_events():
    g = lambda i, **kw: {"grant_id": f"g-{i}", "talent_id": f"t-{i}", "measure": "LT-10.1", **kw}
    c = lambda i, **kw: {"claim_id": f"c-{i}", **kw}
    filed = lambda i, amount: c(
        i,
        measure="TM-4",
        party_id=f"p-{i}",
        party_name=ODD,
        kind="enterprise",
        amount_fen=amount,
        filed_on=D,
    )
    spec = [
        (
            "fund",
            "BudgetSet",
            "f1",
            {"fund": "prefecture_finance", "fiscal_year": 2024, "amount_fen": 10_000_000},
        ),
        (
            "grant",
            "SubsidyGrantQueued",
            "g-1",
            g(1, fund="prefecture_finance", fiscal_year=2024, amount_fen=5_000_000),
        ),
        ("grant", "SubsidyGrantQueued", "g-2", g(2, fund="prefecture_finance", fiscal_year=2024)),
        (
            "grant",
            "SubsidyGranted",
            "g-0",
            g(0, fund="prefecture_finance", fiscal_year=2024, amount_fen=5_000_000),
        ),
        (
            "fund",
            "BudgetSet",
            "f1",
            {"fund": "prefecture_finance", "fiscal_year": 2024, "amount_fen": 20_000_000},
        ),
        (
            "grant",
            "SubsidyGranted",
            "g-1",
            g(1, fund="prefecture_finance", fiscal_year=2024, amount_fen=5_000_000),
        ),
        ("grant", "SubsidyGrantDeclined", "g-2", g(2, reason=ODD)),
        ("grant", "SubsidyGranted", "g-3", g(3, amount_fen=1_000)),  # no fund
        (
            "grant",
            "SubsidyPaid",
            "g-0",
            g(0, amount_fen=2_000_000, payment_reference="P0a", paid_on=D),
        ),
        (
            "grant",
            "SubsidyPaid",
            "g-0",
            g(0, amount_fen=3_000_000, payment_reference="P0b", paid_on=D + dt.timedelta(days=1)),
        ),
        ("grant", "SubsidyPaid", "g-9", g(9, amount_fen=1, payment_reference="x", paid_on=D)),
        ("grant", "SubsidyGrantCancelled", "g-4", g(4, ground="LT-14")),
        (
            "grant",
            "SubsidyGrantCancelled",
            "g-1",
            g(
                1,
                ground="LT-14",
                fund="prefecture_finance",
                fiscal_year=2024,
                released_fen=5_000_000,
            ),
        ),
        (
            "grant",
            "SubsidyRecoveryDemanded",
            "g-0",
            g(0, amount_fen=5_000_000, due_on=D, ground="LT-14"),
        ),
        ("grant", "SubsidyRepaymentRecorded", "g-0", g(0, amount_fen=1_000_000)),
        ("grant", "SubsidyRepaymentRecorded", "g-0", g(0, amount_fen=4_000_000)),
        ("grant", "SubsidyRecovered", "g-0", g(0)),
        ("grant", "SubsidyRecovered", "g-8", g(8)),
        ("claim", "MeasureClaimFiled", "c-1", filed(1, 300_000)),
        ("claim", "MeasureClaimRejected", "c-1", c(1, rejected_on=D)),
        ("claim", "MeasureClaimFiled", "c-1", filed(1, 200_000)),
        (
            "claim",
            "MeasureClaimApproved",
            "c-1",
            c(1, fund="employment_fund", fiscal_year=2024, approved_on=D, amount_fen=200_000),
        ),
        (
            "claim",
            "MeasureClaimPaid",
            "c-1",
            c(1, amount_fen=200_000, paid_on=D, payment_reference="PC1"),
        ),
        ("claim", "MeasureClaimFiled", "c-2", filed(2, 100)),
        (
            "claim",
            "MeasureClaimApproved",
            "c-9",
            c(9, fund=None, fiscal_year=2024, approved_on=D, amount_fen=5),
        ),
        ("claim", "MeasureClaimPaid", "c-8", c(8, amount_fen=1, paid_on=D, payment_reference="x")),
    ]
    return _recorded(spec)


def test_every_subsidies_event_kind_makes_the_same_rows_through_both_sinks(fresh_db):
    from services.subsidies.projections import READ_MODELS

    final = assert_sinks_agree(fresh_db("sinks"), READ_MODELS, _subsidies_events())
    assert all(final.values())


def _assessment_events():
    t = lambda i, **kw: {"talent_id": f"t-{i}", **kw}
    opened = lambda i, **kw: t(
        i,
        county="楚雄市",
        track="seller",
        period_start=D,
        period_end=D.replace(year=2027) - dt.timedelta(days=1),
        baseline_year=2023,
        baseline={"sales_fen": 1, "中": ODD},
        **kw,
    )
    comp = [{"figure": "sales_fen", "average_growth": "0.0500"}]
    spec = [
        (
            "AnnualReportFiled",
            "t-9",
            t(
                9,
                tenure_year=1,
                figures={},
                promotion_activities=1,
                backbones_trained=1,
                full_time_in_chuxiong=True,
            ),
        ),
        ("TenureOpened", "t-1", opened(1)),
        (
            "TenureOpened",
            "t-2",
            opened(
                2,
                origin="transfer",
                transferred_on=D.replace(year=2025),
                years=[
                    {
                        "tenure_year": 1,
                        "starts_on": D,
                        "ends_on": D,
                        "report_due_on": D,
                        "assessed": False,
                    }
                ],
            ),
        ),
        (
            "AnnualReportFiled",
            "t-1",
            t(
                1,
                tenure_year=1,
                figures={"sales_fen": 5, "x": ODD},
                promotion_activities=2,
                backbones_trained=6,
                full_time_in_chuxiong=False,
                filed_on=D,
            ),
        ),
        (
            "AnnualReportFiled",
            "t-1",
            t(
                1,
                tenure_year=7,
                figures={},
                promotion_activities=1,
                backbones_trained=1,
                full_time_in_chuxiong=True,
            ),
        ),
        (
            "AssessorFindingsRecorded",
            "t-1",
            t(
                1,
                tenure_year=1,
                ability_clearly_improved=True,
                influence_further_increased=False,
                note=ODD,
                recorded_on=D,
            ),
        ),
        (
            "AssessmentPassed",
            "t-1",
            t(1, tenure_year=1, grade="qualified", computation=comp, basis="figures"),
        ),
        (
            "AssessmentFailed",
            "t-1",
            t(
                1,
                tenure_year=2,
                grade="unqualified",
                computation=comp,
                reasons=["LT-11.1", ODD],
                report_missed=True,
                assessed_on=D,
            ),
        ),
        ("AssessmentFailed", "t-2", t(2, tenure_year=1, grade="unqualified", computation=[])),
        (
            "ObligationBreached",
            "t-1",
            t(
                1,
                breach_id="b1",
                obligation="LT-12.1",
                tenure_year=1,
                detail=ODD,
                rectifiable=True,
                found_on=D,
            ),
        ),
        (
            "ObligationBreached",
            "t-1",
            t(
                1,
                breach_id="b2",
                obligation="LT-12.2",
                tenure_year=1,
                detail="d",
                rectifiable=False,
                found_on=D,
            ),
        ),
        (
            "ObligationBreached",
            "t-1",
            t(
                1,
                breach_id="b3",
                obligation="LT-12.3",
                tenure_year=2,
                detail="d",
                rectifiable=True,
                found_on=D,
            ),
        ),
        ("RectificationOrdered", "t-1", t(1, breach_id="b1", requirement=ODD, deadline=D)),
        ("RectificationConfirmed", "t-1", t(1, breach_id="b1", rectified_on=D)),
        ("RectificationOrdered", "t-1", t(1, breach_id="b3", requirement="r", deadline=D)),
        ("RectificationDeadlineMissed", "t-1", t(1, breach_id="b3")),
        ("RectificationDeadlineMissed", "t-1", t(1, breach_id="nope")),
        (
            "DisqualificationProposed",
            "t-1",
            t(1, ground="LT-14.2", reasons=[ODD], breach_ids=["b1", "b2", "b3"], proposed_on=D),
        ),
        ("DisqualificationDeclined", "t-1", t(1, proposal_id="P1", decided_on=D, reasons=["no"])),
        ("DisqualificationProposed", "t-1", t(1, ground="LT-14.1", reasons=["a"])),
        ("DisqualificationProposed", "t-1", t(1, ground="LT-14.3", reasons=["b"], proposal_id="X")),
        ("TalentDisqualified", "t-1", t(1, decided_on=D, proposal_id="X")),
        ("DisqualificationProposed", "t-2", t(2, ground="LT-14.1", reasons=["c"])),
        (
            "DisqualificationGroundReported",
            "t-2",
            t(
                2,
                kind="violation",
                ground="LT-14.1",
                occurred_on=D,
                description=ODD,
                reference="r",
                reported_on=D,
            ),
        ),
        ("TalentDisqualified", "t-2", t(2, decided_on=D)),
        ("TenureCompleted", "t-2", t(2, completed_on=D)),
        ("TenureCompleted", "t-8", t(8, completed_on=D)),
        (
            "AnnualReportReminded",
            "t-1",
            t(1, tenure_year=3, window_opens_on=D, window_closes_on=D, reminded_on=D),
        ),
        (
            "AnnualReportMissed",
            "t-1",
            t(
                1,
                tenure_year=3,
                breach_id="report-y3",
                window_opens_on=D,
                window_closed_on=D,
                detail=ODD,
                missed_on=D,
            ),
        ),
        ("RectificationOrdered", "t-1", t(1, breach_id="report-y3", requirement="r", deadline=D)),
    ]
    events = _recorded([("tenure",) + item for item in spec])
    # one assessment recorded late in the evening UTC: the next day in China
    late = events[6]
    late.recorded_at = dt.datetime(2024, 6, 30, 17, 30, tzinfo=UTC)
    return events


def test_every_assessment_event_kind_makes_the_same_rows_through_both_sinks(fresh_db):
    from services.assessment.projections import READ_MODELS

    final = assert_sinks_agree(fresh_db("sinks"), READ_MODELS, _assessment_events())
    assert all(final.values())
    assert any("datetime.date(2024, 7, 1)" in r for r in final["tenure_year_view"])


def _notifications_events():
    note = lambda n, channel, **kw: {
        "notification_id": n,
        "recipient": f"talent:{n}",
        "channel": channel,
        "subject": ODD,
        "body": "正文",
        "source_service": "applications",
        "source_event_type": "ReviewPassed",
        "source_event_id": str(uuid.uuid4()),
        **kw,
    }
    cand = lambda a, **kw: {"application_id": a, **kw}
    spec = [
        ("notification", "NotificationRecorded", "n1", note("n1", "inbox")),
        ("notification", "NotificationRecorded", "n2", note("n2", "email", content="<p>")),
        ("notification", "NotificationRecorded", "n3", note("n3", "webhook")),
        (
            "notification",
            "DeliveryAttempted",
            "n2",
            {"notification_id": "n2", "attempt": 1, "target": "a@b.cn"},
        ),
        (
            "notification",
            "DeliveryFailed",
            "n2",
            {
                "notification_id": "n2",
                "attempt": 1,
                "error": ODD,
                "retry_at": dt.datetime(2024, 6, 3, 5, tzinfo=UTC),
            },
        ),
        (
            "notification",
            "DeliveryAttempted",
            "n2",
            {"notification_id": "n2", "attempt": 2, "target": "a@b.cn"},
        ),
        ("notification", "Delivered", "n2", {"notification_id": "n2"}),
        (
            "notification",
            "DeliveryFailed",
            "n3",
            {"notification_id": "n3", "attempt": 1, "error": "500"},
        ),
        ("notification", "DeliveryDeadLettered", "n3", {"notification_id": "n3"}),
        ("notification", "DeliveryRedriven", "n3", {"notification_id": "n3"}),
        ("notification", "Delivered", "n1", {"notification_id": "n1"}),
        (
            "subscriber",
            "SubscriberRegistered",
            "s1",
            {
                "subscriber_id": "s1",
                "name": ODD,
                "url": "https://x",
                "secret_version": 1,
                "event_types": ["TalentCertified", 'we"ird\\ type', "a,b {c}"],
            },
        ),
        (
            "subscriber",
            "SubscriberChanged",
            "s1",
            {"subscriber_id": "s1", "name": "n", "url": "https://y", "event_types": []},
        ),
        (
            "subscriber",
            "SubscriberRegistered",
            "s2",
            {
                "subscriber_id": "s2",
                "name": "two",
                "url": "https://z",
                "secret_version": 1,
                "event_types": ["SubsidyPaid"],
            },
        ),
        (
            "subscriber",
            "SubscriberSecretRotated",
            "s2",
            {"subscriber_id": "s2", "secret_version": 2},
        ),
        ("subscriber", "SubscriberDeactivated", "s2", {"subscriber_id": "s2"}),
        ("subscriber", "SubscriberDeactivated", "s9", {"subscriber_id": "s9"}),
        ("contact", "ContactEmailSet", "c1", {"recipient": "talent:1", "email": "a@b.cn"}),
        ("contact", "ContactEmailSet", "c1", {"recipient": "talent:1", "email": "c@d.cn"}),
        ("contact", "ContactEmailSet", "c2", {"recipient": "talent:2", "email": "e@f.cn"}),
        ("contact", "ContactEmailRemoved", "c2", {"recipient": "talent:2"}),
        (
            "register",
            "CandidateNoted",
            "a1",
            cand(
                "a1",
                applicant="ap1",
                applicant_name=ODD,
                county="楚雄市",
                category="LT-6.3",
                round_year=2024,
            ),
        ),
        (
            "register",
            "CandidateNoted",
            "a2",
            cand(
                "a2",
                applicant="ap2",
                applicant_name="二",
                county="禄丰市",
                category="LT-6.1",
                round_year=2024,
            ),
        ),
        (
            "register",
            "CandidateNoted",
            "a3",
            cand(
                "a3",
                applicant="ap3",
                applicant_name="三",
                county="禄丰市",
                category="LT-6.1",
                round_year=2024,
            ),
        ),
        ("register", "ObjectionNoted", "a2", cand("a2", objection_id="o1")),
        ("register", "NoticePublished", "a1", cand("a1", start_date=D, end_date=D, working_days=5)),
        ("register", "NoticePublished", "a2", cand("a2", start_date=D, end_date=D, working_days=5)),
        ("register", "ObjectionNoted", "a1", cand("a1", objection_id="o2")),
        ("register", "ObjectionNoted", "a1", cand("a1", objection_id="o3")),
        ("register", "ObjectionNoted", "a1", cand("a1", objection_id="o2")),
        ("register", "ObjectionCleared", "a1", cand("a1", objection_id="o2")),
        ("register", "ObjectionCleared", "a1", cand("a1", objection_id="o3")),
        ("register", "ObjectionCleared", "a2", cand("a2", objection_id="o1")),
        ("register", "CandidateCertified", "a1", cand("a1", talent_id="t1", certified_on=D)),
        ("register", "CandidateRejected", "a2", cand("a2")),
        ("register", "CandidateWithdrawn", "a3", cand("a3")),
        ("register", "ObjectionNoted", "a9", cand("a9", objection_id="o9")),
        (
            "register",
            "AssessmentResultAnnounced",
            "t1",
            {"talent_id": "t1", "tenure_year": 1, "result": "qualified", "assessed_on": D},
        ),
        (
            "register",
            "AssessmentResultAnnounced",
            "t7",
            {"talent_id": "t7", "tenure_year": 1, "result": "qualified", "assessed_on": D},
        ),
    ]
    return _recorded(spec)


def test_every_notifications_event_kind_makes_the_same_rows_through_both_sinks(fresh_db):
    from services.notifications.projections import READ_MODELS

    final = assert_sinks_agree(fresh_db("sinks"), READ_MODELS, _notifications_events())
    assert all(final.values())


def _columns(cur, table):
    """``table``'s columns: name -> (type, whether its DEFAULT is other than NULL)."""
    cur.execute(
        "SELECT column_name, data_type, coalesce(column_default, 'NULL') <> 'NULL'"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %s",
        (table,),
    )
    return {name: (kind, has_default) for name, kind, has_default in cur.fetchall()}


@pytest.mark.parametrize(
    "service", ["applications", "subsidies", "assessment", "notifications", None]
)
def test_the_tables_a_read_model_declares_are_those_its_migrations_make(fresh_db, service):
    """Columns, primary key, the columns with a DEFAULT and the text[] ones (the memory sink
    fills and writes rows by the declaration, the SQL sink names columns from it)."""
    if service is None:
        models = [library.Library()]
    else:
        models = importlib.import_module(f"services.{service}.projections").READ_MODELS
    assert all(isinstance(m, ReadModel) for m in models)
    with psycopg2.connect(fresh_db("tables")) as conn, conn.cursor() as cur:
        for m in models:
            for _name, sql in m.migrations:
                cur.execute(sql)
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        assert {t for (t,) in cur.fetchall()} == {t.name for m in models for t in m.tables}
        for table in (t for m in models for t in m.tables):
            columns = _columns(cur, table.name)
            assert set(columns) == set(table.columns), table.name
            assert {c for c, (_, has) in columns.items() if has} == set(table.defaults)
            assert {c for c, (kind, _) in columns.items() if kind == "ARRAY"} == set(table.arrays)
            cur.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " WHERE i.indrelid = %s::regclass AND i.indisprimary",
                (table.name,),
            )
            assert {c for (c,) in cur.fetchall()} == set(table.key), table.name


# -- through the store and the command, as of a position and a date ----------------------------
def _person(i, *, certified):
    app = f"app-{i}"
    events = [
        NewEvent(
            "ApplicationSubmitted",
            {
                "application_id": app,
                "round_year": 2024,
                "county": "楚雄市",
                "applicant_name": f"申报人{i}",
                "enterprise_name": f"企业{i}",
                "category": "LT-6.3",
                "evidence": {"sales_fen": 400_000_000},
                "submitted_on": D,
            },
            ("LT-9.1",),
        )
    ]
    events += [
        NewEvent(
            "ReviewPassed",
            {
                "application_id": app,
                "stage": s,
                "opinion": "同意",
                **({"expert_score": "88.50"} if s == "expert_review" else {}),
            },
            ("LT-9",),
        )
        for s in ("county_recommendation", "qualification_review", "expert_review")
    ]
    if certified:
        events += [
            NewEvent(
                "ReviewPassed", {"application_id": app, "stage": s, "opinion": "同意"}, ("LT-9",)
            )
            for s in ("inspection", "approval")
        ]
        events += [
            NewEvent(
                "PublicNoticeStarted",
                {"application_id": app, "start_date": D, "end_date": D, "working_days": 5},
                ("LT-9.5",),
            ),
            NewEvent(
                "TalentCertified",
                {
                    "talent_id": f"talent-{i}",
                    "application_id": app,
                    "applicant_name": f"申报人{i}",
                    "county": "楚雄市",
                    "category": "LT-6.3",
                    "track": "seller",
                    "baseline_year": 2023,
                    "baseline": {"sales_fen": 400_000_000},
                    "period_start": D,
                    "period_end": D,
                },
                ("LT-10",),
            ),
        ]
    return app, events


def test_replay_as_of_a_position_and_a_date_equals_the_live_read_models(fresh_db):
    store_dsn, audit_dsn = fresh_db("replay_store"), fresh_db("replay_audit")
    store = EventStore(
        Database(store_dsn), "applications", projectors=audit.READ_MODELS["applications"]
    )
    store.migrate()
    cli = ["--dsn", f"applications={store_dsn}", "--audit-dsn", audit_dsn, "--json", "--keep"]

    def replay(as_of):
        out = io.StringIO()
        assert audit.main(["replay", "applications", "--as-of", as_of, *cli], out=out) == 0
        summary = json.loads(out.getvalue())
        with psycopg2.connect(audit_dsn) as conn, conn.cursor() as cur:
            return summary, dump(cur, summary["schema"])

    def live():
        with psycopg2.connect(store_dsn) as conn, conn.cursor() as cur:
            models = dump(cur, "public")
        return {t: rows for t, rows in models.items() if t in APPLICATIONS_TABLES}

    try:
        june = dt.datetime(2024, 6, 30, 15, 0, tzinfo=UTC)  # 23:00 on 30 June in China
        for i in range(12):  # before the date: half certified, half still in review
            app, events = _person(i, certified=i % 2 == 0)
            store.append("application", app, 0, events, META, now=june)
        in_june, head_june = live(), store.head()
        july = dt.datetime(2024, 7, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 July in China
        for i in range(1, 12, 2):  # after it: the others certified too
            app, _ = _person(i, certified=False)
            _, events = _person(i, certified=True)
            store.append("application", app, 4, events[4:], META, now=july)
        for i in range(12, 15):
            app, events = _person(i, certified=True)
            store.append("application", app, 0, events, META, now=july)
        now = live()
        assert now != in_june

        summary, state = replay(str(head_june))
        assert summary["events"] == head_june and state == in_june
        summary, state = replay("2024-06-30")
        assert summary["events"] == head_june and state == in_june
        certified = [r for r in state["applications_view"] if "'certified'" in r]
        assert len(certified) == 6
        summary, state = replay("2024-07-01")
        assert summary["events"] == store.head() and state == now
        assert set(state) == APPLICATIONS_TABLES
        assert any("Decimal('88.50')" in r for r in state["applications_view"])
    finally:
        store.db.close()


def _catalog(cur, schema, tables):
    """The indexes and constraints of ``tables`` in ``schema`` (definitions, schema left out)."""
    cur.execute(
        "SELECT t.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
        " WHERE t.relnamespace = %s::regnamespace AND t.relname = ANY(%s)",
        (schema, list(tables)),
    )
    indexes = {(t, i, d.replace(f"{schema}.", "")) for t, i, d in cur.fetchall()}
    cur.execute(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
        " JOIN pg_class t ON t.oid = c.conrelid"
        " WHERE t.relnamespace = %s::regnamespace AND t.relname = ANY(%s)",
        (schema, list(tables)),
    )
    return indexes, set(cur.fetchall())


def test_notifications_replay_through_the_command_equals_the_live_read_models(fresh_db):
    """Many rows (the COPY goes in pieces, the indexes are made after it) with a tab, a newline
    and a backslash among them: the same rows, and the same indexes and constraints."""
    store_dsn, audit_dsn = fresh_db("replay_store"), fresh_db("replay_audit")
    store = EventStore(
        Database(store_dsn), "notifications", projectors=audit.READ_MODELS["notifications"]
    )
    store.migrate()
    note = lambda i, channel: NewEvent(
        "NotificationRecorded",
        {  # noqa: E731
            "notification_id": f"n-{i}-{channel}",
            "recipient": f"talent:{i % 7}",
            "channel": channel,
            "subject": ODD if i % 997 == 0 else "通知",
            "body": "正文",
            "source_service": "applications",
            "source_event_type": "ReviewPassed",
            "source_event_id": str(uuid.uuid4()),
            **({"content": '{"a": 1}'} if channel == "webhook" else {}),
        },
    )
    try:
        for start in range(0, 12_000, 1_000):
            store.append(
                "notification",
                f"s-{start}",
                0,
                [note(i, "inbox") for i in range(start, start + 1_000)],
                META,
            )
        store.append("notification", "mail", 0, [note(1, "email"), note(2, "webhook")], META)
        store.append(
            "notification",
            "n-1-email",
            0,
            [
                NewEvent(
                    "DeliveryAttempted",
                    {
                        "notification_id": "n-1-email",
                        "channel": "email",
                        "attempt": 1,
                        "target": "a@b.cn",
                    },
                )
            ],
            META,
        )
        store.append(
            "contact",
            "c1",
            0,
            [NewEvent("ContactEmailSet", {"recipient": "talent:1", "email": "a@b.cn"})],
            META,
        )
        out = io.StringIO()
        assert (
            audit.main(
                [
                    "replay",
                    "notifications",
                    "--as-of",
                    str(store.head()),
                    "--json",
                    "--keep",
                    "--dsn",
                    f"notifications={store_dsn}",
                    "--audit-dsn",
                    audit_dsn,
                ],
                out=out,
            )
            == 0
        )
        schema = json.loads(out.getvalue())["schema"]
        with psycopg2.connect(audit_dsn) as conn, conn.cursor() as cur:
            replayed = dump(cur, schema)
            tables = sorted(replayed)
            replayed_catalog = _catalog(cur, schema, tables)
        with psycopg2.connect(store_dsn) as conn, conn.cursor() as cur:
            live = dump(cur, "public")
            live_catalog = _catalog(cur, "public", tables)
        assert len(tables) == 6 and len(replayed["inbox_messages"]) == 12_000
        assert {t: live[t] for t in tables} == replayed
        assert live_catalog == replayed_catalog
        assert len(live_catalog[0]) == 15 and len(live_catalog[1]) == 7
    finally:
        store.db.close()
