"""The subsidies service alone, as a ``nameko run`` process on a throw-away database and RabbitMQ
vhost, driven over HTTP and by events published to its queues: budgets per fund and fiscal year,
Ten Measures claims from filing to payment, the LT-10.1 queue, refusals that write nothing, and
the guards that must hold under concurrency (one claim per measure, party and period; one payment;
no budget overspent, whether the decisions come over HTTP or from the broker)."""

import datetime as dt
import threading
import uuid
from zoneinfo import ZoneInfo

import kombu
import orjson
import pytest

from shared.contracts import load_all
from shared.db import Database
from shared.messaging.relay import exchange_for
from shared.store import EventStore
from talent_client.http import Client
from tests.support.system import running_system
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
TODAY = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
YEAR = TODAY.year
REGISTRY = load_all()
# The Ten Measures run 2020–2022 (TM-1): their claims are dated within, by their act dates.
TM_YEAR = 2022
TM_FILED, TM_DECIDED, TM_PAID = "2022-04-01", "2022-05-10", "2022-05-20"
APPROVE = {"decision": "approve", "decided_on": TM_DECIDED}


@pytest.fixture(scope="module")
def system():
    yield from running_system(services=("subsidies",))


@pytest.fixture(scope="module")
def api(system):
    return Client(system.urls, out=lambda *_: None)


@pytest.fixture(scope="module")
def store(system):
    s = EventStore(Database(system.dsn("subsidies")), "subsidies")
    yield s
    s.db.close()


def call(api, method, path, role, json=None, **kw):
    return api.call(method, "subsidies", path, role, json=json, expect=None, **kw)


def events_of(store, stream_id=None, event_type=None):
    return [
        e
        for e in store.read_all()
        if (stream_id is None or e.stream_id == stream_id)
        and (event_type is None or e.event_type == event_type)
    ]


def wait_until(what, fn, timeout=30):
    return wait_for(fn, what, timeout)


def refused_without_writing(store, response, status, **expected):
    """``response`` is ``status`` with ``expected`` keys (code, clause, fields) and nothing was
    appended (the store's head did not move)."""
    assert response.status_code == status, response.text
    body = response.json()
    for key, value in expected.items():
        assert body.get(key) == value, (key, body)
    return body


class NoWrite:
    """Asserts the store's head is where it was when the block began."""

    def __init__(self, store):
        self.store = store

    def __enter__(self):
        self.head = self.store.head()

    def __exit__(self, *exc):
        assert self.store.head() == self.head, "a refused request wrote an event"


def publish(system, source, event_type, payload, clauses=()):
    """Publish one event as another service's relay would (an envelope on its exchange)."""
    version, data = REGISTRY.encode(event_type, payload)
    body = orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "schema_version": version,
            "source": source,
            "stream_type": "test",
            "stream_id": f"test-{uuid.uuid4().hex[:6]}",
            "stream_version": 1,
            "global_position": 1,
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(),
            "payload": data,
            "metadata": {
                "actor_id": "test",
                "actor_role": "system",
                "correlation_id": "it",
                "causation_id": None,
                "clauses": list(clauses),
                "policy_version": "test",
            },
        }
    )
    with kombu.Connection(system.amqp_uri) as conn:
        conn.Producer().publish(
            body,
            exchange=exchange_for(source),
            routing_key=event_type,
            content_type="application/json",
            content_encoding="utf-8",
            declare=[exchange_for(source)],
        )


def certified(talent_id, period_start=TODAY, **extra):
    return {
        "talent_id": talent_id,
        "application_id": f"app-{talent_id}",
        "applicant_name": "某人",
        "county": "楚雄市",
        "category": "LT-6.3",
        "track": "seller",
        "baseline_year": YEAR - 1,
        "baseline": {"sales_fen": 300_000_000},
        "period_start": period_start,
        "period_end": period_start.replace(year=period_start.year + 3) - dt.timedelta(1),
        **extra,
    }


def disqualified(talent_id, decided_on=TODAY):
    return {
        "talent_id": talent_id,
        "ground": "LT-14.4",
        "reasons": ["year 1 unqualified"],
        "decided_on": decided_on,
    }


def set_budget(api, source, amount_fen, year=None, reference="楚财〔2026〕1号"):
    """Set a fund's budget (of this year for prefecture finance, of TM_YEAR for the Ten
    Measures' funds, unless ``year``)."""
    year = year or (YEAR if source == "prefecture_finance" else TM_YEAR)
    return call(
        api,
        "POST",
        f"/funds/{source}/{year}/budget",
        "finance",
        json={"amount_fen": amount_fen, "reference": reference},
    )


def tm4(party, worker, months=7, wages=400_000, **kw):
    return {
        "measure": "TM-4",
        "party_id": party,
        "party_name": "楚雄某电商有限公司",
        "ecommerce": True,
        "enterprise_size": "small",
        "worker_ref": worker,
        "worker_group": "registered_unemployed",
        "hired_on": "2022-03-01",
        "filed_on": TM_FILED,
        "trained_on_the_job": True,
        "monthly_wages_fen": [wages] * months,
        **kw,
    }


def intern(ref, planned):
    return {
        "intern_ref": ref,
        "start_on": "2022-01-05",
        "planned_months": planned,
        "served_months": planned,
        "outcome": "completed",
        "retained": True,
    }


# -- budgets ----------------------------------------------------------------------------------------
def test_budget_refusals_write_nothing(api, store):
    with NoWrite(store):
        r = set_budget(api, "employment_fund", -1)
        refused_without_writing(
            store,
            r,
            400,
            code="invalid_input",
            fields={"amount_fen": ["Must be between 0 and 9007199254740991."]},
        )
        r = set_budget(api, "employment_fund", 2**63)  # refused at the door (shared/bounds.py)
        refused_without_writing(
            store,
            r,
            400,
            code="invalid_input",
            fields={
                "amount_fen": ["Must be between -9007199254740991 and 9007199254740991 (2^53 - 1)."]
            },
        )
        r = set_budget(api, "employment_fund", 100, year=2023)
        body = refused_without_writing(store, r, 422, clause="TM-1")
        assert list(body["fields"]) == ["fiscal_year"]
        assert "the Ten Measures run 2020-01-01 to 2022-12-31" in body["message"]
        r = set_budget(api, "lottery_fund", 100)
        assert r.status_code == 400 and set(r.json()["fields"]) == {"source"}
        r = set_budget(api, "employment_fund", 100, year=2019)
        assert r.status_code == 400 and set(r.json()["fields"]) == {"fiscal_year"}
        r = call(
            api,
            "POST",
            f"/funds/employment_fund/{YEAR}/budget",
            "hrss_officer",
            json={"amount_fen": 100, "reference": "x"},
        )
        refused_without_writing(store, r, 403, code="forbidden")


def test_budget_is_event_sourced_and_cannot_go_below_what_is_committed(api, store):
    r = set_budget(api, "provincial_entrepreneurship_fund", 300_000_000)
    assert r.status_code == 200, r.text
    [event] = r.json()["events"]
    assert (
        event["type"],
        event["clauses"],
        event["payload"]["amount_fen"],
        event["payload"]["previous_fen"],
    ) == ("BudgetSet", ["TM-1"], 300_000_000, 0)
    base = {
        "measure": "TM-10",
        "party_id": "base-1",
        "party_name": "楚雄电商孵化园",
        "ecommerce": True,
        "provincial_review_passed": True,
        "filed_on": TM_FILED,
    }
    with NoWrite(store):  # above TM-10's ceiling
        r = call(
            api, "POST", "/claims", "hrss_officer", json={**base, "requested_fen": 200_000_001}
        )
        refused_without_writing(store, r, 400, code="invalid_input")
        assert list(r.json()["fields"]) == ["requested_fen"]
    r = call(api, "POST", "/claims", "hrss_officer", json={**base, "requested_fen": 200_000_000})
    assert r.status_code == 201, r.text
    claim_id = r.json()["claim_id"]
    assert (claim_id, r.json()["events"][0]["payload"]["amount_fen"]) == (
        "TM-10:base-1",
        200_000_000,
    )
    r = call(api, "POST", f"/claims/{claim_id}/decision", "hrss_officer", json=APPROVE)
    assert r.status_code == 200, r.text
    with NoWrite(store):
        r = set_budget(api, "provincial_entrepreneurship_fund", 199_999_999)
        refused_without_writing(
            store, r, 422, clause="TM-1", fields={"amount_fen": ["At least 200000000."]}
        )
    fund = call(api, "GET", f"/funds/provincial_entrepreneurship_fund/{TM_YEAR}", "auditor").json()
    assert (fund["budget_fen"], fund["committed_fen"], fund["available_fen"]) == (
        300_000_000,
        200_000_000,
        100_000_000,
    )
    assert [h["type"] for h in fund["history"]] == ["BudgetSet"]


# -- Ten Measures claims ----------------------------------------------------------------------------
def test_tm4_claim_filed_approved_paid_and_in_the_ledger_and_totals(api, store):
    assert set_budget(api, "employment_fund", 100_000_000).status_code == 200
    r = call(api, "POST", "/claims", "hrss_officer", json=tm4("E-100", "w-100"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["claim_id"] == "TM-4:E-100:w-100"
    filed = body["events"][0]
    assert (filed["type"], filed["clauses"], filed["payload"]["amount_fen"]) == (
        "MeasureClaimFiled",
        ["TM-4", "TM-1"],
        480_000,
    )
    # the act's date and the recording's, both shown
    assert (filed["act_on"], filed["recorded_at"][:4]) == (TM_FILED, str(YEAR))
    assert [x["amount_fen"] for x in filed["payload"]["breakdown"]] == [80_000] * 6 + [0]

    claim = call(api, "GET", "/claims/TM-4:E-100:w-100", "auditor").json()
    assert (claim["status"], claim["amount_fen"], len(claim["breakdown"])) == ("filed", 480_000, 7)
    r = call(api, "POST", "/claims/TM-4:E-100:w-100/decision", "hrss_officer", json=APPROVE)
    assert r.status_code == 200, r.text
    assert r.json()["events"][0]["clauses"] == ["TM-4", "TM-1"]
    assert r.json()["events"][0]["payload"]["fund"] == "employment_fund"
    r = call(
        api,
        "POST",
        "/claims/TM-4:E-100:w-100/payments",
        "finance",
        json={"payment_reference": "JY-1", "paid_on": TM_PAID},
    )
    assert r.status_code == 200 and r.json()["events"][0]["type"] == "MeasureClaimPaid"
    claim = call(api, "GET", "/claims/TM-4:E-100:w-100", "auditor").json()
    assert (claim["filed_on"], claim["decided_on"], claim["paid_on"]) == (
        TM_FILED,
        TM_DECIDED,
        TM_PAID,
    )
    assert [h["act_on"] for h in claim["history"]] == [TM_FILED, TM_DECIDED, TM_PAID]
    assert all(h["recorded_at"].startswith(str(YEAR)) for h in claim["history"])

    ledger = call(api, "GET", "/ledger/E-100", "auditor").json()
    assert [c["status"] for c in ledger["claims"]] == ["paid"]
    assert (ledger["totals"]["granted_fen"], ledger["totals"]["paid_fen"]) == (480_000, 480_000)
    totals = call(api, "GET", f"/totals?year={TM_YEAR}", "prefecture_officer").json()
    for bad in ("²", "1" * 5000):  # "²".isdigit() holds; int() of 5000 digits fails
        r = call(api, "GET", f"/totals?year={bad}", "prefecture_officer")
        assert r.status_code == 400 and list(r.json()["fields"]) == ["fiscal_year"], r.text
    tm4_row = next(m for m in totals["measures"] if m["measure"] == "TM-4")
    assert tm4_row["granted"] >= 1 and tm4_row["paid_fen"] >= 480_000
    employment = next(f for f in totals["funds"] if f["fund"] == "employment_fund")
    assert employment["committed_fen"] >= 480_000


def test_bad_claims_get_4xx_naming_the_field_or_clause_and_write_nothing(api, store):
    with NoWrite(store):
        r = call(
            api,
            "POST",
            "/claims",
            "hrss_officer",
            json=tm4("E-200", "w-200", months=3, monthly_wages_fen=[400_000, 400_000, -1]),
        )
        refused_without_writing(
            store,
            r,
            400,
            code="invalid_input",
            fields={"monthly_wages_fen": {"2": ["Must be between 0 and 100000000."]}},
        )

        r = call(
            api,
            "POST",
            "/claims",
            "hrss_officer",
            json={
                "measure": "TM-8",
                "party_id": "E-200",
                "party_name": "某电商",
                "ecommerce": True,
                "cohort": "2022-01",
                "filed_on": TM_FILED,
                "interns": [intern("i-1", 6), intern("i-2", 13)],
            },
        )
        body = refused_without_writing(store, r, 422, code="rule_violation", clause="TM-8")
        assert list(body["fields"]["interns"]["1"]) == ["planned_months"]

        r = call(
            api,
            "POST",
            "/claims",
            "hrss_officer",
            json={**tm4("E-200", "w-200"), "measure": "TM-9"},
        )
        body = refused_without_writing(store, r, 400, code="invalid_input")
        assert list(body["fields"]) == ["measure"]

        r = call(api, "POST", "/claims", "finance", json=tm4("E-200", "w-200"))
        refused_without_writing(store, r, 403, code="forbidden")
        r = call(api, "POST", "/claims", "hrss_officer", json=tm4("E-200", "53230119900101001X"))
        refused_without_writing(
            store,
            r,
            400,
            fields={
                "worker_ref": ["Name the person by a reference, never an ID or mobile number."]
            },
        )
        r = call(
            api,
            "POST",
            "/claims",
            "hrss_officer",
            json=tm4("E-200", "w-200", enterprise_size="large"),
        )
        refused_without_writing(store, r, 422, clause="TM-4")

        r = call(api, "POST", "/claims/TM-4:nobody:none/decision", "hrss_officer", json=APPROVE)
        refused_without_writing(store, r, 404, code="not_found")
        r = call(
            api,
            "POST",
            "/claims/TM-4:E-100:w-100/payments",
            "finance",  # paid already
            json={"payment_reference": "JY-2", "paid_on": TM_PAID},
        )
        refused_without_writing(store, r, 422, clause="TM-4")
        r = call(api, "POST", "/claims", "hrss_officer", json=tm4("E-100", "w-100"))
        refused_without_writing(
            store,
            r,
            422,
            clause="TM-4",
            fields={"party_id": ["Already claimed for this measure and period."]},
        )


def in_threads(n, fn):
    """Run ``fn(i)`` in ``n`` threads released together; their results in order."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_the_same_claim_filed_concurrently_is_filed_once(system, store):
    clients = [Client(system.urls, out=lambda *_: None) for _ in range(8)]
    results = in_threads(
        8,
        lambda i: call(
            clients[i], "POST", "/claims", "hrss_officer", json=tm4("E-300", "w-300", months=3)
        ),
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409, 422}, statuses
    assert len(events_of(store, "claim-TM-4:E-300:w-300")) == 1


def test_concurrent_approvals_never_overspend_and_a_claim_is_paid_once(system, api, store):
    assert set_budget(api, "employment_subsidy_fund", 1_500_000).status_code == 200  # 3 × 5,000
    ids = []
    for i in range(8):
        r = call(
            api,
            "POST",
            "/claims",
            "hrss_officer",
            json={
                "measure": "TM-7",
                "party_id": f"E-4{i}",
                "party_name": "某电商",
                "ecommerce": True,
                "variant": "standard",
                "enterprise_size": "micro",
                "hire_ref": f"grad-4{i}",
                "hire_group": "graduate",
                "graduated_on": "2022-06-30",
                "hired_on": "2022-07-01",
                "filed_on": "2022-08-01",
                "contract_months": 12,
                "social_insurance": True,
            },
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["claim_id"])
    clients = [Client(system.urls, out=lambda *_: None) for _ in range(8)]
    results = in_threads(
        8,
        lambda i: call(
            clients[i],
            "POST",
            f"/claims/{ids[i]}/decision",
            "hrss_officer",
            json={"decision": "approve", "decided_on": "2022-08-10"},
        ),
    )
    statuses = [r.status_code for r in results]
    assert statuses.count(200) == 3 and statuses.count(422) == 5, statuses
    assert {r.json()["clause"] for r in results if r.status_code == 422} == {"TM-1"}
    fund = call(api, "GET", f"/funds/employment_subsidy_fund/{TM_YEAR}", "finance").json()
    assert (fund["committed_fen"], fund["available_fen"]) == (1_500_000, 0)

    winner = ids[statuses.index(200)]
    results = in_threads(
        8,
        lambda i: call(
            clients[i],
            "POST",
            f"/claims/{winner}/payments",
            "finance",
            json={"payment_reference": f"P-{i}", "paid_on": "2022-08-20"},
        ),
    )
    assert sorted(r.status_code for r in results).count(200) == 1
    assert len(events_of(store, f"claim-{winner}", "MeasureClaimPaid")) == 1


def test_tm6_loan_ceiling_is_approved_without_a_fund_and_not_payable(api, store):
    r = call(
        api,
        "POST",
        "/claims",
        "hrss_officer",
        json={
            "measure": "TM-6",
            "party_id": "P-6",
            "party_name": "六人合伙电商",
            "ecommerce": True,
            "borrower_kind": "partnership",
            "partners": 6,
            "meets_loan_conditions": True,
            "requested_fen": 120_000_000,
            "filed_on": TM_FILED,
        },
    )
    assert r.status_code == 201 and r.json()["events"][0]["payload"]["amount_fen"] == 110_000_000
    claim_id = r.json()["claim_id"]
    assert claim_id == f"TM-6:P-6:{TM_YEAR}"  # the year the loan was applied for
    r = call(api, "POST", f"/claims/{claim_id}/decision", "hrss_officer", json=APPROVE)
    assert r.status_code == 200 and r.json()["events"][0]["payload"]["fund"] is None
    with NoWrite(store):
        r = call(
            api,
            "POST",
            f"/claims/{claim_id}/payments",
            "finance",
            json={"payment_reference": "X", "paid_on": TM_PAID},
        )
        refused_without_writing(store, r, 422, clause="TM-6")


def test_a_rejected_claim_is_filed_again_corrected(api):
    r = call(api, "POST", "/claims", "hrss_officer", json=tm4("E-500", "w-500", months=2))
    claim_id = r.json()["claim_id"]
    r = call(
        api, "POST", f"/claims/{claim_id}/decision", "hrss_officer", json={"decision": "reject"}
    )
    assert r.status_code == 422 and r.json()["fields"] == {"reasons": ["Required when rejecting."]}
    r = call(
        api,
        "POST",
        f"/claims/{claim_id}/decision",
        "hrss_officer",
        json={"decision": "reject", "reasons": ["wages not evidenced"], "decided_on": TM_DECIDED},
    )
    assert r.json()["events"][0]["type"] == "MeasureClaimRejected"
    r = call(api, "POST", "/claims", "hrss_officer", json=tm4("E-500", "w-500", months=3))
    assert r.status_code == 422 and r.json()["fields"] == {
        "filed_on": [f"Must not be before {TM_DECIDED}."]
    }
    r = call(
        api,
        "POST",
        "/claims",
        "hrss_officer",
        json=tm4("E-500", "w-500", months=3, filed_on="2022-06-01"),
    )
    assert r.status_code == 201 and r.json()["version"] == 3
    assert call(api, "GET", f"/claims/{claim_id}", "auditor").json()["amount_fen"] == 240_000


# -- the LT-10.1 grant, driven by events from the broker ---------------------------------------------
def grant_decisions(store, talent_ids):
    """talent -> the first grant decision (SubsidyGranted or SubsidyGrantQueued), once every
    talent has one."""
    streams = {f"grant-LT-10.1-{t}": t for t in talent_ids}
    decisions = wait_until(
        f"{len(streams)} grant decisions",
        lambda: (lambda d: d if len(d) == len(streams) else None)(
            {
                streams[e.stream_id]: e.event_type
                for e in store.read_all()
                if e.stream_id in streams and e.stream_version == 1
            }
        ),
    )
    return decisions


def test_lt_grants_queue_when_the_budget_is_short_and_are_granted_first_come(system, api, store):
    talents = [f"lt-q{i}" for i in range(5)]
    assert set_budget(api, "prefecture_finance", 10_000_000).status_code == 200  # 2 × 50,000
    for t in talents:
        publish(system, "applications", "TalentCertified", certified(t), ("LT-9.5", "LT-10"))
    decisions = grant_decisions(store, talents)
    assert sorted(decisions.values()) == ["SubsidyGrantQueued"] * 3 + ["SubsidyGranted"] * 2
    fund = call(api, "GET", f"/funds/prefecture_finance/{YEAR}", "finance").json()
    assert (fund["committed_fen"], fund["queued"]) == (10_000_000, 3)
    first_queued = fund["queued_grants"][0]["talent_id"]

    # finance raises the budget by one subsidy: the head of the queue, and only it, is granted
    r = set_budget(api, "prefecture_finance", 15_000_000)
    assert [e["type"] for e in r.json()["events"]] == ["BudgetSet", "SubsidyGranted"]
    assert r.json()["events"][1]["payload"]["talent_id"] == first_queued

    # a granted, unpaid subsidy cancelled by a disqualification gives its room to the next
    granted = next(t for t, d in decisions.items() if d == "SubsidyGranted")
    second_queued = call(api, "GET", f"/funds/prefecture_finance/{YEAR}", "finance").json()[
        "queued_grants"
    ][0]["talent_id"]
    publish(system, "assessment", "TalentDisqualified", disqualified(granted), ("LT-14",))
    wait_until(
        "the next queued grant",
        lambda: (
            call(api, "GET", f"/grants/{second_queued}", "finance").json()["grants"][0]["status"]
            == "granted"
        ),
    )
    fund = call(api, "GET", f"/funds/prefecture_finance/{YEAR}", "finance").json()
    assert (fund["budget_fen"], fund["committed_fen"], fund["queued"]) == (
        15_000_000,
        15_000_000,
        1,
    )


def test_concurrent_certifications_never_overspend_the_fund(system, api, store):
    year = YEAR + 1  # a fund of its own: certifications dated next year
    start = dt.date(year, 1, 4)
    assert set_budget(api, "prefecture_finance", 15_000_000, year=year).status_code == 200
    talents = [f"lt-c{i}" for i in range(12)]
    in_threads(
        12,
        lambda i: publish(
            system,
            "applications",
            "TalentCertified",
            certified(talents[i], start),
            ("LT-9.5", "LT-10"),
        ),
    )
    decisions = grant_decisions(store, talents)
    assert sorted(decisions.values()).count("SubsidyGranted") == 3
    fund = call(api, "GET", f"/funds/prefecture_finance/{year}", "finance").json()
    assert (fund["committed_fen"], fund["available_fen"], fund["queued"]) == (15_000_000, 0, 9)


def test_a_transferred_yixiang_talent_is_granted_the_difference(system, api, store):
    assert set_budget(api, "prefecture_finance", 50_000_000).status_code == 200
    publish(
        system,
        "applications",
        "TalentCertified",
        certified(
            "lt-yx",
            dt.date(2021, 5, 1),
            origin="yixiang_transfer",
            prior_startup_subsidy_fen=2_000_000,
        ),
        ("LT-16", "LT-10"),
    )
    grant = wait_until(
        "the transfer's grant",
        lambda: (lambda r: r.json() if r.ok else None)(
            call(api, "GET", "/grants/lt-yx", "finance")
        ),
    )
    # 50,000 less the 20,000 Yixiang paid, charged to the year the transfer was recorded
    assert (
        grant["grants"][0]["status"],
        grant["grants"][0]["fiscal_year"],
        grant["grants"][0]["amount_fen"],
    ) == ("granted", YEAR, 3_000_000)
    [event] = grant["history"]
    assert event["clauses"] == ["LT-10.1", "LT-16"]
    assert [x["amount_fen"] for x in event["payload"]["breakdown"]] == [5_000_000, -2_000_000]
    assert call(api, "GET", "/funds/prefecture_finance/2021", "finance").status_code == 404


def test_overdue_recoveries_are_visible(system, api, store):
    assert set_budget(api, "prefecture_finance", 60_000_000).status_code == 200
    publish(system, "applications", "TalentCertified", certified("lt-od"), ("LT-9.5", "LT-10"))
    wait_until("grant", lambda: call(api, "GET", "/grants/lt-od", "finance").ok)
    r = call(
        api,
        "POST",
        "/grants/lt-od/payments",
        "finance",
        json={"payment_reference": "CZ-OD", "paid_on": TODAY.isoformat()},
    )
    assert r.status_code == 200, r.text
    long_ago = TODAY - dt.timedelta(days=45)
    publish(system, "assessment", "TalentDisqualified", disqualified("lt-od", long_ago), ("LT-14",))
    wait_until(
        "demand",
        lambda: (
            call(api, "GET", "/grants/lt-od", "finance").json()["grants"][0]["status"]
            == "recovery_demanded"
        ),
    )
    overdue = call(api, "GET", "/recoveries?overdue=true", "auditor").json()["recoveries"]
    [row] = [x for x in overdue if x["talent_id"] == "lt-od"]
    assert (row["overdue"], row["outstanding_fen"], row["due_on"]) == (
        True,
        5_000_000,
        (long_ago + dt.timedelta(days=30)).isoformat(),
    )
    assert call(api, "GET", "/recoveries?overdue=maybe", "auditor").status_code == 400
    # a talent lists only their own recoveries; the bureau's roles every talent's
    own = call(api, "GET", "/recoveries", "talent", actor="lt-od").json()["recoveries"]
    assert [x["talent_id"] for x in own] == ["lt-od"]
    assert call(api, "GET", "/recoveries", "talent", actor="lt-x").json()["recoveries"] == []
    everyone = call(api, "GET", "/recoveries", "finance").json()["recoveries"]
    assert "lt-od" in {x["talent_id"] for x in everyone}
    # a talent reads only their own grant
    assert call(api, "GET", "/grants/lt-od", "talent", actor="lt-od").status_code == 200
    assert call(api, "GET", "/grants/lt-od", "talent", actor="lt-x").status_code == 403


# -- act dates and TM-1: refused with nothing written -----------------------------------------------
def tm7(party, hire_ref, hired_on, **kw):
    return {
        "measure": "TM-7",
        "party_id": party,
        "party_name": "某电商",
        "ecommerce": True,
        "variant": "standard",
        "enterprise_size": "micro",
        "hire_ref": hire_ref,
        "hire_group": "graduate",
        "graduated_on": "2022-06-30",
        "hired_on": hired_on,
        "contract_months": 12,
        "social_insurance": True,
        **kw,
    }


def test_out_of_span_and_future_dates_are_refused_and_write_nothing(api, store):
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    with NoWrite(store):
        for hired_on in ("9999-12-31", "2023-01-01", "2019-12-31"):
            r = call(api, "POST", "/claims", "hrss_officer", json=tm7("E-900", "h-900", hired_on))
            body = refused_without_writing(store, r, 422, code="rule_violation", clause="TM-1")
            assert list(body["fields"]) == ["hired_on"], body
            assert "2020-01-01 to 2022-12-31" in body["message"]
        r = call(
            api,
            "POST",
            "/claims",
            "hrss_officer",
            json=tm7("E-900", "h-900", "2022-07-01", filed_on=tomorrow),
        )
        body = refused_without_writing(store, r, 422, clause="TM-1")
        assert body["fields"] == {"filed_on": [f"Must not be after {TODAY}."]}
        r = call(
            api,
            "POST",
            "/claims",
            "hrss_officer",
            json=tm7("E-900", "h-900", "2022-07-01", filed_on="2019-12-31"),
        )
        body = refused_without_writing(store, r, 422, clause="TM-1")
        assert body["fields"] == {"filed_on": ["Must not be before 2020-01-01."]}
        r = call(
            api,
            "POST",
            "/claims",
            "hrss_officer",
            json=tm7("E-900", "h-900", "2022-07-01", contract_months=2**63),
        )
        refused_without_writing(store, r, 400, code="invalid_input")

    r = call(
        api,
        "POST",
        "/claims",
        "hrss_officer",
        json=tm7("E-901", "h-901", "2022-07-01", filed_on="2022-07-15"),
    )
    assert r.status_code == 201, r.text
    claim_id = r.json()["claim_id"]
    with NoWrite(store):
        for decided_on, field_error in (
            ("2022-07-14", "Must not be before 2022-07-15."),
            (tomorrow, f"Must not be after {TODAY}."),
            ("2023-01-03", "A fiscal year from 2020 to 2022."),  # its fund year is outside TM-1
        ):
            r = call(
                api,
                "POST",
                f"/claims/{claim_id}/decision",
                "hrss_officer",
                json={"decision": "approve", "decided_on": decided_on},
            )
            body = refused_without_writing(store, r, 422, code="rule_violation")
            assert body["fields"] == {"decided_on": [field_error]}, body


def test_grant_payment_and_repayment_dates_are_bounded(system, api, store):
    assert set_budget(api, "prefecture_finance", 70_000_000).status_code == 200
    start = TODAY - dt.timedelta(days=10)
    publish(
        system, "applications", "TalentCertified", certified("lt-dt", start), ("LT-9.5", "LT-10")
    )
    wait_until("grant", lambda: call(api, "GET", "/grants/lt-dt", "finance").ok)
    with NoWrite(store):
        for paid_on, error in (
            ("9999-12-31", f"Must not be after {TODAY}."),
            ((start - dt.timedelta(days=1)).isoformat(), f"Must not be before {start}."),
        ):
            r = call(
                api,
                "POST",
                "/grants/lt-dt/payments",
                "finance",
                json={"payment_reference": "CZ-DT", "paid_on": paid_on},
            )
            body = refused_without_writing(store, r, 422, clause="LT-10.1")
            assert body["fields"] == {"paid_on": [error]}
    paid = start + dt.timedelta(days=1)
    r = call(
        api,
        "POST",
        "/grants/lt-dt/payments",
        "finance",
        json={"payment_reference": "CZ", "paid_on": paid.isoformat()},
    )
    assert r.status_code == 200 and r.json()["events"][0]["payload"]["paid_on"] == str(paid)
    decided = TODAY - dt.timedelta(days=2)
    publish(system, "assessment", "TalentDisqualified", disqualified("lt-dt", decided), ("LT-14",))
    wait_until(
        "demand",
        lambda: (
            call(api, "GET", "/grants/lt-dt", "finance").json()["grants"][0]["status"]
            == "recovery_demanded"
        ),
    )
    with NoWrite(store):
        for body_extra, status in (
            ({"repaid_on": (decided - dt.timedelta(days=1)).isoformat()}, 422),
            ({"repaid_on": "9999-12-31"}, 422),
            ({"amount_fen": 5_000_001}, 400),
            ({"amount_fen": 2**63}, 400),
        ):
            r = call(
                api,
                "POST",
                "/grants/lt-dt/repayments",
                "finance",
                json={"amount_fen": 100, "reference": "HK", **body_extra},
            )
            assert r.status_code == status, r.text
            assert list(r.json()["fields"]) == list(body_extra), r.text
    r = call(
        api,
        "POST",
        "/grants/lt-dt/repayments",
        "finance",
        json={"amount_fen": 100, "reference": "HK", "repaid_on": decided.isoformat()},
    )
    assert r.status_code == 200, r.text
    history = call(api, "GET", "/grants/lt-dt", "finance").json()["history"]
    assert [h["act_on"] for h in history] == [
        str(start),
        str(paid),
        str(decided),
        str(decided),
    ]
    assert all(h["recorded_at"] for h in history)


@pytest.mark.skipif(
    "person_key" not in REGISTRY.contract("TalentCertified").schema.fields,
    reason="TalentCertified carries no person_key in this contract version",
)
def test_a_person_certified_twice_is_granted_once(system, api, store):
    assert set_budget(api, "prefecture_finance", 80_000_000).status_code == 200
    publish(
        system,
        "applications",
        "TalentCertified",
        certified("lt-p1", person_key="pk-twice"),
        ("LT-9.5", "LT-10"),
    )
    wait_until("first grant", lambda: call(api, "GET", "/grants/lt-p1", "finance").ok)
    publish(
        system,
        "applications",
        "TalentCertified",
        certified("lt-p2", person_key="pk-twice"),
        ("LT-9.5", "LT-10"),
    )
    second = wait_until(
        "second decision",
        lambda: (lambda r: r.json() if r.ok else None)(
            call(api, "GET", "/grants/lt-p2", "finance")
        ),
    )
    [event] = second["history"]
    assert (event["type"], event["clauses"], event["payload"]["ground"]) == (
        "SubsidyGrantDeclined",
        ["LT-10.1"],
        "LT-10.1",
    )
    assert event["payload"]["earlier_grant_id"] == "grant-LT-10.1-lt-p1"
    assert call(api, "GET", "/grants/lt-p1", "finance").json()["grants"][0]["status"] == "granted"
