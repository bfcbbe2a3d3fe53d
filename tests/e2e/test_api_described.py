"""Each running service serves its OpenAPI description at ``/openapi.json``, and a property-based
API tester driven by it (schemathesis) finds no 5xx and no answer that does not conform: status
code documented, content type, headers and body as described, both for input the description
allows and for input it refuses. Bounded: a few generated examples per operation and mode
(``EXAMPLES``), without shrinking."""

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared import openapi
from shared.auth import PERMISSIONS, mint
from shared.web import json_response
from talent_client.http import Client
from tests.unit.test_openapi import SERVICES, service_class

pytestmark = pytest.mark.e2e

EXAMPLES = 6
"""Generated cases per operation: with about 80 operations, a minute or two on a small machine."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# the role an operation is called as: one its permission allows, not tied to a county or person
PREFERRED = ("prefecture_officer", "finance", "hrss_officer", "leading_group", "auditor")


def role_for(action):
    allowed = PERMISSIONS.get(action, {"prefecture_officer"}) if action else {"prefecture_officer"}
    return next((r for r in PREFERRED if r in allowed), sorted(allowed)[0])


@pytest.mark.parametrize("svc", SERVICES)
def test_each_service_serves_its_description(system, svc):
    r = requests.get(system.urls[svc] + "/openapi.json", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    expected = json_response(200, openapi.document(service_class(svc))).get_data()
    assert r.json() == json.loads(expected)


def exercise(operation, base_url, session, authorization, calls, mode):
    """``EXAMPLES`` generated calls of one operation, each response checked (``CHECKS``):
    with input the description allows (positive) or input it refuses (negative)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        response = case.call(
            base_url=base_url, session=session, headers={"Authorization": authorization}, timeout=30
        )
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    try:
        call()
    except Unsatisfiable:  # nothing to get wrong: an operation without parameters or body
        assert (
            mode == GenerationMode.NEGATIVE
            and not operation.body
            and not any(True for _ in operation.iter_parameters())
        )


@pytest.mark.parametrize("svc", SERVICES)
def test_property_based_calls_find_no_5xx_and_no_answer_off_the_description(system, svc):
    document = requests.get(system.urls[svc] + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    client = Client(system.urls)
    actions = {
        (r.method, openapi.openapi_path(r.url)[0]): r.action
        for r in openapi.routes(service_class(svc))
    }
    session = requests.Session()
    failures, calls = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        action = actions[(operation.method.upper(), operation.path)]
        role = role_for(action)
        county = "楚雄市" if role == "county_officer" else None
        token = mint(client.secret, f"schemathesis-{role}", role, county)

        try:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                exercise(operation, system.urls[svc], session, f"Bearer {token}", calls, mode)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    print(svc, "status codes:", {c: calls.count(c) for c in sorted(set(calls))})
    assert not failures, "\n\n".join(failures)
    assert len(calls) >= len(actions) and all(code < 500 for code in calls)
    assert sum(200 <= code < 300 for code in calls) >= 5  # not only refusals


def test_the_router_refuses_in_the_error_shape_too(system):
    """A path no rule matches (or an integer segment that is not one) and a method a path does
    not take are answered with the JSON error body, as every endpoint's refusals are."""
    for path in ("/no/such/thing", "/rounds/-1", "/rounds/2026.5"):
        r = requests.get(system.urls["applications"] + path, timeout=10)
        assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"
        assert r.json()["code"] == "not_found" and path in r.json()["message"]
    r = requests.delete(
        system.urls["subsidies"] + "/claims", headers={"X-Correlation-ID": "c-1"}, timeout=10
    )
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert r.headers["X-Correlation-ID"] == "c-1"
