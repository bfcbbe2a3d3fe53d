"""Input schemas of the subsidies service's commands. Shapes and types are checked here (400 naming
the field); the policy's rules (eligibility, limits, the 3–12 months of TM-8…) are the domain's
(422 naming the clause and the field).

Every number is bounded here: an amount by the most its field can be under the policy (a
repayment by the LT-10.1 subsidy, a request by its measure's ceiling), otherwise by ``MAX_FEN``
(2^53 − 1, the largest integer every JSON reader keeps exact); counts of months, people and
staff by plausible limits. Act dates (``<past participle>_on``) are optional (today) and bounded
by the domain (``domain/dates.py``)."""

import re

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from services.subsidies.domain import policy
from services.subsidies.domain.measures import MEASURES

REF = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", error="Letters, digits, '_', '.' or '-', at most 64."
)
_PERSONAL = re.compile(r"\d{15}|\d{17}[\dXx]|1\d{10}")


def _not_personal(value):
    """A person is named by a reference: an ID or mobile number would end up in stream ids and
    logs."""
    if _PERSONAL.fullmatch(value):
        raise ValidationError("Name the person by a reference, never an ID or mobile number.")


def _ref(**kw):
    return fields.String(required=True, validate=REF, **kw)


def _person_ref(**kw):
    return fields.String(required=True, validate=[REF, _not_personal], **kw)


# The largest amount in fen a caller may send where the policy sets no ceiling of its own.
MAX_FEN = 2**53 - 1
# A month's wages above 1,000,000 CNY is a typing error (TM-4 pays 20 % of them).
MONTHLY_WAGES_MAX_FEN = 1_000_000 * 100
MAX_MONTHS = 1_200  # a contract, an unemployment or an internship in months (100 years)
MAX_PEOPLE = 1_000_000  # staff, partners


def _fen(maximum=MAX_FEN, why="", **kw):
    return fields.Integer(
        strict=True,
        validate=validate.Range(
            min=0, max=maximum, error=f"Must be between {{min}} and {{max}}{why}."
        ),
        **kw,
    )


def _requested(ceiling, why):
    """An amount requested: at least 1 fen, at most the measure's ceiling ``ceiling``."""
    return fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(
            min=1, max=ceiling, error=f"Must be between {{min}} and {{max}}{why}."
        ),
    )


def _count(maximum, **kw):
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=maximum), **kw)


def _act_date():
    """The date of an act (default: today; the domain bounds it)."""
    return fields.Date(load_default=None)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


SIZES = validate.OneOf(("large", "medium", "small", "micro"))


# -- LT-10.1 grants --------------------------------------------------------------------------------
class RecordPayment(_Strict):
    payment_reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    paid_on = _act_date()


class RecordRepayment(_Strict):
    amount_fen = _requested(
        policy.LT_ENTREPRENEURSHIP_SUBSIDY_FEN, " (LT-14: at most the LT-10.1 subsidy recovered)"
    )
    reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    repaid_on = _act_date()


# -- funds -----------------------------------------------------------------------------------------
class FundKey(_Strict):
    """The fund named in the path."""

    source = fields.String(required=True, validate=validate.OneOf(tuple(policy.FUNDS)))
    fiscal_year = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=2020, max=2099)
    )


class SetBudget(_Strict):
    amount_fen = _fen(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    set_on = _act_date()


# -- Ten Measures claims ---------------------------------------------------------------------------
class ClaimMeasure(Schema):
    """Which measure a claim is for: picks the schema of the rest."""

    class Meta:
        unknown = EXCLUDE

    measure = fields.String(required=True, validate=validate.OneOf(tuple(MEASURES)))


class _Claim(_Strict):
    measure = fields.String(required=True, validate=validate.OneOf(tuple(MEASURES)))
    party_id = _ref()  # an enterprise's unified social credit code, a base's or a person's ref
    party_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    ecommerce = fields.Boolean(required=True)
    filed_on = _act_date()


class OnTheJobTrainingClaim(_Claim):
    """TM-4: an SME employer, for one person hired and trained on the job."""

    enterprise_size = fields.String(required=True, validate=SIZES)
    worker_ref = _person_ref()
    worker_group = fields.String(
        required=True, validate=validate.OneOf(tuple(policy.TM4_GROUPS) + ("other",))
    )
    left_school_on = fields.Date(load_default=None)
    hired_on = fields.Date(required=True)
    trained_on_the_job = fields.Boolean(required=True)
    # the wages paid for each month actually employed, in order
    monthly_wages_fen = fields.List(
        _fen(MONTHLY_WAGES_MAX_FEN), required=True, validate=validate.Length(min=1, max=120)
    )


class GraduateStartupClaim(_Claim):
    """TM-5: the graduate (the party) who founded the entity."""

    party_id = _person_ref()
    graduated_on = fields.Date(required=True)
    founded_on = fields.Date(required=True)
    entity_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    in_prefecture = fields.Boolean(required=True)
    # the effects the entity shows (TM-5: both, under the default reading)
    effects = fields.List(
        fields.String(validate=validate.OneOf(tuple(policy.TM5_EFFECTS))),
        required=True,
        validate=validate.Length(max=len(policy.TM5_EFFECTS)),
    )
    requested_fen = _requested(policy.TM5_MAX_FEN, " (TM-5: 最高3万元)")


class _Hire(_Strict):
    person_ref = _person_ref()
    hired_on = fields.Date(required=True)
    contract_months = _count(MAX_MONTHS, required=True)
    meets_loan_conditions = fields.Boolean(required=True)


class GuaranteedLoanClaim(_Claim):
    """TM-6: the borrower (a person, a partnership or a small/micro enterprise)."""

    borrower_kind = fields.String(
        required=True, validate=validate.OneOf(("individual", "partnership", "small_enterprise"))
    )
    partners = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=MAX_PEOPLE), load_default=None
    )
    enterprise_size = fields.String(validate=SIZES, load_default=None)
    current_staff = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=MAX_PEOPLE), load_default=None
    )
    new_hires = fields.List(
        fields.Nested(_Hire), load_default=list, validate=validate.Length(max=10_000)
    )
    meets_loan_conditions = fields.Boolean(required=True)
    requested_fen = _requested(policy.TM6_ENTERPRISE_MAX_FEN, " (TM-6: 最高不超过300万元)")


class HiringClaim(_Claim):
    """TM-7: an SME employer, for one person hired."""

    variant = fields.String(required=True, validate=validate.OneOf(("standard", "2020")))
    enterprise_size = fields.String(required=True, validate=SIZES)
    hire_ref = _person_ref()
    hire_group = fields.String(
        required=True, validate=validate.OneOf(tuple(policy.TM7_2020_GROUPS))
    )
    graduated_on = fields.Date(load_default=None)
    unemployed_months = _count(MAX_MONTHS, load_default=None)
    hired_on = fields.Date(required=True)
    contract_months = _count(MAX_MONTHS, required=True)
    social_insurance = fields.Boolean(required=True)


class _Intern(_Strict):
    intern_ref = _person_ref()
    start_on = fields.Date(required=True)
    # 3–12 is TM-8's rule (the domain's); this is only the input's bound
    planned_months = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=MAX_MONTHS)
    )
    served_months = _count(MAX_MONTHS, required=True)
    interrupted_months = _count(MAX_MONTHS, load_default=0)  # an epidemic interruption
    outcome = fields.String(
        required=True, validate=validate.OneOf(("completed", "hired_early", "left_early"))
    )
    retained = fields.Boolean(load_default=False)  # kept on at the end (completed interns)


class InternshipClaim(_Claim):
    """TM-8: a unit, for one intake (cohort) of interns."""

    cohort = _ref()
    interns = fields.List(
        fields.Nested(_Intern), required=True, validate=validate.Length(min=1, max=1000)
    )


class IncubationBaseClaim(_Claim):
    """TM-10: the base (the party)."""

    provincial_review_passed = fields.Boolean(required=True)
    requested_fen = _requested(policy.TM10_MAX_FEN, " (TM-10: 不超过200万元)")


CLAIMS = {
    "TM-4": OnTheJobTrainingClaim,
    "TM-5": GraduateStartupClaim,
    "TM-6": GuaranteedLoanClaim,
    "TM-7": HiringClaim,
    "TM-8": InternshipClaim,
    "TM-10": IncubationBaseClaim,
}


class DecideClaim(_Strict):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    reasons = fields.List(
        fields.String(validate=validate.Length(min=1, max=500)),
        load_default=list,
        validate=validate.Length(max=20),
    )
    decided_on = _act_date()
