"""Policy parameters of the Leading Talent selection (楚才组〔2022〕7号), each beside its clause.
Changing any of them is a new ``POLICY_VERSION``; every event records the version it applied.

Chinese legal counting (Civil Code art. 1259): 以上/以下/以内/届满 include the number itself,
不满/超过/以外 exclude it. Each threshold below says which it is.
"""

import datetime as dt

POLICY_VERSION = "LT-2022-09-01/v2"

# LT-16: the rules take effect on issue; the Yixiang (彝乡) scheme is abolished the same day.
EFFECTIVE_DATE = dt.date(2022, 9, 1)

# LT-3: selection from 2022, one round a year; LT-8: at most 10 certified a round (不超过: ≤ 10).
FIRST_ROUND_YEAR = 2022
ROUND_QUOTA_MAX = 10

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
STAGES = (
    ("county_recommendation", "county_officer", "LT-9.1"),
    ("qualification_review", "prefecture_officer", "LT-9.2"),
    ("expert_review", "expert_chair", "LT-9.3"),
    ("inspection", "inspector", "LT-9.4"),
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
# Reading of 征求有关部门意见后择优推荐: the county recommends only with all six opinions on file,
# and only if none of the six bodies objects.
COUNTY_RECOMMENDATION_NEEDS_ALL_AGREE = True

# LT-9.3: the review committee. No size is set by the rules; a committee of fewer than three
# members is not a committee. A committee that votes passes a candidate by more than half (过半数)
# of its members; one that only scores passes at this average score or more (以上).
EXPERT_PANEL_MIN = 3
EXPERT_SCORE_MAX = 100
EXPERT_PASS_SCORE = 60

# LT-9.5: public notice of at least five working days (不少于五个工作日).
NOTICE_WORKING_DAYS = 5

# LT-10: the training period is three years from certification.
TRAINING_PERIOD_YEARS = 3

# LT-6 categories (专业条件), previous calendar year's figures (上年度) unless said.
INFLUENCER_ACCOUNT_YEARS = 2  # LT-6.1 注册账户两年以上: at least 2 years (inclusive)
INFLUENCER_FOLLOWERS_ABOVE = 100_000  # LT-6.1 粉丝量超过10万: more than 100,000 (exclusive)
LIVE_SALES_MIN_FEN = 30_000_000  # LT-6.2 30万元以上: at least 300,000 CNY (inclusive)
SELLER_SALES_MIN_FEN = 300_000_000  # LT-6.3 300万元以上: at least 3,000,000 CNY
CROSS_BORDER_SALES_MIN_FEN = 10_000_000  # LT-6.4 10万元以上: at least 100,000 CNY
# LT-6.3 逐年增长: the previous year's sales above the year before's (strictly).
# LT-6.3 一定就业带动能力或税收贡献较大: the rules set no figure; eligibility needs one of them
# shown (at least this many jobs, or at least this much tax), the size is the reviewers' to weigh.
SELLER_MIN_JOBS_DRIVEN = 1
SELLER_MIN_TAX_FEN = 1

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
