"""The four services on a PostgreSQL primary with a synchronous standby (deploy/postgres/
failover.sh), connecting through a multi-host DSN that finds the writable node: kill -9 the primary
during steady traffic of submissions over HTTP and promote the standby. Every command answered 2xx
before the kill is in the promoted store, every hash chain verifies, positions continue without
a gap, the relays resume from their cursors (notifications handles every event of every answered
command), and the services recover without a restart. Then `failover.sh rejoin` brings the old
primary back (pg_rewind) as the promoted node's synchronous standby while the services go on:
what they answer from then on is on both nodes, and a second failover (kill -9 the new primary,
promote the rejoined node) loses none of it."""

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from shared.db import Database
from shared.store import EventStore
from talent_client.http import Client
from talent_client.samples import application_body, shanghai_today
from talent_client.steps import open_round
from tests.support.faults import free_port_run, query, report, wait_until
from tests.support.system import SERVICES, _running_system, rabbitmq_vhost

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "failover.sh"
HANDLED = ("ApplicationSubmitted", "EligibilityAssessed")


class Pair:
    """A primary and its synchronous standby, started by deploy/postgres/failover.sh."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="talent-faults-pg-"))
        shutil.chown(self.dir, "postgres")
        self.env = dict(
            os.environ,
            TALENT_PG_FAILOVER_DIR=str(self.dir / "pg"),
            TALENT_PG_FAILOVER_PORT=str(free_port_run(2)),
        )

    def script(self, *args):
        done = subprocess.run(
            ["bash", str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=180
        )
        if done.returncode != 0:
            raise RuntimeError(f"failover.sh {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout.strip()

    def roles(self):
        """{node: "primary" | "standby" | "down"} from ``failover.sh status``."""
        found = {}
        for line in self.script("status").splitlines():
            m = re.match(r"node (\d) port \d+: (?:down|up, in recovery: ([tf]))$", line)
            if m:
                found[int(m[1])] = {None: "down", "t": "standby", "f": "primary"}[m[2]]
        return found

    def replication(self, node):
        """(application_name, state, sync_state) of each standby streaming from ``node``."""
        out = self.script(
            "psql",
            str(node),
            "-c",
            "SELECT application_name, state, sync_state FROM pg_stat_replication",
        )
        return [tuple(line.split("|")) for line in out.splitlines()]

    def dsn(self, node, dbname):
        """Node ``node`` alone (a standby: read-only)."""
        port = int(self.env["TALENT_PG_FAILOVER_PORT"]) + node - 1
        return f"host=127.0.0.1 port={port} user=postgres dbname={dbname}"

    def close(self):
        try:
            self.script("stop", "--purge")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pair():
    nodes = Pair()
    try:
        nodes.script("start")
        yield nodes
    finally:
        nodes.close()


@pytest.fixture(scope="module")
def system(pair):
    saved = os.environ.get("TALENT_PG_DSN_BASE")
    os.environ["TALENT_PG_DSN_BASE"] = pair.script("dsn")  # the services' and the test's
    try:
        with rabbitmq_vhost("pgfailover") as uri:
            yield from _running_system(uri, SERVICES, f"pgfailover-{uuid.uuid4().hex[:6]}")
    finally:
        if saved is None:
            os.environ.pop("TALENT_PG_DSN_BASE", None)
        else:
            os.environ["TALENT_PG_DSN_BASE"] = saved


class Traffic:
    """Submissions over HTTP, one after the other, until ``stop``: the application ids answered
    201 (with the time of the answer), and how many were not."""

    def __init__(self, client, year):
        self.client, self.year = client, year
        self.answered = []  # (monotonic time, application id)
        self.failed = 0
        self.stopped = threading.Event()
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        i = 0
        try:
            while not self.stopped.is_set():
                i += 1
                try:
                    r = self.client.call(
                        "POST",
                        "applications",
                        "/applications",
                        "county_officer",
                        county="楚雄市",
                        json=application_body(
                            "楚雄市", f"申报人{i}", "LT-6.3", shanghai_today(), self.year
                        ),
                        expect=None,
                    )
                except Exception:  # noqa: BLE001 - the service busy reconnecting: not answered
                    self.failed += 1
                    time.sleep(0.2)
                    continue
                if r.status_code == 201:
                    self.answered.append((time.monotonic(), r.json()["application_id"]))
                else:
                    self.failed += 1
                    time.sleep(0.2)
        finally:
            self.done.set()

    def stop(self):
        self.stopped.set()
        assert self.done.wait(60)


def gaps(dsn):
    (count, low, high) = query(
        dsn,
        "SELECT count(*), coalesce(min(global_position), 0), coalesce(max(global_position), 0) FROM events",
    )[0]
    return {"events": count, "gapless": count == high and low in (0, 1)}


def chain_checked(dsn, svc):
    """The store's hash chain verified, and its positions' gaps."""
    db = Database(dsn, max_size=1)
    try:
        result = EventStore(db, svc).verify()
    finally:
        db.close()
    return dict(gaps(dsn), verified=result.ok, first_bad=result.position)


def test_kill_9_the_primary_and_promote_the_standby(pair, system):
    client = Client(system.urls)
    year = shanghai_today().year
    open_round(client, year)
    traffic = Traffic(client, year)
    wait_until(lambda: len(traffic.answered), lambda n: n >= 20, timeout=120, every=0.1)
    killed_at = time.monotonic()
    pair.script("kill-primary")
    answered_before = [a for t, a in traffic.answered if t <= killed_at]
    time.sleep(1.0)  # what an operator's (or a tool's) reaction would take at the least
    pair.script("promote")
    promoted_at = time.monotonic()
    # the services find the promoted node by themselves: submissions are answered again
    back = wait_until(
        lambda: [t for t, _ in traffic.answered if t > promoted_at],
        lambda after: len(after) >= 10,
        timeout=120,
        every=0.2,
    )
    traffic.stop()
    assert len(back) >= 10, "the services did not recover on the promoted node"
    answered = [a for _, a in traffic.answered]
    # every command answered 201 before the kill is in the promoted store (and every later one)
    stored = {
        row[0]
        for row in query(
            system.dsn("applications"),
            "SELECT payload->>'application_id' FROM events WHERE event_type = 'ApplicationSubmitted'",
        )
    }
    missing_before = [a for a in answered_before if a not in stored]
    missing_after = [a for a in answered if a not in stored]
    # the relays resume from their cursors: notifications handles every event of every answer
    ids = [
        row[0]
        for row in query(
            system.dsn("applications"),
            "SELECT event_id::text FROM events WHERE event_type = ANY(%s)"
            " AND payload->>'application_id' = ANY(%s)",
            (list(HANDLED), answered),
        )
    ]
    handled = wait_until(
        lambda: query(
            system.dsn("notifications"),
            "SELECT count(*) FROM inbox WHERE event_id = ANY(%s::uuid[])",
            (ids,),
        )[0][0],
        lambda n: n >= len(ids),
        timeout=120,
    )
    chains = {svc: chain_checked(system.dsn(svc), svc) for svc in SERVICES}
    alive = {svc: system.procs[svc].poll() is None for svc in SERVICES}
    report(
        "kill -9 the PostgreSQL primary, promote the standby",
        {
            "answered_before_kill": len(answered_before),
            "answered_in_all": len(answered),
            "not_answered": traffic.failed,
            "missing_answered_before_kill": len(missing_before),
            "missing_answered": len(missing_after),
            "notifications_handled": f"{handled}/{len(ids)}",
            "answered_after_promotion_within_s": round(back[0] - promoted_at, 1),
        },
    )
    print(chains, flush=True)
    assert missing_before == [] and missing_after == []
    assert handled == len(ids) == len(HANDLED) * len(answered)
    for svc, chain in chains.items():
        assert chain["verified"] and chain["gapless"], (svc, chain)
    assert all(alive.values()), alive


def submitted(dsn):
    """The application ids of the ApplicationSubmitted events in the store at ``dsn``."""
    return {
        row[0]
        for row in query(
            dsn,
            "SELECT payload->>'application_id' FROM events WHERE event_type = 'ApplicationSubmitted'",
        )
    }


def answered_after(traffic, since, n, timeout=60):
    """Wait until ``traffic`` has ``n`` answers later than ``since``; those (time, id)."""
    return wait_until(
        lambda: [(t, a) for t, a in traffic.answered if t > since],
        lambda after: len(after) >= n,
        timeout=timeout,
        every=0.1,
    )


def rejoin_and_check(pair):
    """``failover.sh rejoin``: the node that was down is the primary's synchronous standby."""
    before = pair.roles()
    (primary,) = [n for n, role in before.items() if role == "primary"]
    (old,) = [n for n, role in before.items() if role == "down"]
    started = time.monotonic()
    pair.script("rejoin")
    took = time.monotonic() - started
    assert pair.roles() == {primary: "primary", old: "standby"}
    assert pair.replication(primary) == [("talent_standby", "streaming", "sync")]
    return primary, old, took


def test_rejoin_the_old_primary_as_synchronous_standby_and_fail_over_again(pair, system):
    client = Client(system.urls)
    year = shanghai_today().year
    open_round(client, year)
    apps = system.dbs["applications"]
    if "down" not in pair.roles().values():  # run alone: the first failover, here
        pair.script("kill-primary")
        pair.script("promote")
    # the services go on while the old primary comes back as the synchronous standby
    traffic = Traffic(client, year)
    answered_after(traffic, 0, 3)
    primary, standby, rejoin_s = rejoin_and_check(pair)
    rejoined_at = time.monotonic()
    since_rejoin = answered_after(traffic, rejoined_at, 10)
    traffic.stop()
    assert len(since_rejoin) >= 10, "the services did not go on after the rejoin"
    # the rejoined standby (read-only) has every command answered since, and all the primary has
    on_primary = submitted(pair.dsn(primary, apps))
    on_standby = wait_until(
        lambda: submitted(pair.dsn(standby, apps)), lambda got: got >= on_primary, timeout=30
    )
    assert query(pair.dsn(standby, apps), "SELECT pg_is_in_recovery()")[0][0] is True
    missing_on_standby = [a for _, a in traffic.answered if a not in on_standby]

    # a second failover: kill -9 the new primary, promote the rejoined node
    traffic = Traffic(client, year)
    answered_after(traffic, 0, 5)
    killed_at = time.monotonic()
    pair.script("kill-primary")
    answered_before = [a for t, a in traffic.answered if t <= killed_at]
    pair.script("promote")
    promoted_at = time.monotonic()
    back = answered_after(traffic, promoted_at, 5)
    traffic.stop()
    assert len(back) >= 5, "the services did not recover on the rejoined, promoted node"
    assert pair.roles() == {standby: "primary", primary: "down"}
    stored = submitted(pair.dsn(standby, apps))
    missing_before = [a for a in answered_before if a not in stored]
    missing = [a for _, a in traffic.answered if a not in stored]
    # and back to two nodes: the second old primary rejoins too
    _, _, rejoin2_s = rejoin_and_check(pair)
    chains = {svc: chain_checked(system.dsn(svc), svc) for svc in SERVICES}
    alive = {svc: system.procs[svc].poll() is None for svc in SERVICES}
    report(
        "rejoin the old primary as the synchronous standby, fail over again, rejoin",
        {
            "rejoin_s": round(rejoin_s, 1),
            "answered_since_rejoin": len(since_rejoin),
            "missing_on_rejoined_standby": len(missing_on_standby),
            "answered_before_second_kill": len(answered_before),
            "missing_answered_before_second_kill": len(missing_before),
            "missing_answered": len(missing),
            "answered_after_second_promotion_within_s": round(back[0][0] - promoted_at, 1),
            "second_rejoin_s": round(rejoin2_s, 1),
        },
    )
    assert missing_on_standby == []
    assert missing_before == [] and missing == []
    for svc, chain in chains.items():
        assert chain["verified"] and chain["gapless"], (svc, chain)
    assert all(alive.values()), alive
