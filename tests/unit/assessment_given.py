"""Hand-written histories and commands for the tenure decider's tests (test_assessment_*.py).

One talent certified on 2026-11-23 for 3 years (LT-10: to 2029-11-22); tenure year n runs from
the (n-1)th anniversary to the day before the nth; its report window opens the day after and stays
open 60 days (LT-11.1)."""

import datetime as dt

import givenwhenthen
from givenwhenthen import NewEvent

from services.assessment.domain.tenure import FileAnnualReport, OpenTenure
from shared.calendar import WorkingDayCalendar

D = dt.date
TALENT = "talent-0001"
COUNTY = "禄丰市"
START, END = D(2026, 11, 23), D(2029, 11, 22)
SELLER = {"sales_fen": 1_000_000}
INFLUENCER = {"followers": 100_000, "exposure": 1_000_000}
YEARS = [
    {
        "tenure_year": 1,
        "starts_on": D(2026, 11, 23),
        "ends_on": D(2027, 11, 22),
        "window_opens_on": D(2027, 11, 23),
        "report_due_on": D(2028, 1, 21),
        "assessed": True,
    },
    {
        "tenure_year": 2,
        "starts_on": D(2027, 11, 23),
        "ends_on": D(2028, 11, 22),
        "window_opens_on": D(2028, 11, 23),
        "report_due_on": D(2029, 1, 21),
        "assessed": True,
    },
    {
        "tenure_year": 3,
        "starts_on": D(2028, 11, 23),
        "ends_on": D(2029, 11, 22),
        "window_opens_on": D(2029, 11, 23),
        "report_due_on": D(2030, 1, 21),
        "assessed": True,
    },
]
# The working days of the years the tests walk through: the library's where it knows them (2026),
# weekends only for 2027-2031 (a stand-in for schedules not yet published), except a test
# holiday on Monday 2028-03-27 (no such holiday exists: a test value).
CALENDAR = WorkingDayCalendar(
    {year: {"holidays": [], "workdays": []} for year in (2027, 2028, 2029, 2030, 2031)}
    | {2028: {"holidays": ["2028-03-27"], "workdays": []}}
)


ACT_DATES = ("reported_on", "found_on", "ordered_on", "rectified_on", "decided_on")


def _context(command, ctx):
    """The test calendar unless a test names another; today the command's act date (an act
    recorded the day it happens) unless a test names the day."""
    base = {"calendar": CALENDAR}
    for name in ACT_DATES:
        if getattr(command, name, None) is not None:
            base["today"] = getattr(command, name)
            break
    return {**base, **ctx}


def when(decider, state, command, **ctx):
    """givenwhenthen.when with the test calendar and the act's day (see ``_context``)."""
    return givenwhenthen.when(decider, state, command, **_context(command, ctx))


def refused(clause, decider, state, command, **ctx):
    return givenwhenthen.refused(clause, decider, state, command, **_context(command, ctx))


PASSING = {
    "seller": {"sales_fen": 2_000_000},
    "influencer": {"followers": 400_000, "exposure": 4_000_000},
}


def in_year(n):
    """The first day of tenure year ``n``'s report window (the first day its report is
    accepted)."""
    return YEARS[n - 1]["window_opens_on"]


def starts(n):
    """The first day of tenure year ``n``."""
    return YEARS[n - 1]["starts_on"]


def due(n):
    return YEARS[n - 1]["report_due_on"]


def baseline_of(track):
    return SELLER if track == "seller" else INFLUENCER


def open_tenure(track="seller", baseline=None):
    return OpenTenure(
        talent_id=TALENT,
        county=COUNTY,
        track=track,
        period_start=START,
        period_end=END,
        baseline_year=2025,
        baseline=dict(baseline_of(track) if baseline is None else baseline),
        certified_on=START,
    )


def opened(track="seller", baseline=None):
    return NewEvent(
        "TenureOpened",
        {
            "talent_id": TALENT,
            "county": COUNTY,
            "track": track,
            "period_start": START,
            "period_end": END,
            "baseline_year": 2025,
            "baseline": dict(baseline_of(track) if baseline is None else baseline),
            "origin": "selection",
            "certified_on": START,
            "years": [dict(y) for y in YEARS],
        },
        ("LT-10", "LT-11"),
    )


def report(year, activities=2, backbones=6, full_time=True, on=None, **figures):
    return FileAnnualReport(
        tenure_year=year,
        figures=figures,
        promotion_activities=activities,
        backbones_trained=backbones,
        full_time_in_chuxiong=full_time,
        reported_on=on or in_year(year),
    )


def filed(year, activities=2, backbones=6, full_time=True, on=None, **figures):
    return NewEvent(
        "AnnualReportFiled",
        {
            "talent_id": TALENT,
            "tenure_year": year,
            "figures": figures,
            "promotion_activities": activities,
            "backbones_trained": backbones,
            "full_time_in_chuxiong": full_time,
            "reported_on": on or in_year(year),
        },
        ("LT-11.1", "LT-12"),
    )


def row(figure, baseline, current, years, growth, track="seller"):
    return {
        "figure": figure,
        "baseline": baseline,
        "current": current,
        "years": years,
        "average_growth": growth,
        "qualified_threshold": "0.10",
        "excellent_threshold": "0.30",
        "excellent_strictly": track == "seller",
    }


def assessed(year, grade, *rows, on=None, basis="growth", findings=False):
    """AssessmentPassed; ``findings`` False for sellers (no such key), None or a dict for
    influencers."""
    payload = {
        "talent_id": TALENT,
        "tenure_year": year,
        "grade": grade,
        "basis": basis,
        "computation": list(rows),
        "assessed_on": on or in_year(year),
    }
    if findings is not False:
        payload["findings"] = findings
    return NewEvent("AssessmentPassed", payload, ("LT-11.1",))


def proposed(number, reasons, on, ground="LT-14.4", breach_ids=None):
    payload = {
        "talent_id": TALENT,
        "ground": ground,
        "reasons": list(reasons),
        "proposal_id": f"P{number}",
        "proposed_on": on,
    }
    if breach_ids:
        payload["breach_ids"] = list(breach_ids)
    return NewEvent("DisqualificationProposed", payload, ("LT-14", ground))


def failed(year, reasons, *rows, on=None, proposal=1, findings=False):
    """AssessmentFailed and the LT-14.4 proposal that follows it."""
    on = on or in_year(year)
    payload = {
        "talent_id": TALENT,
        "tenure_year": year,
        "reasons": list(reasons),
        "computation": list(rows),
        "assessed_on": on,
    }
    if findings is not False:
        payload["findings"] = findings
    return [
        NewEvent("AssessmentFailed", payload, ("LT-11.1",)),
        proposed(proposal, [f"annual assessment of year {year} failed", *reasons], on),
    ]


def history(track="seller", through=0):
    """Opened, with years 1..``through`` reported and passed (figures that pass)."""
    events = [opened(track)]
    for n in range(1, through + 1):
        events.append(filed(n, **PASSING[track]))
        events.append(
            NewEvent(
                "AssessmentPassed",
                {
                    "talent_id": TALENT,
                    "tenure_year": n,
                    "grade": "excellent",
                    "basis": "growth",
                    "computation": [],
                    "assessed_on": in_year(n),
                },
                ("LT-11.1",),
            )
        )
    return events
