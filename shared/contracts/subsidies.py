"""Events published by the subsidies service (exchange ``subsidies.events``). Money is integer fen.

Two families: the Leading Talent grant of LT-10.1 (``Subsidy…``, stream per talent), the Ten
Measures claims (``MeasureClaim…``, stream per measure, party and period), and the funds they are
charged to (``BudgetSet``, stream per fund source and fiscal year).

Compatibility: every field added after the first version is optional, so payloads recorded
before it still decode unchanged: the grant decisions' ``person_key`` and ``certified_on``, a
decline's ``ground`` and ``earlier_grant_id``, the recovery demand's ``decided_on``, a
repayment's ``repaid_on``, a budget's ``set_on``, and the TM-5 facts' ``effects`` (earlier
filings have the single ``effect``). Act dates are ``<past participle>_on``."""

from __future__ import annotations

from typing import Any

from shared.contracts import EventSchema, fields, registry, validate

SERVICE = "subsidies"
# Where the money comes from (TM-1, TM-7, TM-10, LT-10.1), and the Ten Measures that are claimed.
FUND_SOURCES = (
    "prefecture_finance",
    "employment_fund",
    "employment_subsidy_fund",
    "provincial_entrepreneurship_fund",
)
MEASURES = ("TM-4", "TM-5", "TM-6", "TM-7", "TM-8", "TM-10")
CLAIM_KINDS = ("subsidy", "loan_ceiling")


def _fen(**kw: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0), **kw)


def _fund(**kw: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(FUND_SOURCES), **kw)


class _Line(EventSchema):
    """One line of a calculated amount, citing its clause (a deduction is negative)."""

    clause = fields.String(required=True)
    description = fields.String(required=True)
    amount_fen = fields.Integer(required=True, strict=True)


class _Finding(EventSchema):
    """One eligibility finding, citing its clause."""

    clause = fields.String(required=True)
    finding = fields.String(required=True)


def _int(**kw: Any) -> fields.Integer:
    return fields.Integer(strict=True, **kw)


class _Hire(EventSchema):
    """TM-6: a person newly hired by a small or micro enterprise this year."""

    person_ref = fields.String(required=True)
    hired_on = fields.Date(required=True)
    contract_months = _int(required=True)
    meets_loan_conditions = fields.Boolean(required=True)


class _Intern(EventSchema):
    """TM-8: one intern of a unit's intake."""

    intern_ref = fields.String(required=True)
    start_on = fields.Date(required=True)
    planned_months = _int(required=True)
    served_months = _int(required=True)
    interrupted_months = _int(required=True)
    outcome = fields.String(
        required=True, validate=validate.OneOf(("completed", "hired_early", "left_early"))
    )
    retained = fields.Boolean(required=True)


class _Facts(EventSchema):
    """The facts a claim was decided on, as filed; each measure uses its own (see the HTTP input
    of ``POST /claims``). People are named by reference, never by ID number."""

    ecommerce = fields.Boolean()
    enterprise_size = fields.String()
    requested_fen = _fen()
    # TM-4
    worker_ref = fields.String()
    worker_group = fields.String()
    left_school_on = fields.Date()
    hired_on = fields.Date()
    trained_on_the_job = fields.Boolean()
    monthly_wages_fen = fields.List(_fen())
    # TM-5
    graduated_on = fields.Date()
    founded_on = fields.Date()
    entity_name = fields.String()
    in_prefecture = fields.Boolean()
    effect = fields.String()  # filings recorded before both effects were asked for
    effects = fields.List(fields.String())
    # TM-6
    borrower_kind = fields.String()
    partners = _int()
    current_staff = _int()
    new_hires = fields.List(fields.Nested(_Hire))
    meets_loan_conditions = fields.Boolean()
    # TM-7
    variant = fields.String()
    hire_ref = fields.String()
    hire_group = fields.String()
    unemployed_months = _int()
    contract_months = _int()
    social_insurance = fields.Boolean()
    # TM-8
    cohort = fields.String()
    interns = fields.List(fields.Nested(_Intern))
    # TM-10
    provincial_review_passed = fields.Boolean()


def _breakdown(**kw: Any) -> fields.List[Any]:
    return fields.List(fields.Nested(_Line), **kw)


class SubsidyGrantedSchema(EventSchema):
    """A subsidy was granted (e.g. the one-time 50,000 CNY of LT-10.1), charged to ``fund`` of
    ``fiscal_year``."""

    grant_id = fields.String(required=True)
    talent_id = fields.String(required=True)
    measure = fields.String(required=True)
    amount_fen = _fen(required=True)
    fiscal_year = fields.Integer(required=True, strict=True)
    fund = _fund()  # absent on grants recorded before funds were kept
    breakdown = _breakdown()
    person_key = fields.String()  # the person (pseudonym) the grant is paid to, once (LT-10.1)
    certified_on = fields.Date()  # the certification it was granted on


class SubsidyGrantQueuedSchema(EventSchema):
    """The LT-10.1 subsidy is due but the fund's budget for the year has no room: it waits, and is
    granted (first queued, first granted) when finance raises the budget."""

    grant_id = fields.String(required=True)
    talent_id = fields.String(required=True)
    measure = fields.String(required=True)
    amount_fen = _fen(required=True)
    fiscal_year = fields.Integer(required=True, strict=True)
    fund = _fund(required=True)
    reason = fields.String(required=True)
    breakdown = _breakdown(required=True)
    person_key = fields.String()
    certified_on = fields.Date()


class SubsidyGrantDeclinedSchema(EventSchema):
    """No subsidy is granted for this certification: ``ground`` LT-16, a Yixiang talent
    transferred under LT-16 whose startup subsidy under that scheme already reached the one-time
    amount; ``ground`` LT-10.1, a person already granted the one-time subsidy
    (``earlier_grant_id``) certified again (每人一次性). Declines recorded without ``ground`` are
    LT-16's."""

    grant_id = fields.String(required=True)
    talent_id = fields.String(required=True)
    measure = fields.String(required=True)
    reason = fields.String(required=True)
    ground = fields.String(validate=validate.OneOf(("LT-16", "LT-10.1")))
    earlier_grant_id = fields.String()
    person_key = fields.String()
    certified_on = fields.Date()


class SubsidyPaidSchema(EventSchema):
    """Finance paid a granted subsidy."""

    grant_id = fields.String(required=True)
    talent_id = fields.String(required=True)
    amount_fen = _fen(required=True)
    payment_reference = fields.String(required=True)
    paid_on = fields.Date(required=True)


class SubsidyGrantCancelledSchema(EventSchema):
    """A grant not yet paid was cancelled because the talent was disqualified (LT-14); a granted
    one gives ``released_fen`` back to ``fund`` of ``fiscal_year``."""

    grant_id = fields.String(required=True)
    talent_id = fields.String(required=True)
    ground = fields.String(required=True)
    released_fen = _fen()
    fund = _fund()
    fiscal_year = fields.Integer(strict=True)


class SubsidyRecoveryDemandedSchema(EventSchema):
    """Recovery of a paid subsidy is demanded after disqualification (LT-14)."""

    grant_id = fields.String(required=True)
    talent_id = fields.String(required=True)
    amount_fen = _fen(required=True)
    ground = fields.String(required=True)
    due_on = fields.Date(required=True)
    decided_on = fields.Date()  # the Leading Group's decision the demand follows


class SubsidyRepaymentRecordedSchema(EventSchema):
    """A (possibly partial) repayment against a recovery demand was received."""

    grant_id = fields.String(required=True)
    talent_id = fields.String(required=True)
    amount_fen = _fen(required=True)
    reference = fields.String(required=True)
    outstanding_fen = _fen(required=True)
    repaid_on = fields.Date()  # the day the money was received


class SubsidyRecoveredSchema(EventSchema):
    """The recovery demand is met in full."""

    grant_id = fields.String(required=True)
    talent_id = fields.String(required=True)
    amount_fen = _fen(required=True)


class BudgetSetSchema(EventSchema):
    """Finance set (or changed) the budget of one fund for one fiscal year (TM-1)."""

    fund = _fund(required=True)
    fiscal_year = fields.Integer(required=True, strict=True)
    amount_fen = _fen(required=True)
    previous_fen = _fen(required=True)
    committed_fen = _fen(required=True)  # already committed when it was set
    reference = fields.String(required=True)
    set_on = fields.Date()  # the day the appropriation was made


class MeasureClaimFiledSchema(EventSchema):
    """A Ten Measures claim was filed: its eligibility findings and the calculated amount, each
    line citing its clause. ``claim_id`` is "<measure>:<party>[:<person or period>]": one claim
    per measure, party and period."""

    claim_id = fields.String(required=True)
    measure = fields.String(required=True, validate=validate.OneOf(MEASURES))
    party_id = fields.String(required=True)
    party_name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CLAIM_KINDS))
    amount_fen = _fen(required=True)
    breakdown = _breakdown(required=True)
    eligibility = fields.List(fields.Nested(_Finding), required=True)
    facts = fields.Nested(_Facts, required=True)
    filed_on = fields.Date(required=True)


class MeasureClaimApprovedSchema(EventSchema):
    """The Bureau of Human Resources and Social Security approved a claim, charging ``fund`` of
    ``fiscal_year`` (no fund for a TM-6 loan ceiling)."""

    claim_id = fields.String(required=True)
    measure = fields.String(required=True, validate=validate.OneOf(MEASURES))
    party_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CLAIM_KINDS))
    amount_fen = _fen(required=True)
    fund = _fund(required=True, allow_none=True)
    fiscal_year = fields.Integer(required=True, strict=True)
    approved_on = fields.Date(required=True)


class MeasureClaimRejectedSchema(EventSchema):
    """A claim was rejected, with reasons; it may be filed again, corrected."""

    claim_id = fields.String(required=True)
    measure = fields.String(required=True, validate=validate.OneOf(MEASURES))
    party_id = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)
    rejected_on = fields.Date(required=True)


class MeasureClaimPaidSchema(EventSchema):
    """Finance paid an approved claim from its fund."""

    claim_id = fields.String(required=True)
    measure = fields.String(required=True, validate=validate.OneOf(MEASURES))
    party_id = fields.String(required=True)
    amount_fen = _fen(required=True)
    fund = _fund(required=True)
    fiscal_year = fields.Integer(required=True, strict=True)
    payment_reference = fields.String(required=True)
    paid_on = fields.Date(required=True)


for _schema in (
    SubsidyGrantedSchema,
    SubsidyGrantQueuedSchema,
    SubsidyGrantDeclinedSchema,
    SubsidyPaidSchema,
    SubsidyGrantCancelledSchema,
    SubsidyRecoveryDemandedSchema,
    SubsidyRepaymentRecordedSchema,
    SubsidyRecoveredSchema,
    BudgetSetSchema,
    MeasureClaimFiledSchema,
    MeasureClaimApprovedSchema,
    MeasureClaimRejectedSchema,
    MeasureClaimPaidSchema,
):
    registry.register(SERVICE, _schema)
