"""The assessment service of a running test system (tests/support/system.py) started on a pinned
date: ``nameko run`` with tests/support/assessment_pinned_clock.yaml and ``CLOCK_TODAY``, so a test
can walk a tenure's years by restarting the service on each new date (shared/clock.py). A second
replica on the same database is started under another name (its own HTTP port and log)."""

import subprocess

from tests.support.system import NAMEKO, ROOT, free_port

CONFIG = "tests/support/assessment_pinned_clock.yaml"
STAND_IN_SCHEDULE = ROOT / "tests" / "support" / "working_days_stand_in.yaml"


def start_assessment_on(system, today, *, name="assessment", timer_seconds=None):
    """(Re)start replica ``name`` of the assessment service deciding as if it were ``today``
    (with the stand-in working days of the years the calendar library does not know); returns
    its base URL once it answers /health/ready."""
    if name in system.procs:
        system.stop(name)
    port = system.ports.get(name) or free_port()
    system.ports[name] = port
    system.urls[name] = f"http://127.0.0.1:{port}"
    env = dict(
        system.env(),
        CLOCK_TODAY=today.isoformat(),
        ASSESSMENT_HTTP=f"127.0.0.1:{port}",
        WORKING_DAY_OVERRIDES=str(STAND_IN_SCHEDULE),
    )
    if timer_seconds is not None:
        env["ASSESSMENT_DEADLINE_TIMER_SECONDS"] = str(timer_seconds)
    log = open(ROOT / "var" / "log" / f"e2e-{name}.log", "ab")
    system.logs[name] = log
    system.procs[name] = subprocess.Popen(
        [NAMEKO, "run", "--config", CONFIG, "services.assessment.service"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    system.wait_ready([name])
    return system.urls[name]
