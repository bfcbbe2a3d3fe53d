"""A poison message on a service's queue (a body that is not JSON, an event version nobody knows)
is dead-lettered with a log line and a metric, and the consumer goes on with the next event."""

import re
import uuid

import kombu
import orjson
import pytest
import requests

from talent_client.http import Client
from tests.support.faults import (
    Stream,
    assert_exactly_once,
    certified,
    log_lines,
    report,
    settle,
    wait_until,
)

pytestmark = pytest.mark.e2e
QUEUE = "evt-applications-TalentCertified--subsidies.on_talent_certified"  # nameko's name


def dead_letter_metric(system, reason):
    text = requests.get(system.urls["subsidies"] + "/metrics", timeout=10).text
    pattern = (
        r'^talent_dead_letters_total\{[^}]*handler="on_talent_certified"[^}]*'
        rf'reason="{reason}"[^}}]*\}} (\S+)$'
    )
    return sum(float(v) for v in re.findall(pattern, text, re.M))


def publish_raw(system, body, content_type="application/json"):
    """Straight onto the subsidies service's queue, as a confused or hostile publisher would."""
    with kombu.Connection(system.amqp_uri) as conn:
        producer = conn.Producer()
        producer.publish(
            body,
            exchange="",
            routing_key=QUEUE,
            content_type=content_type,
            content_encoding="utf-8",
            delivery_mode=2,
        )


def test_poison_messages_are_dead_lettered_and_the_consumer_goes_on(system):
    client = Client(system.urls)
    letters = lambda: client.call("GET", "subsidies", "/dead-letters", "prefecture_officer").json()[
        "dead_letters"
    ]
    before, metric_before = len(letters()), dead_letter_metric(system, "poison")
    unknown_version = {
        "event_id": str(uuid.uuid4()),
        "event_type": "TalentCertified",
        "schema_version": 99,
        "source": "applications",
        "stream_type": "application",
        "stream_id": "application-x",
        "stream_version": 1,
        "global_position": 1,
        "recorded_at": "2026-11-23T00:00:00+00:00",
        "payload": {"talent_id": "talent-x"},
        "metadata": {},
    }
    bad_id = dict(
        unknown_version,
        schema_version=1,
        event_id="not-a-uuid",
        payload=certified(0, "poison").payload,
    )
    poison = [
        b"{this is not json",  # undecodable
        orjson.dumps(unknown_version),  # unknown version
        (b"\x00\xff binary", "application/octet-stream"),  # not JSON, NUL byte
        orjson.dumps(bad_id),
    ]  # event id not a UUID
    for body in poison:
        publish_raw(system, *(body if isinstance(body, tuple) else (body,)))

    got = wait_until(letters, lambda rows: len(rows) >= before + len(poison), timeout=30)
    new = got[before:]
    report("poison", {"sent": len(poison), "dead_lettered": len(new)})
    assert len(new) == len(poison), new
    errors = " | ".join(r["error"] for r in new)
    assert errors.count("not JSON") == 2 and "99" in errors and "not a UUID" in errors, errors
    assert all(r["handler"] == "on_talent_certified" for r in new)
    assert dead_letter_metric(system, "poison") >= metric_before + len(poison)
    lines = log_lines(system.log_path("subsidies"), "event_dead_lettered")
    assert len(lines) >= len(poison) and all(line["level"] == "warning" for line in lines)

    # the consumer is alive: a good certification after the poison is handled, once
    run = uuid.uuid4().hex[:8]
    with Stream(system, run, 5) as stream:
        pass
    counts = settle(system, "subsidies", run, stream.ids, timeout=60)
    report("after poison", counts)
    assert_exactly_once(counts)
