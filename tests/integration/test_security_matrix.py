"""The authorisation matrix, walked over every HTTP endpoint of the four services.

The endpoints come from the Nameko service classes themselves (their ``http`` entrypoints), not
from a hand list: a new endpoint is walked the moment it exists. For each one and for every role
(in the home county of the seeded records, and a county officer of another county) the test sends a
request and checks the answer against the one table, ``shared.auth.PERMISSIONS``: denied → 403,
allowed → anything but 401/403. Without a token, with an expired one or with a bad signature every
non-public endpoint answers 401. The public endpoints are the explicit list ``PUBLIC``.

Ownership refinements the matrix cannot express (an applicant acts on their own application, a
talent reads their own grant and tenure, a recipient reads their own inbox) are checked by giving
each role the records it owns, and a county officer of another county the records of the home
county (403).
"""

import datetime as dt
import inspect
import re

import pytest
import requests

from services.applications.service import ApplicationsService
from services.assessment.service import AssessmentService
from services.notifications.service import NotificationsService
from services.subsidies.service import SubsidiesService
from shared.auth import COUNTY_SCOPED, PERMISSIONS, ROLES, mint
from shared.contracts.assessment import GROUND_KINDS
from talent_client.http import Client
from talent_client.samples import (
    STAGES,
    application_body,
    notice_start_for,
    shanghai_today,
    stage_body,
)
from talent_client.steps import open_round
from tests.support.system import running_system

SERVICES = {
    "applications": ApplicationsService,
    "subsidies": SubsidiesService,
    "assessment": AssessmentService,
    "notifications": NotificationsService,
}
HOME, OTHER = "楚雄市", "禄丰市"
APPLICANT = "applicant-sec-1"

# Answer without a token, by design: health checks, metrics and the public feeds (公示, results).
PUBLIC = {
    (svc, "GET", url) for svc in SERVICES for url in ("/health/live", "/health/ready", "/metrics")
} | {
    ("applications", "GET", "/notices"),
    ("notifications", "GET", "/public/notices"),
    ("notifications", "GET", "/public/notices.html"),
    ("notifications", "GET", "/public/assessment-results"),
    ("notifications", "GET", "/public/assessment-results.html"),
}


def http_endpoints():
    """(service, method, url, action, public) of every HTTP entrypoint of the four classes;
    ``action`` is the decorator's (None where the handler picks it from the body)."""
    found = []
    for svc, cls in SERVICES.items():
        for _name, member in inspect.getmembers(cls):
            for entrypoint in getattr(member, "nameko_entrypoints", ()):
                if type(entrypoint).__name__ != "HttpRequestHandler":
                    continue
                closure = inspect.getclosurevars(member).nonlocals
                public = closure.get("public", "action" not in closure)
                found.append(
                    (svc, entrypoint.method, entrypoint.url, closure.get("action"), public)
                )
    return sorted(found, key=lambda e: e[:3])


ENDPOINTS = http_endpoints()


def test_the_walk_sees_every_service_and_the_public_list_is_exact():
    assert {e[0] for e in ENDPOINTS} == set(SERVICES)
    assert len(ENDPOINTS) > 60
    public = {(s, m, u) for s, m, u, _, public in ENDPOINTS if public}
    assert public <= PUBLIC, public - PUBLIC
    assert PUBLIC - public <= {(svc, "GET", "/metrics") for svc in SERVICES}
    for svc, _method, url, action, public in ENDPOINTS:
        assert public or action is None or action in PERMISSIONS, (svc, url, action)


# Endpoints whose action the handler takes from the body: the variants walked.
def _dynamic(svc, url, today):
    if url == "/applications/<application_id>/reviews":
        return [(f"review.{stage}", stage_body(stage, today)) for stage, _ in STAGES]
    if url == "/tenures/<talent_id>/grounds":
        return [
            (
                f"tenure.ground.{kind}",
                {"kind": kind, "occurred_on": today.isoformat(), "description": "安全测试"},
            )
            for kind in GROUND_KINDS
        ]
    raise AssertionError(f"{svc} {url}: no action in the decorator and no variants here")


def _bodies(today, seeded):
    """Valid bodies where a handler validates before it looks at the record's county."""
    day = today.isoformat()
    return {
        "/applications": application_body(HOME, "赵六", "LT-6.3", today, seeded["year"]),
        "/applications/<application_id>/notice": {"start_date": day},
        "/applications/<application_id>/withdrawal": {"reason": "安全测试"},
        "/applications/<application_id>/objections": {
            "received_on": day,
            "source": "群众",
            "summary": "安全测试",
        },
        "/tenures/<talent_id>/reports": {
            "tenure_year": 9,
            "figures": {},
            "promotion_activities": 0,
            "backbones_trained": 0,
            "full_time_in_chuxiong": True,
        },
        "/tenures/<talent_id>/findings": {
            "tenure_year": 9,
            "application_and_innovation": True,
            "other_work": "无",
            "ability_clearly_improved": True,
            "influence_further_increased": True,
        },
        "/tenures/<talent_id>/breaches/<breach_id>/rectification": {
            "deadline": day,
            "requirement": "安全测试",
        },
        "/tenures/<talent_id>/breaches/<breach_id>/rectified": {"rectified_on": day},
        "/tenures/<talent_id>/disqualification": {"decided_on": day},
        "/tenures/<talent_id>/disqualification/decline": {
            "decided_on": day,
            "reasons": ["安全测试"],
        },
    }


def principals(seeded):
    """(label, role, actor, county): every role in the home county (owning the seeded records),
    a county officer of another county, another talent and another applicant."""
    out = []
    for role in sorted(ROLES):
        actor = {"applicant": APPLICANT, "talent": seeded["talent_id"]}.get(role, f"{role}-sec-1")
        out.append((role, role, actor, HOME if role in COUNTY_SCOPED else None))
    out += [
        ("county_officer@other", "county_officer", "county_officer-sec-2", OTHER),
        ("talent@other", "talent", "talent-someone-else", None),
        ("applicant@other", "applicant", "applicant-someone-else", None),
    ]
    return out


def _recipient(label, role, seeded):
    return {
        "talent": f"talent:{seeded['talent_id']}",
        "applicant": f"applicant:{APPLICANT}",
        "county_officer": f"county:{HOME}",
        "county_officer@other": f"county:{HOME}",
        "finance": "finance",
        "leading_group": "leading_group",
        "prefecture_officer": "bureau",
    }.get(label, "bureau")


def _path(url, label, role, actor, seeded):
    values = {
        "application_id": seeded["application_id"],
        "talent_id": seeded["talent_id"],
        "recipient": _recipient(label, role, seeded),
        "breach_id": "breach-0",
        "source": "prefecture_finance",
        "fiscal_year": str(seeded["year"]),
        "claim_id": "claim-none",
        "objection_id": "obj-none",
        "party_id": "party-none",
        "subscriber_id": "sub-none",
        "notification_id": "n-none",
        "letter_id": "999999",
        "year": str(seeded["year"]),
    }
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], url)


# Records that belong to the home county: a county officer of another county is refused them.
COUNTY_RECORDS = re.compile(
    r"^/(applications/<application_id>|tenures/<talent_id>)|^/applications$"
)


def expected_allowed(svc, method, url, action, label, role, actor, county, seeded):
    if role not in PERMISSIONS[action]:
        return False
    if label == "county_officer@other" and (
        COUNTY_RECORDS.search(url)
        and method == "POST"
        or url.startswith(("/applications/<", "/tenures/<"))
    ):
        return False
    if label == "talent@other" and url.startswith(("/tenures/<", "/grants/<")):
        return False
    if label == "applicant@other" and url.startswith("/applications/<"):
        return False
    if svc == "notifications" and "<path:recipient>" in url:
        owns = {
            "talent",
            "applicant",
            "county_officer",
            "finance",
            "leading_group",
            "prefecture_officer",
        }
        if url.startswith("/inbox"):
            return label in owns or role == "auditor"
        return label in owns
    return True


def _seed(client):
    """One application filed by APPLICANT in HOME, taken to certification (a talent, a tenure,
    a grant)."""
    today = shanghai_today()
    start = notice_start_for(today)
    submitted = start - dt.timedelta(days=len(STAGES) + 2)
    year = submitted.year
    open_round(client, year)
    r = client.call(
        "POST",
        "applications",
        "/applications",
        "applicant",
        actor=APPLICANT,
        json=application_body(HOME, "王五", "LT-6.3", submitted, year),
    )
    app_id = r.json()["application_id"]
    for i, (stage, role) in enumerate(STAGES, start=1):
        client.call(
            "POST",
            "applications",
            f"/applications/{app_id}/reviews",
            role,
            county=HOME,
            json=stage_body(stage, submitted + dt.timedelta(days=i)),
        )
    client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/notice",
        "prefecture_officer",
        json={"start_date": start.isoformat()},
    )
    r = client.call(
        "POST", "applications", f"/applications/{app_id}/certification", "prefecture_officer"
    )
    talent_id = r.json()["events"][0]["payload"]["talent_id"]
    client.wait_for(
        "tenure",
        lambda: (
            client.call(
                "GET", "assessment", f"/tenures/{talent_id}", "prefecture_officer", expect=None
            ).status_code
            == 200
        ),
    )
    client.wait_for(
        "grant",
        lambda: (
            client.call(
                "GET", "subsidies", f"/grants/{talent_id}", "finance", expect=None
            ).status_code
            == 200
        ),
    )
    return {"application_id": app_id, "talent_id": talent_id, "year": year}


@pytest.fixture(scope="module")
def system():
    yield from running_system()


@pytest.fixture(scope="module")
def seeded(system):
    return _seed(Client(system.urls, out=lambda *_: None))


def test_every_endpoint_every_role_every_county(system, seeded):
    client = Client(system.urls, out=lambda *_: None)
    today = shanghai_today()
    bodies = _bodies(today, seeded)
    walked, wrong = 0, []
    for svc, method, url, action, public in ENDPOINTS:
        if public:
            continue
        variants = [(action, bodies.get(url, {}))] if action else _dynamic(svc, url, today)
        for var_action, body in variants:
            for label, role, actor, county in principals(seeded):
                allowed = expected_allowed(
                    svc, method, url, var_action, label, role, actor, county, seeded
                )
                path = _path(url, label, role, actor, seeded)
                r = client.call(
                    method,
                    svc,
                    path,
                    role,
                    actor=actor,
                    county=county,
                    json=body if method in ("POST", "PUT") else None,
                    expect=None,
                )
                walked += 1
                assert r.status_code != 500, (svc, method, path, role, r.text)
                got = r.status_code not in (401, 403)
                if got != allowed:
                    wrong.append((svc, method, url, var_action, label, r.status_code, r.text[:200]))
    print(f"\nauthorisation walk: {walked} requests over {len(ENDPOINTS)} endpoints")
    assert not wrong, "\n".join(map(repr, wrong))


def _tokens():
    now = dt.datetime.now(dt.UTC)
    secret = Client().secret
    return {
        "none": None,
        "expired": mint(
            secret, "prefecture_officer-1", "prefecture_officer", now=now - dt.timedelta(hours=9)
        ),
        "bad signature": mint(
            "not-the-secret-" + "x" * 32, "prefecture_officer-1", "prefecture_officer"
        ),
        "not a jwt": "abc.def.ghi",
    }


def test_no_token_expired_or_forged_is_401_everywhere(system, seeded):
    tokens = _tokens()
    wrong = []
    for svc, method, url, _action, public in ENDPOINTS:
        path = _path(url, "prefecture_officer", "prefecture_officer", "p", seeded)
        for name, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = requests.request(
                method, system.urls[svc] + path, headers=headers, json={}, timeout=10
            )
            if public:
                if r.status_code in (401, 403, 500):
                    wrong.append((svc, method, url, name, r.status_code))
            elif r.status_code != 401:
                wrong.append((svc, method, url, name, r.status_code))
            elif not public:
                assert r.json()["code"], r.text
    assert not wrong, "\n".join(map(repr, wrong))


def test_each_service_works_as_its_own_database_role(system, seeded):
    """Migrations ran as the owner; the running service's connections are its role's, which
    cannot rewrite the events (tests/integration/test_security_db_roles.py)."""
    import psycopg2

    for svc in SERVICES:
        conn = psycopg2.connect(system.dsn(svc))
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT DISTINCT usename FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = %s",
                    (svc,),
                )
                assert {u for (u,) in cur.fetchall()} == {f"talent_{svc}_svc"}, svc
                cur.execute(
                    "SELECT has_table_privilege(%s, 'events', 'UPDATE'),"
                    " has_table_privilege(%s, 'events', 'DELETE'),"
                    " has_table_privilege(%s, 'events', 'TRUNCATE'),"
                    " has_table_privilege(%s, 'events', 'INSERT')",
                    (f"talent_{svc}_svc",) * 4,
                )
                assert cur.fetchone() == (False, False, False, True), svc
        finally:
            conn.close()
