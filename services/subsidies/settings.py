"""The subsidies service's settings (services/subsidies/config.yaml), checked at start."""

from __future__ import annotations

from dataclasses import dataclass

from shared.runtime.settings import Settings, setting


@dataclass(frozen=True, kw_only=True)
class SubsidiesSettings(Settings):
    # TM-7's 2020 variant rate in fen, once confirmed (empty: 2020-variant claims are refused)
    tm7_2020_rate_fen: int | None = setting("TM7_2020_RATE_FEN", None)
