"""The applications service's settings (services/applications/config.yaml), checked at start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.runtime.settings import Settings, secret, setting


@dataclass(frozen=True, kw_only=True)
class ApplicationsSettings(Settings):
    # keyed pseudonyms of ID numbers (LT-10 identity): the registry is keyed by it, never change it
    person_key_secret: str = secret("PERSON_KEY_SECRET")
    # a year's working-day schedule as published (a mapping, or the path of a YAML/JSON file)
    working_day_overrides: Any = setting("WORKING_DAY_OVERRIDES", None)
