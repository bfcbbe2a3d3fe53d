"""The assessment service's settings (services/assessment/config.yaml), checked at start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.runtime.settings import Settings, setting


@dataclass(frozen=True, kw_only=True)
class AssessmentSettings(Settings):
    # how often the deadline sweep runs (seconds; also once at start)
    deadline_timer_seconds: float = setting("DEADLINE_TIMER_SECONDS", 3600.0)
    # a year's working-day schedule as published (a mapping, or the path of a YAML/JSON file)
    working_day_overrides: Any = setting("WORKING_DAY_OVERRIDES", None)
