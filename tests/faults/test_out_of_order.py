"""kill -9 notifications during a burst of submissions over HTTP and restart it after a pause:
the backlog then arrives out of order (an application's EligibilityAssessed before its
ApplicationSubmitted, on separate queues), and every event must still have exactly one effect,
none dead-lettered, none missing (the inbox parks what comes early: shared/messaging/inbox.py).
And an event whose message never reaches notifications at all is found in its source's catch-up
feed, so what awaits it is not left parked."""

import signal
import threading
import time
import urllib.parse

import pytest

from talent_client.http import Client
from talent_client.samples import application_body, shanghai_today
from talent_client.steps import open_round
from tests.support.faults import log_lines, query, report, wait_until
from tests.support.system import _rabbitmqctl

pytestmark = pytest.mark.e2e
BURST = 30  # submissions per kill
KILLS = 5  # per pause
HANDLED = ("ApplicationSubmitted", "EligibilityAssessed")


class Burst:
    """Submit ``n`` applications over HTTP in a thread; ``ids`` the applications filed."""

    def __init__(self, client, year, n):
        self.client, self.year, self.n = client, year, n
        self.ids, self.errors = [], []
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        submitted = shanghai_today()
        try:
            for i in range(self.n):
                r = self.client.call(
                    "POST",
                    "applications",
                    "/applications",
                    "county_officer",
                    county="楚雄市",
                    json=application_body("楚雄市", f"申报人{i}", "LT-6.3", submitted, self.year),
                )
                self.ids.append(r.json()["application_id"])
        except Exception as exc:  # noqa: BLE001 - reported by join()
            self.errors.append(repr(exc))
        finally:
            self.done.set()

    def join(self, timeout=120):
        assert self.done.wait(timeout), "the burst of submissions did not finish"
        assert not self.errors, self.errors


def source_events(system, application_ids):
    """The ids of the events of ``application_ids`` that notifications handles."""
    return [
        row[0]
        for row in query(
            system.dsn("applications"),
            "SELECT event_id::text FROM events WHERE event_type = ANY(%s)"
            " AND payload->>'application_id' = ANY(%s)",
            (list(HANDLED), list(application_ids)),
        )
    ]


def outcome(system, event_ids):
    """What notifications did with the source events ``event_ids``."""
    dsn = system.dsn("notifications")
    ids = list(event_ids)
    (handled,) = query(dsn, "SELECT count(*) FROM inbox WHERE event_id = ANY(%s::uuid[])", (ids,))[
        0
    ]
    (dead,) = query(
        dsn, "SELECT count(*) FROM dead_letters WHERE event_id = ANY(%s::uuid[])", (ids,)
    )[0]
    (parked,) = query(
        dsn, "SELECT count(*) FROM parked_events WHERE event_id = ANY(%s::uuid[])", (ids,)
    )[0]
    # one NotificationRecorded per (source event, recipient, channel): a second effect of one
    # source event would repeat one
    total, distinct, notified = query(
        dsn,
        "SELECT count(*), count(DISTINCT (payload->>'source_event_id', payload->>'recipient',"
        " payload->>'channel')), count(DISTINCT payload->>'source_event_id') FROM events"
        " WHERE event_type = 'NotificationRecorded' AND payload->>'source_event_id' = ANY(%s)",
        (ids,),
    )[0]
    return {
        "sent": len(ids),
        "handled": handled,
        "parked": parked,
        "dead_letters": dead,
        "missing": len(ids) - notified,
        "duplicated": total - distinct,
    }


@pytest.mark.parametrize("pause", [2, 5])
def test_kill_9_notifications_during_bursts_then_restart_parks_what_comes_early(system, pause):
    client = Client(system.urls)
    year = shanghai_today().year
    open_round(client, year)
    applications = []
    for _ in range(KILLS):
        burst = Burst(client, year, BURST)
        wait_until(lambda b=burst: len(b.ids), lambda n: n >= BURST // 3, timeout=60, every=0.05)
        system.stop("notifications", sig=signal.SIGKILL)
        time.sleep(pause)  # the burst goes on: the backlog grows on notifications' queues
        system.start("notifications")
        system.wait_ready(["notifications"])
        burst.join()
        applications += burst.ids
    ids = source_events(system, applications)
    assert len(ids) == len(HANDLED) * KILLS * BURST
    counts = wait_until(
        lambda: outcome(system, ids),
        lambda got: got["missing"] == 0 and got["handled"] == got["sent"],
        timeout=120,
    )
    time.sleep(1.0)  # a late redelivery would show itself as a duplicate now
    counts = outcome(system, ids)
    # how many came before their application and were parked on the way (not asserted: the
    # order of a backlog is the broker's)
    counts["parked_on_the_way"] = len(
        log_lines(system.log_path("notifications"), "event_parked", set(ids))
    )
    report(f"kill -9 notifications x{KILLS}, restart after {pause} s", counts)
    assert counts["dead_letters"] == 0, counts
    assert counts["missing"] == 0, counts
    assert counts["duplicated"] == 0, counts
    assert counts["handled"] == counts["sent"], counts
    assert counts["parked"] == 0, counts


def test_a_message_lost_before_notifications_took_it_is_fetched_from_the_source_feed(
    system, monkeypatch
):
    """Notifications stopped, five submissions, their ApplicationSubmitted messages purged from its
    queue: the EligibilityAssessed events park; parked longer than PARKED_FETCH_SECONDS, the
    applications feed is read over RPC and the lost events handled, once each."""
    client = Client(system.urls)
    year = shanghai_today().year
    open_round(client, year)
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(system.amqp_uri).path[1:])
    if not vhost:
        pytest.skip("rabbitmqctl is not usable here: no vhost of the test's own to purge in")
    system.stop("notifications")
    monkeypatch.setenv("PARKED_FETCH_SECONDS", "2")
    try:
        burst = Burst(client, year, 5)
        burst.join()
        queue = "evt-applications-ApplicationSubmitted--notifications.on_applications_ApplicationSubmitted"
        purged = _rabbitmqctl("purge_queue", "-p", vhost, queue)
        assert purged.returncode == 0, purged.stderr
        system.start("notifications")
        system.wait_ready(["notifications"])
        ids = source_events(system, burst.ids)
        counts = wait_until(
            lambda: outcome(system, ids),
            lambda got: got["missing"] == 0 and got["handled"] == got["sent"],
            timeout=90,
        )
        counts["filled_from_feed"] = len(
            log_lines(system.log_path("notifications"), "event_filled_from_feed", set(ids))
        )
        report("ApplicationSubmitted purged before notifications took it", counts)
        assert counts["filled_from_feed"] == 5, counts
        assert counts["dead_letters"] == 0 and counts["parked"] == 0, counts
        assert counts["missing"] == 0 and counts["duplicated"] == 0, counts
        assert counts["handled"] == counts["sent"] == 10, counts
    finally:  # the package's other tests get notifications as configured by default
        monkeypatch.undo()
        system.stop("notifications")
        system.start("notifications")
        system.wait_ready(["notifications"])
