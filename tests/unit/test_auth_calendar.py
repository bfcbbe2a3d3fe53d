"""Tokens and the permission matrix (shared.auth); the working-day calendar (shared.calendar)."""

import base64
import datetime as dt
import json

import jwt
import pytest

from shared.auth import COUNTY_SCOPED, PERMISSIONS, ROLES, Principal, authenticate, authorize, mint
from shared.calendar import CalendarYearUnknown, WorkingDayCalendar
from shared.errors import Forbidden, RuleViolation, Unauthenticated

D = dt.date
UTC = dt.UTC
SECRET = "unit-test-secret-0123456789abcdef-0123456789"
OTHER_SECRET = "another-secret-fedcba9876543210-fedcba987654"


def bearer(token):
    return f"Bearer {token}"


def _b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


# -- tokens --------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", sorted(ROLES))
def test_mint_authenticate_round_trip(role):
    principal = authenticate(SECRET, bearer(mint(SECRET, f"{role}-7", role)))
    assert (principal.actor_id, principal.role, principal.county) == (f"{role}-7", role, None)


def test_round_trip_keeps_the_county():
    principal = authenticate(SECRET, bearer(mint(SECRET, "co-1", "county_officer", "禄丰市")))
    assert (principal.actor_id, principal.role, principal.county) == (
        "co-1",
        "county_officer",
        "禄丰市",
    )


def test_token_claims():
    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    token = mint(SECRET, "fin-1", "finance", now=now, ttl=dt.timedelta(hours=1))
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "sub": "fin-1",
        "role": "finance",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 3600,
    }


def test_expired_token_refused():
    issued = dt.datetime.now(UTC) - dt.timedelta(hours=9)
    token = mint(SECRET, "a-1", "applicant", now=issued)  # default ttl: 8 hours
    with pytest.raises(Unauthenticated, match="token expired"):
        authenticate(SECRET, bearer(token))


def test_token_valid_until_it_expires():
    issued = dt.datetime.now(UTC) - dt.timedelta(hours=7, minutes=50)
    assert (
        authenticate(SECRET, bearer(mint(SECRET, "a-1", "applicant", now=issued))).role
        == "applicant"
    )


def test_tampered_signature_refused():
    header, payload, signature = mint(SECRET, "a-1", "applicant").split(".")
    middle = len(signature) // 2
    flipped = (
        signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    )
    with pytest.raises(Unauthenticated, match="invalid token"):
        authenticate(SECRET, bearer(f"{header}.{payload}.{flipped}"))


def test_tampered_claims_refused():
    header, payload, signature = mint(SECRET, "a-1", "applicant").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "leading_group"
    with pytest.raises(Unauthenticated, match="invalid token"):
        authenticate(SECRET, bearer(f"{header}.{_b64(claims)}.{signature}"))


def test_wrong_secret_refused():
    with pytest.raises(Unauthenticated, match="invalid token"):
        authenticate(OTHER_SECRET, bearer(mint(SECRET, "a-1", "applicant")))


def test_unsigned_token_refused():
    exp = int((dt.datetime.now(UTC) + dt.timedelta(hours=1)).timestamp())
    claims = {"sub": "x", "role": "system", "exp": exp}
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(Unauthenticated, match="invalid token"):
        authenticate(SECRET, bearer(token))


def test_unknown_role_cannot_be_minted():
    with pytest.raises(ValueError, match="unknown role"):
        mint(SECRET, "x-1", "mayor")


def test_token_with_an_unknown_role_refused():
    exp = dt.datetime.now(UTC) + dt.timedelta(hours=1)
    token = jwt.encode({"sub": "x-1", "role": "mayor", "exp": exp}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="unknown role mayor"):
        authenticate(SECRET, bearer(token))


@pytest.mark.parametrize("missing", ["sub", "role", "exp"])
def test_token_missing_a_required_claim_refused(missing):
    claims = {
        "sub": "x-1",
        "role": "applicant",
        "exp": dt.datetime.now(UTC) + dt.timedelta(hours=1),
    }
    del claims[missing]
    with pytest.raises(Unauthenticated, match="invalid token"):
        authenticate(SECRET, bearer(jwt.encode(claims, SECRET, algorithm="HS256")))


@pytest.mark.parametrize(
    "header", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "bearer x.y.z", "Bearer not-a-jwt"]
)
def test_missing_or_malformed_authorization_refused(header):
    with pytest.raises(Unauthenticated):
        authenticate(SECRET, header)


# -- authorization: the whole matrix ------------------------------------------------------------
MATRIX = [(action, role) for action in sorted(PERMISSIONS) for role in sorted(ROLES)]


@pytest.mark.parametrize("action, role", MATRIX)
def test_authorize_matrix(action, role):
    principal = Principal(f"{role}-1", role, "楚雄市" if role in COUNTY_SCOPED else None)
    if role in PERMISSIONS[action]:
        authorize(principal, action)
        authorize(principal, action, "楚雄市")
    else:
        with pytest.raises(Forbidden) as info:
            authorize(principal, action)
        assert info.value.details == {"allowed_roles": sorted(PERMISSIONS[action])}


# The matrix as reviewed against LT-9/LT-10/LT-13/LT-14: widening or narrowing it must be a
# deliberate change of this test too.
REVIEWED = {
    "application.submit": "applicant county_officer",
    "application.read": "applicant auditor county_officer expert_chair inspector leading_group "
    "prefecture_officer standing_committee",
    "review.county_recommendation": "county_officer",
    "review.qualification_review": "prefecture_officer",
    "review.expert_review": "expert_chair",
    "review.inspection": "inspector",
    "review.proposal": "prefecture_officer",
    "review.approval": "leading_group",
    "review.standing_committee": "standing_committee",
    "round.open": "prefecture_officer",
    "application.withdraw": "applicant county_officer",
    "objection.record": "prefecture_officer",
    "objection.resolve": "prefecture_officer",
    "yixiang.import": "prefecture_officer",
    "person.erase": "prefecture_officer",
    "notice.start": "prefecture_officer",
    "notice.close": "prefecture_officer",
    "grant.pay": "finance",
    "grant.repay": "finance",
    "grant.read": "auditor finance prefecture_officer talent",
    "budget.set": "finance",
    "budget.read": "auditor finance hrss_officer prefecture_officer",
    "claim.file": "hrss_officer",
    "claim.decide": "hrss_officer",
    "claim.pay": "finance",
    "claim.read": "auditor finance hrss_officer",
    "ledger.read": "auditor finance hrss_officer prefecture_officer",
    "tenure.report": "county_officer talent",
    "tenure.read": "auditor county_officer leading_group prefecture_officer talent",
    "tenure.findings": "county_officer",
    "tenure.rectification": "county_officer",
    "tenure.ground.refusal": "county_officer prefecture_officer",
    "tenure.ground.violation": "county_officer prefecture_officer",
    "tenure.ground.credit_fraud": "prefecture_officer",
    "tenure.ground.departure": "county_officer",
    "tenure.ground.other": "prefecture_officer",
    "assessment.results.read": "auditor county_officer leading_group prefecture_officer",
    "deadlines.run": "prefecture_officer system",
    "disqualification.approve": "leading_group",
    "disqualification.decline": "leading_group",
    "inbox.read": " ".join(ROLES),
    "dead_letters.manage": "prefecture_officer system",
    "subscriber.manage": "prefecture_officer",
    "contact.manage": "applicant county_officer finance leading_group prefecture_officer talent",
    "delivery.read": "auditor prefecture_officer",
    "delivery.redrive": "prefecture_officer",
}


def test_matrix_is_the_reviewed_one():
    assert {a: set(r.split()) for a, r in REVIEWED.items()} == PERMISSIONS
    assert set(ROLES) == {
        "applicant",
        "county_officer",
        "prefecture_officer",
        "expert_chair",
        "inspector",
        "leading_group",
        "standing_committee",
        "finance",
        "talent",
        "auditor",
        "system",
        "hrss_officer",
    }


def test_matrix_names_only_known_roles():
    assert COUNTY_SCOPED == {"county_officer"}
    for action, roles in PERMISSIONS.items():
        assert roles and roles <= set(ROLES), action
    assert PERMISSIONS["inbox.read"] == set(ROLES)


def test_unknown_action_refused():
    with pytest.raises(Forbidden, match="unknown action"):
        authorize(Principal("p-1", "prefecture_officer"), "application.delete")


@pytest.mark.parametrize(
    "action", sorted(a for a, r in PERMISSIONS.items() if "county_officer" in r)
)
def test_county_officer_acts_only_in_their_county(action):
    officer = Principal("co-1", "county_officer", "楚雄市")
    authorize(officer, action, "楚雄市")
    with pytest.raises(
        Forbidden, match="county_officer of 楚雄市 acts only on their own county's records"
    ):
        authorize(officer, action, "禄丰市")
    with pytest.raises(Forbidden):
        authorize(Principal("co-2", "county_officer", None), action, "禄丰市")


@pytest.mark.parametrize("role", sorted(PERMISSIONS["application.read"] - COUNTY_SCOPED))
def test_other_roles_are_not_county_scoped(role):
    authorize(Principal("p-1", role, "楚雄市"), "application.read", "禄丰市")


# -- calendar ------------------------------------------------------------------------------------
MADE_UP_2027 = {
    "2027": {
        "holidays": [
            "2027-10-01",
            "2027-10-04",
            "2027-10-05",
            "2027-10-06",
            "2027-10-07",
            "2027-03-03",
        ],
        "workdays": ["2027-09-26", "2027-10-09"],
    }
}


@pytest.mark.parametrize(
    "day, working",
    [
        (D(2027, 10, 1), False),  # a listed holiday (Friday)
        (D(2027, 3, 3), False),  # a made-up Wednesday holiday
        (D(2027, 9, 26), True),  # an adjusted working Sunday
        (D(2027, 10, 9), True),  # an adjusted working Saturday
        (D(2027, 10, 2), False),  # an ordinary Saturday
        (D(2027, 10, 8), True),  # an ordinary Friday
        (D(2027, 1, 1), True),  # not listed: an override year is exactly what it lists
    ],
)
def test_an_override_year(day, working):
    assert WorkingDayCalendar(MADE_UP_2027).is_working_day(day) is working


def test_override_year_counts_notice_days():
    calendar = WorkingDayCalendar(MADE_UP_2027)
    assert calendar.nth_working_day(D(2027, 9, 26), 5) == D(2027, 9, 30)
    assert calendar.nth_working_day(D(2027, 9, 29), 5) == D(2027, 10, 11)  # 29, 30, 8, 9, 11


def test_overrides_take_precedence_over_the_library():
    plain = WorkingDayCalendar()
    assert plain.is_working_day(D(2026, 10, 1)) is False  # National Day 2026
    assert plain.is_working_day(D(2026, 10, 10)) is True  # its adjusted Saturday
    assert plain.is_working_day(D(2026, 11, 23)) is True
    assert plain.is_working_day(D(2026, 2, 17)) is False  # Spring Festival 2026
    overridden = WorkingDayCalendar(
        {2026: {"holidays": [D(2026, 11, 23)], "workdays": [D(2026, 10, 1), "2026-11-22"]}}
    )
    assert overridden.is_working_day(D(2026, 10, 1)) is True
    assert overridden.is_working_day(D(2026, 11, 22)) is True  # a Sunday made working
    assert overridden.is_working_day(D(2026, 11, 23)) is False
    assert overridden.is_working_day(D(2026, 10, 10)) is False  # a plain Saturday now
    assert overridden.is_working_day(D(2026, 2, 17)) is True  # the whole year is replaced
    assert overridden.is_working_day(D(2025, 10, 1)) is False  # other years: the library


def test_library_knows_the_2025_national_day():
    calendar = WorkingDayCalendar()
    assert [calendar.is_working_day(D(2025, 9, 28) + dt.timedelta(days=i)) for i in range(15)] == [
        True
    ] * 3 + [False] * 8 + [True] * 3 + [False]  # 28 Sep .. 12 Oct


def test_nth_working_day_counts_a_working_start_as_day_one():
    calendar = WorkingDayCalendar()
    assert calendar.nth_working_day(D(2026, 11, 23), 1) == D(2026, 11, 23)
    assert calendar.nth_working_day(D(2026, 11, 21), 1) == D(2026, 11, 23)
    assert calendar.nth_working_day(D(2025, 9, 29), 5) == D(2025, 10, 11)


def test_unknown_year_is_an_error_not_a_guess():
    calendar = WorkingDayCalendar()
    with pytest.raises(CalendarYearUnknown) as info:
        calendar.is_working_day(D(2099, 6, 1))
    assert isinstance(info.value, RuleViolation)
    assert info.value.clause == "LT-9.5"
    assert info.value.code == "calendar_year_unknown"
    assert info.value.details == {"year": 2099}
    assert "2099" in info.value.message


def test_counting_into_an_unknown_year_raises():
    with pytest.raises(CalendarYearUnknown) as info:
        WorkingDayCalendar().nth_working_day(D(2026, 12, 28), 5)
    assert info.value.details == {"year": 2027}


def test_an_override_makes_an_unknown_year_known():
    calendar = WorkingDayCalendar({2099: {"holidays": ["2099-01-01"], "workdays": []}})
    assert calendar.is_working_day(D(2099, 1, 1)) is False  # a Thursday, listed
    assert calendar.is_working_day(D(2099, 1, 2)) is True  # a Friday
    assert calendar.nth_working_day(D(2099, 1, 1), 2) == D(2099, 1, 5)
    with pytest.raises(CalendarYearUnknown):
        calendar.is_working_day(D(2098, 12, 31))
