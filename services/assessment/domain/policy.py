"""Policy parameters of the assessment service (LT-10 to LT-16), each beside its clause, with the
reading chosen where the text is doubtful. Changing any of them is a new ``POLICY_VERSION``;
every event records the version it applied."""

import datetime as dt
from decimal import Decimal

POLICY_VERSION = "LT-2022-09-01/v3"

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

# -- LT-10 / LT-11 / LT-13 the assessment cycle --------------------------------------------------
# LT-10: 3 years from certification, counted from the certification's act date (certified_on), not
# from the day it was recorded (the period end comes with the certification, 届满 inclusive).
TENURE_YEARS = 3
# Tenure year n runs from the (n-1)th anniversary of the period start to the day before the nth
# (the last one ends on the period end). "培养期内一年一考核": a year's report covers that year's
# twelve months, so it can only be filed after the year ends (LT-11.1). Its report window opens
# the day after the year's last day and stays open this many days (the opening day is day 1):
REPORT_WINDOW_DAYS = 60
# Civil Code art. 203 (期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日): a
# window's last day, or a county's rectification deadline, that is not a working day moves to the
# next working day (shared/calendar.py: weekends and statutory holidays off, adjusted working days
# on). Looked up only once the nominal date has passed, so a year whose holiday schedule the State
# Council has not published yet is never needed in advance (and is an error, not a guess).
DEADLINES_ROLL_TO_WORKING_DAY = True
# The talent is reminded this many days before the window's nominal last day, once, if the year's
# report is not on file by then (and the window has not closed already: a window that closed
# before anyone could be reminded is reported missing instead).
REMINDER_DAYS_BEFORE_CLOSE = 14
# Grading moments (LT-11.1): a seller's year when the report is filed; an influencer's year when
# the county's findings are on file with the report, or when growth alone gives the best grade
# (no finding could change it); otherwise when the report's filing period closes (the window, or
# a rectification deadline for a missed report), with what is on file.
# A report not filed by the window's close is not a failed assessment (LT-13: the county manages,
# 限期整改): the year is recorded as missing its report (``AnnualReportMissed``), the county is
# told, and it orders the report filed by a deadline (a rectification order, LT-13). A report filed
# by that deadline is graded as any other; only a deadline missed after that is a ground,
# LT-14.1 (拒不执行管理规定), proposed to the Leading Group. A missing report the county never
# orders rectified is no ground by itself: it stays open, shown to the county.
MISSED_REPORT_OBLIGATION = "LT-11.1"
MISSED_REPORT_GROUND = "LT-14.1"
# The longest deadline a county may give for a missing report, counted from the order's date (the
# text gives none; a bound on what a caller sends, a named reading).
MISSED_REPORT_MAX_DEADLINE_DAYS = 90

# -- acts and their dates -------------------------------------------------------------------------
# Every act on a tenure carries the date it happened (reported_on, found_on, ordered_on,
# rectified_on, decided_on; default today, given by the service's clock); the rules count from it.
# A date a caller gives is bounded: not after today, not before the rules took effect, not before
# the tenure's previous act. What the deadline sweep records is dated the day it fell due (the day
# after the last day of a window or deadline), however late the sweep runs.
EARLIEST_ACT_DATE = dt.date(2022, 9, 1)  # LT-16: the rules take effect on issue

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
# transfer automatically, keeping their original period and its numbering. Whether a talent
# transfers is judged on 2022-09-01 (their period began before it and had not ended that day), and
# the transfer takes effect on 2022-09-01 whenever it is recorded. Their years ending on or after
# 2022-09-01 are assessed here, including years that ended before the transfer was recorded: the
# report window of such a year opens on the day the transfer is recorded (the act date of the
# certification the applications service records for it, else the day it was recorded).
LT_EFFECTIVE_DATE = dt.date(2022, 9, 1)
