"""Act dates: the day an act happened (``<past participle>_on``), as against the moment it was
recorded. A caller may date an act in the past (the programmes ran on paper before this system);
the date defaults to today and is bounded: not after today, not before its programme, and not
before the act before it on the same stream. Pure: "today" comes in the context."""

from __future__ import annotations

import datetime as dt

from shared.errors import RuleViolation


def act_date(
    day: dt.date | None,
    *,
    field: str,
    clause: str,
    today: dt.date,
    programme_start: dt.date,
    programme: str,
    previous: dt.date | None = None,
    previous_act: str = "the act before it",
) -> dt.date:
    """``day`` (today when None) if it lies within its bounds, else a refusal under ``clause``
    naming ``field``."""
    day = day or today
    if day > today:
        raise RuleViolation(
            clause,
            f"{field} {day} is after today ({today}): an act cannot be dated in the future",
            fields={field: [f"Must not be after {today}."]},
        )
    if day < programme_start:
        raise RuleViolation(
            clause,
            f"{field} {day} is before {programme} began on {programme_start}",
            fields={field: [f"Must not be before {programme_start}."]},
        )
    if previous is not None and day < previous:
        raise RuleViolation(
            clause,
            f"{field} {day} is before {previous_act} ({previous})",
            fields={field: [f"Must not be before {previous}."]},
        )
    return day
