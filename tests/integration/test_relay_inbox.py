"""The relay and the inbox against real PostgreSQL and RabbitMQ."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import kombu
import orjson
import psycopg2
import pytest

from shared.db import Database
from shared.decider import NewEvent
from shared.errors import RuleViolation
from shared.messaging.inbox import Inbox
from shared.messaging.relay import Relay, exchange_for
from shared.store import EventStore, Metadata

META = Metadata("tester", "system", "corr-1", policy_version="test")


def granted(i):
    return NewEvent(
        "SubsidyGranted",
        {
            "grant_id": f"g-{i}",
            "talent_id": f"t-{i}",
            "measure": "LT-10.1",
            "amount_fen": 5_000_000,
            "fiscal_year": 2026,
        },
        ("LT-10.1",),
    )


@pytest.fixture
def store(fresh_db):
    dsn = fresh_db("relay")
    s = EventStore(Database(dsn), f"relaytest{uuid.uuid4().hex[:6]}")
    s.migrate()
    yield s
    s.db.close()


class Collector:
    """A queue bound to every event of a service's exchange, drained into a list."""

    def __init__(self, amqp_uri, service):
        self.conn = kombu.Connection(amqp_uri)
        self.queue = kombu.Queue(
            f"collector-{uuid.uuid4().hex[:6]}",
            exchange_for(service),
            routing_key="#",
            auto_delete=True,
        )
        self.bodies = []
        self.consumer = self.conn.Consumer(self.queue, callbacks=[self._on], accept=["json"])
        self.consumer.consume()

    def _on(self, body, message):
        self.bodies.append(body)
        message.ack()

    def drain_until(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while not predicate(self.bodies) and time.monotonic() < deadline:
            try:
                self.conn.drain_events(timeout=0.5)
            except TimeoutError:
                pass
        return self.bodies

    def close(self):
        self.conn.release()


def run_in_thread(relay):
    t = threading.Thread(target=relay.run, daemon=True)
    t.start()
    return t


def test_relay_publishes_every_event_with_envelope_in_order(store, amqp_uri):
    collector = Collector(amqp_uri, store.service)
    relay = Relay(store.db.dsn, amqp_uri, store.service, batch_size=100)
    thread = run_in_thread(relay)
    try:
        for i in range(250):
            store.append("grant", f"grant-{i}", 0, [granted(i)], META)
        bodies = collector.drain_until(lambda b: len(b) >= 250)
    finally:
        relay.stop()
        thread.join(10)
        collector.close()
    assert [b["global_position"] for b in bodies] == list(range(1, 251))
    first = bodies[0]
    assert first["event_type"] == "SubsidyGranted" and first["source"] == store.service
    assert first["payload"]["amount_fen"] == 5_000_000
    assert first["metadata"]["clauses"] == ["LT-10.1"]
    assert first["metadata"]["correlation_id"] == "corr-1"
    with store.db.transaction() as cur:
        cur.execute("SELECT position FROM relay_cursor")
        assert cur.fetchone()[0] == 250


def test_relay_wakes_on_notify_not_on_a_poll(store, amqp_uri):
    collector = Collector(amqp_uri, store.service)
    relay = Relay(store.db.dsn, amqp_uri, store.service, idle_wait=30)  # a poll would take 30 s
    thread = run_in_thread(relay)
    try:
        deadline = time.monotonic() + 10
        while not relay.is_leader and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the relay is now asleep on LISTEN
        start = time.monotonic()
        store.append("grant", "grant-x", 0, [granted(0)], META)
        collector.drain_until(lambda b: len(b) >= 1, timeout=10)
        latency = time.monotonic() - start
    finally:
        relay.stop()
        thread.join(10)
        collector.close()
    assert len(collector.bodies) == 1
    assert latency < 2.0, f"relay took {latency:.2f}s: it did not wake on NOTIFY"


def test_relay_gathers_appends_that_arrive_close_together(store, amqp_uri):
    """Under load one cycle per ``coalesce`` seconds: 20 appends ~10 ms apart go out in a few
    batches, not 20 (the first at once: the relay was idle)."""
    collector = Collector(amqp_uri, store.service)
    relay = Relay(store.db.dsn, amqp_uri, store.service, coalesce=0.3)
    thread = run_in_thread(relay)
    try:
        deadline = time.monotonic() + 10
        while not relay.is_leader and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # idle: the first append must not wait
        start = time.monotonic()
        store.append("grant", "grant-0", 0, [granted(0)], META)
        collector.drain_until(lambda b: len(b) >= 1, timeout=10)
        first = time.monotonic() - start
        for i in range(1, 20):
            store.append("grant", f"grant-{i}", 0, [granted(i)], META)
            time.sleep(0.01)
        bodies = collector.drain_until(lambda b: len(b) >= 20)
    finally:
        relay.stop()
        thread.join(10)
        collector.close()
    assert [b["global_position"] for b in bodies] == list(range(1, 21))
    assert first < 0.25, f"the first append after a quiet spell waited {first:.2f}s"
    assert relay.published == 20 and 2 <= relay.batches <= 4, relay.batches


def test_one_leader_and_failover(store, amqp_uri):
    collector = Collector(amqp_uri, store.service)
    a = Relay(store.db.dsn, amqp_uri, store.service, standby_poll=0.2)
    b = Relay(store.db.dsn, amqp_uri, store.service, standby_poll=0.2)
    ta, tb = run_in_thread(a), run_in_thread(b)
    try:
        deadline = time.monotonic() + 10
        while not (a.is_leader or b.is_leader) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert a.is_leader != b.is_leader, "exactly one relay leads"
        leader, standby = (a, b) if a.is_leader else (b, a)
        store.append("grant", "grant-1", 0, [granted(1)], META)
        collector.drain_until(lambda x: len(x) >= 1)
        leader.stop()
        deadline = time.monotonic() + 10
        while not standby.is_leader and time.monotonic() < deadline:
            time.sleep(0.05)
        assert standby.is_leader, "the standby took over"
        store.append("grant", "grant-2", 0, [granted(2)], META)
        bodies = collector.drain_until(lambda x: len(x) >= 2)
    finally:
        a.stop()
        b.stop()
        ta.join(10)
        tb.join(10)
        collector.close()
    assert [x["global_position"] for x in bodies] == [1, 2]


RELAY_PROCESS = """
import sys
from shared.messaging.relay import Relay
Relay(sys.argv[1], sys.argv[2], sys.argv[3], batch_size=int(sys.argv[4])).run()
"""


def test_relay_killed_mid_batch_loses_nothing_and_resumes(store, amqp_uri):
    n = 20_000  # large enough that the kill lands mid-way, on a fast machine too
    for start in range(0, n, 2000):
        store.append(
            "grant", f"bulk-{start}", 0, [granted(i) for i in range(start, start + 2000)], META
        )
    collector = Collector(amqp_uri, store.service)
    args = [sys.executable, "-c", RELAY_PROCESS, store.db.dsn, amqp_uri, store.service]
    proc = subprocess.Popen(args + ["1000"], env=os.environ.copy())
    try:
        collector.drain_until(lambda b: len(b) >= 1200, timeout=30)  # into the second batch
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        with store.db.transaction() as cur:
            cur.execute("SELECT coalesce(max(position), 0) FROM relay_cursor")
            cursor_at_kill = cur.fetchone()[0]
        assert cursor_at_kill < n, "killed before the relay finished"
        proc = subprocess.Popen(args + ["1000"], env=os.environ.copy())
        bodies = collector.drain_until(
            lambda b: len(b) >= n and {x["global_position"] for x in b} >= set(range(1, n + 1)),
            timeout=120,
        )
    finally:
        proc.kill()
        proc.wait(10)
        collector.close()
    positions = [b["global_position"] for b in bodies]
    assert set(positions) == set(range(1, n + 1)), "nothing lost"
    print(
        f"\nrelay kill: sent {n}, received {len(positions)} "
        f"({len(positions) - n} redelivered after the kill), lost 0"
    )


# -- inbox --------------------------------------------------------------------------------------


class FakeSession:
    correlation_id = None
    causation_id = None


def envelope(event_id=None, payload=None, event_type="SubsidyGranted"):
    return orjson.dumps(
        {
            "event_id": event_id or str(uuid.uuid4()),
            "event_type": event_type,
            "schema_version": 1,
            "source": "subsidies",
            "stream_type": "grant",
            "stream_id": "grant-1",
            "stream_version": 1,
            "global_position": 1,
            "recorded_at": "2026-11-23T00:00:00+00:00",
            "payload": payload
            or {
                "grant_id": "g-1",
                "talent_id": "t-1",
                "measure": "LT-10.1",
                "amount_fen": 5_000_000,
                "fiscal_year": 2026,
            },
            "metadata": {"correlation_id": "c-9", "clauses": ["LT-10.1"]},
        }
    ).decode()


@pytest.fixture
def inbox(store):
    box = Inbox(store.db, "consumer", store.registry)
    box.migrate()
    return box


def test_same_event_delivered_twice_has_one_effect(store, inbox):
    body = envelope()

    def effect(event, cur):
        store.append(
            "grant", "echo-" + event.payload["grant_id"], None, [granted(1)], META, cur=cur
        )

    outcomes = [
        inbox.consume(FakeSession(), "h", "subsidies", "SubsidyGranted", body, effect)
        for _ in range(2)
    ]
    assert outcomes == ["handled", "duplicate"]
    assert len(store.read_stream("echo-g-1")) == 1
    assert inbox.duplicates == 1


def test_a_prefetched_read_comes_with_the_claim_and_a_duplicate_skips_the_handler(store, inbox):
    with store.db.transaction() as cur:
        cur.execute("CREATE TABLE grantees (talent_id text PRIMARY KEY, name text, county text)")
        cur.execute("INSERT INTO grantees VALUES ('t-1', '李四', '楚雄市')")
    seen = []

    def prefetch(event):
        return (
            "SELECT name, county FROM grantees WHERE talent_id = %s",
            (event.payload["talent_id"],),
        )

    def effect(event, cur):
        seen.append(event.prefetched)

    body = envelope()
    outcomes = [
        inbox.consume(
            FakeSession(), "h", "subsidies", "SubsidyGranted", body, effect, prefetch=prefetch
        )
        for _ in range(2)
    ]
    assert outcomes == ["handled", "duplicate"]
    assert seen == [{"name": "李四", "county": "楚雄市"}], "once, with the row"
    unknown = envelope(
        payload={
            "grant_id": "g-2",
            "talent_id": "t-404",
            "measure": "LT-10.1",
            "amount_fen": 5_000_000,
            "fiscal_year": 2026,
        }
    )
    assert (
        inbox.consume(
            FakeSession(), "h", "subsidies", "SubsidyGranted", unknown, effect, prefetch=prefetch
        )
        == "handled"
    )
    assert seen[-1] == {}, "no row: an empty dict, not None"
    assert (
        inbox.consume(
            FakeSession(),
            "h",
            "subsidies",
            "SubsidyGranted",
            envelope(
                payload={
                    "grant_id": "g-3",
                    "talent_id": "t-1",
                    "measure": "LT-10.1",
                    "amount_fen": 5_000_000,
                    "fiscal_year": 2026,
                }
            ),
            effect,
            prefetch=lambda event: None,
        )
        == "handled"
    )
    assert seen[-1] is None, "no query: None"
    with store.db.transaction() as cur:
        cur.execute("SELECT count(*) FROM inbox")
        assert cur.fetchone()[0] == 3


def test_inbox_row_and_effects_commit_together(store, inbox):
    body = envelope()

    def half_then_crash(event, cur):
        store.append("grant", "partial", 0, [granted(1)], META, cur=cur)
        raise RuleViolation("LT-14", "refused after writing")

    assert (
        inbox.consume(FakeSession(), "h", "subsidies", "SubsidyGranted", body, half_then_crash)
        == "dead"
    )
    assert store.read_stream("partial") == [], "the half-written effect was rolled back"
    with store.db.transaction() as cur:
        cur.execute("SELECT count(*) FROM inbox")
        assert cur.fetchone()[0] == 0
    letters = inbox.dead_letters()
    assert len(letters) == 1 and letters[0]["clause"] == "LT-14"


def test_poison_message_is_dead_lettered(inbox):
    for body in (
        "not json",
        envelope(event_type="NoSuchEvent"),
        envelope(payload={"grant_id": "g"}),
    ):
        assert (
            inbox.consume(FakeSession(), "h", "subsidies", "X", body, lambda e, c: None) == "dead"
        )
    assert len(inbox.dead_letters()) == 3


def test_database_outage_is_retried_then_requeued(inbox):
    calls = []

    def flaky(event, cur):
        calls.append(1)
        raise psycopg2.OperationalError("server closed the connection")

    with pytest.raises(psycopg2.OperationalError):
        inbox.consume(
            FakeSession(),
            "h",
            "subsidies",
            "SubsidyGranted",
            envelope(),
            flaky,
            sleep=lambda s: None,
        )
    assert len(calls) == 3
    assert inbox.dead_letters() == [], "a transient failure is requeued, not dead-lettered"


def test_transient_failure_then_success_has_one_effect(store, inbox):
    calls = []

    def flaky_once(event, cur):
        calls.append(1)
        store.append("grant", "once", None, [granted(1)], META, cur=cur)
        if len(calls) == 1:
            raise psycopg2.OperationalError("blip")

    assert (
        inbox.consume(
            FakeSession(),
            "h",
            "subsidies",
            "SubsidyGranted",
            envelope(),
            flaky_once,
            sleep=lambda s: None,
        )
        == "handled"
    )
    assert len(store.read_stream("once")) == 1
