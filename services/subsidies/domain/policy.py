"""Policy parameters of the subsidies service, each beside its clause. Money is integer fen; rates
and ratios are ``Decimal``. Changing any of them is a new ``POLICY_VERSION``; every event records
the version it applied. Chinese legal counting: 以上/以下/以内/达到/不超过 include the number,
超过/不满 exclude it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# v3: TM-1's span (2020–2022, extensible by a recorded notice) binds claims and TM budgets; TM-5's
# window runs from the graduation academic year to the third anniversary, both effects required;
# LT-10.1 once per person; acts carry their own dates, bounded.
POLICY_VERSION = "LT-2022-09-01+TM-2020/v3"

# Amounts that are not whole fen (TM-4's 20 %) are rounded to the fen, half up (四舍五入).
ROUNDING = ROUND_HALF_UP

# -- funds (TM-1, LT-10.1) ------------------------------------------------------------------------
# A fund is one source of money in one fiscal year; finance sets its budget (BudgetSet) and a grant
# or an approval is charged to it when it is decided. source -> its name in the documents.
FUNDS = {
    "prefecture_finance": "州财政",  # LT-10.1: 州财政给予…5万元
    "employment_fund": "州本级就业专项资金",  # TM-1
    "employment_subsidy_fund": "就业补助资金",  # TM-7: 从就业补助资金中给予
    "provincial_entrepreneurship_fund": "省级创业资金",  # TM-10: 从省级创业资金中给予
}
# The clause a fund's yearly budget binds under: TM-1 (budgets per fiscal year) for the Ten
# Measures' funds, LT-10.1 for the prefecture-finance subsidy.
BUDGET_CLAUSE = {
    source: ("LT-10.1" if source == "prefecture_finance" else "TM-1") for source in FUNDS
}
# measure -> the fund that pays it. TM-4, TM-5 and TM-8 are the "skills training, employment and
# entrepreneurship support, on-the-job training" TM-1 names; TM-7 and TM-10 name their own source;
# TM-6 is a bank loan under a guarantee: a ceiling is approved, no fund pays anything (None).
MEASURE_FUND = {
    "LT-10.1": "prefecture_finance",
    "TM-4": "employment_fund",
    "TM-5": "employment_fund",
    "TM-6": None,
    "TM-7": "employment_subsidy_fund",
    "TM-8": "employment_fund",
    "TM-10": "provincial_entrepreneurship_fund",
}

# -- LT-10.1 / LT-14 / LT-16 ------------------------------------------------------------------------
# LT-10.1: a one-time entrepreneurship subsidy of 50,000 CNY from prefecture finance (州财政).
LT_ENTREPRENEURSHIP_SUBSIDY_FEN = 50_000 * 100
LT_SUBSIDY_MEASURE = "LT-10.1"

# LT-14: revocation "and the subsidy recovered" (退回创业补贴资金). The policy sets no deadline;
# default reading: repayment is due 30 calendar days after the Leading Group's decision.
RECOVERY_DUE_DAYS = 30

# LT-16: the rules apply from their issue (2022-09-01); Yixiang (彝乡) talents still in their
# training period transfer in automatically, keeping their original period. Reading: they become
# 培养对象 of these rules, and LT-10 gives every 培养对象 in the training period the one-time
# 50,000 CNY; "一次性" (once per person) means a startup subsidy the Yixiang scheme already paid
# counts against it. So a transferred talent is granted 50,000 less what Yixiang paid (nothing
# when that reached 50,000). False would read the subsidy as going with certification under these
# rules only: transferred talents get nothing.
LT_RULES_EFFECTIVE = dt.date(2022, 9, 1)
LT16_TRANSFERRED_TALENTS_GET_SUBSIDY = True
# LT-16, the second reading: whether what the Yixiang scheme already paid as a startup subsidy
# (prior_startup_subsidy_fen) is deducted. Default: deducted (LT-10.1 "每人一次性": once per
# person). False: a transferred talent is granted the full 50,000.
LT16_DEDUCT_YIXIANG_SUBSIDY = True

# LT-10.1 "每人一次性": the subsidy is paid to a person once in their life, whatever round,
# application or transfer they come through; a person certified again gets no second grant. A
# person is known by TalentCertified's ``person_key`` (the keyed pseudonym of the ID number; the
# talent id for certifications recorded without it). An earlier grant decision of the person
# counts unless it was cancelled before anything was paid: these statuses count.
LT10_1_ONCE_PER_PERSON_COUNTS = ("queued", "granted", "paid", "recovery_demanded", "recovered")

# -- act dates (when an act happened, as against when it was recorded) -----------------------------
# A date a caller sends for an act is not after today, not before its programme, and not before
# the act before it on the same stream. The programmes start on these days:
LT_PROGRAMME_START = LT_RULES_EFFECTIVE  # LT grants, payments and recoveries
TM_PROGRAMME_START = dt.date(2020, 1, 1)  # Ten Measures claims, decisions, payments
# A fact of a person's history a claim states (graduation, leaving school) before this day is a
# typing error, not a fact (input bound; no clause).
FACT_DATES_FROM = dt.date(1950, 1, 1)

# -- TM-1: the span of the Ten Measures -------------------------------------------------------------
# "2020—2022年": the measures run from 1 January 2020 to 31 December 2022. A claim whose act (the
# hire, the founding, the internship, the loan applied for, the base's award applied for) falls
# outside is refused, and a fund of the Ten Measures has no budget for a fiscal year outside it,
# unless a later notice extended the measures: such an extension is recorded in the service's
# configuration (TM_EXTENDED_UNTIL with TM_EXTENSION_NOTICE, the notice's document number) and
# comes to the deciders as context["tm_extension"] (an ``Extension``).
TM_VALID_FROM = dt.date(2020, 1, 1)
TM_VALID_UNTIL = dt.date(2022, 12, 31)
# A budget may be set ahead for at most this many fiscal years after the current one.
BUDGET_YEARS_AHEAD = 1


@dataclass(frozen=True)
class Extension:
    """A notice that extended the Ten Measures: its document number and the last day it covers."""

    notice: str
    until: dt.date


def tm_span(extension: Extension | None) -> tuple[dt.date, dt.date, str]:
    """The Ten Measures' span (first day, last day) and how to cite it."""
    if extension is None or extension.until <= TM_VALID_UNTIL:
        return TM_VALID_FROM, TM_VALID_UNTIL, f"{TM_VALID_FROM} to {TM_VALID_UNTIL} (2020—2022年)"
    return (
        TM_VALID_FROM,
        extension.until,
        f"{TM_VALID_FROM} to {extension.until} (2020—2022年, extended by {extension.notice})",
    )


# -- TM-4 on-the-job training subsidy (以工代训) ----------------------------------------------------
TM4_RATE = Decimal("0.20")  # 20% of the wages paid to that person
TM4_MAX_MONTHS = 6  # 累计最长不超过 6 个月 (6 included)
TM4_ENTERPRISE_SIZES = ("medium", "small", "micro")  # 中小微
TM4_GROUPS = {  # the four groups TM-4 names
    "employment_difficulty": "就业困难人员",
    "zero_employment_family": "零就业家庭成员",
    "graduate": "离校两年内高校毕业生",
    "registered_unemployed": "登记失业人员",
}
TM4_GRADUATE_YEARS = 2  # 离校两年内: hired within 2 years of leaving school

# -- TM-5 graduate startup subsidy -----------------------------------------------------------------
TM5_MAX_FEN = 30_000 * 100  # 最高 3 万元
# 毕业 3 年内（含毕业学年）: 毕业学年 is the graduation academic year, which national employment
# policy counts from 1 July of the year before graduation; the window runs from that day to the
# third anniversary of graduation, both included (以内 includes the number).
TM5_ACADEMIC_YEAR_STARTS = (7, 1)  # (month, day) of the year before graduation
TM5_YEARS_AFTER_GRADUATION = 3
TM5_EFFECTS = {"poverty_alleviation": "带动脱贫效果明显", "innovation": "创新示范效应显著"}
# "带动脱贫效果明显、创新示范效应显著": the two effects joined by 、 are both required ("both");
# "either" is the other reading (one of them suffices).
TM5_EFFECTS_REQUIRED = "both"

# -- TM-6 guaranteed startup loan ceiling ----------------------------------------------------------
TM6_INDIVIDUAL_MAX_FEN = 200_000 * 100  # 人均最高额度 20 万元以内
TM6_PER_PARTNER_FEN = 200_000 * 100  # 合伙: 20 万元/人
TM6_PARTNERSHIP_NORMAL_MAX_FEN = 1_000_000 * 100  # 一般不超过 100 万元
TM6_PARTNERSHIP_MAX_FEN = 1_100_000 * 100  # 最高不超过 110 万元
TM6_ENTERPRISE_MAX_FEN = 3_000_000 * 100  # 小微企业: 最高不超过 300 万元
TM6_ENTERPRISE_SIZES = ("small", "micro")  # 小微
TM6_HIRING_RATIO = Decimal("0.15")  # 达到现有在职职工人数 15% (15% included)
TM6_LARGE_STAFF_ABOVE = 100  # 超过 100 人 (100 itself is not "over")
TM6_LARGE_HIRING_RATIO = Decimal("0.08")  # …的企业达到 8%
TM6_MIN_CONTRACT_MONTHS = 12  # 签订 1 年以上劳动合同 (1 year included)

# -- TM-7 hiring subsidy ---------------------------------------------------------------------------
TM7_ENTERPRISE_SIZES = ("medium", "small", "micro")
TM7_PER_GRADUATE_FEN = 5_000 * 100  # 5000 元/人, once
TM7_MIN_CONTRACT_MONTHS = 12  # 1 年以上劳动合同
# The 2020 variant: graduates within 3 years, people registered unemployed for half a year or
# more, migrant workers kept from their jobs by the epidemic; contract of half a year or more.
TM7_2020_YEAR = 2020
TM7_2020_GRADUATE_YEARS = 3  # 毕业三年内 (from the graduation date)
TM7_2020_UNEMPLOYED_MONTHS = 6  # 登记失业半年以上
TM7_2020_MIN_CONTRACT_MONTHS = 6  # 半年以上劳动合同
TM7_2020_GROUPS = {
    "graduate": "毕业三年内高校毕业生",
    "registered_unemployed": "登记失业半年以上人员",
    "migrant_worker_epidemic": "因疫情无法返岗的农民工",
}
# "具体标准参照云人社发〔2020〕26号文件执行": that document is not in the handout, so the rate is
# not guessed. The service's configuration sets it (TM7_2020_RATE_FEN); until then a 2020-variant
# claim is refused citing TM-7.
TM7_2020_RATE_FEN: int | None = None

# -- TM-8 internship subsidy -----------------------------------------------------------------------
TM8_MIN_MONTHS = 3  # 见习期为 3—12 个月 (both ends included)
TM8_MAX_MONTHS = 12
TM8_MONTHLY_FEN = 1_000 * 100  # 1000 元/人/月
TM8_RETAINED_MONTHLY_FEN = 1_500 * 100  # 1500 元/人/月 when retention reaches 50%
TM8_RETENTION = Decimal("0.50")  # 留用率达到 50% 以上 (50% included)

# -- TM-10 incubation base -------------------------------------------------------------------------
TM10_MAX_FEN = 2_000_000 * 100  # 不超过 200 万元, once
