"""The assessment cycle (LT-11.1, LT-13, LT-14.1, LT-16): each tenure year's report window after
the year, the reminder before it closes, a missing report turned into a county rectification
order and only a missed deadline into an LT-14.1 proposal; sweeps that catch up on dates long
past; the tenure counted from the certification's act date; LT-16 transfers judged on
2022-09-01; the county's yearly findings (LT-12.3, LT-12.5); events of the earlier reading."""

import datetime as dt

import pytest
from assessment_given import (
    CALENDAR,
    PASSING,
    START,
    TALENT,
    D,
    due,
    filed,
    history,
    in_year,
    opened,
    refused,
    report,
    when,
)
from givenwhenthen import NewEvent, given, then, types

from services.assessment.domain import policy
from services.assessment.domain.tenure import (
    ConfirmRectification,
    FireDeadlines,
    OpenTenure,
    OrderRectification,
    RecordFindings,
    TransferTenure,
    tenure,
)
from shared.contracts import load_all

REMIND_ON = D(2028, 1, 7)  # 14 days before the year-1 window's last day, 2028-01-21
MISSED_ON = D(2028, 1, 22)


def missed(n=1, closed=None, on=None):
    closed = closed or due(n)
    return NewEvent(
        "AnnualReportMissed",
        {
            "talent_id": TALENT,
            "tenure_year": n,
            "breach_id": f"report-y{n}",
            "window_opens_on": in_year(n),
            "window_closed_on": closed,
            "detail": f"no annual report for year {n} was filed in its window "
            f"({in_year(n)} to {closed})",
            "missed_on": on or closed + dt.timedelta(days=1),
        },
        ("LT-11.1", "LT-13"),
    )


def order(deadline, on=D(2028, 2, 1), breach_id="report-y1"):
    return OrderRectification(breach_id, deadline, "补报第1年度报告", on)


def ordered(deadline, on=D(2028, 2, 1), breach_id="report-y1"):
    return NewEvent(
        "RectificationOrdered",
        {
            "talent_id": TALENT,
            "breach_id": breach_id,
            "requirement": "补报第1年度报告",
            "deadline": deadline,
            "ordered_on": on,
        },
        ("LT-13", "LT-11.1"),
    )


# -- the reminder before a window closes ------------------------------------------------------------
def test_the_talent_is_reminded_a_named_number_of_days_before_the_window_closes_once():
    state = given(tenure, opened())
    assert when(tenure, state, FireDeadlines(), today=REMIND_ON - dt.timedelta(days=1)) == []
    reminder = when(tenure, state, FireDeadlines(), today=REMIND_ON)
    then(
        reminder,
        NewEvent(
            "AnnualReportReminded",
            {
                "talent_id": TALENT,
                "tenure_year": 1,
                "window_opens_on": in_year(1),
                "window_closes_on": due(1),
                "reminded_on": REMIND_ON,
            },
            ("LT-11.1",),
        ),
    )
    assert when(tenure, given(tenure, opened(), reminder), FireDeadlines(), today=due(1)) == []
    # a reminder is a message, not an act: a report dated before it is still taken
    late = given(tenure, opened(), reminder)
    assert types(when(tenure, late, report(1, sales_fen=2_000_000), today=due(1)))[0] == (
        "AnnualReportFiled"
    )


def test_no_reminder_once_the_report_is_in():
    state = given(tenure, opened(), filed(1, **PASSING["seller"]))
    assert when(tenure, state, FireDeadlines(), today=REMIND_ON) == []


# -- a missing report: the county is told, and orders it filed (LT-13) ----------------------------
def test_a_report_missing_at_the_windows_close_is_not_a_failed_assessment():
    state = given(tenure, opened())
    assert types(when(tenure, state, FireDeadlines(), today=due(1))) == ["AnnualReportReminded"]
    events = when(tenure, state, FireDeadlines(), today=MISSED_ON)
    then(events, missed(1))
    after = given(tenure, opened(), events)
    assert after.results == {} and after.proposals == {}
    assert after.breaches["report-y1"]["status"] == "open"
    assert when(tenure, after, FireDeadlines(), today=D(2028, 6, 1)) == []  # told once


def test_a_window_whose_last_day_is_a_sunday_closes_on_the_monday():
    """Year 2's window: 2028-11-23 to Sunday 2029-01-21, so to Monday 2029-01-22."""
    state = given(tenure, *history("seller", 1))
    assert types(when(tenure, state, report(2, on=D(2029, 1, 22), sales_fen=2_000_000)))[0] == (
        "AnnualReportFiled"
    )
    assert types(when(tenure, state, FireDeadlines(), today=D(2029, 1, 22))) == []
    then(
        when(tenure, state, FireDeadlines(), today=D(2029, 1, 23)),
        missed(2, closed=D(2029, 1, 22)),
    )


def test_the_missing_report_filed_by_the_countys_deadline_rectifies_it_and_is_graded():
    state = given(tenure, opened(), missed(1))
    then(when(tenure, state, order(D(2028, 3, 31))), ordered(D(2028, 3, 31)))
    state = given(tenure, opened(), missed(1), ordered(D(2028, 3, 31)))
    events = when(tenure, state, report(1, on=D(2028, 3, 31), sales_fen=2_000_000))
    assert types(events) == ["AnnualReportFiled", "RectificationConfirmed", "AssessmentPassed"]
    assert events[1].payload == {
        "talent_id": TALENT,
        "breach_id": "report-y1",
        "rectified_on": D(2028, 3, 31),
        "note": "the annual report of year 1 was filed",
    }
    assert events[2].payload["assessed_on"] == D(2028, 3, 31)
    done = given(tenure, opened(), missed(1), ordered(D(2028, 3, 31)), events)
    assert done.breaches["report-y1"]["status"] == "rectified"
    assert when(tenure, done, FireDeadlines(), today=D(2028, 4, 1)) == []


def test_only_a_missed_deadline_is_an_lt_14_1_proposal():
    state = given(tenure, opened(), missed(1), ordered(D(2028, 3, 31)))
    assert when(tenure, state, FireDeadlines(), today=D(2028, 3, 31)) == []
    events = when(tenure, state, FireDeadlines(), today=D(2028, 4, 1))
    assert types(events) == ["RectificationDeadlineMissed", "DisqualificationProposed"]
    proposal = events[1].payload
    assert (proposal["ground"], proposal["proposed_on"], proposal["breach_ids"]) == (
        "LT-14.1",
        D(2028, 4, 1),
        ["report-y1"],
    )
    assert proposal["reasons"] == [
        "the annual report of year 1 not filed by the county's deadline 2028-03-31: no annual "
        "report for year 1 was filed in its window (2027-11-23 to 2028-01-21)"
    ]
    err = refused(
        "LT-13",
        tenure,
        state,
        report(1, on=D(2028, 4, 1), sales_fen=2_000_000),
    )
    assert err.fields == {"reported_on": ["After the deadline 2028-03-31."]}


@pytest.mark.parametrize(
    "deadline, field, message",
    [
        (D(2028, 1, 31), "deadline", "Must not be before the order (2028-02-01)."),
        (D(2028, 5, 1), "deadline", "Must not be after 2028-05-01."),  # 90 days: the last one
        (D(2028, 5, 2), "deadline", "Must not be after 2028-05-01."),
    ],
)
def test_the_deadline_for_a_missing_report_is_bounded(deadline, field, message):
    state = given(tenure, opened(), missed(1))
    if deadline == D(2028, 5, 1):
        assert types(when(tenure, state, order(deadline))) == ["RectificationOrdered"]
        return
    err = refused("LT-13", tenure, state, order(deadline))
    assert err.fields == {field: [message]}
    assert policy.MISSED_REPORT_MAX_DEADLINE_DAYS == 90


def test_a_missing_report_is_rectified_by_filing_it_not_by_a_confirmation():
    state = given(tenure, opened(), missed(1), ordered(D(2028, 3, 31)))
    err = refused(
        "LT-13", tenure, state, ConfirmRectification("report-y1", D(2028, 3, 1), "已补报")
    )
    assert err.fields == {"breach_id": ["Rectified by filing the year's report."]}


def test_a_missing_report_the_county_never_orders_is_no_ground_by_itself():
    events = [opened(), missed(1)]
    for n in (2, 3):
        events += [filed(n, **PASSING["seller"])]
        events += when(tenure, given(tenure, *events[:-1]), report(n, **PASSING["seller"]))[1:]
    state = given(tenure, *events)
    assert when(tenure, state, FireDeadlines(), today=D(2030, 6, 1)) == []  # open, not completed
    assert state.breaches["report-y1"]["status"] == "open"


def test_an_influencer_report_filed_under_an_order_without_findings_is_graded_at_the_deadline():
    opening = opened("influencer")
    history = [opening, missed(1), ordered(D(2028, 3, 31))]
    filing = when(
        tenure,
        given(tenure, *history),
        report(1, on=D(2028, 3, 1), followers=110_000, exposure=1_100_000),
    )
    assert types(filing) == ["AnnualReportFiled", "RectificationConfirmed"]
    state = given(tenure, *history, filing)
    assert when(tenure, state, FireDeadlines(), today=D(2028, 3, 31)) == []
    graded = when(tenure, state, FireDeadlines(), today=D(2028, 4, 1))
    assert [(e.event_type, e.payload["assessed_on"]) for e in graded] == [
        ("AssessmentPassed", D(2028, 4, 1))
    ]


# -- sweeps that catch up (dates long past) ---------------------------------------------------------
def certified_2023():
    """Certified on 2023-03-01 (recorded years later): year 1 ended 2024-02-29."""
    return OpenTenure(
        talent_id=TALENT,
        county="楚雄市",
        track="seller",
        period_start=D(2023, 3, 1),
        period_end=D(2026, 2, 28),
        baseline_year=2022,
        baseline={"sales_fen": 1_000_000},
        certified_on=D(2023, 3, 1),
    )


HISTORY_CALENDAR = CALENDAR.__class__(
    {year: {"holidays": [], "workdays": []} for year in range(2023, 2032)}
)


def test_a_tenure_arriving_with_windows_closed_long_ago_gets_missing_reports_not_failures():
    opening = when(tenure, given(tenure), certified_2023(), today=D(2026, 12, 7))
    years = opening[0].payload["years"]
    assert [(y["window_opens_on"], y["report_due_on"]) for y in years] == [
        (D(2024, 3, 1), D(2024, 4, 29)),
        (D(2025, 3, 1), D(2025, 4, 29)),
        (D(2026, 3, 1), D(2026, 4, 29)),
    ]
    events = when(
        tenure,
        given(tenure, opening),
        FireDeadlines(),
        today=D(2026, 12, 7),
        calendar=HISTORY_CALENDAR,
    )
    assert [(e.event_type, e.payload["tenure_year"], e.payload["missed_on"]) for e in events] == [
        ("AnnualReportMissed", 1, D(2024, 4, 30)),
        ("AnnualReportMissed", 2, D(2025, 4, 30)),
        ("AnnualReportMissed", 3, D(2026, 4, 30)),
    ]  # no AssessmentFailed, no proposal, no reminder for windows long closed


def test_a_talent_whose_window_is_open_on_arrival_gets_the_right_state():
    opening = when(
        tenure,
        given(tenure),
        OpenTenure(
            talent_id=TALENT,
            county="楚雄市",
            track="seller",
            period_start=D(2025, 11, 1),
            period_end=D(2028, 10, 31),
            baseline_year=2024,
            baseline={"sales_fen": 1_000_000},
            certified_on=D(2025, 11, 1),
        ),
        today=D(2026, 12, 7),
    )
    state = given(tenure, opening)
    # year 1 ended 2026-10-31; its window runs to 2026-12-30: open, a reminder from 2026-12-16
    assert (
        when(tenure, state, FireDeadlines(), today=D(2026, 12, 7), calendar=HISTORY_CALENDAR) == []
    )
    assert types(
        when(
            tenure, state, report(1, on=D(2026, 11, 20), sales_fen=2_000_000), today=D(2026, 12, 7)
        )
    ) == ["AnnualReportFiled", "AssessmentPassed"]


def test_past_reports_dated_in_their_windows_are_taken_before_the_sweep_marks_them():
    state = given(tenure, when(tenure, given(tenure), certified_2023(), today=D(2026, 12, 7)))
    events = when(
        tenure,
        state,
        report(1, on=D(2024, 3, 20), sales_fen=1_100_000),
        today=D(2026, 12, 7),
        calendar=HISTORY_CALENDAR,
    )
    assert [
        (e.event_type, e.payload.get("reported_on") or e.payload.get("assessed_on")) for e in events
    ] == [
        ("AnnualReportFiled", D(2024, 3, 20)),
        ("AssessmentPassed", D(2024, 3, 20)),
    ]


# -- LT-10: the tenure counts from the certification's act date ------------------------------------
def test_the_tenure_counts_from_the_act_date_not_from_when_it_was_recorded():
    command = OpenTenure(
        talent_id=TALENT,
        county="楚雄市",
        track="seller",
        period_start=D(2026, 12, 7),  # the day it was recorded
        period_end=D(2029, 12, 6),
        baseline_year=2023,
        baseline={"sales_fen": 1},
        certified_on=D(2024, 5, 10),
    )
    payload = when(tenure, given(tenure), command, today=D(2026, 12, 7))[0].payload
    assert (payload["period_start"], payload["period_end"], payload["certified_on"]) == (
        D(2024, 5, 10),
        D(2027, 5, 9),
        D(2024, 5, 10),
    )
    assert payload["years"][0]["ends_on"] == D(2025, 5, 9)


# -- LT-16: transfers judged on 2022-09-01 -----------------------------------------------------------
def transfer(start=D(2020, 1, 10), end=D(2023, 1, 9), recorded_on=D(2023, 1, 10)):
    return TransferTenure(
        talent_id=TALENT,
        county="楚雄市",
        track="seller",
        period_start=start,
        period_end=end,
        baseline_year=2019,
        baseline={"sales_fen": 1_000_000},
        certified_on=recorded_on,
    )


def test_a_period_running_on_2022_09_01_transfers_whenever_it_is_recorded():
    """The issue's case: 2020-01-10 to 2023-01-09, recorded on 2023-01-10 (the day after)."""
    events = when(tenure, given(tenure), transfer(), today=D(2023, 1, 10))
    p = events[0].payload
    assert (p["transferred_on"], p["transfer_recorded_on"], p["origin"]) == (
        D(2022, 9, 1),
        D(2023, 1, 10),
        "yixiang_transfer",
    )
    assert [(y["tenure_year"], y["assessed"], y["window_opens_on"]) for y in p["years"]] == [
        (1, False, D(2023, 1, 10)),
        (2, False, D(2023, 1, 10)),
        (3, True, D(2023, 1, 10)),  # ended 2023-01-09: assessed, its window opens on the record
    ]
    state = given(tenure, events)
    err = refused("LT-16", tenure, state, report(2, on=D(2023, 1, 10), sales_fen=1))
    assert err.fields == {"tenure_year": ["Must be one of 3."]}
    graded = when(tenure, state, report(3, on=D(2023, 1, 10), sales_fen=1_331_000))
    assert graded[1].payload["computation"][0]["years"] == 3  # the original numbering


def test_years_that_ended_before_a_late_record_open_their_windows_on_the_record():
    events = when(
        tenure,
        given(tenure),
        transfer(D(2021, 6, 1), D(2024, 5, 31), D(2023, 8, 1)),
        today=D(2023, 8, 1),
    )
    years = events[0].payload["years"]
    assert [(y["assessed"], y["window_opens_on"], y["report_due_on"]) for y in years] == [
        (False, D(2023, 8, 1), D(2023, 9, 29)),  # ended 2022-05-31, before the rules
        (True, D(2023, 8, 1), D(2023, 9, 29)),  # ended 2023-05-31, before the record
        (True, D(2024, 6, 1), D(2024, 7, 30)),
    ]


@pytest.mark.parametrize(
    "end, assessed",
    [(D(2022, 8, 31), None), (D(2022, 9, 1), [3]), (D(2022, 9, 2), [3])],
)
def test_the_last_day_before_the_rules_does_not_transfer_and_2022_09_01_does(end, assessed):
    command = transfer(anniversary_back(end), end, D(2023, 1, 10))
    if assessed is None:
        err = refused("LT-16", tenure, given(tenure), command, today=D(2023, 1, 10))
        assert err.fields == {
            "period_end": ["Must not be before 2022-09-01 (the period was running then)."]
        }
        return
    events = when(tenure, given(tenure), command, today=D(2023, 1, 10))
    assert [y["tenure_year"] for y in events[0].payload["years"] if y["assessed"]] == assessed


def anniversary_back(end):
    return end.replace(year=end.year - 3) + dt.timedelta(days=1)


def test_a_period_that_began_on_or_after_2022_09_01_is_not_a_yixiang_transfer():
    err = refused(
        "LT-16",
        tenure,
        given(tenure),
        transfer(D(2022, 9, 1), D(2025, 8, 31), D(2023, 1, 10)),
        today=D(2023, 1, 10),
    )
    assert err.fields == {"period_start": ["Must be before 2022-09-01."]}


# -- the county's yearly findings: LT-12.3, LT-12.5 ----------------------------------------------------
def seller_findings(on=None, **kw):
    return RecordFindings(
        tenure_year=1,
        found_on=on or in_year(1),
        application_and_innovation=False,
        other_work="参加州电商协会培训授课",
        **kw,
    )


def test_lt_12_3_and_12_5_are_recorded_as_the_countys_yearly_findings():
    events = when(tenure, given(tenure, opened()), seller_findings())
    then(
        events,
        NewEvent(
            "AssessorFindingsRecorded",
            {
                "talent_id": TALENT,
                "tenure_year": 1,
                "application_and_innovation": False,
                "other_work": "参加州电商协会培训授课",
                "note": "",
                "found_on": in_year(1),
            },
            ("LT-12.3", "LT-12.5", "LT-13"),
        ),
    )


def test_findings_are_on_a_year_that_has_ended():
    err = refused("LT-11.1", tenure, given(tenure, opened()), seller_findings(D(2027, 11, 22)))
    assert list(err.fields) == ["found_on"]


def test_an_influencers_findings_need_both_of_lt_11_1s_findings():
    err = refused("LT-11.1", tenure, given(tenure, opened("influencer")), seller_findings())
    assert err.fields == {
        "ability_clearly_improved": ["Required for an influencer."],
        "influence_further_increased": ["Required for an influencer."],
    }


def test_an_influencers_findings_after_the_filing_closed_are_refused():
    state = given(tenure, opened("influencer"), filed(1, followers=110_000, exposure=1_100_000))
    late = seller_findings(
        MISSED_ON, ability_clearly_improved=True, influence_further_increased=True
    )
    err = refused("LT-11.1", tenure, state, late)
    assert err.fields == {"found_on": ["After year 1's filing closed (2028-01-21)."]}


# -- events of the earlier reading ---------------------------------------------------------------------
def test_events_of_the_earlier_reading_are_upcast_and_replay_under_the_windows():
    contracts = load_all()
    old_opened = {
        "talent_id": TALENT,
        "county": "楚雄市",
        "track": "seller",
        "period_start": "2026-11-23",
        "period_end": "2029-11-22",
        "baseline_year": 2025,
        "baseline": {"sales_fen": 1_000_000},
        "origin": "selection",
        "years": [
            {
                "tenure_year": 1,
                "starts_on": "2026-11-23",
                "ends_on": "2027-11-22",
                "report_due_on": "2027-11-22",
                "assessed": True,
            }
        ],
    }
    payload = contracts.decode("TenureOpened", 1, old_opened)
    assert "years" not in payload
    old_report = {
        "talent_id": TALENT,
        "tenure_year": 1,
        "figures": {"sales_fen": 1_200_000},
        "promotion_activities": 1,
        "backbones_trained": 5,
        "full_time_in_chuxiong": True,
        "filed_on": "2027-06-01",
    }
    report_payload = contracts.decode("AnnualReportFiled", 1, old_report)
    assert report_payload["reported_on"] == D(2027, 6, 1) and "filed_on" not in report_payload
    findings = contracts.decode(
        "AssessorFindingsRecorded",
        1,
        {
            "talent_id": TALENT,
            "tenure_year": 1,
            "ability_clearly_improved": True,
            "influence_further_increased": False,
            "note": "",
            "recorded_on": "2027-06-02",
        },
    )
    assert findings["found_on"] == D(2027, 6, 2)
    state = given(tenure, NewEvent("TenureOpened", payload, ()))
    assert state.years[0]["window_opens_on"] == D(2027, 11, 23)
    assert state.years[0]["report_due_on"] == due(1)
    assert state.last_act_on == START
    old_transfer = contracts.decode(
        "TenureOpened",
        1,
        {**old_opened, "origin": "yixiang_transfer", "transferred_on": "2027-01-10"},
    )
    assert old_transfer["transfer_recorded_on"] == D(2027, 1, 10)
    assert "transferred_on" not in old_transfer


@pytest.mark.parametrize(
    "start, assessed",
    [
        (D(2020, 9, 1), [3]),  # year 2 ends 2022-08-31: the abolished scheme's
        (D(2020, 9, 2), [2, 3]),  # year 2 ends 2022-09-01: assessed here
    ],
)
def test_a_transferred_year_is_assessed_when_it_ends_on_or_after_2022_09_01(start, assessed):
    events = when(
        tenure,
        given(tenure),
        transfer(start, anniversary_back_end(start), D(2022, 9, 5)),
        today=D(2022, 9, 5),
    )
    assert [y["tenure_year"] for y in events[0].payload["years"] if y["assessed"]] == assessed


def anniversary_back_end(start):
    return start.replace(year=start.year + 3) - dt.timedelta(days=1)
