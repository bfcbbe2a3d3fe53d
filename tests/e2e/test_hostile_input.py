"""Input hostile by design, against the applications and subsidies HTTP interfaces (hypothesis):
generated bodies, query strings and path segments never give a 5xx, and a refused request (4xx)
writes nothing (the event store's head does not move).

Bodies are valid ones with parts replaced by arbitrary JSON, deleted or joined by unknown keys,
whole arbitrary JSON documents, and bytes that are not JSON at all. Examples are bounded
(``EXAMPLES`` per target, no deadline) so the module runs in well under a minute.
"""

import json
import random

import psycopg2
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.auth import mint
from talent_client.http import Client
from talent_client.samples import application_body, shanghai_today, stage_body
from talent_client.steps import open_round
from tests.support.system import running_system

pytestmark = pytest.mark.e2e

EXAMPLES = 50
COUNTY = "楚雄市"
PROBES = settings(max_examples=25, deadline=None)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "",
            "2026-02-30",
            "9999-99-99",
            "'; DROP TABLE events; --",
            "%s",
            "%(x)s",
            "\x00",
            "楚雄市",
            "NaN",
            "-1",
            "1e400",
            "A" * 5000,
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value, prefix=()):
    """Every path into a JSON value (dict keys and list indexes)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _mutated(body, path, how, new, key):
    body = json.loads(json.dumps(body))
    if not path:
        return new if how == "replace" else body
    parent = body
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "replace":
        parent[last] = new
    elif how == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[key] = new
    return body


@st.composite
def hostile(draw, valid):
    """A body: a valid one mutated, arbitrary JSON, or raw bytes."""
    kind = draw(st.sampled_from(["mutate", "mutate", "mutate", "json", "bytes"]))
    if kind == "bytes":
        return draw(
            st.binary(max_size=200)
            | st.sampled_from(
                [b"", b"null", b"[]", b"{", b'{"a": NaN}', b"\xff\xfe", b'"x"', b"1" * 400]
            )
        )
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    body = valid()
    paths = list(_paths(body))
    path = draw(st.sampled_from(paths))
    how = draw(st.sampled_from(["replace", "delete", "add"]))
    if how == "delete" and not path:
        how = "replace"
    new = draw(json_values)
    key = draw(st.text(min_size=1, max_size=12))
    return json.dumps(_mutated(body, path, how, new, key), ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def system():
    yield from running_system(services=("applications", "subsidies"))
    for conn in _CONNS.values():
        conn.close()
    _CONNS.clear()


@pytest.fixture(scope="module")
def seeded(system):
    client = Client(system.urls, out=lambda *_: None)
    today = shanghai_today()
    open_round(client, today.year)
    r = client.call(
        "POST",
        "applications",
        "/applications",
        "county_officer",
        county=COUNTY,
        json=application_body(COUNTY, "孙八", "LT-6.3", today, today.year),
    )
    budget = client.call(
        "POST",
        "subsidies",
        "/funds/employment_fund/2022/budget",  # a fiscal year of TM-1's span
        "finance",
        json={"amount_fen": 100_000_000, "reference": "预算-1"},
    )
    assert budget.status_code in (200, 201), budget.text
    return {
        "application_id": r.json()["application_id"],
        "year": today.year,
        "today": today,
        "client": client,
    }


_CONNS = {}


def head(system, svc):
    """The store's head position (one autocommit connection per database, kept)."""
    dsn = system.dsn(svc)
    if dsn not in _CONNS:
        _CONNS[dsn] = psycopg2.connect(dsn)
        _CONNS[dsn].autocommit = True
    with _CONNS[dsn].cursor() as cur:
        cur.execute("SELECT coalesce(max(global_position), 0) FROM events")
        return cur.fetchone()[0]


def send(system, svc, method, path, role, body=None, county=None, params=None):
    token = mint(Client().secret, f"{role}-h", role, county)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return requests.request(
        method, system.urls[svc] + path, data=body, params=params, headers=headers, timeout=30
    )


def check(system, svc, response, before):
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if 400 <= response.status_code < 500:
        assert head(system, svc) == before, (
            "a refused request wrote events",
            response.status_code,
            response.text[:300],
        )
        if response.headers.get("Content-Type", "").startswith("application/json"):
            assert response.json().get("code"), response.text[:300]


def _tm4(today):
    return {
        "measure": "TM-4",
        "party_id": "E-hostile",
        "party_name": "楚雄某电商有限公司",
        "ecommerce": True,
        "enterprise_size": "small",
        "worker_ref": "w-hostile",
        "worker_group": "registered_unemployed",
        "hired_on": "2022-03-01",  # within the Ten Measures' span (TM-1: 2020–2022)
        "trained_on_the_job": True,
        "monthly_wages_fen": [400_000] * 7,
    }


def targets(seeded):
    """(service, method, path, role, county, valid body)"""
    app, year, today = seeded["application_id"], seeded["year"], seeded["today"]
    return {
        "submit": (
            "applications",
            "POST",
            "/applications",
            "county_officer",
            COUNTY,
            lambda: application_body(COUNTY, "周九", "LT-6.3", today, year, rng=random.Random(9)),
        ),
        "round": (
            "applications",
            "POST",
            "/rounds",
            "prefecture_officer",
            None,
            lambda: {
                "year": year + 1,
                "quota": 5,
                "window_opens": f"{year + 1}-01-01",
                "window_closes": f"{year + 1}-12-31",
            },
        ),
        "review": (
            "applications",
            "POST",
            f"/applications/{app}/reviews",
            "county_officer",
            COUNTY,
            lambda: stage_body("county_recommendation", today),
        ),
        "objection": (
            "applications",
            "POST",
            f"/applications/{app}/objections",
            "prefecture_officer",
            None,
            lambda: {"received_on": today.isoformat(), "summary": "举报", "source": "群众来信"},
        ),
        "yixiang": (
            "applications",
            "POST",
            "/yixiang/applicants",
            "prefecture_officer",
            None,
            lambda: {"id_number": "53230119900101123X", "name": "吴十", "applied_year": 2019},
        ),
        "claim": ("subsidies", "POST", "/claims", "hrss_officer", None, lambda: _tm4(today)),
        "budget": (
            "subsidies",
            "POST",
            "/funds/employment_fund/2022/budget",  # a fiscal year of TM-1's span
            "finance",
            None,
            lambda: {"amount_fen": 200_000_000, "reference": "预算-2"},
        ),
        "decision": (
            "subsidies",
            "POST",
            "/claims/claim-none/decision",
            "hrss_officer",
            None,
            lambda: {"decision": "approve", "reasons": []},
        ),
        "payment": (
            "subsidies",
            "POST",
            "/grants/talent-none/payments",
            "finance",
            None,
            lambda: {"payment_reference": "P-1", "paid_on": today.isoformat()},
        ),
    }


TARGETS = [
    "submit",
    "round",
    "review",
    "objection",
    "yixiang",
    "claim",
    "budget",
    "decision",
    "payment",
]


@pytest.mark.parametrize("target", TARGETS)
def test_hostile_bodies(system, seeded, target):
    svc, method, path, role, county, valid = targets(seeded)[target]

    @SETTINGS
    @given(body=hostile(valid))
    def run(body):
        before = head(system, svc)
        check(system, svc, send(system, svc, method, path, role, body, county), before)

    run()


segments = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "'; DROP TABLE events; --",
        "%s",
        "%00",
        "..a",
        "\u202e",
        "𠜎" * 20,
        "9" * 200,
    ]
) | st.text(min_size=1, max_size=60).filter(lambda s: s not in (".", ".."))
queries = st.dictionaries(
    st.sampled_from(
        ["round", "county", "status", "stage", "measure", "party_id", "overdue", "year"]
    ),
    st.text(max_size=30) | st.sampled_from(["2026", "-1", "9" * 30, "\x00", "'; --"]),
    max_size=4,
)


@pytest.mark.parametrize(
    "svc, template, role",
    [
        ("applications", "/applications/{}", "prefecture_officer"),
        ("applications", "/rounds/{}", "prefecture_officer"),
        ("applications", "/applications/{}/withdrawal", "county_officer"),
        ("subsidies", "/claims/{}", "hrss_officer"),
        ("subsidies", "/ledger/{}", "finance"),
        ("subsidies", "/funds/{}/2026", "finance"),
    ],
)
def test_hostile_path_segments(system, seeded, svc, template, role):
    @PROBES
    @given(segment=segments)
    def run(segment):
        before = head(system, svc)
        method = "POST" if template.endswith("withdrawal") else "GET"
        path = template.format(requests.utils.quote(segment, safe=""))
        check(
            system, svc, send(system, svc, method, path, role, b'{"reason": "x"}', COUNTY), before
        )

    run()


@pytest.mark.parametrize(
    "svc, path, role",
    [
        ("applications", "/applications", "county_officer"),
        ("applications", "/notices", "prefecture_officer"),
        ("subsidies", "/claims", "hrss_officer"),
        ("subsidies", "/recoveries", "finance"),
        ("subsidies", "/funds", "finance"),
        ("subsidies", "/totals", "finance"),
    ],
)
def test_hostile_query_strings(system, seeded, svc, path, role):
    @PROBES
    @given(params=queries)
    def run(params):
        before = head(system, svc)
        check(system, svc, send(system, svc, "GET", path, role, None, COUNTY, params), before)

    run()
