"""Eligibility (LT-6, LT-7, LT-10): every condition of the Leading Talent selection checked against
the form, each check recording its clause, the figures compared and whether it passed.

``assess(submission, lookups)`` is pure; ``lookups`` are what the service found in its registry:
``former_yixiang`` (the applicant ever applied to the Yixiang scheme), ``enterprise_talent`` (the
talent the applicant's enterprise already has, or None) and ``enterprise_rivals`` (other live
applications of the same enterprise in this round); the last two are shown, not required (LT-10
one talent per enterprise binds at approval and certification).

A check is *required* when eligibility needs it to pass; the parts of an either/or condition
(LT-6.1, the jobs-or-tax part of LT-6.3) are listed as not required, and the condition they make
up is one required check.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from services.applications.domain import policy

if TYPE_CHECKING:
    from services.applications.domain.application import Submit

NONE = "无"  # LT-form-8: an empty item is written 无

# One check: clause, check, passed, required, and as text where it has them: value, threshold,
# comparison, unit, note.
Check = dict[str, Any]


def at_least(value: int, threshold: int) -> bool:
    """以上 / 届满: the threshold itself counts."""
    return value >= threshold


def more_than(value: int, threshold: int) -> bool:
    """超过: the threshold itself does not count."""
    return value > threshold


def anniversary(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; without such a day (29 February), the month's last day
    (Civil Code art. 202: 没有对应日的，月末日为期间的最后一日)."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, _calendar.monthrange(year, day.month)[1]))


def _check(
    clause: str,
    check: str,
    passed: object,
    *,
    required: bool = True,
    value: object = None,
    threshold: object = None,
    comparison: str | None = None,
    unit: str | None = None,
    note: str | None = None,
) -> Check:
    out: Check = {"clause": clause, "check": check, "passed": bool(passed), "required": required}
    for key, val in (
        ("value", value),
        ("threshold", threshold),
        ("comparison", comparison),
        ("unit", unit),
        ("note", note),
    ):
        if isinstance(val, bool):
            out[key] = "true" if val else "false"
        elif val is not None:
            out[key] = str(val)
    return out


def _stated(text: str | None) -> bool:
    return bool(text and text.strip() != NONE)


def _basic(declarations: Mapping[str, Any]) -> list[Check]:
    """LT-6 (form part 2): the three basic conditions the applicant declares, all required."""
    names = (
        ("political_stance", "拥护中国共产党领导，政治立场坚定"),
        ("law_abiding", "热爱祖国，遵纪守法"),
        ("professional_ethics", "良好的思想道德和职业道德素质"),
    )
    return [
        _check(
            "LT-6",
            f"declaration.{key}",
            declarations.get(key) is True,
            value=declarations.get(key) is True,
            threshold=True,
            comparison="==",
            note=text,
        )
        for key, text in names
    ]


def _influencer(
    evidence: Mapping[str, int], facts: Mapping[str, Any], submitted_on: dt.date
) -> list[Check]:
    """LT-6.1: account registered 2 years or more with activity proof, or more than 100,000
    followers with local influence."""
    registered: dt.date | None = facts.get("account_registered_on")
    aged = registered and anniversary(registered, policy.INFLUENCER_ACCOUNT_YEARS)
    old_enough = aged is not None and aged <= submitted_on
    proof = _stated(facts.get("activity_proof"))
    followers = evidence.get("followers", 0)
    many = more_than(followers, policy.INFLUENCER_FOLLOWERS_ABOVE)
    influence = _stated(facts.get("local_influence"))
    return [
        _check(
            "LT-6.1",
            "account_age",
            old_enough,
            required=False,
            value=aged.isoformat() if aged else NONE,
            threshold=submitted_on.isoformat(),
            comparison="<=",
            unit="date",
            note=f"注册账户{policy.INFLUENCER_ACCOUNT_YEARS}年以上: the account's "
            f"{policy.INFLUENCER_ACCOUNT_YEARS}-year anniversary on or before submission",
        ),
        _check(
            "LT-6.1",
            "activity_proof",
            proof,
            required=False,
            value=proof,
            threshold=True,
            comparison="==",
            note="账号活跃度证明",
        ),
        _check(
            "LT-6.1",
            "followers",
            many,
            required=False,
            value=followers,
            threshold=policy.INFLUENCER_FOLLOWERS_ABOVE,
            comparison=">",
            unit="followers",
            note="粉丝量超过10万 (超过: more than, the threshold itself excluded)",
        ),
        _check(
            "LT-6.1",
            "local_influence",
            influence,
            required=False,
            value=influence,
            threshold=True,
            comparison="==",
            note="在楚雄有一定影响力",
        ),
        _check(
            "LT-6.1",
            "category",
            (old_enough and proof) or (many and influence),
            note="(account_age and activity_proof) or (followers and local_influence)",
        ),
    ]


def _sales(clause: str, evidence: Mapping[str, int], minimum: int, what: str) -> Check:
    sales = evidence.get("sales_fen", 0)
    return _check(
        clause,
        "sales",
        at_least(sales, minimum),
        value=sales,
        threshold=minimum,
        comparison=">=",
        unit="fen",
        note=f"{what} (以上: the threshold itself counts)",
    )


def _live_streamer(evidence: Mapping[str, int], facts: Mapping[str, Any]) -> list[Check]:
    """LT-6.2: previous year's live-stream sales of 300,000 CNY or more, mainly Chuxiong
    specialty products."""
    local = facts.get("sells_mainly_chuxiong_products") is True
    return [
        _sales("LT-6.2", evidence, policy.LIVE_SALES_MIN_FEN, "上年度直播销售额30万元以上"),
        _check(
            "LT-6.2",
            "chuxiong_products",
            local,
            value=local,
            threshold=True,
            comparison="==",
            note="以销售楚雄州特色产品为主",
        ),
    ]


def _seller(evidence: Mapping[str, int]) -> list[Check]:
    """LT-6.3: previous year's e-commerce sales of 3,000,000 CNY or more and growing year on year,
    with employment-driving capacity or a large tax contribution. Under the reading
    "county_judgement" the jobs and tax figures are shown here and judged by the county at its
    recommendation (LT-9.1); under "threshold" they are compared with the named thresholds."""
    sales, before = evidence.get("sales_fen", 0), evidence.get("sales_fen_year_before", 0)
    jobs, tax = evidence.get("jobs_driven", 0), evidence.get("tax_paid_fen", 0)
    checks = [
        _sales("LT-6.3", evidence, policy.SELLER_SALES_MIN_FEN, "上年度电商销售额300万元以上"),
        _check(
            "LT-6.3",
            "growth",
            more_than(sales, before),
            value=sales,
            threshold=before,
            comparison=">",
            unit="fen",
            note="逐年增长: previous year above the year before",
        ),
    ]
    if policy.SELLER_CONTRIBUTION_READING == "threshold":
        assert policy.SELLER_STRONG_JOBS_MIN is not None  # set with the reading
        assert policy.SELLER_LARGE_TAX_MIN_FEN is not None
        strong = at_least(jobs, policy.SELLER_STRONG_JOBS_MIN)
        large = at_least(tax, policy.SELLER_LARGE_TAX_MIN_FEN)
        return checks + [
            _check(
                "LT-6.3",
                "jobs_driven",
                strong,
                required=False,
                value=jobs,
                threshold=policy.SELLER_STRONG_JOBS_MIN,
                comparison=">=",
                unit="jobs",
                note="就业带动能力",
            ),
            _check(
                "LT-6.3",
                "tax_paid",
                large,
                required=False,
                value=tax,
                threshold=policy.SELLER_LARGE_TAX_MIN_FEN,
                comparison=">=",
                unit="fen",
                note="税收贡献较大",
            ),
            _check("LT-6.3", "jobs_or_tax", strong or large, note="jobs_driven or tax_paid"),
        ]
    judged = "judged by the county at its recommendation (LT-9.1), no figure in the rules"
    return checks + [
        _check(
            "LT-6.3",
            "jobs_driven",
            True,
            required=False,
            value=jobs,
            unit="jobs",
            note=f"就业带动能力: shown, {judged}",
        ),
        _check(
            "LT-6.3",
            "tax_paid",
            True,
            required=False,
            value=tax,
            unit="fen",
            note=f"税收贡献较大: shown, {judged}",
        ),
    ]


def _cross_border(evidence: Mapping[str, int]) -> list[Check]:
    """LT-6.4: previous year's cross-border e-commerce sales of 100,000 CNY or more."""
    return [
        _sales(
            "LT-6.4",
            evidence,
            policy.CROSS_BORDER_SALES_MIN_FEN,
            "上年度跨境电商销售额10万元人民币以上",
        )
    ]


def _integrity(integrity: Mapping[str, Any]) -> list[Check]:
    """LT-7: no bad credit record, no violation of law or discipline (enterprise or person)."""
    return [
        _check(
            "LT-7",
            key,
            integrity.get(key) is False,
            value=integrity.get(key) is True,
            threshold=False,
            comparison="==",
            note=note,
        )
        for key, note in (
            ("bad_credit_record", "不良信用记录"),
            ("law_or_discipline_violation", "违法违纪情况"),
        )
    ]


def _exclusions(enterprise_code: str | None, lookups: Mapping[str, Any]) -> list[Check]:
    """LT-10: no former Yixiang applicant. One talent per enterprise (同一企业只认定一名) is about
    certification: several people of one enterprise may apply and be judged, so the enterprise's
    talent and its other applicants in the round are shown here, not required; approval and
    certification refuse a second talent of an enterprise."""
    yixiang = lookups.get("former_yixiang", False)
    checks = [
        _check(
            "LT-10",
            "former_yixiang_applicant",
            not yixiang,
            value=yixiang,
            threshold=False,
            comparison="==",
            note="申报过“彝乡电商创业人才”人员不得重复申报",
        )
    ]
    if not enterprise_code:
        return checks
    talent = lookups.get("enterprise_talent")
    rivals = tuple(lookups.get("enterprise_rivals", ()))
    return checks + [
        _check(
            "LT-10",
            "enterprise_talent",
            talent is None,
            required=False,
            value=talent or NONE,
            threshold=NONE,
            comparison="==",
            note=f"同一企业只认定一名领军人才: talents of enterprise {enterprise_code} "
            "(binds at approval and certification)",
        ),
        _check(
            "LT-10",
            "enterprise_applicants_in_round",
            not rivals,
            required=False,
            value=",".join(rivals) or NONE,
            threshold=NONE,
            comparison="==",
            note=f"other live applications of enterprise {enterprise_code} in this round "
            "(each judged on its merits; the county chooses, LT-9.1)",
        ),
    ]


def assess(submission: Submit, lookups: Mapping[str, Any]) -> tuple[bool, list[Check]]:
    """(eligible, checks) for a ``Submit`` command and the registry ``lookups``."""
    checks = _basic(submission.declarations)
    category, evidence, facts = submission.category, submission.evidence, submission.facts
    if category == "LT-6.1":
        checks += _influencer(evidence, facts, submission.submitted_on)
    elif category == "LT-6.2":
        checks += _live_streamer(evidence, facts)
    elif category == "LT-6.3":
        checks += _seller(evidence)
    else:
        checks += _cross_border(evidence)
    checks += _integrity(submission.integrity)
    checks += _exclusions(submission.enterprise_code, lookups)
    return all(c["passed"] for c in checks if c["required"]), checks


def clauses_of(checks: Iterable[Check]) -> tuple[str, ...]:
    """The clauses an assessment applied, in order, once each."""
    return tuple(dict.fromkeys(c["clause"] for c in checks))
