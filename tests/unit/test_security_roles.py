"""The service's runtime DSN: the owner's DSN with the service role's login (shared/store/schema.py);
the roles in the services' configuration."""

from pathlib import Path

from psycopg2.extensions import parse_dsn

from shared.store.schema import runtime_dsn

ROOT = Path(__file__).resolve().parents[2]


def test_runtime_dsn_replaces_only_the_login():
    owner = "host=127.0.0.1 port=5432 user=postgres dbname=talent_applications"
    assert parse_dsn(runtime_dsn(owner, "talent_applications_svc")) == {
        "host": "127.0.0.1",
        "port": "5432",
        "user": "talent_applications_svc",
        "dbname": "talent_applications",
    }


def test_runtime_dsn_with_a_password():
    dsn = runtime_dsn("host=db user=owner password=o dbname=x", "svc", "s3cret")
    assert parse_dsn(dsn)["user"] == "svc" and parse_dsn(dsn)["password"] == "s3cret"


def test_each_service_configures_its_own_role():
    for svc in ("applications", "subsidies", "assessment", "notifications"):
        text = (ROOT / "services" / svc / "config.yaml").read_text(encoding="utf-8")
        assert f"DB_ROLE: ${{{svc.upper()}_DB_ROLE:talent_{svc}_svc}}" in text, svc
