"""Eligibility (LT-6, LT-7, LT-10) per clause, with the boundaries of the Chinese counting rule:
以上 includes the threshold (exactly 300,000 CNY passes LT-6.2), 超过 excludes it (exactly 100,000
followers does not pass LT-6.1). Every check lists its clause and the figures compared; the
application is recorded either way (ApplicationSubmitted + EligibilityAssessed)."""

import datetime as dt

import pytest
from givenwhenthen import given, then, when

from services.applications.domain import eligibility, policy
from services.applications.domain.application import Submit, application
from services.applications.domain.eligibility import anniversary, assess
from services.applications.domain.round import Round

D = dt.date
APP = "app-0001"
ROUND = Round(2026, 10, D(2026, 1, 1), D(2026, 12, 31))
CODE = "91532301MA6N0XKX1E"
DECLARED = {"political_stance": True, "law_abiding": True, "professional_ethics": True}
CLEAN = {"bad_credit_record": False, "law_or_discipline_violation": False}
EVIDENCE = {
    "LT-6.1": (
        {"followers": 150_000, "exposure": 2_400_000},
        {
            "account_registered_on": D(2023, 5, 1),
            "activity_proof": "后台截图",
            "local_influence": "州级表彰",
        },
    ),
    "LT-6.2": ({"sales_fen": 45_000_000}, {"sells_mainly_chuxiong_products": True}),
    "LT-6.3": (
        {
            "sales_fen": 350_000_000,
            "sales_fen_year_before": 320_000_000,
            "jobs_driven": 12,
            "tax_paid_fen": 1_200_000,
        },
        {},
    ),
    "LT-6.4": ({"sales_fen": 12_000_000}, {}),
}


def submit(
    category="LT-6.3",
    evidence=None,
    facts=None,
    *,
    declarations=None,
    integrity=None,
    enterprise_code=CODE,
    submitted_on=D(2026, 3, 2),
):
    figures, notes = EVIDENCE[category]
    return Submit(
        application_id=APP,
        round_year=2026,
        county="楚雄市",
        applicant_name="李明",
        enterprise_name="楚雄彝绣电子商务有限公司",
        category=category,
        evidence={**figures, **(evidence or {})},
        submitted_on=submitted_on,
        applicant_id="applicant-7",
        person_key="pk-1",
        id_number_masked="532301********1234",
        enterprise_code=enterprise_code,
        facts={**notes, **(facts or {})},
        declarations={**DECLARED, **(declarations or {})},
        integrity={**CLEAN, **(integrity or {})},
    )


def check(checks, clause, name):
    [found] = [c for c in checks if c["clause"] == clause and c["check"] == name]
    return found


def outcome(command, **lookups):
    return assess(command, lookups)


# -- LT-6.2: live-stream sales 30万元以上 (inclusive) ---------------------------------------------
@pytest.mark.parametrize(
    "sales, eligible", [(29_999_999, False), (30_000_000, True), (30_000_001, True), (0, False)]
)
def test_live_sales_of_exactly_300000_cny_pass(sales, eligible):
    ok, checks = outcome(submit("LT-6.2", {"sales_fen": sales}))
    assert ok is eligible
    assert check(checks, "LT-6.2", "sales") == {
        "clause": "LT-6.2",
        "check": "sales",
        "passed": eligible,
        "required": True,
        "value": str(sales),
        "threshold": "30000000",
        "comparison": ">=",
        "unit": "fen",
        "note": "上年度直播销售额30万元以上 (以上: the threshold itself counts)",
    }


def test_live_streamer_sells_mainly_chuxiong_products():
    ok, checks = outcome(submit("LT-6.2", facts={"sells_mainly_chuxiong_products": False}))
    assert not ok and check(checks, "LT-6.2", "chuxiong_products")["passed"] is False


# -- LT-6.1: followers 超过10万 (exclusive), or account 两年以上 with proof ---------------------
NO_AGE = {"account_registered_on": None, "activity_proof": "无"}


@pytest.mark.parametrize(
    "followers, eligible", [(99_999, False), (100_000, False), (100_001, True)]
)
def test_exactly_100000_followers_do_not_pass(followers, eligible):
    ok, checks = outcome(submit("LT-6.1", {"followers": followers}, NO_AGE))
    assert ok is eligible
    assert check(checks, "LT-6.1", "followers") == {
        "clause": "LT-6.1",
        "check": "followers",
        "passed": eligible,
        "required": False,
        "value": str(followers),
        "threshold": "100000",
        "comparison": ">",
        "unit": "followers",
        "note": "粉丝量超过10万 (超过: more than, the threshold itself excluded)",
    }
    assert check(checks, "LT-6.1", "category")["passed"] is eligible


def test_many_followers_need_local_influence():
    ok, _ = outcome(submit("LT-6.1", {"followers": 500_000}, {**NO_AGE, "local_influence": "无"}))
    assert not ok


@pytest.mark.parametrize(
    "registered, submitted, eligible",
    [
        (D(2024, 3, 2), D(2026, 3, 2), True),  # exactly two years: 以上 counts it
        (D(2024, 3, 3), D(2026, 3, 2), False),  # a day short
        (D(2020, 1, 1), D(2026, 3, 2), True),
        (D(2024, 2, 29), D(2026, 2, 28), True),  # no 29 Feb 2026: the month's last day (art. 202)
        (D(2024, 2, 29), D(2026, 2, 27), False),
    ],
)
def test_account_registered_two_years_or_more_with_activity_proof(registered, submitted, eligible):
    command = submit(
        "LT-6.1",
        {"followers": 10},
        {"account_registered_on": registered, "local_influence": "无"},
        submitted_on=submitted,
    )
    ok, checks = outcome(command)
    assert ok is eligible
    age = check(checks, "LT-6.1", "account_age")
    assert (age["passed"], age["value"], age["threshold"], age["comparison"]) == (
        eligible,
        anniversary(registered, 2).isoformat(),
        submitted.isoformat(),
        "<=",
    )


def test_an_old_account_needs_activity_proof():
    command = submit("LT-6.1", {"followers": 10}, {"activity_proof": "无", "local_influence": "无"})
    ok, checks = outcome(command)
    assert not ok and check(checks, "LT-6.1", "account_age")["passed"]
    assert check(checks, "LT-6.1", "activity_proof")["passed"] is False


def test_anniversary_keeps_the_day_or_takes_the_months_last():
    assert anniversary(D(2024, 2, 29), 2) == D(2026, 2, 28)
    assert anniversary(D(2024, 2, 29), 4) == D(2028, 2, 29)
    assert anniversary(D(2023, 12, 31), 2) == D(2025, 12, 31)


# -- LT-6.3: 300万元以上, growing, jobs or tax ------------------------------------------------------
@pytest.mark.parametrize("sales, eligible", [(299_999_999, False), (300_000_000, True)])
def test_seller_sales_of_exactly_3000000_cny_pass(sales, eligible):
    ok, checks = outcome(
        submit("LT-6.3", {"sales_fen": sales, "sales_fen_year_before": 200_000_000})
    )
    assert ok is eligible
    assert (
        check(checks, "LT-6.3", "sales")["value"],
        check(checks, "LT-6.3", "sales")["threshold"],
    ) == (str(sales), "300000000")


@pytest.mark.parametrize(
    "before, eligible", [(349_999_999, True), (350_000_000, False), (400_000_000, False)]
)
def test_seller_sales_must_grow_year_on_year(before, eligible):
    ok, checks = outcome(submit("LT-6.3", {"sales_fen_year_before": before}))
    assert ok is eligible
    growth = check(checks, "LT-6.3", "growth")
    assert (growth["value"], growth["threshold"], growth["comparison"]) == (
        "350000000",
        str(before),
        ">",
    )


@pytest.mark.parametrize("jobs, tax", [(0, 0), (0, 1), (1, 0), (30, 5_000_000)])
def test_seller_jobs_and_tax_are_shown_for_the_county_to_judge(jobs, tax):
    """Given the reading "county_judgement", when an LT-6.3 applicant shows any figures (one fen
    of tax, none at all), then eligibility records them, not required: the county judges them at
    its recommendation (LT-9.1)."""
    ok, checks = outcome(submit("LT-6.3", {"jobs_driven": jobs, "tax_paid_fen": tax}))
    assert ok
    jobs_check, tax_check = (
        check(checks, "LT-6.3", "jobs_driven"),
        check(checks, "LT-6.3", "tax_paid"),
    )
    assert (jobs_check["value"], tax_check["value"]) == (str(jobs), str(tax))
    assert jobs_check["required"] is False and tax_check["required"] is False
    assert "judged by the county" in jobs_check["note"]
    assert not [c for c in checks if c["check"] == "jobs_or_tax"]


@pytest.mark.parametrize(
    "jobs, tax, eligible",
    [(9, 99_999_999, False), (10, 0, True), (0, 100_000_000, True), (9, 100_000_000, True)],
)
def test_the_threshold_reading_compares_named_figures(monkeypatch, jobs, tax, eligible):
    monkeypatch.setattr(policy, "SELLER_CONTRIBUTION_READING", "threshold")
    monkeypatch.setattr(policy, "SELLER_STRONG_JOBS_MIN", 10)
    monkeypatch.setattr(policy, "SELLER_LARGE_TAX_MIN_FEN", 100_000_000)
    ok, checks = outcome(submit("LT-6.3", {"jobs_driven": jobs, "tax_paid_fen": tax}))
    assert ok is eligible
    assert check(checks, "LT-6.3", "jobs_or_tax")["required"] is True
    assert check(checks, "LT-6.3", "tax_paid")["threshold"] == "100000000"


# -- LT-6.4: cross-border 10万元以上 -----------------------------------------------------------------
@pytest.mark.parametrize("sales, eligible", [(9_999_999, False), (10_000_000, True)])
def test_cross_border_sales_of_exactly_100000_cny_pass(sales, eligible):
    ok, checks = outcome(submit("LT-6.4", {"sales_fen": sales}))
    assert ok is eligible
    assert check(checks, "LT-6.4", "sales")["threshold"] == "10000000"


def test_thresholds_are_the_policy_parameters():
    assert (
        policy.LIVE_SALES_MIN_FEN,
        policy.SELLER_SALES_MIN_FEN,
        policy.CROSS_BORDER_SALES_MIN_FEN,
        policy.INFLUENCER_FOLLOWERS_ABOVE,
        policy.INFLUENCER_ACCOUNT_YEARS,
    ) == (30_000_000, 300_000_000, 10_000_000, 100_000, 2)
    assert eligibility.at_least(5, 5) and not eligibility.more_than(5, 5)


# -- LT-6 basic conditions, LT-7, LT-10 ------------------------------------------------------------
@pytest.mark.parametrize("declaration", sorted(DECLARED))
def test_each_basic_declaration_is_required(declaration):
    ok, checks = outcome(submit(declarations={declaration: False}))
    assert not ok
    assert [c["check"] for c in checks if not c["passed"]] == [f"declaration.{declaration}"]


@pytest.mark.parametrize("flag", sorted(CLEAN))
def test_bad_credit_or_violation_excludes(flag):
    ok, checks = outcome(submit(integrity={flag: True}))
    assert not ok
    assert check(checks, "LT-7", flag) == {
        "clause": "LT-7",
        "check": flag,
        "passed": False,
        "required": True,
        "value": "true",
        "threshold": "false",
        "comparison": "==",
        "note": {
            "bad_credit_record": "不良信用记录",
            "law_or_discipline_violation": "违法违纪情况",
        }[flag],
    }


def test_a_former_yixiang_applicant_is_excluded():
    ok, checks = outcome(submit(), former_yixiang=True)
    assert not ok and check(checks, "LT-10", "former_yixiang_applicant")["passed"] is False


def test_an_enterprise_that_has_a_talent_may_still_apply():
    """LT-10 one talent per enterprise is about certification: the enterprise's talent is shown,
    not required (approval and certification refuse a second talent)."""
    ok, checks = outcome(submit(), enterprise_talent="talent-app-0042")
    assert ok
    shown = check(checks, "LT-10", "enterprise_talent")
    assert (shown["value"], shown["passed"], shown["required"]) == ("talent-app-0042", False, False)


def test_several_applicants_of_an_enterprise_are_each_judged():
    ok, checks = outcome(submit(), enterprise_rivals=("app-0009", "app-0011"))
    assert ok
    shown = check(checks, "LT-10", "enterprise_applicants_in_round")
    assert (shown["value"], shown["required"]) == ("app-0009,app-0011", False)


def test_an_individual_applicant_has_no_enterprise_to_show():
    ok, checks = outcome(submit(enterprise_code=None), enterprise_talent="ignored")
    assert ok
    assert [c["check"] for c in checks if c["clause"] == "LT-10"] == ["former_yixiang_applicant"]


# -- as events -------------------------------------------------------------------------------------
def test_submission_records_the_form_and_the_assessment():
    events = when(
        application,
        given(application),
        submit("LT-6.2", {"sales_fen": 29_999_999}),
        round=ROUND,
        lookups={},
    )
    submitted, assessed = events
    assert (submitted.event_type, submitted.clauses) == (
        "ApplicationSubmitted",
        ("LT-9.1", "LT-6.2"),
    )
    assert submitted.payload["evidence"] == {"sales_fen": 29_999_999}
    assert submitted.payload["facts"] == {"sells_mainly_chuxiong_products": True}
    assert (assessed.event_type, assessed.payload["eligible"], assessed.payload["failed"]) == (
        "EligibilityAssessed",
        False,
        ["LT-6.2 sales"],
    )
    assert assessed.clauses == ("LT-6", "LT-6.2", "LT-7", "LT-10")
    then(events, *events)  # both payloads pass their contracts
    assert given(application, *events).status == "ineligible"


def test_an_eligible_application_goes_to_the_county():
    events = when(application, given(application), submit(), round=ROUND, lookups={})
    assert events[1].payload["eligible"] is True and events[1].payload["failed"] == []
    state = given(application, *events)
    assert (state.status, state.next_stage) == ("in_review", "county_recommendation")


def test_every_check_names_a_clause_and_compares_figures():
    _, checks = outcome(submit("LT-6.1"))
    assert {c["clause"] for c in checks} == {"LT-6", "LT-6.1", "LT-7", "LT-10"}
    for c in checks:
        assert set(c) >= {"clause", "check", "passed", "required"}
        if "value" in c:
            assert "threshold" in c and "comparison" in c, c
