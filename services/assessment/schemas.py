"""Input schemas of the assessment service's commands (HTTP bodies). Events are contracts in
``shared/contracts/assessment.py``."""

from marshmallow import RAISE, Schema, fields, validate

from shared.contracts.assessment import GROUND_KINDS


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _text(required=True, **kw):
    if not required:
        kw.setdefault("load_default", "")
    return fields.String(
        required=required, validate=validate.Length(min=1 if required else 0, max=2000), **kw
    )


# Bounds on what a caller sends: far above any real figure, far below what would overflow a
# reader (a year's sales in fen, followers or exposure; activities or backbones in a year).
MAX_FIGURE = 10**15
MAX_COUNT = 100_000


def _count():
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_COUNT))


class _Flag(fields.Boolean):
    """JSON true or false only (marshmallow's Boolean would take 1, "yes", "on"...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not bool:
            raise self.make_error("invalid")
        return value


def _flag():
    return _Flag(required=True)


def _act_date():
    # An act's date; the service gives today when it is left out, and the decider bounds it
    # (not after today, not before 2022-09-01, not before the tenure's previous act).
    return fields.Date(load_default=None)


def _tenure_year():
    # Which years a tenure has is the decider's to say (LT-10, LT-16), naming the clause.
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class FileAnnualReport(_Strict):
    tenure_year = _tenure_year()
    figures = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=50)),
        values=fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_FIGURE)),
        required=True,
        validate=validate.Length(max=10),
    )
    promotion_activities = _count()
    backbones_trained = _count()
    full_time_in_chuxiong = _flag()
    reported_on = _act_date()


class RecordFindings(_Strict):
    """The county's findings on a year (LT-13): LT-12.3 and LT-12.5 for every talent, LT-11.1's
    two findings for an influencer only (the decider says which a talent needs)."""

    tenure_year = _tenure_year()
    application_and_innovation = _flag()  # LT-12.3
    other_work = _text()  # LT-12.5 (an empty item is written 无)
    ability_clearly_improved = _Flag(load_default=None)
    influence_further_increased = _Flag(load_default=None)
    note = _text(required=False)
    found_on = _act_date()


class OrderRectification(_Strict):
    deadline = fields.Date(required=True)
    requirement = _text()
    ordered_on = _act_date()


class ConfirmRectification(_Strict):
    rectified_on = fields.Date(required=True)
    note = _text(required=False)


class ReportGround(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(GROUND_KINDS))
    occurred_on = fields.Date(required=True)
    description = _text()
    reference = fields.String(load_default="", validate=validate.Length(max=200))
    reported_on = _act_date()


class ApproveDisqualification(_Strict):
    decided_on = fields.Date(required=True)
    proposal_id = fields.String(load_default=None, validate=validate.Length(min=1, max=20))


class DeclineDisqualification(ApproveDisqualification):
    reasons = fields.List(
        fields.String(validate=validate.Length(min=1, max=2000)),
        required=True,
        validate=validate.Length(min=1),
    )


class ResultsQuery(_Strict):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2022, max=2100))
    county = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
