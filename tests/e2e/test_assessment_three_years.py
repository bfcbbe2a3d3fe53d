"""Three talents through their three-year tenure across the four running services:
one excellent every year, one qualified every year, both completing their period; one failing in
year 2 and disqualified by the Talent Work Leading Group, from whom alone the subsidies service
demands the subsidy back.

Three years cannot pass in a test, so the assessment service is restarted on the test
configuration with a pinned date (tests/support/assessment_pinned_clock.yaml, CLOCK_TODAY; see
shared/clock.py) at each anniversary of the period start: every decision it takes is the one it
would take on that day, deadlines included. The other services keep the real clock."""
# ruff: noqa: B023 - the closures waited for in a loop are called within their iteration

import datetime as dt

import pytest

from services.assessment.domain.schedule import anniversary
from shared.db import Database
from shared.store import EventStore
from talent_client.http import Client
from talent_client.samples import shanghai_today
from talent_client.steps import certify, fund_lt_subsidy
from tests.support.assessment_pinned import start_assessment_on

pytestmark = pytest.mark.e2e

# name -> yearly growth factor (numerator, denominator) applied to the baseline, compounded
TALENTS = {"王优秀": (14, 10), "张合格": (12, 10), "赵淘汰": None}
COUNTY = "楚雄市"


def ok(response):
    return response.json() if response.status_code == 200 else None


def figures(baseline, factor, year):
    num, den = factor
    return {"sales_fen": baseline * num**year // den**year}


def report(year, sales):
    return {
        "tenure_year": year,
        "figures": {"sales_fen": sales},
        "promotion_activities": 2,
        "backbones_trained": 6,
        "full_time_in_chuxiong": True,
    }


@pytest.fixture(scope="module")
def cohort(system):
    quiet = lambda *_: None  # noqa: E731
    client = Client(system.urls, out=quiet)
    talents = {}
    for name in TALENTS:  # one after the other: each grant is charged before the next is funded
        fund_lt_subsidy(client, out=quiet)  # finance's budget has room: granted, not queued
        _, talent_id = certify(
            client,
            county=COUNTY,
            name=name,
            category="LT-6.3",
            evidence={"sales_fen": 400_000_000},
            out=quiet,
        )
        talents[name] = talent_id
        client.wait_for(
            "SubsidyGranted",
            lambda: (lambda j: j if j and j["grants"][0]["status"] == "granted" else None)(
                ok(client.call("GET", "subsidies", f"/grants/{talent_id}", "finance", expect=None))
            ),
        )
        client.call(
            "POST",
            "subsidies",
            f"/grants/{talent_id}/payments",
            "finance",
            json={
                "payment_reference": f"PAY-{talent_id[-8:]}",
                "paid_on": shanghai_today().isoformat(),
            },
        )
    tenures = {
        name: client.wait_for(
            "TenureOpened",
            lambda: ok(
                client.call(
                    "GET",
                    "assessment",
                    f"/tenures/{talent_id}",
                    "prefecture_officer",
                    expect=None,
                )
            ),
        )
        for name, talent_id in talents.items()
    }
    return client, talents, tenures


def assessment_store(system):
    return EventStore(Database(system.dsn("assessment")), "assessment")


def file_report(client, talents, name, year, sales, role="talent"):
    talent_id = talents[name]
    r = client.call(
        "POST",
        "assessment",
        f"/tenures/{talent_id}/reports",
        role,
        actor=talent_id,
        county=COUNTY,
        json=report(year, sales),
    )
    return [(e["type"], e["payload"].get("grade")) for e in r.json()["events"]]


@pytest.fixture(scope="module")
def year_one(cohort):
    """Year 1, on the real clock (the period starts today): everyone passes."""
    client, talents, tenures = cohort
    start = dt.date.fromisoformat(tenures["王优秀"]["period_start"])
    baseline = tenures["王优秀"]["baseline"]["sales_fen"]
    assert all(
        t["period_end"] == (anniversary(start, 3) - dt.timedelta(days=1)).isoformat()
        and t["baseline"]["sales_fen"] == baseline
        for t in tenures.values()
    )
    assert file_report(
        client, talents, "王优秀", 1, figures(baseline, TALENTS["王优秀"], 1)["sales_fen"]
    ) == [("AnnualReportFiled", None), ("AssessmentPassed", "excellent")]
    assert file_report(
        client, talents, "张合格", 1, figures(baseline, TALENTS["张合格"], 1)["sales_fen"]
    ) == [("AnnualReportFiled", None), ("AssessmentPassed", "qualified")]
    assert file_report(
        client, talents, "赵淘汰", 1, baseline * 11 // 10, role="county_officer"
    ) == [("AnnualReportFiled", None), ("AssessmentPassed", "qualified")]
    return client, talents, start, baseline


def test_bad_reports_get_4xx_naming_field_or_clause_and_write_nothing(system, year_one):
    client, talents, _, _ = year_one
    talent_id = talents["张合格"]
    store = assessment_store(system)
    try:
        before = [e.event_id for e in store.read_stream(f"tenure-{talent_id}")]
        cases = [
            (
                "talent",
                talent_id,
                None,
                report(1, 500_000_000),
                422,
                {"clause": "LT-11.1", "fields": {"tenure_year": ["Already reported."]}},
            ),
            (
                "talent",
                talent_id,
                None,
                report(4, 500_000_000),
                422,
                {"clause": "LT-10", "fields": {"tenure_year": ["Must be one of 1, 2, 3."]}},
            ),
            (
                "talent",
                talent_id,
                None,
                report(2, -5),
                400,
                {
                    "fields": {
                        "figures": {"sales_fen": {"value": ["Must be greater than or equal to 0."]}}
                    }
                },
            ),
            ("finance", None, None, report(2, 500_000_000), 403, {"code": "forbidden"}),
            ("talent", talents["王优秀"], None, report(2, 500_000_000), 403, {"code": "forbidden"}),
            ("county_officer", None, "禄丰市", report(2, 500_000_000), 403, {"code": "forbidden"}),
        ]
        for role, actor, county, body, status, expected in cases:
            r = client.call(
                "POST",
                "assessment",
                f"/tenures/{talent_id}/reports",
                role,
                actor=actor,
                county=county,
                json=body,
                expect=None,
            )
            assert r.status_code == status, (role, body, r.text)
            assert {k: r.json().get(k) for k in expected} == expected
        assert [e.event_id for e in store.read_stream(f"tenure-{talent_id}")] == before
    finally:
        store.db.close()


def test_three_talents_through_three_years(system, year_one):
    client, talents, start, baseline = year_one

    def file(name, year, sales, role="talent"):
        return file_report(client, talents, name, year, sales, role)

    # year 2: the third talent's sales fall; the Leading Group approves the proposal
    year2 = anniversary(start, 1)
    start_assessment_on(system, year2)
    assert file("王优秀", 2, figures(baseline, TALENTS["王优秀"], 2)["sales_fen"]) == [
        ("AnnualReportFiled", None),
        ("AssessmentPassed", "excellent"),
    ]
    assert file("张合格", 2, figures(baseline, TALENTS["张合格"], 2)["sales_fen"]) == [
        ("AnnualReportFiled", None),
        ("AssessmentPassed", "qualified"),
    ]
    assert file("赵淘汰", 2, baseline * 105 // 100) == [
        ("AnnualReportFiled", None),
        ("AssessmentFailed", None),
        ("DisqualificationProposed", None),
    ]
    third = talents["赵淘汰"]
    r = client.call(
        "POST",
        "assessment",
        f"/tenures/{third}/disqualification",
        "leading_group",
        json={"decided_on": year2.isoformat()},
    )
    assert [(e["type"], e["payload"]["ground"]) for e in r.json()["events"]] == [
        ("TalentDisqualified", "LT-14.4")
    ]
    grant = client.wait_for(
        "SubsidyRecoveryDemanded",
        lambda: (lambda j: j if j and j["grants"][0]["status"] == "recovery_demanded" else None)(
            ok(client.call("GET", "subsidies", f"/grants/{third}", "finance", expect=None))
        ),
    )
    assert grant["grants"][0]["demanded_fen"] == 5_000_000

    # year 3: the two others report; the disqualified talent cannot
    start_assessment_on(system, anniversary(start, 2))
    assert file("王优秀", 3, figures(baseline, TALENTS["王优秀"], 3)["sales_fen"]) == [
        ("AnnualReportFiled", None),
        ("AssessmentPassed", "excellent"),
    ]
    assert file("张合格", 3, figures(baseline, TALENTS["张合格"], 3)["sales_fen"]) == [
        ("AnnualReportFiled", None),
        ("AssessmentPassed", "qualified"),
    ]
    r = client.call(
        "POST",
        "assessment",
        f"/tenures/{third}/reports",
        "talent",
        actor=third,
        json=report(3, baseline * 2),
        expect=None,
    )
    assert (r.status_code, r.json()["clause"]) == (422, "LT-11.1")

    # the day after the period ends: the timer (it fires at start) completes the clean periods
    start_assessment_on(system, anniversary(start, 3))
    for name in ("王优秀", "张合格"):
        done = client.wait_for(
            "TenureCompleted",
            lambda: (lambda j: j if j and j["status"] == "completed" else None)(
                ok(
                    client.call(
                        "GET",
                        "assessment",
                        f"/tenures/{talents[name]}",
                        "auditor",
                        expect=None,
                    )
                )
            ),
        )
        assert done["completed_on"] == anniversary(start, 3).isoformat()
        assert [y["result"] for y in done["years"]] == (
            ["excellent"] * 3 if name == "王优秀" else ["qualified"] * 3
        )
        assert done["proposals"] == [] and done["breaches"] == []
    gone = ok(client.call("GET", "assessment", f"/tenures/{third}", "auditor"))
    assert gone["status"] == "disqualified"
    assert [y["result"] for y in gone["years"]] == ["qualified", "unqualified", None]
    assert [(p["status"], p["ground"]) for p in gone["proposals"]] == [("approved", "LT-14.4")]

    # the results the Commerce Bureau announces, per year (the year each tenure year ends)
    for n, expected in (
        (1, {"excellent": 1, "qualified": 2, "unqualified": 0}),
        (2, {"excellent": 1, "qualified": 1, "unqualified": 1}),
        (3, {"excellent": 1, "qualified": 1, "unqualified": 0}),
    ):
        year = (anniversary(start, n) - dt.timedelta(days=1)).year
        announced = ok(
            client.call("GET", "assessment", f"/results?year={year}", "prefecture_officer")
        )
        assert announced["summary"] == expected, (n, announced)

    # subsidies demanded recovery from the third talent only
    for name, talent_id in talents.items():
        ledger = ok(client.call("GET", "subsidies", f"/grants/{talent_id}", "finance"))
        assert ledger["grants"][0]["status"] == (
            "recovery_demanded" if name == "赵淘汰" else "paid"
        ), name
    subsidies = EventStore(Database(system.dsn("subsidies")), "subsidies")
    try:
        demanded = [
            e.payload["talent_id"]
            for e in subsidies.read_all()
            if e.event_type == "SubsidyRecoveryDemanded"
        ]
    finally:
        subsidies.db.close()
    assert demanded == [third]

    store = assessment_store(system)
    try:
        by_type = {}
        for e in store.read_all():
            by_type.setdefault(e.event_type, []).append(e.stream_id.removeprefix("tenure-"))
        assert sorted(by_type["TenureCompleted"]) == sorted([talents["王优秀"], talents["张合格"]])
        assert by_type["TalentDisqualified"] == [third]
        assert "AssessmentFailed" in by_type and by_type["AssessmentFailed"] == [third]
        assert store.verify().ok
    finally:
        store.db.close()
