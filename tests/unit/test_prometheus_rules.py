"""deploy/prometheus/ and deploy/grafana/ checked offline: the rules pass ``promtool check
rules`` and their unit tests (``promtool test rules``: each alert fires on its series after its
``for`` and stays quiet below its threshold); the scrape configuration passes ``promtool check
config``; every alert has a test that fires it and a runbook section; every series the rules and
the dashboard read is one the services export or the recording rules record."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared import metrics

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
RULES = sorted((PROM / "rules").glob("*.yml"))
DASHBOARD = ROOT / "deploy" / "grafana" / "talent-services.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool missing (Debian package prometheus): bash deploy/local/tools.sh installs it",
)


def promtool(*args):
    return subprocess.run(
        [PROMTOOL, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def groups():
    for path in RULES:
        yield from yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]


def rules(kind):
    return [rule for group in groups() for rule in group["rules"] if kind in rule]


@needs_promtool
def test_rules_pass_promtool_check():
    result = promtool("check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_rules_pass_their_unit_tests():
    result = promtool("test", "rules", *map(str, sorted((PROM / "tests").glob("*.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_a_broken_expectation_fails_the_unit_tests(tmp_path):
    """The rule tests can fail: the same tests with one threshold crossed the other way."""
    test = yaml.safe_load((PROM / "tests" / "alerts-test.yml").read_text(encoding="utf-8"))
    test["rule_files"] = [str(p) for p in RULES]
    alerts = yaml.safe_load((PROM / "rules" / "talent-alerts.yml").read_text(encoding="utf-8"))
    for group in alerts["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == "TalentRelayLagHigh":
                rule["expr"] = rule["expr"].replace("> 60", "> 600")
    (tmp_path / "talent-alerts.yml").write_text(yaml.safe_dump(alerts), encoding="utf-8")
    test["rule_files"] = [str(PROM / "rules" / "talent-recording.yml"), "talent-alerts.yml"]
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test), encoding="utf-8")
    result = subprocess.run(
        [PROMTOOL, "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "TalentRelayLagHigh" in result.stdout + result.stderr


@needs_promtool
def test_compose_scrape_configuration_passes_promtool_check(tmp_path):
    result = promtool("check", "config", str(PROM / "compose.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_scrape_configuration_keeps_annotated_pods_as_job_talent():
    """Debian's promtool is built without Kubernetes discovery, so this one is read, not run."""
    config = yaml.safe_load((PROM / "kubernetes.yml").read_text(encoding="utf-8"))
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "talent"
    relabel = {tuple(r.get("source_labels", ())): r for r in job["relabel_configs"]}
    keep = relabel[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)]
    assert keep["action"] == "keep" and keep["regex"] == "true"
    service = relabel[("__meta_kubernetes_pod_label_app_kubernetes_io_name",)]
    assert service["target_label"] == "service"


def test_the_alerts_the_operators_need_are_there():
    names = {rule["alert"] for rule in rules("alert")}
    assert {
        "TalentServiceDown",  # a service not ready / not answering / gone
        "TalentServiceMissing",
        "TalentServiceNotReady",
        "TalentRelayLagHigh",
        "TalentDeadLettersRising",
        "TalentHandlerFailures",
        "TalentRecoveryOverdue",
        "TalentEventStoreDiskLow",
        "TalentEventStoreDiskFillingUp",
    } <= names
    for rule in rules("alert"):
        assert rule["labels"]["severity"] in {"critical", "warning", "ticket"}, rule["alert"]


def test_every_alert_fires_in_its_unit_test_and_has_a_runbook_section():
    fired = {
        case["alertname"]
        for path in (PROM / "tests").glob("*.yml")
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in block["alert_rule_test"]
        if case["exp_alerts"]
    }
    runbook = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in runbook.splitlines()
        if line.startswith("#")
    }
    for rule in rules("alert"):
        assert rule["alert"] in fired, f"no test makes {rule['alert']} fire"
        link = rule["annotations"]["runbook"]
        assert link.startswith("deploy/README.md#")
        assert link.split("#", 1)[1] in anchors, f"{rule['alert']}: no section {link}"


def exported_names():
    """Every series name the services' registry can expose (histograms as their parts)."""
    names = set()
    for collector in metrics.REGISTRY._collector_to_names:  # noqa: SLF001 - the one registry
        for family in collector.describe():
            base = family.name
            if family.type == "counter":
                names.add(base + "_total")
            elif family.type == "histogram":
                names.update(base + s for s in ("_bucket", "_sum", "_count"))
            else:
                names.add(base)
    return names


def series_in(expr):
    return set(re.findall(r"\b((?:talent|node)[a-z0-9_:]*)(?=\s*[{\[)\s]|$)", expr))


def test_rules_and_dashboard_read_only_series_that_exist():
    recorded = {rule["record"] for rule in rules("record")}
    exported = exported_names()
    node = {"node_filesystem_avail_bytes", "node_filesystem_size_bytes"}
    exprs = [rule["expr"] for rule in rules("record")] + [rule["expr"] for rule in rules("alert")]
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    dashboard_exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]
    assert dashboard_exprs
    for expr in exprs + dashboard_exprs:
        for name in series_in(expr):
            if name.startswith("talent_notification") or name.startswith("talent_"):
                assert name in exported, (
                    f"{name} (in {expr!r}) is not a metric of shared/metrics.py"
                )
            elif ":" in name:
                assert name in recorded, f"{name} (in {expr!r}) is not a recording rule"
            else:
                assert name in node, name


def test_dashboard_has_a_panel_for_each_concern_and_a_service_variable():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for word in ("ready", "relay lag", "dead letters", "handler", "deliveries", "event store"):
        assert word in titles, word
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "service"} <= variables
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
