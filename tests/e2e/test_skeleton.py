"""The walking skeleton, end to end: one application from submission to full recovery across the
four running services, then each store is checked directly."""

import time

import kombu
import pytest

from deploy.local.walk import walk
from shared.db import Database
from shared.messaging.relay import exchange_for, stored_message
from shared.store import EventStore
from talent_client.http import Client
from tests.support.faults import wait_until

pytestmark = pytest.mark.e2e

EXPECTED = {
    "applications": ["RoundOpened", "ApplicationSubmitted", "EligibilityAssessed"]
    + ["ReviewPassed"] * 7
    + ["PublicNoticeStarted", "TalentCertified"],
    "subsidies": [
        "BudgetSet",
        "SubsidyGranted",
        "SubsidyPaid",
        "SubsidyRecoveryDemanded",
        "SubsidyRepaymentRecorded",
        "SubsidyRepaymentRecorded",
        "SubsidyRecovered",
    ],
    "assessment": [
        "TenureOpened",
        "DisqualificationGroundReported",  # the year-1 report is refused before its window
        "DisqualificationProposed",
        "TalentDisqualified",
    ],
}


@pytest.fixture(scope="module")
def walked(system):
    lines = []
    ids = walk(Client(system.urls), out=lines.append)
    print("\n".join(lines))
    return ids, lines


def stores(system):
    return {svc: EventStore(Database(system.dsn(svc)), svc) for svc in system.dbs}


def test_each_store_holds_its_events_in_order(system, walked):
    ids, _ = walked
    for svc, store in stores(system).items():
        types = [e.event_type for e in store.read_all()]
        if svc in EXPECTED:
            assert types == EXPECTED[svc], svc
        store.db.close()


def test_every_hash_chain_verifies(system, walked):
    for svc, store in stores(system).items():
        result = store.verify()
        assert result.ok and result.checked > 0, (svc, result)
        store.db.close()


def test_decisions_cite_clauses_and_carry_actors(system, walked):
    store = stores(system)["applications"]
    events = list(store.read_all())
    certified = events[-1]
    assert certified.event_type == "TalentCertified"
    assert "LT-10" in certified.clauses
    assert certified.metadata["actor_role"] == "prefecture_officer"
    reviews = [e for e in events if e.event_type == "ReviewPassed"]
    assert [e.metadata["actor_role"] for e in reviews] == [
        "county_officer",
        "prefecture_officer",
        "expert_chair",
        "inspector",
        "prefecture_officer",
        "leading_group",
        "standing_committee",
    ]
    subs = list(stores(system)["subsidies"].read_all())
    granted = next(e for e in subs if e.event_type == "SubsidyGranted")
    # the grant was caused by the certification event, under the same correlation
    assert granted.metadata["causation_id"] == certified.event_id
    assert granted.metadata["correlation_id"] == certified.metadata["correlation_id"]


def test_notifications_exist_for_every_step(system, walked):
    store = stores(system)["notifications"]
    expected = {
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
    }
    # (the walk ends once subsidies' last event is notified; assessment's travel on their own
    # queues and may still be on their way, or parked until their talent's certification is in)
    sources = wait_until(
        lambda: {
            e.payload["source_event_type"]
            for e in store.read_all()
            if e.event_type == "NotificationRecorded"
        },
        lambda got: got >= expected,
        timeout=60,
    )
    assert sources >= expected
    _, lines = walked
    assert any("创业补贴已全额退回" in line for line in lines)


def test_redelivered_certification_grants_once(system, walked):
    """The same TalentCertified, published twice more, still leaves exactly one grant."""
    apps = stores(system)["applications"]
    certified = [e for e in apps.read_all() if e.event_type == "TalentCertified"][0]
    with apps.db.transaction() as cur:
        body, attributes = stored_message(cur, "applications", certified.global_position)
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
    subsidies = stores(system)["subsidies"]
    log = system.logs["subsidies"].name
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with open(log, encoding="utf-8") as f:
            dropped = sum(
                1 for line in f if "event_duplicate_dropped" in line and certified.event_id in line
            )
        if dropped >= 2:
            break
        time.sleep(0.2)
    assert dropped == 2, "both redeliveries reached the handler and were dropped"
    granted = [e for e in subsidies.read_all() if e.event_type == "SubsidyGranted"]
    assert len(granted) == 1
