"""Mainland China's working-day calendar (statutory holidays and adjusted working days, 调休).

The State Council publishes each year's schedule late in the year before, so a year the calendar
does not know is an error (``CalendarYearUnknown``), never a guess. An operator can load a year's
published schedule into configuration (``overrides``): {year: {"holidays": [dates],
"workdays": [dates]}}, which takes precedence over the library (``chinese-calendar``) for that
whole year: a day of an override year is a working day if listed under ``workdays``, a day off if
listed under ``holidays``, otherwise Monday to Friday.

In a service's config.yaml the key is ``WORKING_DAY_OVERRIDES`` (``from_config``): a mapping
written inline, or the path of a YAML or JSON file holding one, or (through the environment
variable of the same name) either of those as text, e.g.
``WORKING_DAY_OVERRIDES=/etc/talent/holidays-2027.yaml``. A schedule that cannot be right (a date
outside its year, a date both holiday and working day) stops the service at start-up.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import Any

import chinese_calendar
import yaml

from shared.errors import RuleViolation


class CalendarYearUnknown(RuleViolation):
    code = "calendar_year_unknown"

    def __init__(self, year: int) -> None:
        super().__init__(
            "LT-9.5",
            f"the working-day calendar for {year} is not known yet; load "
            f"the State Council's published {year} schedule into "
            f"configuration (WORKING_DAY_OVERRIDES)",
            details={"year": year},
        )


class WorkingDayCalendar:
    def __init__(self, overrides: Mapping[Any, Mapping[str, Any]] | None = None) -> None:
        # year -> (holidays, working days) of a year whose published schedule is configured
        self.overrides: dict[int, tuple[set[dt.date], set[dt.date]]] = {}
        for year, sched in (overrides or {}).items():
            self.overrides[int(year)] = (
                {_date(d) for d in sched.get("holidays", [])},
                {_date(d) for d in sched.get("workdays", [])},
            )

    @classmethod
    def from_config(cls, value: object) -> WorkingDayCalendar:
        """The calendar for a configured ``WORKING_DAY_OVERRIDES`` (see the module docstring)."""
        return cls(load_overrides(value))

    def is_working_day(self, day: dt.date) -> bool:
        if day.year in self.overrides:
            holidays, workdays = self.overrides[day.year]
            if day in workdays:
                return True
            if day in holidays:
                return False
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            raise CalendarYearUnknown(day.year) from None

    def nth_working_day(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day counting ``start`` itself as day 1 when it is a working day."""
        day, count = start, 0
        while True:
            if self.is_working_day(day):
                count += 1
                if count == n:
                    return day
            day += dt.timedelta(days=1)


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def load_overrides(value: object) -> dict[int, dict[str, list[dt.date]]]:
    """``WORKING_DAY_OVERRIDES`` as configured -> {year: {"holidays": [date], "workdays": [date]}}.
    ``value``: None or empty (no overrides), a mapping, a YAML/JSON text of one, or the path of a
    file holding one. Raises ValueError naming the year and the date of a schedule that cannot be
    right."""
    if value is None or value == {} or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{") and os.path.isfile(text):
            with open(text, encoding="utf-8") as f:
                text = f.read()
        try:
            value = yaml.safe_load(text)  # YAML, or JSON (which YAML reads too)
        except yaml.YAMLError as exc:
            raise ValueError(
                f"WORKING_DAY_OVERRIDES is neither a schedule nor a file: {exc}"
            ) from exc
    if isinstance(value, str):
        raise ValueError(f"WORKING_DAY_OVERRIDES: no such file {value!r}")
    if not isinstance(value, dict):
        raise ValueError(
            "WORKING_DAY_OVERRIDES must map years to {holidays: [...], workdays: [...]}"
        )
    schedules: dict[int, dict[str, list[dt.date]]] = {}
    for key, sched in value.items():
        try:
            year = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"WORKING_DAY_OVERRIDES: {key!r} is not a year") from None
        if not isinstance(sched, dict) or set(sched) - {"holidays", "workdays"}:
            raise ValueError(f"WORKING_DAY_OVERRIDES {year}: expected holidays and workdays lists")
        lists: dict[str, list[dt.date]] = {}
        for kind in ("holidays", "workdays"):
            days: list[dt.date] = []
            for d in sched.get(kind) or []:
                try:
                    day = _date(d)
                except ValueError:
                    raise ValueError(
                        f"WORKING_DAY_OVERRIDES {year} {kind}: {d!r} is not a date"
                    ) from None
                if day.year != year:
                    raise ValueError(f"WORKING_DAY_OVERRIDES {year} {kind}: {day} is not in {year}")
                days.append(day)
            lists[kind] = days
        both = sorted(set(lists["holidays"]) & set(lists["workdays"]))
        if both:
            raise ValueError(
                f"WORKING_DAY_OVERRIDES {year}: {both[0]} is both a holiday and a working day"
            )
        schedules[year] = lists
    return schedules
