"""Policy parameters of the assessment service (LT-10 to LT-16), each beside its clause, with the
reading chosen where the text is doubtful. Changing any of them is a new ``POLICY_VERSION``;
every event records the version it applied."""

import datetime as dt
from decimal import Decimal

POLICY_VERSION = "LT-2022-09-01/v2"

# -- LT-11.1 grading ------------------------------------------------------------------------------
# "年均增长" is read as the compounded average annual growth since the baseline year.
QUALIFIED_GROWTH = Decimal("0.10")  # 10%以上: at least (inclusive)
EXCELLENT_GROWTH_INFLUENCER = Decimal("0.30")  # 30%以上: at least (inclusive)
EXCELLENT_GROWTH_SELLER = Decimal("0.30")  # 超过30%: strictly more (exclusive)
EXCELLENT_STRICTLY = {"influencer": False, "seller": True}

# The figures graded per track (influencers: followers AND exposure; sellers: sales).
GRADED_FIGURES = {"influencer": ("followers", "exposure"), "seller": ("sales_fen",)}

# Reading of "since the baseline": the baseline (the evidence year of the application, the
# calendar year before certification, LT-6) stands for the year before tenure year 1, so tenure
# year n compounds over n years (n - 1 + this). A transferred Yixiang talent keeps the numbering of
# the original period, so their year n also compounds over n years from their own baseline.
BASELINE_YEARS_BEFORE_YEAR_ONE = 1

# Reading of a zero or missing baseline figure: growth from nothing has no average rate, so that
# figure cannot show the required growth (it is shown as not computable, never as infinite).
# Influencers still pass through the assessor's findings (the qualitative alternatives of
# LT-11.1, 宣传推荐…能力明显提高 / 影响力进一步提升); sellers have no alternative, so their year is
# unqualified and the Leading Group, seeing the reason, decides on the proposal (it may decline).
# Influencer alternatives, as findings of the county assessor (LT-11.1, LT-13):
#   qualified if growth >= 10% on both figures, OR ability clearly improved;
#   excellent if growth >= 30% on both figures, OR ability clearly improved AND influence increased.
# An influencer's year is graded once the county's findings are on file, or as soon as growth alone
# gives "excellent" (findings could not change it), or at the report's due date with what is on
# file (no findings recorded = no finding of improvement).

# -- LT-10 / LT-11 tenure years and report due dates -----------------------------------------------
# LT-10: 3 years from certification (the period end comes with the certification, 届满 inclusive).
# Tenure year n runs from the (n-1)th anniversary of the period start to the day before the nth
# (the last one ends on the period end). "培养期内一年一考核": each year's assessment falls within
# that year, so a year's report is accepted from its first day and is due on its last day plus:
REPORT_DUE_DAYS_AFTER_YEAR_END = 0
# A report not filed by its due date counts as a failed assessment with its own reason (the timer
# records it the day after the due date).
# Civil Code art. 203 (期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日): a report
# due date, or a county's rectification deadline, that is not a working day moves to the next
# working day (shared/calendar.py: weekends and statutory holidays off, adjusted working days on).
# Looked up only once the nominal date has passed, so a year whose holiday schedule the State
# Council has not published yet is never needed in advance (and is an error, not a guess).
DEADLINES_ROLL_TO_WORKING_DAY = True

# -- LT-12 obligations ----------------------------------------------------------------------------
MIN_PROMOTION_ACTIVITIES_PER_YEAR = 1  # LT-12.1: 每年至少…1次以上 (inclusive)
MIN_BACKBONES_PER_YEAR_ON_AVERAGE = 5  # LT-12.2: 年均…5名以上 (inclusive), over the assessed
#   years, checked when the last assessed year is reported; a missed year counts 0 backbones.
# LT-12.4: full-time work in Chuxiong for 3 consecutive years (连续、全职). A year not worked
# full time breaks the continuity, so it cannot be rectified: it is a ground at once (LT-14.4,
# 工作不满3年). The other obligations can be rectified by a county order (LT-13).
OBLIGATIONS = {
    "LT-12.1": "at least 1 e-commerce promotion activity each year",
    "LT-12.2": "at least 5 internet business backbones trained per year on average",
    "LT-12.4": "full-time work in Chuxiong for 3 consecutive years",
}
NOT_RECTIFIABLE = frozenset({"LT-12.4"})
# LT-13: counties order rectification "在培养期内": a rectification deadline falls within the period.

# -- LT-14 disqualification grounds ---------------------------------------------------------------
# LT-14.4 "年度考核不合格" is read as: a single failed annual assessment is a ground, proposed as
# soon as it is found (not only at the end; "虽满3年…" makes it a ground even after the 3 years).
# The Talent Work Leading Group approves (TalentDisqualified) or declines each proposal.
FAILED_ASSESSMENT_GROUND = "LT-14.4"
FAILED_YEARS_FOR_PROPOSAL = 1
# 工作不满3年: leaving before the 3 years, or a year not worked full time in Chuxiong (LT-12.4).
WORK_BROKEN_GROUND = "LT-14.4"
# 培养计划目标未完成: an LT-12 breach still unrectified when the period ends.
TARGETS_UNMET_GROUND = "LT-14.4"
# A county's rectification deadline (LT-13) passed unmet: read as 拒不执行管理规定 (LT-14.1), the
# management the talent is under being the county's order; the reasons name the LT-12 breach.
RECTIFICATION_MISSED_GROUND = "LT-14.1"
# Grounds reported by people, the LT-14 item each establishes (roles: shared/auth.py).
REPORTED_GROUNDS = {
    "refusal": "LT-14.1",  # 拒不执行管理规定
    "violation": "LT-14.2",  # 违法违纪行为或重大过失
    "credit_fraud": "LT-14.3",  # 弄虚作假、谎报成果等失信行为被纳入诚信体系记录
    "departure": "LT-14.4",  # 工作不满3年: left before the 3 years
    "other": "LT-14.5",  # 其他应当取消资格的行为
}

# -- LT-16 transition ------------------------------------------------------------------------------
# The rules take effect on issue (2022-09-01); Yixiang talents still within their training period
# transfer automatically, keeping their original period (the applications service certifies them
# with origin "yixiang_transfer", on the day the transfer is recorded). Their years that ended
# before that day were the abolished scheme's business; the years ending on or after it are
# assessed here (the shorter remaining period), numbered as in the original period.
LT_EFFECTIVE_DATE = dt.date(2022, 9, 1)
