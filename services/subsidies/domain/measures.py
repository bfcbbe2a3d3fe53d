"""The Ten Measures' subsidies (十条措施), one function per measure: eligibility (a refusal names
the clause and the field) and the calculated amount, whose breakdown cites the clause of every
line. Pure: the facts come in typed (dates as ``date``), ``context`` carries "today", the claim's
filing date ``filed_on`` and the configured TM-7 2020 rate.

Each measure names its act too (``acts``): the fact dates that TM-1's span binds (the hire, the
founding, the internships) or, where the claim itself is the act (the loan applied for, the
base's award applied for), none: the filing date is then the act.

Each measure also names its claim key: the party (and, where the measure pays per person or per
period, that person or period) that may be paid only once for it. The key is the claim's stream
id, so a second claim for the same measure, party and period meets the first one's stream.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, NoReturn, TypedDict

from services.subsidies.domain import policy
from services.subsidies.domain.money import Line, line, yuan
from shared.errors import RuleViolation

Facts = Mapping[str, Any]  # a measure's facts, typed (dates as date)

SUBSIDY, LOAN_CEILING = "subsidy", "loan_ceiling"


class Finding(TypedDict):
    """One finding of eligibility."""

    clause: str
    finding: str


@dataclass(frozen=True)
class Calculation:
    kind: str  # SUBSIDY, or LOAN_CEILING for TM-6 (a bank lends; no fund pays)
    amount_fen: int
    breakdown: list[Line]
    eligibility: list[Finding]


def finding(clause: str, text: str) -> Finding:
    return {"clause": clause, "finding": text}


def refuse(clause: str, message: str, *path: str | int) -> NoReturn:
    """Refuse under ``clause``, naming the field at ``path`` (e.g. "interns", 0, "planned_months")
    the way marshmallow names fields (list indexes as text)."""
    fields: dict[str, Any] | None = None
    for step in reversed(path):
        fields = {str(step): fields or [message]}
    raise RuleViolation(clause, message, fields=fields)


def require(value: object, clause: str, message: str, *path: str | int) -> None:
    if not value:
        refuse(clause, message, *path)


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or that month's last day if it is shorter."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def percent(numerator: int, denominator: int) -> str:
    """A ratio as a percentage for reading, rounded down so it never shows a threshold reached
    that is not (the decision itself compares exactly)."""
    value = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_DOWN
    )
    return f"{value}%"


def fen(amount: Decimal | int) -> int:
    """A Decimal amount of fen, rounded to a whole fen (policy.ROUNDING)."""
    return int(Decimal(amount).quantize(Decimal(1), rounding=policy.ROUNDING))


def capped(clause: str, requested: int, ceiling: int, lines: list[Line], cap_text: str) -> int:
    """The amount granted: what was requested, at most ``ceiling`` (最高/不超过: included)."""
    lines.append(line(clause, f"requested {yuan(requested)}", requested))
    if requested > ceiling:
        lines.append(line(clause, f"limited to {yuan(ceiling)} ({cap_text})", ceiling))
    return min(requested, ceiling)


# -- TM-4 on-the-job training subsidy (以工代训) ----------------------------------------------------
def on_the_job_training(f: Facts, context: Mapping[str, Any]) -> Calculation:
    c = "TM-4"
    require(
        f["ecommerce"],
        c,
        "the employer must be an e-commerce enterprise (电子商务企业)",
        "ecommerce",
    )
    require(
        f["enterprise_size"] in policy.TM4_ENTERPRISE_SIZES,
        c,
        "only small, medium and micro enterprises (中小微电子商务企业)",
        "enterprise_size",
    )
    group = policy.TM4_GROUPS.get(f["worker_group"])
    require(
        group,
        c,
        "the person must be one of the groups TM-4 names: " + "、".join(policy.TM4_GROUPS.values()),
        "worker_group",
    )
    eligibility = [
        finding(
            c, f"{f['enterprise_size']} e-commerce enterprise hiring a person of the group {group}"
        )
    ]
    if f["worker_group"] == "graduate":
        left = f.get("left_school_on")
        if not left:
            refuse(c, "a graduate's date of leaving school is required", "left_school_on")
        limit = add_years(left, policy.TM4_GRADUATE_YEARS)
        require(
            f["hired_on"] <= limit,
            c,
            f"hired on {f['hired_on']}, more than "
            f"{policy.TM4_GRADUATE_YEARS} years after leaving "
            f"school on {left} (离校两年内: by {limit})",
            "hired_on",
        )
        eligibility.append(
            finding(
                c,
                f"left school on {left}, hired on {f['hired_on']}: "
                f"within {policy.TM4_GRADUATE_YEARS} years",
            )
        )
    require(
        f["trained_on_the_job"],
        c,
        "the person must be trained on the job (开展以工代训)",
        "trained_on_the_job",
    )
    lines: list[Line] = []
    for month, wages in enumerate(f["monthly_wages_fen"], start=1):
        if month <= policy.TM4_MAX_MONTHS:
            lines.append(
                line(
                    c,
                    f"month {month}: {policy.TM4_RATE * 100:.0f}% of wages paid {yuan(wages)}",
                    fen(wages * policy.TM4_RATE),
                )
            )
        else:
            lines.append(
                line(
                    c,
                    f"month {month}: not counted, at most "
                    f"{policy.TM4_MAX_MONTHS} months in total "
                    f"(累计最长不超过{policy.TM4_MAX_MONTHS}个月)",
                    0,
                )
            )
    return Calculation(SUBSIDY, sum(x["amount_fen"] for x in lines), lines, eligibility)


# -- TM-5 graduate startup subsidy -----------------------------------------------------------------
def graduate_startup(f: Facts, context: Mapping[str, Any]) -> Calculation:
    c = "TM-5"
    require(
        f["ecommerce"], c, "the entity must be an e-commerce business (电商创业实体)", "ecommerce"
    )
    require(
        f["in_prefecture"],
        c,
        "the entity must be founded in the prefecture (州内)",
        "in_prefecture",
    )
    shown = [e for e in policy.TM5_EFFECTS if e in f["effects"]]
    missing = [text for e, text in policy.TM5_EFFECTS.items() if e not in shown]
    both = policy.TM5_EFFECTS_REQUIRED == "both"
    require(
        len(shown) == len(policy.TM5_EFFECTS) if both else shown,
        c,
        "the entity must show "
        + ("both" if both else "at least one of")
        + " a clear poverty-alleviation and a notable innovation effect "
        "(带动脱贫效果明显、创新示范效应显著)"
        + (f"; missing: {'、'.join(missing)}" if both else ""),
        "effects",
    )
    graduated, founded = f["graduated_on"], f["founded_on"]
    opens, closes = tm5_window(graduated)
    window = f"{opens} to {closes} (毕业3年内（含毕业学年）)"
    require(
        founded >= opens,
        c,
        f"founded on {founded}, before the graduation academic year began on {opens}: the "
        f"window is {window}",
        "founded_on",
    )
    require(
        founded <= closes,
        c,
        f"founded on {founded}, after the third anniversary of graduation on {graduated}: the "
        f"window is {window}",
        "founded_on",
    )
    eligibility = [
        finding(c, f"graduated on {graduated}, founded on {founded}: within {window}"),
        finding(c, "effects: " + "、".join(policy.TM5_EFFECTS[e] for e in shown)),
    ]
    lines: list[Line] = []
    amount = capped(
        c,
        f["requested_fen"],
        policy.TM5_MAX_FEN,
        lines,
        f"最高{policy.TM5_MAX_FEN // 1_000_000}万元",
    )
    return Calculation(SUBSIDY, amount, lines, eligibility)


def tm5_window(graduated: dt.date) -> tuple[dt.date, dt.date]:
    """TM-5's window (both days included): from the first day of the graduation academic year (1
    July of the year before graduation) to the third anniversary of graduation."""
    month, day = policy.TM5_ACADEMIC_YEAR_STARTS
    return (
        dt.date(graduated.year - 1, month, day),
        add_years(graduated, policy.TM5_YEARS_AFTER_GRADUATION),
    )


# -- TM-6 guaranteed startup loan ceiling ----------------------------------------------------------
def guaranteed_loan(f: Facts, context: Mapping[str, Any]) -> Calculation:
    c = "TM-6"
    require(f["ecommerce"], c, "the borrower must run an e-commerce business", "ecommerce")
    require(
        f["meets_loan_conditions"],
        c,
        "the borrower must meet the guaranteed-loan policy in force (符合现行创业担保贷款政策)",
        "meets_loan_conditions",
    )
    kind, lines = f["borrower_kind"], list[Line]()
    if kind == "individual":
        ceiling = policy.TM6_INDIVIDUAL_MAX_FEN
        lines.append(
            line(
                c, f"individual borrower: at most {yuan(ceiling)} (人均最高额度20万元以内)", ceiling
            )
        )
        eligibility = [finding(c, "individual borrower")]
    elif kind == "partnership":
        partners = f.get("partners")
        if not (partners and partners >= 2):
            refuse(c, "a partnership has at least 2 partners", "partners")
        product = partners * policy.TM6_PER_PARTNER_FEN
        lines.append(
            line(
                c, f"{partners} partners × {yuan(policy.TM6_PER_PARTNER_FEN)} (20万元/人)", product
            )
        )
        ceiling = min(product, policy.TM6_PARTNERSHIP_MAX_FEN)
        if product > ceiling:
            lines.append(
                line(c, f"limited to the maximum {yuan(ceiling)} (最高不超过110万元)", ceiling)
            )
        if ceiling > policy.TM6_PARTNERSHIP_NORMAL_MAX_FEN:
            lines.append(
                line(
                    c,
                    f"above the normal {yuan(policy.TM6_PARTNERSHIP_NORMAL_MAX_FEN)} "
                    f"(一般不超过100万元): the approver must see the exception",
                    ceiling,
                )
            )
        eligibility = [finding(c, f"partnership of {partners}")]
    else:
        ceiling, eligibility = _small_enterprise(c, f, context["filed_on"], lines)
    amount = capped(c, f["requested_fen"], ceiling, lines, "the ceiling")
    return Calculation(LOAN_CEILING, amount, lines, eligibility)


def _small_enterprise(
    c: str, f: Facts, filed_on: dt.date, lines: list[Line]
) -> tuple[int, list[Finding]]:
    """The hires counted are those of the year the loan is applied for (当年: the filing's)."""
    require(
        f.get("enterprise_size") in policy.TM6_ENTERPRISE_SIZES,
        c,
        "only small and micro enterprises (小微电子商务企业)",
        "enterprise_size",
    )
    staff = f.get("current_staff")
    if not staff:
        refuse(c, "the enterprise's current staff (现有在职职工人数) is required", "current_staff")
    counted = [
        h
        for h in f.get("new_hires") or ()
        if h["hired_on"].year == filed_on.year
        and h["meets_loan_conditions"]
        and h["contract_months"] >= policy.TM6_MIN_CONTRACT_MONTHS
    ]
    large = staff > policy.TM6_LARGE_STAFF_ABOVE
    ratio = policy.TM6_LARGE_HIRING_RATIO if large else policy.TM6_HIRING_RATIO
    reached = Decimal(len(counted)) >= ratio * staff
    text = (
        f"{len(counted)} qualifying new hires in {filed_on.year} on contracts of "
        f"{policy.TM6_MIN_CONTRACT_MONTHS} months or more, of {staff} staff: "
        f"{percent(len(counted), staff)}; {ratio * 100:.0f}% needed"
        + (f" (more than {policy.TM6_LARGE_STAFF_ABOVE} staff)" if large else "")
    )
    require(
        reached,
        c,
        f"{text} (当年新招用人员达到现有在职职工人数15%，超过100人的企业达到8%)",
        "new_hires",
    )
    lines.append(
        line(
            c,
            f"small or micro enterprise: at most "
            f"{yuan(policy.TM6_ENTERPRISE_MAX_FEN)} (最高不超过300万元)",
            policy.TM6_ENTERPRISE_MAX_FEN,
        )
    )
    return policy.TM6_ENTERPRISE_MAX_FEN, [finding(c, text)]


# -- TM-7 hiring subsidy ---------------------------------------------------------------------------
def hiring(f: Facts, context: Mapping[str, Any]) -> Calculation:
    c = "TM-7"
    require(f["ecommerce"], c, "the employer must be an e-commerce enterprise", "ecommerce")
    require(
        f["enterprise_size"] in policy.TM7_ENTERPRISE_SIZES,
        c,
        "only small, medium and micro enterprises (中小微电子商务企业)",
        "enterprise_size",
    )
    require(
        f["social_insurance"],
        c,
        "the employer must pay the person's social insurance (购买社会保险)",
        "social_insurance",
    )
    if f["variant"] == "2020":
        return _hiring_2020(c, f, context)
    require(
        f["hire_group"] == "graduate",
        c,
        "the hiring subsidy is for graduates hired in their "
        "graduation year (招用毕业年度高校毕业生)",
        "hire_group",
    )
    graduated = f.get("graduated_on")
    if not graduated:
        refuse(c, "a graduate's graduation date is required", "graduated_on")
    require(
        f["hired_on"].year == graduated.year,
        c,
        f"hired in {f['hired_on'].year}, not in the graduation year {graduated.year} (毕业年度)",
        "hired_on",
    )
    require(
        f["contract_months"] >= policy.TM7_MIN_CONTRACT_MONTHS,
        c,
        f"a contract of {f['contract_months']} months: {policy.TM7_MIN_CONTRACT_MONTHS} or "
        f"more needed (签订1年以上劳动合同)",
        "contract_months",
    )
    amount = policy.TM7_PER_GRADUATE_FEN
    return Calculation(
        SUBSIDY,
        amount,
        [
            line(
                c,
                f"one-time hiring subsidy for a graduate hired "
                f"in the graduation year ({yuan(amount)}/人)",
                amount,
            )
        ],
        [
            finding(
                c,
                f"graduate of {graduated.year} hired on {f['hired_on']} on a "
                f"{f['contract_months']}-month contract with social "
                f"insurance",
            )
        ],
    )


def _hiring_2020(c: str, f: Facts, context: Mapping[str, Any]) -> Calculation:
    hired, group = f["hired_on"], f["hire_group"]
    require(
        hired.year == policy.TM7_2020_YEAR,
        c,
        f"the {policy.TM7_2020_YEAR} variant covers hires in {policy.TM7_2020_YEAR}",
        "hired_on",
    )
    if group == "graduate":
        graduated = f.get("graduated_on")
        if not graduated:
            refuse(c, "a graduate's graduation date is required", "graduated_on")
        limit = add_years(graduated, policy.TM7_2020_GRADUATE_YEARS)
        require(
            hired <= limit,
            c,
            f"hired on {hired}, more than "
            f"{policy.TM7_2020_GRADUATE_YEARS} years after graduating on "
            f"{graduated} (毕业三年内: by {limit})",
            "hired_on",
        )
    elif group == "registered_unemployed":
        months = f.get("unemployed_months") or 0
        require(
            months >= policy.TM7_2020_UNEMPLOYED_MONTHS,
            c,
            f"registered unemployed for {months} months: "
            f"{policy.TM7_2020_UNEMPLOYED_MONTHS} or more needed (登记失业半年以上)",
            "unemployed_months",
        )
    require(
        f["contract_months"] >= policy.TM7_2020_MIN_CONTRACT_MONTHS,
        c,
        f"a contract of {f['contract_months']} months: "
        f"{policy.TM7_2020_MIN_CONTRACT_MONTHS} or more needed (签订半年以上劳动合同)",
        "contract_months",
    )
    rate: int | None = context.get("tm7_2020_rate_fen", policy.TM7_2020_RATE_FEN)
    if not rate:
        refuse(
            c,
            "the 2020 rate (云人社发〔2020〕26号) is not configured: set TM7_2020_RATE_FEN",
            "variant",
        )
    return Calculation(
        SUBSIDY,
        rate,
        [line(c, f"one-time hiring subsidy, 2020 (云人社发〔2020〕26号 rate {yuan(rate)})", rate)],
        [
            finding(
                c,
                f"{policy.TM7_2020_GROUPS[group]} hired on {hired} on a "
                f"{f['contract_months']}-month contract with social "
                f"insurance",
            )
        ],
    )


# -- TM-8 internship subsidy -----------------------------------------------------------------------
def internship(f: Facts, context: Mapping[str, Any]) -> Calculation:
    c = "TM-8"
    require(f["ecommerce"], c, "the unit must be an e-commerce enterprise", "ecommerce")
    interns = f["interns"]
    seen: set[str] = set()
    for i, intern in enumerate(interns):
        ref, planned = intern["intern_ref"], intern["planned_months"]
        require(ref not in seen, c, f"intern {ref} is listed twice", "interns", i, "intern_ref")
        seen.add(ref)
        require(
            policy.TM8_MIN_MONTHS <= planned <= policy.TM8_MAX_MONTHS,
            c,
            f"intern {ref}: an internship is {policy.TM8_MIN_MONTHS} to "
            f"{policy.TM8_MAX_MONTHS} months (见习期为3—12个月), not {planned}",
            "interns",
            i,
            "planned_months",
        )
        served = intern["served_months"]
        require(
            served <= planned,
            c,
            f"intern {ref}: {served} months served of {planned} planned",
            "interns",
            i,
            "served_months",
        )
        require(
            intern["outcome"] != "completed" or served == planned,
            c,
            f"intern {ref} completed the internship: {planned} months served, not {served}",
            "interns",
            i,
            "served_months",
        )
    ended = [x for x in interns if x["outcome"] in ("completed", "hired_early")]
    kept = [x for x in ended if x["outcome"] == "hired_early" or x["retained"]]
    retained = bool(ended) and Decimal(len(kept)) >= policy.TM8_RETENTION * len(ended)
    monthly = policy.TM8_RETAINED_MONTHLY_FEN if retained else policy.TM8_MONTHLY_FEN
    eligibility = [
        finding(
            c,
            f"retention at the end: {len(kept)} of {len(ended)} "
            f"({percent(len(kept), len(ended)) if ended else 'none ended'}); "
            f"{policy.TM8_RETENTION * 100:.0f}% or more pays "
            f"{yuan(policy.TM8_RETAINED_MONTHLY_FEN)}, else "
            f"{yuan(policy.TM8_MONTHLY_FEN)} per intern per month",
        )
    ]
    lines = [line(c, _intern_text(x, monthly), _intern_months(x) * monthly) for x in interns]
    return Calculation(SUBSIDY, sum(x["amount_fen"] for x in lines), lines, eligibility)


def _intern_months(intern: Mapping[str, Any]) -> int:
    """An intern hired before the end earns the unit the remaining months too; one who left early
    earns the months served."""
    months: int = (
        intern["served_months"] if intern["outcome"] == "left_early" else intern["planned_months"]
    )
    return months


def _intern_text(intern: Mapping[str, Any], monthly: int) -> str:
    planned, served = intern["planned_months"], intern["served_months"]
    text = f"intern {intern['intern_ref']}: {_intern_months(intern)} months × {yuan(monthly)}"
    if intern["outcome"] == "hired_early":
        text += (
            f" ({served} served, hired before the end: the remaining {planned - served} "
            f"months too, 剩余期限见习补贴)"
        )
    elif intern["outcome"] == "left_early":
        text += f" (left after {served} of {planned} months)"
    if intern.get("interrupted_months"):
        until = add_months(intern["start_on"], planned + intern["interrupted_months"])
        text += (
            f"; interrupted by the epidemic for {intern['interrupted_months']} months: the "
            f"subsidy period is extended to {until - dt.timedelta(days=1)} (相应延长)"
        )
    return text


# -- TM-10 incubation base -------------------------------------------------------------------------
def incubation_base(f: Facts, context: Mapping[str, Any]) -> Calculation:
    c = "TM-10"
    require(
        f["ecommerce"],
        c,
        "the base must incubate e-commerce businesses (电子商务创业孵化基地)",
        "ecommerce",
    )
    require(
        f["provincial_review_passed"],
        c,
        "the base must have passed the provincial review (通过省级评审)",
        "provincial_review_passed",
    )
    lines: list[Line] = []
    amount = capped(c, f["requested_fen"], policy.TM10_MAX_FEN, lines, "不超过200万元, once")
    return Calculation(SUBSIDY, amount, lines, [finding(c, "passed the provincial review")])


# -- the measures ----------------------------------------------------------------------------------
# (field path, date, what the act is)
Act = tuple[tuple[str | int, ...], dt.date, str]


def _hire(f: Facts) -> list[Act]:
    return [(("hired_on",), f["hired_on"], "the hire")]


def _internships(f: Facts) -> list[Act]:
    return [
        (("interns", i, "start_on"), x["start_on"], f"internship {x['intern_ref']}")
        for i, x in enumerate(f["interns"])
    ]


@dataclass(frozen=True)
class Measure:
    name: str
    # (facts, context) -> Calculation, or RuleViolation
    calculate: Callable[[Facts, Mapping[str, Any]], Calculation]
    # (party_id, facts, filed_on) -> who and which period is paid only once
    key: Callable[[str, Facts, dt.date], tuple[str, ...]]
    # the facts' act dates TM-1's span binds; none: the claim's filing is the act
    acts: Callable[[Facts], list[Act]] = lambda f: []
    # what the filing is when it is the act
    filing_act: str = "the claim"


MEASURES = {
    "TM-4": Measure(
        "以工代训职业培训补贴 on-the-job training subsidy",
        on_the_job_training,
        lambda party, f, filed_on: (party, f["worker_ref"]),
        _hire,
    ),  # 6 months per person
    "TM-5": Measure(
        "大学生电商创业补贴 graduate startup subsidy",
        graduate_startup,
        lambda party, f, filed_on: (party,),
        lambda f: [(("founded_on",), f["founded_on"], "the founding")],
    ),  # once per graduate
    "TM-6": Measure(
        "创业担保贷款额度 guaranteed startup loan ceiling",
        guaranteed_loan,
        lambda party, f, filed_on: (party, str(filed_on.year)),
        filing_act="the loan applied for",
    ),  # per borrower and year
    "TM-7": Measure(
        "一次性吸纳就业补贴 hiring subsidy",
        hiring,
        lambda party, f, filed_on: (f["hire_ref"],),
        _hire,
    ),  # once per person, whoever hires
    "TM-8": Measure(
        "就业见习补贴 internship subsidy",
        internship,
        lambda party, f, filed_on: (party, f["cohort"]),
        _internships,
    ),  # per unit and intake
    "TM-10": Measure(
        "电子商务创业孵化基地奖补 incubation base award",
        incubation_base,
        lambda party, f, filed_on: (party,),
        filing_act="the base's award applied for",
    ),  # once per base
}


def claim_id(measure: str, party_id: str, facts: Facts, filed_on: dt.date) -> str:
    """The claim key "<measure>:<party>[:<person or period>]" (a period counted from the day the
    claim is filed)."""
    return ":".join((measure, *MEASURES[measure].key(party_id, facts, filed_on)))
