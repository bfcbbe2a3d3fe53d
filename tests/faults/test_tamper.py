"""Someone with superuser rights edits, forges or deletes a stored event: ``talent-audit verify``
names the service and the position. The stores are put back afterwards (verify passes again)."""

import hashlib
import json
import subprocess
import sys
import uuid

import orjson
import psycopg2
import pytest

from shared.db import Database
from shared.store import EventStore
from shared.store.canonical import canonical_json, stored_utc_text
from tests.support.faults import Stream, report, settle

pytestmark = pytest.mark.e2e


def verify(system):
    """``talent-audit verify --json`` as an auditor runs it: (exit code, {service: result})."""
    args = [a for svc in system.dbs for a in ("--dsn", f"{svc}={system.dsn(svc)}")]
    proc = subprocess.run(
        [sys.executable, "-m", "services.audit_cli", "verify", "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, {s["service"]: s for s in json.loads(proc.stdout)["services"]}


def verify_all(system):
    """The stores' own ``verify()``, in this process (faster than the console script's pool)."""
    results = {}
    for svc in system.dbs:
        store = EventStore(Database(system.dsn(svc)), svc)
        try:
            r = store.verify()
        finally:
            store.db.close()
        results[svc] = {
            "service": svc,
            "ok": r.ok,
            "first_bad_position": r.position,
            "reason": r.reason,
        }
    return (0 if all(r["ok"] for r in results.values()) else 1), results


def superuser(system, svc):
    conn = psycopg2.connect(system.dsn(svc))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET session_replication_role = replica")  # past the append-only trigger
    return conn, cur


def row(cur, position):
    cur.execute(
        "SELECT global_position, event_id::text, stream_type, stream_id, stream_version,"
        " event_type, schema_version, payload::text, metadata::text, recorded_at,"
        " recorded_at::text, prev_hash, hash FROM events WHERE global_position = %s",
        (position,),
    )
    return cur.fetchone()


def test_tampering_is_named_by_service_and_position(system):
    run = uuid.uuid4().hex[:8]
    with Stream(system, run, 5) as stream:  # every store has events to tamper with
        pass
    for svc in ("subsidies", "assessment", "notifications"):
        settle(system, svc, run, stream.ids, timeout=60)
    code, results = verify_all(system)
    assert code == 0, results
    found = []

    # 1. an amount edited in place (subsidies)
    conn, cur = superuser(system, "subsidies")
    cur.execute(
        "SELECT global_position FROM events WHERE event_type = 'SubsidyGranted'"
        " AND payload->>'talent_id' = %s",
        (f"talent-{run}-1",),
    )
    pos = cur.fetchone()[0]
    original = row(cur, pos)
    try:
        cur.execute(
            "UPDATE events SET payload = jsonb_set(payload, '{amount_fen}', '1')"
            " WHERE global_position = %s",
            (pos,),
        )
        code, results = verify(system)
        r = results["subsidies"]
        found.append(("subsidies", "edit", pos, r["first_bad_position"], r["reason"]))
        assert code == 1 and not r["ok"] and r["first_bad_position"] == pos
        assert r["reason"] == "row content does not match its hash"
        assert all(results[s]["ok"] for s in results if s != "subsidies")
    finally:
        cur.execute(
            "UPDATE events SET payload = %s::jsonb WHERE global_position = %s", (original[7], pos)
        )
        conn.close()

    # 2. an edit whose forger also recomputed the row's hash (assessment): the next row's
    #    prev_hash gives it away
    conn, cur = superuser(system, "assessment")
    cur.execute(
        "SELECT global_position FROM events WHERE event_type = 'TenureOpened'"
        " AND payload->>'talent_id' = %s",
        (f"talent-{run}-0",),
    )
    pos = cur.fetchone()[0]
    (
        _,
        event_id,
        stream_type,
        stream_id,
        version,
        event_type,
        schema_version,
        payload,
        meta,
        _,
        recorded_text,
        prev_hash,
        digest,
    ) = original = row(cur, pos)
    forged = dict(orjson.loads(payload), county="元谋县")
    forged_hash = hashlib.sha256(
        canonical_json(
            pos,
            event_id,
            stream_type,
            stream_id,
            version,
            event_type,
            schema_version,
            forged,
            orjson.loads(meta),
            stored_utc_text(recorded_text),
            prev_hash,
        )
    ).hexdigest()
    try:
        cur.execute(
            "UPDATE events SET payload = %s::jsonb, hash = %s WHERE global_position = %s",
            (orjson.dumps(forged).decode(), forged_hash, pos),
        )
        code, results = verify_all(system)
        r = results["assessment"]
        found.append(("assessment", "forged hash", pos, r["first_bad_position"], r["reason"]))
        assert code == 1 and r["first_bad_position"] == pos + 1
        assert r["reason"] == "prev_hash does not match the previous row's hash"
    finally:
        cur.execute(
            "UPDATE events SET payload = %s::jsonb, hash = %s WHERE global_position = %s",
            (payload, digest, pos),
        )
        conn.close()

    # 3. an event deleted (applications: one of this test's certifications, a stream nobody
    #    appends to meanwhile)
    conn, cur = superuser(system, "applications")
    cur.execute(
        "SELECT global_position FROM events WHERE stream_id = %s", (f"application-{run}-2",)
    )
    pos = cur.fetchone()[0]
    cur.execute("CREATE TEMP TABLE kept AS SELECT * FROM events WHERE global_position = %s", (pos,))
    try:
        cur.execute("DELETE FROM events WHERE global_position = %s", (pos,))
        code, results = verify_all(system)
        r = results["applications"]
        found.append(("applications", "delete", pos, r["first_bad_position"], r["reason"]))
        assert code == 1 and r["first_bad_position"] == pos and r["reason"] == "missing position"
    finally:
        cur.execute("INSERT INTO events SELECT * FROM kept")
        conn.close()

    for svc, how, at, named, reason in found:
        report(
            f"tamper {how}",
            {"service": svc, "position": at, "verify_named": named, "reason": reason},
        )
    code, results = verify_all(system)
    assert code == 0, results  # put back as it was
