"""Events published by the assessment service (exchange ``assessment.events``).

Consumed elsewhere: ``TalentDisqualified`` (subsidies: recovery; notifications),
``AssessmentPassed`` / ``AssessmentFailed`` (notifications). Fields added since the first version
are optional (``required=False``), so stored events and other consumers stay valid; where a field
was renamed or a reading changed, the earlier version is kept and upcast on read (stored rows are
never rewritten)."""

from __future__ import annotations

from typing import Any

from shared.contracts import EventSchema, fields, registry, validate

SERVICE = "assessment"
TRACKS = ("influencer", "seller")
GRADES = ("excellent", "qualified")
RESULTS = ("excellent", "qualified", "unqualified")
GROUNDS = ("LT-14.1", "LT-14.2", "LT-14.3", "LT-14.4", "LT-14.5")
ORIGINS = ("selection", "yixiang_transfer")  # as TalentCertified.origin
OBLIGATIONS = ("LT-12.1", "LT-12.2", "LT-12.4")
GROUND_KINDS = ("refusal", "violation", "credit_fraud", "departure", "other")
BASES = ("growth", "assessor_findings")


def _figures(**kw: Any) -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.Integer(strict=True), **kw)


def _count(**kw: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0), **kw)


class _TenureYearV1(EventSchema):
    tenure_year = fields.Integer(required=True, strict=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    report_due_on = fields.Date(required=True)
    assessed = fields.Boolean(required=True)


class _TenureYear(_TenureYearV1):
    window_opens_on = fields.Date(required=True)


class TenureOpenedV1Schema(EventSchema):
    """v1: ``years`` had reports due on each year's last day; ``transferred_on`` was the day a
    transfer was recorded."""

    talent_id = fields.String(required=True)
    county = fields.String(required=True)
    track = fields.String(required=True, validate=validate.OneOf(TRACKS))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    baseline_year = fields.Integer(required=True, strict=True)
    baseline = _figures(required=True)
    origin = fields.String(required=False, validate=validate.OneOf(ORIGINS))
    transferred_on = fields.Date(required=False)
    years = fields.List(fields.Nested(_TenureYearV1), required=False)


def _tenure_opened_v2(d: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: the schedule of v1 (reports due within the year) is dropped, so the years are
    computed from the period under the current reading (the report windows after each year); a
    transfer's v1 ``transferred_on`` is the day it was recorded."""
    out = {k: v for k, v in d.items() if k not in ("years", "transferred_on")}
    if "transferred_on" in d:
        out["transfer_recorded_on"] = d["transferred_on"]
    return out


class TenureOpenedSchema(EventSchema):
    """A certified talent's training period (3 years, LT-10) is opened for assessment, counted
    from the certification's act date ``certified_on``; or a Yixiang talent's period transferred
    into the programme (LT-16: ``transferred_on`` 2022-09-01, the day it took effect;
    ``transfer_recorded_on`` the day it was recorded). ``years`` lists each tenure year with its
    report window (``window_opens_on`` to ``report_due_on``, LT-11.1)."""

    talent_id = fields.String(required=True)
    county = fields.String(required=True)
    track = fields.String(required=True, validate=validate.OneOf(TRACKS))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    baseline_year = fields.Integer(required=True, strict=True)
    baseline = _figures(required=True)
    origin = fields.String(required=False, validate=validate.OneOf(ORIGINS))
    certified_on = fields.Date(required=False)
    transferred_on = fields.Date(required=False)
    transfer_recorded_on = fields.Date(required=False)
    years = fields.List(fields.Nested(_TenureYear), required=False)


class AnnualReportFiledV1Schema(EventSchema):
    """v1: the report's date was ``filed_on`` (the day it was recorded)."""

    talent_id = fields.String(required=True)
    tenure_year = fields.Integer(required=True, strict=True)
    figures = _figures(required=True)
    promotion_activities = fields.Integer(required=True, strict=True)
    backbones_trained = fields.Integer(required=True, strict=True)
    full_time_in_chuxiong = fields.Boolean(required=True)
    filed_on = fields.Date(required=False)


def _renamed(old: str, new: str) -> Any:
    def upcast(d: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in d.items() if k != old}
        if old in d:
            out[new] = d[old]
        return out

    return upcast


class AnnualReportFiledSchema(EventSchema):
    """The talent's annual report for one tenure year (LT-11, LT-12), filed on ``reported_on``."""

    talent_id = fields.String(required=True)
    tenure_year = fields.Integer(required=True, strict=True)
    figures = _figures(required=True)
    promotion_activities = fields.Integer(required=True, strict=True)
    backbones_trained = fields.Integer(required=True, strict=True)
    full_time_in_chuxiong = fields.Boolean(required=True)
    reported_on = fields.Date(required=False)


class AnnualReportRemindedSchema(EventSchema):
    """The talent was reminded that a year's report window closes soon and no report is on file
    (LT-11.1)."""

    talent_id = fields.String(required=True)
    tenure_year = fields.Integer(required=True, strict=True)
    window_opens_on = fields.Date(required=True)
    window_closes_on = fields.Date(required=True)
    reminded_on = fields.Date(required=True)


class AnnualReportMissedSchema(EventSchema):
    """No report for a year was filed in its window: not a failed assessment; the county is told
    and orders it filed by a deadline (LT-13; ``breach_id`` names it for the order)."""

    talent_id = fields.String(required=True)
    tenure_year = fields.Integer(required=True, strict=True)
    breach_id = fields.String(required=True)
    window_opens_on = fields.Date(required=True)
    window_closed_on = fields.Date(required=True)
    detail = fields.String(required=True)
    missed_on = fields.Date(required=True)


class AssessorFindingsRecordedV1Schema(EventSchema):
    """v1: an influencer's findings only, dated ``recorded_on``."""

    talent_id = fields.String(required=True)
    tenure_year = fields.Integer(required=True, strict=True)
    ability_clearly_improved = fields.Boolean(required=True)
    influence_further_increased = fields.Boolean(required=True)
    note = fields.String(required=True)
    recorded_on = fields.Date(required=True)


class AssessorFindingsRecordedSchema(EventSchema):
    """The county's findings on a year (LT-13), found on ``found_on``: LT-12.3 (promotion,
    application and model innovation with economic and social benefit) and LT-12.5 (other
    e-commerce work) for every talent; for an influencer also the qualitative alternatives of
    LT-11.1 (promotion ability clearly improved; influence in Chuxiong further increased)."""

    talent_id = fields.String(required=True)
    tenure_year = fields.Integer(required=True, strict=True)
    ability_clearly_improved = fields.Boolean(required=False)
    influence_further_increased = fields.Boolean(required=False)
    application_and_innovation = fields.Boolean(required=False)
    other_work = fields.String(required=False)
    note = fields.String(required=True)
    found_on = fields.Date(required=True)


class _Computation(EventSchema):
    figure = fields.String(required=True)
    baseline = fields.Integer(required=True, strict=True)
    current = fields.Integer(required=True, strict=True)
    years = fields.Integer(required=True, strict=True)
    # Decimal as text, e.g. "0.0500"; null when the baseline is 0 (no average growth exists).
    average_growth = fields.String(required=True, allow_none=True)
    qualified_threshold = fields.String(required=True)
    excellent_threshold = fields.String(required=False)
    excellent_strictly = fields.Boolean(required=False)  # 超过 (sellers) vs 以上 (influencers)
    note = fields.String(required=False)


class _Findings(EventSchema):
    ability_clearly_improved = fields.Boolean(required=True)
    influence_further_increased = fields.Boolean(required=True)


class AssessmentPassedSchema(EventSchema):
    """An annual assessment (LT-11.1) graded the talent qualified or excellent, by growth or by
    the assessor's findings (``basis``)."""

    talent_id = fields.String(required=True)
    tenure_year = fields.Integer(required=True, strict=True)
    grade = fields.String(required=True, validate=validate.OneOf(GRADES))
    computation = fields.List(fields.Nested(_Computation), required=True)
    basis = fields.String(required=False, validate=validate.OneOf(BASES))
    findings = fields.Nested(_Findings, required=False, allow_none=True)
    assessed_on = fields.Date(required=False)


class AssessmentFailedSchema(EventSchema):
    """An annual assessment (LT-11.1) found the talent unqualified (不合格). ``report_missed``
    (events recorded under the earlier reading only): no report was filed by its due date."""

    talent_id = fields.String(required=True)
    tenure_year = fields.Integer(required=True, strict=True)
    reasons = fields.List(fields.String(), required=True)
    computation = fields.List(fields.Nested(_Computation), required=True)
    findings = fields.Nested(_Findings, required=False, allow_none=True)
    report_missed = fields.Boolean(required=False)
    report_due_on = fields.Date(required=False)
    assessed_on = fields.Date(required=False)


class ObligationBreachedSchema(EventSchema):
    """An obligation of LT-12 was not met; ``rectifiable`` says whether a county order (LT-13)
    can still put it right."""

    talent_id = fields.String(required=True)
    breach_id = fields.String(required=True)
    obligation = fields.String(required=True, validate=validate.OneOf(OBLIGATIONS))
    tenure_year = fields.Integer(required=True, strict=True)
    detail = fields.String(required=True)
    rectifiable = fields.Boolean(required=True)
    found_on = fields.Date(required=True)


class RectificationOrderedSchema(EventSchema):
    """The county ordered a breach rectified by a deadline (限期整改, LT-13)."""

    talent_id = fields.String(required=True)
    breach_id = fields.String(required=True)
    requirement = fields.String(required=True)
    deadline = fields.Date(required=True)
    ordered_on = fields.Date(required=True)


class RectificationConfirmedSchema(EventSchema):
    """The county confirmed a breach rectified within its deadline (LT-13)."""

    talent_id = fields.String(required=True)
    breach_id = fields.String(required=True)
    rectified_on = fields.Date(required=True)
    note = fields.String(required=True)


class RectificationDeadlineMissedSchema(EventSchema):
    """A rectification deadline passed without the breach being put right (LT-13)."""

    talent_id = fields.String(required=True)
    breach_id = fields.String(required=True)
    deadline = fields.Date(required=True)
    found_on = fields.Date(required=True)


class DisqualificationGroundReportedSchema(EventSchema):
    """Someone with the authority reported a ground of LT-14 (a refusal, a violation, a credit-
    system fraud record, leaving before 3 years, another ground)."""

    talent_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(GROUND_KINDS))
    ground = fields.String(required=True, validate=validate.OneOf(GROUNDS))
    occurred_on = fields.Date(required=True)
    description = fields.String(required=True)
    reference = fields.String(required=True)
    reported_on = fields.Date(required=True)


class DisqualificationProposedSchema(EventSchema):
    """A ground of LT-14 applies; the Talent Work Leading Group must decide."""

    talent_id = fields.String(required=True)
    ground = fields.String(required=True, validate=validate.OneOf(GROUNDS))
    reasons = fields.List(fields.String(), required=True)
    proposal_id = fields.String(required=False)
    proposed_on = fields.Date(required=False)
    breach_ids = fields.List(fields.String(), required=False)


class DisqualificationDeclinedSchema(EventSchema):
    """The Talent Work Leading Group declined a disqualification proposal; the title stays."""

    talent_id = fields.String(required=True)
    proposal_id = fields.String(required=True)
    ground = fields.String(required=True, validate=validate.OneOf(GROUNDS))
    reasons = fields.List(fields.String(), required=True)
    decided_on = fields.Date(required=True)


class TalentDisqualifiedSchema(EventSchema):
    """The Talent Work Leading Group revoked the title; the subsidy is to be recovered (LT-14)."""

    talent_id = fields.String(required=True)
    ground = fields.String(required=True, validate=validate.OneOf(GROUNDS))
    reasons = fields.List(fields.String(), required=True)
    decided_on = fields.Date(required=True)
    proposal_id = fields.String(required=False)


class _YearResult(EventSchema):
    tenure_year = fields.Integer(required=True, strict=True)
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))


class TenureCompletedSchema(EventSchema):
    """The training period ended with the title kept: every assessed year decided, no breach left
    unrectified and no proposal pending (LT-10 to LT-14)."""

    talent_id = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    results = fields.List(fields.Nested(_YearResult), required=True)
    backbones_trained = _count(required=True)
    completed_on = fields.Date(required=True)


registry.register(SERVICE, TenureOpenedV1Schema, name="TenureOpened", upcast=_tenure_opened_v2)
registry.register(
    SERVICE,
    AnnualReportFiledV1Schema,
    name="AnnualReportFiled",
    upcast=_renamed("filed_on", "reported_on"),
)
registry.register(
    SERVICE,
    AssessorFindingsRecordedV1Schema,
    name="AssessorFindingsRecorded",
    upcast=_renamed("recorded_on", "found_on"),
)
for _v2 in (TenureOpenedSchema, AnnualReportFiledSchema, AssessorFindingsRecordedSchema):
    registry.register(SERVICE, _v2, version=2)
for _schema in (
    AnnualReportRemindedSchema,
    AnnualReportMissedSchema,
    AssessmentPassedSchema,
    AssessmentFailedSchema,
    ObligationBreachedSchema,
    RectificationOrderedSchema,
    RectificationConfirmedSchema,
    RectificationDeadlineMissedSchema,
    DisqualificationGroundReportedSchema,
    DisqualificationProposedSchema,
    DisqualificationDeclinedSchema,
    TalentDisqualifiedSchema,
    TenureCompletedSchema,
):
    registry.register(SERVICE, _schema)
