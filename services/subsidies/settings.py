"""The subsidies service's settings (services/subsidies/config.yaml), checked at start."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.subsidies.domain import policy
from shared.runtime.settings import Settings, SettingsError, setting


@dataclass(frozen=True, kw_only=True)
class SubsidiesSettings(Settings):
    # TM-7's 2020 variant rate in fen, once confirmed (empty: 2020-variant claims are refused)
    tm7_2020_rate_fen: int | None = setting("TM7_2020_RATE_FEN", None)
    # TM-1: the last day of the Ten Measures as a later notice extended them (yyyy-mm-dd), and
    # that notice's document number; both or neither (empty: the measures end on 2022-12-31)
    tm_extended_until: str | None = setting("TM_EXTENDED_UNTIL", None)
    tm_extension_notice: str | None = setting("TM_EXTENSION_NOTICE", None)

    def __post_init__(self) -> None:
        if (self.tm_extended_until is None) != (self.tm_extension_notice is None):
            raise SettingsError(
                "settings TM_EXTENDED_UNTIL and TM_EXTENSION_NOTICE go together: an extension "
                "of the Ten Measures (TM-1) is recorded with the notice that made it"
            )
        self.tm_extension()  # a malformed date stops the service at start

    def tm_extension(self) -> policy.Extension | None:
        """The recorded extension of the Ten Measures (TM-1), if any."""
        if self.tm_extended_until is None or self.tm_extension_notice is None:
            return None
        try:
            until = dt.date.fromisoformat(self.tm_extended_until)
        except ValueError:
            raise SettingsError(
                f"setting TM_EXTENDED_UNTIL must be a date yyyy-mm-dd, "
                f"not {self.tm_extended_until!r}"
            ) from None
        if until <= policy.TM_VALID_UNTIL:
            raise SettingsError(
                f"setting TM_EXTENDED_UNTIL ({until}) must be after the Ten Measures' own end "
                f"({policy.TM_VALID_UNTIL})"
            )
        return policy.Extension(self.tm_extension_notice, until)
