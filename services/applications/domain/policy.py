"""Policy parameters of the Leading Talent selection (楚才组〔2022〕7号), each beside its clause.
Changing any of them is a new ``POLICY_VERSION``; every event records the version it applied.

Chinese legal counting (Civil Code art. 1259): 以上/以下/以内/届满 include the number itself,
不满/超过/以外 exclude it. Each threshold below says which it is.
"""

import datetime as dt

POLICY_VERSION = "LT-2022-09-01/v3"

# LT-16: the rules take effect on issue; the Yixiang (彝乡) scheme is abolished the same day.
EFFECTIVE_DATE = dt.date(2022, 9, 1)

# Acts (submission, decisions, notice, certification, withdrawal) are dated on the day they
# happened: not after today, not before the rules took effect, not before the act before them on
# the same stream. The earliest date any act of this programme can bear:
PROGRAMME_START = EFFECTIVE_DATE

# LT-3: selection from 2022, one round a year; LT-8: at most 10 certified a round (不超过: ≤ 10).
FIRST_ROUND_YEAR = 2022
ROUND_QUOTA_MAX = 10
# A round is opened for a year from 2022 to the year after today's (a round is prepared ahead, never
# for a year further off); its submission window opens on or after the rules' effective date and
# closes at the latest by the end of the year after the round's.
ROUND_YEARS_AHEAD = 1
ROUND_WINDOW_YEARS_AFTER = 1

# LT-9.1: the county-level divisions of Chuxiong Prefecture, where applications are filed.
COUNTIES = (
    "楚雄市",
    "禄丰市",
    "双柏县",
    "牟定县",
    "南华县",
    "姚安县",
    "大姚县",
    "永仁县",
    "元谋县",
    "武定县",
)

# LT-9: the review stages in order, the role that decides each, and its clause. LT-9.5 has two
# bodies: the Talent Work Leading Group reviews (审核), then the Standing Committee agrees (同意).
# LT-9.5 (报审认定) begins with the Commerce Bureau's proposal of candidates (提出人选), made
# "根据综合评审和考察等情况", after the expert review and the inspection: its own stage.
STAGES = (
    ("county_recommendation", "county_officer", "LT-9.1"),
    ("qualification_review", "prefecture_officer", "LT-9.2"),
    ("expert_review", "expert_chair", "LT-9.3"),
    ("inspection", "inspector", "LT-9.4"),
    ("proposal", "prefecture_officer", "LT-9.5"),
    ("approval", "leading_group", "LT-9.5"),
    ("standing_committee", "standing_committee", "LT-9.5"),
)
STAGE_NAMES = tuple(name for name, _, _ in STAGES)
STAGE_CLAUSE = {name: clause for name, _, clause in STAGES}
# An upheld objection during the public notice rejects the candidate at this (pseudo-)stage.
NOTICE_STAGE = "public_notice"

# LT-9.1 and form part 6: the six county bodies whose opinions the county collects.
COUNTY_BODIES = {
    "organisation_department": "县（市）委组织部",
    "two_new_committee": "县（市）委“两新”组织工委",
    "finance": "县（市）财政局",
    "human_resources": "县（市）人力资源和社会保障局",
    "agriculture": "县（市）农业农村局",
    "commerce": "县（市）商务主管部门",
}
# Reading of 征求有关部门意见后择优推荐: the county recommends with all six opinions on file; an
# opinion against is recorded and shown to every later stage, and the recommendation is the
# county's own decision with its reasons ("county_decides"), not a veto of any one body.
# The other reading, "any_body_vetoes", refuses a recommendation any body disagrees with.
COUNTY_RECOMMENDATION_READING = "county_decides"
COUNTY_RECOMMENDATION_READINGS = ("county_decides", "any_body_vetoes")

# LT-9.5 提出人选: the Commerce Bureau ranks the candidates who passed the expert review and the
# inspection, each rank with its reason. Without a rank of the bureau's own, a candidate takes
# the rank of the committee's score (ties share a rank) and waits while higher-scored candidates
# still need the places; a rank of the bureau's own names its reason. The round's quota (LT-8)
# binds here (no more proposed than the quota) and again at approval, the Standing Committee and
# certification.
PROPOSAL_DEFAULT_ORDER = "expert_score"

# LT-9.3: the review committee. No size is set by the rules; a committee of fewer than three
# members is not a committee. A committee that votes passes a candidate by more than half (过半数)
# of its members; one that only scores passes at this average score or more (以上).
EXPERT_PANEL_MIN = 3
EXPERT_SCORE_MAX = 100
EXPERT_PASS_SCORE = 60

# LT-9.5: public notice of at least five working days (不少于五个工作日).
NOTICE_WORKING_DAYS = 5

# LT-10: the training period is three years from certification (the act's date, certified_on).
TRAINING_PERIOD_YEARS = 3

# LT-10 同一企业只认定一名领军人才: about certification (认定), not application. Several people of one
# enterprise may apply in a round and each is judged; none can be approved (LT-9.5) or certified
# while the enterprise already has a certified talent. Which talent counts: "ever" (the literal
# reading: any talent the enterprise ever had, selected or transferred, whatever became of them),
# or "in_period" (only a talent whose training period covers the act's date).
ENTERPRISE_TALENT_COUNTS = "ever"
ENTERPRISE_TALENT_READINGS = ("ever", "in_period")

# LT-10.1 每人一次性 (once per person, by the person's pseudonym): a person holds at most this many
# live applications (any round), and cannot apply while in a training period (selected or
# transferred). A former talent whose period has ended may apply again (no second grant: the
# subsidies service's rule).
PERSON_LIVE_APPLICATIONS_MAX = 1
APPLY_DURING_TRAINING_PERIOD = False

# LT-16 自动转入: the transfer happens by the rules themselves on the day they take effect. Whether a
# Yixiang talent transfers is judged on that day (their period had not ended), and the transfer is
# effective that day, whenever an officer records it.
TRANSFER_JUDGED_ON = EFFECTIVE_DATE
TRANSFER_EFFECTIVE_ON = EFFECTIVE_DATE
# The Yixiang scheme's records: it selected its talents from 2020 (Ten Measures' work points), and
# its training periods are read as at most three years, like this programme's.
YIXIANG_FIRST_PERIOD_START = dt.date(2020, 1, 1)
YIXIANG_PERIOD_MAX_YEARS = 3
YIXIANG_FIRST_APPLIED_YEAR = 2020

# LT-6 categories (专业条件), previous calendar year's figures (上年度) unless said.
INFLUENCER_ACCOUNT_YEARS = 2  # LT-6.1 注册账户两年以上: at least 2 years (inclusive)
INFLUENCER_FOLLOWERS_ABOVE = 100_000  # LT-6.1 粉丝量超过10万: more than 100,000 (exclusive)
LIVE_SALES_MIN_FEN = 30_000_000  # LT-6.2 30万元以上: at least 300,000 CNY (inclusive)
SELLER_SALES_MIN_FEN = 300_000_000  # LT-6.3 300万元以上: at least 3,000,000 CNY
CROSS_BORDER_SALES_MIN_FEN = 10_000_000  # LT-6.4 10万元以上: at least 100,000 CNY
# LT-6.3 逐年增长: the previous year's sales above the year before's (strictly).
# LT-6.3 有一定就业带动能力或税收贡献较大 (strong job creation or a large tax contribution): the rules
# set no figure, so it is not met by any positive amount. Reading "county_judgement": eligibility
# shows the figures (jobs driven, tax paid) and the county records its judgement on them with its
# reasons at its recommendation (LT-9.1), which passes an LT-6.3 applicant only if it finds one of
# the two. Reading "threshold": eligibility requires at least SELLER_STRONG_JOBS_MIN jobs or at
# least SELLER_LARGE_TAX_MIN_FEN of tax (both to be set by a policy notice before use).
SELLER_CONTRIBUTION_READING = "county_judgement"
SELLER_CONTRIBUTION_READINGS = ("county_judgement", "threshold")
SELLER_STRONG_JOBS_MIN: int | None = None
SELLER_LARGE_TAX_MIN_FEN: int | None = None

CATEGORIES = ("LT-6.1", "LT-6.2", "LT-6.3", "LT-6.4")
# LT-6.1 is the influencer track; LT-6.2/6.3/6.4 are sellers (LT-11.1 grades them on sales).
TRACK_OF_CATEGORY = {
    "LT-6.1": "influencer",
    "LT-6.2": "seller",
    "LT-6.3": "seller",
    "LT-6.4": "seller",
}
# The figures of each track that later assessments compare with (the baseline, LT-11.1).
BASELINE_FIGURES = {"influencer": ("followers", "exposure"), "seller": ("sales_fen",)}
# The evidence each category must state (its figures are those of the previous year).
EVIDENCE_REQUIRED = {
    "LT-6.1": (
        "account_registered_on",
        "activity_proof",
        "followers",
        "exposure",
        "local_influence",
    ),
    "LT-6.2": ("sales_fen", "sells_mainly_chuxiong_products"),
    "LT-6.3": ("sales_fen", "sales_fen_year_before", "jobs_driven", "tax_paid_fen"),
    "LT-6.4": ("sales_fen",),
}
