"""Named reads of the assessment service's read models (services/assessment/projections.py):
each tenure, its years, breaches and proposals, the open tenures the deadline sweep visits, and
the graded years the Commerce Bureau announces (LT-11.1).

Each function takes ``query``, a unit of work's ``query(sql, args=(), one=False)`` (rows as
dicts, each call a transaction of its own), and returns rows as dicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Query = Callable[..., Any]
"""``UnitOfWork.query``: ``query(sql, args=(), one=False)``."""

READ_MODELS_STALE = (
    "SELECT NOT EXISTS (SELECT 1 FROM tenure_view) AND EXISTS"
    " (SELECT 1 FROM events WHERE event_type = 'TenureOpened')"
)
"""True when a migration left the read models empty although tenures were opened: the store
rebuilds them from the events at start."""


def tenure_row(query: Query, talent_id: str) -> dict[str, Any] | None:
    """The talent's tenure (county, track, period, baseline, status, version), or None."""
    return query("SELECT * FROM tenure_view WHERE talent_id = %s", (talent_id,), one=True)


def year_rows(query: Query, talent_id: str) -> list[dict[str, Any]]:
    """Each tenure year: its dates and report window, the report's figures (its act date and
    when it was recorded), the findings, a reminder or missing report, and the grade with its
    computation (its date and when it was recorded), in year order."""
    return query(
        "SELECT tenure_year, starts_on, ends_on, window_opens_on, report_due_on, assessed,"
        " figures, promotion_activities, backbones_trained, full_time_in_chuxiong,"
        " reported_on, report_recorded_at, findings, reminded_on, missed_on, result, basis,"
        " report_missed, computation, reasons, assessed_on, assessed_recorded_at"
        " FROM tenure_year_view WHERE talent_id = %s ORDER BY tenure_year",
        (talent_id,),
    )


def breach_rows(query: Query, talent_id: str) -> list[dict[str, Any]]:
    """The tenure's breaches of obligations and their rectification orders, as found."""
    return query(
        "SELECT breach_id, obligation, tenure_year, detail, rectifiable, status, found_on,"
        " requirement, ordered_on, deadline, rectified_on FROM tenure_breach_view WHERE talent_id = %s"
        " ORDER BY found_on, breach_id",
        (talent_id,),
    )


def proposal_rows(query: Query, talent_id: str) -> list[dict[str, Any]]:
    """The tenure's disqualification proposals and the Leading Group's decisions, in order
    (P1, P2, ..., P10)."""
    return query(
        "SELECT proposal_id, ground, reasons, status, proposed_on, decided_on,"
        " decision_reasons FROM tenure_proposal_view WHERE talent_id = %s"
        " ORDER BY length(proposal_id), proposal_id",
        (talent_id,),
    )


def open_tenures(query: Query) -> list[str]:
    """The talents whose tenure is open, in order."""
    return [
        row["talent_id"]
        for row in query(
            "SELECT talent_id FROM tenure_view WHERE status = 'open' ORDER BY talent_id"
        )
    ]


def graded_years(query: Query, year: int | None, county: str | None) -> list[dict[str, Any]]:
    """Each graded tenure year under the calendar year in which it ended (``year``: only that
    one), with its tenure's county and track (``county``: only that county's)."""
    sql = (
        "SELECT extract(year FROM y.ends_on)::int AS year, t.talent_id, t.county,"
        " t.track, y.tenure_year, y.starts_on, y.ends_on, y.result, y.basis,"
        " y.report_missed, y.reasons, y.assessed_on"
        " FROM tenure_year_view y JOIN tenure_view t USING (talent_id)"
        " WHERE y.result IS NOT NULL"
    )
    args: list[Any] = []
    if year is not None:
        sql += " AND extract(year FROM y.ends_on) = %s"
        args.append(year)
    if county is not None:
        sql += " AND t.county = %s"
        args.append(county)
    return query(sql + " ORDER BY year, t.county, t.talent_id, y.tenure_year", args)
