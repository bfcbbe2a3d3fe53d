"""Health and metrics of a real ``nameko run`` assessment service: readiness names its database and
broker checks; ``GET /metrics`` is public Prometheus text; an appended event, a dropped duplicate
and a poison message each show in their counter, and relay lag reads zero once published."""

import datetime as dt
import uuid

import kombu
import orjson
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from shared.messaging.relay import exchange_for
from tests.support.system import running_system
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def system():
    gen = running_system(services=("assessment",))
    yield next(gen)
    gen.close()


def scrape(url):
    """{(name, frozenset(labels)): value} of a /metrics page."""
    response = requests.get(url + "/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples, name, **labels):
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def certified_envelope(talent_id):
    start = dt.date(2026, 6, 1)
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "TalentCertified",
        "schema_version": 1,
        "source": "applications",
        "stream_type": "application",
        "stream_id": f"app-{talent_id}",
        "stream_version": 9,
        "global_position": 1,
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(),
        "payload": {
            "talent_id": talent_id,
            "application_id": f"app-{talent_id}",
            "applicant_name": "测试",
            "county": "楚雄市",
            "category": "LT-6.3",
            "track": "seller",
            "baseline_year": 2025,
            "baseline": {"sales_fen": 300_000_000},
            "period_start": start.isoformat(),
            "period_end": dt.date(2029, 5, 31).isoformat(),
        },
        "metadata": {
            "actor_id": "it",
            "actor_role": "system",
            "correlation_id": "it-metrics",
            "causation_id": None,
            "clauses": ["LT-10"],
            "policy_version": "test",
        },
    }


def publish(amqp_uri, bodies):
    with kombu.Connection(amqp_uri) as conn:
        producer = conn.Producer()
        for body in bodies:
            producer.publish(
                body,
                exchange=exchange_for("applications"),
                routing_key="TalentCertified",
                content_type="application/json",
                content_encoding="utf-8",
                serializer=None,
                declare=[exchange_for("applications")],
            )


def test_readiness_checks_database_and_broker(system):
    url = system.urls["assessment"]
    assert requests.get(url + "/health/live", timeout=5).json()["status"] == "ok"
    ready = requests.get(url + "/health/ready", timeout=5)
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["database"] == "ok" and checks["broker"] == "ok"
    assert checks["relay"] in ("leader", "standby")


def test_metrics_count_appends_duplicates_and_dead_letters(system):
    url, uri = system.urls["assessment"], system.amqp_uri
    before = scrape(url)
    assert ("talent_relay_lag_events", frozenset({("service", "assessment")})) in before
    body = orjson.dumps(certified_envelope(f"it-metrics-{uuid.uuid4().hex[:6]}"))
    # one event, its duplicate, a poison message (JSON, but no envelope: a body that is not JSON
    # at all is refused by kombu before any handler runs)
    publish(uri, [body, body, b'{"not": "an envelope"}'])

    def settled():
        now = scrape(url)
        return (
            now
            if (
                value(now, "talent_inbox_duplicates_dropped_total", handler="on_talent_certified")
                >= 1
                and value(now, "talent_dead_letters_total", reason="poison") >= 1
            )
            else None
        )

    after = wait_for(settled, "the duplicate and the poison message")
    assert (
        value(after, "talent_inbox_duplicates_dropped_total", handler="on_talent_certified")
        - value(before, "talent_inbox_duplicates_dropped_total")
        == 1
    )
    assert (
        value(
            after,
            "talent_dead_letters_total",
            service="assessment",
            handler="on_talent_certified",
            reason="poison",
        )
        == 1
    )
    assert (
        value(after, "talent_events_appended_total", service="assessment", stream_type="tenure")
        >= 1
    )
    assert (
        value(
            after,
            "talent_handler_duration_seconds_count",
            handler="on_talent_certified",
            outcome="handled",
        )
        == 1
    )
    # the relay publishes the TenureOpened: lag back to zero
    wait_for(
        lambda: (
            value(scrape(url), "talent_relay_lag_events", service="assessment") == 0
            and value(scrape(url), "talent_relay_published_total") >= 1
        ),
        "relay lag 0",
    )
    assert value(scrape(url), "talent_relay_leader", service="assessment") == 1


def test_readiness_fails_without_database_or_broker_and_recovers(system):
    """Readiness goes 503 naming the check while the service's database refuses connections, and
    while the broker refuses its user on the service's vhost; 200 again once each is back."""
    import subprocess
    import urllib.parse

    from shared.db import connect
    from tests.support.system import ADMIN

    url = system.urls["assessment"]

    def ready():
        r = requests.get(url + "/health/ready", timeout=10)
        return r.status_code, r.json()["checks"]

    db = system.dbs["assessment"]
    admin = connect(ADMIN, autocommit=True)
    try:
        cur = admin.cursor()
        cur.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,)
        )
        status, checks = wait_for(
            lambda: (lambda r: r if r[0] == 503 else None)(ready()),
            "readiness 503 without the database",
        )
        assert checks["database"].startswith("error") and checks["broker"] == "ok"
    finally:
        admin.cursor().execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
        admin.close()
    wait_for(lambda: ready()[0] == 200, "readiness back with the database")

    vhost = urllib.parse.unquote(urllib.parse.urlsplit(system.amqp_uri).path[1:])
    if not vhost:
        pytest.skip("no vhost of our own to take the broker away from")
    rabbitmqctl = ["rabbitmqctl", "-q"]
    subprocess.run(
        rabbitmqctl + ["clear_permissions", "-p", vhost, "guest"], check=True, timeout=60
    )
    try:
        status, checks = wait_for(
            lambda: (lambda r: r if r[0] == 503 else None)(ready()),
            "readiness 503 without the broker",
        )
        assert checks["broker"].startswith("error")
    finally:
        subprocess.run(
            rabbitmqctl + ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
            check=True,
            timeout=60,
        )
    wait_for(lambda: ready()[0] == 200, "readiness back with the broker", timeout=60)


def test_notification_delivery_hooks_count_outcomes_and_dead_letters():
    """The dispatcher's hooks (services/notifications/dispatch.py), on this process's registry."""
    from types import SimpleNamespace

    from shared import metrics

    def sample(name, **labels):
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    before = (
        sample("talent_notification_deliveries_total", channel="webhook", outcome="delivered"),
        sample("talent_notification_deliveries_total", channel="email", outcome="failed"),
        sample("talent_notification_dead_letters_total", channel="email"),
    )
    metrics.count_delivery("webhook", True)
    metrics.count_delivery("email", False)
    metrics.count_delivery_events(
        [
            SimpleNamespace(event_type="DeliveryAttempted", payload={"channel": "email"}),
            SimpleNamespace(event_type="DeliveryDeadLettered", payload={"channel": "email"}),
        ]
    )
    after = (
        sample("talent_notification_deliveries_total", channel="webhook", outcome="delivered"),
        sample("talent_notification_deliveries_total", channel="email", outcome="failed"),
        sample("talent_notification_dead_letters_total", channel="email"),
    )
    assert [a - b for a, b in zip(after, before)] == [1, 1, 1]
