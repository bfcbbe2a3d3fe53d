"""``talent-audit export``: a store's events, or one person's across the stores, as JSON Lines
or CSV, personal fields redacted."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import orjson

from talent_audit.errors import AuditError
from talent_audit.index import open_index, person_events, sync_index
from talent_audit.redaction import Redactor
from talent_audit.stores import open_store, store_dsns

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
    "actor_id",
    "actor_role",
    "clauses",
    "correlation_id",
    "causation_id",
    "payload",
    "hash",
)


def run(args: argparse.Namespace, out: TextIO) -> int:
    rows: Iterator[dict[str, Any]]
    if args.person:
        conn = open_index(args)
        try:
            sync_index(conn, store_dsns(args.dsn), progress=args.progress)
            events = person_events(conn, args.person)
        finally:
            conn.close()
        rows = (
            {
                "service": e["service"],
                "global_position": e["global_position"],
                "event_id": e["event_id"],
                "stream_type": None,
                "stream_id": None,
                "stream_version": None,
                "event_type": e["event_type"],
                "schema_version": None,
                "recorded_at": e["recorded_at"],
                "payload": e["payload"],
                "metadata": e["metadata"],
                "hash": None,
            }
            for e in events
            if args.service in (None, e["service"])
        )
    else:
        if not args.service:
            raise AuditError("export needs a service, or --person")
        store = open_store(args.service, store_dsns(args.dsn)[args.service])
        rows = (
            {
                "service": args.service,
                "global_position": ev.global_position,
                "event_id": ev.event_id,
                "stream_type": ev.stream_type,
                "stream_id": ev.stream_id,
                "stream_version": ev.stream_version,
                "event_type": ev.event_type,
                "schema_version": ev.schema_version,
                "recorded_at": ev.recorded_at,
                "payload": ev.data,
                "metadata": ev.metadata,
                "hash": ev.hash,
            }
            for ev in store.read_all(0, decode=False)
        )
    target = open(args.output, "w", newline="", encoding="utf-8") if args.output else out
    writer = None
    count = 0
    redact = Redactor(store_dsns(args.dsn))
    try:
        for row in rows:
            row["payload"] = redact(row["service"], row["event_type"], row["payload"])
            meta = row.pop("metadata")
            row.update(
                actor_id=meta.get("actor_id"),
                actor_role=meta.get("actor_role"),
                clauses=meta.get("clauses"),
                correlation_id=meta.get("correlation_id"),
                causation_id=meta.get("causation_id"),
            )
            row["recorded_at"] = row["recorded_at"].isoformat()
            if args.format == "jsonl":
                target.write(orjson.dumps({k: row[k] for k in EXPORT_FIELDS}).decode() + "\n")
            else:
                if writer is None:
                    writer = csv.DictWriter(target, fieldnames=EXPORT_FIELDS)
                    writer.writeheader()
                row["payload"] = orjson.dumps(row["payload"]).decode()
                row["clauses"] = ";".join(row["clauses"] or [])
                writer.writerow({k: row[k] for k in EXPORT_FIELDS})
            count += 1
    finally:
        redact.close()
        if args.output:
            target.close()
    if args.output:
        sys.stderr.write(f"exported {count:,} events to {args.output}\n")
    return 0
