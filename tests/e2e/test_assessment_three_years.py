"""One talent through the three years of their tenure across the four running services, through
the public HTTP interfaces only: year 1 reported in its window and graded; year 2's report
missing at its window's close, the county told, a rectification ordered and the report filed by
its deadline; year 3's report missing and its deadline missed, proposed under LT-14.1, the
Talent Work Leading Group's approval, and the subsidy recovered in two parts.

Three years cannot pass in a test, so the assessment service is restarted on the test
configuration with a pinned date (tests/support/assessment_pinned_clock.yaml, CLOCK_TODAY; see
shared/clock.py) on each day the story needs: every decision it takes is the one it would take
on that day, the deadline sweep (which runs at start) included. The subsidies service is pinned
likewise to the day of the disqualification to record the repayments (a repayment is not dated
before the disqualification); applications and notifications keep the real clock."""

import datetime as dt
import subprocess

import pytest

from services.assessment.domain import policy
from services.assessment.domain.schedule import anniversary
from shared.db import Database
from shared.store import EventStore
from talent_client.http import Client
from talent_client.samples import shanghai_today
from talent_client.steps import certify, fund_lt_subsidy
from tests.support.assessment_pinned import STAND_IN_SCHEDULE, start_assessment_on
from tests.support.system import NAMEKO, ROOT

pytestmark = pytest.mark.e2e

NAME, COUNTY = "钱三年", "楚雄市"
DAY = dt.timedelta(days=1)


def ok(response):
    return response.json() if response.status_code == 200 else None


def working_day(day):
    """The stand-in schedule the pinned service loads has weekends off and no holidays."""
    while day.weekday() >= 5:
        day += DAY
    return day


def window(start, n):
    """Tenure year n's report window: its first day and its effective last day."""
    opens = anniversary(start, n)
    return opens, working_day(opens + dt.timedelta(days=policy.REPORT_WINDOW_DAYS - 1))


def start_subsidies_on(system, today):
    """Restart the subsidies service deciding as if it were ``today``
    (tests/support/subsidies_pinned_clock.yaml)."""
    system.stop("subsidies")
    system.logs["subsidies"] = log = open(system.log_path("subsidies"), "ab")
    system.procs["subsidies"] = subprocess.Popen(
        [
            NAMEKO,
            "run",
            "--config",
            "tests/support/subsidies_pinned_clock.yaml",
            "services.subsidies.service",
        ],
        cwd=ROOT,
        env=dict(
            system.env(),
            CLOCK_TODAY=today.isoformat(),
            WORKING_DAY_OVERRIDES=str(STAND_IN_SCHEDULE),
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    system.wait_ready(["subsidies"])


def report(year, sales, **extra):
    return {
        "tenure_year": year,
        "figures": {"sales_fen": sales},
        "promotion_activities": 2,
        "backbones_trained": 8,  # 16 over the two years: LT-12.2's 15 even with year 3 at 0
        "full_time_in_chuxiong": True,
        **extra,
    }


@pytest.fixture(scope="module")
def talent(system):
    quiet = lambda *_: None  # noqa: E731
    client = Client(system.urls, out=quiet)
    fund_lt_subsidy(client, out=quiet)
    _, talent_id = certify(
        client,
        county=COUNTY,
        name=NAME,
        category="LT-6.3",
        evidence={"sales_fen": 400_000_000},
        out=quiet,
    )
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
    tenure = client.wait_for("TenureOpened", lambda: read(client, talent_id))
    return client, talent_id, tenure


def read(client, talent_id, role="prefecture_officer"):
    return ok(client.call("GET", "assessment", f"/tenures/{talent_id}", role, expect=None))


def swept(client, talent_id, pick):
    """``pick`` of the tenure after a deadline sweep run at once (as the timer's, which also runs
    at start; a sweep that finds the lock taken leaves the work to the one holding it)."""
    client.call("POST", "assessment", "/deadlines/run", "prefecture_officer")
    return pick(read(client, talent_id))


def post(client, talent_id, path, role, json, expect=(200,)):
    return client.call(
        "POST",
        "assessment",
        f"/tenures/{talent_id}{path}",
        role,
        actor=talent_id if role == "talent" else None,
        county=COUNTY if role == "county_officer" else None,
        json=json,
        expect=expect,
    )


def types(response):
    return [e["type"] for e in response.json()["events"]]


def inbox(client, address, role, **who):
    return client.call("GET", "notifications", f"/inbox/{address}", role, **who).json()["messages"]


def assessment_store(system):
    return EventStore(Database(system.dsn("assessment")), "assessment")


def test_a_report_before_its_window_or_out_of_bounds_is_refused_and_writes_nothing(system, talent):
    client, talent_id, tenure = talent
    start = dt.date.fromisoformat(tenure["period_start"])
    opens, _ = window(start, 1)
    today = shanghai_today()
    store = assessment_store(system)
    try:
        before = [e.event_id for e in store.read_stream(f"tenure-{talent_id}")]
        early = post(client, talent_id, "/reports", "talent", report(1, 1), expect=None)
        assert (early.status_code, early.json()["clause"]) == (422, "LT-11.1")
        [message] = early.json()["fields"]["reported_on"]
        assert message.startswith(f"Before the report window of year 1: {opens} to ")
        future = post(
            client,
            talent_id,
            "/reports",
            "talent",
            report(1, 1, reported_on="9999-12-31"),
            expect=None,
        )
        assert (future.status_code, future.json()["fields"]) == (
            422,
            {"reported_on": [f"Must not be after today ({today})."]},
        )
        old = post(
            client,
            talent_id,
            "/reports",
            "county_officer",
            report(1, 1, reported_on="2022-08-31"),
            expect=None,
        )
        assert (old.status_code, old.json()["clause"]) == (422, "LT-16")
        assert (
            post(client, talent_id, "/reports", "finance", report(1, 1), expect=None).status_code
            == 403
        )
        assert [e.event_id for e in store.read_stream(f"tenure-{talent_id}")] == before
    finally:
        store.db.close()


def test_one_talent_through_three_years(system, talent):
    client, talent_id, tenure = talent
    start = dt.date.fromisoformat(tenure["period_start"])
    baseline = tenure["baseline"]["sales_fen"]
    assert tenure["period_end"] == (anniversary(start, 3) - DAY).isoformat()
    assert [y["window_opens_on"] for y in tenure["years"]] == [
        anniversary(start, n).isoformat() for n in (1, 2, 3)
    ]

    # year 1: reported on its window's first day, graded at once
    open1, _ = window(start, 1)
    start_assessment_on(system, open1)
    filed = post(client, talent_id, "/reports", "talent", report(1, baseline * 12 // 10))
    assert types(filed) == ["AnnualReportFiled", "AssessmentPassed"]
    assert filed.json()["events"][0]["payload"]["reported_on"] == open1.isoformat()

    # year 2: the talent is reminded before the window closes, then the report is missing
    open2, close2 = window(start, 2)
    nominal2 = open2 + dt.timedelta(days=policy.REPORT_WINDOW_DAYS - 1)
    remind = nominal2 - dt.timedelta(days=policy.REMINDER_DAYS_BEFORE_CLOSE)
    start_assessment_on(system, remind)
    client.wait_for(
        "the reminder", lambda: swept(client, talent_id, lambda t: t["years"][1]["reminded_on"])
    )
    client.wait_for(
        "the reminder in the talent's inbox",
        lambda: [
            m
            for m in inbox(client, f"talent:{talent_id}", "talent", actor=talent_id)
            if m["source_event_type"] == "AnnualReportReminded"
        ],
    )
    missed2 = close2 + DAY
    start_assessment_on(system, missed2)
    year2 = client.wait_for(
        "the missing report",
        lambda: swept(client, talent_id, lambda t: t["years"][1]["missed_on"]),
    )
    assert year2 == missed2.isoformat()
    client.wait_for(
        "the county told",
        lambda: [
            m
            for m in inbox(client, f"county:{COUNTY}", "county_officer", county=COUNTY)
            if m["source_event_type"] == "AnnualReportMissed"
        ],
    )
    state = read(client, talent_id)
    assert [y["result"] for y in state["years"]] == ["qualified", None, None]  # not a failure
    assert state["proposals"] == []
    deadline2 = missed2 + dt.timedelta(days=30)
    ordered = post(
        client,
        talent_id,
        "/breaches/report-y2/rectification",
        "county_officer",
        {"deadline": deadline2.isoformat(), "requirement": "补报第2年度报告"},
    )
    assert types(ordered) == ["RectificationOrdered"]
    start_assessment_on(system, missed2 + dt.timedelta(days=10))
    rectified = post(client, talent_id, "/reports", "talent", report(2, baseline * 13 // 10))
    assert types(rectified) == ["AnnualReportFiled", "RectificationConfirmed", "AssessmentPassed"]

    # year 3: missing, ordered, the deadline missed: an LT-14.1 proposal, approved
    _, close3 = window(start, 3)
    missed3 = close3 + DAY
    start_assessment_on(system, missed3)
    client.wait_for(
        "year 3 missing", lambda: swept(client, talent_id, lambda t: t["years"][2]["missed_on"])
    )
    deadline3 = missed3 + dt.timedelta(days=20)
    post(
        client,
        talent_id,
        "/breaches/report-y3/rectification",
        "county_officer",
        {"deadline": deadline3.isoformat(), "requirement": "补报第3年度报告"},
    )
    decided = missed3 + dt.timedelta(days=40)
    start_assessment_on(system, decided)
    [proposal] = client.wait_for(
        "the LT-14.1 proposal", lambda: swept(client, talent_id, lambda t: t["proposals"])
    )
    assert (proposal["ground"], proposal["status"], proposal["proposed_on"]) == (
        "LT-14.1",
        "pending",
        (working_day(deadline3) + DAY).isoformat(),
    )
    late = post(client, talent_id, "/reports", "talent", report(3, baseline * 2), expect=None)
    assert (late.status_code, late.json()["clause"]) == (422, "LT-13")
    approved = post(
        client,
        talent_id,
        "/disqualification",
        "leading_group",
        {"decided_on": decided.isoformat()},
    )
    assert [(e["type"], e["payload"]["ground"]) for e in approved.json()["events"]] == [
        ("TalentDisqualified", "LT-14.1")
    ]

    final = read(client, talent_id, "auditor")
    assert final["status"] == "disqualified"
    assert [(y["result"], y["report_missed"]) for y in final["years"]] == [
        ("qualified", False),
        ("qualified", True),
        (None, True),
    ]
    assert [(b["breach_id"], b["status"]) for b in final["breaches"]] == [
        ("report-y2", "rectified"),
        ("report-y3", "missed"),
    ]
    assert all(y["reported_on"] and y["report_recorded_at"] for y in final["years"][:2])

    # the subsidies service recovers the subsidy from the disqualification, paid in two parts
    grant = client.wait_for(
        "SubsidyRecoveryDemanded",
        lambda: (lambda j: j if j and j["grants"][0]["status"] == "recovery_demanded" else None)(
            ok(client.call("GET", "subsidies", f"/grants/{talent_id}", "finance", expect=None))
        ),
    )
    assert grant["grants"][0]["demanded_fen"] == 5_000_000
    start_subsidies_on(system, decided)
    for part, reference in ((2_000_000, "REPAY-1"), (3_000_000, "REPAY-2")):
        client.call(
            "POST",
            "subsidies",
            f"/grants/{talent_id}/repayments",
            "finance",
            json={"amount_fen": part, "reference": reference},
        )
    recovered = ok(client.call("GET", "subsidies", f"/grants/{talent_id}", "finance"))
    assert recovered["grants"][0]["status"] == "recovered"

    store = assessment_store(system)
    try:
        kinds = [e.event_type for e in store.read_stream(f"tenure-{talent_id}")]
        assert "AssessmentFailed" not in kinds  # no report missed was counted as a failure
        assert kinds.count("AnnualReportMissed") == 2
        assert store.verify().ok
    finally:
        store.db.close()
