"""Named reads of the subsidies service's read models (``projections.py``) for its use cases: a
talent's grants, a claim, the claims matching a filter. Each takes ``query``, a function running
one statement and returning its rows as dicts (``UnitOfWork.query``). The fund positions, the
grant queue, the totals, ledgers and recoveries are read by ``projections.py``'s own helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Query = Callable[..., Any]
Row = dict[str, Any]


def grants_of(query: Query, talent_id: str) -> list[Row]:
    """The talent's grant rows (one per LT-10.1 grant; none if the talent has no grant)."""
    return query("SELECT * FROM grants_view WHERE talent_id = %s", (talent_id,))


def claim_row(query: Query, claim_id: str) -> Row | None:
    """The claim's row, or None if no claim has that id."""
    return query("SELECT * FROM claims_view WHERE claim_id = %s", (claim_id,), one=True)


def claims(
    query: Query,
    *,
    measure: str | None = None,
    status: str | None = None,
    party_id: str | None = None,
) -> list[Row]:
    """The claims of this measure, status and party (a filter not given, or empty, matches
    every claim), oldest change first."""
    sql, args = "SELECT * FROM claims_view WHERE true", []
    for column, value in (("measure", measure), ("status", status), ("party_id", party_id)):
        if value:
            sql += f" AND {column} = %s"
            args.append(value)
    return query(sql + " ORDER BY updated_at, claim_id", args)
