"""deploy/backup.sh and deploy/restore.sh on a running system: a backup of the four stores after a
walked application (every service has events), restored into fresh databases, holds the same
history (``talent-audit verify`` passes on the restored stores with the heads of the backup, which
the original still holds at those positions), the services start on the restored data and read
it; and an erased person stays erased: neither a person erased before the backup nor one erased
after it (``--erasures-from`` the live store) gets their key back, while everyone else's is
restored."""

import io
import os
import subprocess
import uuid

import orjson
import psycopg2
import pytest

from deploy.local.walk import walk
from services import audit_cli as audit
from shared.config import dsn_for
from shared.db import create_database, drop_database
from talent_client.http import Client
from talent_client.samples import application_body, shanghai_today
from tests.support.system import ADMIN, ROOT, SERVICES, System, rabbitmq_vhost, running_system

pytestmark = pytest.mark.integration
COUNTY = "楚雄市"
PHONE = "13912345678"


@pytest.fixture(scope="module")
def system():
    yield from running_system(log_prefix="backup")


@pytest.fixture(scope="module")
def audit_db():
    name = f"talent_audit_backup_{uuid.uuid4().hex[:8]}"
    create_database(ADMIN, name, drop_first=True)
    yield dsn_for(name)
    drop_database(ADMIN, name)


def script(name, env, *args):
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / name), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def db_env(dbs):
    env = dict(
        os.environ,
        TALENT_PG_DSN_BASE=os.environ.get(
            "TALENT_PG_DSN_BASE", "host=127.0.0.1 port=5432 user=postgres"
        ),
    )
    env.update({f"{svc.upper()}_DB": dbs[svc] for svc in SERVICES})
    return env


def submit(client, name):
    today = shanghai_today()
    body = application_body(COUNTY, name, "LT-6.3", today, today.year)
    body["form"]["applicant"]["phone"] = PHONE
    r = client.call(
        "POST", "applications", "/applications", "county_officer", county=COUNTY, json=body
    )
    return r.json()["application_id"]


def person_of(dsn, app_id):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT payload->>'person_key' FROM events WHERE stream_id = %s"
            " AND event_type = 'ApplicationSubmitted'",
            (f"application-{app_id}",),
        )
        (row,) = cur.fetchall()
    conn.close()
    return row[0]


def keys(dsn):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT person_key FROM person_keys")
        found = {r[0] for r in cur.fetchall()}
    conn.close()
    return found


def erase(client, app_id):
    client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/erasure",
        "prefecture_officer",
        json={"basis": "request_of_the_person"},
    )


def manifest(directory):
    lines = (directory / "MANIFEST").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def verify(dsns, audit_db, heads):
    argv = ["verify", "--json", "--audit-dsn", audit_db]
    for svc, dsn in dsns.items():
        argv += ["--dsn", f"{svc}={dsn}"]
    for svc, (position, digest) in heads.items():
        if position:
            argv += ["--expect", f"{svc}={position}:{digest}"]
    out = io.StringIO()
    code = audit.main(argv, out=out)
    return code, orjson.loads(out.getvalue())


def test_backup_restore_same_history_services_start_and_erasures_hold(system, audit_db, tmp_path):
    client = Client(system.urls, out=lambda *_: None)
    walked = walk(client, out=lambda *_: None)  # events in all four stores
    erased_before = submit(client, "赵六")
    kept = submit(client, "孙八")
    erase(client, erased_before)
    live_apps = system.dsn("applications")
    person = {a: person_of(live_apps, a) for a in (walked["application_id"], erased_before, kept)}
    assert person[erased_before] not in keys(live_apps)

    backup = tmp_path / "backup"
    script("backup.sh", db_env(system.dbs), backup)
    got = manifest(backup)
    heads = {svc: (int(got[f"{svc}.head_position"]), got[f"{svc}.head_hash"]) for svc in SERVICES}
    assert all(position > 0 for position, _ in heads.values()), heads
    assert person[erased_before] not in (backup / "applications.person_keys.csv").read_text()
    assert person[walked["application_id"]] in (backup / "applications.person_keys.csv").read_text()

    # after the backup, the walked applicant is erased too
    erase(client, walked["application_id"])

    tag = uuid.uuid4().hex[:8]
    restored = {svc: f"talent_restored_{svc}_{tag}" for svc in SERVICES}
    try:
        # restoring into an existing database is refused unless --replace
        create_database(ADMIN, restored["applications"], drop_first=True)
        refused = subprocess.run(
            ["bash", str(ROOT / "deploy" / "restore.sh"), str(backup)],
            env=db_env(restored),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode != 0 and "exists" in refused.stderr
        drop_database(ADMIN, restored["applications"])

        out = script("restore.sh", db_env(restored), "--erasures-from", live_apps, backup)
        assert "talent-audit verify --expect" in out
        # the walked applicant's key was in the backup: left out, erased since in the live store
        assert "applications   1 person keys restored, 1 of erased persons left out" in out, out
        restored_dsns = {svc: dsn_for(restored[svc]) for svc in SERVICES}

        # the same history: the chains verify, ending at the backup's heads, which the original
        # (written to since) still holds at those positions
        code, result = verify(restored_dsns, audit_db, heads)
        assert code == 0 and result["ok"], result
        assert {
            s["service"]: (s["head_position"], s["head_hash"]) for s in result["services"]
        } == heads
        code, original = verify({svc: system.dsn(svc) for svc in SERVICES}, audit_db, heads)
        assert code == 0 and original["ok"], original

        # erased before the backup or after it: no key; the others' keys restored
        restored_keys = keys(restored_dsns["applications"])
        assert person[kept] in restored_keys
        assert person[erased_before] not in restored_keys
        assert person[walked["application_id"]] not in restored_keys

        # the services start on the restored data (a vhost of their own) and read it
        with rabbitmq_vhost("restored") as uri:
            again = System(uri, tag, log_prefix="restored")
            again.dbs = restored
            try:
                for svc in SERVICES:
                    again.start(svc)
                again.wait_ready()
                reader = Client(again.urls, out=lambda *_: None)
                grant = reader.call(
                    "GET", "subsidies", f"/grants/{walked['talent_id']}", "finance"
                ).json()
                assert grant["grants"][0]["status"] == "recovered"
                tenure = reader.call(
                    "GET", "assessment", f"/tenures/{walked['talent_id']}", "prefecture_officer"
                )
                assert tenure.status_code == 200

                def phone(app_id):
                    r = reader.call(
                        "GET", "applications", f"/applications/{app_id}", "prefecture_officer"
                    )
                    (submitted,) = [
                        e for e in r.json()["history"] if e["type"] == "ApplicationSubmitted"
                    ]
                    return submitted["payload"]["form"]["applicant"]["phone"]

                assert phone(kept) == PHONE
                assert phone(erased_before) == "erased"
                assert phone(walked["application_id"]) == "erased"
            finally:
                for svc in list(again.procs):
                    again.stop(svc)
    finally:
        for db in restored.values():
            drop_database(ADMIN, db)


def test_prune_drops_the_keys_of_persons_erased_since_from_a_backup(system, tmp_path):
    client = Client(system.urls, out=lambda *_: None)
    shortly_erased, kept = submit(client, "周九"), submit(client, "吴十")
    backup = tmp_path / "backup"
    script("backup.sh", db_env(system.dbs), backup)
    live_apps = system.dsn("applications")
    gone, stays = person_of(live_apps, shortly_erased), person_of(live_apps, kept)
    assert gone in (backup / "applications.person_keys.csv").read_text()
    erase(client, shortly_erased)
    out = script("backup.sh", db_env(system.dbs), "prune", backup)
    assert "applications: 1 keys dropped" in out
    text = (backup / "applications.person_keys.csv").read_text()
    assert gone not in text and stays in text
    # the MANIFEST follows, so the pruned backup still restores
    subprocess.run(
        ["sha256sum", "-c"],
        input=(
            f"{manifest(backup)['applications.keys_sha256']}  "
            f"{backup / 'applications.person_keys.csv'}\n"
        ),
        text=True,
        check=True,
        capture_output=True,
    )


def test_restore_refuses_a_backup_whose_files_do_not_match_its_manifest(system, tmp_path):
    backup = tmp_path / "backup"
    script("backup.sh", db_env(system.dbs), backup)
    with (backup / "subsidies.dump").open("ab") as dump:
        dump.write(b"\0")
    tag = uuid.uuid4().hex[:8]
    target = {svc: f"talent_refused_{svc}_{tag}" for svc in SERVICES}
    refused = subprocess.run(
        ["bash", str(ROOT / "deploy" / "restore.sh"), str(backup)],
        env=db_env(target),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "subsidies.dump does not match its MANIFEST checksum" in refused.stderr
    for db in target.values():  # refused before creating anything
        assert count_databases(db) == 0


def count_databases(name):
    with psycopg2.connect(ADMIN) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
        (found,) = cur.fetchone()
    conn.close()
    return found
