"""What the fault tests (tests/faults) share: a stream of certifications, the counts of what each
consumer did with it (sent, handled, duplicates dropped, lost, doubled), PostgreSQL connection
terminations and a private RabbitMQ node that can be stopped and started without touching the
shared one."""

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import kombu
import orjson
import psycopg2

from shared.db import Database
from shared.decider import NewEvent
from shared.store import EventStore, Metadata
from tests.support.system import free_port

# -- a stream of certifications ------------------------------------------------------------------
# Each consumer of TalentCertified, its inbox handler name, and the SQL that counts its effects on
# the run's talents: (events, distinct effects) among the events whose ids are given.
CONSUMERS = {
    "subsidies": (
        "on_talent_certified",
        "SubsidyGranted",
        "SELECT count(*), count(DISTINCT stream_id) FROM events"
        " WHERE event_type = 'SubsidyGranted' AND payload->>'talent_id' LIKE %s",
    ),
    "assessment": (
        "on_talent_certified",
        "TenureOpened",
        "SELECT count(*), count(DISTINCT stream_id) FROM events"
        " WHERE event_type = 'TenureOpened' AND payload->>'talent_id' LIKE %s",
    ),
    # NotificationRecorded per (source event, recipient, channel): a second effect of one source
    # event would repeat a recipient
    "notifications": (
        "on_applications_TalentCertified",
        "NotificationRecorded",
        "SELECT count(DISTINCT payload->>'source_event_id') + count(*)"
        " - count(DISTINCT (payload->>'source_event_id', payload->>'recipient',"
        " payload->>'channel')), count(DISTINCT payload->>'source_event_id')"
        " FROM events WHERE event_type = 'NotificationRecorded'"
        " AND payload->>'source_event_type' = 'TalentCertified'"
        " AND payload->>'body' LIKE %s",
    ),
}


def certified(i, run):
    today = dt.date(2026, 11, 23)
    return NewEvent(
        "TalentCertified",
        {
            "talent_id": f"talent-{run}-{i}",
            "application_id": f"app-{run}-{i}",
            "applicant_name": f"申报人{run}-{i}",
            "county": "楚雄市",
            "category": "LT-6.3",
            "track": "seller",
            "baseline_year": 2025,
            "baseline": {"sales_fen": 300_000_000},
            "period_start": today,
            "period_end": dt.date(2029, 11, 22),
        },
        ("LT-9.5", "LT-10"),
    )


STREAM_APP = "fault-stream"  # the stream's own sessions, spared by terminate_connections


class Stream:
    """Append ``n`` TalentCertified to the applications store, ``rate`` a second, in a thread; the
    applications service's relay publishes them as they land. ``ids``: the event ids appended."""

    def __init__(self, system, run, n, rate=150.0):
        self.system, self.run, self.n, self.rate = system, run, n, rate
        self.ids = []
        self.errors = []
        self.done = threading.Event()  # (set at the end: on this box a finished thread's
        # is_alive() can stay True, so join() is not relied on)
        self.thread = threading.Thread(target=self._append, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.join()
        return False

    def join(self, timeout=120):
        assert self.done.wait(timeout), "the stream of certifications did not finish"
        assert not self.errors, self.errors

    def _append(self):
        store = EventStore(
            Database(self.system.dsn("applications"), application_name=STREAM_APP), "applications"
        )
        meta = Metadata("fault-test", "system", f"faults-{self.run}")
        start = time.monotonic()
        try:
            for i in range(self.n):
                recorded = store.append(
                    "application",
                    f"application-{self.run}-{i}",
                    None,
                    [certified(i, self.run)],
                    meta,
                )
                self.ids.append(recorded[0].event_id)
                pause = start + (i + 1) / self.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        except Exception as exc:  # noqa: BLE001 - reported by join()
            self.errors.append(repr(exc))
        finally:
            store.db.close()
            self.done.set()


# -- counting --------------------------------------------------------------------------------------
def connect(dsn, attempts=20):
    """A connection for the test's own counting; a server out of connection slots for a moment
    (a shared PostgreSQL, other test systems running) is asked again."""
    for attempt in range(attempts):
        try:
            return psycopg2.connect(dsn)
        except psycopg2.OperationalError as exc:
            if "too many clients" not in str(exc) and "connection slots" not in str(exc):
                raise
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


def query(dsn, sql, args=()):
    conn = connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


def handled(system, svc, ids):
    """How many of the events ``ids`` the consumer's inbox recorded as handled."""
    handler = CONSUMERS[svc][0]
    return query(
        system.dsn(svc),
        "SELECT count(*) FROM inbox WHERE handler = %s AND event_id = ANY(%s::uuid[])",
        (handler, list(ids)),
    )[0][0]


def effects(system, svc, run):
    """(effects, distinct effects) of the run's certifications in ``svc``'s store."""
    pattern = f"%{run}-%"
    return tuple(query(system.dsn(svc), CONSUMERS[svc][2], (pattern,))[0])


def log_lines(path, event, ids=None):
    """The JSON log lines of ``event`` in ``path`` (about one of ``ids``, if given)."""
    found = []
    try:
        with open(path, "rb") as f:
            for line in f:
                if event.encode() not in line:
                    continue
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if rec.get("event") == event and (ids is None or rec.get("event_id") in ids):
                    found.append(rec)
    except FileNotFoundError:
        pass
    return found


def wait_until(fn, done, timeout=90.0, every=0.25):
    """Call ``fn`` until ``done(result)`` or ``timeout``; the last result."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if done(got) or time.monotonic() > deadline:
            return got
        time.sleep(every)


def settle(system, svc, run, ids, timeout=90.0):
    """Wait until ``svc`` has an effect for each of the ``ids`` and the inbox handled them all;
    return the counts: sent, handled, duplicates dropped, lost, doubled."""
    n = len(ids)
    wait_until(
        lambda: (handled(system, svc, ids), effects(system, svc, run)),
        lambda got: got[0] >= n and got[1][1] >= n,
        timeout,
    )
    time.sleep(1.0)  # let a late redelivery show itself as a duplicate (or as a double effect)
    total, distinct = effects(system, svc, run)
    id_set = set(ids)
    counts = {
        "sent": n,
        "handled": handled(system, svc, ids),
        "duplicates_dropped": len(
            log_lines(system.log_path(svc), "event_duplicate_dropped", id_set)
        ),
        "lost": n - distinct,
        "doubled": total - distinct,
    }
    return counts


def report(label, counts):
    print(f"\n[{label}] " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)


def assert_exactly_once(counts):
    assert counts["lost"] == 0, f"lost {counts['lost']} of {counts['sent']}: {counts}"
    assert counts["doubled"] == 0, f"{counts['doubled']} handled twice in effect: {counts}"
    assert counts["handled"] == counts["sent"], counts


def fund_the_grants(client, grants=100_000):
    """LT-10.1 grants are charged to prefecture finance's budget (without room they queue):
    finance sets one with room for ``grants`` of them."""
    client.call(
        "POST",
        "subsidies",
        "/funds/prefecture_finance/2026/budget",
        "finance",
        json={"amount_fen": grants * 5_000_000, "reference": "faults"},
    )


# -- PostgreSQL: cut the services' connections -----------------------------------------------------
def terminate_connections(admin_dsn, dbnames, timeout_ms=5000):
    """``pg_terminate_backend`` every session on ``dbnames`` but this one and the test stream's,
    each waiting up to ``timeout_ms`` for the backend to end; the number terminated."""
    rows = query(
        admin_dsn,
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, %s))"
        " FROM pg_stat_activity WHERE datname = ANY(%s) AND pid <> pg_backend_pid()"
        " AND application_name <> %s",
        (timeout_ms, list(dbnames), STREAM_APP),
    )
    return rows[0][0]


# -- RabbitMQ: a node of the test's own ------------------------------------------------------------
def rabbitmq_server_command():
    """The broker's own start script (the /usr/sbin wrapper would switch to the rabbitmq user),
    or None where RabbitMQ is not installed."""
    for candidate in ("/usr/lib/rabbitmq/bin/rabbitmq-server", shutil.which("rabbitmq-server")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


class PrivateRabbit:
    """A RabbitMQ node of its own (own name, AMQP and distribution ports, data and logs in a temp
    dir, no plugins), so a test can stop and start a broker nobody else uses. Its data survive a
    restart, as a real broker's do."""

    def __init__(self):
        self.command = rabbitmq_server_command()
        self.dir = Path(tempfile.mkdtemp(prefix="talent-faults-rabbit-"))
        self.port, self.dist_port = free_port(), free_port()
        self.nodename = f"talent-faults-{self.port}@localhost"
        self.proc = None
        self.log = None
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        (self.dir / "enabled_plugins").write_text("[].\n")

    @property
    def uri(self):
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def env(self):
        d = str(self.dir)
        return dict(
            os.environ,
            HOME=d,
            RABBITMQ_NODENAME=self.nodename,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=f"{d}/mnesia",
            RABBITMQ_LOG_BASE=f"{d}/log",
            RABBITMQ_CONFIG_FILE=f"{d}/rabbitmq.conf",
            RABBITMQ_CONF_ENV_FILE=f"{d}/rabbitmq-env.conf",
            RABBITMQ_ENABLED_PLUGINS_FILE=f"{d}/enabled_plugins",
            RABBITMQ_PID_FILE=f"{d}/rabbit.pid",
            ERL_EPMD_ADDRESS="127.0.0.1",
        )

    def start(self, timeout=90):
        self.log = open(self.dir / "server.out", "ab")
        self.proc = subprocess.Popen(
            [self.command], cwd=self.dir, env=self.env(), stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with kombu.Connection(self.uri, connect_timeout=1) as conn:
                    conn.connect()
                return
            except Exception:  # noqa: BLE001 - not up yet
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"private RabbitMQ did not start: {self.dir}/server.out"
                    ) from None
                time.sleep(0.25)

    def _beam(self):
        """The Erlang VM the start script runs (the script waits on it)."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            return [int(p) for p in children.split()]
        except (FileNotFoundError, ProcessLookupError):
            return []

    def stop(self, timeout=60):
        """Stop the node gracefully (SIGTERM to its VM, as ``rabbitmqctl stop`` would)."""
        if self.proc is None:
            return
        for pid in self._beam() or [self.proc.pid]:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in self._beam():
                os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.log.close()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- RabbitMQ: a three-node cluster of the test's own (deploy/rabbitmq/cluster.sh) ---------------
CLUSTER_SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "cluster.sh"


def free_port_run(n):
    """The first of ``n`` consecutive TCP ports free now (below the ephemeral range)."""
    for _ in range(50):
        first = free_port()
        ok = True
        for port in range(first + 1, first + n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return first
    raise RuntimeError(f"no {n} consecutive free ports")


class RabbitCluster:
    """Three RabbitMQ nodes clustered on this host by ``deploy/rabbitmq/cluster.sh``, with a name,
    ports and a folder of this test's own; ``close`` stops them and removes the folder."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="talent-faults-cluster-"))
        self.base = free_port_run(3)
        self.env = dict(
            os.environ,
            TALENT_RMQ_CLUSTER_DIR=str(self.dir),
            TALENT_RMQ_CLUSTER_NAME=f"talent-faults-{self.base}",
            TALENT_RMQ_BASE_PORT=str(self.base),
            TALENT_RMQ_DIST_BASE=str(free_port_run(3)),
        )

    def script(self, *args, timeout=300):
        done = subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cluster.sh {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def start(self):
        self.script("start")

    @property
    def uri(self):
        return self.script("uri").strip()

    def kill(self, n):
        self.script("kill", str(n))

    def start_node(self, n):
        self.script("start-node", str(n))

    def connections(self):
        """How many client connections each node (1-3) holds, as a running node sees them (a
        connection's name ends with the node's AMQP port: ``client:port -> 127.0.0.1:port``)."""
        for n in (1, 2, 3):
            try:
                out = self.script("ctl", str(n), "list_connections", "name", timeout=60)
            except RuntimeError:  # that node is down: ask another
                continue
            ports = [line.rsplit(":", 1)[-1].strip() for line in out.splitlines() if "->" in line]
            return {m: ports.count(str(self.base + m - 1)) for m in (1, 2, 3)}
        raise RuntimeError("no node of the cluster answers")

    def close(self):
        try:
            self.script("stop", "--purge")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
