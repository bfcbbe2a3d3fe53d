"""Each service works as its own database role, which may INSERT and SELECT the events but not
UPDATE, DELETE or TRUNCATE them (shared/store/schema.py: grant_service_role); migrations run as the
owner."""

import psycopg2
import psycopg2.errors
import pytest

from shared.contracts import load_all
from shared.db import Database
from shared.decider import NewEvent
from shared.messaging.inbox import Inbox
from shared.store import EventStore, Metadata
from shared.store.schema import grant_service_role, runtime_dsn

pytestmark = pytest.mark.integration

ROLE = "talent_test_security_svc"
META = Metadata("tester", "system", "corr-1", policy_version="test")


def _granted():
    return NewEvent(
        "SubsidyGranted",
        dict(
            grant_id="g-1",
            talent_id="t-1",
            measure="LT-10.1",
            amount_fen=5_000_000,
            fiscal_year=2026,
        ),
        ("LT-10.1",),
    )


@pytest.fixture
def service_db(fresh_db):
    owner_dsn = fresh_db("roles")
    owner = Database(owner_dsn, max_size=2)
    EventStore(owner, "applications", registry=load_all()).migrate()
    Inbox(owner, "applications", None).migrate()
    grant_service_role(owner, ROLE)
    grant_service_role(owner, ROLE)  # idempotent
    owner.close()
    runtime = Database(runtime_dsn(owner_dsn, ROLE), max_size=2)
    yield owner_dsn, runtime
    runtime.close()


def test_the_service_role_appends_and_reads(service_db):
    _, runtime = service_db
    store = EventStore(runtime, "subsidies")
    store.append("grant", "grant-t-1", 0, [_granted()], META)
    assert [e.event_type for e in store.read_all()] == ["SubsidyGranted"]
    assert store.verify().ok
    with runtime.transaction() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == ROLE
        # what else the service writes: its inbox and the relay cursor
        cur.execute("UPDATE relay_cursor SET position = position")
        cur.execute("DELETE FROM inbox WHERE false")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET payload = '{}'::jsonb",
        "DELETE FROM events",
        "TRUNCATE events",
        "ALTER TABLE events DISABLE TRIGGER USER",
        "DROP TABLE events",
        "INSERT INTO schema_migrations (name) VALUES ('x')",
    ],
)
def test_the_service_role_cannot_rewrite_history(service_db, statement):
    _, runtime = service_db
    EventStore(runtime, "subsidies").append("grant", "grant-t-1", 0, [_granted()], META)
    conn = runtime.connect()
    try:
        with pytest.raises((psycopg2.errors.InsufficientPrivilege,)) as info:
            with conn.cursor() as cur:
                cur.execute(statement)
        assert "permission denied" in str(info.value) or "must be owner" in str(info.value)
    finally:
        conn.close()


def test_the_owner_still_migrates(service_db):
    owner_dsn, _ = service_db
    owner = Database(owner_dsn, max_size=1)
    try:
        assert EventStore(owner, "applications", registry=load_all()).migrate() == []
    finally:
        owner.close()
