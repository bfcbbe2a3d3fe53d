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
from services.subsidies.domain.policy import Extension
from shared.errors import RuleViolation

D = dt.date
WAGES = [400_000, 400_000]
TM4_FACTS = dict(
    ecommerce=True,
    enterprise_size="small",
    worker_ref="w-1",
    worker_group="graduate",
    left_school_on=D(2021, 7, 1),
    hired_on=D(2022, 3, 1),
    trained_on_the_job=True,
    monthly_wages_fen=WAGES,
)
IDS = {"claim_id": "TM-4:E1:w-1", "measure": "TM-4", "party_id": "E1"}
FILED, DECIDED, PAID = D(2022, 4, 1), D(2022, 5, 10), D(2022, 5, 20)
SPAN = "2020-01-01 to 2022-12-31 (2020—2022年)"


def employment_fund(budget=10_000_000, committed=0, year=2022):
    return Position("employment_fund", year, budget, committed)


def file_tm4(filed_on=FILED, **facts):
    return FileClaim(
        "TM-4:E1:w-1", "TM-4", "E1", "楚雄某电商有限公司", {**TM4_FACTS, **facts}, filed_on
    )


def approve(on=DECIDED):
    return DecideClaim(True, decided_on=on)


def reject(on=DECIDED, reasons=("wages not evidenced",)):
    return DecideClaim(False, reasons, decided_on=on)


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
                    "finding": "left school on 2021-07-01, hired on 2022-03-01: within 2 years",
                },
                {
                    "clause": "TM-1",
                    "finding": f"the hire on 2022-03-01: within the Ten Measures' span {SPAN}",
                },
            ],
            "facts": {k: v for k, v in TM4_FACTS.items()},
            "filed_on": FILED,
        },
        ("TM-4", "TM-1"),
    )


def approved(amount=160_000):
    return NewEvent(
        "MeasureClaimApproved",
        {
            **IDS,
            "kind": "subsidy",
            "amount_fen": amount,
            "fund": "employment_fund",
            "fiscal_year": 2022,
            "approved_on": DECIDED,
        },
        ("TM-4", "TM-1"),
    )


def rejected():
    return NewEvent(
        "MeasureClaimRejected",
        {**IDS, "reasons": ["wages not evidenced"], "rejected_on": DECIDED},
        ("TM-4",),
    )


def paid():
    return NewEvent(
        "MeasureClaimPaid",
        {
            **IDS,
            "amount_fen": 160_000,
            "fund": "employment_fund",
            "fiscal_year": 2022,
            "payment_reference": "JY-2022-7",
            "paid_on": PAID,
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
    err = refused("TM-1", claim, state, file_tm4(monthly_wages_fen=[500_000]))
    assert err.fields == {"filed_on": ["Must not be before 2022-05-10."]}
    [event] = when(claim, state, file_tm4(D(2022, 5, 10), monthly_wages_fen=[500_000]))
    assert (event.event_type, event.payload["amount_fen"]) == ("MeasureClaimFiled", 100_000)
    assert given(claim, filed(), rejected(), event).status == "filed"


# -- decision ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("budget, committed", [(160_000, 0), (10_000_000, 9_840_000)])
def test_approval_charges_the_fund_of_the_year(budget, committed):
    events = when(claim, given(claim, filed()), approve(), fund=employment_fund(budget, committed))
    then(events, approved())
    assert given(claim, filed(), events).status == "approved"


@pytest.mark.parametrize(
    "position, message",
    [
        (
            employment_fund(budget=159_999),
            "州本级就业专项资金 (employment_fund) 2022 has 1,599.99 CNY "
            "left of its budget of 1,599.99; 1,600.00 is needed",
        ),
        (
            employment_fund(budget=None),
            "no budget is set for 州本级就业专项资金 (employment_fund) 2022",
        ),
        (
            employment_fund(budget=10_000_000, committed=9_840_001),
            "州本级就业专项资金 (employment_fund) 2022 has 1,599.99 CNY left of its budget of "
            "100,000.00; 1,600.00 is needed",
        ),
    ],
)
def test_an_approval_the_budget_cannot_cover_is_refused(position, message):
    err = refused("TM-1", claim, given(claim, filed()), approve(), fund=position)
    assert err.message == message
    assert err.details["needed_fen"] == 160_000


def test_rejection_needs_reasons():
    err = refused("TM-4", claim, given(claim, filed()), reject(reasons=()))
    assert err.fields == {"reasons": ["Required when rejecting."]}
    then(when(claim, given(claim, filed()), reject()), rejected())


@pytest.mark.parametrize(
    "history", [[], [filed(), rejected()], [filed(), approved()], [filed(), approved(), paid()]]
)
def test_only_a_filed_claim_is_decided(history):
    with pytest.raises(RuleViolation) as info:
        when(claim, given(claim, *history), approve(), fund=employment_fund())
    assert "only a filed claim" in info.value.message


# -- payment ----------------------------------------------------------------------------------------
def test_pay_an_approved_claim_once():
    events = when(claim, given(claim, filed(), approved()), PayClaim("JY-2022-7", PAID))
    then(events, paid())
    state = given(claim, filed(), approved(), events)
    assert state.status == "paid"
    refused("TM-4", claim, state, PayClaim("JY-2022-8", D(2022, 12, 1)))


@pytest.mark.parametrize("history", [[filed()], [filed(), rejected()]])
def test_only_an_approved_claim_is_paid(history):
    refused("TM-4", claim, given(claim, *history), PayClaim("JY-1", D(2022, 12, 1)))


def tm6_filed():
    return when(
        claim,
        given(claim),
        FileClaim(
            "TM-6:P1:2022",
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
            FILED,
        ),
    )


def test_tm6_is_a_loan_ceiling_approved_without_a_fund_and_never_paid():
    filing = tm6_filed()
    assert (filing[0].payload["kind"], filing[0].payload["amount_fen"]) == (
        "loan_ceiling",
        110_000_000,
    )
    approval = when(claim, given(claim, filing), approve())  # no fund in context
    then(
        approval,
        NewEvent(
            "MeasureClaimApproved",
            {
                "claim_id": "TM-6:P1:2022",
                "measure": "TM-6",
                "party_id": "P1",
                "kind": "loan_ceiling",
                "amount_fen": 110_000_000,
                "fund": None,
                "fiscal_year": 2022,
                "approved_on": DECIDED,
            },
            ("TM-6",),
        ),
    )
    err = refused("TM-6", claim, given(claim, filing, approval), PayClaim("X", TODAY))
    assert "lending bank" in err.message


# -- funds: the budget, per source and fiscal year --------------------------------------------------
SET_ON = D(2022, 9, 10)


def budget(amount, previous=0, committed=0, source="employment_fund", clause="TM-1"):
    return NewEvent(
        "BudgetSet",
        {
            "fund": source,
            "fiscal_year": 2022,
            "amount_fen": amount,
            "previous_fen": previous,
            "committed_fen": committed,
            "reference": "楚财社〔2022〕1号",
            "set_on": SET_ON,
        },
        (clause,),
    )


def set_budget(amount, source="employment_fund", year=2022, set_on=SET_ON):
    return SetBudget(source, year, amount, "楚财社〔2022〕1号", set_on)


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
            fund=Position("prefecture_finance", 2022),
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
            {"monthly_wages_fen": {1: ["Must be between 0 and 100000000."]}},
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


# -- TM-1: the Ten Measures run 2020–2022 -----------------------------------------------------------
EXTENDED = Extension("楚人社通〔2023〕5号", D(2023, 6, 30))


@pytest.mark.parametrize(
    "hired, ok",
    [
        (D(2019, 12, 31), False),
        (D(2020, 1, 1), True),
        (D(2022, 12, 31), True),
        (D(2023, 1, 1), False),
        (D(9999, 12, 31), False),
    ],
)
def test_a_claim_whose_hire_is_outside_the_span_is_refused(hired, ok):
    """Given no extension, when a TM-4 claim is filed for a hire on ``hired``, then only a hire
    from 2020-01-01 to 2022-12-31 is taken; any other is refused naming TM-1, the span and
    hired_on."""
    command = file_tm4(filed_on=TODAY, hired_on=hired, worker_group="registered_unemployed")
    if ok:
        assert types(when(claim, given(claim), command)) == ["MeasureClaimFiled"]
    else:
        err = refused("TM-1", claim, given(claim), command)
        assert f"the hire on {hired} is outside the Ten Measures' span {SPAN}" in err.message
        assert list(err.fields) == ["hired_on"]


@pytest.mark.parametrize("hired, ok", [(D(2023, 6, 30), True), (D(2023, 7, 1), False)])
def test_a_recorded_extension_moves_the_span_end(hired, ok):
    """Given an extension to 2023-06-30 by a notice, when a hire falls on ``hired``, then it is
    taken up to and including that day, and the finding cites the notice."""
    command = file_tm4(filed_on=TODAY, hired_on=hired, worker_group="registered_unemployed")
    if ok:
        [event] = when(claim, given(claim), command, tm_extension=EXTENDED)
        assert event.payload["eligibility"][-1] == {
            "clause": "TM-1",
            "finding": f"the hire on {hired}: within the Ten Measures' span 2020-01-01 to "
            "2023-06-30 (2020—2022年, extended by 楚人社通〔2023〕5号)",
        }
    else:
        err = refused("TM-1", claim, given(claim), command, tm_extension=EXTENDED)
        assert "extended by 楚人社通〔2023〕5号" in err.message


def test_an_internship_outside_the_span_is_refused_naming_it():
    intern = dict(
        intern_ref="i-1",
        start_on=D(2022, 10, 1),
        planned_months=3,
        served_months=3,
        interrupted_months=0,
        outcome="completed",
        retained=False,
    )
    facts = dict(ecommerce=True, cohort="c-1", interns=[intern, {**intern, "intern_ref": "i-2"}])
    command = FileClaim("TM-8:U1:c-1", "TM-8", "U1", "某单位", facts, TODAY)
    [event] = when(claim, given(claim), command)
    assert event.payload["eligibility"][-1]["finding"].startswith("2 acts on 2022-10-01")
    late = {**intern, "intern_ref": "i-2", "start_on": D(2023, 1, 1)}
    err = refused(
        "TM-1",
        claim,
        given(claim),
        FileClaim(
            "TM-8:U1:c-1", "TM-8", "U1", "某单位", {**facts, "interns": [intern, late]}, TODAY
        ),
    )
    assert err.fields == {"interns": {"1": {"start_on": [err.message]}}}
    assert err.message.startswith("internship i-2 on 2023-01-01 is outside")


@pytest.mark.parametrize("filed, ok", [(D(2022, 12, 31), True), (D(2023, 1, 1), False)])
def test_a_loan_is_applied_for_within_the_span(filed, ok):
    """TM-6's act is the loan applied for: the claim's filing date."""
    facts = dict(
        ecommerce=True,
        borrower_kind="individual",
        partners=None,
        enterprise_size=None,
        current_staff=None,
        new_hires=[],
        meets_loan_conditions=True,
        requested_fen=1_000_000,
    )
    command = FileClaim(f"TM-6:P1:{filed.year}", "TM-6", "P1", "某人", facts, filed)
    if ok:
        assert types(when(claim, given(claim), command)) == ["MeasureClaimFiled"]
    else:
        err = refused("TM-1", claim, given(claim), command)
        assert err.fields == {"filed_on": [err.message]}
        assert "the loan applied for on 2023-01-01 is outside" in err.message


# -- act dates: filing, decision, payment --------------------------------------------------------------
@pytest.mark.parametrize(
    "filed_on, message",
    [
        (TODAY + dt.timedelta(days=1), "Must not be after 2026-11-23."),
        (D(2019, 12, 31), "Must not be before 2020-01-01."),
    ],
)
def test_a_filing_date_in_the_future_or_before_the_programme_is_refused(filed_on, message):
    err = refused("TM-1", claim, given(claim), file_tm4(filed_on=filed_on))
    assert err.fields == {"filed_on": [message]}


def test_the_filing_is_dated_today_by_default():
    [event] = when(claim, given(claim), file_tm4(filed_on=None))
    assert event.payload["filed_on"] == TODAY


@pytest.mark.parametrize(
    "facts, field",
    [
        (dict(left_school_on=D(2022, 4, 2)), "left_school_on"),  # after the filing
        (dict(left_school_on=D(1949, 12, 31)), "left_school_on"),  # before FACT_DATES_FROM
        (dict(hired_on=D(2022, 4, 2)), "hired_on"),  # an act after the filing
    ],
)
def test_a_fact_dated_after_the_filing_or_implausibly_early_is_refused(facts, field):
    err = refused("TM-4", claim, given(claim), file_tm4(**facts))
    assert list(err.fields) == [field]


@pytest.mark.parametrize(
    "decided_on, field_error",
    [
        (D(2022, 3, 31), "Must not be before 2022-04-01."),  # before the filing
        (TODAY + dt.timedelta(days=1), "Must not be after 2026-11-23."),
    ],
)
def test_a_decision_is_dated_from_the_filing_to_today(decided_on, field_error):
    for command in (approve(decided_on), reject(decided_on)):
        err = refused("TM-4", claim, given(claim, filed()), command, fund=employment_fund())
        assert err.fields == {"decided_on": [field_error]}
    then(
        when(claim, given(claim, filed()), approve(FILED), fund=employment_fund()),
        NewEvent(
            "MeasureClaimApproved", {**approved().payload, "approved_on": FILED}, ("TM-4", "TM-1")
        ),
    )


def test_an_approval_after_the_span_has_no_fund_year_a_rejection_may_be_recorded():
    """Given the span ends on 2022-12-31, when a claim is approved on 2023-01-03, then it would be
    charged to the 2023 fund, which has no budget under TM-1: refused naming decided_on; a
    rejection on that day is recorded; with an extension into 2023 the approval is charged to
    2023."""
    err = refused(
        "TM-1",
        claim,
        given(claim, filed()),
        approve(D(2023, 1, 3)),
        fund=employment_fund(year=2023),
    )
    assert err.fields == {"decided_on": ["A fiscal year from 2020 to 2022."]}
    assert "the Ten Measures run " + SPAN in err.message
    assert types(when(claim, given(claim, filed()), reject(D(2023, 1, 3)))) == [
        "MeasureClaimRejected"
    ]
    [event] = when(
        claim,
        given(claim, filed()),
        approve(D(2023, 1, 3)),
        fund=employment_fund(year=2023),
        tm_extension=EXTENDED,
    )
    assert (event.payload["fiscal_year"], event.payload["approved_on"]) == (2023, D(2023, 1, 3))


@pytest.mark.parametrize(
    "paid_on, field_error",
    [
        (D(2022, 5, 9), "Must not be before 2022-05-10."),  # before the approval
        (TODAY + dt.timedelta(days=1), "Must not be after 2026-11-23."),
        (D(9999, 12, 31), "Must not be after 2026-11-23."),
    ],
)
def test_a_claim_payment_is_dated_from_the_approval_to_today(paid_on, field_error):
    err = refused("TM-4", claim, given(claim, filed(), approved()), PayClaim("JY-9", paid_on))
    assert err.fields == {"paid_on": [field_error]}
    [event] = when(claim, given(claim, filed(), approved()), PayClaim("JY-9"))
    assert event.payload["paid_on"] == TODAY


# -- budgets: only the fiscal years of the measures a fund pays -----------------------------------------
@pytest.mark.parametrize(
    "source, year, ok",
    [
        ("employment_fund", 2019, False),
        ("employment_fund", 2020, True),
        ("employment_fund", 2022, True),
        ("employment_fund", 2023, False),
        ("provincial_entrepreneurship_fund", 2023, False),
        ("prefecture_finance", 2021, False),
        ("prefecture_finance", 2022, True),
        ("prefecture_finance", 2027, True),  # the next fiscal year may be budgeted ahead
        ("prefecture_finance", 2028, False),
    ],
)
def test_a_budget_only_for_the_fiscal_years_of_the_measures(source, year, ok):
    command = set_budget(10_000_000, source, year, set_on=TODAY)
    position = Position(source, year)
    if ok:
        assert types(when(fund, given(fund), command, fund=position)) == ["BudgetSet"]
    else:
        clause = "LT-10.1" if source == "prefecture_finance" else "TM-1"
        err = refused(clause, fund, given(fund), command, fund=position)
        assert list(err.fields) == ["fiscal_year"]


def test_an_extension_opens_the_fund_years_it_covers():
    command = set_budget(10_000_000, "employment_fund", 2023, set_on=TODAY)
    position = Position("employment_fund", 2023)
    assert types(when(fund, given(fund), command, fund=position, tm_extension=EXTENDED)) == [
        "BudgetSet"
    ]
    refused(
        "TM-1",
        fund,
        given(fund),
        set_budget(1, "employment_fund", 2024, set_on=TODAY),
        fund=Position("employment_fund", 2024),
        tm_extension=EXTENDED,
    )


@pytest.mark.parametrize(
    "source, set_on, history, error",
    [
        ("employment_fund", TODAY + dt.timedelta(days=1), [], "Must not be after 2026-11-23."),
        ("employment_fund", D(2019, 12, 31), [], "Must not be before 2020-01-01."),
        ("prefecture_finance", D(2022, 8, 31), [], "Must not be before 2022-09-01."),
        ("employment_fund", D(2022, 9, 9), [budget(5_000_000)], "Must not be before 2022-09-10."),
    ],
)
def test_a_budget_is_dated_within_its_bounds(source, set_on, history, error):
    clause = "LT-10.1" if source == "prefecture_finance" else "TM-1"
    err = refused(
        clause,
        fund,
        given(fund, *history),
        set_budget(10_000_000, source, set_on=set_on),
        fund=Position(source, 2022),
    )
    assert err.fields == {"set_on": [error]}


# -- input bounds: every number within its field's ceiling ------------------------------------------
@pytest.mark.parametrize(
    "schema, data, field",
    [
        (schemas.RecordRepayment(), {"amount_fen": 5_000_001, "reference": "R"}, "amount_fen"),
        (schemas.RecordRepayment(), {"amount_fen": 2**63, "reference": "R"}, "amount_fen"),
        (schemas.SetBudget(), {"amount_fen": 2**53, "reference": "R"}, "amount_fen"),
        (schemas.SetBudget(), {"amount_fen": 2**63, "reference": "R"}, "amount_fen"),
        (
            schemas.OnTheJobTrainingClaim(),
            {**TM4_INPUT, "monthly_wages_fen": [2**63]},
            "monthly_wages_fen",
        ),
    ],
)
def test_numbers_above_their_ceiling_are_refused(schema, data, field):
    assert field in errors(schema, data)


def test_the_ceilings_are_those_of_the_policy():
    assert errors(schemas.RecordRepayment(), {"amount_fen": 5_000_001, "reference": "R"}) == {
        "amount_fen": [
            "Must be between 1 and 5000000 (LT-14: at most the LT-10.1 subsidy recovered)."
        ]
    }
    assert (
        schemas.RecordRepayment().load({"amount_fen": 5_000_000, "reference": "R"})["amount_fen"]
        == 5_000_000
    )
    assert (
        schemas.SetBudget().load({"amount_fen": 2**53 - 1, "reference": "R"})["amount_fen"]
        == 2**53 - 1
    )
    tm10 = dict(
        measure="TM-10",
        party_id="B1",
        party_name="基地",
        ecommerce=True,
        provincial_review_passed=True,
    )
    assert errors(schemas.IncubationBaseClaim(), {**tm10, "requested_fen": 200_000_001}) == {
        "requested_fen": ["Must be between 1 and 200000000 (TM-10: 不超过200万元)."]
    }
    assert schemas.IncubationBaseClaim().load({**tm10, "requested_fen": 200_000_000})


def test_act_dates_are_optional_in_the_input():
    assert schemas.RecordPayment().load({"payment_reference": "P"})["paid_on"] is None
    assert schemas.RecordRepayment().load({"amount_fen": 1, "reference": "R"})["repaid_on"] is None
    assert schemas.DecideClaim().load({"decision": "approve"})["decided_on"] is None
    assert schemas.OnTheJobTrainingClaim().load(TM4_INPUT)["filed_on"] is None
    assert schemas.DecideClaim().load({"decision": "approve", "decided_on": "2022-05-10"})[
        "decided_on"
    ] == D(2022, 5, 10)
