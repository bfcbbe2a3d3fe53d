"""Each service on the broker as its own user (deploy/local/broker.py): the four services run
and talk with only the permissions their code needs, and one service's credentials can neither
publish another service's events (forging a TalentCertified) nor call another service's RPC."""

import shutil
import uuid

import amqp
import pytest

from deploy.local import broker
from talent_client.http import Client
from talent_client.samples import application_body, shanghai_today
from talent_client.steps import open_round
from tests.support import system as system_support
from tests.support.system import SERVICES, rabbitmq_vhost

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not shutil.which("rabbitmqctl"), reason="needs rabbitmqctl"),
]
PREFIX = f"talent-test-{uuid.uuid4().hex[:6]}-"
COUNTY = "武定县"


@pytest.fixture(scope="module")
def users():
    passwords = {svc: uuid.uuid4().hex for svc in SERVICES}
    with rabbitmq_vhost("users") as uri:
        broker.set_up(broker.vhost_of(uri), passwords, prefix=PREFIX)
        try:
            yield (
                uri,
                {
                    svc: broker.service_uri(uri, broker.user_name(svc, PREFIX), passwords[svc])
                    for svc in SERVICES
                },
            )
        finally:
            broker.tear_down(PREFIX)


@pytest.fixture(scope="module")
def system(users):
    base, uris = users

    class OwnUsers(system_support.System):
        def start(self, svc, name=None):
            self.amqp_uri = uris[svc]
            try:
                super().start(svc, name)
            finally:
                self.amqp_uri = base

    real = system_support.System
    system_support.System = OwnUsers
    try:
        yield from system_support._running_system(base, SERVICES, "broker-users")
    finally:
        system_support.System = real


def _channel(uri):
    parts = amqp_parts(uri)
    conn = amqp.Connection(**parts)
    conn.connect()
    return conn, conn.channel()


def amqp_parts(uri):
    import urllib.parse

    p = urllib.parse.urlsplit(uri)
    return {
        "host": f"{p.hostname}:{p.port or 5672}",
        "userid": urllib.parse.unquote(p.username),
        "password": urllib.parse.unquote(p.password),
        "virtual_host": broker.vhost_of(uri),
    }


def test_the_services_work_with_their_own_users(system):
    client = Client(system.urls, out=lambda *_: None)
    today = shanghai_today()
    open_round(client, today.year)
    name = "权" + uuid.uuid4().hex[:4]
    client.call(
        "POST",
        "applications",
        "/applications",
        "applicant",
        actor=f"applicant-{uuid.uuid4().hex[:8]}",
        json=application_body(COUNTY, name, "LT-6.3", today, today.year),
    )

    def handled():
        inbox = client.call(
            "GET", "notifications", f"/inbox/county:{COUNTY}", "county_officer", county=COUNTY
        ).json()
        return name in str(inbox)

    client.wait_for("notifications to handle the application's event", handled, timeout=30)


def test_an_outside_caller_still_gets_rpc_answers(users, system):
    from nameko.standalone.rpc import ClusterRpcProxy

    base, _ = users
    with ClusterRpcProxy({"AMQP_URI": base}, timeout=20) as rpc:
        events = rpc.applications.catch_up(0, 5)  # answered by applications' own user
    assert events and events[0]["global_position"] == 1


@pytest.mark.parametrize(
    "user, exchange, routing_key",
    [
        ("subsidies", "applications.events", "TalentCertified"),  # a forged certification
        ("notifications", "assessment.events", "TalentDisqualified"),
        ("applications", "subsidies.events", "SubsidyPaid"),
        ("notifications", "nameko-rpc", "applications.catch_up"),  # another service's RPC
    ],
)
def test_a_service_cannot_publish_for_another(users, system, user, exchange, routing_key):
    _, uris = users
    conn, channel = _channel(uris[user])
    try:
        channel.confirm_select()
        with pytest.raises(amqp.exceptions.AccessRefused):
            channel.basic_publish_confirm(
                amqp.Message(b'{"payload": {}}', content_type="application/json"),
                exchange=exchange,
                routing_key=routing_key,
            )
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - the broker closed the channel already
            pass


def test_its_own_exchange_is_open_to_it(users, system):
    _, uris = users
    conn, channel = _channel(uris["subsidies"])
    try:
        channel.confirm_select()
        channel.basic_publish(
            amqp.Message(b"{}", content_type="application/json"),
            exchange="subsidies.events",
            routing_key="NothingListens",
        )
    finally:
        conn.close()
