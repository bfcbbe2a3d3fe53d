"""The applications service against real PostgreSQL and RabbitMQ: the rules that span applications
hold when requests race (one live application per person, the quota at the proposal), one talent
per enterprise binds at approval and not at application, because every command reads the
registry under the store's append lock; the read
models rebuild from the events to the same rows, also by themselves at start-up; and the
working-day schedule travels from the environment through config.yaml into the calendar."""

import datetime as dt
import json
import random
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest

from services.applications.projections import enterprise_talents
from services.applications.service import ApplicationsService
from shared import config
from shared.calendar import WorkingDayCalendar
from shared.db import Database
from shared.store import EventStore
from talent_client.http import Client
from talent_client.samples import (
    application_body,
    fake_credit_code,
    fake_id_number,
    stage_body,
)
from tests.support.system import running_system

pytestmark = pytest.mark.integration
D = dt.date
SUBMITTED = D(2026, 3, 16)
CODE = fake_credit_code("楚雄市", random.Random(1))


@pytest.fixture(scope="module")
def apps(amqp_uri):
    yield from running_system(amqp_uri, services=("applications",))


@pytest.fixture(scope="module")
def client(apps):
    client = Client(apps.urls)
    client.call(
        "POST",
        "applications",
        "/rounds",
        "prefecture_officer",
        json={
            "year": 2026,
            "quota": 3,
            "window_opens": "2026-03-01",
            "window_closes": "2026-04-30",
        },
    )
    return client


def submit(
    client, name, county="楚雄市", code=None, category="LT-6.4", id_number=None, expect=None
):
    body = application_body(
        county,
        name,
        category,
        SUBMITTED,
        2026,
        rng=random.Random(name),
        **({"credit_code": code} if code else {}),
        **({"id_number": id_number} if id_number else {}),
    )
    r = client.call(
        "POST",
        "applications",
        "/applications",
        "county_officer",
        county=county,
        json=body,
        expect=expect or (201,),
    )
    return r if expect else r.json()


def race(fn, args):
    with ThreadPoolExecutor(len(args)) as pool:
        return list(pool.map(fn, args))


def review(client, app_id, stage, role, county="楚雄市", expect=(200,), **kw):
    return client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/reviews",
        role,
        county=county,
        json=stage_body(stage, D(2026, 4, 1), category="LT-6.4", **kw),
        expect=expect,
    )


def through_inspection(client, app_id, county="楚雄市"):
    for stage, role in (
        ("county_recommendation", "county_officer"),
        ("qualification_review", "prefecture_officer"),
        ("expert_review", "expert_chair"),
        ("inspection", "inspector"),
    ):
        review(client, app_id, stage, role, county, score=80)


RIVALS = "enterprise_applicants_in_round"
TALENT_YX = "talent-yixiang-YX2021-900"


def test_several_applicants_of_one_enterprise_are_each_judged_when_eight_race(client):
    """LT-10 one talent per enterprise binds at certification: eight racing applicants of one
    enterprise are all filed and eligible, each seeing the others that were filed before it."""
    results = race(lambda name: submit(client, name, code=CODE), [f"同企{i}" for i in range(8)])
    assert all(r["eligible"] for r in results)
    shown = [
        next(c for c in r["events"][1]["payload"]["checks"] if c["check"] == RIVALS)["value"]
        for r in results
    ]
    assert sorted(len(v.split(",")) for v in shown if v != "无") == list(range(1, 8))
    assert shown.count("无") == 1  # the first filed saw none, the last the other seven


def test_one_live_application_per_person_when_eight_race(client):
    """LT-10.1: eight racing submissions of one person (one ID number, several names on the
    forms) file exactly one; the others are refused naming LT-10.1, nothing written."""
    id_number = fake_id_number(D(1991, 5, 6), "楚雄市", random.Random("one-person"))
    results = race(
        lambda i: submit(client, f"同人{i}", id_number=id_number, expect=(201, 422)), range(8)
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [422] * 7
    assert {r.json()["clause"] for r in results if r.status_code == 422} == {"LT-10.1"}
    listed = client.call(
        "GET", "applications", "/applications?round=2026", "prefecture_officer"
    ).json()["applications"]
    assert sum(1 for a in listed if a["applicant_name"].startswith("同人")) == 1


def test_an_enterprise_with_a_talent_applies_but_gets_no_second_approved(apps, client):
    """A transferred Yixiang talent (LT-16) is the enterprise's talent (LT-10, read as ever):
    another person of it may apply and be reviewed, the Leading Group cannot approve them."""
    code = "91350100M000100Y43"
    id_number = fake_id_number(D(1990, 2, 3), "永仁县", random.Random(3))
    client.call(
        "POST",
        "applications",
        "/yixiang/transfers",
        "prefecture_officer",
        json={
            "yixiang_talent_id": "YX2021-900",
            "name": "杨梅",
            "id_number": id_number,
            "county": "永仁县",
            "enterprise": {"name": "永仁县杨梅电子商务有限公司", "credit_code": code},
            "category": "LT-6.2",
            "baseline_year": 2021,
            "baseline": {"sales_fen": 40_000_000},
            "period_start": "2022-06-01",
            "period_end": "2025-05-31",
        },
        expect=(201,),
    )
    r = submit(client, "杨桃", county="永仁县", code=code)
    assert r["eligible"]
    check = next(
        c for c in r["events"][1]["payload"]["checks"] if c["check"] == "enterprise_talent"
    )
    assert (check["value"], check["required"]) == ("talent-yixiang-YX2021-900", False)
    app_id = r["application_id"]
    through_inspection(client, app_id, "永仁县")
    review(client, app_id, "proposal", "prefecture_officer", "永仁县")
    refused = review(client, app_id, "approval", "leading_group", "永仁县", expect=(422,))
    assert refused.json()["clause"] == "LT-10"
    client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/reviews",
        "leading_group",
        json={
            "stage": "approval",
            "decision": "reject",
            "reasons": ["同一企业只认定一名领军人才"],
            "decided_on": "2026-04-02",
        },
    )
    # the talent's period ran to 2025-05-31, so LT-10.1 lets them file; as a former Yixiang
    # applicant, LT-10 excludes them
    again = submit(client, "杨梅", county="永仁县", id_number=id_number)
    assert again["failed"] == ["LT-10 former_yixiang_applicant"]
    # the enterprise's talent is a second person's talent only to another person
    conn = psycopg2.connect(apps.dsn("applications"))
    with conn, conn.cursor() as cur:
        cur.execute("SELECT person_key FROM yixiang_persons WHERE talent_id = %s", (TALENT_YX,))
        [person] = cur.fetchone()
        assert [t[0] for t in enterprise_talents(cur, code)] == [TALENT_YX]
        assert [t[0] for t in enterprise_talents(cur, code, "someone-else")] == [TALENT_YX]
        assert enterprise_talents(cur, code, person) == ()
    conn.close()


def test_the_quota_holds_when_proposals_race(client):
    """LT-8 binds at the Commerce Bureau's proposal: six racing proposals for a quota of 3
    (equal scores: none ahead) give 3; the three proposed are then approved."""
    names = [f"候选{i}" for i in range(6)]
    ids = {name: submit(client, name)["application_id"] for name in names}
    for name in names:
        through_inspection(client, ids[name])

    def propose(name):
        return review(client, ids[name], "proposal", "prefecture_officer", expect=None)

    results = race(propose, names)
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 3 + [422] * 3
    assert {r.json()["clause"] for r in results if r.status_code == 422} == {"LT-8"}
    proposed = [n for n, r in zip(names, results) if r.status_code == 200]
    for name in proposed:
        review(client, ids[name], "approval", "leading_group")
    summary = client.call(
        "GET",
        "applications",
        "/applications?round=2026&stage=standing_committee",
        "prefecture_officer",
    ).json()["applications"]
    assert len(summary) == 3
    ranked = client.call("GET", "applications", "/rounds/2026", "prefecture_officer").json()
    assert sorted(c["application_id"] for c in ranked["proposal"]) == sorted(
        ids[n] for n in proposed
    )
    assert {c["rank"] for c in ranked["proposal"]} == {1}  # equal scores share the rank


def snapshot(dsn):
    tables = ("applications_view", "rounds_view", "talents_view", "yixiang_persons")
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            out = {}
            for table in tables:
                cur.execute(f"SELECT * FROM {table} ORDER BY 1")
                cols = [c.name for c in cur.description]
                out[table] = [
                    {k: v for k, v in zip(cols, row) if k != "updated_at"} for row in cur.fetchall()
                ]
            return out
    finally:
        conn.close()


def test_read_models_rebuild_from_the_events(apps, client):
    dsn = apps.dsn("applications")
    live = snapshot(dsn)
    assert live["talents_view"] and live["applications_view"] and live["rounds_view"]
    store = EventStore(Database(dsn), "applications", projectors=ApplicationsService.uow.projectors)
    store.rebuild_projections()
    assert snapshot(dsn) == live
    store.db.close()

    apps.stop("applications")
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:  # as if a migration had just added the registry
        cur.execute("DELETE FROM talents_view; DELETE FROM rounds_view")
    conn.close()
    apps.start("applications")
    apps.wait_ready(["applications"])
    assert snapshot(dsn) == live


def test_the_schedule_travels_from_the_environment_into_the_calendar(tmp_path, monkeypatch):
    path = "services/applications/config.yaml"
    monkeypatch.setenv(
        "WORKING_DAY_OVERRIDES", json.dumps({"2027": {"holidays": ["2027-01-12"], "workdays": []}})
    )
    calendar = WorkingDayCalendar.from_config(config.load(path)["WORKING_DAY_OVERRIDES"])
    assert calendar.nth_working_day(D(2027, 1, 11), 5) == D(2027, 1, 18)
    schedule = tmp_path / "2027.yaml"
    schedule.write_text("2027:\n  holidays: [2027-01-12, 2027-01-13]\n", encoding="utf-8")
    monkeypatch.setenv("WORKING_DAY_OVERRIDES", str(schedule))
    calendar = WorkingDayCalendar.from_config(config.load(path)["WORKING_DAY_OVERRIDES"])
    assert calendar.nth_working_day(D(2027, 1, 11), 5) == D(2027, 1, 19)
    monkeypatch.delenv("WORKING_DAY_OVERRIDES")
    assert config.load(path)["WORKING_DAY_OVERRIDES"] is None


def test_read_models_from_before_policy_v3_are_rebuilt_at_start(apps, client):
    """A store whose read models predate the proposal stage, the person's pseudonym and the
    county's opinions against (policy v2 numbering of the stages): at start the migration adds
    the columns and the service rebuilds the read models from the events, to the same rows."""
    dsn = apps.dsn("applications")
    live = snapshot(dsn)
    apps.stop("applications")
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:  # back to the v2 read models
        cur.execute(
            "ALTER TABLE applications_view DROP COLUMN person_key, DROP COLUMN last_act_on,"
            " DROP COLUMN opinions_against, DROP COLUMN county_reasons,"
            " DROP COLUMN proposal_rank, DROP COLUMN proposal_reason, DROP COLUMN certified_on;"
            " ALTER TABLE talents_view DROP COLUMN person_key;"
            " UPDATE applications_view SET stages_passed = stages_passed - 1"
            " WHERE stages_passed >= 6;"
            " DELETE FROM schema_migrations"
            " WHERE name IN ('applications_view_0003', 'registry_0002')"
        )
    conn.close()
    apps.start("applications")
    apps.wait_ready(["applications"])
    migrated = snapshot(dsn)
    assert migrated == live
    assert all(r["person_key"] and r["last_act_on"] for r in migrated["applications_view"])
    store = EventStore(Database(dsn), "applications")
    assert store.verify().ok
    store.db.close()
