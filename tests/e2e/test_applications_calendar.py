"""The public notice in a year the calendar library does not know (LT-9.5), end to end: the
applications service runs as if today were 15 January 2027 (chinese-calendar 1.11 knows years up
to 2026). A notice counted into 2027 is a 422 naming the year and WORKING_DAY_OVERRIDES, and the
store is unchanged; once the operator loads 2027's published schedule into the configuration
(here a YAML file, with a made-up holiday on 12 January to show whose calendar counts), the same
request succeeds and the notice ends where that schedule says. A schedule that cannot be right
stops the service at start-up."""

import datetime as dt
import os
import random

import pytest

from shared.db import Database
from shared.store import EventStore
from talent_client.http import Client
from talent_client.samples import application_body, stage_body
from tests.support.applications_pinned import exit_code, start_applications_on
from tests.support.system import running_system

pytestmark = pytest.mark.e2e
D = dt.date
TODAY = D(2027, 1, 15)
SCHEDULE_2027 = """# 2027 working-day schedule as published (made up for the test)
2027:
  holidays: [2027-01-01, 2027-01-12]
  workdays: []
"""


@pytest.fixture(scope="module")
def system(amqp_uri):
    yield from running_system(amqp_uri, services=())


def approved_candidate(client):
    """A candidate of the 2026 round the Standing Committee agreed on 28 December 2026."""
    client.call(
        "POST",
        "applications",
        "/rounds",
        "prefecture_officer",
        json={
            "year": 2026,
            "quota": 10,
            "window_opens": "2026-11-01",
            "window_closes": "2026-12-31",
        },
    )
    body = application_body("楚雄市", "李明", "LT-6.3", D(2026, 12, 1), 2026, rng=random.Random(1))
    app_id = client.call(
        "POST", "applications", "/applications", "county_officer", county="楚雄市", json=body
    ).json()["application_id"]
    for i, (stage, role) in enumerate(
        (
            ("county_recommendation", "county_officer"),
            ("qualification_review", "prefecture_officer"),
            ("expert_review", "expert_chair"),
            ("inspection", "inspector"),
            ("proposal", "prefecture_officer"),
            ("approval", "leading_group"),
            ("standing_committee", "standing_committee"),
        )
    ):
        client.call(
            "POST",
            "applications",
            f"/applications/{app_id}/reviews",
            role,
            county="楚雄市",
            json=stage_body(stage, D(2026, 12, 21) + dt.timedelta(i)),
        )
    return app_id


def test_a_year_the_library_does_not_know_until_its_schedule_is_configured(system, tmp_path):
    start_applications_on(system, TODAY)
    client = Client(system.urls)
    app_id = approved_candidate(client)
    store = EventStore(Database(system.dsn("applications")), "applications")
    head = store.head()

    r = client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/notice",
        "prefecture_officer",
        json={"start_date": "2027-01-11"},
        expect=(422,),
    )
    assert r.json() == {
        "code": "calendar_year_unknown",
        "clause": "LT-9.5",
        "details": {"year": 2027},
        "message": "the working-day calendar for 2027 is not known yet; load the State "
        "Council's published 2027 schedule into configuration "
        "(WORKING_DAY_OVERRIDES)",
    }
    assert store.head() == head

    schedule = tmp_path / "holidays-2027.yaml"
    schedule.write_text(SCHEDULE_2027, encoding="utf-8")
    start_applications_on(system, TODAY, overrides=str(schedule))
    client = Client(system.urls)
    r = client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/notice",
        "prefecture_officer",
        json={"start_date": "2027-01-11"},
    )
    [started] = r.json()["events"]
    # 11 Jan (1), 12 Jan off by the configured schedule, 13 (2), 14 (3), 15 (4), 18 (5)
    assert (started["payload"]["start_date"], started["payload"]["end_date"]) == (
        "2027-01-11",
        "2027-01-18",
    )
    r = client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/certification",
        "prefecture_officer",
        expect=(422,),
    )
    assert "2027-01-18" in r.json()["message"]  # not before the notice closes

    bad = tmp_path / "holidays-2027-bad.yaml"
    bad.write_text("2027:\n  holidays: [2026-12-31]\n", encoding="utf-8")
    log = system.logs["applications"].name
    seen = os.path.getsize(log)
    proc = start_applications_on(system, TODAY, overrides=str(bad), wait=False)
    assert exit_code(proc) not in (None, 0)
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(seen)
        assert "WORKING_DAY_OVERRIDES 2027 holidays: 2026-12-31 is not in 2027" in f.read()
    store.db.close()
