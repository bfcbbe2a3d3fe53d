"""What a consumer that is not nameko gets from the relay (pika, plain AMQP 0-9-1): the standard
AMQP properties and the CloudEvents headers on every message, bodies the catalogue accepts, and
the README's recipe (bind, catch up from the feed, switch to live, drop duplicates by id, order
by position) giving every event once, in order."""

import threading
import uuid

import orjson
import pika
import pytest

from shared.contracts import load_all
from shared.db import Database
from shared.decider import NewEvent
from shared.messaging.relay import Relay, read_envelopes
from shared.store import EventStore, Metadata
from tests.support.system import rabbitmq_vhost
from tests.support.wire import declare_exchange, pika_parameters, wire_problems
from tests.unit.test_contracts import sample_payload

SERVICE = "subsidies"
STREAM = "fund-prefecture_finance-2026"


def budget_set(i):
    """A BudgetSet (any valid payload of its contract: the wire is what is checked here)."""
    payload = sample_payload(load_all().contract("BudgetSet").schema)
    return NewEvent("BudgetSet", {**payload, "reference": f"楚财〔2026〕{i}号"}, ("TM-1",))


@pytest.fixture
def vhost():
    with rabbitmq_vhost("wire") as uri:
        yield uri


@pytest.fixture
def store(fresh_db):
    s = EventStore(Database(fresh_db("wire")), SERVICE)
    s.migrate()
    yield s
    s.db.close()


@pytest.fixture
def relay(store, vhost):
    made = []

    def start():
        relay = Relay(store.db.dsn, vhost, SERVICE, batch_size=3)
        thread = threading.Thread(target=relay.run, daemon=True)
        thread.start()
        made.append((relay, thread))
        return relay

    yield start
    for relay, thread in made:
        relay.stop()
        thread.join(10)


class Consumer:
    """A plain AMQP consumer: its own durable queue bound to the exchange, acks by hand."""

    def __init__(self, amqp_uri, routing_keys=("#",)):
        self.connection = pika.BlockingConnection(pika_parameters(amqp_uri))
        self.channel = self.connection.channel()
        self.queue = f"outside-{uuid.uuid4().hex[:8]}"
        declare_exchange(self.channel, SERVICE)
        self.channel.queue_declare(self.queue, durable=True)
        for key in routing_keys:
            self.channel.queue_bind(self.queue, f"{SERVICE}.events", routing_key=key)

    def take(self, n, timeout=30):
        got = []
        for method, props, body in self.channel.consume(self.queue, inactivity_timeout=timeout):
            if method is None:
                break
            got.append((method.exchange, method.routing_key, props, body))
            self.channel.basic_ack(method.delivery_tag)
            if len(got) >= n:
                break
        self.channel.cancel()
        return got

    def close(self):
        self.channel.queue_delete(self.queue)
        self.connection.close()


def _fund_version(store):
    return len(store.read_stream(STREAM))


def test_every_message_carries_the_standard_attributes(store, vhost, relay):
    consumer = Consumer(vhost, routing_keys=("BudgetSet",))
    try:
        meta = Metadata("finance-1", "finance", "corr-wire-1", "cause-1", "2026.1")
        for i in range(4):
            store.append("fund", STREAM, i, [budget_set(i)], meta)
        relay()
        messages = consumer.take(4)
    finally:
        consumer.close()
    assert len(messages) == 4
    assert wire_problems(messages) == []
    stored = store.read_all()
    for (_, key, props, raw), event in zip(messages, stored, strict=True):
        body = orjson.loads(raw)
        assert props.message_id == event.event_id == body["event_id"]
        assert props.type == key == "BudgetSet"
        assert props.correlation_id == "corr-wire-1"
        assert props.content_type == "application/json"
        assert props.timestamp == int(event.recorded_at.timestamp())
        assert props.headers["cloudEvents:subject"] == event.stream_id
        assert props.headers["cloudEvents:type"] == "BudgetSet"
        assert props.headers["cloudEvents:time"] == body["recorded_at"]
        assert body["stream_type"] == "fund"


def test_the_checks_refuse_a_bare_message():
    """The sink's checks can fail: a body without its AMQP attributes, or off the catalogue."""
    body = {"event_id": str(uuid.uuid4()), "event_type": "BudgetSet", "schema_version": 1}
    props = pika.BasicProperties(content_type="application/json")
    problems = wire_problems([("subsidies.events", "BudgetSet", props, orjson.dumps(body))])
    assert any("message_id" in p for p in problems)
    assert any("'payload' is a required property" in p for p in problems)
    assert any("cloudEvents:id" in p for p in problems)


def test_catch_up_then_live_gives_every_event_once_in_order(store, vhost, relay):
    """The README's recipe: bind the queue first (it keeps what is published from then on),
    page through the catch-up feed, then consume live, dropping what was already seen."""
    meta = Metadata("finance-1", "finance", "corr-wire-2")
    for i in range(5):  # stored before the consumer binds, published after
        store.append("fund", STREAM, i, [budget_set(i)], meta)
    consumer = Consumer(vhost)  # 1. bind
    try:
        relay()  # publishes 1..5 into the queue meanwhile
        seen, events, after = set(), [], 0
        while True:  # 2. catch up, page by page (the feed the HTTP GET /events serves)
            with store.db.transaction() as cur:
                page = [orjson.loads(b) for b in read_envelopes(cur, SERVICE, after, 2)]
            if not page:
                break
            for event in page:
                seen.add(event["event_id"])
                events.append(event)
            after = page[-1]["global_position"]
        for i in range(5, 8):  # published live only
            store.append("fund", STREAM, i, [budget_set(i)], meta)
        for _, _, props, raw in consumer.take(8):  # 3. live: 1..8, of which 1..5 seen
            if props.message_id in seen:
                continue
            seen.add(props.message_id)
            events.append(orjson.loads(raw))
    finally:
        consumer.close()
    assert [e["global_position"] for e in events] == list(range(1, 9))
    assert [e["stream_version"] for e in events] == list(range(1, 9))
    assert len({e["event_id"] for e in events}) == 8
    assert _fund_version(store) == 8
