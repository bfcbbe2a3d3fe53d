"""A real Prometheus (Debian's package) scraping the four running services with the rules of
deploy/prometheus/rules/: every service is up and ready, its relay lag and store size arrive, and
TalentServiceDown fires for notifications once it is stopped and resolves when it is back.

Prometheus runs on a port and a data directory of its own (var/prometheus-<id>/), scrapes and
evaluates every second, and is stopped and its directory removed afterwards."""

import shutil
import subprocess
import uuid

import pytest
import requests
import yaml

from tests.support.system import ROOT, SERVICES, free_port, running_system
from tests.support.waiting import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="prometheus missing (Debian package prometheus): bash deploy/local/tools.sh",
    ),
]
RULES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))


@pytest.fixture(scope="module")
def system():
    yield from running_system(log_prefix="prometheus")


@pytest.fixture(scope="module")
def prometheus(system):
    home = ROOT / "var" / f"prometheus-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in RULES],
        "scrape_configs": [
            {
                "job_name": "talent",
                "honor_labels": True,
                "static_configs": [
                    {"targets": [f"127.0.0.1:{system.ports[svc]}"], "labels": {"service": svc}}
                    for svc in SERVICES
                ],
            }
        ],
    }
    (home / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log = open(home / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready():
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited; see {home / 'prometheus.log'}")
            try:
                return requests.get(url + "/-/ready", timeout=1).ok
            except requests.ConnectionError:
                return False

        wait_for(ready, "Prometheus ready", timeout=60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def query(url, expr):
    """{service: value} of an instant query."""
    response = requests.get(url + "/api/v1/query", params={"query": expr}, timeout=5)
    response.raise_for_status()
    return {
        r["metric"].get("service", ""): float(r["value"][1])
        for r in response.json()["data"]["result"]
    }


def alerts(url, name):
    """{service: state} of the alerts named ``name`` Prometheus holds now."""
    response = requests.get(url + "/api/v1/alerts", timeout=5)
    response.raise_for_status()
    return {
        a["labels"].get("service"): a["state"]
        for a in response.json()["data"]["alerts"]
        if a["labels"]["alertname"] == name
    }


def test_prometheus_scrapes_the_services_and_records_their_series(prometheus):
    every = dict.fromkeys(SERVICES, 1.0)
    wait_for(lambda: query(prometheus, "talent:replicas_up:sum") == every, "all four up", 60)
    wait_for(lambda: query(prometheus, "talent:replicas_ready:sum") == every, "all ready", 60)
    # the relay's lag and the store's size are read from each service's database at scrape time
    wait_for(
        lambda: set(query(prometheus, "talent:relay_lag_seconds:max")) == set(SERVICES),
        "relay lag of every service",
        30,
    )
    sizes = wait_for(
        lambda: query(prometheus, 'talent:event_store_bytes:max{what="table"}'), "store sizes", 30
    )
    assert set(sizes) == set(SERVICES) and all(v > 0 for v in sizes.values())
    assert set(query(prometheus, "talent_recoveries_overdue")) == {"subsidies"}
    assert query(prometheus, "talent:relay_leaders:sum") == every
    assert alerts(prometheus, "TalentServiceDown") == {}


def test_service_down_fires_when_notifications_stops_and_resolves_when_it_is_back(
    system, prometheus
):
    wait_for(
        lambda: query(prometheus, "talent:replicas_up:sum").get("notifications") == 1.0,
        "notifications up",
        60,
    )
    system.stop("notifications")
    try:
        # pending at once, firing after the rule's `for: 1m`
        wait_for(
            lambda: alerts(prometheus, "TalentServiceDown").get("notifications") == "pending",
            "TalentServiceDown pending for notifications",
            30,
            interval=0.5,
        )
        wait_for(
            lambda: alerts(prometheus, "TalentServiceDown").get("notifications") == "firing",
            "TalentServiceDown firing for notifications",
            120,
            interval=1,
        )
        # the other three stay quiet
        assert set(alerts(prometheus, "TalentServiceDown")) == {"notifications"}
    finally:
        system.start("notifications")
        system.wait_ready(["notifications"])
    wait_for(
        lambda: "notifications" not in alerts(prometheus, "TalentServiceDown"),
        "TalentServiceDown resolved",
        60,
        interval=0.5,
    )
    assert query(prometheus, "talent:replicas_up:sum")["notifications"] == 1.0
