"""Where a service's "today" comes from.

Production services run on the real clock (``shared.service.Clock``). A test or demo configuration
can pin the date with the key ``CLOCK_TODAY`` (ISO date), so that years of a programme can be
walked through in minutes: the service then decides as if that were today, and says so in its
log at start. The production configurations (``services/*/config.yaml``) do not have the key, so
no environment variable can move a production clock; a configuration that has the key but leaves
it empty is refused rather than silently run on the real date.
"""
import datetime as dt

from shared import logging as tlog
from shared.service import SHANGHAI, Clock

log = tlog.get_logger(__name__)


class PinnedClock(Clock):
    """A clock whose date is fixed; the time of day runs on (Asia/Shanghai)."""

    def __init__(self, today):
        self.pinned = today

    def now(self):
        wall = super().now().astimezone(SHANGHAI)
        return dt.datetime.combine(self.pinned, wall.timetz()).astimezone(dt.timezone.utc)

    def today(self):
        return self.pinned


def clock_for(config):
    """The real clock, or a PinnedClock if ``config`` has ``CLOCK_TODAY``."""
    if "CLOCK_TODAY" not in config:
        return Clock()
    value = config["CLOCK_TODAY"]
    if isinstance(value, dt.datetime) or not value:
        raise ValueError("CLOCK_TODAY is in this configuration but is not a date: set it to an "
                         "ISO date, or use the production configuration (no CLOCK_TODAY)")
    today = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
    log.warning("clock_pinned", today=today.isoformat())
    return PinnedClock(today)
