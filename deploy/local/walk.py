"""Walk one application through the running system, over the services' public HTTP interfaces,
printing what happens at each step:

round opened (if none) → submitted and found eligible → six review stages → public notice →
certified → subsidy granted (50,000 CNY) and paid
→ tenure opened → year-1 report below the threshold → assessment failed → disqualified →
recovery demanded → two partial repayments → recovered → everyone notified.

    python -m deploy.local.walk            (the services must be running: `make run`)
"""
import datetime as dt
import os
import random
import sys
import time
from zoneinfo import ZoneInfo

import requests

from services.subsidies.domain.policy import LT_ENTREPRENEURSHIP_SUBSIDY_FEN
from services.applications.identity import credit_code_check_char, id_check_char
from shared.auth import mint
from shared.calendar import CalendarYearUnknown, WorkingDayCalendar

STAGES = (("county_recommendation", "county_officer"), ("qualification_review",
          "prefecture_officer"), ("expert_review", "expert_chair"), ("inspection", "inspector"),
          ("approval", "leading_group"), ("standing_committee", "standing_committee"))
COUNTY_BODIES = ("organisation_department", "two_new_committee", "finance", "human_resources",
                 "agriculture", "commerce")
COUNTY_CODES = {"楚雄市": "532301", "禄丰市": "532302", "双柏县": "532322", "牟定县": "532323",
                "南华县": "532324", "姚安县": "532325", "大姚县": "532326", "永仁县": "532327",
                "元谋县": "532328", "武定县": "532329"}


def base_urls():
    return {svc: "http://" + os.environ.get(f"{svc.upper()}_HTTP", f"127.0.0.1:{port}")
            for svc, port in (("applications", 8001), ("subsidies", 8002),
                              ("assessment", 8003), ("notifications", 8004))}


class Client:
    """A thin HTTP client that signs each request as the given role."""

    def __init__(self, urls=None, secret=None, out=print):
        self.urls = urls or base_urls()
        self.secret = secret or os.environ.get("AUTH_SECRET",
                                               "dev-only-secret-change-me-in-production!")
        self.out = out
        self.http = requests.Session()

    def call(self, method, service, path, role, actor=None, county=None, json=None,
             expect=(200, 201), headers=None):
        token = mint(self.secret, actor or f"{role}-1", role, county)
        r = self.http.request(method, self.urls[service] + path, json=json, timeout=10,
                              headers={"Authorization": f"Bearer {token}", **(headers or {})})
        if expect and r.status_code not in expect:
            raise RuntimeError(f"{method} {service}{path} as {role}: {r.status_code} {r.text}")
        return r

    def wait_for(self, what, fn, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            result = fn()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.1)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_today():
    """The services' "today": the date in Asia/Shanghai, where the programme runs (the services'
    clock, shared.service.Clock). Not the machine's local date: on a UTC machine that is a day
    behind from 16:00 to 24:00 UTC, and a date written with it is refused as before the day's own
    decisions."""
    return dt.datetime.now(SHANGHAI).date()


def notice_start_for(today, calendar=None):
    """A publication date whose 5-working-day notice has closed before ``today``, counted on days
    the calendar knows (early in a year the library does not know yet, the notice falls in the
    year before)."""
    calendar = calendar or WorkingDayCalendar()
    day = today - dt.timedelta(days=7)
    while True:
        try:
            if calendar.nth_working_day(day, 5) < today:
                return day
        except CalendarYearUnknown:
            pass
        day -= dt.timedelta(days=1)


def fake_id_number(birth, county="楚雄市", rng=random):
    """A valid (made-up) resident ID number of someone born on ``birth`` in ``county``."""
    first17 = f"{COUNTY_CODES[county]}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_check_char(first17)


def fake_credit_code(county="楚雄市", rng=random):
    """A valid (made-up) unified social credit code of an enterprise registered in ``county``."""
    first17 = f"91{COUNTY_CODES[county]}{rng.randrange(10 ** 9):09d}"
    return first17 + credit_code_check_char(first17)


def category_evidence(category, submitted_on, evidence=None):
    """The evidence of ``category`` (LT-6), eligible unless ``evidence`` says otherwise: the
    caller's figures (e.g. ``{"sales_fen": ...}``, the later assessment baseline) over defaults."""
    evidence = dict(evidence or {})
    if category == "LT-6.1":
        registered = submitted_on.replace(year=submitted_on.year - 3, day=1)
        base = {"account_registered_on": registered.strftime("%Y.%m.%d"),
                "activity_proof": "抖音账号近一年每周更新，附后台活跃度截图", "followers": 150_000,
                "exposure": 2_400_000, "local_influence": "宣传楚雄彝族文化系列视频获州级表彰"}
    elif category == "LT-6.2":
        base = {"sales_fen": 45_000_000, "sells_mainly_chuxiong_products": True}
    elif category == "LT-6.3":
        sales = evidence.get("sales_fen", 350_000_000)
        base = {"sales_fen": sales, "sales_fen_year_before": sales * 9 // 10, "jobs_driven": 12,
                "tax_paid_fen": 1_200_000}
    else:
        base = {"sales_fen": 12_000_000}
    return {**base, **evidence}


def application_body(county, name, category, submitted_on, round_year, evidence=None, *,
                     id_number=None, credit_code=None, rng=random, **overrides):
    """The POST /applications body: the whole application form (附件), filled in as the form's
    instructions ask (yyyy.mm.dd dates, periods joining, 无 for empty items)."""
    birth = dt.date(1985 + rng.randrange(10), 1 + rng.randrange(12), 1 + rng.randrange(28))
    id_number = id_number or fake_id_number(birth, county, rng)
    birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    f = "%Y.%m.%d"
    grad = dt.date(birth.year + 22, 7, 1)
    joined = dt.date(birth.year + 27, 3, 1)
    filled = submitted_on - dt.timedelta(days=2)
    employer = f"{name}电子商务有限公司"
    body = {
        "round_year": round_year, "county": county, "submitted_on": submitted_on.isoformat(),
        "category": category, "evidence": category_evidence(category, submitted_on, evidence),
        "declarations": {"political_stance": True, "law_abiding": True,
                         "professional_ethics": True},
        "integrity": {"bad_credit_record": False, "law_or_discipline_violation": False},
        "form": {
            "specialty": "农特产品电子商务", "filled_on": filled.strftime(f),
            "applicant": {
                "name": name, "gender": "男", "birth_date": birth.strftime(f), "ethnicity": "彝族",
                "native_place": f"云南{county}", "id_number": id_number,
                "photo": f"photos/{id_number[-6:]}.jpg", "work_started_on": grad.strftime(f),
                "professional_title": "无", "rank": "无", "administrative_level": "无",
                "political_status": "群众", "party_joined_on": "无",
                "employer_and_position": f"{employer} 总经理", "highest_education": "本科",
                "highest_degree": "学士", "graduated_from": "云南财经大学 电子商务",
                "phone": f"139{rng.randrange(10 ** 8):08d}"},
            "employer": {"name": employer,
                         "credit_code": credit_code or fake_credit_code(county, rng)},
            "education": [{"start": dt.date(grad.year - 4, 9, 1).strftime(f),
                           "end": grad.strftime(f), "school": "云南财经大学", "major": "电子商务",
                           "qualification": "本科", "degree": "学士"}],
            "work_history": [
                {"start": grad.strftime(f), "end": joined.strftime(f), "country": "中国",
                 "employer": "昆明某网络科技有限公司", "position": "运营专员"},
                {"start": joined.strftime(f), "end": "至今", "country": "中国",
                 "employer": employer, "position": "总经理"}],
            "statement": {"basic_conditions": "符合申报基本条件，详见附件",
                          "achievements": "上年度销售额及纳税证明见附件",
                          "employer_stamped_on": filled.strftime(f)},
            "affirmation": {"applicant_affirms": True, "applicant_signed_on": filled.strftime(f),
                            "employer_agrees": True, "employer_stamped_on": filled.strftime(f)},
            "classified_material": False, "materials_to_return": "无"}}
    body.update(overrides)
    return body


def stage_body(stage, decided_on, passed=True, *, score=85, reasons=("不符合条件",)):
    """A review record of ``stage`` (LT-9) as its body signs it."""
    day = decided_on.isoformat()
    body = {"stage": stage, "decision": "pass" if passed else "reject",
            "opinion": "同意" if passed else "不同意", "decided_on": day}
    if not passed:
        body["reasons"] = list(reasons)
    if stage == "county_recommendation":
        body["county_opinions"] = [{"body": b, "agrees": True, "opinion": "同意推荐",
                                    "signed_on": day} for b in COUNTY_BODIES]
    elif stage == "expert_review":
        vote = "for" if passed else "against"
        body["experts"] = [{"name": f"专家{i}", "score": score, "vote": vote} for i in range(1, 6)]
        body["chair"] = {"name": "专家1", "signed_on": day}
    elif stage == "inspection":
        body["findings"] = "经考察，申报材料属实"
        body["discipline_opinion"] = {"body": "州纪委州监委派驻纪检监察组", "clear": True,
                                      "opinion": "无违纪违法问题"}
    return body


def open_round(client, year, quota=10):
    """The ``year`` round, opened for the whole year if nobody has opened it yet (LT-8: a second
    round for a year is refused, so one opened meanwhile is taken as it is)."""
    r = client.call("GET", "applications", f"/rounds/{year}", "prefecture_officer", expect=None)
    if r.status_code == 404:
        r = client.call("POST", "applications", "/rounds", "prefecture_officer",
                        json={"year": year, "quota": quota,
                              "window_opens": f"{year}-01-01", "window_closes": f"{year}-12-31"},
                        expect=(201, 422))
        r = client.call("GET", "applications", f"/rounds/{year}", "prefecture_officer")
    elif r.status_code != 200:
        raise RuntimeError(f"GET /rounds/{year}: {r.status_code} {r.text}")
    return r.json()


def certify(client, county="楚雄市", name="李四", category="LT-6.3",
            evidence=None, out=print):
    """Take one applicant through the whole selection (LT-9) over HTTP: (application_id,
    talent_id). Other tests and tools use this to get a certified talent. ``evidence``: the
    category's figures (e.g. ``{"sales_fen": ...}``, eligible ones: see category_evidence)."""
    today = shanghai_today()
    start = notice_start_for(today)
    submitted = start - dt.timedelta(days=len(STAGES) + 2)
    year = submitted.year
    window = open_round(client, year)
    r = client.call("POST", "applications", "/applications", "county_officer", county=county,
                    json=application_body(county, name, category, submitted, year, evidence))
    app_id = r.json()["application_id"]
    if not r.json()["eligible"]:
        raise RuntimeError(f"{name} is not eligible: {r.json()['failed']}")
    out(f"1. ApplicationSubmitted     application {app_id} ({name}, {county}, {category}), "
        f"round {year} (quota {window['quota']}); EligibilityAssessed: eligible")
    for i, (stage, role) in enumerate(STAGES, start=1):
        client.call("POST", "applications", f"/applications/{app_id}/reviews", role,
                    county=county, json=stage_body(stage, submitted + dt.timedelta(days=i)))
        out(f"{i + 1}. ReviewPassed             stage {stage} by {role}")
    client.call("POST", "applications", f"/applications/{app_id}/notice",
                "prefecture_officer", json={"start_date": start.isoformat()})
    out(f"{len(STAGES) + 2}. PublicNoticeStarted      from {start} for 5 working days (LT-9.5)")
    r = client.call("POST", "applications", f"/applications/{app_id}/certification",
                    "prefecture_officer")
    talent_id = r.json()["events"][0]["payload"]["talent_id"]
    out(f"{len(STAGES) + 3}. TalentCertified          {talent_id}, period of 3 years from "
        f"{today} (LT-10)")
    return app_id, talent_id


def fund_lt_subsidy(client, out=print):
    """Make sure prefecture finance's LT-10.1 budget for this fiscal year has room for one more
    50,000 CNY subsidy, raising it as finance (the grants waiting in its queue first), so that the
    certification which follows is granted at once rather than queued. Returns the fiscal year."""
    year = shanghai_today().year
    r = client.call("GET", "subsidies", f"/funds/prefecture_finance/{year}", "finance",
                    expect=(200, 404))
    fund = r.json() if r.status_code == 200 else {}
    budget, available = fund.get("budget_fen") or 0, fund.get("available_fen", 0)
    short = fund.get("queued_fen", 0) + max(0, LT_ENTREPRENEURSHIP_SUBSIDY_FEN - available)
    if short:
        client.call("POST", "subsidies", f"/funds/prefecture_finance/{year}/budget", "finance",
                    json={"amount_fen": budget + short, "reference": f"walk-{year}"})
        out(f"0. BudgetSet                prefecture finance {year}: "
            f"{(budget + short) / 100:,.2f} CNY for LT-10.1")
    return year


def walk(client, county="楚雄市", name="李四", sales_year1=95_000_000, out=print):
    """Drive one applicant from submission to full recovery; returns the ids involved."""
    today = shanghai_today()
    fund_lt_subsidy(client, out=out)
    app_id, talent_id = certify(client, county, name, out=out)

    grant = client.wait_for("SubsidyGranted", lambda: (lambda j: j if j and j["grants"][0][
        "status"] == "granted" else None)(_ok_json(client.call(
            "GET", "subsidies", f"/grants/{talent_id}", "finance", expect=None))))
    out(f"10. SubsidyGranted           {grant['grants'][0]['amount_fen'] / 100:,.2f} CNY "
        f"(LT-10.1)")
    client.call("POST", "subsidies", f"/grants/{talent_id}/payments", "finance",
                json={"payment_reference": f"PAY-{app_id[:8]}", "paid_on": today.isoformat()})
    out("11. SubsidyPaid             by finance")

    client.wait_for("TenureOpened", lambda: _ok_json(client.call(
        "GET", "assessment", f"/tenures/{talent_id}", "prefecture_officer", expect=None)))
    out("12. TenureOpened            3-year tenure opened for assessment")
    r = client.call("POST", "assessment", f"/tenures/{talent_id}/reports", "talent",
                    actor=talent_id, json={"tenure_year": 1,
                                           "figures": {"sales_fen": sales_year1},
                                           "promotion_activities": 2, "backbones_trained": 5,
                                           "full_time_in_chuxiong": True})
    events = r.json()["events"]
    out(f"13. {events[1]['type']:<24} year 1: {events[1]['payload'].get('reasons', '')}")
    if events[1]["type"] != "AssessmentFailed":
        return {"application_id": app_id, "talent_id": talent_id}
    client.call("POST", "assessment", f"/tenures/{talent_id}/disqualification", "leading_group",
                json={"decided_on": today.isoformat()})
    out("14. TalentDisqualified      approved by the Talent Work Leading Group (LT-14.4)")

    ledger = client.wait_for("SubsidyRecoveryDemanded", lambda: (lambda j: j if j and j[
        "grants"][0]["status"] == "recovery_demanded" else None)(_ok_json(client.call(
            "GET", "subsidies", f"/grants/{talent_id}", "finance", expect=None))))
    demanded = ledger["grants"][0]["demanded_fen"]
    out(f"15. SubsidyRecoveryDemanded {demanded / 100:,.2f} CNY due "
        f"{ledger['grants'][0]['due_on']}")
    first = demanded // 2
    for i, amount in enumerate((first, demanded - first), start=1):
        r = client.call("POST", "subsidies", f"/grants/{talent_id}/repayments", "finance",
                        json={"amount_fen": amount, "reference": f"REPAY-{i}"})
        out(f"{15 + i}. {'SubsidyRepaymentRecorded':<24} {amount / 100:,.2f} CNY"
            + ("  → SubsidyRecovered" if len(r.json()["events"]) > 1 else ""))

    inbox = client.wait_for("notifications", lambda: (lambda j: j if j and "SubsidyRecovered" in {
        m["source_event_type"] for m in j["messages"]} else None)(_ok_json(client.call(
            "GET", "notifications", f"/inbox/talent:{talent_id}", "talent",
            actor=talent_id, expect=None))))
    out(f"18. Notifications           {len(inbox['messages'])} messages in the talent's inbox:")
    for m in inbox["messages"]:
        out(f"      {m['subject']}: {m['body']}")
    return {"application_id": app_id, "talent_id": talent_id}


def _ok_json(response):
    return response.json() if response.status_code == 200 else None


def main():
    try:
        walk(Client())
    except (requests.ConnectionError, RuntimeError, TimeoutError) as exc:
        print(f"walk failed: {exc}\nAre the services running? `make run` starts them; logs are "
              f"in var/log/.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
