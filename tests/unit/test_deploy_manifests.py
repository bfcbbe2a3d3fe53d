"""deploy/ validated offline: the Kubernetes manifests against the schemas kubernetes-validate
bundles (strict: an unknown field fails), the operators' custom resources against the subsets in
tests/support/schemas/, the Compose file against the compose-spec schema check-jsonschema
vendors; and what the issue asks of them (replicas, probes on /health/*, resources, a config and a
secret per service, quorum queues), with every variable a manifest sets being one the service's
config.yaml reads."""

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = ROOT / "tests" / "support" / "schemas"
SERVICES = ("applications", "subsidies", "assessment", "notifications")
K8S_VERSION = "1.33.0"
CUSTOM = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmqcluster.json",
    ("rabbitmq.com/v1beta1", "Policy"): "rabbitmq-policy.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster.json",
}


def documents():
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                docs.append((path.name, doc))
    return docs


def by_kind(kind, name=None):
    return [
        d
        for _, d in documents()
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def config_variables(svc):
    text = (ROOT / "services" / svc / "config.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"\$\{([A-Z0-9_]+)", text))


@pytest.mark.parametrize(
    "name,doc", documents(), ids=lambda v: v if isinstance(v, str) else v.get("kind")
)
def test_every_manifest_validates(name, doc):
    custom = CUSTOM.get((doc["apiVersion"], doc["kind"]))
    if custom:
        schema = json.loads((SCHEMAS / custom).read_text(encoding="utf-8"))
        jsonschema.validate(doc, schema)
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert doc["metadata"].get("namespace", "chuxiong-talent") == "chuxiong-talent"


def test_a_bad_manifest_is_refused():
    deployment = by_kind("Deployment", "assessment")[0]
    bad = json.loads(json.dumps(deployment))
    bad["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)
    cluster = json.loads(json.dumps(by_kind("Cluster")[0]))
    del cluster["spec"]["instances"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cluster, json.loads((SCHEMAS / "cnpg-cluster.json").read_text()))


@pytest.mark.parametrize("svc", SERVICES)
def test_each_service_has_deployment_probes_resources_config_secret_service(svc):
    (deployment,) = by_kind("Deployment", svc)
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][-1] == f"services.{svc}.service"  # the entrypoint runs first
    assert "command" not in container
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and {
        "cpu",
        "memory",
    } <= set(container["resources"]["limits"])
    assert pod["terminationGracePeriodSeconds"] >= 30  # nameko finishes running workers
    refs = {(k, v["name"]) for ref in container["envFrom"] for k, v in ref.items()}
    assert refs == {("configMapRef", f"{svc}-config"), ("secretRef", f"{svc}-secret")}
    (config,) = by_kind("ConfigMap", f"{svc}-config")
    (secret,) = by_kind("Secret", f"{svc}-secret")
    (service,) = by_kind("Service", svc)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    variables = (
        set(config["data"])
        | set(secret["stringData"])
        | {e["name"] for e in container.get("env", ())}
    )
    assert variables <= config_variables(svc), variables - config_variables(svc)
    assert {"AMQP_URI", "TALENT_PG_DSN_BASE", "AUTH_SECRET"} <= set(secret["stringData"])
    assert config["data"][f"{svc.upper()}_HTTP"].endswith(":8000")
    # the runtime role (shared/store/schema.py): created by CloudNativePG from its secret, its
    # password handed to the service
    (role,) = by_kind("Secret", f"{svc}-db-role")
    assert role["stringData"]["username"] == config["data"][f"{svc.upper()}_DB_ROLE"]
    (password,) = [e for e in container["env"] if e["name"] == f"{svc.upper()}_DB_ROLE_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"] == {"name": f"{svc}-db-role", "key": "password"}
    managed = {
        r["name"]: r["passwordSecret"]["name"]
        for r in by_kind("Cluster")[0]["spec"]["managed"]["roles"]
    }
    assert managed[role["stringData"]["username"]] == f"{svc}-db-role"


def test_broker_and_database_come_from_their_operators_with_quorum_queues():
    (rabbit,) = by_kind("RabbitmqCluster")
    assert rabbit["spec"]["replicas"] >= 3
    assert "default_queue_type = quorum" in rabbit["spec"]["rabbitmq"]["additionalConfig"]
    (policy,) = by_kind("Policy")
    assert policy["spec"]["rabbitmqClusterReference"]["name"] == rabbit["metadata"]["name"]
    (pg,) = by_kind("Cluster")
    assert pg["spec"]["instances"] >= 2
    databases = {pg["spec"]["bootstrap"]["initdb"]["database"]} | {
        sql.split()[2] for sql in pg["spec"]["bootstrap"]["initdb"]["postInitSQL"]
    }
    assert databases == {f"talent_{svc}" for svc in SERVICES}


def compose():
    return yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_file_validates_against_the_compose_spec():
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    jsonschema.validate(compose(), schema)
    bad = compose()
    bad["services"]["assessment"]["deploy"]["replica"] = 2  # a typo: not a compose key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_compose_runs_postgres_rabbitmq_and_each_service_with_replicas_and_readiness():
    services = compose()["services"]
    assert {"postgres", "rabbitmq", *SERVICES} <= set(services)
    for svc in SERVICES:
        spec = services[svc]
        assert spec["deploy"]["replicas"] >= 2
        assert "/health/ready" in " ".join(spec["healthcheck"]["test"])
        assert spec["command"][-1] == f"services.{svc}.service"
        assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert spec["environment"][f"{svc.upper()}_HTTP"] == "0.0.0.0:8000"
        # NAME_FILE becomes NAME in the image's entrypoint; PGPASSWORD is libpq's own
        names = {re.sub(r"_FILE$", "", name) for name in spec["environment"]} - {"PGPASSWORD"}
        assert names <= config_variables(svc), names - config_variables(svc)
        # the secrets come from files: never a value in the environment
        for secret in {"AUTH_SECRET", "PERSON_KEY_SECRET", "WEBHOOK_SIGNING_KEY"} & names:
            assert secret not in spec["environment"]
            assert spec["environment"][f"{secret}_FILE"] == f"/run/secrets/{secret.lower()}"
            assert secret.lower() in spec["secrets"]
            assert compose()["secrets"][secret.lower()]["file"].endswith(f"/{secret.lower()}")
        assert "AUTH_SECRET" in names and "PGPASSWORD" in {
            re.sub(r"_FILE$", "", name) for name in spec["environment"]
        }
        assert spec["read_only"] is True
        assert "ports" not in spec  # replicas publish nothing: the gateway does
        # the runtime role's password: the same variable creates the role (compose/initdb.sh)
        password = f"{svc.upper()}_DB_ROLE_PASSWORD_FILE"
        assert spec["environment"][password] == services["postgres"]["environment"][password]
        # keys and passwords come from Compose secrets, never from a default in the file
        assert f"{svc}_db_role_password" in spec["secrets"] and "auth_secret" in spec["secrets"]
    assert "change-me" not in (ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8")
    conf = (ROOT / "deploy" / "compose" / "rabbitmq.conf").read_text(encoding="utf-8")
    assert "default_queue_type = quorum" in conf
    initdb = (ROOT / "deploy" / "compose" / "initdb.sh").read_text(encoding="utf-8")
    assert "CREATE DATABASE" in initdb and "CREATE ROLE" in initdb
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "requirements/runtime.txt" in dockerfile and "nameko" in dockerfile


def test_compose_publishes_each_service_through_the_gateway():
    """Each API on its own published port (8001-8004), proxied to every replica of its service;
    Prometheus published and loaded with the rules of deploy/prometheus/."""
    services = compose()["services"]
    gateway = services["gateway"]
    published = {int(p.rsplit(":", 2)[-2]): int(p.rsplit(":", 1)[-1]) for p in gateway["ports"]}
    assert published == {8001: 8001, 8002: 8002, 8003: 8003, 8004: 8004}
    conf = (ROOT / "deploy" / "compose" / "gateway.conf").read_text(encoding="utf-8")
    for port, svc in zip((8001, 8002, 8003, 8004), SERVICES, strict=True):
        block = re.search(rf"listen {port};\s*location / {{([^}}]*)}}", conf)
        assert block and f"{svc}:8000" in block.group(1), svc
    assert "resolver 127.0.0.11" in conf  # replicas added by --scale are found again
    assert gateway["healthcheck"]["test"]
    prometheus = services["prometheus"]
    mounts = " ".join(prometheus["volumes"])
    assert "./prometheus/rules:" in mounts and "./prometheus/compose.yml:" in mounts
    assert any(p.endswith(":9090:9090") for p in prometheus["ports"])
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "compose.yml").read_text())
    (talent,) = [job for job in scrape["scrape_configs"] if job["job_name"] == "talent"]
    assert {n for sd in talent["dns_sd_configs"] for n in sd["names"]} == set(SERVICES)
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")
    # Grafana: provisioned with that Prometheus and the dashboard of deploy/grafana/
    grafana = services["grafana"]
    mounts = dict(v.rsplit(":", 2)[:2] for v in grafana["volumes"] if v.startswith("./"))
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    dashboards = yaml.safe_load((provisioning / "dashboards" / "talent.yml").read_text())
    folder = dashboards["providers"][0]["options"]["path"]
    assert mounts["./grafana/talent-services.json"] == f"{folder}/talent-services.json"
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE" in grafana["environment"]
