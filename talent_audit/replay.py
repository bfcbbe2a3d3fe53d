"""``talent-audit replay``: a service's read models rebuilt as of a date, datetime or position, in
a scratch schema of the audit database, from the projectors the tool is given."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO, cast

from shared.clock import SHANGHAI
from shared.store import RecordedEvent
from talent_audit.copy import copy_rows, drop_indexes
from talent_audit.errors import AuditError
from talent_audit.index import open_index
from talent_audit.output import Progress, emit_json, local_time, table
from talent_audit.read_models import Fold, Projector, ReadModels
from talent_audit.stores import dsn_of, known_service, open_store, store_dsns


def parse_as_of(text: str) -> dict[str, Any]:
    """A position (digits), a date (through the end of that day in China) or a datetime."""
    if text.isdigit():
        return {"to_position": int(text)}
    try:
        day = dt.date.fromisoformat(text)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), SHANGHAI)
        return {"as_of": end - dt.timedelta(microseconds=1)}
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise AuditError(f"--as-of {text!r} is neither a position, a date nor a datetime") from None
    return {"as_of": moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)}


def _as_of_text(bound: dict[str, Any]) -> str:
    """The point replayed to, for a person: a position, or a moment with its offset."""
    if "to_position" in bound:
        return f"position {bound['to_position']:,}"
    return local_time(bound["as_of"])


def projectors_of(read_models: ReadModels, svc: str) -> Sequence[Projector]:
    """The projectors of ``svc``'s read models, as the caller of the tool gave them."""
    if svc not in read_models:
        raise AuditError(f"no read models of the {svc} service were given to talent-audit")
    return read_models[svc]


def _reads(fold: Fold, kind: str) -> bool:
    """Whether ``fold`` is given events of type ``kind``: every type, unless it names its
    ``event_types``."""
    kinds = getattr(fold, "event_types", None)
    return kinds is None or kind in kinds


def run(args: argparse.Namespace, out: TextIO, *, read_models: ReadModels) -> int:
    known_service(args.service)
    bound = parse_as_of(args.as_of)
    projectors = projectors_of(read_models, args.service)
    store = open_store(args.service, dsn_of(args.service, store_dsns(args.dsn)))
    schema = f"replay_{args.service}_{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}"
    conn = open_index(args)
    start, n = time.monotonic(), 0
    tick = Progress(f"replaying {args.service}", args.progress)
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{schema}"; SET search_path TO "{schema}"')
            for projector in projectors:
                for _name, sql in projector.migrations:
                    cur.execute(sql)
            # A projector with a bulk path folds the events in memory and is written once with
            # COPY; any other applies its statements event by event, as the live service does.
            # A fold that names its ``event_types`` is only given events of those types.
            folds: list[Fold] = [cast(Any, p).fold() for p in projectors if hasattr(p, "fold")]
            live = [p for p in projectors if not hasattr(p, "fold")]
            by_type: dict[str, list[Callable[[RecordedEvent], None]]] = {}

            def appliers(kind: str) -> list[Callable[[RecordedEvent], None]]:
                found = by_type[kind] = [f.apply for f in folds if _reads(f, kind)]
                return found

            for event in store.read_all(0, batch_size=5000, **bound):
                kind = event.event_type
                for apply in by_type[kind] if kind in by_type else appliers(kind):
                    apply(event)
                for projector in live:
                    projector.apply(cur, event)
                n += 1
                if n % 10_000 == 0:
                    tick(n)
            written = [
                (table_name, columns, rows)
                for fold in folds
                for table_name, (columns, rows) in fold.tables().items()
            ]
            rebuild = drop_indexes(cur, schema, {t for t, _, rows in written if rows})
            for table_name, columns, rows in written:
                copy_rows(cur, f'"{schema}"."{table_name}"', columns, rows)
            for statement in rebuild:
                cur.execute(statement)
            tick.done()
            elapsed = time.monotonic() - start
            cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
                " AND table_name <> 'schema_migrations' ORDER BY table_name",
                (schema,),
            )
            tables = [t for (t,) in cur.fetchall()]
            state: dict[str, list[dict[str, Any]]] = {}
            for t in tables:
                cur.execute(f'SELECT * FROM "{schema}"."{t}" ORDER BY 1 LIMIT %s', (args.limit,))
                cols = [c.name for c in cur.description or ()]
                state[t] = [dict(zip(cols, r)) for r in cur.fetchall()]
        conn.commit()
        if not args.keep:
            with conn.cursor() as cur:
                cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.commit()
    finally:
        conn.close()
        store.db.close()
    summary = {
        "service": args.service,
        "as_of": args.as_of,
        "events": n,
        "events_per_s": round(n / elapsed) if elapsed else None,
        "schema": schema if args.keep else None,
        "read_models": state,
    }
    if args.json:
        emit_json(summary, out)
    else:
        out.write(
            f"{args.service} as of {_as_of_text(bound)}: {n:,} events replayed "
            f"({summary['events_per_s'] or 0:,}/s)"
            + (f" into schema {schema} of the audit database" if args.keep else "")
            + "\n"
        )
        for t, sample in state.items():
            first = f", first {args.limit}" if len(sample) == args.limit else ""
            out.write(f"\n{t} ({len(sample)} rows{first})\n")
            if sample:
                cols = [c for c in sample[0] if not isinstance(sample[0][c], (dict, list))]
                table(sample, cols, out)
    return 0
