"""What each HTTP entrypoint of the notifications service takes and answers, for its OpenAPI
description (``shared/openapi.py``; served at ``/openapi.json``). Bodies are the command schemas
the entrypoints load (``schemas.py``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.notifications import schemas
from shared.openapi import Operation, page


class DeliveriesQuery(Schema):
    status = fields.String()
    channel = fields.String(validate=validate.OneOf(("inbox", "email", "webhook")))
    recipient = fields.String()
    source_event_id = fields.String(metadata={"description": "the id of the event it tells of"})


class ClosedQuery(Schema):
    include = fields.String(
        validate=validate.OneOf(("closed",)), metadata={"description": "add past notices"}
    )


class YearQuery(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


Inbox = page(
    "Inbox",
    recipient=fields.String(required=True),
    messages=fields.List(fields.Dict(), required=True),
)
Subscriber = page(
    "Subscriber",
    subscriber_id=fields.String(required=True),
    name=fields.String(),
    url=fields.String(),
    event_types=fields.List(fields.String()),
)
Subscribers = page("Subscribers", subscribers=fields.List(fields.Dict(), required=True))
Contact = page(
    "Contact", recipient=fields.String(required=True), email=fields.String(allow_none=True)
)
Deliveries = page("Deliveries", deliveries=fields.List(fields.Dict(), required=True))
DeadDeliveries = page("DeadDeliveries", dead_letters=fields.List(fields.Dict(), required=True))
PublicNotices = page(
    "PublicNotices",
    as_of=fields.Date(required=True),
    clause=fields.String(),
    notices=fields.List(fields.Dict(), required=True),
)
PublicResults = page(
    "PublicResults",
    year=fields.Integer(allow_none=True),
    years=fields.List(fields.Integer()),
    clause=fields.String(),
    results=fields.List(fields.Dict(), required=True),
)
SUBSCRIBERS, CONTACTS, DELIVERIES, PUBLIC = (
    ("subscribers",),
    ("contacts",),
    ("deliveries",),
    ("public",),
)
_ADDRESS = "`recipient` is an address: `talent:<id>`, `applicant:<id>` or `county:<name>`."

OPERATIONS: dict[str, Operation] = {
    "inbox": Operation(
        "A recipient's messages", response=Inbox, description=_ADDRESS, tags=("inbox",)
    ),
    "register_subscriber": Operation(
        "Register a webhook subscriber; the answer holds its signing secret (shown once)",
        body=schemas.Subscription,
        status=201,
        example={
            "name": "州人社局系统",
            "url": "https://hrss.example.gov.cn/hooks/talent",
            "event_types": ["TalentCertified", "SubsidyPaid"],
        },
        tags=SUBSCRIBERS,
    ),
    "list_subscribers": Operation("Every subscriber", response=Subscribers, tags=SUBSCRIBERS),
    "get_subscriber": Operation("A subscriber", response=Subscriber, tags=SUBSCRIBERS),
    "change_subscriber": Operation(
        "Change a subscriber's name, URL or event types",
        body=schemas.Subscription,
        response=Subscriber,
        tags=SUBSCRIBERS,
    ),
    "rotate_secret": Operation(
        "Rotate a subscriber's signing secret", if_match=True, tags=SUBSCRIBERS
    ),
    "deactivate_subscriber": Operation(
        "Deactivate a subscriber", if_match=True, response=Subscriber, tags=SUBSCRIBERS
    ),
    "set_contact": Operation(
        "Set a recipient's e-mail address",
        body=schemas.SetContact,
        response=Contact,
        description=_ADDRESS,
        tags=CONTACTS,
    ),
    "get_contact": Operation(
        "A recipient's e-mail address", response=Contact, description=_ADDRESS, tags=CONTACTS
    ),
    "remove_contact": Operation(
        "Remove a recipient's e-mail address",
        response=Contact,
        description=_ADDRESS,
        tags=CONTACTS,
    ),
    "list_deliveries": Operation(
        "Deliveries, filtered", query=DeliveriesQuery, response=Deliveries, tags=DELIVERIES
    ),
    "dead_deliveries": Operation(
        "Deliveries that used up their attempts", response=DeadDeliveries, tags=DELIVERIES
    ),
    "get_delivery": Operation("A delivery and its attempts", tags=DELIVERIES),
    "redrive_delivery": Operation("Send a dead delivery again", if_match=True, tags=DELIVERIES),
    "public_notices": Operation(
        "People on public notice (公示, LT-9.5)",
        query=ClosedQuery,
        response=PublicNotices,
        tags=PUBLIC,
    ),
    "public_notices_page": Operation(
        "The public notice as an HTML page",
        query=ClosedQuery,
        content_type="text/html",
        errors=(400, 503),
        tags=PUBLIC,
    ),
    "public_results": Operation(
        "The annual assessment results announced (LT-11.1)",
        query=YearQuery,
        response=PublicResults,
        tags=PUBLIC,
    ),
    "public_results_page": Operation(
        "The annual assessment results as an HTML page",
        query=YearQuery,
        content_type="text/html",
        errors=(400, 503),
        tags=PUBLIC,
    ),
}
