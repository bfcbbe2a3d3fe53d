"""Valid made-up identities and request bodies for demos, tests and benchmarks: resident ID
numbers and credit codes with correct check characters, the application form filled in as its
instructions ask, each review stage's record, and the dates the services accept them on."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from services.applications.identity import credit_code_check_char, id_check_char
from shared.calendar import CalendarYearUnknown, WorkingDayCalendar
from shared.clock import Clock

STAGES = (
    ("county_recommendation", "county_officer"),
    ("qualification_review", "prefecture_officer"),
    ("expert_review", "expert_chair"),
    ("inspection", "inspector"),
    ("proposal", "prefecture_officer"),
    ("approval", "leading_group"),
    ("standing_committee", "standing_committee"),
)
"""The review stages (LT-9), in order, each with the role that records it (LT-9.5: the Commerce
Bureau's proposal, then the Leading Group and the Standing Committee)."""
COUNTY_BODIES = (
    "organisation_department",
    "two_new_committee",
    "finance",
    "human_resources",
    "agriculture",
    "commerce",
)
"""The county bodies whose opinions the county recommendation carries."""
COUNTY_CODES = {
    "楚雄市": "532301",
    "禄丰市": "532302",
    "双柏县": "532322",
    "牟定县": "532323",
    "南华县": "532324",
    "姚安县": "532325",
    "大姚县": "532326",
    "永仁县": "532327",
    "元谋县": "532328",
    "武定县": "532329",
}
"""Each county's administrative division code (the first six digits of its ID numbers)."""


class Rng(Protocol):
    """What the samples draw their made-up digits from (the ``random`` module, or a seeded
    ``random.Random`` for repeatable data)."""

    def randrange(self, start: int, /) -> int: ...


def shanghai_today() -> dt.date:
    """The services' "today": the date in Asia/Shanghai, where the programme runs (the services'
    clock, shared.clock.Clock). Not the machine's local date: on a UTC machine that is a day
    behind from 16:00 to 24:00 UTC, and a date written with it is refused as before the day's own
    decisions."""
    return Clock().today()


def notice_start_for(today: dt.date, calendar: WorkingDayCalendar | None = None) -> dt.date:
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


def fake_id_number(birth: dt.date, county: str = "楚雄市", rng: Rng = random) -> str:
    """A valid (made-up) resident ID number of someone born on ``birth`` in ``county``."""
    first17 = f"{COUNTY_CODES[county]}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_check_char(first17)


def fake_credit_code(county: str = "楚雄市", rng: Rng = random) -> str:
    """A valid (made-up) unified social credit code of an enterprise registered in ``county``."""
    first17 = f"91{COUNTY_CODES[county]}{rng.randrange(10**9):09d}"
    return first17 + credit_code_check_char(first17)


def category_evidence(
    category: str, submitted_on: dt.date, evidence: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The evidence of ``category`` (LT-6), eligible unless ``evidence`` says otherwise: the
    caller's figures (e.g. ``{"sales_fen": ...}``, the later assessment baseline) over defaults."""
    evidence = dict(evidence or {})
    base: dict[str, Any]
    if category == "LT-6.1":
        registered = submitted_on.replace(year=submitted_on.year - 3, day=1)
        base = {
            "account_registered_on": registered.strftime("%Y.%m.%d"),
            "activity_proof": "抖音账号近一年每周更新，附后台活跃度截图",
            "followers": 150_000,
            "exposure": 2_400_000,
            "local_influence": "宣传楚雄彝族文化系列视频获州级表彰",
        }
    elif category == "LT-6.2":
        base = {"sales_fen": 45_000_000, "sells_mainly_chuxiong_products": True}
    elif category == "LT-6.3":
        sales = evidence.get("sales_fen", 350_000_000)
        base = {
            "sales_fen": sales,
            "sales_fen_year_before": sales * 9 // 10,
            "jobs_driven": 12,
            "tax_paid_fen": 1_200_000,
        }
    else:
        base = {"sales_fen": 12_000_000}
    return {**base, **evidence}


def application_body(
    county: str,
    name: str,
    category: str,
    submitted_on: dt.date,
    round_year: int,
    evidence: Mapping[str, Any] | None = None,
    *,
    id_number: str | None = None,
    credit_code: str | None = None,
    rng: Rng = random,
    **overrides: Any,
) -> dict[str, Any]:
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
        "round_year": round_year,
        "county": county,
        "submitted_on": submitted_on.isoformat(),
        "category": category,
        "evidence": category_evidence(category, submitted_on, evidence),
        "declarations": {
            "political_stance": True,
            "law_abiding": True,
            "professional_ethics": True,
        },
        "integrity": {"bad_credit_record": False, "law_or_discipline_violation": False},
        "form": {
            "specialty": "农特产品电子商务",
            "filled_on": filled.strftime(f),
            "applicant": {
                "name": name,
                "gender": "男",
                "birth_date": birth.strftime(f),
                "ethnicity": "彝族",
                "native_place": f"云南{county}",
                "id_number": id_number,
                "photo": f"photos/{id_number[-6:]}.jpg",
                "work_started_on": grad.strftime(f),
                "professional_title": "无",
                "rank": "无",
                "administrative_level": "无",
                "political_status": "群众",
                "party_joined_on": "无",
                "employer_and_position": f"{employer} 总经理",
                "highest_education": "本科",
                "highest_degree": "学士",
                "graduated_from": "云南财经大学 电子商务",
                "phone": f"139{rng.randrange(10**8):08d}",
            },
            "employer": {
                "name": employer,
                "credit_code": credit_code or fake_credit_code(county, rng),
            },
            "education": [
                {
                    "start": dt.date(grad.year - 4, 9, 1).strftime(f),
                    "end": grad.strftime(f),
                    "school": "云南财经大学",
                    "major": "电子商务",
                    "qualification": "本科",
                    "degree": "学士",
                }
            ],
            "work_history": [
                {
                    "start": grad.strftime(f),
                    "end": joined.strftime(f),
                    "country": "中国",
                    "employer": "昆明某网络科技有限公司",
                    "position": "运营专员",
                },
                {
                    "start": joined.strftime(f),
                    "end": "至今",
                    "country": "中国",
                    "employer": employer,
                    "position": "总经理",
                },
            ],
            "statement": {
                "basic_conditions": "符合申报基本条件，详见附件",
                "achievements": "上年度销售额及纳税证明见附件",
                "employer_stamped_on": filled.strftime(f),
            },
            "affirmation": {
                "applicant_affirms": True,
                "applicant_signed_on": filled.strftime(f),
                "employer_agrees": True,
                "employer_stamped_on": filled.strftime(f),
            },
            "classified_material": False,
            "materials_to_return": "无",
        },
    }
    body.update(overrides)
    return body


def stage_body(
    stage: str,
    decided_on: dt.date,
    passed: bool = True,
    *,
    score: int = 85,
    reasons: Iterable[str] = ("不符合条件",),
    category: str = "LT-6.3",
) -> dict[str, Any]:
    """A review record of ``stage`` (LT-9) as its body signs it, for an applicant of
    ``category`` (the county judges an LT-6.3 applicant's job creation and tax, LT-6.3). The
    proposal (LT-9.5) takes the rank of the expert score."""
    day = decided_on.isoformat()
    body: dict[str, Any] = {
        "stage": stage,
        "decision": "pass" if passed else "reject",
        "opinion": "同意" if passed else "不同意",
        "decided_on": day,
    }
    if not passed:
        body["reasons"] = list(reasons)
    if stage == "county_recommendation":
        body["county_opinions"] = [
            {"body": b, "agrees": True, "opinion": "同意推荐", "signed_on": day}
            for b in COUNTY_BODIES
        ]
        if passed and category == "LT-6.3":
            body["seller_contribution"] = {
                "employment_strong": True,
                "tax_large": False,
                "reasons": "带动就业人数在本县同类企业中居前",
            }
    elif stage == "expert_review":
        vote = "for" if passed else "against"
        body["experts"] = [{"name": f"专家{i}", "score": score, "vote": vote} for i in range(1, 6)]
        body["chair"] = {"name": "专家1", "signed_on": day}
    elif stage == "inspection":
        body["findings"] = "经考察，申报材料属实"
        body["discipline_opinion"] = {
            "body": "州纪委州监委派驻纪检监察组",
            "clear": True,
            "opinion": "无违纪违法问题",
        }
    return body
