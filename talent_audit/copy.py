"""Writing rebuilt read models in bulk: rows to PostgreSQL's COPY text format, and the indexes of
the tables dropped while COPY loads them and made again after."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson
import psycopg2.extensions
from psycopg2.extensions import cursor as Cursor


def drop_indexes(cur: Cursor, schema: str, tables: Iterable[str]) -> list[str]:
    """Drop the indexes of ``tables`` in ``schema`` (those of their primary key, unique and
    exclusion constraints with the constraints) and return the statements that make them again,
    the same names and definitions: built once over the rows COPY has loaded, an index costs the
    server a fraction of what keeping it up to date row by row does (and a constraint made again
    checks every row, as COPY would have). A table that a foreign key references keeps its own."""
    if not tables:
        return []
    cur.execute(
        """
        SELECT t.relname, i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class t ON t.oid = x.indrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
          LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                                   AND c.contype IN ('p', 'u', 'x')
         WHERE n.nspname = %s AND t.relname = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f'
                                                          AND f.confrelid = t.oid)
         ORDER BY c.conname IS NULL, i.oid""",
        (schema, sorted(tables)),
    )

    def quote(name: str) -> str:
        quoted: str = psycopg2.extensions.quote_ident(name, cur)
        return quoted

    rebuild = []
    for table_name, index, index_def, constraint, constraint_def in cur.fetchall():
        if constraint is None:
            index = f"{quote(schema)}.{quote(index)}"
            cur.execute(f"DROP INDEX {index}")
            rebuild.append(index_def)
        else:
            table, constraint = f"{quote(schema)}.{quote(table_name)}", quote(constraint)
            cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
            rebuild.append(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {constraint_def}")
    # One process each: workers would share maintenance_work_mem and sort on disk, spending
    # more CPU in all for no sooner an end (measured on the notifications replay).
    return ["SET LOCAL max_parallel_maintenance_workers = 0"] + rebuild if rebuild else []


def _copy_text(value: object) -> str:
    """One value in COPY's text format, as psycopg2 would have passed it as a parameter."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        text = orjson.dumps(value).decode()
    elif isinstance(value, dt.datetime):
        text = value.isoformat()
    else:
        text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


# Values of these exact types whose COPY text (what _copy_text makes of them) needs no escaping.
_PLAIN_TEXT: dict[type, Callable[[Any], str]] = {
    int: str,
    dt.date: dt.date.isoformat,
    dt.datetime: dt.datetime.isoformat,
    bool: {True: "t", False: "f"}.__getitem__,
}
_ZONE = operator.attrgetter("tzinfo")


def _copy_column(values: Sequence[Any]) -> Sequence[str]:
    """``_copy_text`` of each of ``values`` (one column), a whole column at a time when it holds
    only strings needing no escape, or only values of one of the _PLAIN_TEXT types (and NULLs)."""
    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    if len(kinds) != 1:
        return ["\\N"] * len(values) if not kinds else list(map(_copy_text, values))
    kind = kinds.pop()
    if kind is str:
        text = "".join([v for v in values if v is not None] if nulls else values)
        if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
            return list(map(_copy_text, values))
        return ["\\N" if v is None else v for v in values] if nulls else values
    convert = _PLAIN_TEXT.get(kind)
    if convert is None:
        return list(map(_copy_text, values))
    if kind is dt.datetime:
        zones = set(map(_ZONE, filter(None, values) if nulls else values))
        zone = zones.pop()
        if zones or not (zone is None or type(zone) is dt.timezone):
            # equal datetimes may be written differently (in other zones, or with the fold of
            # a zone's repeated hour): each is converted
            return ["\\N" if v is None else convert(v) for v in values]
    # each distinct value converted once (the events of one append share their recorded_at)
    texts: dict[object, str] = dict.fromkeys(values, "")
    for value in texts:
        texts[value] = "\\N" if value is None else convert(value)
    return list(map(texts.__getitem__, values))


class _Pieces:
    """A file-like object for ``copy_expert`` that hands over one piece at each read."""

    def __init__(self, pieces: Iterable[str]) -> None:
        self.pieces = iter(pieces)

    def read(self, size: int = -1) -> str:
        return next(self.pieces, "")


def copy_rows(
    cur: Cursor,
    table_name: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    chunk: int = 5_000,
) -> None:
    """Write ``rows`` (tuples in ``columns`` order) into ``table_name`` with one COPY, the text
    made ``chunk`` rows at a time (column by column) while the server takes in the last piece."""
    if not rows:
        return
    sql = f"COPY {table_name} ({', '.join(columns)}) FROM STDIN"

    def pieces() -> Iterator[str]:
        width = len(columns)
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            if set(map(len, part)) == {width}:
                text = "\n".join(map("\t".join, zip(*map(_copy_column, zip(*part)))))
            else:  # not one value per column: the server says so, as for any bad row
                text = "\n".join("\t".join(map(_copy_text, row)) for row in part)
            yield text + "\n"

    cur.copy_expert(sql, _Pieces(pieces()))  # type: ignore[arg-type]  # read() is all COPY uses
