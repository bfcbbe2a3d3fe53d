"""kill -9 a consuming service while a stream of certifications flows; restart it: every event is
handled exactly once in effect (no double grant, no lost tenure)."""
import datetime as dt
import signal
import time
import uuid

import pytest

from deploy.local.walk import Client
from shared.db import Database
from shared.eventstore import EventStore, Metadata, NewEvent
from tests.support.system import running_system

pytestmark = pytest.mark.e2e
N = 200


@pytest.fixture(scope="module")
def system(amqp_uri):
    yield from running_system(amqp_uri, services=("applications", "subsidies", "assessment"))


def certified(i, run):
    today = dt.date(2026, 11, 23)
    return NewEvent("TalentCertified", {
        "talent_id": f"talent-{run}-{i}", "application_id": f"app-{run}-{i}",
        "applicant_name": f"申报人{i}", "county": "楚雄市", "category": "LT-6.3",
        "track": "seller", "baseline_year": 2025, "baseline": {"sales_fen": 300_000_000},
        "period_start": today, "period_end": dt.date(2029, 11, 22)}, ("LT-9.5", "LT-10"))


def fund_the_grants(system, n):
    """LT-10.1 grants are charged to prefecture finance's budget (without room they queue):
    finance sets one with room for ``n`` more."""
    Client(system.urls).call("POST", "subsidies", "/funds/prefecture_finance/2026/budget",
                             "finance", json={"amount_fen": 2 * n * 5_000_000,
                                              "reference": "faults"})


def count(system, svc, event_type):
    store = EventStore(Database(system.dsn(svc)), svc)
    try:
        with store.db.transaction() as cur:
            cur.execute("SELECT count(*), count(DISTINCT stream_id) FROM events"
                        " WHERE event_type = %s", (event_type,))
            return cur.fetchone()
    finally:
        store.db.close()


def wait_for(fn, expected, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got == expected:
            return got
        time.sleep(0.5)
    return fn()


@pytest.mark.parametrize("victim,event_type", [("subsidies", "SubsidyGranted"),
                                                ("assessment", "TenureOpened")])
def test_kill_9_mid_stream_then_restart_handles_each_event_once(system, victim, event_type):
    run = uuid.uuid4().hex[:6]
    if victim == "subsidies":
        fund_the_grants(system, N)
    before = count(system, victim, event_type)[0]
    apps = EventStore(Database(system.dsn("applications")), "applications")
    meta = Metadata("fault-test", "system", f"faults-{run}")
    try:
        for i in range(N):  # the applications service's relay publishes them as they land
            apps.append("application", f"application-{run}-{i}", None, [certified(i, run)], meta)
            if i == N // 3:
                system.stop(victim, sig=signal.SIGKILL)
        system.start(victim)
        system.wait_ready([victim])
    finally:
        apps.db.close()
    total, streams = wait_for(lambda: count(system, victim, event_type),
                              (before + N, before + N))
    print(f"\n{victim}: sent {N}, handled {total - before}, distinct {streams - before}, "
          f"lost {N - (streams - before)}, doubled {(total - before) - (streams - before)}")
    assert streams - before == N, "no certification lost"
    assert total - before == N, "none handled twice in effect"
