"""The Ten Measures' calculations, each at its boundaries: TM-4 (20% of wages, at most 6 months),
TM-5 (3 years counting the graduation year, at most 30,000), TM-6 (the loan ceilings and the
15%/8% hiring ratios), TM-7 (5,000 per graduate; the 2020 variant), TM-8 (3–12 months, 1,000 or
1,500 at 50% retention, early hires, epidemic extension), TM-10 (at most 2,000,000). Money is
integer fen; a refusal names the clause and the field."""

import datetime as dt

import pytest
from givenwhenthen import context

from services.subsidies.domain import measures, policy
from shared.errors import RuleViolation

D = dt.date
TODAY = D(2026, 11, 23)


def calc(measure, facts, **ctx):
    """The measure's calculation, for a claim filed on ``today`` (unless ``filed_on`` is given)."""
    ctx.setdefault("filed_on", ctx.get("today", TODAY))
    return measures.MEASURES[measure].calculate(facts, context(**ctx))


def refused(clause, measure, facts, field, **ctx):
    """Refused under ``clause``, naming ``field`` (a path, e.g. ("interns", "0", "planned_months"))."""
    with pytest.raises(RuleViolation) as info:
        calc(measure, facts, **ctx)
    err = info.value
    assert err.clause == clause, err.message
    node = err.fields
    for step in field if isinstance(field, tuple) else (field,):
        assert step in node, (field, err.fields)
        node = node[step]
    assert node == [err.message]
    return err


def amounts(calculation):
    return [x["amount_fen"] for x in calculation.breakdown]


def test_measure_parameters():
    assert (policy.TM4_RATE, policy.TM4_MAX_MONTHS) == (policy.TM4_RATE.__class__("0.20"), 6)
    assert policy.TM5_MAX_FEN == 3_000_000
    assert (
        policy.TM6_INDIVIDUAL_MAX_FEN,
        policy.TM6_PER_PARTNER_FEN,
        policy.TM6_PARTNERSHIP_NORMAL_MAX_FEN,
        policy.TM6_PARTNERSHIP_MAX_FEN,
        policy.TM6_ENTERPRISE_MAX_FEN,
    ) == (20_000_000, 20_000_000, 100_000_000, 110_000_000, 300_000_000)
    assert (
        str(policy.TM6_HIRING_RATIO),
        str(policy.TM6_LARGE_HIRING_RATIO),
        policy.TM6_LARGE_STAFF_ABOVE,
    ) == ("0.15", "0.08", 100)
    assert (policy.TM7_PER_GRADUATE_FEN, policy.TM7_2020_RATE_FEN) == (500_000, None)
    assert (
        policy.TM8_MIN_MONTHS,
        policy.TM8_MAX_MONTHS,
        policy.TM8_MONTHLY_FEN,
        policy.TM8_RETAINED_MONTHLY_FEN,
        str(policy.TM8_RETENTION),
    ) == (3, 12, 100_000, 150_000, "0.50")
    assert policy.TM10_MAX_FEN == 200_000_000
    for measure, source in policy.MEASURE_FUND.items():
        assert source is None or source in policy.FUNDS, measure


# -- TM-4 -------------------------------------------------------------------------------------------
def tm4(**kw):
    facts = dict(
        ecommerce=True,
        enterprise_size="small",
        worker_ref="w-1",
        worker_group="registered_unemployed",
        left_school_on=None,
        hired_on=D(2026, 3, 1),
        trained_on_the_job=True,
        monthly_wages_fen=[400_000] * 6,
    )
    return {**facts, **kw}


def test_tm4_six_months_are_all_counted():
    c = calc("TM-4", tm4())
    assert c.kind == "subsidy"
    assert amounts(c) == [80_000] * 6 and c.amount_fen == 480_000
    assert c.breakdown[5] == {
        "clause": "TM-4",
        "amount_fen": 80_000,
        "description": "month 6: 20% of wages paid 4,000.00",
    }


def test_tm4_the_seventh_month_is_not_counted():
    c = calc("TM-4", tm4(monthly_wages_fen=[400_000] * 6 + [900_000]))
    assert amounts(c) == [80_000] * 6 + [0] and c.amount_fen == 480_000
    assert c.breakdown[6] == {
        "clause": "TM-4",
        "amount_fen": 0,
        "description": "month 7: not counted, at most 6 months in total (累计最长不超过6个月)",
    }


def test_tm4_actual_months_and_actual_wages():
    c = calc("TM-4", tm4(monthly_wages_fen=[350_000, 0, 412_345]))
    assert amounts(c) == [70_000, 0, 82_469] and c.amount_fen == 152_469


@pytest.mark.parametrize("wages, subsidy", [(12, 2), (13, 3), (1, 0), (3, 1), (333_333, 66_667)])
def test_tm4_rounds_each_month_to_the_fen_half_up(wages, subsidy):
    assert calc("TM-4", tm4(monthly_wages_fen=[wages])).amount_fen == subsidy


@pytest.mark.parametrize("group", sorted(policy.TM4_GROUPS))
def test_tm4_eligible_groups(group):
    c = calc("TM-4", tm4(worker_group=group, left_school_on=D(2025, 7, 1)))
    assert c.eligibility[0]["finding"].endswith(policy.TM4_GROUPS[group])


@pytest.mark.parametrize(
    "left, hired, ok",
    [
        (D(2024, 7, 1), D(2026, 7, 1), True),  # 离校两年内: the second anniversary included
        (D(2024, 7, 1), D(2026, 7, 2), False),
        (D(2024, 2, 29), D(2026, 2, 28), True),
        (D(2024, 2, 29), D(2026, 3, 1), False),
    ],
)
def test_tm4_graduate_within_two_years_of_leaving_school(left, hired, ok):
    facts = tm4(worker_group="graduate", left_school_on=left, hired_on=hired)
    if ok:
        assert calc("TM-4", facts).amount_fen == 480_000
    else:
        refused("TM-4", "TM-4", facts, "hired_on")


@pytest.mark.parametrize(
    "facts, field",
    [
        (dict(enterprise_size="large"), "enterprise_size"),
        (dict(worker_group="other"), "worker_group"),
        (dict(worker_group="graduate", left_school_on=None), "left_school_on"),
        (dict(trained_on_the_job=False), "trained_on_the_job"),
        (dict(ecommerce=False), "ecommerce"),
    ],
)
def test_tm4_ineligible(facts, field):
    refused("TM-4", "TM-4", tm4(**facts), field)


# -- TM-5 -------------------------------------------------------------------------------------------
def tm5(**kw):
    facts = dict(
        ecommerce=True,
        graduated_on=D(2021, 6, 30),
        founded_on=D(2022, 3, 1),
        entity_name="彝绣电商工作室",
        in_prefecture=True,
        effects=["poverty_alleviation", "innovation"],
        requested_fen=3_000_000,
    )
    return {**facts, **kw}


def test_tm5_parameters():
    assert policy.TM5_ACADEMIC_YEAR_STARTS == (7, 1)
    assert policy.TM5_YEARS_AFTER_GRADUATION == 3
    assert policy.TM5_EFFECTS_REQUIRED == "both"


@pytest.mark.parametrize(
    "graduated, opens, closes",
    [
        (D(2021, 6, 30), D(2020, 7, 1), D(2024, 6, 30)),
        (D(2021, 1, 15), D(2020, 7, 1), D(2024, 1, 15)),
        (D(2020, 2, 29), D(2019, 7, 1), D(2023, 2, 28)),  # no 29 February in 2023
    ],
)
def test_tm5_window_from_the_graduation_academic_year_to_the_third_anniversary(
    graduated, opens, closes
):
    assert measures.tm5_window(graduated) == (opens, closes)


@pytest.mark.parametrize(
    "founded, ok",
    [
        (D(2020, 6, 30), False),  # the day before the graduation academic year (毕业学年) began
        (D(2020, 7, 1), True),  # its first day: 1 July of the year before graduation
        (D(2021, 1, 1), True),  # the graduation year's 1 January (the old reading's first day)
        (D(2023, 12, 31), True),  # the old reading's last day
        (D(2024, 6, 30), True),  # the third anniversary of graduation, included (3年内)
        (D(2024, 7, 1), False),  # the day after
    ],
)
def test_tm5_founded_within_three_years_including_the_graduation_academic_year(founded, ok):
    """Given a graduate of 2021-06-30, when the entity was founded on ``founded``, then it is in
    the window from 2020-07-01 to 2024-06-30, both days included, or refused naming founded_on."""
    facts = tm5(founded_on=founded)
    if ok:
        c = calc("TM-5", facts, filed_on=D(2024, 12, 1))
        assert c.amount_fen == 3_000_000
        assert c.eligibility[0]["finding"] == (
            f"graduated on 2021-06-30, founded on {founded}: within 2020-07-01 to 2024-06-30 "
            "(毕业3年内（含毕业学年）)"
        )
    else:
        err = refused("TM-5", "TM-5", facts, "founded_on", filed_on=D(2024, 12, 1))
        assert "the window is 2020-07-01 to 2024-06-30" in err.message


@pytest.mark.parametrize(
    "effects, ok",
    [
        (["poverty_alleviation", "innovation"], True),
        (["innovation", "poverty_alleviation"], True),
        (["poverty_alleviation"], False),
        (["innovation"], False),
        ([], False),
    ],
)
def test_tm5_both_effects_are_required(effects, ok):
    """Given the reading "both" (带动脱贫效果明显、创新示范效应显著), when a claim shows
    ``effects``, then it passes only with both."""
    if ok:
        c = calc("TM-5", tm5(effects=effects))
        assert c.eligibility[1]["finding"] == "effects: 带动脱贫效果明显、创新示范效应显著"
    else:
        err = refused("TM-5", "TM-5", tm5(effects=effects), "effects")
        assert "both" in err.message and "missing" in err.message


@pytest.mark.parametrize(
    "effects, ok",
    [(["poverty_alleviation"], True), (["innovation"], True), ([], False)],
)
def test_tm5_the_other_reading_takes_either_effect(monkeypatch, effects, ok):
    monkeypatch.setattr(policy, "TM5_EFFECTS_REQUIRED", "either")
    if ok:
        assert calc("TM-5", tm5(effects=effects)).amount_fen == 3_000_000
    else:
        refused("TM-5", "TM-5", tm5(effects=effects), "effects")


@pytest.mark.parametrize(
    "requested, granted, lines",
    [
        (3_000_000, 3_000_000, [3_000_000]),
        (2_999_999, 2_999_999, [2_999_999]),
        (3_000_001, 3_000_000, [3_000_001, 3_000_000]),
    ],
)
def test_tm5_at_most_30000(requested, granted, lines):
    c = calc("TM-5", tm5(requested_fen=requested))
    assert (c.amount_fen, amounts(c)) == (granted, lines)
    assert {x["clause"] for x in c.breakdown} == {"TM-5"}


@pytest.mark.parametrize(
    "facts, field",
    [
        (dict(in_prefecture=False), "in_prefecture"),
        (dict(ecommerce=False), "ecommerce"),
    ],
)
def test_tm5_ineligible(facts, field):
    refused("TM-5", "TM-5", tm5(**facts), field)


# -- TM-6 -------------------------------------------------------------------------------------------
def tm6(**kw):
    facts = dict(
        ecommerce=True,
        borrower_kind="individual",
        partners=None,
        enterprise_size=None,
        current_staff=None,
        new_hires=[],
        meets_loan_conditions=True,
        requested_fen=500_000_000,
    )
    return {**facts, **kw}


def test_tm6_individual_ceiling():
    c = calc("TM-6", tm6())
    assert (c.kind, c.amount_fen) == ("loan_ceiling", 20_000_000)
    assert amounts(c) == [20_000_000, 500_000_000, 20_000_000]
    assert calc("TM-6", tm6(requested_fen=15_000_000)).amount_fen == 15_000_000


@pytest.mark.parametrize(
    "partners, ceiling, lines",
    [
        (2, 40_000_000, [40_000_000]),
        (5, 100_000_000, [100_000_000]),  # the normal limit, exactly
        (6, 110_000_000, [120_000_000, 110_000_000, 110_000_000]),  # 1,200,000 -> the 1,100,000 cap
        (10, 110_000_000, [200_000_000, 110_000_000, 110_000_000]),
    ],
)
def test_tm6_partnership_ceiling(partners, ceiling, lines):
    c = calc("TM-6", tm6(borrower_kind="partnership", partners=partners))
    assert c.amount_fen == ceiling
    assert amounts(c)[: len(lines)] == lines
    texts = [x["description"] for x in c.breakdown]
    assert any("一般不超过100万元" in t for t in texts) == (ceiling > 100_000_000)


def test_tm6_a_partnership_of_six_is_capped_at_1100000():
    c = calc("TM-6", tm6(borrower_kind="partnership", partners=6, requested_fen=110_000_000))
    assert c.amount_fen == 110_000_000
    assert [x["description"] for x in c.breakdown[:2]] == [
        "6 partners × 200,000.00 (20万元/人)",
        "limited to the maximum 1,100,000.00 (最高不超过110万元)",
    ]


@pytest.mark.parametrize("partners", [None, 1])
def test_tm6_a_partnership_has_two_partners_or_more(partners):
    refused("TM-6", "TM-6", tm6(borrower_kind="partnership", partners=partners), "partners")


def hires(n, year=2026, contract=12, qualifies=True):
    return [
        dict(
            person_ref=f"p-{i}",
            hired_on=D(year, 5, 1),
            contract_months=contract,
            meets_loan_conditions=qualifies,
        )
        for i in range(n)
    ]


def enterprise(staff, new_hires, size="small"):
    return tm6(
        borrower_kind="small_enterprise",
        enterprise_size=size,
        current_staff=staff,
        new_hires=new_hires,
    )


@pytest.mark.parametrize(
    "staff, n, shown",
    [
        (20, 3, "15.00%"),  # 15% exactly
        (60, 9, "15.00%"),
        (100, 15, "15.00%"),  # 100 staff is not "more than 100": 15% still applies
        (101, 9, "8.91%"),  # more than 100 staff: 8%
        (1000, 80, "8.00%"),
    ],
)
def test_tm6_enterprise_reaching_the_hiring_ratio(staff, n, shown):
    c = calc("TM-6", enterprise(staff, hires(n)), today=TODAY)
    assert c.amount_fen == 300_000_000
    assert shown in c.eligibility[0]["finding"]


@pytest.mark.parametrize(
    "staff, n, shown",
    [
        (67, 10, "14.92%"),  # 14.9%: not rounded up to 15%
        (100, 14, "14.00%"),
        (101, 8, "7.92%"),  # 101 staff at 8% needs 8.08 hires: 8 is short
        (1000, 79, "7.90%"),
    ],
)
def test_tm6_enterprise_short_of_the_hiring_ratio(staff, n, shown):
    err = refused("TM-6", "TM-6", enterprise(staff, hires(n)), "new_hires", today=TODAY)
    assert shown in err.message


def test_tm6_only_qualifying_hires_of_this_year_on_a_year_or_more_count():
    counted = hires(3)
    not_counted = hires(1, year=2025) + hires(1, contract=11) + hires(1, qualifies=False)
    assert (
        calc("TM-6", enterprise(20, counted + not_counted), today=TODAY).amount_fen == 300_000_000
    )
    refused("TM-6", "TM-6", enterprise(20, counted[:2] + not_counted), "new_hires", today=TODAY)


@pytest.mark.parametrize("size", ["medium", "large", None])
def test_tm6_only_small_and_micro_enterprises(size):
    refused("TM-6", "TM-6", enterprise(20, hires(3), size=size), "enterprise_size", today=TODAY)


def test_tm6_enterprise_ceiling_3000000():
    c = calc("TM-6", {**enterprise(20, hires(3)), "requested_fen": 300_000_001}, today=TODAY)
    assert c.amount_fen == 300_000_000 and amounts(c) == [300_000_000, 300_000_001, 300_000_000]


def test_tm6_the_borrower_must_meet_the_loan_policy():
    refused("TM-6", "TM-6", tm6(meets_loan_conditions=False), "meets_loan_conditions")


# -- TM-7 -------------------------------------------------------------------------------------------
def tm7(**kw):
    facts = dict(
        ecommerce=True,
        variant="standard",
        enterprise_size="micro",
        hire_ref="g-1",
        hire_group="graduate",
        graduated_on=D(2026, 6, 30),
        unemployed_months=None,
        hired_on=D(2026, 12, 31),
        contract_months=12,
        social_insurance=True,
    )
    return {**facts, **kw}


def test_tm7_5000_per_graduate_hired_in_the_graduation_year():
    c = calc("TM-7", tm7())
    assert (c.amount_fen, amounts(c)) == (500_000, [500_000])


@pytest.mark.parametrize(
    "facts, field",
    [
        (dict(hired_on=D(2027, 1, 1)), "hired_on"),  # not the graduation year
        (dict(contract_months=11), "contract_months"),  # 1年以上: 12 months or more
        (dict(social_insurance=False), "social_insurance"),
        (dict(enterprise_size="large"), "enterprise_size"),
        (dict(hire_group="registered_unemployed"), "hire_group"),
        (dict(graduated_on=None), "graduated_on"),
    ],
)
def test_tm7_ineligible(facts, field):
    refused("TM-7", "TM-7", tm7(**facts), field)


def tm7_2020(**kw):
    return tm7(
        variant="2020", graduated_on=D(2017, 7, 1), hired_on=D(2020, 7, 1), contract_months=6, **kw
    )


def test_tm7_2020_rate_is_a_parameter_refused_until_configured():
    refused("TM-7", "TM-7", tm7_2020(), "variant")
    c = calc("TM-7", tm7_2020(), tm7_2020_rate_fen=100_000)
    assert (c.amount_fen, amounts(c)) == (100_000, [100_000])
    assert "云人社发〔2020〕26号" in c.breakdown[0]["description"]


@pytest.mark.parametrize(
    "facts, field",
    [
        (dict(hired_on=D(2020, 7, 2)), "hired_on"),  # 毕业三年内: 3 years to the day
        (dict(contract_months=5), "contract_months"),  # 半年以上: 6 months or more
        (dict(hire_group="registered_unemployed", unemployed_months=5), "unemployed_months"),
    ],
)
def test_tm7_2020_boundaries(facts, field):
    refused("TM-7", "TM-7", {**tm7_2020(), **facts}, field, tm7_2020_rate_fen=100_000)


@pytest.mark.parametrize(
    "facts",
    [
        dict(hire_group="registered_unemployed", unemployed_months=6),
        dict(hire_group="migrant_worker_epidemic", graduated_on=None),
    ],
)
def test_tm7_2020_other_groups(facts):
    assert calc("TM-7", {**tm7_2020(), **facts}, tm7_2020_rate_fen=100_000).amount_fen == 100_000


def test_tm7_2020_covers_hires_in_2020_only():
    refused(
        "TM-7",
        "TM-7",
        {**tm7_2020(), "hired_on": D(2021, 1, 4), "graduated_on": D(2020, 7, 1)},
        "hired_on",
        tm7_2020_rate_fen=100_000,
    )


# -- TM-8 -------------------------------------------------------------------------------------------
def intern(ref, planned=6, served=None, outcome="completed", retained=False, interrupted=0):
    return dict(
        intern_ref=ref,
        start_on=D(2020, 7, 1),
        planned_months=planned,
        served_months=planned if served is None else served,
        interrupted_months=interrupted,
        outcome=outcome,
        retained=retained,
    )


def tm8(*interns):
    return dict(ecommerce=True, cohort="2020-07", interns=list(interns))


@pytest.mark.parametrize("months", [3, 12])
def test_tm8_three_and_twelve_months(months):
    c = calc("TM-8", tm8(intern("i-1", months)))
    assert c.amount_fen == months * 100_000


@pytest.mark.parametrize("months", [2, 13, 0, -1])
def test_tm8_outside_three_to_twelve_months_is_refused(months):
    err = refused(
        "TM-8",
        "TM-8",
        tm8(intern("i-1", 6), intern("i-2", months)),
        ("interns", "1", "planned_months"),
    )
    assert err.message == (
        f"intern i-2: an internship is 3 to 12 months (见习期为3—12个月), not {months}"
    )


def test_tm8_retention_of_exactly_50_percent_pays_1500():
    c = calc(
        "TM-8",
        tm8(
            intern("i-1", retained=True), intern("i-2", retained=True), intern("i-3"), intern("i-4")
        ),
    )
    assert amounts(c) == [6 * 150_000] * 4 and c.amount_fen == 3_600_000
    assert "2 of 4 (50.00%)" in c.eligibility[0]["finding"]


def test_tm8_retention_below_50_percent_pays_1000():
    c = calc("TM-8", tm8(intern("i-1", retained=True), intern("i-2"), intern("i-3")))
    assert amounts(c) == [600_000] * 3
    assert "1 of 3 (33.33%)" in c.eligibility[0]["finding"]


def test_tm8_hired_before_the_end_earns_the_remaining_months_and_counts_as_retained():
    c = calc("TM-8", tm8(intern("i-1", 6, served=4, outcome="hired_early"), intern("i-2")))
    assert amounts(c) == [6 * 150_000, 6 * 150_000]
    assert "the remaining 2 months too" in c.breakdown[0]["description"]


def test_tm8_left_early_earns_the_months_served_and_is_outside_the_retention_rate():
    c = calc(
        "TM-8", tm8(intern("i-1", 6, served=2, outcome="left_early"), intern("i-2", retained=True))
    )
    assert amounts(c) == [2 * 150_000, 6 * 150_000]
    assert "1 of 1 (100.00%)" in c.eligibility[0]["finding"]
    only_left = calc("TM-8", tm8(intern("i-1", 6, served=2, outcome="left_early")))
    assert amounts(only_left) == [200_000]


def test_tm8_an_epidemic_interruption_extends_the_subsidy_period():
    c = calc("TM-8", tm8(intern("i-1", 6, interrupted=2)))
    assert c.amount_fen == 600_000
    assert c.breakdown[0]["description"].endswith(
        "interrupted by the epidemic for 2 months: the subsidy period is extended to "
        "2021-02-28 (相应延长)"
    )


@pytest.mark.parametrize(
    "interns, field",
    [
        ((intern("i-1"), intern("i-1")), ("interns", "1", "intern_ref")),
        ((intern("i-1", 6, served=7, outcome="hired_early"),), ("interns", "0", "served_months")),
        ((intern("i-1", 6, served=5),), ("interns", "0", "served_months")),  # completed: all 6
    ],
)
def test_tm8_inconsistent_interns_are_refused(interns, field):
    refused("TM-8", "TM-8", tm8(*interns), field)


# -- TM-10 ------------------------------------------------------------------------------------------
def tm10(**kw):
    return {**dict(ecommerce=True, provincial_review_passed=True, requested_fen=200_000_000), **kw}


@pytest.mark.parametrize(
    "requested, granted",
    [(200_000_000, 200_000_000), (200_000_001, 200_000_000), (150_000_000, 150_000_000)],
)
def test_tm10_at_most_2000000(requested, granted):
    assert calc("TM-10", tm10(requested_fen=requested)).amount_fen == granted


def test_tm10_needs_the_provincial_review():
    refused("TM-10", "TM-10", tm10(provincial_review_passed=False), "provincial_review_passed")


# -- claim keys: who may be paid only once for what -------------------------------------------------
@pytest.mark.parametrize(
    "measure, facts, key",
    [
        ("TM-4", tm4(), "TM-4:E1:w-1"),
        ("TM-5", tm5(), "TM-5:E1"),
        ("TM-6", tm6(), "TM-6:E1:2026"),
        ("TM-7", tm7(), "TM-7:g-1"),  # once per person hired, whoever hires
        ("TM-8", tm8(intern("i-1")), "TM-8:E1:2020-07"),
        ("TM-10", tm10(), "TM-10:E1"),
    ],
)
def test_claim_keys(measure, facts, key):
    assert measures.claim_id(measure, "E1", facts, TODAY) == key
