"""Load: a sustained stream of applications and reviews through the system's HTTP interface.

Each virtual county officer (``--concurrency`` threads) submits an application
(``POST /applications``: ApplicationSubmitted + EligibilityAssessed) and records its first three
review stages (``POST /applications/<id>/reviews``: ReviewPassed each), for ``--duration``
seconds after ``--warmup`` seconds of the same load (default 5: new connections, first
queries and caches; not counted, but its events are checked for loss too). Two ways to pace
them:
* ``--rate R`` (open loop, the latency target's measure): command k is due at start + k/R
  whichever officer sends it; latency counts from when it was due, so a system that falls
  behind is charged for the wait (no coordinated omission);
* without ``--rate`` (closed loop): every officer sends its next command as soon as the last
  one is answered — the most the system takes, where queues grow by construction. Every command carries its own ``X-Correlation-ID``; the events it causes downstream
(notifications records a message for each of these events) carry it too, so afterwards the
stores themselves say when the last downstream event of each command was recorded.

Reported (one JSON line at the end):
* commands_per_s: commands accepted (2xx) per second of the run;
* e2e_ms p50/p99: command sent → the last event recorded for its correlation id in any store
  (applications, notifications);
* http_ms p50/p99: the command's own response time;
* own_ms and downstream_ms p50/p99: e2e's two legs, sent → the command's own events recorded,
  and those → the last downstream event (relay, broker, notifications);
* lost: expected events missing: every command's own events in the applications store, and an
  inbox entry in notifications for every applications event it subscribes to (0 = zero loss).

    python bench/load.py [--duration 60] [--rate 200] [--concurrency 48]  # starts its own system
    python bench/load.py --concurrency 16          # closed loop: the most it takes
    python bench/load.py --running                 # against `make run`
    python bench/load.py --rate 150 --timeline t.txt  # and where in the run the slow ones were
Target on the 2-core machine: >= 200 commands/s sustained with e2e p99 < 250 ms.
"""

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.auth import mint  # noqa: E402
from shared.config import dsn_for  # noqa: E402
from shared.db import Database  # noqa: E402
from talent_client.http import Client, base_urls  # noqa: E402
from talent_client.samples import (  # noqa: E402
    STAGES,
    application_body,
    fake_id_number,
    shanghai_today,
    stage_body,
)
from talent_client.steps import open_round  # noqa: E402

COUNTY = "楚雄市"
REVIEWS = STAGES[:3]  # county recommendation, qualification review, expert review
NOTIFIED = ("ApplicationSubmitted", "EligibilityAssessed", "ReviewPassed")


class _Fixed:
    """An ``rng`` whose ``randrange`` returns a chosen number (unique ID-number sequence codes)."""

    def __init__(self, value):
        self.value = value

    def randrange(self, n):
        return self.value % n


def unique_id_number(n):
    birth = dt.date(1986, 1, 1) + dt.timedelta(days=n // 1000)
    return fake_id_number(birth, COUNTY, _Fixed(n))


class Pacer:
    """Open-loop arrivals: command k is due at start + k / rate, whichever officer sends it."""

    def __init__(self, rate):
        self.interval = 1.0 / rate
        self.slots = itertools.count()
        self.lock = threading.Lock()
        self.start_perf = self.start_wall = None

    def begin(self):
        self.start_perf, self.start_wall = time.perf_counter(), time.time()

    def wait(self):
        """Sleep until the next free slot is due; its due time (wall clock)."""
        with self.lock:
            k = next(self.slots)
        delay = self.start_perf + k * self.interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        return self.start_wall + k * self.interval


class Officer(threading.Thread):
    """One client: submit, then review three stages, again and again."""

    def __init__(self, urls, tokens, numbers, submitted, year, stop, run_tag, pacer=None):
        super().__init__(daemon=True)
        self.urls, self.tokens, self.numbers = urls, tokens, numbers
        self.submitted, self.year, self.stop, self.run_tag = submitted, year, stop, run_tag
        self.pacer = pacer
        self.base = urlsplit(urls["applications"])
        self.http = None  # one keep-alive connection (http.client: a third of the CPU of
        #                   requests, which the client would take from the services)
        self.commands = []  # (correlation_id, due/sent wall clock, http seconds, kind, late s)
        self.errors = []

    def post(self, path, body, headers):
        if self.http is None:
            self.http = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=30)
        try:
            self.http.request(
                "POST",
                self.base.path.rstrip("/") + path,
                json.dumps(body, default=str).encode(),
                {**headers, "Content-Type": "application/json"},
            )
            response = self.http.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, OSError):
            self.http.close()
            self.http = None
            raise

    def command(self, path, role, body, kind):
        correlation = f"load-{self.run_tag}-{uuid.uuid4().hex[:12]}"
        due = self.pacer.wait() if self.pacer else None
        sent, started = time.time(), time.perf_counter()
        late = 0.0 if due is None else max(0.0, sent - due)
        sent = sent if due is None else min(sent, due)
        status, text = self.post(
            path,
            body,
            {"Authorization": f"Bearer {self.tokens[role]}", "X-Correlation-ID": correlation},
        )
        elapsed = time.perf_counter() - started
        if status not in (200, 201):
            self.errors.append(f"{kind} {status} {text[:200]!r}")
            return None
        self.commands.append((correlation, sent, elapsed, kind, late))
        return json.loads(text)

    def run(self):
        while not self.stop.is_set():
            n = next(self.numbers)
            body = application_body(
                COUNTY,
                f"压测{n}",
                "LT-6.3",
                self.submitted,
                self.year,
                id_number=unique_id_number(n),
            )
            result = self.command("/applications", "county_officer", body, "submit")
            if not result or not result.get("eligible"):
                continue
            app = result["application_id"]
            for i, (stage, role) in enumerate(REVIEWS, start=1):
                if self.stop.is_set():
                    break
                if (
                    self.command(
                        f"/applications/{app}/reviews",
                        role,
                        stage_body(stage, self.submitted + dt.timedelta(days=i)),
                        "review",
                    )
                    is None
                ):
                    break


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def last_recorded(db, run_tag):
    """{correlation_id: (count, last recorded_at epoch)} of a store's events of this run."""
    with db.transaction() as cur:
        cur.execute(
            "SELECT metadata->>'correlation_id', count(*),"
            " extract(epoch FROM max(recorded_at))::float8 FROM events"
            " WHERE metadata->>'correlation_id' LIKE %s GROUP BY 1",
            (f"load-{run_tag}-%",),
        )
        return {c: (n, t) for c, n, t in cur.fetchall()}


def missing_downstream(apps_db, notif_db, run_tag):
    """Applications events of this run that notifications subscribes to but has not handled."""
    with apps_db.transaction() as cur:
        cur.execute(
            "SELECT event_id::text FROM events WHERE event_type = ANY(%s)"
            " AND metadata->>'correlation_id' LIKE %s",
            (list(NOTIFIED), f"load-{run_tag}-%"),
        )
        expected = {row[0] for row in cur.fetchall()}
    with notif_db.transaction() as cur:
        cur.execute(
            "SELECT DISTINCT event_id::text FROM inbox WHERE source_service = 'applications'"
        )
        handled = {row[0] for row in cur.fetchall()}
    return expected - handled, len(expected)


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def servers_cpu_seconds():
    """CPU seconds used so far by every PostgreSQL and RabbitMQ process this user can see (the
    servers' share of the box; a backend that exits during the run takes its share with it)."""
    total = {"postgresql": 0.0, "rabbitmq": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name = stat.read_text().split("(", 1)[1].split(")", 1)[0]
            kind = (
                "postgresql"
                if name.startswith("postgres")
                else "rabbitmq"
                if name in ("beam.smp", "erl_child_setup")
                else None
            )
            if kind:
                total[kind] += cpu_seconds(stat.parent.name)
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_pace(dsn, seconds=2.0):
    """How fast this box is in this run, before the load (the same VM measured 1.7x apart on
    different days): raw psycopg2 single-row INSERT+COMMIT per second on a temporary table, and
    the nanoseconds a pure-Python loop step takes (CPU speed as the services' Python sees it)."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE pace (id bigint PRIMARY KEY, body jsonb NOT NULL)")
            conn.commit()
            n, body = 0, json.dumps({"county": COUNTY, "n": 0})
            started = time.perf_counter()
            deadline = started + seconds
            while time.perf_counter() < deadline:
                n += 1
                cur.execute("INSERT INTO pace VALUES (%s, %s)", (n, body))
                conn.commit()
            inserts = n / (time.perf_counter() - started)
    finally:
        conn.close()
    started, total = time.perf_counter(), 0
    for i in range(2_000_000):
        total += i
    loop_ns = (time.perf_counter() - started) / 2_000_000 * 1e9
    return {"raw_insert_commit_per_s": round(inserts), "python_loop_ns": round(loop_ns, 1)}


def drive(
    urls,
    dsns,
    duration,
    concurrency,
    rate=None,
    drain_timeout=120.0,
    pids=None,
    warmup=0.0,
    timeline_file=None,
):
    run_tag = uuid.uuid4().hex[:8]
    pace = machine_pace(dsns["applications"])
    today = shanghai_today()
    submitted = today - dt.timedelta(days=len(REVIEWS) + 1)
    year = submitted.year
    client = Client(urls=urls, out=lambda *a: None)
    open_round(client, year)
    tokens = {"county_officer": mint(client.secret, "load-county", "county_officer", COUNTY)}
    for _, role in REVIEWS:
        tokens.setdefault(role, mint(client.secret, f"load-{role}", role, COUNTY))
    numbers = itertools.count(int(time.time()) % 100_000 * 1000)  # fresh ID numbers per run
    stop = threading.Event()
    pacer = Pacer(rate) if rate else None
    officers = [
        Officer(urls, tokens, numbers, submitted, year, stop, run_tag, pacer)
        for _ in range(concurrency)
    ]
    pids = pids or {}
    if pacer:
        pacer.begin()
    for officer in officers:
        officer.start()
    time.sleep(warmup)  # the same load, not measured: new connections, first queries, caches
    measured_from = time.time()
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    cpu_before.update(servers_cpu_seconds())
    cpu_self = time.process_time()
    started = time.perf_counter()
    time.sleep(duration)
    stop.set()
    for officer in officers:
        officer.join(timeout=60)
    elapsed = time.perf_counter() - started
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    cpu.update(
        {name: seconds - cpu_before[name] for name, seconds in servers_cpu_seconds().items()}
    )
    cpu["load_client"] = time.process_time() - cpu_self
    everything = [c for o in officers for c in o.commands]
    commands = [c for c in everything if c[1] >= measured_from]
    errors = [e for o in officers for e in o.errors]

    apps_db, notif_db = Database(dsns["applications"]), Database(dsns["notifications"])
    try:
        deadline = time.monotonic() + drain_timeout
        while True:  # let the downstream work finish (bounded), then judge
            missing, expected_downstream = missing_downstream(apps_db, notif_db, run_tag)
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        apps = last_recorded(apps_db, run_tag)
        notif = last_recorded(notif_db, run_tag)
    finally:
        apps_db.close()
        notif_db.close()

    e2e, upstream, downstream, lost_own = [], [], [], 0
    timeline = []
    for correlation, sent, _, kind, _ in everything:  # the warm-up's must arrive too
        own = apps.get(correlation, (0, None))
        if own[0] < (2 if kind == "submit" else 1):
            lost_own += 1
            continue
        if sent < measured_from:
            continue
        last = max(t for _, t in (own, notif.get(correlation, (0, own[1]))))
        e2e.append((last - sent) * 1000)
        upstream.append((own[1] - sent) * 1000)
        downstream.append((last - own[1]) * 1000)
        timeline.append((sent, (own[1] - sent) * 1000, (last - own[1]) * 1000))
    if timeline_file:
        Path(timeline_file).write_text(
            "".join(f"{s:.3f} {u:.1f} {d:.1f}\n" for s, u, d in sorted(timeline))
        )
    http = [c[2] * 1000 for c in commands]
    result = {
        "bench": "load",
        "duration_s": round(elapsed, 1),
        "concurrency": concurrency,
        "pacing": f"open loop, {rate}/s" if rate else "closed loop",
        "warmup_s": warmup,
        "warmup_commands": len(everything) - len(commands),
        "commands": len(commands),
        "submissions": sum(c[3] == "submit" for c in commands),
        "reviews": sum(c[3] == "review" for c in commands),
        "errors": len(errors),
        "commands_per_s": round(len(commands) / elapsed, 1),
        "e2e_ms": {
            "p50": _r(percentile(e2e, 50)),
            "p99": _r(percentile(e2e, 99)),
            "max": _r(max(e2e) if e2e else None),
        },
        "http_ms": {"p50": _r(percentile(http, 50)), "p99": _r(percentile(http, 99))},
        # the two legs of e2e: sent -> its own events recorded; those -> the last downstream one
        "own_ms": {"p50": _r(percentile(upstream, 50)), "p99": _r(percentile(upstream, 99))},
        "downstream_ms": {
            "p50": _r(percentile(downstream, 50)),
            "p99": _r(percentile(downstream, 99)),
        },
        # how far behind its due time a command went out (open loop: all officers were busy)
        "late_ms_p99": _r(percentile([c[4] * 1000 for c in commands], 99)),
        "expected_downstream_events": expected_downstream,
        "lost": lost_own + len(missing),
        # CPU per accepted command, by process (the services', the servers' and this client's,
        # during the load phase), and in all as a share of the box's cores
        "cpu_cores_used": round(sum(cpu.values()) / elapsed, 2),
        "cores": os.cpu_count(),
        "cpu_ms_per_command": {
            name: round(seconds * 1000 / max(len(commands), 1), 2) for name, seconds in cpu.items()
        },
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "machine": pace,
        # commands per raw single-row INSERT+COMMIT the box managed in the same run
        "commands_per_raw_insert": round(
            len(commands) / elapsed / max(pace["raw_insert_commit_per_s"], 1), 3
        ),
    }
    result["target_met"] = bool(
        result["commands_per_s"] >= 200
        and e2e
        and result["e2e_ms"]["p99"] < 250
        and result["lost"] == 0
    )
    if errors:
        result["first_error"] = errors[0]
    return result


def _r(value):
    return None if value is None else round(value, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--rate", type=float, default=None, help="commands/s, open loop (default: closed loop)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds of the same load before the measured ones (not counted)",
    )
    parser.add_argument(
        "--timeline",
        metavar="FILE",
        help="write each measured command: due time, own ms, downstream ms",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="officers (threads); default 48 with --rate, else 16",
    )
    parser.add_argument(
        "--running",
        action="store_true",
        help="drive the system `make run` started (its URLs and databases)",
    )
    args = parser.parse_args(argv)
    if args.concurrency is None:
        args.concurrency = 48 if args.rate else 16
    if args.running:
        urls = base_urls()
        dsns = {
            svc: dsn_for(os.environ.get(f"{svc.upper()}_DB", f"talent_{svc}"))
            for svc in ("applications", "notifications")
        }
        result = drive(
            urls,
            dsns,
            args.duration,
            args.concurrency,
            args.rate,
            warmup=args.warmup,
            timeline_file=args.timeline,
        )
    else:
        from tests.support.system import running_system

        gen = running_system(services=("applications", "notifications"), log_prefix="load")
        system = next(gen)
        try:
            result = drive(
                system.urls,
                {svc: system.dsn(svc) for svc in ("applications", "notifications")},
                args.duration,
                args.concurrency,
                args.rate,
                pids={svc: proc.pid for svc, proc in system.procs.items()},
                warmup=args.warmup,
                timeline_file=args.timeline,
            )
        finally:
            gen.close()
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
