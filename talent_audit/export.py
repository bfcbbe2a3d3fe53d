"""``talent-audit export``: a store's events, or one person's across the stores, as JSON Lines,
one JSON document or CSV, with every stored column: enough to recompute each row's hash and, for
a whole store, to walk its chain, with nothing but a JSON library and SHA-256.

Each row's ``hash`` is SHA-256 (hex) of the canonical form of the row's fields
``global_position, event_id, stream_type, stream_id, stream_version, event_type,
schema_version, payload, metadata, recorded_at, prev_hash`` (``CANONICAL_FIELDS``): UTF-8 JSON,
keys sorted at every level, no whitespace, as ``shared/store/canonical.py`` makes it. The export
gives those fields exactly as hashed: ``recorded_at`` in the canonical UTC text, ``payload`` as
stored (a sealed personal field stays its ciphertext, ``enc1:…``; ``sealed`` says whether the
person's key still exists, ``encrypted``, or was erased, ``erased``), the whole ``metadata``. The
other columns (``service``, ``sealed`` and the metadata's ``actor_id``, ``actor_role``,
``clauses``, ``correlation_id``, ``causation_id`` repeated for reading) are outside the hash."""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import orjson

from shared.store.canonical import GENESIS_HASH, stored_utc_text, utc_text
from talent_audit.errors import AuditError, NotFound
from talent_audit.index import open_index, person_events, sync_index
from talent_audit.redaction import Redactor
from talent_audit.stores import dsn_of, known_service, open_store, store_dsns

CANONICAL_FIELDS = (
    "global_position",
    "event_id",
    "stream_type",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "payload",
    "metadata",
    "recorded_at",
    "prev_hash",
)
"""The keys of the JSON object a row's hash is taken over, and nothing else."""

EXPORT_FIELDS = (
    "service",
    "global_position",
    "event_id",
    "stream_type",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "recorded_at",
    "payload",
    "metadata",
    "prev_hash",
    "hash",
    "sealed",
    "actor_id",
    "actor_role",
    "clauses",
    "correlation_id",
    "causation_id",
)
"""The columns of an export, in order (CSV header)."""

CANONICAL_FORM = (
    "hash = sha256_hex(utf8(json({global_position, event_id, stream_type, stream_id, "
    "stream_version, event_type, schema_version, payload, metadata, recorded_at, prev_hash}, "
    "keys sorted at every level, no whitespace, non-ASCII as UTF-8))); prev_hash of position 1 "
    f"= {GENESIS_HASH}; within one store, prev_hash = hash of the position before"
)

_ROWS = (
    "SELECT global_position, event_id::text, stream_type, stream_id, stream_version, event_type,"
    " schema_version, payload::text, metadata::text, recorded_at::text, prev_hash, hash"
    " FROM events WHERE global_position = ANY(%s) ORDER BY global_position"
)

Row = dict[str, Any]


def _row(service: str, stored: tuple[Any, ...]) -> Row:
    (position, event_id, stream_type, stream_id, version, kind, schema, data, meta, at) = stored[
        :10
    ]
    return {
        "service": service,
        "global_position": position,
        "event_id": event_id,
        "stream_type": stream_type,
        "stream_id": stream_id,
        "stream_version": version,
        "event_type": kind,
        "schema_version": schema,
        "recorded_at": stored_utc_text(at),
        "payload": orjson.loads(data),
        "metadata": orjson.loads(meta),
        "prev_hash": stored[10],
        "hash": stored[11],
    }


def _store_rows(service: str, dsn: str) -> Iterator[Row]:
    store = open_store(service, dsn)
    try:
        for ev in store.read_all(0, decode=False, batch_size=5000):
            yield {
                "service": service,
                "global_position": ev.global_position,
                "event_id": ev.event_id,
                "stream_type": ev.stream_type,
                "stream_id": ev.stream_id,
                "stream_version": ev.stream_version,
                "event_type": ev.event_type,
                "schema_version": ev.schema_version,
                "recorded_at": utc_text(ev.recorded_at),
                "payload": ev.data,
                "metadata": ev.metadata,
                "prev_hash": ev.prev_hash,
                "hash": ev.hash,
            }
    finally:
        store.db.close()


def _person_rows(args: argparse.Namespace, dsns: dict[str, str]) -> list[Row]:
    """The person's events (``history``'s, in its causal order), read whole from their stores."""
    conn = open_index(args)
    try:
        sync_index(conn, dsns, progress=args.progress)
        found = [
            (e["service"], e["global_position"])
            for e in person_events(conn, args.person)
            if args.service in (None, e["service"])
        ]
    finally:
        conn.close()
    if not found:
        where = f" in the {args.service} store" if args.service else " in any store"
        raise NotFound(f"no events about {args.person}{where}")
    rows: dict[tuple[str, int], Row] = {}
    for service in sorted({svc for svc, _ in found}):
        store = open_store(service, dsns[service])
        try:
            with store.db.transaction() as cur:
                cur.execute(_ROWS, ([p for svc, p in found if svc == service],))
                for stored in cur.fetchall():
                    rows[service, stored[0]] = _row(service, stored)
        finally:
            store.db.close()
    gone = [f"{svc} {position}" for svc, position in found if (svc, position) not in rows]
    if gone:  # indexed a moment ago, absent now: the store changed under the export
        raise AuditError(f"events indexed but no longer in their store: {', '.join(gone[:5])}")
    return [rows[key] for key in found]


def _format(args: argparse.Namespace) -> str:
    if args.json and args.format not in (None, "json"):
        raise AuditError(f"--json writes one JSON document; it cannot be --format {args.format}")
    return "json" if args.json else args.format or "jsonl"


def run(args: argparse.Namespace, out: TextIO) -> int:
    fmt = _format(args)
    dsns = store_dsns(args.dsn)
    rows: Iterator[Row] | list[Row]
    if args.service:
        known_service(args.service)
    if args.person:
        rows = _person_rows(args, dsns)
    elif args.service:
        dsn_of(args.service, dsns)
        open_store(args.service, dsns[args.service]).db.close()  # reachable, before any output
        rows = _store_rows(args.service, dsns[args.service])
    else:
        raise AuditError("export needs a service, or --person")
    with contextlib.ExitStack() as stack:
        target = out
        if args.output:
            try:
                target = stack.enter_context(
                    open(args.output, "w", newline="", encoding="utf-8")  # noqa: SIM115
                )
            except OSError as exc:
                raise AuditError(f"cannot write {args.output}: {exc.strerror}") from None
        redact = Redactor(dsns)
        stack.callback(redact.close)
        count = _write(rows, fmt, target, redact, args)
    if args.output:
        sys.stderr.write(f"exported {count:,} events to {args.output}\n")
    return 0


def _write(
    rows: Iterator[Row] | list[Row],
    fmt: str,
    target: TextIO,
    redact: Redactor,
    args: argparse.Namespace,
) -> int:
    count = 0
    writer = None
    if fmt == "json":
        head = {"service": args.service, "person": args.person, "canonical_form": CANONICAL_FORM}
        target.write(orjson.dumps(head).decode()[:-1] + ',"events":[')
    elif fmt == "csv":
        writer = csv.DictWriter(target, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
    for row in rows:
        meta = row["metadata"]
        row["sealed"] = redact.sealed(row["service"], row["event_type"], row["payload"])
        row.update(
            actor_id=meta.get("actor_id"),
            actor_role=meta.get("actor_role"),
            clauses=meta.get("clauses") or [],
            correlation_id=meta.get("correlation_id"),
            causation_id=meta.get("causation_id"),
        )
        if fmt == "jsonl":
            target.write(orjson.dumps({k: row[k] for k in EXPORT_FIELDS}).decode() + "\n")
        elif fmt == "json":
            target.write(
                ("\n" if count == 0 else ",\n")
                + orjson.dumps({k: row[k] for k in EXPORT_FIELDS}).decode()
            )
        else:
            assert writer is not None
            for column in ("payload", "metadata", "sealed"):
                row[column] = orjson.dumps(row[column], option=orjson.OPT_SORT_KEYS).decode()
            row["clauses"] = ";".join(row["clauses"])
            writer.writerow({k: row[k] for k in EXPORT_FIELDS})
        count += 1
    if fmt == "json":
        target.write("\n]}\n")
    return count
