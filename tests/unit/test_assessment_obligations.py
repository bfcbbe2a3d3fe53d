"""The tenure decider beyond the grades: LT-12 obligations and their breaches, county
rectification orders with deadlines (LT-13), the deadline timer (missed reports, missed
rectification deadlines, the period end), the other LT-14 grounds, the Leading Group's decisions
and completion of a clean period. The report windows, missing reports and LT-16 transfers are in
test_assessment_cycle.py."""

import pytest
from assessment_given import (
    END,
    PASSING,
    START,
    TALENT,
    D,
    assessed,
    due,
    filed,
    history,
    in_year,
    opened,
    proposed,
    refused,
    report,
    row,
    when,
)
from givenwhenthen import NewEvent, given, then, types

from services.assessment.domain.tenure import (
    ApproveDisqualification,
    ConfirmRectification,
    DeclineDisqualification,
    FireDeadlines,
    OrderRectification,
    ReportGround,
    tenure,
)
from shared.calendar import CalendarYearUnknown, WorkingDayCalendar

DAY_AFTER_END = D(2029, 11, 23)


def breached(breach_id, obligation, year, detail, rectifiable=True, on=None):
    return NewEvent(
        "ObligationBreached",
        {
            "talent_id": TALENT,
            "breach_id": breach_id,
            "obligation": obligation,
            "tenure_year": year,
            "detail": detail,
            "rectifiable": rectifiable,
            "found_on": on or in_year(year),
        },
        (obligation,),
    )


NO_ACTIVITY = breached(
    "LT-12.1-y1", "LT-12.1", 1, "0 promotion activities in year 1; at least 1 required"
)


def ordered(
    breach_id="LT-12.1-y1", deadline=D(2028, 3, 31), on=D(2027, 12, 1), obligation="LT-12.1"
):
    return NewEvent(
        "RectificationOrdered",
        {
            "talent_id": TALENT,
            "breach_id": breach_id,
            "requirement": "举办一次电商推广活动",
            "deadline": deadline,
            "ordered_on": on,
        },
        ("LT-13", obligation),
    )


# year 1 reported without a promotion activity (and passed), its breach found the same day
REPORTED = [
    opened(),
    filed(1, activities=0, sales_fen=1_100_000),
    assessed(1, "qualified", row("sales_fen", 1_000_000, 1_100_000, 1, "0.1000")),
]


def order(breach_id, deadline, requirement="举办一次电商推广活动", on=D(2027, 12, 1)):
    return OrderRectification(breach_id, deadline, requirement, on)


def clean_three_years(backbones=(6, 5, 4)):
    """Opened and three years reported and passed; ``backbones`` a year."""
    events = [opened()]
    for n, trained in enumerate(backbones, start=1):
        events.append(filed(n, backbones=trained, **PASSING["seller"]))
        events.append(assessed(n, "excellent", on=in_year(n)))
    return events


# -- LT-12.1: at least one promotion activity each year -----------------------------------------
def test_a_year_without_a_promotion_activity_is_a_breach_whatever_the_grade():
    events = when(tenure, given(tenure, opened()), report(1, activities=0, sales_fen=1_100_000))
    then(
        events,
        filed(1, activities=0, sales_fen=1_100_000),
        assessed(1, "qualified", row("sales_fen", 1_000_000, 1_100_000, 1, "0.1000")),
        NO_ACTIVITY,
    )
    assert given(tenure, opened(), events).breaches == {
        "LT-12.1-y1": {
            "obligation": "LT-12.1",
            "tenure_year": 1,
            "rectifiable": True,
            "status": "open",
            "deadline": None,
            "detail": "0 promotion activities in year 1; at least 1 required",
            "found_on": in_year(1),
        }
    }


def test_one_promotion_activity_is_enough():  # 1次以上: includes 1
    events = when(tenure, given(tenure, opened()), report(1, activities=1, sales_fen=1_100_000))
    assert types(events) == ["AnnualReportFiled", "AssessmentPassed"]


# -- LT-12.4: full time in Chuxiong, 3 consecutive years -----------------------------------------
def test_a_year_not_full_time_in_chuxiong_breaks_the_three_years_at_once():
    events = when(tenure, given(tenure, opened()), report(1, full_time=False, sales_fen=900_000))
    growth = "sales_fen: average annual growth -0.1000 is below 0.10"
    detail = "not working full time in Chuxiong in year 1"
    then(
        events,
        filed(1, full_time=False, sales_fen=900_000),
        NewEvent(
            "AssessmentFailed",
            {
                "talent_id": TALENT,
                "tenure_year": 1,
                "reasons": [growth],
                "computation": [row("sales_fen", 1_000_000, 900_000, 1, "-0.1000")],
                "assessed_on": in_year(1),
            },
            ("LT-11.1",),
        ),
        breached("LT-12.4-y1", "LT-12.4", 1, detail, rectifiable=False),
        # one proposal per ground: the failed year and the broken continuity are both LT-14.4
        proposed(
            1,
            [
                "annual assessment of year 1 failed",
                growth,
                f"full-time work in Chuxiong for 3 consecutive years (LT-12.4) broken: {detail}",
            ],
            in_year(1),
            breach_ids=["LT-12.4-y1"],
        ),
    )


def test_a_broken_continuity_cannot_be_rectified():
    state = given(tenure, opened(), breached("LT-12.4-y1", "LT-12.4", 1, "x", rectifiable=False))
    err = refused("LT-12.4", tenure, state, order("LT-12.4-y1", D(2028, 3, 1), "回楚雄全职工作"))
    assert err.fields == {"breach_id": ["Not rectifiable."]}


# -- LT-12.2: at least 5 backbones a year on average over the period -----------------------------
def test_backbones_below_five_a_year_on_average_are_a_breach_when_the_last_year_is_reported():
    state = given(tenure, *clean_three_years((6, 5)))
    events = when(tenure, state, report(3, backbones=3, sales_fen=2_000_000), today=in_year(3))
    then(
        events[-1:],
        breached(
            "LT-12.2",
            "LT-12.2",
            3,
            "14 backbones trained over 3 assessed years; at least 15 required "
            "(5 a year on average)",
        ),
    )


def test_exactly_five_a_year_on_average_is_enough():  # 5名以上: includes 5
    state = given(tenure, *clean_three_years((9, 2)))
    events = when(tenure, state, report(3, backbones=4, sales_fen=2_000_000), today=in_year(3))
    assert types(events) == ["AnnualReportFiled", "AssessmentPassed"]


def test_a_report_given_up_counts_no_backbones():
    """A year whose missing report was not filed by the county's deadline counts 0."""
    state = given(tenure, *clean_three_years((7, 7)))
    missed = when(tenure, state, FireDeadlines(), today=D(2030, 1, 22))
    assert types(missed) == ["AnnualReportMissed"]  # not counted yet: the county may order it
    state = given(tenure, *clean_three_years((7, 7)), missed)
    orders = when(tenure, state, order("report-y3", D(2030, 2, 28), "提交年度报告", D(2030, 2, 1)))
    state = given(tenure, *clean_three_years((7, 7)), missed, orders)
    events = when(tenure, state, FireDeadlines(), today=D(2030, 3, 1))
    assert types(events) == [
        "RectificationDeadlineMissed",
        "ObligationBreached",
        "DisqualificationProposed",
        "DisqualificationProposed",
    ]
    assert events[1].payload["detail"].startswith("14 backbones trained over 3 assessed years")
    assert [(e.payload["ground"], e.payload["breach_ids"]) for e in events[2:]] == [
        ("LT-14.1", ["report-y3"]),
        ("LT-14.4", ["LT-12.2"]),  # found after the period: too late to rectify
    ]


# -- LT-13: rectification orders ----------------------------------------------------------------
def test_the_county_orders_a_breach_rectified_by_a_deadline():
    state = given(tenure, opened(), NO_ACTIVITY)
    then(when(tenure, state, order("LT-12.1-y1", D(2028, 3, 31))), ordered())


@pytest.mark.parametrize(
    "breach_id, deadline, on, today, clause, field, message",
    [
        (
            "LT-12.9-y1",
            D(2028, 3, 31),
            D(2027, 12, 1),
            D(2027, 12, 1),
            "LT-13",
            "breach_id",
            "Unknown; known: ['LT-12.1-y1'].",
        ),
        (
            "LT-12.1-y1",
            D(2027, 11, 30),
            D(2027, 12, 1),
            D(2027, 12, 1),
            "LT-13",
            "deadline",
            "Must not be before the order (2027-12-01).",
        ),
        (
            "LT-12.1-y1",
            D(2029, 11, 23),
            D(2027, 12, 1),
            D(2027, 12, 1),
            "LT-13",
            "deadline",
            "Must not be after 2029-11-22.",
        ),
        (
            "LT-12.1-y1",
            D(2028, 3, 31),
            D(2027, 12, 2),
            D(2027, 12, 1),
            "LT-13",
            "ordered_on",
            "Must not be after today (2027-12-01).",
        ),
        (
            "LT-12.1-y1",
            D(2028, 3, 31),
            D(2027, 11, 22),
            D(2027, 12, 1),
            "LT-13",
            "ordered_on",
            "Must not be before the tenure's previous act (2027-11-23).",
        ),
    ],
)
def test_rectification_orders_refused(breach_id, deadline, on, today, clause, field, message):
    state = given(tenure, opened(), NO_ACTIVITY)
    err = refused(clause, tenure, state, order(breach_id, deadline, "整改", on), today=today)
    assert err.fields == {field: [message]}


def test_a_breach_is_ordered_rectified_once():
    state = given(tenure, opened(), NO_ACTIVITY, ordered())
    err = refused("LT-13", tenure, state, order("LT-12.1-y1", D(2028, 4, 28), "x", D(2028, 2, 1)))
    assert err.fields == {"breach_id": ["Already ordered."]}


def test_the_county_confirms_a_rectification_within_the_deadline():
    state = given(tenure, *REPORTED, NO_ACTIVITY, ordered())
    events = when(
        tenure,
        state,
        ConfirmRectification("LT-12.1-y1", D(2028, 3, 31), "已举办"),
        today=D(2028, 4, 3),
    )
    then(
        events,
        NewEvent(
            "RectificationConfirmed",
            {
                "talent_id": TALENT,
                "breach_id": "LT-12.1-y1",
                "rectified_on": D(2028, 3, 31),
                "note": "已举办",
            },
            ("LT-13", "LT-12.1"),
        ),
    )
    done = given(tenure, *REPORTED, NO_ACTIVITY, ordered(), events)
    assert done.breaches["LT-12.1-y1"]["status"] == "rectified"
    assert when(tenure, done, FireDeadlines(), today=D(2028, 4, 3)) == []


@pytest.mark.parametrize(
    "is_ordered, rectified_on, today, field, message",
    [
        (False, D(2028, 2, 1), D(2028, 2, 9), "breach_id", "Is open."),
        (
            True,
            D(2028, 2, 10),
            D(2028, 2, 9),
            "rectified_on",
            "Must not be after today (2028-02-09).",
        ),
        (True, D(2028, 4, 3), D(2028, 4, 3), "rectified_on", "After the deadline 2028-03-31."),
        (
            True,
            D(2027, 11, 30),
            D(2028, 2, 9),
            "rectified_on",
            "Must not be before the tenure's previous act (2027-12-01).",
        ),
    ],
)
def test_confirmations_refused(is_ordered, rectified_on, today, field, message):
    events = [opened(), NO_ACTIVITY] + ([ordered()] if is_ordered else [])
    err = refused(
        "LT-13",
        tenure,
        given(tenure, *events),
        ConfirmRectification("LT-12.1-y1", rectified_on),
        today=today,
    )
    assert err.fields == {field: [message]}


def test_a_missed_rectification_deadline_leads_to_a_proposal_once():
    state = given(tenure, *REPORTED, NO_ACTIVITY, ordered())
    assert when(tenure, state, FireDeadlines(), today=D(2028, 3, 31)) == []  # the deadline day
    events = when(tenure, state, FireDeadlines(), today=D(2028, 4, 1))
    then(
        events,
        NewEvent(
            "RectificationDeadlineMissed",
            {
                "talent_id": TALENT,
                "breach_id": "LT-12.1-y1",
                "deadline": D(2028, 3, 31),
                "found_on": D(2028, 4, 1),
            },
            ("LT-13", "LT-12.1"),
        ),
        proposed(
            1,
            [
                "LT-12.1 not rectified by the county's deadline 2028-03-31: 0 promotion "
                "activities in year 1; at least 1 required"
            ],
            D(2028, 4, 1),
            ground="LT-14.1",
            breach_ids=["LT-12.1-y1"],
        ),
    )
    after = given(tenure, *REPORTED, NO_ACTIVITY, ordered(), events)
    assert when(tenure, after, FireDeadlines(), today=D(2028, 4, 1)) == []
    assert when(tenure, after, FireDeadlines(), today=D(2028, 6, 1)) == []


def test_a_sweep_long_after_a_deadline_dates_what_it_records_the_day_it_fell_due():
    state = given(tenure, *REPORTED, NO_ACTIVITY, ordered())
    events = when(tenure, state, FireDeadlines(), today=D(2029, 6, 1))
    assert [e.payload.get("found_on") or e.payload.get("proposed_on") for e in events[-2:]] == [
        D(2028, 4, 1),
        D(2028, 4, 1),
    ]


def test_nothing_is_due_before_the_windows():
    assert when(tenure, given(tenure, opened()), FireDeadlines(), today=START) == []
    assert when(tenure, given(tenure), FireDeadlines(), today=START) == []


# -- Civil Code art. 203: a last day that is not a working day moves to the next working day ------
def test_a_rectification_deadline_on_a_weekend_before_a_holiday_moves_past_both():
    saturday = ordered(deadline=D(2028, 3, 25))  # Sun 26 off, Mon 27 a (test) holiday
    state = given(tenure, *REPORTED, NO_ACTIVITY, saturday)
    assert when(tenure, state, FireDeadlines(), today=D(2028, 3, 28)) == []
    assert types(
        when(
            tenure, state, ConfirmRectification("LT-12.1-y1", D(2028, 3, 28)), today=D(2028, 3, 29)
        )
    ) == ["RectificationConfirmed"]
    missed = when(tenure, state, FireDeadlines(), today=D(2028, 3, 29))
    assert missed[0].payload["deadline"] == D(2028, 3, 28)


def test_an_unpublished_holiday_schedule_is_needed_only_once_a_date_has_passed():
    library_only = WorkingDayCalendar()  # knows 2026, not 2028
    state = given(tenure, opened())
    assert when(tenure, state, FireDeadlines(), today=due(1), calendar=library_only) != []
    with pytest.raises(CalendarYearUnknown):
        when(tenure, state, FireDeadlines(), today=D(2028, 1, 22), calendar=library_only)


# -- the period end: completion ------------------------------------------------------------------
def test_a_clean_period_is_completed_once_its_last_year_is_graded():
    """Year 3's window opens the day after the period: completion follows its grade."""
    state = given(tenure, *clean_three_years())
    assert when(tenure, state, FireDeadlines(), today=END) == []
    events = when(tenure, state, FireDeadlines(), today=DAY_AFTER_END)
    then(
        events,
        NewEvent(
            "TenureCompleted",
            {
                "talent_id": TALENT,
                "period_start": START,
                "period_end": END,
                "results": [{"tenure_year": n, "result": "excellent"} for n in (1, 2, 3)],
                "backbones_trained": 15,
                "completed_on": DAY_AFTER_END,
            },
            ("LT-10", "LT-11.1", "LT-12"),
        ),
    )
    done = given(tenure, *clean_three_years(), events)
    assert done.status == "completed"
    assert when(tenure, done, FireDeadlines(), today=DAY_AFTER_END) == []
    refused("LT-11.1", tenure, done, report(3, sales_fen=1), today=DAY_AFTER_END)


def test_a_period_whose_last_report_is_still_due_is_not_completed():
    state = given(tenure, *clean_three_years()[:-2])
    assert when(tenure, state, FireDeadlines(), today=DAY_AFTER_END) == []
    assert when(tenure, state, FireDeadlines(), today=due(3)) == [
        NewEvent(
            "AnnualReportReminded",
            {
                "talent_id": TALENT,
                "tenure_year": 3,
                "window_opens_on": in_year(3),
                "window_closes_on": due(3),
                "reminded_on": due(3),
            },
            ("LT-11.1",),
        )
    ]


def test_a_breach_never_rectified_is_proposed_at_the_period_end_instead_of_completion():
    state = given(tenure, *clean_three_years(), NO_ACTIVITY)
    events = when(tenure, state, FireDeadlines(), today=DAY_AFTER_END)
    then(
        events,
        proposed(
            1,
            [
                "LT-12.1 not met and not rectified within the training period: "
                "0 promotion activities in year 1; at least 1 required"
            ],
            in_year(3),  # the tenure's last act: the year-3 grade, after the period's end
            breach_ids=["LT-12.1-y1"],
        ),
    )
    after = given(tenure, *clean_three_years(), NO_ACTIVITY, events)
    assert after.breaches["LT-12.1-y1"]["status"] == "escalated"
    assert when(tenure, after, FireDeadlines(), today=DAY_AFTER_END) == []  # pending: no end yet
    declined = when(tenure, after, DeclineDisqualification(in_year(3), ("已整改到位",)))
    completed = when(
        tenure,
        given(tenure, *clean_three_years(), NO_ACTIVITY, events, declined),
        FireDeadlines(),
        today=DAY_AFTER_END,
    )
    assert types(completed) == ["TenureCompleted"]


def test_a_failed_year_whose_proposal_was_declined_still_completes():
    events = clean_three_years()[:-1] + [
        NewEvent(
            "AssessmentFailed",
            {"talent_id": TALENT, "tenure_year": 3, "reasons": ["r"], "computation": []},
            ("LT-11.1",),
        ),
        proposed(1, ["r"], in_year(3)),
    ]
    state = given(tenure, *events)
    assert when(tenure, state, FireDeadlines(), today=DAY_AFTER_END) == []
    declined = when(tenure, state, DeclineDisqualification(in_year(3), ("保留",)), today=in_year(3))
    completed = when(tenure, given(tenure, *events, declined), FireDeadlines(), today=DAY_AFTER_END)
    assert completed[0].payload["results"][2] == {"tenure_year": 3, "result": "unqualified"}


# -- the other LT-14 grounds -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, ground, extra",
    [
        ("refusal", "LT-14.1", ()),
        ("violation", "LT-14.2", ()),
        ("credit_fraud", "LT-14.3", ()),
        ("departure", "LT-14.4", ("LT-12.4",)),
        ("other", "LT-14.5", ()),
    ],
)
def test_a_reported_ground_is_recorded_and_proposed(kind, ground, extra):
    state = given(tenure, *history("seller", 1))
    events = when(
        tenure,
        state,
        ReportGround(kind, D(2027, 12, 1), "经查属实", D(2027, 12, 3), "楚商〔2027〕12号"),
    )
    then(
        events,
        NewEvent(
            "DisqualificationGroundReported",
            {
                "talent_id": TALENT,
                "kind": kind,
                "ground": ground,
                "occurred_on": D(2027, 12, 1),
                "description": "经查属实",
                "reference": "楚商〔2027〕12号",
                "reported_on": D(2027, 12, 3),
            },
            ("LT-14", ground, *extra),
        ),
        proposed(
            1, [f"{kind} on 2027-12-01: 经查属实 (楚商〔2027〕12号)"], D(2027, 12, 3), ground=ground
        ),
    )


@pytest.mark.parametrize(
    "occurred_on, reported_on, today, clause, field, message",
    [
        (
            D(2026, 11, 22),
            D(2027, 1, 1),
            D(2027, 1, 1),
            "LT-14",
            "occurred_on",
            "Outside the training period.",
        ),
        (
            D(2029, 11, 23),
            D(2029, 12, 1),
            D(2029, 12, 1),
            "LT-14",
            "occurred_on",
            "Outside the training period.",
        ),
        (
            D(2027, 1, 2),
            D(2027, 1, 1),
            D(2027, 1, 1),
            "LT-14.2",
            "occurred_on",
            "Must not be after the report (2027-01-01).",
        ),
        (
            D(2027, 1, 2),
            D(2027, 1, 3),
            D(2027, 1, 2),
            "LT-14.2",
            "reported_on",
            "Must not be after today (2027-01-02).",
        ),
        (
            D(2026, 11, 24),
            D(2026, 11, 22),
            D(2027, 1, 2),
            "LT-14.2",
            "reported_on",
            "Must not be before the tenure's previous act (2026-11-23).",
        ),
    ],
)
def test_grounds_arise_within_the_period_and_are_reported_after_they_occur(
    occurred_on, reported_on, today, clause, field, message
):
    err = refused(
        clause,
        tenure,
        given(tenure, opened()),
        ReportGround("violation", occurred_on, "x", reported_on),
        today=today,
    )
    assert err.fields == {field: [message]}


def test_a_ground_found_after_completion_can_still_lead_to_disqualification():
    done = clean_three_years() + [
        NewEvent(
            "TenureCompleted",
            {
                "talent_id": TALENT,
                "period_start": START,
                "period_end": END,
                "results": [],
                "backbones_trained": 15,
                "completed_on": DAY_AFTER_END,
            },
            (),
        )
    ]
    later = D(2030, 3, 1)
    events = when(
        tenure,
        given(tenure, *done),
        ReportGround("credit_fraud", D(2029, 6, 1), "谎报销售额被纳入诚信记录", later),
    )
    assert types(events) == ["DisqualificationGroundReported", "DisqualificationProposed"]
    approved = when(
        tenure, given(tenure, *done, events), ApproveDisqualification(later), today=later
    )
    assert approved[0].payload["ground"] == "LT-14.3"


def test_no_ground_on_a_disqualified_tenure():
    fail = when(tenure, given(tenure, opened()), report(1, sales_fen=900_000))
    gone = given(
        tenure,
        opened(),
        fail,
        when(tenure, given(tenure, opened(), fail), ApproveDisqualification(in_year(1))),
    )
    refused("LT-14.2", tenure, gone, ReportGround("violation", in_year(1), "x", in_year(1)))


# -- the Leading Group's decisions -----------------------------------------------------------------
def two_pending():
    return [
        opened(),
        proposed(1, ["a"], D(2027, 1, 1), ground="LT-14.2"),
        proposed(2, ["b"], D(2027, 2, 1), ground="LT-14.3"),
    ]


def test_with_several_proposals_pending_the_decision_names_one():
    state = given(tenure, *two_pending())
    err = refused(
        "LT-14", tenure, state, ApproveDisqualification(D(2027, 2, 2)), today=D(2027, 2, 2)
    )
    assert err.fields == {"proposal_id": ["Required; pending: P1, P2."]}
    events = when(tenure, state, ApproveDisqualification(D(2027, 2, 2), "P2"), today=D(2027, 2, 2))
    then(
        events,
        NewEvent(
            "TalentDisqualified",
            {
                "talent_id": TALENT,
                "ground": "LT-14.3",
                "reasons": ["b"],
                "decided_on": D(2027, 2, 2),
                "proposal_id": "P2",
            },
            ("LT-14", "LT-14.3"),
        ),
    )
    after = given(tenure, *two_pending(), events)
    assert {k: p["status"] for k, p in after.proposals.items()} == {
        "P1": "superseded",
        "P2": "approved",
    }


@pytest.mark.parametrize(
    "decided_on, proposal_id, field, message",
    [
        (D(2027, 2, 3), "P1", "decided_on", "Must not be after today (2027-02-02)."),
        (D(2027, 1, 31), "P2", "decided_on", "Before the proposal (2027-02-01)."),
        (D(2027, 2, 2), "P3", "proposal_id", "Pending: P1, P2."),
    ],
)
def test_decisions_refused(decided_on, proposal_id, field, message):
    state = given(tenure, *two_pending())
    for command in (
        ApproveDisqualification(decided_on, proposal_id),
        DeclineDisqualification(decided_on, ("r",), proposal_id),
    ):
        err = refused("LT-14", tenure, state, command, today=D(2027, 2, 2))
        assert err.fields == {field: [message]}
