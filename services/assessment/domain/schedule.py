"""The years of a tenure (培养期) and their report due dates (LT-10, LT-11.1, LT-16)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from services.assessment.domain import policy

# One tenure year: tenure_year, starts_on, ends_on, report_due_on, assessed.
Year = dict[str, Any]


class WorkingDays(Protocol):
    """The working-day calendar (``shared.calendar.WorkingDayCalendar``)."""

    def is_working_day(self, day: dt.date) -> bool: ...


def anniversary(start: dt.date, years: int) -> dt.date:
    """``start`` moved on by ``years`` years; 29 February becomes 1 March in a common year (the
    same convention as the period end the applications service computes)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28) + dt.timedelta(days=1)


def tenure_years(
    period_start: dt.date, period_end: dt.date, transferred_on: dt.date | None = None
) -> list[Year]:
    """One entry per tenure year: its number, first and last day, report due date, and whether it
    is assessed under these rules (for a transfer, only years ending on or after the transfer)."""
    years: list[Year] = []
    n = 1
    while (starts_on := anniversary(period_start, n - 1)) <= period_end:
        ends_on = min(anniversary(period_start, n) - dt.timedelta(days=1), period_end)
        due = ends_on + dt.timedelta(days=policy.REPORT_DUE_DAYS_AFTER_YEAR_END)
        assessed = transferred_on is None or ends_on >= transferred_on
        years.append(
            {
                "tenure_year": n,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "report_due_on": due,
                "assessed": assessed,
            }
        )
        n += 1
    return years


def growth_years(tenure_year: int) -> int:
    """The years over which growth compounds for tenure year ``tenure_year`` (LT-11.1)."""
    return tenure_year - 1 + policy.BASELINE_YEARS_BEFORE_YEAR_ONE


def last_day(nominal: dt.date, calendar: WorkingDays) -> dt.date:
    """The effective last day of a period ending on ``nominal``: the next working day when
    ``nominal`` is not one (Civil Code art. 203)."""
    day = nominal
    while policy.DEADLINES_ROLL_TO_WORKING_DAY and not calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def passed(nominal: dt.date, today: dt.date, calendar: WorkingDays) -> dt.date | None:
    """The effective last day of a period ending on ``nominal`` if ``today`` is after it, else
    None; the calendar is consulted only once ``nominal`` itself has passed."""
    if today <= nominal:
        return None
    last = last_day(nominal, calendar)
    return last if today > last else None
