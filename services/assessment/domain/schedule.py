"""The years of a tenure (培养期) and their report windows (LT-10, LT-11.1, LT-16)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from services.assessment.domain import policy

# One tenure year: tenure_year, starts_on, ends_on, window_opens_on, report_due_on (the window's
# nominal last day), assessed.
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


def period_end(start: dt.date) -> dt.date:
    """The last day of a period of ``policy.TENURE_YEARS`` starting on ``start`` (LT-10)."""
    return anniversary(start, policy.TENURE_YEARS) - dt.timedelta(days=1)


def window(ends_on: dt.date, opens_no_earlier: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The report window of a year ending on ``ends_on`` (LT-11.1): its first day (the day after
    the year, or ``opens_no_earlier`` if later) and its nominal last day
    (``policy.REPORT_WINDOW_DAYS`` days, the first counted)."""
    opens = ends_on + dt.timedelta(days=1)
    if opens_no_earlier is not None and opens_no_earlier > opens:
        opens = opens_no_earlier
    return opens, opens + dt.timedelta(days=policy.REPORT_WINDOW_DAYS - 1)


def tenure_years(
    period_start: dt.date, period_end: dt.date, transfer_recorded_on: dt.date | None = None
) -> list[Year]:
    """One entry per tenure year: its number, first and last day, report window, and whether it
    is assessed under these rules. For an LT-16 transfer (``transfer_recorded_on`` given) only the
    years ending on or after the rules took effect are, and the window of a year that ended
    before the transfer was recorded opens on the day it was."""
    years: list[Year] = []
    n = 1
    while (starts_on := anniversary(period_start, n - 1)) <= period_end:
        ends_on = min(anniversary(period_start, n) - dt.timedelta(days=1), period_end)
        opens, closes = window(ends_on, transfer_recorded_on)
        assessed = transfer_recorded_on is None or ends_on >= policy.LT_EFFECTIVE_DATE
        years.append(
            {
                "tenure_year": n,
                "starts_on": starts_on,
                "ends_on": ends_on,
                "window_opens_on": opens,
                "report_due_on": closes,
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
