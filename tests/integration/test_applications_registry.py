"""The applications service against real PostgreSQL and RabbitMQ: the rules that span applications
hold when requests race (one talent per enterprise within a round and across rounds, the quota at
approval), because every command reads the registry under the store's append lock; the read
models rebuild from the events to the same rows, also by themselves at start-up; and the
working-day schedule travels from the environment through config.yaml into the calendar."""

import datetime as dt
import json
import random
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest

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
    shanghai_today,
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


def submit(client, name, county="楚雄市", code=None, category="LT-6.4"):
    body = application_body(
        county,
        name,
        category,
        SUBMITTED,
        2026,
        rng=random.Random(name),
        **({"credit_code": code} if code else {}),
    )
    return client.call(
        "POST", "applications", "/applications", "county_officer", county=county, json=body
    ).json()


def race(fn, args):
    with ThreadPoolExecutor(len(args)) as pool:
        return list(pool.map(fn, args))


def test_one_applicant_per_enterprise_when_eight_race(client):
    results = race(lambda name: submit(client, name, code=CODE), [f"同企{i}" for i in range(8)])
    eligible = [r for r in results if r["eligible"]]
    assert len(eligible) == 1
    for r in results:
        if not r["eligible"]:
            assert r["failed"] == ["LT-10 one_applicant_per_enterprise_in_round"]
            checks = r["events"][1]["payload"]["checks"]
            rival = next(c for c in checks if c["check"] == "one_applicant_per_enterprise_in_round")
            assert rival["value"] == eligible[0]["application_id"]


def test_an_enterprise_with_a_talent_from_an_earlier_round_or_the_yixiang_scheme(client):
    code = "91350100M000100Y43"
    client.call(
        "POST",
        "applications",
        "/yixiang/transfers",
        "prefecture_officer",
        json={
            "yixiang_talent_id": "YX2021-900",
            "name": "杨梅",
            "id_number": fake_id_number(D(1990, 2, 3), "永仁县", random.Random(3)),
            "county": "永仁县",
            "enterprise": {"name": "永仁县杨梅电子商务有限公司", "credit_code": code},
            "category": "LT-6.2",
            "baseline_year": 2021,
            "baseline": {"sales_fen": 40_000_000},
            "period_start": "2022-06-01",
            "period_end": (shanghai_today() + dt.timedelta(days=400)).isoformat(),
        },
    )
    r = submit(client, "杨桃", county="永仁县", code=code)
    assert r["failed"] == ["LT-10 one_talent_per_enterprise"]
    check = next(
        c for c in r["events"][1]["payload"]["checks"] if c["check"] == "one_talent_per_enterprise"
    )
    assert check["value"] == "talent-yixiang-YX2021-900"


def test_the_quota_holds_when_approvals_race(client):
    names = [f"候选{i}" for i in range(6)]
    ids = {name: submit(client, name)["application_id"] for name in names}
    for name in names:
        for stage, role in (
            ("county_recommendation", "county_officer"),
            ("qualification_review", "prefecture_officer"),
            ("expert_review", "expert_chair"),
            ("inspection", "inspector"),
        ):
            client.call(
                "POST",
                "applications",
                f"/applications/{ids[name]}/reviews",
                role,
                county="楚雄市",
                json=stage_body(stage, D(2026, 4, 1), score=80),
            )

    def approve(name):
        return client.call(
            "POST",
            "applications",
            f"/applications/{ids[name]}/reviews",
            "leading_group",
            json=stage_body("approval", D(2026, 4, 2)),
            expect=None,
        )

    results = race(approve, names)
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 3 + [422] * 3
    assert {r.json()["clause"] for r in results if r.status_code == 422} == {"LT-8"}
    summary = client.call(
        "GET",
        "applications",
        "/applications?round=2026&stage=standing_committee",
        "prefecture_officer",
    ).json()["applications"]
    assert len(summary) == 3


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
