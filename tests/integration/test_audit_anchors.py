"""``talent-audit verify`` remembers the heads it verified: a chain whose last events were cut
off, or which was recomputed from some position on by someone who can write the table, is
valid as a chain but no longer holds what an auditor saw before, and verify says so."""

import hashlib
import io
import json

import orjson
import psycopg2
import pytest

from services import audit_cli as audit
from shared.db import Database
from shared.decider import NewEvent
from shared.store import EventStore, Metadata
from shared.store.canonical import canonical_json, stored_utc_text
from talent_audit.stores import SERVICES

pytestmark = pytest.mark.integration
META = Metadata("auditor-test", "system", "corr-anchors", policy_version="test")


@pytest.fixture
def stores(fresh_db):
    dsns = {svc: fresh_db(f"anchor_{svc}") for svc in SERVICES}
    for svc, dsn in dsns.items():
        store = EventStore(Database(dsn), svc)
        store.migrate()
        for i in range(5):
            store.append(
                "grant",
                f"grant-{i}",
                0,
                [
                    NewEvent(
                        "SubsidyGranted",
                        dict(
                            grant_id=f"g-{i}",
                            talent_id=f"t-{i}",
                            measure="LT-10.1",
                            amount_fen=5_000_000,
                            fiscal_year=2026,
                        ),
                        ("LT-10.1",),
                    )
                ],
                META,
            )
        store.db.close()
    args = [a for svc, dsn in dsns.items() for a in ("--dsn", f"{svc}={dsn}")]
    return dsns, args + ["--audit-dsn", fresh_db("anchor_audit")]


def verify(args, *extra):
    out = io.StringIO()
    code = audit.main(["verify", "--json", *args, *extra], out=out)
    return code, {s["service"]: s for s in json.loads(out.getvalue())["services"]}


def superuser(dsn):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET session_replication_role = replica")  # past the append-only trigger
    return conn, cur


def test_cutting_the_tail_is_named_once_a_head_was_verified(stores):
    dsns, args = stores
    code, first = verify(args)
    assert code == 0 and first["subsidies"]["head_position"] == 5
    conn, cur = superuser(dsns["subsidies"])
    cur.execute("DELETE FROM events WHERE global_position >= 4")
    conn.close()
    assert EventStore(Database(dsns["subsidies"]), "subsidies").verify().ok  # a valid chain
    code, again = verify(args)
    r = again["subsidies"]
    assert code == 1 and not r["ok"] and r["first_bad_position"] == 4
    assert "ends at position 3, but position 5 was there" in r["reason"]
    assert r["expected"] == first["subsidies"]["head_hash"]
    assert all(again[s]["ok"] for s in again if s != "subsidies")
    code, skipped = verify(args, "--no-anchors")
    assert code == 0 and skipped["subsidies"]["ok"]


def test_a_chain_recomputed_from_a_position_on_is_named_there(stores):
    dsns, args = stores
    assert verify(args)[0] == 0
    conn, cur = superuser(dsns["assessment"])
    cur.execute(
        "SELECT global_position, event_id::text, stream_type, stream_id, stream_version,"
        " event_type, schema_version, payload::text, metadata::text, recorded_at::text,"
        " prev_hash FROM events WHERE global_position >= 3 ORDER BY global_position"
    )
    prev = None
    for (
        pos,
        event_id,
        stype,
        sid,
        version,
        etype,
        sv,
        payload,
        meta,
        recorded,
        prev_hash,
    ) in cur.fetchall():
        payload = dict(orjson.loads(payload), amount_fen=1) if pos == 3 else orjson.loads(payload)
        digest = hashlib.sha256(
            canonical_json(
                pos,
                event_id,
                stype,
                sid,
                version,
                etype,
                sv,
                payload,
                orjson.loads(meta),
                stored_utc_text(recorded),
                prev or prev_hash,
            )
        ).hexdigest()
        cur.execute(
            "UPDATE events SET payload = %s::jsonb, prev_hash = %s, hash = %s"
            " WHERE global_position = %s",
            (orjson.dumps(payload).decode(), prev or prev_hash, digest, pos),
        )
        prev = digest
    conn.close()
    assert EventStore(Database(dsns["assessment"]), "assessment").verify().ok  # forged well
    code, again = verify(args)
    r = again["assessment"]
    assert code == 1 and r["first_bad_position"] == 5 and "chain was rewritten" in r["reason"]


def test_a_head_kept_outside_is_checked_too(stores):
    dsns, args = stores
    code, first = verify(args, "--no-anchors")
    head = first["notifications"]
    expect = f"notifications={head['head_position']}:{head['head_hash']}"
    assert verify(args, "--no-anchors", "--expect", expect)[0] == 0
    wrong = f"notifications={head['head_position']}:{'0' * 64}"
    code, again = verify(args, "--no-anchors", "--expect", wrong)
    assert code == 1 and "given with --expect" in again["notifications"]["reason"]
    out = io.StringIO()
    assert audit.main(["verify", *args, "--expect", "notifications=five:abc"], out=out) == 2
