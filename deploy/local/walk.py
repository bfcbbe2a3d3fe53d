"""Walk one application through the running system, over the services' public HTTP interfaces,
printing what happens at each step:

round opened (if none) → submitted and found eligible → seven review stages → public notice →
certified → subsidy granted (50,000 CNY) and paid
→ tenure opened → a year-1 report refused before its window (LT-11.1) → the county reports the
talent left before the 3 years (LT-14.4) → disqualified → recovery demanded → two partial
repayments → recovered → everyone notified.

    python -m deploy.local.walk            (the services must be running: `make run`)
"""

from __future__ import annotations

import sys
from typing import Any

import requests

from talent_client.http import Client, Out, json_if_ok
from talent_client.samples import shanghai_today
from talent_client.steps import certify, fund_lt_subsidy


def walk(
    client: Client,
    county: str = "楚雄市",
    name: str = "李四",
    sales_year1: int = 95_000_000,
    out: Out = print,
) -> dict[str, Any]:
    """Drive one applicant from submission to full recovery; returns the ids involved."""
    today = shanghai_today()
    fund_lt_subsidy(client, out=out)
    app_id, talent_id = certify(client, county, name, out=out)

    grant = client.wait_for(
        "SubsidyGranted",
        lambda: (lambda j: j if j and j["grants"][0]["status"] == "granted" else None)(
            json_if_ok(
                client.call("GET", "subsidies", f"/grants/{talent_id}", "finance", expect=None)
            )
        ),
    )
    out(f"10. SubsidyGranted           {grant['grants'][0]['amount_fen'] / 100:,.2f} CNY (LT-10.1)")
    client.call(
        "POST",
        "subsidies",
        f"/grants/{talent_id}/payments",
        "finance",
        json={"payment_reference": f"PAY-{app_id[:8]}", "paid_on": today.isoformat()},
    )
    out("11. SubsidyPaid             by finance")

    client.wait_for(
        "TenureOpened",
        lambda: json_if_ok(
            client.call(
                "GET", "assessment", f"/tenures/{talent_id}", "prefecture_officer", expect=None
            )
        ),
    )
    out("12. TenureOpened            3-year tenure opened for assessment")
    r = client.call(
        "POST",
        "assessment",
        f"/tenures/{talent_id}/reports",
        "talent",
        actor=talent_id,
        json={
            "tenure_year": 1,
            "figures": {"sales_fen": sales_year1},
            "promotion_activities": 2,
            "backbones_trained": 5,
            "full_time_in_chuxiong": True,
        },
        expect=(422,),
    )
    out(f"    year-1 report refused ({r.json()['clause']}): {r.json()['fields']['reported_on'][0]}")
    r = client.call(
        "POST",
        "assessment",
        f"/tenures/{talent_id}/grounds",
        "county_officer",
        county=county,
        json={
            "kind": "departure",
            "occurred_on": today.isoformat(),
            "description": "迁往外省全职工作（演示）",
        },
    )
    out(f"13. {'DisqualificationProposed':<24} {r.json()['events'][-1]['payload']['reasons'][0]}")
    client.call(
        "POST",
        "assessment",
        f"/tenures/{talent_id}/disqualification",
        "leading_group",
        json={"decided_on": today.isoformat()},
    )
    out("14. TalentDisqualified      approved by the Talent Work Leading Group (LT-14.4)")

    ledger = client.wait_for(
        "SubsidyRecoveryDemanded",
        lambda: (lambda j: j if j and j["grants"][0]["status"] == "recovery_demanded" else None)(
            json_if_ok(
                client.call("GET", "subsidies", f"/grants/{talent_id}", "finance", expect=None)
            )
        ),
    )
    demanded = ledger["grants"][0]["demanded_fen"]
    out(
        f"15. SubsidyRecoveryDemanded {demanded / 100:,.2f} CNY due {ledger['grants'][0]['due_on']}"
    )
    first = demanded // 2
    for i, amount in enumerate((first, demanded - first), start=1):
        r = client.call(
            "POST",
            "subsidies",
            f"/grants/{talent_id}/repayments",
            "finance",
            json={"amount_fen": amount, "reference": f"REPAY-{i}"},
        )
        out(
            f"{15 + i}. {'SubsidyRepaymentRecorded':<24} {amount / 100:,.2f} CNY"
            + ("  → SubsidyRecovered" if len(r.json()["events"]) > 1 else "")
        )

    inbox = client.wait_for(
        "notifications",
        lambda: (
            lambda j: (
                j
                if j and "SubsidyRecovered" in {m["source_event_type"] for m in j["messages"]}
                else None
            )
        )(
            json_if_ok(
                client.call(
                    "GET",
                    "notifications",
                    f"/inbox/talent:{talent_id}",
                    "talent",
                    actor=talent_id,
                    expect=None,
                )
            )
        ),
    )
    out(f"18. Notifications           {len(inbox['messages'])} messages in the talent's inbox:")
    for m in inbox["messages"]:
        out(f"      {m['subject']}: {m['body']}")
    return {"application_id": app_id, "talent_id": talent_id}


def main() -> int:
    try:
        walk(Client())
    except (requests.ConnectionError, RuntimeError, TimeoutError) as exc:
        print(
            f"walk failed: {exc}\nAre the services running? `make run` starts them; logs are "
            f"in var/log/.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
