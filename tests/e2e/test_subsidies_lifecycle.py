"""The LT-10.1 subsidy across the four running services: certified → granted → paid → disqualified
→ recovery demanded → two partial repayments → SubsidyRecovered, every step an event of the
talent's grant stream caused by the one before it, each act with its date beside the moment it was
recorded, the fund's budget and totals following; the same TalentCertified delivered three times
grants once; and Ten Measures claims outside TM-1's span (a hire dated 9999-12-31 among them),
refused through the public interface with nothing written."""

import time

import kombu
import pytest

from deploy.local.walk import walk
from shared.clock import SHANGHAI
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
    # every act carries its date: the certification the grant was decided on, the payment, the
    # Leading Group's decision, each repayment (today's by default), none after it was recorded
    assert granted.payload.get("certified_on") is not None
    acts = [
        granted.payload["certified_on"],
        paid.payload["paid_on"],
        demanded.payload["decided_on"],
        first.payload["repaid_on"],
        second.payload["repaid_on"],
    ]
    assert acts == sorted(acts)
    recorded = [e.recorded_at.astimezone(SHANGHAI).date() for e in history[:5]]
    assert all(act <= day for act, day in zip(acts, recorded))

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


def test_ten_measures_claims_outside_tm1_are_refused_and_write_nothing(walked, stores):
    """The measures run 2020–2022 (TM-1): a hire dated 9999-12-31, one in 2023 and one before
    2020 are refused naming TM-1, the span and the field, and so is a Ten Measures budget for a
    year after the span; the subsidies store does not move."""
    client, _ = walked
    store = stores["subsidies"]
    before = store.head()
    claim = {
        "measure": "TM-7",
        "party_id": "E-E2E",
        "party_name": "某电商",
        "ecommerce": True,
        "variant": "standard",
        "enterprise_size": "micro",
        "hire_ref": "h-e2e",
        "hire_group": "graduate",
        "graduated_on": "2022-06-30",
        "contract_months": 12,
        "social_insurance": True,
    }
    for hired_on in ("9999-12-31", "2023-01-01", "2019-12-31"):
        r = client.call(
            "POST",
            "subsidies",
            "/claims",
            "hrss_officer",
            json={**claim, "hired_on": hired_on},
            expect=None,
        )
        assert r.status_code == 422, r.text
        body = r.json()
        assert (body["clause"], list(body["fields"])) == ("TM-1", ["hired_on"])
        assert "2020-01-01 to 2022-12-31" in body["message"]
    r = client.call(
        "POST",
        "subsidies",
        "/funds/employment_fund/2023/budget",
        "finance",
        json={"amount_fen": 100, "reference": "x"},
        expect=None,
    )
    assert r.status_code == 422 and r.json()["clause"] == "TM-1", r.text
    assert store.head() == before, "a refused request wrote an event"
