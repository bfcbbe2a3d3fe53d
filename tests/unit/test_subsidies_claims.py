"""The claim decider (Ten Measures applications) and the fund decider (budgets per source and
fiscal year, TM-1): filed with eligibility and breakdown, approved against the fund or refused
(TM-1), rejected with reasons and filed again, paid once; TM-6 is a loan ceiling nobody pays."""

import datetime as dt

import pytest
from givenwhenthen import TODAY, NewEvent, given, refused, then, types, when
from marshmallow import ValidationError

from services.subsidies import schemas
from services.subsidies.domain.claim import DecideClaim, FileClaim, PayClaim, claim
from services.subsidies.domain.fund import Position, SetBudget, fund
from shared.errors import RuleViolation

D = dt.date
WAGES = [400_000, 400_000]
TM4_FACTS = dict(
    ecommerce=True,
    enterprise_size="small",
    worker_ref="w-1",
    worker_group="graduate",
    left_school_on=D(2025, 7, 1),
    hired_on=D(2026, 3, 1),
    trained_on_the_job=True,
    monthly_wages_fen=WAGES,
)
IDS = {"claim_id": "TM-4:E1:w-1", "measure": "TM-4", "party_id": "E1"}


def employment_fund(budget=10_000_000, committed=0, year=2026):
    return Position("employment_fund", year, budget, committed)


def file_tm4(**facts):
    return FileClaim("TM-4:E1:w-1", "TM-4", "E1", "楚雄某电商有限公司", {**TM4_FACTS, **facts})


def filed():
    return NewEvent(
        "MeasureClaimFiled",
        {
            **IDS,
            "party_name": "楚雄某电商有限公司",
            "kind": "subsidy",
            "amount_fen": 160_000,
            "breakdown": [
                {
                    "clause": "TM-4",
                    "description": "month 1: 20% of wages paid 4,000.00",
                    "amount_fen": 80_000,
                },
                {
                    "clause": "TM-4",
                    "description": "month 2: 20% of wages paid 4,000.00",
                    "amount_fen": 80_000,
                },
            ],
            "eligibility": [
                {
                    "clause": "TM-4",
                    "finding": "small e-commerce enterprise hiring a person of the "
                    "group 离校两年内高校毕业生",
                },
                {
                    "clause": "TM-4",
                    "finding": "left school on 2025-07-01, hired on 2026-03-01: within 2 years",
                },
            ],
            "facts": {k: v for k, v in TM4_FACTS.items()},
            "filed_on": TODAY,
        },
        ("TM-4",),
    )


def approved(amount=160_000):
    return NewEvent(
        "MeasureClaimApproved",
        {
            **IDS,
            "kind": "subsidy",
            "amount_fen": amount,
            "fund": "employment_fund",
            "fiscal_year": 2026,
            "approved_on": TODAY,
        },
        ("TM-4", "TM-1"),
    )


def rejected():
    return NewEvent(
        "MeasureClaimRejected",
        {**IDS, "reasons": ["wages not evidenced"], "rejected_on": TODAY},
        ("TM-4",),
    )


def paid():
    return NewEvent(
        "MeasureClaimPaid",
        {
            **IDS,
            "amount_fen": 160_000,
            "fund": "employment_fund",
            "fiscal_year": 2026,
            "payment_reference": "JY-2026-7",
            "paid_on": D(2026, 11, 30),
        },
        ("TM-4",),
    )


# -- filing -----------------------------------------------------------------------------------------
def test_file_a_claim_with_its_eligibility_and_breakdown():
    events = when(claim, given(claim), file_tm4())
    then(events, filed())
    state = given(claim, events)
    assert (state.status, state.claim_id, state.measure, state.kind, state.amount_fen) == (
        "filed",
        "TM-4:E1:w-1",
        "TM-4",
        "subsidy",
        160_000,
    )


def test_facts_not_given_are_not_stored():
    [event] = when(
        claim, given(claim), file_tm4(worker_group="registered_unemployed", left_school_on=None)
    )
    assert "left_school_on" not in event.payload["facts"]


def test_an_ineligible_claim_is_refused_and_records_nothing():
    err = refused("TM-4", claim, given(claim), file_tm4(enterprise_size="large"))
    assert err.fields == {"enterprise_size": [err.message]}


@pytest.mark.parametrize(
    "history", [[filed()], [filed(), approved()], [filed(), approved(), paid()]]
)
def test_the_same_party_measure_and_period_cannot_be_claimed_twice(history):
    err = refused("TM-4", claim, given(claim, *history), file_tm4())
    assert err.fields == {"party_id": ["Already claimed for this measure and period."]}
    assert err.details["claim_id"] == "TM-4:E1:w-1"


def test_a_rejected_claim_may_be_filed_again_corrected():
    state = given(claim, filed(), rejected())
    [event] = when(claim, state, file_tm4(monthly_wages_fen=[500_000]))
    assert (event.event_type, event.payload["amount_fen"]) == ("MeasureClaimFiled", 100_000)
    assert given(claim, filed(), rejected(), event).status == "filed"


# -- decision ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("budget, committed", [(160_000, 0), (10_000_000, 9_840_000)])
def test_approval_charges_the_fund_of_the_year(budget, committed):
    events = when(
        claim, given(claim, filed()), DecideClaim(True), fund=employment_fund(budget, committed)
    )
    then(events, approved())
    assert given(claim, filed(), events).status == "approved"


@pytest.mark.parametrize(
    "position, message",
    [
        (
            employment_fund(budget=159_999),
            "州本级就业专项资金 (employment_fund) 2026 has 1,599.99 CNY "
            "left of its budget of 1,599.99; 1,600.00 is needed",
        ),
        (
            employment_fund(budget=None),
            "no budget is set for 州本级就业专项资金 (employment_fund) 2026",
        ),
        (
            employment_fund(budget=10_000_000, committed=9_840_001),
            "州本级就业专项资金 (employment_fund) 2026 has 1,599.99 CNY left of its budget of "
            "100,000.00; 1,600.00 is needed",
        ),
    ],
)
def test_an_approval_the_budget_cannot_cover_is_refused(position, message):
    err = refused("TM-1", claim, given(claim, filed()), DecideClaim(True), fund=position)
    assert err.message == message
    assert err.details["needed_fen"] == 160_000


def test_rejection_needs_reasons():
    err = refused("TM-4", claim, given(claim, filed()), DecideClaim(False))
    assert err.fields == {"reasons": ["Required when rejecting."]}
    then(
        when(claim, given(claim, filed()), DecideClaim(False, ("wages not evidenced",))), rejected()
    )


@pytest.mark.parametrize(
    "history", [[], [filed(), rejected()], [filed(), approved()], [filed(), approved(), paid()]]
)
def test_only_a_filed_claim_is_decided(history):
    with pytest.raises(RuleViolation) as info:
        when(claim, given(claim, *history), DecideClaim(True), fund=employment_fund())
    assert "only a filed claim" in info.value.message


# -- payment ----------------------------------------------------------------------------------------
def test_pay_an_approved_claim_once():
    events = when(claim, given(claim, filed(), approved()), PayClaim("JY-2026-7", D(2026, 11, 30)))
    then(events, paid())
    state = given(claim, filed(), approved(), events)
    assert state.status == "paid"
    refused("TM-4", claim, state, PayClaim("JY-2026-8", D(2026, 12, 1)))


@pytest.mark.parametrize("history", [[filed()], [filed(), rejected()]])
def test_only_an_approved_claim_is_paid(history):
    refused("TM-4", claim, given(claim, *history), PayClaim("JY-1", D(2026, 12, 1)))


def tm6_filed():
    return when(
        claim,
        given(claim),
        FileClaim(
            "TM-6:P1:2026",
            "TM-6",
            "P1",
            "某合伙电商",
            dict(
                ecommerce=True,
                borrower_kind="partnership",
                partners=6,
                enterprise_size=None,
                current_staff=None,
                new_hires=[],
                meets_loan_conditions=True,
                requested_fen=200_000_000,
            ),
        ),
    )


def test_tm6_is_a_loan_ceiling_approved_without_a_fund_and_never_paid():
    filing = tm6_filed()
    assert (filing[0].payload["kind"], filing[0].payload["amount_fen"]) == (
        "loan_ceiling",
        110_000_000,
    )
    approval = when(claim, given(claim, filing), DecideClaim(True))  # no fund in context
    then(
        approval,
        NewEvent(
            "MeasureClaimApproved",
            {
                "claim_id": "TM-6:P1:2026",
                "measure": "TM-6",
                "party_id": "P1",
                "kind": "loan_ceiling",
                "amount_fen": 110_000_000,
                "fund": None,
                "fiscal_year": 2026,
                "approved_on": TODAY,
            },
            ("TM-6",),
        ),
    )
    err = refused("TM-6", claim, given(claim, filing, approval), PayClaim("X", TODAY))
    assert "lending bank" in err.message


# -- funds: the budget, per source and fiscal year --------------------------------------------------
def budget(amount, previous=0, committed=0, source="employment_fund", clause="TM-1"):
    return NewEvent(
        "BudgetSet",
        {
            "fund": source,
            "fiscal_year": 2026,
            "amount_fen": amount,
            "previous_fen": previous,
            "committed_fen": committed,
            "reference": "楚财社〔2026〕1号",
        },
        (clause,),
    )


def set_budget(amount, source="employment_fund"):
    return SetBudget(source, 2026, amount, "楚财社〔2026〕1号")


def test_set_then_raise_a_budget():
    first = when(fund, given(fund), set_budget(10_000_000), fund=employment_fund(None))
    then(first, budget(10_000_000))
    raised = when(
        fund,
        given(fund, first),
        set_budget(15_000_000),
        fund=employment_fund(10_000_000, 4_000_000),
    )
    then(raised, budget(15_000_000, previous=10_000_000, committed=4_000_000))
    assert given(fund, first, raised).budget_fen == 15_000_000


def test_the_prefecture_finance_budget_binds_under_lt_10_1():
    then(
        when(
            fund,
            given(fund),
            set_budget(50_000_000, "prefecture_finance"),
            fund=Position("prefecture_finance", 2026),
        ),
        budget(50_000_000, source="prefecture_finance", clause="LT-10.1"),
    )


def test_setting_the_same_budget_again_records_nothing():
    assert (
        when(
            fund,
            given(fund, budget(10_000_000)),
            set_budget(10_000_000),
            fund=employment_fund(10_000_000),
        )
        == []
    )


def test_a_budget_may_be_cut_down_to_what_is_committed_not_below():
    history = [budget(10_000_000)]
    then(
        when(
            fund,
            given(fund, *history),
            set_budget(4_000_000),
            fund=employment_fund(10_000_000, 4_000_000),
        ),
        budget(4_000_000, previous=10_000_000, committed=4_000_000),
    )
    err = refused(
        "TM-1",
        fund,
        given(fund, *history),
        set_budget(3_999_999),
        fund=employment_fund(10_000_000, 4_000_000),
    )
    assert err.fields == {"amount_fen": ["At least 4000000."]}


@pytest.mark.parametrize(
    "position, amount, room",
    [
        (Position("employment_fund", 2026, None, 0), 1, False),
        (Position("employment_fund", 2026, 0, 0), 0, True),
        (Position("employment_fund", 2026, 100, 40), 60, True),
        (Position("employment_fund", 2026, 100, 40), 61, False),
    ],
)
def test_fund_room(position, amount, room):
    assert position.has_room(amount) is room
    assert (position.refusal(amount) is None) is room


def test_contract_enums_match_the_policy():
    from services.subsidies.domain import measures, policy
    from shared.contracts import subsidies as contract

    assert set(contract.FUND_SOURCES) == set(policy.FUNDS)
    assert set(contract.MEASURES) == set(measures.MEASURES)
    assert set(contract.CLAIM_KINDS) == {measures.SUBSIDY, measures.LOAN_CEILING}
    assert types(when(claim, given(claim), file_tm4())) == ["MeasureClaimFiled"]


# -- input: shapes and types are the schema's (400 naming the field) -------------------------------
TM4_INPUT = dict(
    measure="TM-4",
    party_id="91532301MA6N0X1234",
    party_name="楚雄某电商有限公司",
    ecommerce=True,
    enterprise_size="small",
    worker_ref="w-1",
    worker_group="graduate",
    left_school_on="2025-07-01",
    hired_on="2026-03-01",
    trained_on_the_job=True,
    monthly_wages_fen=[400_000, 400_000],
)


def errors(schema, data):
    with pytest.raises(ValidationError) as info:
        schema.load(data)
    return info.value.messages


def test_input_loads_typed():
    data = schemas.OnTheJobTrainingClaim().load(TM4_INPUT)
    assert data["hired_on"] == D(2026, 3, 1) and data["monthly_wages_fen"] == WAGES


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            dict(monthly_wages_fen=[400_000, -1]),
            {"monthly_wages_fen": {1: ["Must be greater than or equal to 0."]}},
        ),
        (dict(monthly_wages_fen=[400_000.5]), {"monthly_wages_fen": {0: ["Not a valid integer."]}}),
        (dict(monthly_wages_fen=[]), {"monthly_wages_fen": ["Length must be between 1 and 120."]}),
        (
            dict(worker_ref="53230119900101001X"),
            {"worker_ref": ["Name the person by a reference, never an ID or mobile number."]},
        ),
        (
            dict(worker_ref="13800000000"),
            {"worker_ref": ["Name the person by a reference, never an ID or mobile number."]},
        ),
        (dict(party_id="E 1"), {"party_id": ["Letters, digits, '_', '.' or '-', at most 64."]}),
        (dict(bonus=1), {"bonus": ["Unknown field."]}),
    ],
)
def test_bad_input_names_the_field(change, expected):
    assert errors(schemas.OnTheJobTrainingClaim(), {**TM4_INPUT, **change}) == expected


@pytest.mark.parametrize("measure", ["TM-9", "TM-1", "LT-10.1", "", None])
def test_unknown_measure_names_the_field(measure):
    assert set(errors(schemas.ClaimMeasure(), {"measure": measure})) == {"measure"}


def test_every_measure_has_an_input_schema():
    from services.subsidies.domain import measures

    assert set(schemas.CLAIMS) == set(measures.MEASURES)
