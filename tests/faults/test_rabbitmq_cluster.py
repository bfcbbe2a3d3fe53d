"""The four services on a three-node RabbitMQ cluster (deploy/rabbitmq/cluster.sh), their queues
quorum queues, their AMQP_URI listing every node: kill -9 a node during steady traffic, first the
one the services are connected to (twice: the second time the one they failed over to), then one
no service is connected to. Every event is handled exactly once in effect by every consumer, and
relays and consumers are back within seconds of each kill."""

import time
import uuid

import pytest

from talent_client.http import Client
from tests.support.faults import (
    CONSUMERS,
    RabbitCluster,
    Stream,
    assert_exactly_once,
    fund_the_grants,
    handled,
    report,
    settle,
    wait_until,
)
from tests.support.system import SERVICES, _running_system

pytestmark = pytest.mark.e2e
N = 400  # certifications per kill
RATE = 40  # a second: 10 s of traffic, the kill after a quarter
BACK_WITHIN = 30  # seconds: relays and consumers back after a node's death


@pytest.fixture(scope="module")
def cluster():
    nodes = RabbitCluster()
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.close()


@pytest.fixture(scope="module")
def system(cluster):
    for sysm in _running_system(cluster.uri, SERVICES, f"cluster-{uuid.uuid4().hex[:6]}"):
        fund_the_grants(Client(sysm.urls))
        yield sysm


def queue_types(cluster):
    out = cluster.script("ctl", "1", "list_queues", "name", "type")
    return dict(line.split("\t") for line in out.splitlines() if line.startswith(("evt-", "rpc-")))


def test_the_services_declare_quorum_queues_on_a_few_connections(cluster, system):
    types = queue_types(cluster)
    assert types, "no queues declared"
    assert set(types.values()) == {"quorum"}, types
    # per service: its event consumers, its RPC consumer and its relay (nothing per queue)
    connections = cluster.connections()
    assert sum(connections.values()) <= 3 * len(SERVICES), connections


@pytest.mark.parametrize("which", ["connected", "failed-over-to", "idle"])
def test_kill_9_a_node_during_traffic_loses_and_doubles_nothing(cluster, system, which):
    connections = cluster.connections()  # (of the running nodes: all three, between tests)
    if which == "idle":  # the node with the fewest clients (none, as the services fail over)
        victim = min(connections, key=connections.get)
    else:  # the node the services are connected to
        victim = max(connections, key=connections.get)
        assert connections[victim] > 0, connections
    run = uuid.uuid4().hex[:8]
    try:
        with Stream(system, run, N, rate=RATE) as stream:
            # steady traffic: a quarter of the stream appended, published and being consumed
            wait_until(lambda: len(stream.ids), lambda n: n >= N // 4, timeout=60, every=0.05)
            killed_at = time.monotonic()
            cluster.kill(victim)
            # events appended after the kill: a relay and a consumer must each be back
            # (reconnected to a live node) for them to be handled
            after = len(stream.ids) + 5
            back = {}
            for svc in CONSUMERS:
                wait_until(
                    lambda s=svc: handled(system, s, list(stream.ids)[after:]),
                    lambda n: n > 0,
                    timeout=90,
                    every=0.1,
                )
                back[svc] = round(time.monotonic() - killed_at, 1)
        counts = {svc: settle(system, svc, run, stream.ids) for svc in CONSUMERS}
    finally:
        cluster.start_node(victim)  # back, so that the next kill leaves a majority
    for svc, c in counts.items():
        report(
            f"kill -9 {which} RabbitMQ node {victim} (clients per node {connections}): {svc},"
            f" back after {back[svc]} s",
            c,
        )
    for c in counts.values():
        assert_exactly_once(c)
    assert max(back.values()) <= BACK_WITHIN, back
    assert set(queue_types(cluster).values()) == {"quorum"}
