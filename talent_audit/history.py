"""``talent-audit history``: one person's timeline across the four stores, from the audit index."""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import Any, TextIO

from talent_audit.errors import NotFound
from talent_audit.index import open_index, person_events, sync_index
from talent_audit.output import emit_json, table, yuan
from talent_audit.redaction import Redactor
from talent_audit.stores import store_dsns


def _amounts(payload: Mapping[str, Any]) -> str:
    """The payload's amounts (integer fen) in yuan: ``amount 50,000.00``."""
    return " ".join(
        f"{k.removesuffix('_fen')} {yuan(v)}"
        for k, v in payload.items()
        if k.endswith("_fen") and isinstance(v, int)
    )


def _details(row: Mapping[str, Any]) -> str:
    """The act's own date, who acted, the clauses applied, the amounts, the payload's telling
    facts and, for an imported fact, where it came from, for a person reading a timeline:
    ``act on 2023-05-10 · by prefecture_officer officer-1 · LT-10.1 · 50,000.00 CNY``."""
    parts = [f"act on {row['act_on']}"] if row.get("act_on") else []
    parts.append(f"by {row['role'] or '?'} {row['actor'] or ''}".rstrip())
    if row["clauses"]:
        parts.append(",".join(row["clauses"]))
    if row["amount"]:
        parts.append(f"{row['amount']} CNY")
    if row["detail"]:
        parts.append(row["detail"])
    if row.get("source") and row["source"] != "live":
        parts.append(row["source"])  # imported: the file's hash, sheet and row
    return " · ".join(parts)


def _detail(payload: Mapping[str, Any]) -> str:
    """The few payload facts that make a timeline line readable."""
    keys = ("stage", "grade", "ground", "tenure_year", "recipient", "payment_reference")
    return " ".join(f"{k}={payload[k]}" for k in keys if payload.get(k) is not None)


ACT_DATES = (
    "certified_on",
    "transferred_on",
    "submitted_on",
    "decided_on",
    "paid_on",
    "repaid_on",
    "reported_on",
    "assessed_on",
    "proposed_on",
    "found_on",
    "occurred_on",
    "rectified_on",
    "received_on",
    "resolved_on",
    "withdrawn_on",
    "filed_on",
    "set_on",
    "opened_on",
    "erased_on",
)
"""The payload fields that date an event's act (``<past participle>_on``), the more telling first."""


def _act_on(payload: Mapping[str, Any]) -> str | None:
    """When the event's act happened, as its payload dates it (None: the event dates no act)."""
    for key in ACT_DATES:
        if isinstance(payload.get(key), str):
            return str(payload[key])
    return next(
        (str(v) for k, v in payload.items() if k.endswith("_on") and isinstance(v, str)), None
    )


def _source(metadata: Mapping[str, Any]) -> str:
    """Where the fact came from: ``live``, or an import's file (SHA-256 prefix), sheet and row."""
    p = metadata.get("provenance")
    if not p:
        return "live"
    return f"{p.get('source')} {str(p.get('file_sha256'))[:12]} {p.get('sheet')}:{p.get('row')}"


def run(args: argparse.Namespace, out: TextIO) -> int:
    conn = open_index(args)
    try:
        sync_index(conn, store_dsns(args.dsn), progress=args.progress)
        start = time.monotonic()
        events = person_events(conn, args.person)
        elapsed_ms = (time.monotonic() - start) * 1000
    finally:
        conn.close()
    if not events:
        raise NotFound(f"no events about {args.person} in any store")
    redact = Redactor(store_dsns(args.dsn))
    try:
        for e in events:
            e["payload"] = redact(e["service"], e["event_type"], e["payload"])
    finally:
        redact.close()
    rows = [
        {
            "time": e["recorded_at"],
            "recorded_at": e["recorded_at"],
            "act_on": _act_on(e["payload"]),
            "service": e["service"],
            "event": e["event_type"],
            "actor": e["metadata"].get("actor_id"),
            "role": e["metadata"].get("actor_role"),
            "clauses": e["metadata"].get("clauses") or [],
            "amount": _amounts(e["payload"]),
            "detail": _detail(e["payload"]),
            "position": e["global_position"],
            "event_id": e["event_id"],
            "causation_id": e["causation_id"],
            "correlation_id": e["metadata"].get("correlation_id"),
            "source": _source(e["metadata"]),
            "provenance": e["metadata"].get("provenance"),
            "payload": e["payload"],
        }
        for e in events
    ]
    if args.json:
        emit_json({"person": args.person, "events": rows, "query_ms": round(elapsed_ms, 1)}, out)
    else:
        table(
            [{**r, "details": _details(r)} for r in rows],
            ["time", "service", "event", "details"],
            out,
            whole=("service", "event"),
            wrap=("details",),
        )
        out.write(f"\n{len(rows)} events across {len({r['service'] for r in rows})} stores\n")
    return 0
