"""The services reconnect by themselves, losing and doubling nothing, when PostgreSQL cuts their
connections during traffic and when RabbitMQ restarts during traffic (a private RabbitMQ node:
the shared one is never restarted)."""

import time
import uuid

import pytest

from shared.config import dsn_for
from talent_client.http import Client
from tests.support.faults import (
    CONSUMERS,
    PrivateRabbit,
    Stream,
    assert_exactly_once,
    fund_the_grants,
    handled,
    rabbitmq_server_command,
    report,
    settle,
    terminate_connections,
    wait_until,
)
from tests.support.system import SERVICES, _running_system

pytestmark = pytest.mark.e2e
N = 200


def test_postgres_connections_terminated_during_traffic(system):
    run = uuid.uuid4().hex[:8]
    terminated = []
    with Stream(system, run, N, rate=100) as stream:
        for _ in range(3):  # three times while the stream flows
            wait_until(
                lambda: len(stream.ids),
                lambda n: n >= N // 5 * (len(terminated) + 1),
                timeout=30,
                every=0.05,
            )
            terminated.append(
                terminate_connections(dsn_for("postgres"), system.dbs.values(), timeout_ms=5000)
            )
    print(f"\n[pg_terminate_backend] sessions terminated: {terminated}")
    assert all(terminated), "the services had no sessions to terminate"
    for svc in CONSUMERS:
        counts = settle(system, svc, run, stream.ids)
        report(f"pg terminate / {svc}", counts)
        assert_exactly_once(counts)
    system.wait_ready(SERVICES, timeout=30)


@pytest.fixture
def private_broker_system():
    if rabbitmq_server_command() is None:
        pytest.skip("rabbitmq-server is not installed: no private broker to restart")
    rabbit = PrivateRabbit()
    try:
        rabbit.start()
        for sysm in _running_system(rabbit.uri, SERVICES, f"faults-rmq-{uuid.uuid4().hex[:6]}"):
            fund_the_grants(Client(sysm.urls))
            yield sysm, rabbit
    finally:
        rabbit.close()


def test_rabbitmq_restart_during_traffic(private_broker_system):
    system, rabbit = private_broker_system
    run = uuid.uuid4().hex[:8]
    with Stream(system, run, N, rate=100) as stream:
        wait_until(
            lambda: handled(system, "subsidies", list(stream.ids)),
            lambda n: n >= N // 4,
            timeout=60,
            every=0.05,
        )
        started = time.monotonic()
        rabbit.stop()
        stopped = time.monotonic()
        rabbit.start()
        print(
            f"\n[rabbitmq restart] stopped in {stopped - started:.1f}s, "
            f"up again after {time.monotonic() - started:.1f}s"
        )
    for svc in CONSUMERS:
        counts = settle(system, svc, run, stream.ids, timeout=120)
        report(f"rabbitmq restart / {svc}", counts)
        assert_exactly_once(counts)
    system.wait_ready(SERVICES, timeout=60)
