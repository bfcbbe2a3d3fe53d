"""The LT-10.1 subsidy across the four running services: certified → granted → paid → disqualified
→ recovery demanded → two partial repayments → SubsidyRecovered, every step an event of the
talent's grant stream caused by the one before it, the fund's budget and totals following; and the
same TalentCertified delivered three times grants once."""

import time

import kombu
import pytest

from deploy.local.walk import walk
from shared.db import Database
from shared.messaging.relay import exchange_for, stored_message
from shared.store import EventStore
from talent_client.http import Client

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def walked(system):
    client = Client(system.urls, out=lambda *_: None)
    ids = walk(client, name="王五", out=lambda *_: None)
    return client, ids


@pytest.fixture(scope="module")
def stores(system):
    opened = {svc: EventStore(Database(system.dsn(svc)), svc) for svc in system.dbs}
    yield opened
    for store in opened.values():
        store.db.close()


def grant_stream(stores, talent_id):
    return stores["subsidies"].read_stream(f"grant-LT-10.1-{talent_id}")


def test_the_subsidy_from_grant_to_full_recovery(walked, stores):
    client, ids = walked
    talent = ids["talent_id"]
    history = grant_stream(stores, talent)
    assert [e.event_type for e in history] == [
        "SubsidyGranted",
        "SubsidyPaid",
        "SubsidyRecoveryDemanded",
        "SubsidyRepaymentRecorded",
        "SubsidyRepaymentRecorded",
        "SubsidyRecovered",
    ]
    granted, paid, demanded, first, second, recovered = history
    assert (granted.payload["amount_fen"], granted.payload["fund"], granted.clauses) == (
        5_000_000,
        "prefecture_finance",
        ["LT-10.1"],
    )
    assert granted.payload["breakdown"][0]["clause"] == "LT-10.1"
    assert (paid.payload["amount_fen"], paid.metadata["actor_role"]) == (5_000_000, "finance")
    assert demanded.payload["amount_fen"] == 5_000_000
    assert demanded.clauses == ["LT-14", demanded.payload["ground"]]
    # two partial repayments, the outstanding amount going down to zero, then recovered
    assert [(e.payload["amount_fen"], e.payload["outstanding_fen"]) for e in (first, second)] == [
        (2_500_000, 2_500_000),
        (2_500_000, 0),
    ]
    assert {e.metadata["actor_role"] for e in (first, second)} == {"finance"}
    assert recovered.payload["amount_fen"] == 5_000_000

    # each reaction was caused by the other service's event, under one correlation
    certified = next(
        e
        for e in stores["applications"].read_all()
        if e.event_type == "TalentCertified" and e.payload["talent_id"] == talent
    )
    disqualified = next(
        e
        for e in stores["assessment"].read_all()
        if e.event_type == "TalentDisqualified" and e.payload["talent_id"] == talent
    )
    assert granted.metadata["causation_id"] == certified.event_id
    assert granted.metadata["correlation_id"] == certified.metadata["correlation_id"]
    assert demanded.metadata["causation_id"] == disqualified.event_id
    assert demanded.payload["ground"] == disqualified.payload["ground"]


def test_read_models_follow_the_money(walked, system):
    client, ids = walked
    talent = ids["talent_id"]

    def get(path, role="finance"):
        r = client.call("GET", "subsidies", path, role, expect=None)
        assert r.status_code == 200, r.text
        return r.json()

    [row] = get(f"/grants/{talent}")["grants"]
    assert (
        row["status"],
        row["amount_fen"],
        row["paid_fen"],
        row["demanded_fen"],
        row["repaid_fen"],
    ) == ("recovered", 5_000_000, 5_000_000, 5_000_000, 5_000_000)
    assert get(f"/ledger/{talent}", "auditor")["totals"] == {
        "granted_fen": 5_000_000,
        "paid_fen": 5_000_000,
        "demanded_fen": 5_000_000,
        "recovered_fen": 5_000_000,
        "outstanding_fen": 0,
    }
    assert talent not in {r["talent_id"] for r in get("/recoveries")["recoveries"]}
    year = row["fiscal_year"]
    totals = get(f"/totals?year={year}", "auditor")
    [fund] = [f for f in totals["funds"] if f["fund"] == "prefecture_finance"]
    assert (fund["committed_fen"], fund["paid_fen"], fund["recovered_fen"]) == (
        5_000_000,
        5_000_000,
        5_000_000,
    )
    [measure] = [m for m in totals["measures"] if m["measure"] == "LT-10.1"]
    assert (
        measure["granted"],
        measure["granted_fen"],
        measure["paid_fen"],
        measure["recovered_fen"],
    ) == (1, 5_000_000, 5_000_000, 5_000_000)
    # the talent was told the subsidy is fully recovered
    inbox = client.call(
        "GET", "notifications", f"/inbox/talent:{talent}", "talent", actor=talent
    ).json()
    assert "SubsidyRecovered" in {m["source_event_type"] for m in inbox["messages"]}


def test_the_same_certification_delivered_three_times_grants_once(walked, system, stores):
    """The stored TalentCertified envelope published twice more (three deliveries in all)."""
    client, ids = walked
    apps = stores["applications"]
    certified = next(
        e
        for e in apps.read_all()
        if e.event_type == "TalentCertified" and e.payload["talent_id"] == ids["talent_id"]
    )
    with apps.db.transaction() as cur:
        body, attributes = stored_message(cur, "applications", certified.global_position)
    before = stores["subsidies"].head()
    with kombu.Connection(system.amqp_uri) as conn:
        producer = conn.Producer()
        for _ in range(2):
            producer.publish(
                body,
                exchange=exchange_for("applications"),
                routing_key="TalentCertified",
                content_type="application/json",
                content_encoding="utf-8",
                declare=[exchange_for("applications")],
                headers=attributes["headers"],
                **attributes["properties"],
            )
    log = system.logs["subsidies"].name
    deadline, dropped = time.monotonic() + 15, 0
    while time.monotonic() < deadline and dropped < 2:
        with open(log, encoding="utf-8") as f:
            dropped = sum(
                1 for line in f if "event_duplicate_dropped" in line and certified.event_id in line
            )
        time.sleep(0.2)
    assert dropped == 2, "both redeliveries reached the subsidies service and were dropped"
    assert stores["subsidies"].head() == before, "a redelivery wrote something"
    granted = [
        e
        for e in stores["subsidies"].read_all()
        if e.event_type == "SubsidyGranted" and e.payload["talent_id"] == ids["talent_id"]
    ]
    assert len(granted) == 1
    fund = client.call(
        "GET",
        "subsidies",
        f"/funds/prefecture_finance/{granted[0].payload['fiscal_year']}",
        "finance",
    ).json()
    assert fund["committed_fen"] == 5_000_000  # charged once
