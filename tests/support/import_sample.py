"""The sample import file the tests write (``talent-import``'s template filled in): a 2022 round
and a 2023 round with ten certified talents between them, a Yixiang talent whose 2021 period
runs on, transferred under LT-16, the 2022 and 2023 LT-10.1 budgets, the subsidies paid in 2023
a year-1 report, and a talent who left in 2024, disqualified and repaid in two parts. ``history_rows`` gives the rows; ``write_workbook`` of talent_import writes
them (tests/unit/test_import.py, tests/e2e/test_import_history.py)."""

import datetime as dt
import random

from services.assessment.domain.schedule import anniversary
from talent_client.samples import fake_credit_code, fake_id_number

D = dt.date
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

# (ref, round year, submitted, notice start, certified): five per round
CERTIFICATIONS = [
    *[
        (f"T2022-{i + 1:02d}", 2022, D(2022, 10, 10), D(2022, 11, 1), D(2022, 11, 15))
        for i in range(5)
    ],
    *[
        (f"T2023-{i + 1:02d}", 2023, D(2023, 6, 5), D(2023, 6, 26), D(2023, 7, 10))
        for i in range(5)
    ],
]
FOLLOWED = "T2023-01"
DEPARTED = "T2022-05"
"""A talent whose departure, disqualification and recovery in two parts are in the file."""
"""The talent the end-to-end test follows after the import (a year-1 report in the file)."""


def history_rows(seed=2022):
    rng = random.Random(seed)
    talents = []
    for i, (ref, year, submitted, notice, certified) in enumerate(CERTIFICATIONS):
        county = COUNTIES[i]
        talents.append(
            {
                "ref": ref,
                "round_year": year,
                "county": county,
                "name": f"历史{'甲乙丙丁戊己庚辛壬癸'[i]}",
                "gender": "女" if i % 2 else "男",
                "id_number": fake_id_number(D(1985 + i, 3, 1 + i), county, rng),
                "phone": f"139{rng.randrange(10**8):08d}",
                "category": "LT-6.3",
                "enterprise_name": f"历史{i}电子商务有限公司",
                "credit_code": fake_credit_code(county, rng),
                "sales_yuan": 3_500_000,
                "sales_year_before_yuan": 3_100_000,
                "jobs_driven": 12,
                "tax_paid_yuan": 12_000,
                "expert_score": 80 + i,
                "submitted_on": submitted,
                "notice_start": notice,
                "certified_on": certified,
                "file_ref": f"楚商档{year}-{i + 1:03d}",
            }
        )
    followed = next(t for t in CERTIFICATIONS if t[0] == FOLLOWED)
    year1 = anniversary(followed[4], 1) + dt.timedelta(days=5)
    while year1.weekday() >= 5:
        year1 += dt.timedelta(days=1)
    return {
        "rounds": [
            {
                "year": 2022,
                "quota": 10,
                "window_opens": D(2022, 9, 1),
                "window_closes": D(2022, 12, 31),
                "opened_on": D(2022, 9, 1),
            },
            {
                "year": 2023,
                "quota": 10,
                "window_opens": D(2023, 1, 1),
                "window_closes": D(2023, 12, 31),
                "opened_on": D(2023, 1, 1),
            },
        ],
        "funds": [
            {
                "source": "prefecture_finance",
                "fiscal_year": 2022,
                "amount_yuan": 250_000,
                "reference": "楚财〔2022〕88号",
                "set_on": D(2022, 9, 15),
            },
            {
                "source": "prefecture_finance",
                "fiscal_year": 2023,
                "amount_yuan": 250_000,
                "reference": "楚财〔2023〕12号",
                "set_on": D(2023, 2, 1),
            },
        ],
        "talents": talents,
        "transfers": [
            {
                "yixiang_talent_id": "YX2021-007",
                "name": "怡乡转入",
                "id_number": fake_id_number(D(1990, 5, 6), "楚雄市", rng),
                "county": "楚雄市",
                "category": "LT-6.3",
                "enterprise_name": "怡乡电子商务有限公司",
                "credit_code": fake_credit_code("楚雄市", rng),
                "baseline_year": 2020,
                "baseline_sales_yuan": 2_000_000,
                "period_start": D(2021, 6, 1),
                "period_end": D(2024, 5, 31),
            },
        ],
        "payments": [
            {
                "talent": ref,
                "paid_on": D(2023, 3, 1) if year == 2022 else D(2023, 9, 1),
                "payment_reference": f"PAY-{ref}",
            }
            for ref, year, *_ in CERTIFICATIONS
        ],
        "reports": [
            {
                "talent": FOLLOWED,
                "tenure_year": 1,
                "reported_on": year1,
                "sales_yuan": 4_200_000,
                "promotion_activities": 2,
                "backbones_trained": 8,
                "full_time_in_chuxiong": "是",
            },
        ],
        "disqualifications": [
            {
                "talent": DEPARTED,
                "kind": "departure",
                "occurred_on": D(2024, 3, 1),
                "description": "离开楚雄到外地发展",
                "reference": "楚雄市商务局〔2024〕5号",
                "reported_on": D(2024, 3, 11),
                "decided_on": D(2024, 4, 8),
            },
        ],
        "repayments": [
            {
                "talent": DEPARTED,
                "amount_yuan": 20_000,
                "reference": "REPAY-2024-1",
                "repaid_on": D(2024, 5, 6),
            },
            {
                "talent": DEPARTED,
                "amount_yuan": 30_000,
                "reference": "REPAY-2024-2",
                "repaid_on": D(2024, 6, 3),
            },
        ],
    }
