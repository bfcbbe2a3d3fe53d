"""Time: the programme's time zone, the local date of a moment, and where a service's "today"
comes from.

Production services run on the real clock (``Clock``). A test or demo configuration can pin the
date with the key ``CLOCK_TODAY`` (ISO date), so that years of a programme can be walked through
in minutes: the service then decides as if that were today, and says so in its log at start. The
production configurations (``services/*/config.yaml``) do not have the key, so no environment
variable can move a production clock; a configuration that has the key but leaves it empty is
refused rather than silently run on the real date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from shared import logging as tlog

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""The programme's time zone: its calendar days (deadlines, "today") are Asia/Shanghai days."""

log = tlog.get_logger(__name__)


def local_date(moment: dt.datetime | str) -> dt.date:
    """The Asia/Shanghai calendar day of ``moment`` (a timezone-aware datetime or ISO text)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(SHANGHAI).date()


class Clock:
    """The service's one source of "now"; domain code receives it as an argument."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        return self.now().astimezone(SHANGHAI).date()


class PinnedClock(Clock):
    """A clock whose date is fixed; the time of day runs on (Asia/Shanghai)."""

    def __init__(self, today: dt.date) -> None:
        self.pinned = today

    def now(self) -> dt.datetime:
        wall = super().now().astimezone(SHANGHAI)
        return dt.datetime.combine(self.pinned, wall.timetz()).astimezone(dt.UTC)

    def today(self) -> dt.date:
        return self.pinned


def clock_for(config: Mapping[str, Any]) -> Clock:
    """The real clock, or a PinnedClock if ``config`` has ``CLOCK_TODAY``."""
    if "CLOCK_TODAY" not in config:
        return Clock()
    value = config["CLOCK_TODAY"]
    if isinstance(value, dt.datetime) or not value:
        raise ValueError(
            "CLOCK_TODAY is in this configuration but is not a date: set it to an "
            "ISO date, or use the production configuration (no CLOCK_TODAY)"
        )
    today = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
    log.warning("clock_pinned", today=today.isoformat())
    return PinnedClock(today)
