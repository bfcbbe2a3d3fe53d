"""The event store against a real PostgreSQL: optimistic concurrency under contention, gapless
commit-ordered positions seen by a concurrent reader, the hash chain and the append-only trigger
against tampering, reads up to a version / a time / a position, upcasting, contract refusal and
idempotent migrations. Every test gets a throw-away database, dropped afterwards."""

import datetime as dt
import select
import threading
import uuid

import psycopg2
import psycopg2.errors
import pytest

from shared.config import dsn_for
from shared.contracts import EventSchema, Registry, fields, validate
from shared.db import Database, create_database, drop_database
from shared.decider import NewEvent
from shared.errors import ConcurrencyConflict, InvalidInput
from shared.store import EventStore, Metadata, RecordedEvent
from shared.store.canonical import GENESIS_HASH, chain_hash
from shared.store.schema import NOTIFY_CHANNEL

pytestmark = pytest.mark.integration

ADMIN_DSN = dsn_for("postgres")
META = Metadata("tester", "system", "corr-1", policy_version="test")
UTC = dt.UTC


@pytest.fixture
def dsn():
    name = f"talent_test_es_{uuid.uuid4().hex[:8]}"
    create_database(ADMIN_DSN, name, drop_first=True)
    try:
        yield dsn_for(name)
    finally:
        drop_database(ADMIN_DSN, name)


@pytest.fixture
def store(dsn):
    db = Database(dsn, max_size=16)
    store = EventStore(db, "test")
    store.migrate()
    try:
        yield store
    finally:
        db.close()


def granted(i=0, **overrides):
    payload = dict(
        grant_id=f"g-{i}",
        talent_id=f"t-{i}",
        measure="LT-10.1",
        amount_fen=5_000_000 + i,
        fiscal_year=2026,
    )
    return NewEvent("SubsidyGranted", {**payload, **overrides}, ("LT-10.1",))


def paid(i=0, on=dt.date(2026, 3, 1)):
    return NewEvent(
        "SubsidyPaid",
        dict(
            grant_id=f"g-{i}",
            talent_id=f"t-{i}",
            amount_fen=5_000_000,
            payment_reference=f"p-{i}",
            paid_on=on,
        ),
        ("LT-10.2",),
    )


def run_threads(n, target):
    """Run ``target(i, barrier)`` in ``n`` threads started together; re-raise their failures."""
    barrier, errors = threading.Barrier(n), []

    def run(i):
        try:
            target(i, barrier)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def positions(store):
    with store.db.transaction() as cur:
        cur.execute("SELECT global_position FROM events ORDER BY global_position")
        return [p for (p,) in cur.fetchall()]


# -- concurrency -------------------------------------------------------------------------------


def test_one_winner_per_version_among_8_racing_writers(store):
    rounds = 4
    outcomes = {v: {"won": [], "conflicts": []} for v in range(rounds)}

    def writer(i, barrier):
        for version in range(rounds):
            barrier.wait()
            try:
                store.append("grant", "grant-1", version, [granted(i)], META)
                outcomes[version]["won"].append(i)
            except ConcurrencyConflict as exc:
                outcomes[version]["conflicts"].append(exc)
            barrier.wait()  # everyone has tried this version before anyone tries the next

    run_threads(8, writer)
    for version, outcome in outcomes.items():
        assert len(outcome["won"]) == 1, f"version {version}: winners {outcome['won']}"
        assert len(outcome["conflicts"]) == 7
        for exc in outcome["conflicts"]:
            assert exc.stream_id == "grant-1" and exc.expected_version == version
            assert "grant-1" in str(exc) and f"expected version {version}" in str(exc)
            body = exc.to_dict()
            assert body["code"] == "conflict"
            assert body["details"]["stream_id"] == "grant-1"
            assert body["details"]["expected_version"] == version
            assert body["details"]["actual_version"] == version + 1
    history = store.read_stream("grant-1")
    assert [e.stream_version for e in history] == [1, 2, 3, 4]
    assert [e.global_position for e in history] == [1, 2, 3, 4]
    assert store.verify().ok


def test_concurrent_streams_get_gapless_positions_and_a_polling_reader_never_skips(store):
    writers, per_writer = 8, 50
    n = writers * per_writer
    done = threading.Event()
    seen, reader_errors = [], []

    def reader():
        try:
            last = 0
            while True:
                finished = done.is_set()  # read once more after the writers are done
                for event in store.read_all(after=last, batch_size=16):
                    seen.append(event.global_position)
                    last = event.global_position
                if finished:
                    return
        except BaseException as exc:  # noqa: BLE001
            reader_errors.append(exc)

    def writer(i, barrier):
        barrier.wait()
        for k in range(per_writer):
            if k % 10 == 9:  # an append rolled back with its caller's transaction leaves no gap
                with pytest.raises(RuntimeError):
                    with store.db.transaction() as cur:
                        store.append("grant", f"grant-{i}", k, [granted(i)], META, cur=cur)
                        raise RuntimeError("caller fails after appending")
            store.append("grant", f"grant-{i}", k, [granted(i)], META)

    polling = threading.Thread(target=reader)
    polling.start()
    try:
        run_threads(writers, writer)
    finally:
        done.set()
        polling.join(60)
    assert not reader_errors, reader_errors
    assert positions(store) == list(range(1, n + 1))
    assert seen == list(range(1, n + 1)), "the reader saw a position before an earlier one"
    for i in range(writers):
        assert [e.stream_version for e in store.read_stream(f"grant-{i}")] == list(
            range(1, per_writer + 1)
        )
    assert store.verify().ok and store.verify().checked == n


# -- the hash chain and the trigger -------------------------------------------------------------


def _fill(store, n=9):
    for i in range(n):
        store.append("grant", f"grant-{i % 3}", i // 3, [granted(i)], META)


def _as_replica(store, sql):
    """Run ``sql`` with triggers disabled (what a superuser could do behind the store's back)."""
    with store.db.transaction() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(sql)


def test_verify_names_a_tampered_row_for_every_column(store):
    _fill(store)
    assert store.verify().ok and store.verify().checked == 9
    _as_replica(store, "CREATE TABLE original AS SELECT * FROM events WHERE global_position = 5")
    tampering = {
        "payload": "jsonb_set(payload, '{amount_fen}', '1')",
        "metadata": "jsonb_set(metadata, '{actor_id}', '\"mallory\"')",
        "event_id": "gen_random_uuid()",
        "stream_type": "'other'",
        "stream_id": "stream_id || 'x'",
        "stream_version": "stream_version + 1000",
        "event_type": "'SubsidyPaid'",
        "schema_version": "2",
        "recorded_at": "recorded_at + interval '1 microsecond'",
        "hash": "repeat('b', 64)",
        "prev_hash": "repeat('a', 64)",
    }
    for column, value in tampering.items():
        _as_replica(store, f"UPDATE events SET {column} = {value} WHERE global_position = 5")
        result = store.verify()
        assert not result.ok, column
        assert result.position == 5 and result.checked == 4, (column, result)
        if column == "prev_hash":
            assert result.reason == "prev_hash does not match the previous row's hash"
        else:
            assert result.reason == "row content does not match its hash"
        _as_replica(
            store,
            f"UPDATE events e SET {column} = o.{column} FROM original o "
            "WHERE e.global_position = 5",
        )
        assert store.verify().ok, f"restoring {column}"
    # a changed hash also breaks the next row's link
    _as_replica(store, "UPDATE events SET hash = repeat('b', 64) WHERE global_position = 9")
    assert store.verify().position == 9


def test_verify_names_a_deleted_row_as_a_missing_position(store):
    _fill(store)
    _as_replica(store, "DELETE FROM events WHERE global_position = 5")
    result = store.verify()
    assert not result.ok
    assert (result.position, result.reason, result.checked) == (5, "missing position", 4)
    assert (result.expected, result.found) == ("5", "6")


def test_the_trigger_refuses_update_delete_and_truncate(store):
    _fill(store, 3)
    for sql, op in [
        ("UPDATE events SET stream_type = 'x' WHERE global_position = 2", "UPDATE"),
        ("DELETE FROM events WHERE global_position = 2", "DELETE"),
        ("TRUNCATE events", "TRUNCATE"),
    ]:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege, match=f"{op} refused"):
            with store.db.transaction() as cur:
                cur.execute(sql)
    assert positions(store) == [1, 2, 3]
    assert store.verify().ok


def test_an_empty_store_verifies(store):
    assert store.verify() == store.verify() and store.verify().ok
    assert store.verify().checked == 0 and store.head() == 0


# -- reading -----------------------------------------------------------------------------------


def test_read_stream_up_to_a_version_and_as_of_a_time_and_read_all_in_batches(store):
    t0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    times = [t0 + dt.timedelta(hours=h) for h in range(4)]
    recorded = []
    for v, when in enumerate(times):
        recorded += store.append(
            "grant", "grant-a", v, [paid(v, on=dt.date(2026, 3, v + 1))], META, now=when
        )
        recorded += store.append("grant", "grant-b", v, [granted(v)], META, now=when)
    assert [e.global_position for e in recorded] == list(range(1, 9))

    stream = store.read_stream("grant-a")
    assert [e.stream_version for e in stream] == [1, 2, 3, 4]
    first = stream[0]
    assert isinstance(first, RecordedEvent)
    assert first.payload["paid_on"] == dt.date(2026, 3, 1)  # decoded through the contract
    assert first.data["paid_on"] == "2026-03-01"  # as stored
    assert first.recorded_at == times[0] and first.recorded_at.tzinfo is not None
    assert first.metadata["actor_id"] == "tester" and first.clauses == ["LT-10.2"]
    assert first.prev_hash == GENESIS_HASH
    assert (
        first.hash
        == recorded[0].hash
        == chain_hash(
            first.global_position,
            first.event_id,
            first.stream_type,
            first.stream_id,
            first.stream_version,
            first.event_type,
            first.schema_version,
            first.data,
            first.metadata,
            first.recorded_at,
            first.prev_hash,
        )
    )

    assert [e.stream_version for e in store.read_stream("grant-a", to_version=2)] == [1, 2]
    assert [e.stream_version for e in store.read_stream("grant-a", as_of=times[1])] == [1, 2]
    assert [
        e.stream_version
        for e in store.read_stream("grant-a", as_of=times[2] - dt.timedelta(microseconds=1))
    ] == [1, 2]
    assert [
        e.stream_version for e in store.read_stream("grant-a", to_version=3, as_of=times[1])
    ] == [1, 2]
    assert store.read_stream("no-such-stream") == []

    assert [e.global_position for e in store.read_all(after=3, batch_size=2)] == [4, 5, 6, 7, 8]
    assert [e.global_position for e in store.read_all(after=3, batch_size=2, to_position=6)] == [
        4,
        5,
        6,
    ]
    assert [e.global_position for e in store.read_all(as_of=times[1])] == [1, 2, 3, 4]
    assert list(store.read_all(after=8)) == []
    everything = list(store.read_all(batch_size=3))
    assert [e.global_position for e in everything] == list(range(1, 9))
    assert [e.prev_hash for e in everything[1:]] == [e.hash for e in everything[:-1]]
    assert [(e.event_id, e.payload, e.recorded_at, e.metadata) for e in everything] == [
        (e.event_id, e.payload, e.recorded_at, e.metadata) for e in recorded
    ]
    raw = next(store.read_all(decode=False))
    assert raw.payload == raw.data == recorded[0].data


def test_read_all_abandoned_midway_leaves_no_thread_and_no_open_transaction(store):
    store.append("grant", "grant-1", 0, [granted(i) for i in range(50)], META)
    before = threading.active_count()
    for _ in range(3):
        events = store.read_all(batch_size=4)
        assert [next(events).global_position for _ in range(10)] == list(range(1, 11))
        events.close()
    assert threading.active_count() == before
    with store.db.transaction() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%%'"
        )
        assert cur.fetchone()[0] == 0
    assert len(list(store.read_all(batch_size=4))) == 50


class _GrantV1Schema(EventSchema):
    """Version 1: the amount in whole yuan."""

    grant_id = fields.String(required=True)
    amount_yuan = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class _GrantV2Schema(EventSchema):
    """Version 2: the amount in fen, with the measure."""

    grant_id = fields.String(required=True)
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    measure = fields.String(required=True)


def test_rows_stored_as_v1_are_read_back_upcast_to_v2(dsn):
    registry = Registry()
    registry.register(
        "test",
        _GrantV1Schema,
        name="Grant",
        version=1,
        upcast=lambda d: {
            "grant_id": d["grant_id"],
            "amount_fen": d["amount_yuan"] * 100,
            "measure": "LT-10.1",
        },
    )
    db = Database(dsn)
    try:
        store = EventStore(db, "test", registry=registry)
        store.migrate()
        for i in range(3):
            store.append(
                "grant",
                f"grant-{i}",
                0,
                [NewEvent("Grant", {"grant_id": f"g-{i}", "amount_yuan": 500 + i})],
                META,
            )
        assert next(store.read_all()).payload == {"grant_id": "g-0", "amount_yuan": 500}

        registry.register("test", _GrantV2Schema, name="Grant", version=2)
        events = list(store.read_all(batch_size=2))
        assert [e.schema_version for e in events] == [1, 1, 1]  # rows are never rewritten
        assert [e.payload for e in events] == [
            {"grant_id": f"g-{i}", "amount_fen": (500 + i) * 100, "measure": "LT-10.1"}
            for i in range(3)
        ]
        assert events[0].data == {"grant_id": "g-0", "amount_yuan": 500}
        assert store.read_stream("grant-1")[0].payload["amount_fen"] == 50_100

        new = store.append(
            "grant",
            "grant-0",
            1,
            [NewEvent("Grant", {"grant_id": "g-0", "amount_fen": 1, "measure": "LT-10.1"})],
            META,
        )
        assert new[0].schema_version == 2
        with pytest.raises(InvalidInput):  # the old shape is no longer accepted on the way in
            store.append(
                "grant",
                "grant-0",
                2,
                [NewEvent("Grant", {"grant_id": "g-0", "amount_yuan": 1})],
                META,
            )
        assert store.verify().ok and store.verify().checked == 4
    finally:
        db.close()


# -- refusals ------------------------------------------------------------------------------------

REFUSED = [
    ({"amount_fen": -1}, "amount_fen"),
    ({"amount_fen": 5_000_000.5}, "amount_fen"),
    ({"amount_fen": 5_000_000.0}, "amount_fen"),
    ({"amount_fen": "5000000"}, "amount_fen"),
    ({"fiscal_year": None}, "fiscal_year"),
    ({"bonus": 1}, "bonus"),
]


def test_a_payload_outside_its_contract_is_refused_and_nothing_is_written(store):
    store.append("grant", "grant-0", 0, [granted(0)], META)
    for payload, field in REFUSED:
        for events in ([granted(1, **payload)], [granted(1), granted(2, **payload)]):
            with pytest.raises(InvalidInput) as refused:
                store.append("grant", "grant-1", 0, events, META)
            assert field in refused.value.fields, (payload, refused.value.fields)
            with pytest.raises(InvalidInput):  # inside a caller's transaction as well
                with store.db.transaction() as cur:
                    store.append("grant", "grant-1", 0, events, META, cur=cur)
    assert store.head() == 1
    assert store.read_stream("grant-1") == []
    assert store.append("grant", "grant-1", 0, [granted(1)], META)[0].global_position == 2
    assert store.verify().ok


def test_an_unknown_event_type_is_refused(store):
    with pytest.raises(Exception, match="no contract for event Nope"):
        store.append("grant", "grant-1", 0, [NewEvent("Nope", {})], META)
    assert store.head() == 0


# -- transactions, projectors, notification ------------------------------------------------------


class _Projector:
    migrations = [
        (
            "t_0001_grants",
            "CREATE TABLE grants (grant_id text PRIMARY KEY, position bigint NOT NULL)",
        )
    ]

    def __init__(self, fail_on=None):
        self.fail_on = fail_on

    def apply(self, cur, event):
        if event.payload["grant_id"] == self.fail_on:
            raise ValueError("projector failed")
        cur.execute(
            "INSERT INTO grants VALUES (%s, %s)", (event.payload["grant_id"], event.global_position)
        )

    def reset(self, cur):
        cur.execute("DELETE FROM grants")


def test_projectors_run_in_the_append_transaction_and_notify_comes_after_commit(dsn):
    db = Database(dsn)
    listener = psycopg2.connect(dsn)
    listener.autocommit = True
    try:
        store = EventStore(db, "test", projectors=[_Projector()])
        store.migrate()
        listener.cursor().execute(f"LISTEN {NOTIFY_CHANNEL}")
        store.append("grant", "grant-1", 0, [granted(1), granted(2)], META)
        assert select.select([listener], [], [], 5)[0], "no NOTIFY after the append"
        listener.poll()
        assert [n.channel for n in listener.notifies] == [NOTIFY_CHANNEL]
        listener.notifies.clear()
        with db.transaction() as cur:
            cur.execute("SELECT grant_id, position FROM grants ORDER BY position")
            assert cur.fetchall() == [("g-1", 1), ("g-2", 2)]

        failing = EventStore(db, "test", projectors=[_Projector(fail_on="g-4")])
        with pytest.raises(ValueError):
            failing.append("grant", "grant-2", 0, [granted(3), granted(4)], META)
        assert store.head() == 2  # the event and the projection rows went together
        listener.poll()
        assert listener.notifies == []  # and no notification for what was rolled back
        store.append("grant", "grant-2", 0, [granted(3)], META)
        assert store.head() == 3 and store.verify().ok

        store.rebuild_projections()
        with db.transaction() as cur:
            cur.execute("SELECT grant_id, position FROM grants ORDER BY position")
            assert cur.fetchall() == [("g-1", 1), ("g-2", 2), ("g-3", 3)]
    finally:
        listener.close()
        db.close()


def test_migrate_twice_is_a_no_op_the_second_time(dsn):
    db = Database(dsn)
    try:
        store = EventStore(db, "test")
        first = store.migrate()
        assert "0001_events" in first
        assert store.migrate() == []
        assert EventStore(db, "test").migrate() == []
        store.append("grant", "grant-1", 0, [granted(1)], META)
        assert store.head() == 1
    finally:
        db.close()


def test_an_append_whose_connection_was_killed_fails_and_the_next_one_reconnects(store):
    store.append("grant", "grant-1", 0, [granted(1)], META)  # leaves an idle pooled connection
    admin = psycopg2.connect(ADMIN_DSN)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (psycopg2.extensions.parse_dsn(store.db.dsn)["dbname"],),
            )
    finally:
        admin.close()
    with pytest.raises(psycopg2.OperationalError):
        store.append("grant", "grant-1", 1, [granted(2)], META)
    assert store.append("grant", "grant-1", 1, [granted(2)], META)[0].global_position == 2
    with store.db.transaction() as cur:  # the pool hands out ordinary transactions again
        cur.execute("SELECT 1")
        assert not cur.connection.autocommit
    assert store.verify().ok


def test_two_writers_creating_one_persons_key_at_once_both_get_the_first_ones(store):
    """The second insert waits on the first's uncommitted row, finds the conflict, and its own
    statement's snapshot predates the first's commit: it must read the key again, not seal with
    none (or with a key of its own that is never stored)."""
    from shared.store.sealing import KeyStore

    keystore, person = KeyStore(), "person-raced"
    first = psycopg2.connect(store.db.dsn)
    second = psycopg2.connect(store.db.dsn)
    try:
        with first.cursor() as cur:
            mine = keystore.key(cur, person, create=True)  # inserted, not committed
        got = []
        waiter = threading.Thread(
            target=lambda: got.append(keystore.key(second.cursor(), person, create=True))
        )
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive() and got == []  # blocked on the first's row
        first.commit()
        waiter.join(10)
        second.commit()
        assert got == [mine] and len(mine) == 32
    finally:
        first.close()
        second.close()
    with store.db.transaction() as cur:
        cur.execute("SELECT count(*) FROM person_keys WHERE person_key = %s", (person,))
        assert cur.fetchone()[0] == 1
