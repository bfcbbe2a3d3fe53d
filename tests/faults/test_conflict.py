"""Two officers act on the same application at once, both from the version they read (If-Match):
one succeeds, the other gets 409 naming the stream and the version."""

import datetime as dt
import threading

import pytest

from talent_client.http import Client
from talent_client.samples import (
    STAGES,
    application_body,
    notice_start_for,
    shanghai_today,
    stage_body,
)
from talent_client.steps import open_round
from tests.support.faults import report

pytestmark = pytest.mark.e2e
COUNTY = "楚雄市"


def race(client, path, role, body, version):
    """Two officers of ``role`` send ``body`` at the same instant with ``If-Match: version``."""
    barrier, results = threading.Barrier(2), {}

    def act(actor):
        barrier.wait()
        results[actor] = client.call(
            "POST",
            "applications",
            path,
            role,
            actor=actor,
            county=COUNTY,
            json=body,
            expect=None,
            headers={"If-Match": str(version)},
        )

    threads = [threading.Thread(target=act, args=(a,)) for a in (f"{role}-a", f"{role}-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return list(results.values())


def test_two_officers_at_once_one_wins_the_other_gets_409(system):
    # (each thread needs its own HTTP session: a requests.Session is not thread-safe)
    client = Client(system.urls)
    submitted = notice_start_for(shanghai_today()) - dt.timedelta(days=len(STAGES) + 2)
    open_round(client, submitted.year)
    r = client.call(
        "POST",
        "applications",
        "/applications",
        "county_officer",
        county=COUNTY,
        json=application_body(COUNTY, "王五", "LT-6.3", submitted, submitted.year),
    )
    app_id = r.json()["application_id"]
    outcomes = []
    for i, (stage, role) in enumerate(STAGES[:3], start=1):
        app = client.call(
            "GET", "applications", f"/applications/{app_id}", "prefecture_officer"
        ).json()
        version = app["history"][-1]["version"]
        body = stage_body(stage, submitted + dt.timedelta(days=i))
        responses = race(
            Client(system.urls), f"/applications/{app_id}/reviews", role, body, version
        )
        codes = sorted(resp.status_code for resp in responses)
        outcomes.append(codes)
        assert codes[0] in (200, 201) and codes[1] == 409, [r.text for r in responses]
        conflict = next(resp.json() for resp in responses if resp.status_code == 409)
        assert conflict["code"] == "conflict"
        stream = conflict["details"]["stream_id"]
        assert app_id in stream and stream in conflict["message"]
        assert conflict["details"]["expected_version"] == version
        assert f"expected version {version}" in conflict["message"]
        after = client.call(
            "GET", "applications", f"/applications/{app_id}", "prefecture_officer"
        ).json()
        passed = [e for e in after["history"] if e["version"] > version]
        assert [e["type"] for e in passed] == ["ReviewPassed"], "exactly one review recorded"
    report(
        "concurrent officers",
        {
            "races": len(outcomes),
            "won": len(outcomes),
            "conflicts_409": len(outcomes),
            "codes": outcomes,
        },
    )
