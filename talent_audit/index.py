"""The audit database: an index of every store's events (for ``history`` and ``export
--person``), the heads ``verify`` saw (anchors), and the scratch schemas of ``replay``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

import orjson
import psycopg2.extras
from psycopg2.extensions import connection as Connection

from shared import locks
from shared.config import dsn_for
from shared.db import connect, create_database
from shared.store import RecordedEvent
from talent_audit.output import Progress
from talent_audit.stores import open_store

INDEX_SQL = """
CREATE TABLE IF NOT EXISTS audit_events (
    service         text NOT NULL,
    global_position bigint NOT NULL,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    stream_id       text NOT NULL,
    recorded_at     timestamptz NOT NULL,
    talent_id       text,
    application_id  text,
    applicant_id    text,
    causation_id    text,
    correlation_id  text,
    payload         jsonb NOT NULL,
    metadata        jsonb NOT NULL,
    PRIMARY KEY (service, global_position)
);
CREATE INDEX IF NOT EXISTS audit_events_talent ON audit_events (talent_id);
CREATE INDEX IF NOT EXISTS audit_events_application ON audit_events (application_id);
CREATE INDEX IF NOT EXISTS audit_events_applicant ON audit_events (applicant_id);
CREATE INDEX IF NOT EXISTS audit_events_causation ON audit_events (causation_id);
CREATE TABLE IF NOT EXISTS audit_anchors (
    service     text NOT NULL,
    store       text NOT NULL,
    position    bigint NOT NULL,
    hash        text NOT NULL,
    verified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store, position)
);
CREATE TABLE IF NOT EXISTS audit_cursor (
    service  text PRIMARY KEY,
    position bigint NOT NULL,
    hash     text NOT NULL
);
"""

# one indexed event, as ``history`` and ``export --person`` read it
Event = dict[str, Any]


def audit_dsn(args: argparse.Namespace) -> str:
    dsn: str = args.audit_dsn or os.environ.get("TALENT_AUDIT_DSN") or dsn_for("talent_audit")
    return dsn


def open_index(args: argparse.Namespace) -> Connection:
    """A connection to the audit database (created if it is the default one), its tables made,
    under the audit index's advisory lock."""
    dsn = audit_dsn(args)
    if not args.audit_dsn and not os.environ.get("TALENT_AUDIT_DSN"):
        create_database(dsn_for("postgres"), "talent_audit")
    conn = connect(dsn, application_name="talent-audit", statement_timeout_ms=600_000)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (locks.AUDIT_INDEX,))
        cur.execute(INDEX_SQL)
    conn.commit()
    return conn


def sync_index(conn: Connection, dsns: Mapping[str, str], progress: bool = False) -> None:
    """Bring the audit index up to date with every store. A store whose event at the cursor no
    longer has the indexed hash (restored, replaced) is re-indexed from the start."""
    for svc, dsn in dsns.items():
        store = open_store(svc, dsn)
        with conn.cursor() as cur:
            cur.execute("SELECT position, hash FROM audit_cursor WHERE service = %s", (svc,))
            row = cur.fetchone()
            after = 0
            if row:
                with store.db.transaction() as scur:
                    scur.execute("SELECT hash FROM events WHERE global_position = %s", (row[0],))
                    found = scur.fetchone()
                if found and found[0] == row[1]:
                    after = row[0]
                else:
                    cur.execute("DELETE FROM audit_events WHERE service = %s", (svc,))
        tick = Progress(f"indexing {svc}", progress)
        batch: list[tuple[object, ...]] = []
        last, n = None, 0
        for ev in store.read_all(after, decode=False):
            p, m = ev.data, ev.metadata
            batch.append(
                (
                    svc,
                    ev.global_position,
                    ev.event_id,
                    ev.event_type,
                    ev.stream_id,
                    ev.recorded_at,
                    p.get("talent_id"),
                    p.get("application_id"),
                    p.get("applicant_id"),
                    m.get("causation_id"),
                    m.get("correlation_id"),
                    orjson.dumps(p).decode(),
                    orjson.dumps(m).decode(),
                )
            )
            last = ev
            n += 1
            if len(batch) >= 5000:
                _flush(conn, batch, svc, last)
                batch = []
                tick(n)
        if last is not None:
            _flush(conn, batch, svc, last)
        tick.done()
        store.db.close()


def _flush(
    conn: Connection, batch: list[tuple[object, ...]], svc: str, last: RecordedEvent
) -> None:
    with conn.cursor() as cur:
        if batch:
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO audit_events VALUES %s",
                batch,
                template="(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s::jsonb,%s::jsonb)",
                page_size=1000,
            )
        cur.execute(
            "INSERT INTO audit_cursor VALUES (%s, %s, %s) ON CONFLICT (service) DO "
            "UPDATE SET position = excluded.position, hash = excluded.hash",
            (svc, last.global_position, last.hash),
        )
    conn.commit()


_HISTORY_COLUMNS = (
    "service, global_position, event_id::text, event_type, stream_id, "
    "recorded_at, talent_id, application_id, applicant_id, causation_id, "
    "payload, metadata"
)


def person_events(conn: Connection, person: str) -> list[Event]:
    """Every indexed event about ``person`` (a talent, application or applicant id), and every
    event caused by one of them, in causal order."""
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        ids = {person}
        while True:  # a talent id leads to its application id and back (TalentCertified)
            cur.execute(
                "SELECT DISTINCT talent_id, application_id, applicant_id FROM audit_events"
                " WHERE talent_id = ANY(%(ids)s) OR application_id = ANY(%(ids)s)"
                " OR applicant_id = ANY(%(ids)s)",
                {"ids": list(ids)},
            )
            found = {v for row in cur.fetchall() for v in row.values() if v} | ids
            if found == ids:
                break
            ids = found
        cur.execute(
            f"SELECT {_HISTORY_COLUMNS} FROM audit_events WHERE talent_id = ANY(%(ids)s)"
            " OR application_id = ANY(%(ids)s) OR applicant_id = ANY(%(ids)s)",
            {"ids": list(ids)},
        )
        events = {r["event_id"]: r for r in cur.fetchall()}
        frontier = list(events)
        while frontier:
            cur.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM audit_events WHERE causation_id = ANY(%s)",
                (frontier,),
            )
            new = [r for r in cur.fetchall() if r["event_id"] not in events]
            events.update((r["event_id"], r) for r in new)
            frontier = [r["event_id"] for r in new]
    return causal_order(list(events.values()))


def causal_order(events: list[Event]) -> list[Event]:
    """By time, except that an event always comes after the event that caused it (clocks of
    different services may disagree by a little)."""
    events.sort(key=lambda e: (e["recorded_at"], e["service"], e["global_position"]))
    by_id = {e["event_id"]: e for e in events}
    placed: set[str] = set()
    ordered: list[Event] = []

    def place(e: Event) -> None:
        if e["event_id"] in placed:
            return
        cause = by_id.get(e["causation_id"])
        if cause is not None and cause["event_id"] not in placed:
            place(cause)
        placed.add(e["event_id"])
        ordered.append(e)

    for e in events:
        place(e)
    return ordered
