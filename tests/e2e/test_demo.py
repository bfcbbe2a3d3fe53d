"""`make demo` (deploy/local/demo.sh) walks one application through a demo system of its own, and
does so however often it runs: each run starts from empty demo databases and a new vhost; the
real system's databases are not touched."""

import os
import re
import shutil
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest

from shared.config import dsn_for
from shared.db import drop_database
from tests.support import system as support
from tests.support.system import ADMIN, ROOT, SERVICES, free_port


def _can_run_rabbitmqctl():
    if shutil.which("rabbitmqctl") is None:
        return False
    if os.geteuid() == 0:
        return True
    return shutil.which("sudo") is not None and (
        subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
    )


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not _can_run_rabbitmqctl(),
        reason="the demo makes its vhost with rabbitmqctl, as root or with password-less sudo",
    ),
]


def count(db, sql="SELECT count(*) FROM events", args=()):
    """The answer of ``sql`` in ``db``, None where the database or its table does not exist."""
    try:
        conn = psycopg2.connect(dsn_for(db))
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()[0]
    except psycopg2.Error:
        return None
    finally:
        conn.close()


def stop_left_running(name):
    """Stop demo services a run left behind (a run killed at its timeout skips its own stop)."""
    for svc in SERVICES:
        pid_file = ROOT / "var" / "run" / f"{name}-{svc}.pid"
        try:
            pid = int(pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if f"services.{svc}.service".encode() in cmdline:
            os.kill(pid, signal.SIGTERM)
        pid_file.unlink(missing_ok=True)


def four_free_ports():
    """A base port whose four successors (the demo's ports) are free now, and are never handed
    out by free_port() afterwards in this test run."""
    for _ in range(50):
        base = free_port()
        ports = [base + i for i in range(1, 5)]
        try:
            for p in ports:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        support._GIVEN.update(ports)  # noqa: SLF001 - the ports free_port() must not hand out
        return base
    raise RuntimeError("no four free ports in a row")


def test_demo_runs_twice_on_its_own_databases_and_leaves_the_real_ones_alone():
    name = f"demotest{uuid.uuid4().hex[:6]}"
    walked = []
    env = dict(os.environ, TALENT_DEMO_NAME=name, TALENT_DEMO_PORT_BASE=str(four_free_ports()))
    for svc in SERVICES:  # the real system's settings, which the demo must not use
        env.pop(f"{svc.upper()}_DB", None)
        env.pop(f"{svc.upper()}_HTTP", None)
    try:
        for run in (1, 2):
            result = subprocess.run(
                ["bash", "deploy/local/demo.sh"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, f"run {run}:\n{result.stdout}\n{result.stderr}"
            assert "SubsidyRecovered" in result.stdout
            walked += re.findall(r"talent-[0-9a-f-]{36}", result.stdout)[:1]
            # a fresh demo each time: one application, one grant recovered
            submitted = count(
                f"talent_{name}_applications",
                "SELECT count(*) FROM events WHERE event_type = 'ApplicationSubmitted'",
            )
            assert submitted == 1, f"run {run}: {submitted} applications in the demo store"
            assert count(f"talent_{name}_notifications") > 0
        # the real stores (where they exist on this host) hold nothing of the demo's talents
        assert len(walked) == 2 and walked[0] != walked[1]
        for svc in SERVICES:
            found = count(
                f"talent_{svc}",
                "SELECT count(*) FROM events WHERE payload::text LIKE ANY(%s)",
                ([f"%{t}%" for t in walked],),
            )
            assert found in (None, 0), f"talent_{svc} holds events of the demo"
    finally:
        stop_left_running(name)
        for svc in SERVICES:
            drop_database(ADMIN, f"talent_{name}_{svc}")
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", f"talent-{name}"], capture_output=True)
