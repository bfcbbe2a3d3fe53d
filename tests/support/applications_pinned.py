"""The applications service of a running test system (tests/support/system.py) (re)started on a
pinned date (``CLOCK_TODAY``, shared/clock.py) and, if given, a ``WORKING_DAY_OVERRIDES`` value,
as an operator would configure them: ``nameko run`` with
tests/support/applications_pinned_clock.yaml and the environment."""

import subprocess
import time

from tests.support.system import NAMEKO, ROOT, free_port

CONFIG = "tests/support/applications_pinned_clock.yaml"


def start_applications_on(system, today, *, overrides="", wait=True):
    """(Re)start the applications service deciding as if it were ``today``, with
    ``WORKING_DAY_OVERRIDES=overrides``; returns its base URL once it answers /health/ready
    (``wait=False``: the process, which may refuse to start)."""
    if "applications" in system.procs:
        system.stop("applications")
    port = free_port()
    system.ports["applications"] = port
    system.urls["applications"] = f"http://127.0.0.1:{port}"
    env = dict(
        system.env(),
        CLOCK_TODAY=today.isoformat(),
        WORKING_DAY_OVERRIDES=overrides,
        APPLICATIONS_HTTP=f"127.0.0.1:{port}",
    )
    log = open(ROOT / "var" / "log" / "e2e-applications.log", "ab")
    system.logs["applications"] = log
    system.procs["applications"] = subprocess.Popen(
        [NAMEKO, "run", "--config", CONFIG, "services.applications.service"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    if wait:
        system.wait_ready(["applications"])
        return system.urls["applications"]
    return system.procs["applications"]


def exit_code(proc, timeout=30):
    """The exit code of a process expected to stop by itself (None if it is still running)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return proc.poll()
