"""Auditor tooling against the four running services' real stores (issue: verify, history,
replay as of a date, export)."""

import csv
import io
import json
import subprocess
import sys
import uuid

import pytest

from deploy.local.walk import walk
from services import audit_cli as audit
from shared.config import dsn_for
from shared.db import create_database, drop_database
from talent_client.http import Client

pytestmark = pytest.mark.e2e
ADMIN = dsn_for("postgres")


@pytest.fixture(scope="module")
def audited(system):
    ids = walk(Client(system.urls), out=lambda line: None)
    audit_db = f"talent_test_audit_{uuid.uuid4().hex[:8]}"
    create_database(ADMIN, audit_db)
    args = [a for svc in system.dbs for a in ("--dsn", f"{svc}={system.dsn(svc)}")]
    args += ["--audit-dsn", dsn_for(audit_db)]
    yield ids, args
    drop_database(ADMIN, audit_db)


def run(*argv):
    out = io.StringIO()
    code = audit.main(list(argv), out=out)
    return code, out.getvalue()


def test_history_of_a_disqualified_talent_in_causal_order(audited):
    (ids, args) = audited
    code, out = run("history", ids["talent_id"], "--json", *args)
    assert code == 0
    events = json.loads(out)["events"]
    story = [e["event"] for e in events if e["event"] != "NotificationRecorded"]
    expected = [
        "ApplicationSubmitted",
        "ReviewPassed",
        "PublicNoticeStarted",
        "TalentCertified",
        "SubsidyGranted",
        "SubsidyPaid",
        "DisqualificationGroundReported",
        "TalentDisqualified",
        "SubsidyRecoveryDemanded",
        "SubsidyRecovered",
    ]
    positions = [story.index(name) for name in expected]
    assert positions == sorted(positions), story
    assert {e["service"] for e in events} == {
        "applications",
        "subsidies",
        "assessment",
        "notifications",
    }
    by_id = {e["event_id"]: i for i, e in enumerate(events)}
    for i, e in enumerate(events):  # every effect after its cause
        if e["causation_id"] in by_id:
            assert by_id[e["causation_id"]] < i
    granted = next(e for e in events if e["event"] == "SubsidyGranted")
    assert granted["clauses"] == ["LT-10.1"] and "50,000.00" in granted["amount"]
    disq = next(e for e in events if e["event"] == "TalentDisqualified")
    assert disq["role"] == "leading_group"
    code, text = run("history", ids["application_id"], *args)  # same person by application id
    assert code == 0 and "TalentDisqualified" in text and "SubsidyRecovered" in text


def test_replay_before_the_disqualification_shows_certified_and_nothing_owed(system, audited):
    ids, args = audited
    _, out = run("history", ids["talent_id"], "--json", *args)
    events = json.loads(out)["events"]
    disqualified_at = next(e["time"] for e in events if e["event"] == "TalentDisqualified")
    before = next(e for e in reversed(events) if e["time"] < disqualified_at)["time"]
    code, out = run("replay", "subsidies", "--as-of", before.replace(" ", "T"), "--json", *args)
    assert code == 0
    grant = json.loads(out)["read_models"]["grants_view"][0]
    assert grant["status"] == "paid" and grant["demanded_fen"] == 0
    code, out = run("replay", "applications", "--as-of", before.replace(" ", "T"), "--json", *args)
    [app] = json.loads(out)["read_models"]["applications_view"]
    assert app["status"] == "certified" and app["talent_id"] == ids["talent_id"]


def test_replay_by_position_and_unknown_inputs(audited):
    _, args = audited
    code, out = run("replay", "subsidies", "--as-of", "1", "--json", *args)
    assert code == 0 and json.loads(out)["events"] == 1
    assert run("replay", "nosuch", "--as-of", "1", *args)[0] == 2
    assert run("replay", "subsidies", "--as-of", "yesterday", *args)[0] == 2
    assert run("history", "nobody", *args)[0] == 2


def test_export_jsonl_and_csv(audited):
    ids, args = audited
    code, out = run("export", "subsidies", *args)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["event_type"] for r in rows][:3] == [
        "BudgetSet",
        "SubsidyGranted",
        "SubsidyPaid",
    ]
    assert all(len(r["hash"]) == 64 for r in rows)
    code, out = run("export", "--person", ids["talent_id"], "--format", "csv", *args)
    table = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {r["service"] for r in table} == {
        "applications",
        "subsidies",
        "assessment",
        "notifications",
    }


def test_verify_passes_then_names_the_tampered_store_and_position(system, audited):
    _, args = audited
    code, out = run("verify", "--json", *args)
    assert code == 0 and all(s["ok"] for s in json.loads(out)["services"])
    import psycopg2

    conn = psycopg2.connect(system.dsn("subsidies"))
    with conn, conn.cursor() as cur:  # a superuser bypassing the append-only trigger
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            "UPDATE events SET payload = jsonb_set(payload, '{amount_fen}', '1')"
            " WHERE global_position = 2"
        )
    conn.close()
    # the console script, as an auditor runs it
    proc = subprocess.run(
        [sys.executable, "-m", "services.audit_cli", "verify", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "subsidies" in proc.stdout and "BROKEN" in proc.stdout
    assert "position 2: row content does not match its hash" in proc.stdout
