"""The fast chain verifier (COPY, concatenated canonical bytes, ranges linked at their
boundaries) finds exactly what a plain walk over the stored rows finds: on rows whose text needs
JSON escaping and COPY escaping, on every recorded_at shape, and for tampering at, before and
after range boundaries, with ranges of every size."""

import datetime as dt
import hashlib
import uuid

import orjson
import pytest

from shared.db import Database
from shared.store import schema as migrations
from shared.store import verify as chainverify
from shared.store.canonical import (
    GENESIS_HASH,
    VerifyResult,
    canonical_json,
    chain_hash,
    stored_utc_text,
)
from shared.store.schema import EVENT_STORE

pytestmark = pytest.mark.integration
UTC = dt.UTC

AWKWARD = [
    "plain",
    'quote " and backslash \\ ',
    "tab\there",
    "new\nline\r\n",
    "楚雄市 通知",
    "control \x01\x1f",
    "slash / \u2028 end",
    "\\N",
    "emoji 😀",
    "",
]


def _rows(n):
    prev, rows = GENESIS_HASH, []
    base = dt.datetime(2026, 1, 1, 8, 0, 0, tzinfo=UTC)
    for i in range(1, n + 1):
        text = AWKWARD[i % len(AWKWARD)]
        # whole seconds, trailing zeros in the fraction, a full fraction
        recorded_at = base + dt.timedelta(seconds=i, microseconds=(0, 120_000, 123_456)[i % 3])
        row = (
            i,
            str(uuid.uuid4()),
            "grant" if i % 4 else f"type {text}",
            f"s-{i % 5}" if i % 3 else f"stream {text}",
            i,
            "SubsidyGranted" if i % 2 else f"Ev{text}",
            1 + i % 2,
            {
                "z": i,
                "a": {"y": [1, text, {"b": None, "a": True}], "x": text},
                "amount_fen": 5_000_000 + i,
                "中文": text,
            },
            {"actor_id": "a" if i % 4 else text, "clauses": ["LT-10.1"], "causation_id": None},
            recorded_at,
            prev,
        )
        digest = chain_hash(*row)
        rows.append(row + (digest,))
        prev = digest
    return rows


@pytest.fixture
def db(fresh_db):
    db = Database(fresh_db("chain"))
    migrations.apply(db, EVENT_STORE)
    with db.transaction() as cur:
        for pos, eid, st, sid, sv, et, schv, data, meta, at, prev, digest in _rows(23):
            cur.execute(
                "INSERT INTO events VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    pos,
                    eid,
                    st,
                    sid,
                    sv,
                    et,
                    schv,
                    orjson.dumps(data).decode(),
                    orjson.dumps(meta).decode(),
                    at,
                    prev,
                    digest,
                ),
            )
    yield db
    db.close()


def walk(db):
    """The reference: the plain walk the store used before (rows through psycopg2, each hash
    recomputed with the store's own canonical encoding)."""
    expected_prev, expected_position, checked = GENESIS_HASH, 1, 0
    with db.transaction() as cur:
        cur.execute(
            "SELECT global_position, event_id::text, stream_type, stream_id,"
            " stream_version, event_type, schema_version, payload::text, metadata::text,"
            " recorded_at::text, prev_hash, hash FROM events ORDER BY global_position"
        )
        for pos, eid, st, sid, sv, et, schv, data, meta, at, prev, digest in cur.fetchall():
            if pos != expected_position:
                return VerifyResult(
                    False,
                    checked,
                    expected_position,
                    "missing position",
                    str(expected_position),
                    str(pos),
                )
            if prev != expected_prev:
                return VerifyResult(
                    False,
                    checked,
                    pos,
                    "prev_hash does not match the previous row's hash",
                    expected_prev,
                    prev,
                )
            actual = hashlib.sha256(
                canonical_json(
                    pos,
                    eid,
                    st,
                    sid,
                    sv,
                    et,
                    schv,
                    orjson.loads(data),
                    orjson.loads(meta),
                    stored_utc_text(at),
                    prev,
                )
            ).hexdigest()
            if actual != digest:
                return VerifyResult(
                    False, checked, pos, "row content does not match its hash", actual, digest
                )
            checked += 1
            expected_prev, expected_position = digest, expected_position + 1
    return VerifyResult(True, checked)


def fast(db, size):
    from shared.store import EventStore

    return EventStore(db, "test", registry=object()).verify(batch_size=size)


def tamper(db, sql):
    with db.transaction() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(sql)


SIZES = (1, 2, 3, 5, 7, 23, 20_000)


def test_awkward_rows_verify_and_hash_like_the_store(db):
    assert walk(db) == VerifyResult(True, 23)
    for size in SIZES:
        assert fast(db, size) == VerifyResult(True, 23), size
    # the concatenated bytes are the canonical bytes, row by row
    with db.transaction() as cur:
        lines = chainverify.read_range(cur, 1, 23)
    assert len(lines) == 23 and any(b"\\" in line for line in lines)


@pytest.mark.parametrize("position", [1, 2, 3, 6, 7, 12, 22, 23])
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE events SET payload = jsonb_set(payload, '{amount_fen}', '1') WHERE global_position = {p}",
        "UPDATE events SET metadata = jsonb_set(metadata, '{actor_id}', '\"m\"') WHERE global_position = {p}",
        "UPDATE events SET stream_id = stream_id || '\"' WHERE global_position = {p}",
        "UPDATE events SET recorded_at = recorded_at + interval '1 microsecond' WHERE global_position = {p}",
        "UPDATE events SET prev_hash = repeat('a', 64) WHERE global_position = {p}",
        "UPDATE events SET prev_hash = prev_hash || '\"' WHERE global_position = {p}",
        "UPDATE events SET event_type = event_type || E'\\t\"' WHERE global_position = {p}",
        "UPDATE events SET hash = repeat('b', 64) WHERE global_position = {p}",
        "DELETE FROM events WHERE global_position = {p}",
        "DELETE FROM events WHERE global_position BETWEEN {p} AND {p} + 4",
    ],
)
def test_tampering_is_found_where_the_walk_finds_it(db, position, sql):
    tamper(db, sql.replace("{p}", str(position)))
    expected = walk(db)
    for size in SIZES:
        assert fast(db, size) == expected, (size, expected)
    if not sql.startswith("DELETE") or position < 19:  # deleting the tail is not a break
        assert not expected.ok


def test_ranges_checked_out_of_order_link_to_the_same_result(db):
    tamper(db, "UPDATE events SET hash = repeat('b', 64) WHERE global_position = 9")
    with db.transaction() as cur:
        results = {
            r: chainverify.verify_range(cur, *r) for r in reversed(chainverify.ranges(23, 4))
        }
    linked = chainverify.link(results[r] for r in chainverify.ranges(23, 4))
    assert linked == walk(db) and linked.position == 9 and linked.checked == 8
