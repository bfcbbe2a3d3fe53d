"""The assessment service's use cases (services/assessment/handlers.py) on a fake unit of work:
who may act on a tenure (the authorisation policy, shared/auth.py: county staff in their county,
a talent on their own tenure), that a refused caller runs nothing, and which county's results a
caller reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.assessment import handlers, queries
from services.assessment.domain.tenure import FileAnnualReport, ReportGround
from shared.auth import Principal
from shared.errors import Forbidden, NotFound

TALENT, OTHER = "talent-楚雄-1", "talent-楚雄-2"
TENURES = {TALENT: {"talent_id": TALENT, "county": "楚雄市", "status": "open"}}
REPORT = FileAnnualReport(
    tenure_year=1,
    figures={"sales_fen": 1},
    promotion_activities=1,
    backbones_trained=5,
    full_time_in_chuxiong=True,
    reported_on=dt.date(2027, 6, 1),
)
CALENDAR = object()


class FakeUnitOfWork:
    """Answers the named queries from ``TENURES``; records what it was asked to run."""

    def __init__(self, principal: Principal) -> None:
        self.principal = self.caller = principal
        self.runs: list[tuple[str, Any, dict[str, Any]]] = []

    def query(self, sql: str, args: tuple[Any, ...] = (), one: bool = False) -> Any:
        raise AssertionError(f"unexpected query {sql}")

    def context(self, **extra: Any) -> dict[str, Any]:
        return {"today": dt.date(2027, 6, 1), **extra}

    def run(self, decider: Any, stream_id: str, command: Any, **kwargs: Any) -> list[Any]:
        self.runs.append((stream_id, command, kwargs))
        return []


@pytest.fixture(autouse=True)
def read_models(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int | None, str | None]]:
    asked: list[tuple[int | None, str | None]] = []
    monkeypatch.setattr(
        queries,
        "tenure_row",
        lambda query, talent: dict(TENURES[talent]) if talent in TENURES else None,
    )

    def graded_years(query: Any, year: int | None, county: str | None) -> list[dict[str, Any]]:
        asked.append((year, county))
        return [{"result": "qualified"}, {"result": "unqualified"}, {"result": "qualified"}]

    monkeypatch.setattr(queries, "graded_years", graded_years)
    return asked


def test_a_talent_files_the_report_of_their_own_tenure():
    uow = FakeUnitOfWork(Principal(TALENT, "talent"))
    handlers.file_report(uow, CALENDAR, TALENT, REPORT, expected_version=3)
    assert uow.runs == [
        (
            f"tenure-{TALENT}",
            REPORT,
            {
                "context": {"today": dt.date(2027, 6, 1), "calendar": CALENDAR},
                "expected_version": 3,
                "cur": None,
            },
        )
    ]


def test_a_talent_acts_only_on_their_own_tenure():
    uow = FakeUnitOfWork(Principal(OTHER, "talent"))
    with pytest.raises(Forbidden, match="^a talent acts only on their own tenure$"):
        handlers.file_report(uow, CALENDAR, TALENT, REPORT)
    with pytest.raises(Forbidden, match="own tenure"):
        handlers.read_tenure(uow, TALENT)
    assert uow.runs == []


def test_county_staff_act_only_in_their_county():
    uow = FakeUnitOfWork(Principal("officer-1", "county_officer", "禄丰市"))
    with pytest.raises(
        Forbidden, match="county_officer of 禄丰市 acts only on their own county's records"
    ):
        handlers.file_report(uow, CALENDAR, TALENT, REPORT)
    home = FakeUnitOfWork(Principal("officer-2", "county_officer", "楚雄市"))
    handlers.file_report(home, CALENDAR, TALENT, REPORT)
    assert uow.runs == [] and len(home.runs) == 1


def test_who_reports_a_ground_depends_on_its_kind():
    fraud = ReportGround(
        kind="credit_fraud",
        occurred_on=dt.date(2027, 5, 1),
        description="x",
        reported_on=dt.date(2027, 5, 2),
    )
    county = FakeUnitOfWork(Principal("officer-1", "county_officer", "楚雄市"))
    with pytest.raises(Forbidden, match="may not tenure.ground.credit_fraud"):
        handlers.report_ground(county, CALENDAR, TALENT, fraud)
    bureau = FakeUnitOfWork(Principal("bureau-1", "prefecture_officer"))
    handlers.report_ground(bureau, CALENDAR, TALENT, fraud)
    assert county.runs == [] and [run[1] for run in bureau.runs] == [fraud]


def test_a_talent_without_a_tenure_is_not_found():
    uow = FakeUnitOfWork(Principal(OTHER, "talent"))
    with pytest.raises(NotFound, match=f"no tenure for talent {OTHER}-x"):
        handlers.file_report(uow, CALENDAR, f"{OTHER}-x", REPORT)


def test_county_staff_read_their_own_countys_results(read_models):
    officer = FakeUnitOfWork(Principal("officer-1", "county_officer", "禄丰市"))
    answer = handlers.results(officer, 2028, None)
    assert (answer["county"], read_models) == ("禄丰市", [(2028, "禄丰市")])
    assert answer["summary"] == {"excellent": 0, "qualified": 2, "unqualified": 1}
    assert handlers.results(officer, None, "禄丰市")["county"] == "禄丰市"
    with pytest.raises(
        Forbidden, match="county_officer of 禄丰市 acts only on their own county's records"
    ):
        handlers.results(officer, None, "楚雄市")
    assert read_models == [(2028, "禄丰市"), (None, "禄丰市")]


def test_the_bureau_reads_any_county_or_all(read_models):
    bureau = FakeUnitOfWork(Principal("bureau-1", "prefecture_officer"))
    assert handlers.results(bureau, None, None)["county"] is None
    assert handlers.results(bureau, 2027, "楚雄市")["county"] == "楚雄市"
    assert read_models == [(None, None), (2027, "楚雄市")]
