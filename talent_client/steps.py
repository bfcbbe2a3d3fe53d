"""Steps through the running system over HTTP that demos and tests share: opening a round,
taking an applicant through the whole selection to certification, and making room in prefecture
finance's budget for the subsidy the certification is granted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from talent_client.http import Client, Out
from talent_client.samples import (
    STAGES,
    application_body,
    notice_start_for,
    shanghai_today,
    stage_body,
)

LT_10_1_SUBSIDY_FEN = 50_000 * 100
"""The one-time entrepreneurship subsidy LT-10.1 grants a certified talent (州财政给予…5万元), as the
published policy states it. The budget has to have room for it before the certification it
follows, when no grant has answered with its amount yet; the amount actually granted is read from
the grant (GET /grants/<talent_id>)."""


def open_round(client: Client, year: int, quota: int = 10) -> dict[str, Any]:
    """The ``year`` round, opened for the whole year if nobody has opened it yet (LT-8: a second
    round for a year is refused, so one opened meanwhile is taken as it is)."""
    r = client.call("GET", "applications", f"/rounds/{year}", "prefecture_officer", expect=None)
    if r.status_code == 404:
        r = client.call(
            "POST",
            "applications",
            "/rounds",
            "prefecture_officer",
            json={
                "year": year,
                "quota": quota,
                "window_opens": f"{year}-01-01",
                "window_closes": f"{year}-12-31",
            },
            expect=(201, 422),
        )
        r = client.call("GET", "applications", f"/rounds/{year}", "prefecture_officer")
    elif r.status_code != 200:
        raise RuntimeError(f"GET /rounds/{year}: {r.status_code} {r.text}")
    return r.json()


def certify(
    client: Client,
    county: str = "楚雄市",
    name: str = "李四",
    category: str = "LT-6.3",
    evidence: Mapping[str, Any] | None = None,
    out: Out = print,
) -> tuple[str, str]:
    """Take one applicant through the whole selection (LT-9) over HTTP: (application_id,
    talent_id). Other tests and tools use this to get a certified talent. ``evidence``: the
    category's figures (e.g. ``{"sales_fen": ...}``, eligible ones: see category_evidence)."""
    today = shanghai_today()
    start = notice_start_for(today)
    submitted = start - dt.timedelta(days=len(STAGES) + 2)
    year = submitted.year
    window = open_round(client, year)
    r = client.call(
        "POST",
        "applications",
        "/applications",
        "county_officer",
        county=county,
        json=application_body(county, name, category, submitted, year, evidence),
    )
    app_id = r.json()["application_id"]
    if not r.json()["eligible"]:
        raise RuntimeError(f"{name} is not eligible: {r.json()['failed']}")
    out(
        f"1. ApplicationSubmitted     application {app_id} ({name}, {county}, {category}), "
        f"round {year} (quota {window['quota']}); EligibilityAssessed: eligible"
    )
    for i, (stage, role) in enumerate(STAGES, start=1):
        client.call(
            "POST",
            "applications",
            f"/applications/{app_id}/reviews",
            role,
            county=county,
            json=stage_body(stage, submitted + dt.timedelta(days=i), category=category),
        )
        out(f"{i + 1}. ReviewPassed             stage {stage} by {role}")
    client.call(
        "POST",
        "applications",
        f"/applications/{app_id}/notice",
        "prefecture_officer",
        json={"start_date": start.isoformat()},
    )
    out(f"{len(STAGES) + 2}. PublicNoticeStarted      from {start} for 5 working days (LT-9.5)")
    r = client.call(
        "POST", "applications", f"/applications/{app_id}/certification", "prefecture_officer"
    )
    talent_id = r.json()["events"][0]["payload"]["talent_id"]
    out(
        f"{len(STAGES) + 3}. TalentCertified          {talent_id}, period of 3 years from "
        f"{today} (LT-10)"
    )
    return app_id, talent_id


def fund_lt_subsidy(client: Client, out: Out = print) -> int:
    """Make sure prefecture finance's LT-10.1 budget for this fiscal year has room for one more
    subsidy, raising it as finance (the grants waiting in its queue first), so that the
    certification which follows is granted at once rather than queued. Returns the fiscal year."""
    year = shanghai_today().year
    r = client.call(
        "GET", "subsidies", f"/funds/prefecture_finance/{year}", "finance", expect=(200, 404)
    )
    fund = r.json() if r.status_code == 200 else {}
    budget, available = fund.get("budget_fen") or 0, fund.get("available_fen", 0)
    short = fund.get("queued_fen", 0) + max(0, LT_10_1_SUBSIDY_FEN - available)
    if short:
        client.call(
            "POST",
            "subsidies",
            f"/funds/prefecture_finance/{year}/budget",
            "finance",
            json={"amount_fen": budget + short, "reference": f"walk-{year}"},
        )
        out(
            f"0. BudgetSet                prefecture finance {year}: "
            f"{(budget + short) / 100:,.2f} CNY for LT-10.1"
        )
    return year
