"""The four services as separate ``nameko run`` processes, on throw-away databases and a test
run's RabbitMQ vhost (used by tests/e2e, tests/faults and anything else that needs them)."""

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
import warnings
from pathlib import Path

import requests

from shared.config import dsn_for
from shared.db import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("applications", "subsidies", "assessment", "notifications")
ADMIN = dsn_for("postgres")
NAMEKO = str(Path(sys.executable).with_name("nameko"))


DEFAULT_AMQP = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def throwaway_secrets():
    """The services refuse to start without strong secrets: a run of throw-away services makes its
    own (the services it starts inherit them, talent_client signs with ``AUTH_SECRET``); values
    set outside are kept. Its webhook receivers listen on 127.0.0.1, which services refuse as a
    target unless named."""
    for key in ("AUTH_SECRET", "PERSON_KEY_SECRET", "WEBHOOK_SIGNING_KEY"):
        os.environ.setdefault(key, secrets.token_urlsafe(32))
    os.environ.setdefault("WEBHOOK_ALLOWED_TARGETS", "127.0.0.1")


def _rabbitmqctl(*args):
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def rabbitmq_vhost(label):
    """An AMQP URI on a virtual host of its own (deleted afterwards), so durable queues of one
    test system never feed another; the default vhost where ``rabbitmqctl`` is not usable."""
    vhost = f"talent-test-{label}-{uuid.uuid4().hex[:8]}"
    if shutil.which("rabbitmqctl") and _rabbitmqctl("add_vhost", vhost).returncode == 0:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        parts = urllib.parse.urlsplit(DEFAULT_AMQP)
        try:
            yield urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(vhost, "")))
        finally:
            _rabbitmqctl("delete_vhost", vhost)
    else:
        warnings.warn("rabbitmqctl unavailable: tests use the default RabbitMQ vhost", stacklevel=2)
        yield DEFAULT_AMQP


_PORTS = random.SystemRandom()  # not the module's generator, which tests may seed
_GIVEN = set()  # every port free_port() has handed out in this process


def free_port():
    """A TCP port free now, chosen below the kernel's ephemeral range. A port the kernel hands
    out for ``bind(0)`` is one it may give any outgoing connection (to PostgreSQL, RabbitMQ)
    before the service binds it, and the service then fails to start. Never the same port twice
    in one test run: a system picks its four ports before any service binds one, and two services
    given one port looked like one ready service answering for both (a 404 from the wrong one)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = _PORTS.randrange(max(1025, low - 16384), low)
        if port in _GIVEN:  # free, but maybe promised to a service that has not bound it yet
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError(f"no free port below the ephemeral range (starting at {low})")


class System:
    """Running services: their URLs, databases and processes."""

    def __init__(self, amqp_uri, tag, log_prefix="e2e"):
        self.amqp_uri = amqp_uri
        self.log_prefix = log_prefix  # var/log/<prefix>-<name>.log
        self.started = set()
        self.dbs = {svc: f"talent_e2e_{svc}_{tag}" for svc in SERVICES}
        self.ports = {svc: free_port() for svc in SERVICES}
        self.urls = {svc: f"http://127.0.0.1:{p}" for svc, p in self.ports.items()}
        self.procs = {}
        self.logs = {}

    def env(self):
        env = dict(os.environ, AMQP_URI=self.amqp_uri, PYTHONUNBUFFERED="1")
        for svc in SERVICES:
            env[f"{svc.upper()}_DB"] = self.dbs[svc]
            env[f"{svc.upper()}_HTTP"] = f"127.0.0.1:{self.ports[svc]}"
        return env

    def dsn(self, svc):
        return dsn_for(self.dbs[svc])

    def start(self, svc, name=None):
        """Start ``svc``; with ``name``, a further replica of it (same database and vhost, its
        own HTTP port, log and entry in ``procs``/``urls``)."""
        name = name or svc
        env = self.env()
        if name != svc:
            self.ports.setdefault(name, free_port())
            self.urls[name] = f"http://127.0.0.1:{self.ports[name]}"
            env[f"{svc.upper()}_HTTP"] = f"127.0.0.1:{self.ports[name]}"
        # a restarted process appends, so a log tells a killed process's story and its successor's
        log = open(self.log_path(name), "ab" if name in self.started else "wb")
        self.started.add(name)
        self.logs[name] = log
        self.procs[name] = subprocess.Popen(
            [NAMEKO, "run", "--config", f"services/{svc}/config.yaml", f"services.{svc}.service"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def log_path(self, name):
        return ROOT / "var" / "log" / f"{self.log_prefix}-{name}.log"

    def wait_ready(self, services=SERVICES, timeout=60):
        deadline = time.monotonic() + timeout
        for svc in services:
            while True:
                try:
                    if requests.get(self.urls[svc] + "/health/ready", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                if self.procs[svc].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{svc} did not become ready; see {self.log_path(svc)}")
                time.sleep(0.2)

    def stop(self, svc, sig=signal.SIGTERM, timeout=20):
        proc = self.procs.pop(svc)
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.logs.pop(svc).close()


def running_system(amqp_uri=None, services=SERVICES, log_prefix="e2e"):
    """Start ``services`` on fresh databases and a fresh RabbitMQ vhost; a generator for fixtures
    (stops, drops and deletes after). ``amqp_uri`` is accepted for older callers and ignored."""
    with rabbitmq_vhost("sys") as uri:
        yield from _running_system(uri, services, log_prefix)


def _running_system(amqp_uri, services, log_prefix="e2e"):
    throwaway_secrets()
    (ROOT / "var" / "log").mkdir(parents=True, exist_ok=True)
    sysm = System(amqp_uri, uuid.uuid4().hex[:8], log_prefix)
    admin = dsn_for("postgres")  # (TALENT_PG_DSN_BASE as of now: a test may point it elsewhere)
    for db in sysm.dbs.values():
        create_database(admin, db, drop_first=True)
    try:
        for svc in services:
            sysm.start(svc)
        sysm.wait_ready(services)
        yield sysm
    finally:
        for svc in list(sysm.procs):
            sysm.stop(svc)
        for db in sysm.dbs.values():
            drop_database(admin, db)
