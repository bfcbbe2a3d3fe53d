"""The programme's history taken in through ``talent-import`` and carried on live, through the
public HTTP interfaces and the import only: a workbook with a 2022 round and a 2023 round (ten
talents), a Yixiang talent whose 2021 period runs on, transferred under LT-16, the budgets and the
subsidies paid in 2023, a year-1 report, a departure in 2024 disqualified and repaid in two parts; imported twice (the second import changes nothing); then
a year-2 report below the bar, the Leading Group's disqualification and the subsidy recovered in
two parts; ``talent-audit history`` tells the imported person's whole story with each act's date,
its recorded_at and where it came from. Files with a date in the future, before the programme,
in 9999, or a Ten Measures claim outside TM-1's span are refused whole, nothing written.

The assessment service decides on a pinned date inside the followed talent's year-2 report
window (tests/support/assessment_pinned.py); the other services keep the real clock."""

import contextlib
import datetime as dt
import io
import json
import os
import uuid

import psycopg2
import pytest

from services import audit_cli as audit
from services.assessment.domain.schedule import anniversary
from shared.config import dsn_for
from shared.db import create_database, drop_database
from talent_client.http import Client
from talent_client.samples import shanghai_today
from talent_import import cli
from talent_import.workbook import write_workbook
from tests.support.assessment_pinned import start_assessment_on
from tests.support.import_sample import CERTIFICATIONS, DEPARTED, FOLLOWED, history_rows

pytestmark = pytest.mark.e2e
ADMIN = dsn_for("postgres")
BY = "州商务局档案室 王五"
CERTIFIED = next(c[4] for c in CERTIFICATIONS if c[0] == FOLLOWED)
PINNED = anniversary(CERTIFIED, 2) + dt.timedelta(days=11)  # inside year 2's report window
while PINNED.weekday() >= 5:
    PINNED += dt.timedelta(days=1)


@contextlib.contextmanager
def pointed_at(system):
    """``talent-import`` run against the test system: its services' addresses in the
    environment, as an operator's shell has them."""
    saved = dict(os.environ)
    for svc, url in system.urls.items():
        os.environ[f"{svc.upper()}_HTTP"] = url.removeprefix("http://")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_import(system, *argv):
    out = io.StringIO()
    with pointed_at(system):
        code = cli.main([*map(str, argv), "--json"], out=out)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


def count(system, svc, where="true", args=()):
    with contextlib.closing(psycopg2.connect(system.dsn(svc))) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM events WHERE {where}", args)  # noqa: S608 - test's own
        return cur.fetchone()[0]


def ok(response):
    return response.json() if response.status_code == 200 else None


@pytest.fixture(scope="module")
def imported(system, tmp_path_factory):
    start_assessment_on(system, PINNED)
    path = write_workbook(tmp_path_factory.mktemp("import") / "history.xlsx", history_rows())
    code, outcome = run_import(system, path, "--by", BY)
    assert (code, outcome["status"]) == (0, "imported"), outcome
    return path, outcome


def test_the_workbook_is_imported_through_the_services_once(system, imported):
    path, outcome = imported
    client = Client(system.urls, out=lambda *_: None)
    assert outcome["already"] == 0 and outcome["recorded"] > 100
    talents = outcome["talents"]
    assert len(talents) == 11  # ten certified, one transferred
    rounds = client.call("GET", "applications", "/rounds", "prefecture_officer").json()["rounds"]
    assert sorted(r["year"] for r in rounds) == [2022, 2023]

    followed = talents[FOLLOWED]
    app = client.call(
        "GET", "applications", f"/applications/{followed.removeprefix('talent-')}", "auditor"
    ).json()
    certified = next(e for e in app["history"] if e["type"] == "TalentCertified")
    assert certified["payload"]["certified_on"] == CERTIFIED.isoformat()
    provenance = certified["metadata"]["provenance"]
    assert provenance["source"] == "import" and provenance["sheet"] == "talents"
    assert provenance["imported_by"] == BY and len(provenance["file_sha256"]) == 64
    assert certified["recorded_at"][:4] == str(shanghai_today().year)

    for ref, talent_id in talents.items():
        if ref.startswith("YX") or ref == DEPARTED:
            continue
        grant = client.wait_for(
            f"{ref} paid",
            lambda t=talent_id: (lambda g: g if g and g["grants"][0]["status"] == "paid" else None)(
                ok(client.call("GET", "subsidies", f"/grants/{t}", "finance", expect=None))
            ),
        )
        assert grant["grants"][0]["paid_on"][:4] == "2023"
    transferred = client.wait_for(
        "the LT-16 tenure",
        lambda: ok(
            client.call(
                "GET", "assessment", f"/tenures/{talents['YX2021-007']}", "auditor", expect=None
            )
        ),
    )
    assert transferred["talent_id"] == talents["YX2021-007"]
    tenure = ok(client.call("GET", "assessment", f"/tenures/{followed}", "auditor"))
    assert tenure["years"][0]["reported_on"] is not None

    departed = ok(client.call("GET", "subsidies", f"/grants/{talents[DEPARTED]}", "finance"))
    assert departed["grants"][0]["status"] == "recovered"
    left = ok(client.call("GET", "assessment", f"/tenures/{talents[DEPARTED]}", "auditor"))
    assert left["status"] == "disqualified"

    # the same file again: nothing recorded, every command found already there
    stamped = {svc: count(system, svc, "metadata ? 'provenance'") for svc in system.dbs}
    code, again = run_import(system, path, "--by", BY)
    assert (code, again["recorded"], again["already"]) == (0, 0, outcome["recorded"])
    assert {svc: count(system, svc, "metadata ? 'provenance'") for svc in system.dbs} == stamped


def test_an_imported_talent_carries_on_live_to_recovery_and_audit(system, imported):
    _, outcome = imported
    client = Client(system.urls, out=lambda *_: None)
    talent_id = outcome["talents"][FOLLOWED]
    report = {
        "tenure_year": 2,
        "figures": {"sales_fen": 100_000_000},  # far below the baseline: below the bar
        "promotion_activities": 2,
        "backbones_trained": 8,
        "full_time_in_chuxiong": True,
        "reported_on": PINNED.isoformat(),
    }
    filed = client.call(
        "POST",
        "assessment",
        f"/tenures/{talent_id}/reports",
        "talent",
        actor=talent_id,
        json=report,
    ).json()
    kinds = [e["type"] for e in filed["events"]]
    assert "AssessmentFailed" in kinds and "DisqualificationProposed" in kinds
    approved = client.call(
        "POST",
        "assessment",
        f"/tenures/{talent_id}/disqualification",
        "leading_group",
        json={"decided_on": PINNED.isoformat()},
    ).json()
    assert [e["type"] for e in approved["events"]] == ["TalentDisqualified"]
    client.wait_for(
        "SubsidyRecoveryDemanded",
        lambda: (lambda g: g if g and g["grants"][0]["status"] == "recovery_demanded" else None)(
            ok(client.call("GET", "subsidies", f"/grants/{talent_id}", "finance", expect=None))
        ),
    )
    repaid = [
        (2_000_000, "REPAY-1", PINNED + dt.timedelta(days=20)),
        (3_000_000, "REPAY-2", PINNED + dt.timedelta(days=50)),
    ]
    for part, reference, day in repaid:
        client.call(
            "POST",
            "subsidies",
            f"/grants/{talent_id}/repayments",
            "finance",
            json={"amount_fen": part, "reference": reference, "repaid_on": day.isoformat()},
        )
    grant = ok(client.call("GET", "subsidies", f"/grants/{talent_id}", "finance"))
    assert grant["grants"][0]["status"] == "recovered"

    audit_db = f"talent_test_audit_{uuid.uuid4().hex[:8]}"
    create_database(ADMIN, audit_db)
    try:
        args = [a for svc in system.dbs for a in ("--dsn", f"{svc}={system.dsn(svc)}")]
        out = io.StringIO()
        code = audit.main(
            ["history", talent_id, "--json", *args, "--audit-dsn", dsn_for(audit_db)], out=out
        )
        assert code == 0
        events = json.loads(out.getvalue())["events"]
        text = io.StringIO()
        audit.main(["history", talent_id, *args, "--audit-dsn", dsn_for(audit_db)], out=text)
        # the chains verify with the imported events' provenance in them
        verified = io.StringIO()
        assert audit.main(["verify", *args, "--audit-dsn", dsn_for(audit_db)], out=verified) == 0
    finally:
        drop_database(ADMIN, audit_db)
    story = [e for e in events if e["event"] != "NotificationRecorded"]
    kinds = [e["event"] for e in story]
    for name in (
        "ApplicationSubmitted",
        "ReviewPassed",
        "PublicNoticeStarted",
        "TalentCertified",
        "SubsidyGranted",
        "SubsidyPaid",
        "TenureOpened",
        "AnnualReportFiled",
        "AssessmentFailed",
        "TalentDisqualified",
        "SubsidyRecoveryDemanded",
        "SubsidyRepaymentRecorded",
        "SubsidyRecovered",
    ):
        assert name in kinds, (name, kinds)
    by_kind = {}
    for e in story:
        by_kind.setdefault(e["event"], []).append(e)
    certified = by_kind["TalentCertified"][0]
    assert certified["act_on"] == CERTIFIED.isoformat()
    assert certified["recorded_at"][:10] != CERTIFIED.isoformat()
    assert certified["provenance"]["sheet"] == "talents" and certified["source"].startswith(
        "import"
    )
    paid = by_kind["SubsidyPaid"][0]
    assert paid["act_on"][:4] == "2023" and paid["provenance"]["sheet"] == "payments"
    reports = by_kind["AnnualReportFiled"]
    assert [r["source"].split()[0] for r in reports] == ["import", "live"]
    assert [r["act_on"] for r in by_kind["SubsidyRepaymentRecorded"]] == [
        day.isoformat() for _, _, day in repaid
    ]
    assert by_kind["TalentDisqualified"][0]["act_on"] == PINNED.isoformat()
    table = text.getvalue()
    assert f"act on {CERTIFIED.isoformat()}" in table and "import " in table


def _refused_whole(system, tmp_path, name, rows, sheet, column):
    before = {svc: count(system, svc) for svc in ("applications", "subsidies")}
    path = write_workbook(tmp_path / f"{name}.xlsx", rows)
    code, outcome = run_import(system, path, "--by", BY)
    assert (code, outcome["status"]) == (1, "refused"), outcome
    assert any(p.startswith(sheet) and column in p for p in outcome["problems"]), outcome
    sha = outcome["file_sha256"]
    for svc in system.dbs:
        assert count(system, svc, "metadata->'provenance'->>'file_sha256' = %s", (sha,)) == 0
    assert {svc: count(system, svc) for svc in ("applications", "subsidies")} == before


def test_bad_dates_and_an_out_of_span_ten_measures_claim_refuse_the_whole_file(
    system, imported, tmp_path
):
    today = shanghai_today()
    cases = {
        "future": ("talents", "certified_on", today + dt.timedelta(days=30)),
        "before_programme": ("payments", "paid_on", dt.date(2022, 8, 31)),
        "year_9999": ("reports", "reported_on", dt.date(9999, 12, 31)),
    }
    for name, (sheet, column, day) in cases.items():
        rows = history_rows(seed=7)
        rows[sheet][0][column] = day
        _refused_whole(system, tmp_path, name, rows, sheet, column)
    rows = history_rows(seed=8)
    rows["claims"] = [
        {
            "measure": "TM-5",
            "party_id": "grad-2023-001",
            "party_name": "毕业生创业",
            "ecommerce": "是",
            "filed_on": dt.date(2023, 3, 1),  # TM-1: the Ten Measures run 2020-2022
            "graduated_on": dt.date(2021, 7, 1),
            "founded_on": dt.date(2022, 3, 1),
            "entity_name": "楚雄某网店",
            "in_prefecture": "是",
            "effects": "poverty_alleviation,innovation",
            "requested_yuan": 30_000,
        }
    ]
    _refused_whole(system, tmp_path, "tm_out_of_span", rows, "claims", "filed_on")


def test_a_provenance_is_checked_at_the_door_and_refused_from_a_talent(system, imported):
    _, outcome = imported
    client = Client(system.urls, out=lambda *_: None)
    talent_id = outcome["talents"][FOLLOWED]
    before = count(system, "assessment")
    stated = {
        "source": "import",
        "file_sha256": "0" * 64,
        "sheet": "reports",
        "row": 2,
        "step": "report",
        "imported_by": "someone",
    }
    body = {
        "tenure_year": 3,
        "figures": {"sales_fen": 1},
        "promotion_activities": 0,
        "backbones_trained": 0,
        "full_time_in_chuxiong": True,
    }
    for role, header, status in (
        ("talent", json.dumps(stated), 403),
        ("county_officer", json.dumps({**stated, "source": "paper"}), 400),
        ("county_officer", "not json", 400),
    ):
        r = client.call(
            "POST",
            "assessment",
            f"/tenures/{talent_id}/reports",
            role,
            actor=talent_id if role == "talent" else None,
            county="禄丰市" if role != "talent" else None,
            json=body,
            expect=None,
            headers={"X-Talent-Provenance": header},
        )
        assert r.status_code == status, r.text
        assert "X-Talent-Provenance" in r.json()["fields"]
    assert count(system, "assessment") == before
