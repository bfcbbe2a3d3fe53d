"""Input schemas of the applications service's commands (HTTP bodies). Events are contracts in
``shared/contracts/applications.py``.

The application form (附件: 兴楚电商创业领军人才申报表) and its instructions (LT-form-n) are enforced
here, field by field, so a caller learns exactly which field breaks which instruction:

* LT-form-1: the form's dates are written ``yyyy.mm.dd``. Instruction 2 gives parts 1-5 of the form
  to the applicant and the employer; those are the dates in ``form``. Officials' records (review
  stages, notice, objections, rounds) use ISO dates like the rest of the API.
* LT-form-5: education is listed from after high school; work periods join end to start (each
  period ends on the date the next begins), only the last may run 至今 (to date).
* LT-form-6: the applicant and the employer affirm the truth of the form (parts 4-5).
* LT-form-7: no classified material in the form.
* LT-form-8: an empty item is written 无, never left blank.

The three basic declarations, the category and its evidence (form part 2) sit beside ``form``;
``integrity`` is the county's credit check (LT-7). Money is integer fen.
"""

import datetime as dt
import re

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from services.applications import identity
from services.applications.domain import policy
from shared.contracts.applications import COUNTY_BODIES, STAGES, VOTES

NONE = "无"
_FORM_DATE = re.compile(r"^\d{4}\.\d{2}\.\d{2}$")
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_CLAUSE = re.compile(r"^(LT-\d+(\.\d+)?|LT-form-\d+|TM-\d+)$")
PRE_TERTIARY = ("小学", "初中", "高中", "中专", "职高", "技校")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class FormDate(fields.Field):
    """LT-form-1: ``yyyy.mm.dd`` (e.g. 1980.01.01). ``allow`` maps words such as 无 or 至今 to
    None where the form allows them."""

    default_error_messages = {
        "invalid": "Write the date as yyyy.mm.dd, e.g. 1980.01.01 (LT-form-1)."
    }

    def __init__(self, allow=(), **kw):
        super().__init__(**kw)
        self.allow = tuple(allow)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value in self.allow:
            return None
        if not isinstance(value, str) or not _FORM_DATE.match(value):
            raise self.make_error("invalid")
        try:
            return dt.datetime.strptime(value, "%Y.%m.%d").date()
        except ValueError:
            raise self.make_error("invalid") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%Y.%m.%d")


def _filled(value):
    if not value.strip():
        raise ValidationError("Write 无 for an empty item (LT-form-8).")


def _not_none_word(value):
    _filled(value)
    if value.strip() == NONE:
        raise ValidationError("Required: 无 is not an answer here.")


def text(max_len=200, allow_none_word=True):
    """A required item of the form: filled in, 无 if empty (LT-form-8)."""
    return fields.String(
        required=True,
        validate=[validate.Length(max=max_len), _filled if allow_none_word else _not_none_word],
    )


def form_date(**kw):
    return FormDate(required=True, **kw)


# -- the application form ------------------------------------------------------------------------
class ApplicantIn(_Strict):
    """Form part 1 and the cover (申报人, 联系电话)."""

    name = text(100, allow_none_word=False)
    gender = fields.String(required=True, validate=validate.OneOf(("男", "女")))
    birth_date = form_date()
    ethnicity = text(50, allow_none_word=False)
    native_place = text(100, allow_none_word=False)
    id_number = fields.String(required=True)
    photo = text(500, allow_none_word=False)
    work_started_on = form_date()
    professional_title = text(100)
    rank = text(100)
    administrative_level = text(100)
    political_status = text(50, allow_none_word=False)
    party_joined_on = form_date(allow=(NONE,))
    employer_and_position = text(200)
    highest_education = text(50)
    highest_degree = text(50)
    graduated_from = text(200)
    phone = fields.String(required=True)

    @validates_schema
    def _identity(self, data, **kwargs):
        errors = {}
        if error := identity.id_number_error(data["id_number"]):
            errors["id_number"] = [error]
        elif identity.id_birth_date(data["id_number"]) != data["birth_date"]:
            errors["id_number"] = ["Does not match birth_date."]
        if not _PHONE.match(data["phone"]):
            errors["phone"] = ["Not a mobile (11 digits) or landline number."]
        if errors:
            raise ValidationError(errors)


class EmployerIn(_Strict):
    """所在单位 and its unified social credit code; 无 and 无 for an individual."""

    name = text(200)
    credit_code = fields.String(required=True)

    @validates_schema
    def _code(self, data, **kwargs):
        individual = data["name"].strip() == NONE
        if individual and data["credit_code"] != NONE:
            raise ValidationError(
                {"credit_code": ["An individual (employer 无) has no code: write 无."]}
            )
        if not individual and (error := identity.credit_code_error(data["credit_code"])):
            raise ValidationError({"credit_code": [error]})


class EducationIn(_Strict):
    start = form_date()
    end = form_date()
    school = text(200, allow_none_word=False)
    major = text(100)
    qualification = text(50, allow_none_word=False)
    degree = text(50)

    @validates_schema
    def _order(self, data, **kwargs):
        errors = {}
        if data["end"] < data["start"]:
            errors["end"] = ["Must not be before start."]
        if data["qualification"].strip() in PRE_TERTIARY:
            errors["qualification"] = ["Education is listed from after high school (LT-form-5)."]
        if errors:
            raise ValidationError(errors)


class WorkIn(_Strict):
    start = form_date()
    end = form_date(allow=("至今",))
    country = text(50, allow_none_word=False)
    employer = text(200, allow_none_word=False)
    position = text(100)


class StatementIn(_Strict):
    basic_conditions = text(5000)
    achievements = text(5000)
    employer_stamped_on = form_date(allow=(NONE,))


class AffirmationIn(_Strict):
    applicant_affirms = fields.Boolean(required=True)
    applicant_signed_on = form_date()
    employer_agrees = fields.Boolean(required=True)
    employer_stamped_on = form_date(allow=(NONE,))


class ListOrNone(fields.List):
    """A list item of the form: a non-empty list, or 无 when there is nothing (LT-form-8)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value == NONE:
            return []
        if isinstance(value, list) and not value:
            raise ValidationError("Write 无 for an empty item (LT-form-8).")
        return super()._deserialize(value, attr, data, **kwargs)


class FormIn(_Strict):
    specialty = text(200)
    filled_on = form_date()
    applicant = fields.Nested(ApplicantIn, required=True)
    employer = fields.Nested(EmployerIn, required=True)
    education = ListOrNone(fields.Nested(EducationIn), required=True)
    work_history = ListOrNone(fields.Nested(WorkIn), required=True)
    statement = fields.Nested(StatementIn, required=True)
    affirmation = fields.Nested(AffirmationIn, required=True)
    classified_material = fields.Boolean(required=True)
    materials_to_return = text(500)

    @validates_schema
    def _form_rules(self, data, **kwargs):
        errors = {}
        work = _work_errors(data["work_history"])
        if work:
            errors["work_history"] = work
        individual = data["employer"]["name"].strip() == NONE
        affirm = {}
        if data["affirmation"]["applicant_affirms"] is not True:
            affirm["applicant_affirms"] = ["The applicant affirms the form's truth (LT-form-6)."]
        if not individual and data["affirmation"]["employer_agrees"] is not True:
            affirm["employer_agrees"] = ["The employer affirms and agrees (LT-form-6)."]
        if not individual and data["affirmation"]["employer_stamped_on"] is None:
            affirm["employer_stamped_on"] = ["The employer's stamp is dated."]
        if affirm:
            errors["affirmation"] = affirm
        if data["classified_material"]:
            errors["classified_material"] = [
                "The form may not contain classified material; "
                "send it apart under the secrecy rules (LT-form-7)."
            ]
        if errors:
            raise ValidationError(errors)


def _work_errors(periods):
    """LT-form-5: each period ends on the date the next begins; only the last runs 至今."""
    errors = {}
    for i, period in enumerate(periods):
        here = {}
        last = i == len(periods) - 1
        if period["end"] is None and not last:
            here["end"] = ["Only the last period may run 至今."]
        elif period["end"] is not None and period["end"] < period["start"]:
            here["end"] = ["Must not be before start."]
        if i and periods[i - 1]["end"] is not None and period["start"] != periods[i - 1]["end"]:
            here["start"] = [
                f"Must be {periods[i - 1]['end'].strftime('%Y.%m.%d')}, the end "
                f"of the period before (LT-form-5: periods join end to start)."
            ]
        if here:
            errors[i] = here
    return errors


class DeclarationsIn(_Strict):
    political_stance = fields.Boolean(required=True)
    law_abiding = fields.Boolean(required=True)
    professional_ethics = fields.Boolean(required=True)


class IntegrityIn(_Strict):
    bad_credit_record = fields.Boolean(required=True)
    law_or_discipline_violation = fields.Boolean(required=True)


def _amount():
    return fields.Integer(strict=True, validate=validate.Range(min=0))


class EvidenceIn(_Strict):
    """The chosen category's evidence (policy.EVIDENCE_REQUIRED says which): figures of the
    previous year, money in fen. ``sales_fen`` is the category's sales (live-stream for LT-6.2,
    e-commerce for LT-6.3, cross-border for LT-6.4)."""

    sales_fen = _amount()
    sales_fen_year_before = _amount()
    jobs_driven = _amount()
    tax_paid_fen = _amount()
    followers = _amount()
    exposure = _amount()
    account_registered_on = FormDate()
    activity_proof = fields.String(validate=[validate.Length(max=2000), _filled])
    local_influence = fields.String(validate=[validate.Length(max=2000), _filled])
    sells_mainly_chuxiong_products = fields.Boolean()


FIGURES = (
    "sales_fen",
    "sales_fen_year_before",
    "jobs_driven",
    "tax_paid_fen",
    "followers",
    "exposure",
)


class SubmitApplication(_Strict):
    round_year = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=policy.FIRST_ROUND_YEAR)
    )
    county = fields.String(required=True, validate=validate.OneOf(policy.COUNTIES))
    submitted_on = fields.Date(required=True)
    applicant_id = fields.String(validate=validate.Length(min=1, max=100))
    category = fields.String(required=True, validate=validate.OneOf(policy.CATEGORIES))
    evidence = fields.Nested(EvidenceIn, required=True)
    declarations = fields.Nested(DeclarationsIn, required=True)
    integrity = fields.Nested(IntegrityIn, required=True)
    form = fields.Nested(FormIn, required=True)

    @validates_schema
    def _category_and_dates(self, data, **kwargs):
        errors = {}
        missing = [
            k for k in policy.EVIDENCE_REQUIRED[data["category"]] if k not in data["evidence"]
        ]
        if missing:
            errors["evidence"] = {k: [f"Required for {data['category']}."] for k in missing}
        if data["form"]["filled_on"] > data["submitted_on"]:
            errors["form"] = {"filled_on": ["Must not be after submitted_on."]}
        if errors:
            raise ValidationError(errors)

    @post_load
    def _split(self, data, **kwargs):
        """Evidence into integer figures and facts; the ID number out of the form (the service
        turns it into a pseudonym and a masked form, and stores neither the number nor its
        plain hash)."""
        evidence = data.pop("evidence")
        data["evidence"] = {k: v for k, v in evidence.items() if k in FIGURES}
        data["facts"] = {k: v for k, v in evidence.items() if k not in FIGURES}
        form = data["form"]
        form.pop("classified_material")
        data["id_number"] = form["applicant"].pop("id_number")
        affirmation = form["affirmation"]
        affirmation.pop("applicant_affirms")
        data["applicant_name"] = form["applicant"]["name"]
        data["enterprise_name"] = form["employer"]["name"]
        code = form["employer"]["credit_code"]
        data["enterprise_code"] = None if code == NONE else code
        if code == NONE:
            form["employer"].pop("credit_code")
        return data


# -- officials' records ----------------------------------------------------------------------------
class CountyOpinionIn(_Strict):
    body = fields.String(required=True, validate=validate.OneOf(COUNTY_BODIES))
    agrees = fields.Boolean(required=True)
    opinion = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    signed_on = fields.Date(required=True)


class ExpertIn(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    score = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=policy.EXPERT_SCORE_MAX)
    )
    vote = fields.String(validate=validate.OneOf(VOTES))


class SignatureIn(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    signed_on = fields.Date(required=True)


class DisciplineOpinionIn(_Strict):
    body = fields.String(required=True, validate=validate.Length(min=1, max=200))
    clear = fields.Boolean(required=True)
    opinion = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SellerContributionIn(_Strict):
    """LT-6.3: the county's judgement on the jobs and tax figures the applicant showed."""

    employment_strong = fields.Boolean(required=True)
    tax_large = fields.Boolean(required=True)
    reasons = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ProposalIn(_Strict):
    """LT-9.5 提出人选: the bureau's rank (default: by the expert score) and its reason."""

    rank = fields.Integer(strict=True, validate=validate.Range(min=1, max=policy.ROUND_QUOTA_MAX))
    reason = fields.String(validate=validate.Length(min=1, max=2000))


STAGE_RECORDS = {
    "county_recommendation": ("county_opinions", "seller_contribution"),
    "proposal": ("proposal",),
    "expert_review": ("experts", "chair"),
    "inspection": ("discipline_opinion", "findings"),
}


class RecordReview(_Strict):
    stage = fields.String(required=True, validate=validate.OneOf(STAGES))
    decision = fields.String(required=True, validate=validate.OneOf(("pass", "reject")))
    opinion = fields.String(load_default="", validate=validate.Length(max=2000))
    reasons = fields.List(
        fields.String(validate=validate.Length(min=1, max=500)), load_default=list
    )
    clauses = fields.List(fields.String(validate=validate.Regexp(_CLAUSE)), load_default=list)
    decided_on = fields.Date(load_default=None)
    county_opinions = fields.List(fields.Nested(CountyOpinionIn))
    experts = fields.List(fields.Nested(ExpertIn))
    chair = fields.Nested(SignatureIn)
    discipline_opinion = fields.Nested(DisciplineOpinionIn)
    findings = fields.String(validate=validate.Length(min=1, max=5000))
    seller_contribution = fields.Nested(SellerContributionIn)
    proposal = fields.Nested(ProposalIn)

    @validates_schema
    def _stage_record(self, data, **kwargs):
        errors = {}
        allowed = STAGE_RECORDS.get(data["stage"], ())
        for record in (
            "county_opinions",
            "experts",
            "chair",
            "discipline_opinion",
            "findings",
            "seller_contribution",
            "proposal",
        ):
            if record in data and record not in allowed:
                errors[record] = [f"Not part of the {data['stage']} record."]
        bodies = [o["body"] for o in data.get("county_opinions", ())]
        if len(bodies) != len(set(bodies)):
            errors["county_opinions"] = ["One opinion per county body."]
        names = [e["name"] for e in data.get("experts", ())]
        if len(names) != len(set(names)):
            errors["experts"] = ["One mark per committee member."]
        votes = [("vote" in e) for e in data.get("experts", ())]
        if any(votes) and not all(votes):
            errors["experts"] = ["Either every member votes or none does."]
        if errors:
            raise ValidationError(errors)


class StartNotice(_Strict):
    start_date = fields.Date(required=True)


class RaiseObjection(_Strict):
    received_on = fields.Date(required=True)
    summary = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    source = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ResolveObjection(_Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(("dismissed", "upheld")))
    finding = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    resolved_on = fields.Date(load_default=None)


class ErasePerson(_Strict):
    """Erase the applicant's personal data (crypto-shredding): why, for the record."""

    basis = fields.String(
        required=True,
        validate=validate.OneOf(
            ("request_of_the_person", "retention_period_over", "unlawful_processing")
        ),
    )


class Withdraw(_Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    withdrawn_on = fields.Date(load_default=None)


class Certify(_Strict):
    """The certification's date (``certified_on``, default today): the training period counts
    from it (LT-10)."""

    certified_on = fields.Date(load_default=None)


class OpenRound(_Strict):
    year = fields.Integer(required=True, strict=True)
    quota = fields.Integer(required=True, strict=True)
    window_opens = fields.Date(required=True)
    window_closes = fields.Date(required=True)
    opened_on = fields.Date(load_default=None)


def _id_number(value):
    if error := identity.id_number_error(value):
        raise ValidationError(error)


class RegisterYixiangApplicant(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    id_number = fields.String(required=True, validate=_id_number)
    applied_year = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(
            min=policy.YIXIANG_FIRST_APPLIED_YEAR, max=policy.EFFECTIVE_DATE.year
        ),
    )


class BaselineIn(_Strict):
    sales_fen = _amount()
    followers = _amount()
    exposure = _amount()


class TransferYixiangTalent(_Strict):
    yixiang_talent_id = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$")
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    id_number = fields.String(required=True, validate=_id_number)
    county = fields.String(required=True, validate=validate.OneOf(policy.COUNTIES))
    enterprise = fields.Nested(EmployerIn, required=True)
    category = fields.String(required=True, validate=validate.OneOf(policy.CATEGORIES))
    baseline_year = fields.Integer(required=True, strict=True)
    baseline = fields.Nested(BaselineIn, required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    prior_startup_subsidy_fen = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0)
    )

    @validates_schema
    def _baseline(self, data, **kwargs):
        track = policy.TRACK_OF_CATEGORY[data["category"]]
        missing = [k for k in policy.BASELINE_FIGURES[track] if k not in data["baseline"]]
        if missing:
            raise ValidationError(
                {"baseline": {k: [f"Required for the {track} track."] for k in missing}}
            )
