"""Scaling and stopping, shown on two real replicas of the assessment service (one database, one vhost):

1. 500 ``TalentCertified`` (published by the applications store's relay) → exactly 500 tenures,
   the handling split across both replicas (competing consumers on one queue; each replica's
   ``/metrics`` counts what it handled) and no double effect;
2. ``kill -9`` of the replica whose relay is the leader while a second wave is being handled →
   the other replica's relay takes over, the killed replica's unacked messages are redelivered to
   the survivor, every certification has exactly one tenure and every assessment event reaches the
   broker (a probe queue bound to ``assessment.events`` sees each stored event id);
3. SIGTERM of a replica mid-wave → it finishes its in-flight work and exits 0; nothing is lost
   or doubled."""

import datetime as dt
import signal
import threading
import time
import uuid

import kombu
import orjson
import pytest
import requests

from shared.db import Database
from shared.decider import NewEvent
from shared.messaging.relay import Relay, exchange_for
from shared.store import EventStore, Metadata
from tests.integration.test_metrics import scrape, value
from tests.support.system import running_system
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
RUN = uuid.uuid4().hex[:6]
REPLICAS = ("assessment", "assessment-2")
FIRST, SECOND = 500, 200


def certified(n):
    talent = f"scale-{RUN}-{n}"
    return NewEvent(
        "TalentCertified",
        {
            "talent_id": talent,
            "application_id": f"app-{talent}",
            "applicant_name": "测试",
            "county": "楚雄市",
            "category": "LT-6.3",
            "track": "seller",
            "baseline_year": 2025,
            "baseline": {"sales_fen": 300_000_000},
            "period_start": dt.date(2026, 6, 1),
            "period_end": dt.date(2029, 5, 31),
        },
        ("LT-9.5", "LT-10"),
    )


@pytest.fixture(scope="module")
def system():
    gen = running_system(services=())
    sysm = next(gen)
    apps = EventStore(Database(sysm.dsn("applications")), "applications")
    relay = Relay(sysm.dsn("applications"), sysm.amqp_uri, "applications")
    probe = kombu.Queue(
        f"scaling-probe-{RUN}", exchange_for("assessment"), routing_key="#", durable=True
    )
    try:
        apps.migrate()
        with kombu.Connection(sysm.amqp_uri) as conn:
            probe(conn.default_channel).declare()
        for name in REPLICAS:
            sysm.start("assessment", name=name)
        sysm.wait_ready(REPLICAS)
        threading.Thread(target=relay.run, daemon=True).start()
        sysm.apps, sysm.probe = apps, probe
        sysm.assessment = Database(sysm.dsn("assessment"))
        yield sysm
        sysm.assessment.close()
    finally:
        relay.stop()
        apps.db.close()
        gen.close()


def certify(apps, numbers):
    meta = Metadata("scaling-test", "system", f"scale-{RUN}")
    for n in numbers:
        apps.append("application", f"app-scale-{RUN}-{n}", 0, [certified(n)], meta)


def tenures(db):
    with db.transaction() as cur:
        cur.execute(
            "SELECT count(*), count(DISTINCT stream_id) FROM events "
            "WHERE event_type = 'TenureOpened'"
        )
        return cur.fetchone()


def handled(url):
    return value(
        scrape(url),
        "talent_handler_duration_seconds_count",
        handler="on_talent_certified",
        outcome="handled",
    )


def leader(sysm):
    for name in REPLICAS:
        if name in sysm.procs:
            if (
                requests.get(sysm.urls[name] + "/health/ready", timeout=5)
                .json()["checks"]
                .get("relay")
                == "leader"
            ):
                return name
    return None


def test_two_replicas_split_500_certifications_exactly_once(system):
    certify(system.apps, range(FIRST))
    wait_for(lambda: tenures(system.assessment)[0] >= FIRST, "500 tenures", timeout=180)
    time.sleep(1)  # let any stray redelivery land before counting
    assert tenures(system.assessment) == (FIRST, FIRST)
    split = {name: handled(system.urls[name]) for name in REPLICAS}
    assert sum(split.values()) == FIRST, split
    assert all(count > 0 for count in split.values()), split


def test_killing_the_relay_leader_loses_nothing(system):
    killed = wait_for(lambda: leader(system), "a relay leader")
    survivor = next(name for name in REPLICAS if name != killed)
    writer = threading.Thread(target=certify, args=(system.apps, range(FIRST, FIRST + SECOND)))
    writer.start()
    wait_for(
        lambda: tenures(system.assessment)[0] >= FIRST + 20, "the second wave under way", timeout=60
    )
    system.stop(killed, sig=signal.SIGKILL)  # mid-wave: the leader's relay and its handlers
    writer.join(timeout=60)
    wait_for(lambda: leader(system) == survivor, "the survivor to lead the relay", timeout=30)
    wait_for(lambda: tenures(system.assessment)[0] >= FIRST + SECOND, "every tenure", timeout=180)
    time.sleep(1)
    assert tenures(system.assessment) == (FIRST + SECOND, FIRST + SECOND)

    with system.assessment.transaction() as cur:
        cur.execute("SELECT event_id::text FROM events")
        stored = {row[0] for row in cur.fetchall()}
    seen = set()
    deadline = time.monotonic() + 120
    with kombu.Connection(system.amqp_uri) as conn:
        queue = system.probe(conn.default_channel)
        while stored - seen and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.2)
                continue
            seen.add(orjson.loads(message.body)["event_id"])
    assert stored - seen == set(), f"{len(stored - seen)} stored events never published"


def test_sigterm_finishes_in_flight_work_and_exits_cleanly(system):
    """A replica stopped with SIGTERM mid-wave (as Compose and Kubernetes stop it) finishes what it
    is handling and exits 0; the other replica handles the rest, each certification once."""
    for name in REPLICAS:
        if name not in system.procs:
            system.start("assessment", name=name)
    system.wait_ready(REPLICAS)
    done = FIRST + SECOND
    writer = threading.Thread(target=certify, args=(system.apps, range(done, done + SECOND)))
    writer.start()
    wait_for(
        lambda: tenures(system.assessment)[0] >= done + 20, "the third wave under way", timeout=60
    )
    proc = system.procs[REPLICAS[0]]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    system.stop(REPLICAS[0])  # bookkeeping only: already exited
    writer.join(timeout=60)
    wait_for(lambda: tenures(system.assessment)[0] >= done + SECOND, "every tenure", timeout=180)
    time.sleep(1)
    assert tenures(system.assessment) == (done + SECOND, done + SECOND)
