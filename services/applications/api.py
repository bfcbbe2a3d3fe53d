"""What each HTTP entrypoint of the applications service takes and answers, for its OpenAPI
description (``shared/openapi.py``; served at ``/openapi.json``). Bodies are the command schemas
the entrypoints load (``schemas.py``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.applications import schemas
from services.applications.domain import policy
from shared.openapi import Operation, Recorded, page


class ApplicationsQuery(Schema):
    county = fields.String(validate=validate.OneOf(policy.COUNTIES))
    round = fields.Integer(metadata={"description": "the round's year"})
    status = fields.String()
    stage = fields.String(validate=validate.OneOf(policy.STAGES))


class RoundQuery(Schema):
    round = fields.Integer(metadata={"description": "the round's year"})


Rounds = page("Rounds", rounds=fields.List(fields.Dict(), required=True))
Applications = page("Applications", applications=fields.List(fields.Dict(), required=True))
Notices = page("Notices", notices=fields.List(fields.Dict(), required=True))
Application = page(
    "Application",
    application_id=fields.String(required=True),
    status=fields.String(required=True),
    history=fields.List(fields.Dict(), required=True),
    eligibility=fields.Dict(allow_none=True),
)

TAGS_ROUNDS, TAGS_APPS, TAGS_YIXIANG = ("rounds",), ("applications",), ("yixiang",)

OPERATIONS: dict[str, Operation] = {
    "open_round": Operation(
        "Open a round: its quota and its application window (LT-3, LT-8)",
        body=schemas.OpenRound,
        response=Recorded,
        status=201,
        example={
            "year": 2026,
            "quota": 10,
            "window_opens": "2026-03-01",
            "window_closes": "2026-03-31",
        },
        tags=TAGS_ROUNDS,
    ),
    "list_rounds": Operation("Every round", response=Rounds, tags=TAGS_ROUNDS),
    "get_round": Operation("A round: window, quota, counts", tags=TAGS_ROUNDS),
    "submit": Operation(
        "File the Leading Talent form; eligibility (LT-6) is assessed at once",
        body=schemas.SubmitApplication,
        response=Recorded,
        status=201,
        description="The answer adds `application_id`, `eligible` and `failed` (the clauses "
        "not met). An applicant files only their own application.",
        tags=TAGS_APPS,
    ),
    "review": Operation(
        "Record a review stage's decision (LT-9.1 to LT-9.5)",
        body=schemas.RecordReview,
        response=Recorded,
        if_match=True,
        description="Who may record it depends on `stage` (permission `review.<stage>`); each "
        "stage has its own record (county opinions, experts and chair, discipline opinion).",
        example={
            "stage": "qualification_review",
            "decision": "pass",
            "opinion": "材料齐全，符合申报条件",
            "decided_on": "2026-04-10",
            "clauses": ["LT-9.2"],
        },
        tags=TAGS_APPS,
    ),
    "start_notice": Operation(
        "Start the five-working-day public notice (公示, LT-9.5)",
        body=schemas.StartNotice,
        response=Recorded,
        example={"start_date": "2026-05-11"},
        tags=TAGS_APPS,
    ),
    "raise_objection": Operation(
        "Record an objection raised during the notice",
        body=schemas.RaiseObjection,
        response=Recorded,
        status=201,
        tags=TAGS_APPS,
    ),
    "resolve_objection": Operation(
        "Resolve an objection: dismissed or upheld",
        body=schemas.ResolveObjection,
        response=Recorded,
        tags=TAGS_APPS,
    ),
    "certify": Operation(
        "Certify the talent once the notice closed without an upheld objection",
        body=schemas.Certify,
        response=Recorded,
        if_match=True,
        tags=TAGS_APPS,
    ),
    "withdraw": Operation(
        "Withdraw an application",
        body=schemas.Withdraw,
        response=Recorded,
        example={"reason": "本人申请撤回"},
        tags=TAGS_APPS,
    ),
    "erase_person": Operation(
        "Erase the applicant's personal data (个人信息保护法 art. 47): their key is deleted",
        body=schemas.ErasePerson,
        response=Recorded,
        example={"basis": "request_of_the_person"},
        tags=TAGS_APPS,
    ),
    "get_application": Operation(
        "An application, its eligibility findings and its history",
        response=Application,
        tags=TAGS_APPS,
    ),
    "list_applications": Operation(
        "Applications, filtered",
        query=ApplicationsQuery,
        response=Applications,
        tags=TAGS_APPS,
    ),
    "public_notices": Operation(
        "Who is on public notice (公示)", query=RoundQuery, response=Notices, tags=TAGS_APPS
    ),
    "register_yixiang_applicant": Operation(
        "Register a former Yixiang applicant (LT-16)",
        body=schemas.RegisterYixiangApplicant,
        response=Recorded,
        status=201,
        extra_statuses=(200,),
        description="200 when the person was registered already (nothing recorded).",
        tags=TAGS_YIXIANG,
    ),
    "transfer_yixiang_talent": Operation(
        "Transfer a Yixiang talent into the programme (LT-16)",
        body=schemas.TransferYixiangTalent,
        response=Recorded,
        status=201,
        tags=TAGS_YIXIANG,
    ),
}
