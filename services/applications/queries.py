"""The applications service's reads of its read models (services/applications/projections.py),
each a named query.

Most take ``query``, the unit of work's ``UnitOfWork.query`` (a transaction of its own, rows as
dicts). ``APPLICATION_ROW`` is the one read that travels with a command's BEGIN and locks
(``UnitOfWork.locked(query=..., args=...)``), ``fetched_row`` reads its answer from that cursor.
The lookups a decision makes inside its transaction (``registry_lookups``, ``enterprise_talent``,
``standing``) are the read models' own, in projections.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Query = Callable[..., Any]
"""``UnitOfWork.query``: ``query(sql, args=(), one=False)``, the rows as dicts (or the first)."""
Row = dict[str, Any]

APPLICATION_ROW = "SELECT * FROM applications_view WHERE application_id = %s"
"""An application's row, by ``application_id``."""

READ_MODELS_STALE = (
    "SELECT EXISTS (SELECT 1 FROM applications_view WHERE submitted_on IS NULL"
    " OR last_act_on IS NULL)"
    " OR (NOT EXISTS (SELECT 1 FROM rounds_view) AND EXISTS (SELECT 1 FROM"
    " events WHERE event_type = 'RoundOpened'))"
    " OR (NOT EXISTS (SELECT 1 FROM talents_view) AND EXISTS (SELECT 1 FROM"
    " events WHERE event_type = 'TalentCertified'))"
)
"""True if a read model a migration added (or widened) misses what recorded events hold: rows of
applications from before ``submitted_on`` or ``last_act_on`` (policy v3: the proposal stage, the
person, the opinions against), or no rounds or talents while their events exist."""

# the filters ``applications`` accepts, by column
APPLICATION_FILTERS = ("county", "round_year", "status", "stage", "applicant_id")


def fetched_row(cur: Any) -> Row | None:
    """The cursor's next row as a dict by column name, or None."""
    row = cur.fetchone()
    return None if row is None else dict(zip([c.name for c in cur.description], row))


def application_row(query: Query, application_id: str) -> Row | None:
    """An application's row, or None."""
    return query(APPLICATION_ROW, (application_id,), one=True)


def applications(query: Query, filters: dict[str, Any]) -> list[Row]:
    """The applications matching every filter given a value (``APPLICATION_FILTERS``), in the
    order they were last changed."""
    sql, params = "SELECT * FROM applications_view WHERE true", []
    for column in APPLICATION_FILTERS:
        value = filters.get(column)
        if value:
            sql += f" AND {column} = %s"
            params.append(value)
    return query(sql + " ORDER BY updated_at, application_id", params)


def rounds(query: Query) -> list[Row]:
    """Every selection round, by year."""
    return query("SELECT * FROM rounds_view ORDER BY year")


def round_row(query: Query, year: int) -> Row | None:
    """The selection round of ``year``, or None."""
    return query("SELECT * FROM rounds_view WHERE year = %s", (year,), one=True)


def status_counts(query: Query, year: int) -> dict[str, int]:
    """How many of the round's applications are in each status (statuses with none left out)."""
    rows = query(
        "SELECT status, count(*)::int AS n FROM applications_view"
        " WHERE round_year = %s GROUP BY status",
        (year,),
    )
    return {r["status"]: r["n"] for r in rows}


def proposal(query: Query, year: int) -> list[Row]:
    """The Commerce Bureau's proposal of the round's candidates (LT-9.5 提出人选): the live or
    certified candidates it proposed, by rank, each with its reason and expert score."""
    return query(
        "SELECT proposal_rank AS rank, application_id, applicant_name, county, enterprise_name,"
        " expert_score, proposal_reason AS reason, status, stage FROM applications_view"
        " WHERE round_year = %s AND proposal_rank IS NOT NULL"
        " AND status IN ('in_review', 'approved', 'on_notice', 'suspended', 'certified')"
        " ORDER BY proposal_rank, expert_score DESC, application_id",
        (year,),
    )


def notices(query: Query, round_year: int | None = None) -> list[Row]:
    """The public-notice list (公示): applications on notice or suspended by an objection, with
    the notice's dates (of ``round_year``'s round, if given)."""
    sql = (
        "SELECT application_id, round_year, applicant_name, county, enterprise_name,"
        " category, notice_start, notice_end, status FROM applications_view"
        " WHERE status IN ('on_notice', 'suspended')"
    )
    params = []
    if round_year:
        sql += " AND round_year = %s"
        params.append(round_year)
    return query(sql + " ORDER BY notice_start, application_id", params)
