"""Soak: commands to all four services at a steady rate for a long time, with faults injected on
the way, on a three-node RabbitMQ cluster of its own (deploy/rabbitmq/cluster.sh) and fresh
databases; then every answered command's effects are counted.

Commands (open loop: command k is due at start + k / rate, whichever of ``--concurrency``
threads sends it; each with its own X-Correlation-ID), in turn:
* applications: ``POST /applications`` (ApplicationSubmitted + EligibilityAssessed), and
  ``POST /applications/<id>/reviews`` for the first stage of an earlier one (ReviewPassed);
* subsidies: ``POST /claims``, a TM-4 on-the-job training claim of a new enterprise each time
  (hrss_officer; MeasureClaimFiled). Not a fund's budget: every budget command loads its fund's
  whole stream, so thousands of them on one fund (a few a year in use) make each slower than the
  last (docs/benchmarks.md);
* notifications: ``PUT /contacts/talent:soak-<n>`` with a new address each time, over 1,000
  recipients (ContactEmailSet; one recipient's updates at this rate would mostly be refused as
  concurrent changes of one stream, 409);
* assessment: ``POST /deadlines/run`` (the deadline sweep; records nothing when nothing is due).

Faults, at a quarter, a half and three quarters of the run: ``kill -9`` of the notifications
service (restarted 5 s later), ``kill -9`` of the RabbitMQ node the services are connected to
(started again 10 s later), and every database connection of the four services terminated
(``pg_terminate_backend``).

One JSON line at the end: commands (answered 2xx), refused (any other answer or none), the rate
they were sent at and the longest any was sent after its due time (a driver that cannot keep up
shows here), lost
(answered commands whose own events are missing, plus events of applications that notifications
did not handle), duplicated (an event recorded twice for one command, or one source event
notified twice to one recipient on one channel), each service process's resident memory (kB)
at the start and at the end (notifications' end is its restarted process's), and the relays'
largest lag seen by a scrape of ``/metrics`` every 2 s.

    python bench/soak.py                       # 30 minutes at 100 commands/s
    python bench/soak.py --minutes 3 --rate 20 # a short one
"""

import argparse
import itertools
import json
import re
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.config import dsn_for  # noqa: E402
from talent_client.http import Client  # noqa: E402
from talent_client.samples import STAGES, application_body, shanghai_today, stage_body  # noqa: E402
from talent_client.steps import open_round  # noqa: E402
from tests.support.faults import RabbitCluster, query, terminate_connections  # noqa: E402
from tests.support.system import SERVICES, _running_system  # noqa: E402

COUNTY = "楚雄市"
KINDS = ("submit", "claim", "contact", "review", "deadlines")
OWN_EVENTS = {  # events a command of the kind records, at least (deadlines: maybe none)
    "submit": ("applications", {"ApplicationSubmitted", "EligibilityAssessed"}),
    "review": ("applications", {"ReviewPassed"}),
    "claim": ("subsidies", {"MeasureClaimFiled"}),
    "contact": ("notifications", {"ContactEmailSet"}),
    "deadlines": ("assessment", set()),
}
NOTIFIED = ("ApplicationSubmitted", "EligibilityAssessed", "ReviewPassed")


class Driver:
    """Sends the commands, open loop, and keeps what was answered."""

    def __init__(self, system, rate, seconds, concurrency):
        self.client_urls = system.urls
        self.rate, self.seconds = rate, seconds
        self.answered = []  # (kind, correlation id)
        self.refused = 0
        self.behind = 0.0  # the longest a command was sent after its due time (s)
        self.lock = threading.Lock()
        self.next = itertools.count()
        self.submitted = []  # application ids, for reviews
        self.year = shanghai_today().year
        self.start = time.monotonic()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(concurrency)]

    def go(self):
        self.start = time.monotonic()
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join()

    def _run(self):
        client = Client(self.client_urls, out=lambda *_: None)
        while True:
            k = next(self.next)
            due = self.start + k / self.rate
            if due > self.start + self.seconds:
                return
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            elif -pause > self.behind:
                self.behind = -pause
            kind = KINDS[k % len(KINDS)]
            if kind == "review" and not self.submitted:
                kind = "submit"
            corr = f"soak-{uuid.uuid4()}"
            try:
                ok = self._send(client, kind, k, corr)
            except requests.RequestException:
                ok = False
            with self.lock:
                if ok:
                    self.answered.append((kind, corr))
                else:
                    self.refused += 1

    def _send(self, client, kind, k, corr):
        headers = {"X-Correlation-ID": corr}
        if kind == "submit":
            r = client.call(
                "POST",
                "applications",
                "/applications",
                "county_officer",
                county=COUNTY,
                json=application_body(COUNTY, f"申报人{k}", "LT-6.3", shanghai_today(), self.year),
                headers=headers,
                expect=None,
            )
            if r.status_code == 201:
                with self.lock:
                    self.submitted.append(r.json()["application_id"])
            return r.status_code == 201
        if kind == "review":
            with self.lock:
                app = self.submitted.pop(0)
            stage, role = STAGES[0]
            r = client.call(
                "POST",
                "applications",
                f"/applications/{app}/reviews",
                role,
                county=COUNTY,
                json=stage_body(stage, shanghai_today()),
                headers=headers,
                expect=None,
            )
        elif kind == "claim":
            r = client.call(
                "POST",
                "subsidies",
                "/claims",
                "hrss_officer",
                json={
                    "measure": "TM-4",
                    "party_id": f"E-soak-{k}",
                    "party_name": "楚雄某电商有限公司",
                    "ecommerce": True,
                    "enterprise_size": "small",
                    "worker_ref": f"w-soak-{k}",
                    "worker_group": "registered_unemployed",
                    "hired_on": "2022-03-01",  # within the Ten Measures' span (TM-1)
                    "trained_on_the_job": True,
                    "monthly_wages_fen": [400_000] * 7,
                },
                headers=headers,
                expect=None,
            )
        elif kind == "contact":
            r = client.call(
                "PUT",
                "notifications",
                f"/contacts/talent:soak-{k % 1000}",
                "prefecture_officer",
                json={"email": f"talent+{k}@soak.example.cn"},
                headers=headers,
                expect=None,
            )
        else:
            r = client.call(
                "POST",
                "assessment",
                "/deadlines/run",
                "prefecture_officer",
                headers=headers,
                expect=None,
            )
        return 200 <= r.status_code < 300


class LagWatch(threading.Thread):
    """The largest relay lag (events, seconds) any service's /metrics showed."""

    def __init__(self, system):
        super().__init__(daemon=True)
        self.system = system
        self.events = 0.0
        self.seconds = 0.0
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(2.0):
            for svc in SERVICES:
                try:
                    text = requests.get(self.system.urls[svc] + "/metrics", timeout=5).text
                except requests.RequestException:
                    continue
                for name, attr in (
                    ("talent_relay_lag_events", "events"),
                    ("talent_relay_lag_seconds", "seconds"),
                ):
                    for value in re.findall(rf"^{name}{{[^}}]*}} ([0-9.e+-]+)$", text, re.M):
                        setattr(self, attr, max(getattr(self, attr), float(value)))


def rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


def faults(system, cluster, seconds, log):
    """Inject the three faults at a quarter, a half and three quarters of the run."""
    start = time.monotonic()

    def at(fraction):
        pause = start + seconds * fraction - time.monotonic()
        if pause > 0:
            time.sleep(pause)

    at(0.25)
    system.stop("notifications", sig=signal.SIGKILL)
    log.append(("kill -9 notifications", round(time.monotonic() - start, 1)))
    time.sleep(5)
    system.start("notifications")
    system.wait_ready(["notifications"], timeout=120)
    at(0.5)
    if cluster is not None:
        connections = cluster.connections()
        victim = max(connections, key=connections.get)
        cluster.kill(victim)
        log.append((f"kill -9 RabbitMQ node {victim}", round(time.monotonic() - start, 1)))
        time.sleep(10)
        cluster.start_node(victim)
    at(0.75)
    n = terminate_connections(dsn_for("postgres"), list(system.dbs.values()))
    log.append((f"{n} database connections terminated", round(time.monotonic() - start, 1)))


def count(system, answered):
    """(lost, duplicated) among the answered commands' effects."""
    lost = duplicated = 0
    by_kind = {}
    for kind, corr in answered:
        by_kind.setdefault(kind, []).append(corr)
    for kind, corrs in by_kind.items():
        svc, expected = OWN_EVENTS[kind]
        if not expected:
            continue
        rows = query(
            system.dsn(svc),
            "SELECT metadata->>'correlation_id', event_type, count(*) FROM events"
            " WHERE metadata->>'correlation_id' = ANY(%s) AND event_type = ANY(%s) GROUP BY 1, 2",
            (corrs, list(expected)),
        )
        seen = {(c, t): n for c, t, n in rows}
        for corr in corrs:
            for event_type in expected:
                n = seen.get((corr, event_type), 0)
                lost += n == 0
                duplicated += max(n - 1, 0)
    # downstream: every applications event of an answered command handled by notifications once
    corrs = [c for k, c in answered if k in ("submit", "review")]
    ids = [
        r[0]
        for r in query(
            system.dsn("applications"),
            "SELECT event_id::text FROM events WHERE metadata->>'correlation_id' = ANY(%s)"
            " AND event_type = ANY(%s)",
            (corrs, list(NOTIFIED)),
        )
    ]
    handled = query(
        system.dsn("notifications"),
        "SELECT count(*) FROM inbox WHERE event_id = ANY(%s::uuid[])",
        (ids,),
    )[0][0]
    total, distinct = query(
        system.dsn("notifications"),
        "SELECT count(*), count(DISTINCT (payload->>'source_event_id', payload->>'recipient',"
        " payload->>'channel')) FROM events WHERE event_type = 'NotificationRecorded'"
        " AND payload->>'source_event_id' = ANY(%s)",
        (ids,),
    )[0]
    return lost + (len(ids) - handled), duplicated + (total - distinct), len(ids), handled


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=100.0, help="commands a second")
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument(
        "--settle", type=float, default=180.0, help="seconds to let the backlog drain"
    )
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    cluster = RabbitCluster()
    running = None
    try:
        cluster.start()
        running = _running_system(cluster.uri, SERVICES, f"soak-{uuid.uuid4().hex[:6]}")
        for system in running:
            open_round(Client(system.urls, out=lambda *_: None), shanghai_today().year)
            rss_start = {svc: rss_kb(system.procs[svc].pid) for svc in SERVICES}
            lag = LagWatch(system)
            lag.start()
            injected = []
            driver = Driver(system, args.rate, seconds, args.concurrency)
            driver.go()
            faulting = threading.Thread(
                target=faults, args=(system, cluster, seconds, injected), daemon=True
            )
            faulting.start()
            driver.join()
            faulting.join()
            took = time.monotonic() - driver.start
            deadline = time.monotonic() + args.settle
            while True:  # the backlog drains
                lost, duplicated, notified, handled = count(system, driver.answered)
                if lost == 0 or time.monotonic() > deadline:
                    break
                time.sleep(2)
            lag.stopped.set()
            rss_end = {svc: rss_kb(system.procs[svc].pid) for svc in SERVICES}
            print(
                json.dumps(
                    {
                        "bench": "soak",
                        "minutes": args.minutes,
                        "rate": args.rate,
                        "commands": len(driver.answered),
                        "sent_per_s": round((len(driver.answered) + driver.refused) / seconds, 1),
                        "behind_schedule_max_s": round(driver.behind, 2),
                        "took_s": round(took, 1),
                        "refused": driver.refused,
                        "lost": lost,
                        "duplicated": duplicated,
                        "notified_events": f"{handled}/{notified}",
                        "rss_kb_start": rss_start,
                        "rss_kb_end": rss_end,
                        "relay_lag_max_events": lag.events,
                        "relay_lag_max_seconds": round(lag.seconds, 2),
                        "faults": injected,
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
            return 0 if lost == 0 and duplicated == 0 else 1
    finally:
        if running is not None:
            running.close()  # the services stopped, their databases dropped
        cluster.close()
    return 1


if __name__ == "__main__":
    sys.exit(main())
