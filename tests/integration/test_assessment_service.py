"""The assessment service as two real ``nameko run`` replicas on one database (pinned to
2027-12-01 by the test configuration), fed TalentCertified through the applications store's relay:
the deadline timer in both replicas fires each deadline once (a report missing at its window's
close, a missed rectification deadline); bad input gets a 4xx naming the field or clause and
writes nothing; the read models serve a tenure and the yearly results; read
models a migration left empty are rebuilt from the events at start."""

import datetime as dt
import threading
import uuid

import pytest
import requests

from shared.auth import mint
from shared.db import Database
from shared.decider import NewEvent
from shared.messaging.relay import Relay
from shared.store import EventStore, Metadata
from tests.support.assessment_pinned import start_assessment_on
from tests.support.faults import log_lines
from tests.support.system import running_system
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
D = dt.date
TODAY = D(2027, 12, 1)
SECRET = "dev-only-secret-change-me-in-production!"
RUN = uuid.uuid4().hex[:6]
LATE, OPEN, OTHER = f"it-late-{RUN}", f"it-open-{RUN}", f"it-other-{RUN}"
TRANSFER = f"it-yixiang-{RUN}"


def certified(talent_id, county, start, **extra):
    end = start.replace(year=start.year + 3) - dt.timedelta(days=1)
    return NewEvent(
        "TalentCertified",
        {
            "talent_id": talent_id,
            "application_id": f"app-{talent_id}",
            "applicant_name": "测试",
            "county": county,
            "category": "LT-6.3",
            "track": "seller",
            "baseline_year": 2025,
            "baseline": {"sales_fen": 300_000_000},
            "period_start": start,
            "period_end": end,
            **extra,
        },
        ("LT-9.5", "LT-10"),
    )


@pytest.fixture(scope="module")
def system():
    gen = running_system(services=())
    sysm = next(gen)
    apps = EventStore(Database(sysm.dsn("applications")), "applications")
    relay = Relay(sysm.dsn("applications"), sysm.amqp_uri, "applications")
    try:
        for name in ("assessment", "assessment-2"):
            start_assessment_on(sysm, TODAY, name=name, timer_seconds=0.3)
        apps.migrate()
        threading.Thread(target=relay.run, daemon=True).start()
        meta = Metadata("integration-test", "system", f"it-{RUN}")
        for talent, county, start in (
            (LATE, "楚雄市", D(2026, 9, 1)),  # year 1's window closed on 2027-11-01
            (OPEN, "楚雄市", D(2026, 10, 20)),  # year 1's window: 2027-10-20 to 2027-12-18
            (OTHER, "禄丰市", D(2026, 10, 20)),
        ):
            apps.append("application", f"app-{talent}", 0, [certified(talent, county, start)], meta)
        # a Yixiang talent transferred (LT-16), recorded on 2022-09-05 (a backdated test record)
        apps.append(
            "yixiang_person",
            f"yixiang-{TRANSFER}",
            0,
            [certified(TRANSFER, "楚雄市", D(2021, 6, 1), origin="yixiang_transfer")],
            meta,
            now=dt.datetime(2022, 9, 5, 2, 0, tzinfo=dt.UTC),
        )
        sysm.store = EventStore(Database(sysm.dsn("assessment")), "assessment")
        wait_for(
            lambda: all(stream(sysm, t) for t in (LATE, OPEN, OTHER, TRANSFER)), "tenures opened"
        )
        yield sysm
        sysm.store.db.close()
    finally:
        relay.stop()
        apps.db.close()
        gen.close()


def stream(system, talent):
    return [e.event_type for e in system.store.read_stream(f"tenure-{talent}")]


def call(system, method, path, role, actor=None, county=None, json=None, replica="assessment"):
    token = mint(SECRET, actor or f"{role}-1", role, county)
    return requests.request(
        method,
        system.urls[replica] + path,
        json=json,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )


def sweeps(system, replica):
    """Timer ticks a replica logged: sweeps it ran and sweeps it skipped (another held the lock)."""
    return sum(
        len(log_lines(system.logs[replica].name, event))
        for event in ("deadline_sweep", "deadline_sweep_skipped")
    )


REPORT = {
    "tenure_year": 1,
    "figures": {"sales_fen": 360_000_000},
    "promotion_activities": 2,
    "backbones_trained": 6,
    "full_time_in_chuxiong": True,
}


def test_two_replicas_record_a_missing_report_once_and_no_failure(system):
    wait_for(lambda: "AnnualReportMissed" in stream(system, LATE), "the missing report")
    seen = {r: sweeps(system, r) for r in ("assessment", "assessment-2")}
    wait_for(
        lambda: all(sweeps(system, r) >= n + 5 for r, n in seen.items()),
        "five more sweeps in each replica",
    )
    assert stream(system, LATE) == ["TenureOpened", "AnnualReportMissed"]
    missed = system.store.read_stream(f"tenure-{LATE}")[1]
    assert (missed.payload["window_closed_on"], missed.payload["missed_on"]) == (
        D(2027, 11, 1),  # Saturday 2027-10-30 moved to Monday
        D(2027, 11, 2),
    )
    assert missed.metadata["actor_id"] == "service:assessment"
    assert stream(system, OPEN) == stream(system, OTHER) == ["TenureOpened"]


FIGURE_RANGE = "Must be greater than or equal to 0 and less than or equal to 1000000000000000."
COUNT_RANGE = "Must be greater than or equal to 0 and less than or equal to 100000."
WINDOW_2 = (
    "2028-10-20 to 2028-12-18 (a last day that is not a working day moves to the next working day)"
)


@pytest.mark.parametrize(
    "body, role, kw, status, expected",
    [
        (
            {**REPORT, "tenure_year": 4},
            "talent",
            {"actor": OPEN},
            422,
            {"clause": "LT-10", "fields": {"tenure_year": ["Must be one of 1, 2, 3."]}},
        ),
        (
            {**REPORT, "tenure_year": 2},
            "talent",
            {"actor": OPEN},
            422,
            {
                "clause": "LT-11.1",
                "fields": {"reported_on": [f"Before the report window of year 2: {WINDOW_2}."]},
            },
        ),
        (
            {**REPORT, "reported_on": "2027-10-19"},  # year 1's last day
            "talent",
            {"actor": OPEN},
            422,
            {"clause": "LT-11.1"},
        ),
        (
            {**REPORT, "reported_on": "2027-12-02"},
            "talent",
            {"actor": OPEN},
            422,
            {
                "clause": "LT-11.1",
                "fields": {"reported_on": ["Must not be after today (2027-12-01)."]},
            },
        ),
        (
            {**REPORT, "reported_on": "9999-12-31"},
            "county_officer",
            {"county": "楚雄市"},
            422,
            {
                "clause": "LT-11.1",
                "fields": {"reported_on": ["Must not be after today (2027-12-01)."]},
            },
        ),
        (
            {**REPORT, "reported_on": "2022-08-31"},
            "talent",
            {"actor": OPEN},
            422,
            {
                "clause": "LT-16",
                "fields": {
                    "reported_on": ["Must not be before 2022-09-01, when the rules took effect."]
                },
            },
        ),
        (
            {**REPORT, "reported_on": "2027-13-01"},
            "talent",
            {"actor": OPEN},
            400,
            {"fields": {"reported_on": ["Not a valid date."]}},
        ),
        (
            {**REPORT, "figures": {"sales_fen": -1}},
            "talent",
            {"actor": OPEN},
            400,
            {"fields": {"figures": {"sales_fen": {"value": [FIGURE_RANGE]}}}},
        ),
        (
            {**REPORT, "backbones_trained": -3},
            "county_officer",
            {"county": "楚雄市"},
            400,
            {"fields": {"backbones_trained": [COUNT_RANGE]}},
        ),
        (
            {**REPORT, "figures": {"sales_fen": 10**15 + 1}},
            "talent",
            {"actor": OPEN},
            400,
            {"fields": {"figures": {"sales_fen": {"value": [FIGURE_RANGE]}}}},
        ),
        (
            {**REPORT, "promotion_activities": 100_001},
            "talent",
            {"actor": OPEN},
            400,
            {"fields": {"promotion_activities": [COUNT_RANGE]}},
        ),
        (
            {**REPORT, "figures": {}},
            "talent",
            {"actor": OPEN},
            422,
            {"clause": "LT-11.1", "fields": {"figures.sales_fen": ["Required."]}},
        ),
        (
            {**REPORT, "full_time_in_chuxiong": "yes"},
            "talent",
            {"actor": OPEN},
            400,
            {"fields": {"full_time_in_chuxiong": ["Not a valid boolean."]}},
        ),
        (REPORT, "finance", {}, 403, {"code": "forbidden"}),
        (REPORT, "talent", {"actor": OTHER}, 403, {"code": "forbidden"}),
        (REPORT, "county_officer", {"county": "禄丰市"}, 403, {"code": "forbidden"}),
    ],
)
def test_bad_reports_are_refused_naming_field_or_clause_and_write_nothing(
    system, body, role, kw, status, expected
):
    before = system.store.read_stream(f"tenure-{OPEN}")
    r = call(system, "POST", f"/tenures/{OPEN}/reports", role, json=body, **kw)
    assert r.status_code == status, r.text
    assert {k: r.json().get(k) for k in expected} == expected
    assert [e.event_id for e in system.store.read_stream(f"tenure-{OPEN}")] == [
        e.event_id for e in before
    ]


def test_a_report_is_graded_and_a_second_one_for_the_year_refused(system):
    r = call(system, "POST", f"/tenures/{OPEN}/reports", "talent", actor=OPEN, json=REPORT)
    assert r.status_code == 200, r.text
    assert [e["type"] for e in r.json()["events"]] == ["AnnualReportFiled", "AssessmentPassed"]
    assert r.json()["events"][1]["payload"]["grade"] == "qualified"  # 20% is not above 30%
    again = call(
        system,
        "POST",
        f"/tenures/{OPEN}/reports",
        "county_officer",
        county="楚雄市",
        json={**REPORT, "figures": {"sales_fen": 999_000_000}},
    )
    assert again.status_code == 422
    assert again.json()["clause"] == "LT-11.1"
    assert again.json()["fields"] == {"tenure_year": ["Already reported."]}
    assert stream(system, OPEN) == ["TenureOpened", "AnnualReportFiled", "AssessmentPassed"]

    tenure = call(system, "GET", f"/tenures/{OPEN}", "talent", actor=OPEN).json()
    year1 = tenure["years"][0]
    assert (tenure["status"], tenure["version"], tenure["origin"]) == ("open", 3, "selection")
    assert (tenure["certified_on"], tenure["period_start"]) == ("2026-10-20", "2026-10-20")
    assert (
        year1["starts_on"],
        year1["window_opens_on"],
        year1["report_due_on"],
        year1["result"],
    ) == ("2026-10-20", "2027-10-20", "2027-12-18", "qualified")
    assert (year1["reported_on"], year1["assessed_on"]) == ("2027-12-01", "2027-12-01")
    assert year1["report_recorded_at"] and year1["assessed_recorded_at"]  # both times shown
    assert year1["figures"] == {"sales_fen": 360_000_000}
    assert year1["computation"][0]["average_growth"] == "0.2000"
    assert [y["result"] for y in tenure["years"]] == ["qualified", None, None]
    assert call(system, "GET", f"/tenures/{OPEN}", "talent", actor=OTHER).status_code == 403


def test_results_for_the_announcement(system):
    wait_for(lambda: "AssessmentPassed" in stream(system, OPEN), "the graded report")
    r = call(system, "GET", "/results?year=2027", "prefecture_officer")
    assert r.status_code == 200, r.text
    assert [(x["talent_id"], x["tenure_year"], x["result"]) for x in r.json()["results"]] == [
        (OPEN, 1, "qualified")
    ]
    everything = call(system, "GET", "/results", "auditor").json()
    assert {
        (x["year"], x["talent_id"], x["result"], x["report_missed"]) for x in everything["results"]
    } >= {(2027, OPEN, "qualified", False)}
    assert LATE not in {x["talent_id"] for x in everything["results"]}  # missing: no grade
    county = call(system, "GET", "/results", "county_officer", county="禄丰市").json()
    assert county["results"] == [] and county["county"] == "禄丰市"
    assert (
        call(system, "GET", "/results?county=楚雄市", "county_officer", county="禄丰市").status_code
        == 403
    )
    assert call(system, "GET", "/results", "talent", actor=OPEN).status_code == 403
    assert call(system, "GET", "/results?year=abc", "auditor").json()["fields"] == {
        "year": ["Not a valid integer."]
    }


def test_a_missed_rectification_deadline_is_proposed_and_the_leading_group_declines(system):
    wait_for(lambda: "AnnualReportMissed" in stream(system, LATE), "the missing report")
    path = f"/tenures/{LATE}/breaches/report-y1/rectification"
    order = {"requirement": "补报第1年度报告", "deadline": "2027-11-20", "ordered_on": "2027-11-01"}
    early = call(system, "POST", path, "county_officer", county="楚雄市", json=order)
    assert (early.status_code, early.json()["fields"]) == (
        422,
        {"ordered_on": ["Must not be before the tenure's previous act (2027-11-02)."]},
    )
    # recorded today, ordered on 2027-11-10 (the act's own date), due Saturday 2027-11-20
    r = call(
        system,
        "POST",
        path,
        "county_officer",
        county="楚雄市",
        json={**order, "ordered_on": "2027-11-10"},
    )
    assert r.status_code == 200, r.text
    wait_for(lambda: "DisqualificationProposed" in stream(system, LATE), "the proposal")
    events = system.store.read_stream(f"tenure-{LATE}")
    assert [e.event_type for e in events] == [
        "TenureOpened",
        "AnnualReportMissed",
        "RectificationOrdered",
        "RectificationDeadlineMissed",
        "DisqualificationProposed",
    ]
    assert (events[3].payload["deadline"], events[4].payload["proposed_on"]) == (
        D(2027, 11, 22),
        D(2027, 11, 23),
    )
    assert events[4].payload["ground"] == "LT-14.1"
    refused = call(
        system,
        "POST",
        f"/tenures/{LATE}/disqualification/decline",
        "leading_group",
        json={"decided_on": "2027-12-02", "reasons": ["保留"]},
    )
    assert refused.status_code == 422 and refused.json()["fields"] == {
        "decided_on": ["Must not be after today (2027-12-01)."]
    }
    assert (
        call(
            system,
            "POST",
            f"/tenures/{LATE}/disqualification/decline",
            "prefecture_officer",
            json={"decided_on": "2027-12-01", "reasons": ["保留"]},
        ).status_code
        == 403
    )
    r = call(
        system,
        "POST",
        f"/tenures/{LATE}/disqualification/decline",
        "leading_group",
        json={"decided_on": "2027-12-01", "reasons": ["首年经营受疫情影响，予以保留"]},
    )
    assert r.status_code == 200, r.text
    tenure = call(system, "GET", f"/tenures/{LATE}", "leading_group").json()
    assert [(p["proposal_id"], p["status"], p["ground"]) for p in tenure["proposals"]] == [
        ("P1", "declined", "LT-14.1")
    ]
    assert [
        (b["breach_id"], b["obligation"], b["status"], b["ordered_on"]) for b in tenure["breaches"]
    ] == [("report-y1", "LT-11.1", "missed", "2027-11-10")]
    assert tenure["years"][0]["missed_on"] == "2027-11-02" and tenure["years"][0]["result"] is None
    ran = wait_for(
        lambda: (lambda j: j if j["ran"] else None)(
            call(
                system, "POST", "/deadlines/run", "prefecture_officer", replica="assessment-2"
            ).json()
        ),
        "a sweep of our own",
    )
    assert ran["fired"] == {} and ran["today"] == "2027-12-01"
    assert stream(system, LATE)[-1] == "DisqualificationDeclined"


def test_read_models_left_empty_are_rebuilt_from_the_events_at_start(system):
    wait_for(lambda: "DisqualificationDeclined" in stream(system, LATE), "the decline")
    before = {
        t: call(system, "GET", f"/tenures/{t}", "auditor").json() for t in (LATE, OPEN, OTHER)
    }
    with system.store.db.transaction() as cur:
        cur.execute(
            "DELETE FROM tenure_view; DELETE FROM tenure_year_view;"
            " DELETE FROM tenure_breach_view; DELETE FROM tenure_proposal_view"
        )
    assert call(system, "GET", f"/tenures/{OPEN}", "auditor").status_code == 404
    start_assessment_on(system, TODAY, name="assessment", timer_seconds=0.3)
    after = {t: call(system, "GET", f"/tenures/{t}", "auditor").json() for t in (LATE, OPEN, OTHER)}
    assert after == before


def test_breach_rectification_grounds_and_decisions_over_http(system):
    county = {"county": "禄丰市"}
    r = call(
        system,
        "POST",
        f"/tenures/{OTHER}/reports",
        "county_officer",
        json={**REPORT, "promotion_activities": 0},
        **county,
    )
    assert [e["type"] for e in r.json()["events"]] == [
        "AnnualReportFiled",
        "AssessmentPassed",
        "ObligationBreached",
    ]
    path = f"/tenures/{OTHER}/breaches/LT-12.1-y1"
    order = {"deadline": "2027-12-01", "requirement": "年内组织一次电商推广活动"}
    assert (
        call(
            system, "POST", path + "/rectification", "county_officer", county="楚雄市", json=order
        ).status_code
        == 403
    )
    assert (
        call(system, "POST", path + "/rectification", "talent", actor=OTHER, json=order).status_code
        == 403
    )
    late = call(
        system,
        "POST",
        path + "/rectification",
        "county_officer",
        json={**order, "deadline": "2027-11-30"},
        **county,
    )
    assert (late.status_code, late.json()["fields"]) == (
        422,
        {"deadline": ["Must not be before the order (2027-12-01)."]},
    )
    r = call(system, "POST", path + "/rectification", "county_officer", json=order, **county)
    assert [(e["type"], e["clauses"]) for e in r.json()["events"]] == [
        ("RectificationOrdered", ["LT-13", "LT-12.1"])
    ]
    r = call(
        system,
        "POST",
        path + "/rectified",
        "county_officer",
        json={"rectified_on": "2027-12-01", "note": "已举办直播推介会"},
        **county,
    )
    assert r.status_code == 200, r.text
    unknown = call(
        system,
        "POST",
        f"/tenures/{OTHER}/breaches/LT-12.9-y1/rectified",
        "county_officer",
        json={"rectified_on": "2027-12-01"},
        **county,
    )
    assert (unknown.status_code, unknown.json()["clause"]) == (422, "LT-13")

    seller = call(
        system,
        "POST",
        f"/tenures/{OTHER}/findings",
        "county_officer",
        json={
            "tenure_year": 1,
            "application_and_innovation": True,
            "other_work": "无",
            "ability_clearly_improved": True,
            "influence_further_increased": True,
        },
        **county,
    )
    assert (seller.status_code, seller.json()["clause"]) == (422, "LT-11.1")
    found = call(
        system,
        "POST",
        f"/tenures/{OTHER}/findings",
        "county_officer",
        json={"tenure_year": 1, "application_and_innovation": True, "other_work": "带货培训3场"},
        **county,
    )
    assert [(e["type"], e["clauses"]) for e in found.json()["events"]] == [
        ("AssessorFindingsRecorded", ["LT-12.3", "LT-12.5", "LT-13"])
    ]

    ground = {
        "kind": "credit_fraud",
        "occurred_on": "2027-11-01",
        "description": "虚报销售额被纳入诚信记录",
        "reference": "信用楚雄-2027-001",
    }
    assert (
        call(
            system, "POST", f"/tenures/{OTHER}/grounds", "county_officer", json=ground, **county
        ).status_code
        == 403
    )
    assert (
        call(
            system, "POST", f"/tenures/{OTHER}/grounds", "prefecture_officer", json=ground
        ).status_code
        == 200
    )
    r = call(
        system,
        "POST",
        f"/tenures/{OTHER}/grounds",
        "county_officer",
        json={"kind": "departure", "occurred_on": "2027-11-30", "description": "迁往外省全职工作"},
        **county,
    )
    assert [e["payload"].get("proposal_id") for e in r.json()["events"]] == [None, "P2"]
    both = call(
        system,
        "POST",
        f"/tenures/{OTHER}/disqualification",
        "leading_group",
        json={"decided_on": "2027-12-01"},
    )
    assert (both.status_code, both.json()["fields"]) == (
        422,
        {"proposal_id": ["Required; pending: P1, P2."]},
    )
    r = call(
        system,
        "POST",
        f"/tenures/{OTHER}/disqualification",
        "leading_group",
        json={"decided_on": "2027-12-01", "proposal_id": "P1"},
    )
    assert [(e["type"], e["payload"]["ground"]) for e in r.json()["events"]] == [
        ("TalentDisqualified", "LT-14.3")
    ]
    tenure = call(system, "GET", f"/tenures/{OTHER}", "auditor").json()
    assert tenure["status"] == "disqualified"
    assert [
        (b["breach_id"], b["status"], b["deadline"], b["rectified_on"]) for b in tenure["breaches"]
    ] == [("LT-12.1-y1", "rectified", "2027-12-01", "2027-12-01")]
    assert [(p["proposal_id"], p["ground"], p["status"]) for p in tenure["proposals"]] == [
        ("P1", "LT-14.3", "approved"),
        ("P2", "LT-14.4", "superseded"),
    ]


def test_a_transferred_yixiang_talent_is_assessed_on_its_years_ending_after_2022_09_01(system):
    opened = system.store.read_stream(f"tenure-{TRANSFER}")[0]
    assert opened.clauses == ["LT-16", "LT-10", "LT-11"]
    p = opened.payload
    assert (
        p["origin"],
        p["transferred_on"],
        p["transfer_recorded_on"],
        p["period_start"],
        p["period_end"],
    ) == ("yixiang_transfer", D(2022, 9, 1), D(2022, 9, 5), D(2021, 6, 1), D(2024, 5, 31))
    assert [(y["tenure_year"], y["assessed"]) for y in p["years"]] == [
        (1, False),
        (2, True),
        (3, True),
    ]
    tenure = call(system, "GET", f"/tenures/{TRANSFER}", "auditor").json()
    assert (tenure["origin"], tenure["transferred_on"], tenure["transfer_recorded_on"]) == (
        "yixiang_transfer",
        "2022-09-01",
        "2022-09-05",
    )
    assert [y["assessed"] for y in tenure["years"]] == [False, True, True]
    # windows closed long before the pinned day: missing reports for the county, no failures
    wait_for(lambda: stream(system, TRANSFER).count("AnnualReportMissed") == 2, "both years")
    assert stream(system, TRANSFER) == ["TenureOpened", "AnnualReportMissed", "AnnualReportMissed"]
