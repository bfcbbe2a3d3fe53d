"""Auditor tooling against the four running services' real stores (issue: verify, history,
replay as of a date, export)."""

import csv
import io
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rich.cells import cell_len

from deploy.local.walk import walk
from services import audit_cli as audit
from shared.config import dsn_for
from shared.db import create_database, drop_database
from talent_audit.export import EXPORT_FIELDS
from talent_audit.stores import SERVICES
from talent_client.http import Client

pytestmark = pytest.mark.e2e
ADMIN = dsn_for("postgres")
RECOMPUTE = Path(__file__).resolve().parents[1] / "support" / "recompute_chain.js"


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


def node_recompute(path):
    """tests/support/recompute_chain.js (Node.js) on an export: (exit code, its summary)."""
    proc = subprocess.run(
        ["node", str(RECOMPUTE), str(path)], capture_output=True, text=True, timeout=60
    )
    return proc.returncode, json.loads(proc.stdout)


def test_export_carries_what_recomputes_every_hash_in_another_language(audited, tmp_path):
    ids, args = audited
    target = tmp_path / "subsidies.jsonl"
    code, out = run("export", "subsidies", "--output", str(target), *args)
    assert code == 0 and out == ""
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["event_type"] for r in rows][:3] == ["BudgetSet", "SubsidyGranted", "SubsidyPaid"]
    assert [r["global_position"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(len(r["hash"]) == 64 and len(r["prev_hash"]) == 64 for r in rows)
    assert all(r["recorded_at"].endswith("+00:00") for r in rows)
    assert all({"actor_id", "correlation_id", "policy_version"} <= set(r["metadata"]) for r in rows)
    code, summary = node_recompute(target)
    assert code == 0 and summary["ok"] and summary["rows"] == len(rows), summary
    assert summary["heads"]["subsidies"] == [rows[-1]["global_position"], rows[-1]["hash"]]

    # an export edited after the fact no longer recomputes: the check can fail
    rows[1]["payload"]["amount_fen"] += 1
    forged = tmp_path / "forged.jsonl"
    forged.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, summary = node_recompute(forged)
    assert code == 1 and "subsidies position 2" in summary["problem"]

    # one person across the four stores: each row recomputes on its own; sealed fields as stored
    person = tmp_path / "person.jsonl"
    code, _ = run("export", "--person", ids["talent_id"], "--output", str(person), *args)
    assert code == 0
    mine = [json.loads(line) for line in person.read_text(encoding="utf-8").splitlines()]
    assert {r["service"] for r in mine} == set(SERVICES)
    submitted = next(r for r in mine if r["event_type"] == "ApplicationSubmitted")
    assert submitted["payload"]["id_number_masked"].startswith("enc1:")
    assert submitted["sealed"]["id_number_masked"] == "encrypted"
    code, summary = node_recompute(person)
    assert code == 0 and summary["ok"] and summary["rows"] == len(mine), summary


def test_export_as_json_document_and_csv_carry_every_column(audited):
    ids, args = audited
    _, lines = run("export", "subsidies", *args)
    code, out = run("export", "subsidies", "--json", *args)
    document = json.loads(out)
    assert code == 0 and document["service"] == "subsidies" and document["canonical_form"]
    assert document["events"] == [json.loads(line) for line in lines.splitlines()]
    code, out = run("export", "--person", ids["talent_id"], "--format", "csv", *args)
    table = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {r["service"] for r in table} == set(SERVICES)
    assert list(table[0]) == list(EXPORT_FIELDS)
    assert all(json.loads(r["metadata"])["correlation_id"] == r["correlation_id"] for r in table)


def test_errors_are_one_line_and_the_same_status_for_the_same_kind(audited, tmp_path, capsys):
    _, args = audited
    cases = [
        ("history", "nobody"),
        ("export", "--person", "nobody"),
        ("export", "payroll"),
        ("export", "subsidies", "--output", str(tmp_path / "no" / "such" / "dir.jsonl")),
        ("export", "subsidies", "--json", "--format", "csv"),
        ("replay", "subsidies", "--as-of", "yesterday"),
        ("verify", "--no-such-option"),
    ]
    for argv in cases:
        capsys.readouterr()
        assert run(*argv, *args) == (2, ""), argv
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.strip(), argv
    assert not (tmp_path / "no").exists()
    unreachable = ["--dsn", "subsidies=host=127.0.0.1 port=1 dbname=x connect_timeout=2"]
    assert run("export", "subsidies", *args, *unreachable)[0] == 3
    assert "cannot read the subsidies store" in capsys.readouterr().err


def test_for_people_tables_fit_times_carry_their_zone_amounts_in_yuan(audited, monkeypatch):
    ids, args = audited
    monkeypatch.setenv("COLUMNS", "100")
    code, out = run("history", ids["talent_id"], *args)
    assert code == 0 and max(map(cell_len, out.splitlines())) <= 100
    assert "time (+08:00)" in out and "amount 50,000.00 CNY" in out
    code, out = run("replay", "subsidies", "--as-of", "999999", *args)
    assert code == 0 and max(map(cell_len, out.splitlines())) <= 100
    assert out.startswith("subsidies as of position 999,999: ")
    assert "50,000.00" in out and "(CNY)" in out and "5000000" not in out
    code, out = run("verify", *args)
    assert code == 0 and max(map(cell_len, out.splitlines())) <= 100
    heads = re.findall(r"^  (\w+=\d+:[0-9a-f]{64})$", out, re.MULTILINE)
    assert {h.split("=")[0] for h in heads} == set(SERVICES)
    # the printed heads are what --expect takes
    expect = [a for h in heads for a in ("--expect", h)]
    assert run("verify", "--no-anchors", *expect, *args)[0] == 0


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
