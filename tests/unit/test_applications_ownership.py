"""Who may act on an application once the role may do the action: a county officer within their
county, an applicant on their own application only (one filed by the county for someone without
an account is nobody's), another service on any."""

from __future__ import annotations

import types

import pytest

from services.applications.handlers import authorized
from shared.auth import Principal
from shared.errors import Forbidden, NotFound


def row(applicant_id: str | None = "applicant-lin", county: str = "楚雄市") -> dict:
    return {"application_id": "app-1", "county": county, "applicant_id": applicant_id}


def uow(principal: Principal | None) -> types.SimpleNamespace:
    return types.SimpleNamespace(principal=principal)


def test_an_applicant_acts_on_their_own_application_only() -> None:
    lin = uow(Principal("applicant-lin", "applicant"))
    assert authorized(lin, row(), "app-1", "application.read") == row()
    for other in (row("applicant-wang"), row(None)):
        with pytest.raises(Forbidden) as info:
            authorized(lin, other, "app-1", "application.withdraw")
        assert info.value.message == "not found or not permitted"


def test_county_officers_act_within_their_county_and_the_bureau_on_any() -> None:
    officer = uow(Principal("officer-1", "county_officer", "楚雄市"))
    assert authorized(officer, row(None), "app-1", "application.withdraw")
    with pytest.raises(Forbidden):
        authorized(officer, row(county="禄丰市"), "app-1", "application.read")
    bureau = uow(Principal("officer-2", "prefecture_officer"))
    assert authorized(bureau, row(None, "禄丰市"), "app-1", "notice.start")


def test_another_service_reads_any_and_a_missing_application_is_not_found() -> None:
    assert authorized(uow(None), row("applicant-wang"), "app-1", "application.read")
    with pytest.raises(NotFound, match="application app-9 not found"):
        authorized(uow(None), None, "app-9", "application.read")
