"""Events published by the applications service (exchange ``applications.events``).

Compatibility: the fields the first version had stay as they were (subsidies, assessment and
notifications consume them); everything added since is optional, so payloads written before it
still decode. ``stage`` gained the values ``standing_committee`` (LT-9.5: the Standing Committee
agrees after the Leading Group), ``public_notice`` (an upheld objection, on ReviewRejected) and
``proposal`` (LT-9.5: the Commerce Bureau's proposal of candidates, between the inspection and the
Leading Group). ``TalentCertified`` gained ``certified_on`` (the act's date; older events: read
``period_start``), ``person_key`` (the person's pseudonym; older events: none, read the
application's or the Yixiang record's) and ``transferred_on`` (LT-16 transfers). The form's
``applicant.birth_date`` is a ``SealedDate``: sealed with the person's key as stored and sent,
a date in clear in events recorded before it was sealed.
"""

from __future__ import annotations

from typing import Any

from shared.contracts import EventSchema, SealedDate, fields, registry, validate

SERVICE = "applications"
CATEGORIES = ("LT-6.1", "LT-6.2", "LT-6.3", "LT-6.4")
STAGES = (
    "county_recommendation",
    "qualification_review",
    "expert_review",
    "inspection",
    "proposal",
    "approval",
    "standing_committee",
)
REJECTION_STAGES = STAGES + ("public_notice",)
TRACKS = ("influencer", "seller")
ORIGINS = ("selection", "yixiang_transfer")
COUNTY_BODIES = (
    "organisation_department",
    "two_new_committee",
    "finance",
    "human_resources",
    "agriculture",
    "commerce",
)
VOTES = ("for", "against", "abstain")


def _figures(required: bool = True) -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.Integer(strict=True), required=required)


def _nested(schema: type[EventSchema], **kw: Any) -> fields.Nested:
    return fields.Nested(schema, **kw)


# -- parts of the application form (附件: 兴楚电商创业领军人才申报表) -------------------------------
class _Part(EventSchema):
    pass


class ApplicantInfo(_Part):
    """Form part 1 (申报人基本情况) and the cover; the ID number itself is never stored."""

    name = fields.String(required=True)
    gender = fields.String(required=True)
    birth_date = SealedDate(required=True)
    ethnicity = fields.String(required=True)
    native_place = fields.String(required=True)
    photo = fields.String(required=True)
    work_started_on = fields.Date(required=True)
    professional_title = fields.String(required=True)
    rank = fields.String(required=True)
    administrative_level = fields.String(required=True)
    political_status = fields.String(required=True)
    party_joined_on = fields.Date(required=True, allow_none=True)
    employer_and_position = fields.String(required=True)
    highest_education = fields.String(required=True)
    highest_degree = fields.String(required=True)
    graduated_from = fields.String(required=True)
    phone = fields.String(required=True)


class Employer(_Part):
    """所在单位: the enterprise (统一社会信用代码 absent for an individual)."""

    name = fields.String(required=True)
    credit_code = fields.String()


class Education(_Part):
    """主要教育经历, from after high school (LT-form-5)."""

    start = fields.Date(required=True)
    end = fields.Date(required=True)
    school = fields.String(required=True)
    major = fields.String(required=True)
    qualification = fields.String(required=True)
    degree = fields.String(required=True)


class Work(_Part):
    """主要工作经历: periods joining end to start (LT-form-5); ``end`` None is 至今 (to date)."""

    start = fields.Date(required=True)
    end = fields.Date(required=True, allow_none=True)
    country = fields.String(required=True)
    employer = fields.String(required=True)
    position = fields.String(required=True)


class Statement(_Part):
    """Form part 3: the applicant's statement on the conditions and the evidence of results."""

    basic_conditions = fields.String(required=True)
    achievements = fields.String(required=True)
    employer_stamped_on = fields.Date(required=True, allow_none=True)


class Affirmation(_Part):
    """Form parts 4-5: the applicant's and the employer's affirmations of truth (LT-form-6)."""

    applicant_signed_on = fields.Date(required=True)
    employer_agrees = fields.Boolean(required=True)
    employer_stamped_on = fields.Date(required=True, allow_none=True)


class Form(_Part):
    """The rest of the application form."""

    specialty = fields.String(required=True)
    filled_on = fields.Date(required=True)
    applicant = _nested(ApplicantInfo, required=True)
    employer = _nested(Employer, required=True)
    education = fields.List(_nested(Education), required=True)
    work_history = fields.List(_nested(Work), required=True)
    statement = _nested(Statement, required=True)
    affirmation = _nested(Affirmation, required=True)
    materials_to_return = fields.String(required=True)


class Facts(_Part):
    """The non-numeric evidence of the category (LT-6.1, LT-6.2)."""

    account_registered_on = fields.Date()
    activity_proof = fields.String()
    local_influence = fields.String()
    sells_mainly_chuxiong_products = fields.Boolean()


class Declarations(_Part):
    """LT-6 basic conditions (form part 2), as ticked."""

    political_stance = fields.Boolean(required=True)
    law_abiding = fields.Boolean(required=True)
    professional_ethics = fields.Boolean(required=True)


class Integrity(_Part):
    """LT-7: credit record and conduct of the applicant and the enterprise."""

    bad_credit_record = fields.Boolean(required=True)
    law_or_discipline_violation = fields.Boolean(required=True)


class ApplicationSubmittedSchema(EventSchema):
    """An applicant filed the Leading Talent form with the county commerce department (LT-9.1).
    ``evidence``: the category's figures of the previous year (fen, counts)."""

    application_id = fields.String(required=True)
    round_year = fields.Integer(required=True, strict=True)
    county = fields.String(required=True)
    applicant_name = fields.String(required=True)
    enterprise_name = fields.String(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    evidence = _figures()
    submitted_on = fields.Date(required=True)
    applicant_id = fields.String()
    person_key = fields.String()
    id_number_masked = fields.String()
    enterprise_code = fields.String()
    facts = _nested(Facts)
    declarations = _nested(Declarations)
    integrity = _nested(Integrity)
    form = _nested(Form)


class Check(_Part):
    """One condition checked: the figures compared, as text (fen, counts, ISO dates)."""

    clause = fields.String(required=True)
    check = fields.String(required=True)
    passed = fields.Boolean(required=True)
    required = fields.Boolean(required=True)
    value = fields.String()
    threshold = fields.String()
    comparison = fields.String()
    unit = fields.String()
    note = fields.String()


class EligibilityAssessedSchema(EventSchema):
    """Every condition of LT-6, LT-7 and LT-10 checked for a submitted application; an ineligible
    one goes no further. ``failed`` names the required checks that failed."""

    application_id = fields.String(required=True)
    eligible = fields.Boolean(required=True)
    failed = fields.List(fields.String(), required=True)
    checks = fields.List(_nested(Check), required=True)


class CountyOpinion(_Part):
    body = fields.String(required=True, validate=validate.OneOf(COUNTY_BODIES))
    agrees = fields.Boolean(required=True)
    opinion = fields.String(required=True)
    signed_on = fields.Date(required=True)


class ExpertMark(_Part):
    name = fields.String(required=True)
    score = fields.Integer(required=True, strict=True)
    vote = fields.String(validate=validate.OneOf(VOTES))


class Signature(_Part):
    name = fields.String(required=True)
    signed_on = fields.Date(required=True)


class DisciplineOpinion(_Part):
    body = fields.String(required=True)
    clear = fields.Boolean(required=True)
    opinion = fields.String(required=True)


class SellerContribution(_Part):
    """LT-6.3 at the county recommendation: the county's judgement on the figures shown (jobs
    driven, tax paid in fen), with its reasons; ``met`` is employment_strong or tax_large."""

    jobs_driven = fields.Integer(required=True, strict=True)
    tax_paid_fen = fields.Integer(required=True, strict=True)
    employment_strong = fields.Boolean(required=True)
    tax_large = fields.Boolean(required=True)
    met = fields.Boolean(required=True)
    reasons = fields.String(required=True)
    reading = fields.String(required=True)


class Proposal(_Part):
    """LT-9.5 提出人选: the Commerce Bureau's rank for the candidate with its reason; ``order``
    ``expert_score`` (the default: the rank of the committee's score) or ``bureau`` (a rank of
    its own); ``proposed``: how many of the round were proposed before."""

    rank = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True)
    order = fields.String(required=True, validate=validate.OneOf(("expert_score", "bureau")))
    rank_by_score = fields.Integer(required=True, strict=True)
    expert_score = fields.String(required=True)
    quota = fields.Integer(required=True, strict=True)
    proposed = fields.Integer(required=True, strict=True)


class Ranking(_Part):
    """LT-8/LT-9.5 at approval: the candidate's rank (the proposal's; before the proposal stage,
    by expert score) in the round."""

    rank = fields.Integer(required=True, strict=True)
    candidates = fields.Integer(required=True, strict=True)
    quota = fields.Integer(required=True, strict=True)
    approved = fields.Integer(required=True, strict=True)
    expert_score = fields.String(required=True)


class ReviewPassedSchema(EventSchema):
    """A review stage of LT-9 passed the application. Stage records: ``county_opinions`` with
    the county's ``reasons`` and, for LT-6.3, ``seller_contribution`` (LT-9.1), ``experts``/
    ``expert_score``/``chair`` (LT-9.3), ``findings``/``discipline_opinion`` (LT-9.4),
    ``proposal`` (LT-9.5, the Commerce Bureau), ``ranking`` (approval)."""

    application_id = fields.String(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(STAGES))
    opinion = fields.String(required=True)
    decided_on = fields.Date()
    reasons = fields.List(fields.String())
    seller_contribution = _nested(SellerContribution)
    proposal = _nested(Proposal)
    county_opinions = fields.List(_nested(CountyOpinion))
    experts = fields.List(_nested(ExpertMark))
    expert_score = fields.String()
    chair = _nested(Signature)
    findings = fields.String()
    discipline_opinion = _nested(DisciplineOpinion)
    ranking = _nested(Ranking)


class ReviewRejectedSchema(EventSchema):
    """A review stage of LT-9 rejected the application, with reasons (stage ``public_notice``: an
    objection during the notice was upheld)."""

    application_id = fields.String(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(REJECTION_STAGES))
    reasons = fields.List(fields.String(), required=True)
    decided_on = fields.Date()
    seller_contribution = _nested(SellerContribution)
    county_opinions = fields.List(_nested(CountyOpinion))
    experts = fields.List(_nested(ExpertMark))
    expert_score = fields.String()
    chair = _nested(Signature)
    findings = fields.String()
    discipline_opinion = _nested(DisciplineOpinion)


class PublicNoticeStartedSchema(EventSchema):
    """Public notice (公示) of the approved candidate, at least 5 working days (LT-9.5)."""

    application_id = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    working_days = fields.Integer(required=True, strict=True)


class ObjectionRaisedSchema(EventSchema):
    """An objection received during the public notice: certification waits for it (LT-9.5)."""

    application_id = fields.String(required=True)
    objection_id = fields.String(required=True)
    received_on = fields.Date(required=True)
    summary = fields.String(required=True)
    source = fields.String(required=True)


class ObjectionResolvedSchema(EventSchema):
    """An objection investigated: ``dismissed`` lets certification go on, ``upheld`` (an issue
    affecting the selection) is followed by ReviewRejected(stage=public_notice)."""

    application_id = fields.String(required=True)
    objection_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("dismissed", "upheld")))
    finding = fields.String(required=True)
    resolved_on = fields.Date(required=True)


class ApplicationWithdrawnSchema(EventSchema):
    """The applicant withdrew before certification; ``stage`` is where the application was."""

    application_id = fields.String(required=True)
    reason = fields.String(required=True)
    withdrawn_on = fields.Date(required=True)
    stage = fields.String(required=True)


class TalentCertifiedSchema(EventSchema):
    """The candidate is certified as a Leading Talent; the 3-year training period starts (LT-10)
    on ``certified_on``, the act's date (``period_start``; events without it: ``period_start``).
    ``person_key``: the person's pseudonym (LT-10.1 once per person; events without it: the
    application's ``person_key``, or the Yixiang record's). ``origin`` ``yixiang_transfer``: a
    Yixiang talent transferred under LT-16 with its original period (``application_id`` is then
    ``yixiang-<Yixiang record id>``, ``prior_startup_subsidy_fen`` what the Yixiang scheme
    already paid as a startup subsidy, ``transferred_on`` the transfer's effective date,
    2022-09-01, and no ``certified_on``)."""

    talent_id = fields.String(required=True)
    application_id = fields.String(required=True)
    applicant_name = fields.String(required=True)
    county = fields.String(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    track = fields.String(required=True, validate=validate.OneOf(TRACKS))
    baseline_year = fields.Integer(required=True, strict=True)
    baseline = _figures()
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    origin = fields.String(validate=validate.OneOf(ORIGINS))
    round_year = fields.Integer(strict=True)
    applicant_id = fields.String()
    enterprise_name = fields.String()
    enterprise_code = fields.String()
    prior_startup_subsidy_fen = fields.Integer(strict=True, validate=validate.Range(min=0))
    certified_on = fields.Date()
    person_key = fields.String()
    transferred_on = fields.Date()


class RoundOpenedSchema(EventSchema):
    """The prefecture Commerce Bureau opened the year's selection round (LT-3, LT-8)."""

    year = fields.Integer(required=True, strict=True)
    quota = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10))
    window_opens = fields.Date(required=True)
    window_closes = fields.Date(required=True)
    opened_on = fields.Date(required=True)


class YixiangApplicantRegisteredSchema(EventSchema):
    """A person who applied to the abolished Yixiang scheme: excluded from applying (LT-10)."""

    person_key = fields.String(required=True)
    id_number_masked = fields.String(required=True)
    name = fields.String(required=True)
    applied_year = fields.Integer(required=True, strict=True)


class YixiangTalentTransferredSchema(EventSchema):
    """A Yixiang talent whose training period had not ended on 2022-09-01 transferred into this
    programme with the original period (LT-16); a TalentCertified follows. ``transferred_on``: the
    transfer's effective date, 2022-09-01 by the rules themselves (events recorded under policy
    version LT-2022-09-01/v2 bear the day the transfer was recorded)."""

    talent_id = fields.String(required=True)
    yixiang_talent_id = fields.String(required=True)
    person_key = fields.String(required=True)
    id_number_masked = fields.String(required=True)
    name = fields.String(required=True)
    county = fields.String(required=True)
    enterprise_name = fields.String(required=True)
    enterprise_code = fields.String()
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    track = fields.String(required=True, validate=validate.OneOf(TRACKS))
    baseline_year = fields.Integer(required=True, strict=True)
    baseline = _figures()
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    transferred_on = fields.Date(required=True)
    prior_startup_subsidy_fen = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0)
    )


class PersonErasedSchema(EventSchema):
    """A person's personal data was erased (个人信息保护法 art. 47, ``PIPL-47``): the key their
    fields were sealed with was deleted (``shared/store/sealing.py``), so those fields read "erased" in
    every stored event while the hash chain still verifies. Names the person only by pseudonym."""

    person_key = fields.String(required=True)
    application_id = fields.String()
    erased_on = fields.Date(required=True)
    basis = fields.String(required=True)
    fields_erased = fields.List(fields.String(), required=True)


for _schema in (
    ApplicationSubmittedSchema,
    EligibilityAssessedSchema,
    ReviewPassedSchema,
    ReviewRejectedSchema,
    PublicNoticeStartedSchema,
    ObjectionRaisedSchema,
    ObjectionResolvedSchema,
    ApplicationWithdrawnSchema,
    TalentCertifiedSchema,
    RoundOpenedSchema,
    YixiangApplicantRegisteredSchema,
    YixiangTalentTransferredSchema,
    PersonErasedSchema,
):
    registry.register(SERVICE, _schema)
