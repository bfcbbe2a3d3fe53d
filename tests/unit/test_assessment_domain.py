"""The tenure decider's annual reports and LT-11.1 grading: compounded average annual growth since
the baseline, compared exactly. Sellers (LT-6.2/6.3/6.4): qualified at >= 10% (以上), excellent
only above 30% (超过). Influencers (LT-6.1): followers AND exposure, qualified >= 10%, excellent
>= 30% (以上), or the county assessor's findings (promotion ability clearly improved; and influence
further increased, for excellent)."""

from dataclasses import replace
from decimal import Decimal

import pytest
from assessment_given import (
    COUNTY,
    END,
    PASSING,
    START,
    TALENT,
    YEARS,
    D,
    assessed,
    baseline_of,
    due,
    failed,
    filed,
    history,
    in_year,
    open_tenure,
    opened,
    refused,
    report,
    row,
    when,
)
from givenwhenthen import NewEvent, given, then, types

from services.assessment.domain import policy
from services.assessment.domain.grading import average_growth, grade, reaches, shown_growth
from services.assessment.domain.schedule import growth_years, tenure_years
from services.assessment.domain.tenure import (
    ApproveDisqualification,
    DeclineDisqualification,
    FireDeadlines,
    RecordFindings,
    tenure,
)
from shared.calendar import WorkingDayCalendar


def grade_of(events):
    """The grade of a report that was graded at once."""
    graded = [e for e in events if e.event_type in ("AssessmentPassed", "AssessmentFailed")]
    assert len(graded) == 1, types(events)
    return graded[0].payload.get("grade", "failed")


def findings(year, ability, influence, note="县商务局考核评估", on=None):
    return RecordFindings(
        tenure_year=year,
        found_on=on or in_year(year),
        application_and_innovation=True,
        other_work="无",
        ability_clearly_improved=ability,
        influence_further_increased=influence,
        note=note,
    )


def findings_recorded(year, ability, influence, on=None, note="县商务局考核评估"):
    return NewEvent(
        "AssessorFindingsRecorded",
        {
            "talent_id": TALENT,
            "tenure_year": year,
            "application_and_innovation": True,
            "other_work": "无",
            "note": note,
            "found_on": on or in_year(year),
            "ability_clearly_improved": ability,
            "influence_further_increased": influence,
        },
        ("LT-11.1", "LT-12.3", "LT-12.5", "LT-13"),
    )


def influencer_year(year, followers, exposure, ability=False, influence=False):
    """An influencer's year ``year`` reported and then, unless that graded it already (growth
    alone gives excellent), given the assessor's findings: the grade."""
    state = given(tenure, *history("influencer", year - 1))
    filing = when(
        tenure, state, report(year, followers=followers, exposure=exposure), today=in_year(year)
    )
    if len(filing) > 1:
        return grade_of(filing)
    state = given(tenure, *history("influencer", year - 1), filing)
    return grade_of(when(tenure, state, findings(year, ability, influence), today=in_year(year)))


# -- policy parameters and the schedule ---------------------------------------------------------
def test_rates_and_readings_are_named_parameters():
    assert policy.QUALIFIED_GROWTH == Decimal("0.10")
    assert policy.EXCELLENT_GROWTH_SELLER == Decimal("0.30")
    assert policy.EXCELLENT_GROWTH_INFLUENCER == Decimal("0.30")
    assert policy.EXCELLENT_STRICTLY == {"influencer": False, "seller": True}
    for rate in (
        policy.QUALIFIED_GROWTH,
        policy.EXCELLENT_GROWTH_SELLER,
        policy.EXCELLENT_GROWTH_INFLUENCER,
    ):
        assert isinstance(rate, Decimal)
    assert policy.FAILED_ASSESSMENT_GROUND == "LT-14.4"
    assert policy.FAILED_YEARS_FOR_PROPOSAL == 1
    assert policy.REPORT_WINDOW_DAYS == 60
    assert policy.REMINDER_DAYS_BEFORE_CLOSE == 14
    assert policy.MISSED_REPORT_GROUND == policy.RECTIFICATION_MISSED_GROUND == "LT-14.1"
    assert policy.EARLIEST_ACT_DATE == policy.LT_EFFECTIVE_DATE == D(2022, 9, 1)
    assert policy.POLICY_VERSION == "LT-2022-09-01/v3"
    assert policy.BASELINE_YEARS_BEFORE_YEAR_ONE == 1


def test_three_tenure_years_each_with_a_sixty_day_window_after_it():
    assert tenure_years(START, END) == YEARS


def test_a_period_starting_on_29_february():
    years = tenure_years(D(2028, 2, 29), D(2031, 2, 28))
    assert [(y["starts_on"], y["ends_on"]) for y in years] == [
        (D(2028, 2, 29), D(2029, 2, 28)),
        (D(2029, 3, 1), D(2030, 2, 28)),
        (D(2030, 3, 1), D(2031, 2, 28)),
    ]


@pytest.mark.parametrize("tenure_year, years", [(1, 1), (2, 2), (3, 3)])
def test_growth_compounds_over_as_many_years_as_the_tenure_year(tenure_year, years):
    assert growth_years(tenure_year) == years


# -- seller boundaries, year 1 -----------------------------------------------------------------
def test_seller_exactly_ten_percent_is_qualified():
    events = when(tenure, given(tenure, opened()), report(1, sales_fen=1_100_000))
    then(
        events,
        filed(1, sales_fen=1_100_000),
        assessed(1, "qualified", row("sales_fen", 1_000_000, 1_100_000, 1, "0.1000")),
    )


def test_seller_one_fen_below_ten_percent_fails_and_disqualification_is_proposed():
    events = when(tenure, given(tenure, opened()), report(1, sales_fen=1_099_900))
    reason = "sales_fen: average annual growth 0.0999 is below 0.10"
    then(
        events,
        filed(1, sales_fen=1_099_900),
        *failed(1, [reason], row("sales_fen", 1_000_000, 1_099_900, 1, "0.0999")),
    )
    state = given(tenure, opened(), events)
    assert state.status == "open"  # the title stays until the Leading Group decides
    assert state.results == {1: "unqualified"}
    assert state.proposals == {
        "P1": {
            "ground": "LT-14.4",
            "reasons": ["annual assessment of year 1 failed", reason],
            "status": "pending",
            "proposed_on": in_year(1),
        }
    }


def test_seller_a_single_fen_short_fails():
    events = when(tenure, given(tenure, opened()), report(1, sales_fen=1_099_999))
    assert grade_of(events) == "failed"


def test_a_failing_figure_does_not_show_the_threshold_as_its_growth():
    events = when(tenure, given(tenure, opened()), report(1, sales_fen=1_099_999))
    [shown] = [c["average_growth"] for c in events[1].payload["computation"]]
    assert shown == "0.099999"
    assert Decimal(shown) < policy.QUALIFIED_GROWTH, events[1].payload["reasons"]


def test_seller_exactly_thirty_percent_is_qualified_not_excellent():  # 超过30%: excludes 30%
    events = when(tenure, given(tenure, opened()), report(1, sales_fen=1_300_000))
    then(
        events,
        filed(1, sales_fen=1_300_000),
        assessed(1, "qualified", row("sales_fen", 1_000_000, 1_300_000, 1, "0.3000")),
    )


def test_seller_above_thirty_percent_is_excellent_and_shows_it():
    events = when(tenure, given(tenure, opened()), report(1, sales_fen=1_300_001))
    then(
        events,
        filed(1, sales_fen=1_300_001),
        assessed(1, "excellent", row("sales_fen", 1_000_000, 1_300_001, 1, "0.300001")),
    )


def test_seller_shrinking_sales_fail():
    events = when(tenure, given(tenure, opened()), report(1, sales_fen=500_000))
    then(
        events,
        filed(1, sales_fen=500_000),
        *failed(
            1,
            ["sales_fen: average annual growth -0.5000 is below 0.10"],
            row("sales_fen", 1_000_000, 500_000, 1, "-0.5000"),
        ),
    )


# -- influencer boundaries, year 1 -------------------------------------------------------------
def test_influencer_exactly_thirty_percent_on_both_is_excellent_at_once():  # 30%以上: includes
    events = when(
        tenure,
        given(tenure, opened("influencer")),
        report(1, followers=130_000, exposure=1_300_000),
    )
    then(
        events,
        filed(1, followers=130_000, exposure=1_300_000),
        assessed(
            1,
            "excellent",
            row("followers", 100_000, 130_000, 1, "0.3000", "influencer"),
            row("exposure", 1_000_000, 1_300_000, 1, "0.3000", "influencer"),
            findings=None,
        ),
    )


def test_influencer_below_excellent_waits_for_the_assessors_findings():
    """Findings could still make the year excellent, so the report alone is not graded."""
    state = given(tenure, opened("influencer"))
    events = when(tenure, state, report(1, followers=110_000, exposure=1_100_000))
    then(events, filed(1, followers=110_000, exposure=1_100_000))
    state = given(tenure, opened("influencer"), events)
    then(
        when(tenure, state, findings(1, False, False)),
        findings_recorded(1, False, False),
        assessed(
            1,
            "qualified",
            row("followers", 100_000, 110_000, 1, "0.1000", "influencer"),
            row("exposure", 1_000_000, 1_100_000, 1, "0.1000", "influencer"),
            findings={"ability_clearly_improved": False, "influence_further_increased": False},
        ),
    )


def test_findings_recorded_first_grade_the_report_when_it_comes():
    state = given(tenure, opened("influencer"), findings_recorded(1, True, True))
    events = when(tenure, state, report(1, followers=100_000, exposure=1_000_000))
    then(
        events,
        filed(1, followers=100_000, exposure=1_000_000),
        assessed(
            1,
            "excellent",
            row("followers", 100_000, 100_000, 1, "0.0000", "influencer"),
            row("exposure", 1_000_000, 1_000_000, 1, "0.0000", "influencer"),
            basis="assessor_findings",
            findings={"ability_clearly_improved": True, "influence_further_increased": True},
        ),
    )


@pytest.mark.parametrize(
    "followers, exposure, ability, influence, expected",
    [
        (129_999, 1_300_000, False, False, "qualified"),  # excellent needs both figures at 30%
        (130_000, 1_299_999, False, False, "qualified"),
        (109_999, 1_100_000, False, False, "failed"),  # qualified needs both figures at 10%
        (110_000, 1_099_999, False, False, "failed"),
        (100_000, 1_000_000, True, False, "qualified"),  # or ability clearly improved
        (100_000, 1_000_000, False, True, "failed"),  # influence alone is not an alternative
        (100_000, 1_000_000, True, True, "excellent"),  # ability and influence: excellent
        (110_000, 1_100_000, True, True, "excellent"),
        (129_999, 1_300_000, True, False, "qualified"),
    ],
)
def test_influencer_growth_and_findings(followers, exposure, ability, influence, expected):
    assert influencer_year(1, followers, exposure, ability, influence) == expected


def test_influencer_failing_on_growth_and_findings_explains_both():
    state = given(tenure, opened("influencer"), filed(1, followers=300_000, exposure=1_000_000))
    events = when(tenure, state, findings(1, False, True))
    reasons = [
        "exposure: average annual growth 0.0000 is below 0.10",
        "the county assessor found promotion ability not clearly improved",
    ]
    flags = {"ability_clearly_improved": False, "influence_further_increased": True}
    then(
        events,
        findings_recorded(1, False, True),
        *failed(
            1,
            reasons,
            row("followers", 100_000, 300_000, 1, "2.0000", "influencer"),
            row("exposure", 1_000_000, 1_000_000, 1, "0.0000", "influencer"),
            findings=flags,
        ),
    )


def test_an_influencer_year_without_findings_is_graded_on_its_figures_at_the_windows_close():
    state = given(tenure, opened("influencer"), filed(1, followers=110_000, exposure=1_100_000))
    assert when(tenure, state, FireDeadlines(), today=due(1)) == []
    day_after = D(2028, 1, 22)  # the window's last day, Friday 2028-01-21, has passed
    then(
        when(tenure, state, FireDeadlines(), today=day_after),
        assessed(
            1,
            "qualified",
            row("followers", 100_000, 110_000, 1, "0.1000", "influencer"),
            row("exposure", 1_000_000, 1_100_000, 1, "0.1000", "influencer"),
            on=day_after,
            findings=None,
        ),
    )


# -- compounded over 2 and 3 years -----------------------------------------------------------
@pytest.mark.parametrize(
    "year, sales, expected, growth",
    [
        (2, 1_210_000, "qualified", "0.1000"),  # 1.1^2
        (2, 1_209_999, "failed", "0.09999955"),  # more digits: never shown as reaching 10%
        (2, 1_200_000, "failed", "0.0954"),  # 20% over two years is not 10% a year
        (3, 1_331_000, "qualified", "0.1000"),  # 1.1^3
        (3, 1_330_999, "failed", "0.09999972"),
        (2, 1_690_000, "qualified", "0.3000"),  # 1.3^2: not above 30%
        (2, 1_690_001, "excellent", "0.30000038"),
        (3, 2_197_000, "qualified", "0.3000"),  # 1.3^3
        (3, 2_197_001, "excellent", "0.30000020"),
    ],
)
def test_seller_growth_is_compounded(year, sales, expected, growth):
    events = when(
        tenure,
        given(tenure, *history("seller", year - 1)),
        report(year, sales_fen=sales),
        today=in_year(year),
    )
    assert types(events)[0] == "AnnualReportFiled"
    assert grade_of(events) == expected
    assert events[1].payload["computation"] == [row("sales_fen", 1_000_000, sales, year, growth)]


def test_seller_year_three_exactly_compounded_ten_percent():
    then(
        when(
            tenure,
            given(tenure, *history("seller", 2)),
            report(3, sales_fen=1_331_000),
            today=in_year(3),
        ),
        filed(3, sales_fen=1_331_000),
        assessed(3, "qualified", row("sales_fen", 1_000_000, 1_331_000, 3, "0.1000")),
    )


@pytest.mark.parametrize(
    "year, followers, exposure, expected",
    [
        (2, 121_000, 1_210_000, "qualified"),
        (2, 120_999, 1_210_000, "failed"),
        (2, 169_000, 1_690_000, "excellent"),  # 1.3^2, inclusive for influencers
        (2, 168_999, 1_690_000, "qualified"),
        (3, 133_100, 1_331_000, "qualified"),
        (3, 133_100, 1_330_999, "failed"),
        (3, 219_700, 2_197_000, "excellent"),
        (3, 219_699, 2_197_000, "qualified"),
    ],
)
def test_influencer_growth_is_compounded(year, followers, exposure, expected):
    assert influencer_year(year, followers, exposure) == expected


def test_compounded_failure_explains_itself():
    events = when(
        tenure,
        given(tenure, *history("seller", 1)),
        report(2, sales_fen=1_200_000),
        today=in_year(2),
    )
    reason = "sales_fen: average annual growth 0.0954 is below 0.10"
    then(
        events,
        filed(2, sales_fen=1_200_000),
        *failed(2, [reason], row("sales_fen", 1_000_000, 1_200_000, 2, "0.0954")),
    )


# -- a baseline of zero (or missing) ------------------------------------------------------------
ZERO = "baseline is 0: no average growth exists"


def zero_row(figure, current, years=1, track="seller"):
    return {**row(figure, 0, current, years, None, track), "note": ZERO}


@pytest.mark.parametrize("baseline", [{"sales_fen": 0}, {}])
def test_a_seller_with_no_baseline_cannot_show_growth_and_fails(baseline):
    """Growth from nothing has no average rate, and LT-11.1 gives sellers no alternative: the
    year is unqualified with that reason, and the Leading Group decides on the proposal."""
    events = when(tenure, given(tenure, opened("seller", baseline)), report(1, sales_fen=5_000_000))
    reason = "sales_fen: the baseline is 0, so no average annual growth can be computed"
    then(
        events,
        filed(1, sales_fen=5_000_000),
        *failed(1, [reason], zero_row("sales_fen", 5_000_000)),
    )


@pytest.mark.parametrize(
    "ability, influence, expected, basis",
    [
        (True, False, "qualified", "assessor_findings"),
        (True, True, "excellent", "assessor_findings"),
    ],
)
def test_an_influencer_with_no_baseline_passes_through_the_assessors_findings(
    ability, influence, expected, basis
):
    state = given(
        tenure,
        opened("influencer", {"followers": 0, "exposure": 1_000_000}),
        filed(1, followers=50_000, exposure=5_000_000),
    )
    events = when(tenure, state, findings(1, ability, influence))
    then(
        events,
        findings_recorded(1, ability, influence),
        assessed(
            1,
            expected,
            zero_row("followers", 50_000, track="influencer"),
            row("exposure", 1_000_000, 5_000_000, 1, "4.0000", "influencer"),
            basis=basis,
            findings={
                "ability_clearly_improved": ability,
                "influence_further_increased": influence,
            },
        ),
    )


def test_an_influencer_with_no_baseline_and_no_findings_fails_at_the_due_date():
    state = given(
        tenure,
        opened("influencer", {"followers": 100_000}),
        filed(1, followers=500_000, exposure=9_000_000),
    )
    day_after = D(2028, 1, 22)
    reasons = [
        "exposure: the baseline is 0, so no average annual growth can be computed",
        "no assessor findings were recorded for the year",
    ]
    then(
        when(tenure, state, FireDeadlines(), today=day_after),
        *failed(
            1,
            reasons,
            row("followers", 100_000, 500_000, 1, "4.0000", "influencer"),
            zero_row("exposure", 9_000_000, track="influencer"),
            on=day_after,
            findings=None,
        ),
    )


def test_zero_growth_from_zero_is_not_growth():
    assert grade("seller", {"sales_fen": 0}, {"sales_fen": 0}, 1)["result"] == "unqualified"


# -- refusals --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "track, figures, missing",
    [
        ("seller", {}, ["sales_fen"]),
        ("seller", {"followers": 200_000}, ["sales_fen"]),
        ("influencer", {"followers": 200_000}, ["exposure"]),
        ("influencer", {"sales_fen": 2_000_000}, ["followers", "exposure"]),
    ],
)
def test_a_missing_figure_is_refused(track, figures, missing):
    err = refused("LT-11.1", tenure, given(tenure, opened(track)), report(1, **figures))
    assert err.fields == {f"figures.{f}": ["Required."] for f in missing}


def test_one_report_per_year():
    state = given(tenure, opened(), filed(1, sales_fen=1_100_000))
    err = refused("LT-11.1", tenure, state, report(1, sales_fen=1_500_000))
    assert err.fields == {"tenure_year": ["Already reported."]}


@pytest.mark.parametrize("year", [0, 4, -1, 10])
def test_year_outside_the_tenure_is_refused(year):
    err = refused(
        "LT-10", tenure, given(tenure, opened()), report(year, on=in_year(1), sales_fen=2_000_000)
    )
    assert err.fields == {"tenure_year": ["Must be one of 1, 2, 3."]}


def test_a_report_before_its_window_opens_is_refused_naming_the_window():
    """The report covers the year's twelve months: not even on the year's last day."""
    window = "2027-11-23 to 2028-01-21 (a last day that is not a working day moves to the next "
    window += "working day)"
    for on in (START, D(2027, 11, 22)):
        err = refused("LT-11.1", tenure, given(tenure, opened()), report(1, on=on, sales_fen=1))
        assert err.fields == {"reported_on": [f"Before the report window of year 1: {window}."]}
        assert window in err.message
    assert types(when(tenure, given(tenure, opened()), report(1, sales_fen=2_000_000)))[0] == (
        "AnnualReportFiled"
    )  # the day after the year: the window's first day


def test_a_report_on_the_windows_last_day_is_in_time_and_the_day_after_is_not():
    state = given(tenure, opened())
    assert types(when(tenure, state, report(1, on=due(1), sales_fen=2_000_000)))[0] == (
        "AnnualReportFiled"
    )
    err = refused("LT-11.1", tenure, state, report(1, on=D(2028, 1, 22), sales_fen=2_000_000))
    assert err.fields == {"reported_on": ["After the report window of year 1 (closed 2028-01-21)."]}


def test_a_window_ending_on_a_holiday_closes_on_the_next_working_day():
    # 2028-01-21 made a holiday (a test value): the window's last day is Monday 2028-01-24
    calendar = WorkingDayCalendar(
        {2028: {"holidays": ["2028-01-21"], "workdays": []}, 2027: {"holidays": [], "workdays": []}}
    )
    state = given(tenure, opened())
    late = report(1, on=D(2028, 1, 24), sales_fen=2_000_000)
    assert types(when(tenure, state, late, calendar=calendar))[0] == "AnnualReportFiled"
    refused(
        "LT-11.1",
        tenure,
        state,
        report(1, on=D(2028, 1, 25), sales_fen=2_000_000),
        calendar=calendar,
    )


def test_a_report_filed_late_in_the_records_but_dated_in_its_window_is_taken():
    """The act's date decides, not the day it is recorded."""
    events = when(
        tenure, given(tenure, opened()), report(1, sales_fen=2_000_000), today=D(2028, 6, 1)
    )
    assert events[0].payload["reported_on"] == in_year(1)
    assert events[1].payload["assessed_on"] == in_year(1)


@pytest.mark.parametrize(
    "on, today, clause, message",
    [
        (D(2027, 11, 24), D(2027, 11, 23), "LT-11.1", "Must not be after today (2027-11-23)."),
        (D(9999, 12, 31), D(2027, 11, 23), "LT-11.1", "Must not be after today (2027-11-23)."),
        (
            D(2022, 8, 31),
            D(2027, 11, 23),
            "LT-16",
            "Must not be before 2022-09-01, when the rules took effect.",
        ),
    ],
)
def test_a_report_date_out_of_bounds_is_refused(on, today, clause, message):
    err = refused(
        clause, tenure, given(tenure, opened()), report(1, on=on, sales_fen=1), today=today
    )
    assert err.fields == {"reported_on": [message]}


def test_an_act_dated_before_the_tenures_previous_act_is_refused():
    state = given(tenure, opened(), filed(1, on=D(2027, 12, 10), **PASSING["seller"]))
    assert state.last_act_on == D(2027, 12, 10)
    county = RecordFindings(
        tenure_year=1, found_on=D(2027, 12, 9), application_and_innovation=True, other_work="无"
    )
    err = refused("LT-13", tenure, state, county, today=D(2027, 12, 20))
    assert err.fields == {
        "found_on": ["Must not be before the tenure's previous act (2027-12-10)."]
    }
    then(
        when(tenure, state, replace(county, found_on=D(2027, 12, 10))),
        NewEvent(
            "AssessorFindingsRecorded",
            {
                "talent_id": TALENT,
                "tenure_year": 1,
                "application_and_innovation": True,
                "other_work": "无",
                "note": "",
                "found_on": D(2027, 12, 10),
            },
            ("LT-12.3", "LT-12.5", "LT-13"),
        ),
    )  # the same day is not before it


def test_a_year_counted_missing_cannot_be_reported_without_the_countys_order():
    missed = when(tenure, given(tenure, opened()), FireDeadlines(), today=D(2028, 1, 22))
    assert types(missed) == ["AnnualReportMissed"]
    err = refused(
        "LT-13",
        tenure,
        given(tenure, opened(), missed),
        report(1, on=D(2028, 1, 22), sales_fen=2_000_000),
    )
    assert err.fields == {"tenure_year": ["Report missing, breach report-y1 open."]}


def test_no_report_before_the_tenure_is_opened():
    refused("LT-11.1", tenure, given(tenure), report(1, sales_fen=2_000_000))


def test_reports_go_on_while_a_proposal_is_pending_but_not_once_disqualified():
    fail = when(tenure, given(tenure, opened()), report(1, sales_fen=900_000))
    pending = given(tenure, opened(), fail)
    assert types(when(tenure, pending, report(2, sales_fen=2_000_000), today=in_year(2))) == [
        "AnnualReportFiled",
        "AssessmentPassed",
    ]
    decided = when(tenure, pending, ApproveDisqualification(in_year(1)))
    gone = given(tenure, opened(), fail, decided)
    assert gone.status == "disqualified"
    refused("LT-11.1", tenure, gone, report(2, sales_fen=2_000_000), today=in_year(2))


def test_findings_are_for_influencers_only():
    err = refused("LT-11.1", tenure, given(tenure, opened()), findings(1, True, True))
    assert err.fields == {"ability_clearly_improved": ["Influencers only."]}


def test_findings_once_a_year_and_not_after_the_grade():
    state = given(tenure, opened("influencer"), findings_recorded(1, True, False))
    err = refused("LT-13", tenure, state, findings(1, True, True))
    assert err.fields == {"tenure_year": ["Findings already recorded."]}
    graded = given(tenure, *history("influencer", 1))
    err = refused("LT-11.1", tenure, graded, findings(1, True, True))
    assert err.fields == {"tenure_year": ["Already graded."]}


# -- disqualification after a failed year (LT-14.4) -----------------------------------------------
def test_disqualification_approved_after_a_failed_assessment():
    fail = when(tenure, given(tenure, opened()), report(1, sales_fen=900_000))
    state = given(tenure, opened(), fail)
    reasons = [
        "annual assessment of year 1 failed",
        "sales_fen: average annual growth -0.1000 is below 0.10",
    ]
    events = when(tenure, state, ApproveDisqualification(in_year(1)))
    then(
        events,
        NewEvent(
            "TalentDisqualified",
            {
                "talent_id": TALENT,
                "ground": "LT-14.4",
                "reasons": reasons,
                "decided_on": in_year(1),
                "proposal_id": "P1",
            },
            ("LT-14", "LT-14.4"),
        ),
    )
    done = given(tenure, opened(), fail, events)
    assert done.status == "disqualified"
    assert done.proposals["P1"]["status"] == "approved"
    refused("LT-14", tenure, done, ApproveDisqualification(in_year(1)))


def test_disqualification_approval_needs_a_proposal():
    refused("LT-14", tenure, given(tenure), ApproveDisqualification(D(2026, 11, 23)))
    refused("LT-14", tenure, given(tenure, opened()), ApproveDisqualification(D(2026, 11, 23)))
    refused(
        "LT-14",
        tenure,
        given(tenure, *history("seller", 1)),
        ApproveDisqualification(D(2026, 11, 23)),
    )


def test_a_declined_proposal_keeps_the_title():
    fail = when(tenure, given(tenure, opened()), report(1, sales_fen=900_000))
    state = given(tenure, opened(), fail)
    events = when(tenure, state, DeclineDisqualification(in_year(1), ("情况特殊，予以保留",)))
    then(
        events,
        NewEvent(
            "DisqualificationDeclined",
            {
                "talent_id": TALENT,
                "proposal_id": "P1",
                "ground": "LT-14.4",
                "reasons": ["情况特殊，予以保留"],
                "decided_on": in_year(1),
            },
            ("LT-14", "LT-14.4"),
        ),
    )
    kept = given(tenure, opened(), fail, events)
    assert (kept.status, kept.proposals["P1"]["status"]) == ("open", "declined")
    refused("LT-14", tenure, kept, ApproveDisqualification(in_year(1)))


def test_a_second_failed_year_is_a_second_proposal():
    fail = when(tenure, given(tenure, opened()), report(1, sales_fen=900_000))
    declined = when(
        tenure, given(tenure, opened(), fail), DeclineDisqualification(in_year(1), ("保留",))
    )
    state = given(tenure, opened(), fail, declined)
    events = when(tenure, state, report(2, sales_fen=1_000_000), today=in_year(2))
    reason = "sales_fen: average annual growth 0.0000 is below 0.10"
    then(
        events,
        filed(2, sales_fen=1_000_000),
        *failed(2, [reason], row("sales_fen", 1_000_000, 1_000_000, 2, "0.0000"), proposal=2),
    )


def test_the_number_of_failed_years_before_a_proposal_is_a_parameter(monkeypatch):
    monkeypatch.setattr(policy, "FAILED_YEARS_FOR_PROPOSAL", 2)
    first = when(tenure, given(tenure, opened()), report(1, sales_fen=900_000))
    assert types(first) == ["AnnualReportFiled", "AssessmentFailed"]
    second = when(
        tenure, given(tenure, opened(), first), report(2, sales_fen=900_000), today=in_year(2)
    )
    assert types(second) == ["AnnualReportFiled", "AssessmentFailed", "DisqualificationProposed"]


# -- opening -------------------------------------------------------------------------------------
@pytest.mark.parametrize("track", ["seller", "influencer"])
def test_tenure_opened_once(track):
    events = when(tenure, given(tenure), open_tenure(track))
    then(events, opened(track))
    state = given(tenure, events)
    assert (state.status, state.track, state.county, state.baseline, state.reports) == (
        "open",
        track,
        COUNTY,
        baseline_of(track),
        {},
    )
    assert when(tenure, state, open_tenure(track)) == []
    assert when(tenure, state, open_tenure(track, {"sales_fen": 9})) == []


def test_an_event_stored_before_the_schedule_was_recorded_still_replays():
    old = NewEvent(
        "TenureOpened",
        {k: v for k, v in opened().payload.items() if k not in ("years", "origin")},
        ("LT-10", "LT-11"),
    )
    assert given(tenure, old).years == tuple(YEARS)


def test_disqualification_proposed_before_proposal_ids_still_replays():
    old = NewEvent(
        "DisqualificationProposed",
        {"talent_id": TALENT, "ground": "LT-14.4", "reasons": ["old"]},
        ("LT-14", "LT-14.4"),
    )
    state = given(tenure, opened(), old)
    assert state.pending() == ["P1"]
    then(
        when(tenure, state, ApproveDisqualification(in_year(1))),
        NewEvent(
            "TalentDisqualified",
            {
                "talent_id": TALENT,
                "ground": "LT-14.4",
                "reasons": ["old"],
                "decided_on": in_year(1),
                "proposal_id": "P1",
            },
            ("LT-14", "LT-14.4"),
        ),
    )


# -- grading directly --------------------------------------------------------------------------
TEN, THIRTY = Decimal("0.10"), Decimal("0.30")


@pytest.mark.parametrize(
    "baseline, current, years, rate, strictly, expected",
    [
        (100, 110, 1, TEN, False, True),
        (100, 110, 1, TEN, True, False),
        (1_000_000, 1_099_999, 1, TEN, False, False),
        (1_000_000, 1_210_000, 2, TEN, False, True),
        (1_000_000, 1_209_999, 2, TEN, False, False),
        (1_000_000, 1_331_000, 3, TEN, False, True),
        (1_000_000, 1_330_999, 3, TEN, False, False),
        (1_000_000, 2_197_000, 3, THIRTY, False, True),
        (1_000_000, 2_197_000, 3, THIRTY, True, False),
        (1_000_000, 2_197_001, 3, THIRTY, True, True),
        (7, 8, 1, Decimal("0.142857"), False, True),
        (7, 8, 1, Decimal("0.142858"), False, False),
        (1, 0, 1, TEN, False, False),
    ],
)
def test_reaches(baseline, current, years, rate, strictly, expected):
    assert reaches(baseline, current, years, rate, strictly=strictly) is expected


@pytest.mark.parametrize(
    "baseline, current, years, expected",
    [
        (1_000_000, 1_100_000, 1, "0.1000"),
        (1_000_000, 1_331_000, 3, "0.1000"),
        (1_000_000, 2_197_000, 3, "0.3000"),
        (4, 9, 2, "0.5000"),
        (100, 50, 1, "-0.5000"),
        (100, 0, 2, "-1.0000"),
        (1_000_000, 1_099_949, 1, "0.0999"),
        (1_000_000, 1_099_950, 1, "0.1000"),  # half-even at 4 places
        (3, 4, 1, "0.3333"),
    ],
)
def test_average_growth(baseline, current, years, expected):
    assert average_growth(baseline, current, years) == expected


@pytest.mark.parametrize(
    "current, years",
    [
        (1_099_999, 1),
        (1_300_001, 1),
        (1_690_001, 2),
        (2_197_001, 3),
        (1_330_999, 3),
        (1_100_000, 1),
    ],
)
def test_the_shown_growth_agrees_with_both_decisions(current, years):
    for rate, strictly in ((TEN, False), (THIRTY, True)):
        shown = Decimal(shown_growth(1_000_000, current, years, (TEN, False), (THIRTY, True)))
        assert (shown > rate if strictly else shown >= rate) == reaches(
            1_000_000, current, years, rate, strictly=strictly
        )
