"""Events stored by the notifications service (exchange ``notifications.events``): every message it
decided to send, every delivery attempt and its outcome, the registry of webhook subscribers and
e-mail contacts, and the public register behind the public-notice feed (公示, LT-9.5) and the
announcement of annual assessment results (LT-11.1).

Timestamps inside payloads are ISO 8601 text in UTC; the event's own ``recorded_at`` is when it
happened (an attempt is recorded just before the message is sent, its outcome just after)."""

from __future__ import annotations

from shared.contracts import EventSchema, fields, registry, validate

SERVICE = "notifications"
CHANNELS = ("inbox", "email", "webhook")
DELIVERY_CHANNELS = ("email", "webhook")
RESULTS = ("excellent", "qualified", "unqualified")


def _count() -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


# -- who is told what ------------------------------------------------------------------------------
class NotificationRecordedSchema(EventSchema):
    """A message for one recipient on one channel, caused by another service's event. On the inbox
    channel recording it is delivering it; e-mail and webhook messages are then delivered
    (DeliveryAttempted, Delivered / DeliveryFailed, DeliveryDeadLettered). ``content`` is the exact
    JSON body a webhook receives."""

    notification_id = fields.String(required=True)
    recipient = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    subject = fields.String(required=True)
    body = fields.String(required=True)
    source_service = fields.String(required=True)
    source_event_type = fields.String(required=True)
    source_event_id = fields.String(required=True)
    content = fields.String()
    # (webhook messages) the source event's stream and position: a subscriber's webhooks of one
    # stream go out in position order
    source_stream_id = fields.String()
    source_position = fields.Integer(strict=True, validate=validate.Range(min=1))


# -- delivery --------------------------------------------------------------------------------------
class DeliveryAttemptedSchema(EventSchema):
    """About to send a message (recorded before the network is touched): attempt number and the
    address or URL it goes to."""

    notification_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(DELIVERY_CHANNELS))
    attempt = _count()
    target = fields.String(required=True)


class DeliveredSchema(EventSchema):
    """The receiving server accepted the message (SMTP 250, HTTP 2xx). At most one per message."""

    notification_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(DELIVERY_CHANNELS))
    attempt = _count()
    target = fields.String(required=True)
    response = fields.String(required=True)


class DeliveryFailedSchema(EventSchema):
    """An attempt failed; ``retry_at`` (UTC) is when the next one is due, absent when none is."""

    notification_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(DELIVERY_CHANNELS))
    attempt = _count()
    error = fields.String(required=True)
    retry_at = fields.String()


class DeliveryDeadLetteredSchema(EventSchema):
    """The allowed attempts are used up: the message waits in the dead-letter list, re-drivable."""

    notification_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(DELIVERY_CHANNELS))
    attempts = _count()
    last_error = fields.String(required=True)


class DeliveryRedrivenSchema(EventSchema):
    """An operator sent a dead-lettered message back for delivery, with a fresh set of attempts."""

    notification_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(DELIVERY_CHANNELS))


# -- the registry of channels ------------------------------------------------------------------
class SubscriberRegisteredSchema(EventSchema):
    """Another system subscribed a webhook URL to the event types it wants. Its signing secret is
    derived from the service's key and ``secret_version``; it is never stored in an event."""

    subscriber_id = fields.String(required=True)
    name = fields.String(required=True)
    url = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    secret_version = _count()


class SubscriberChangedSchema(EventSchema):
    """A subscriber's name, URL or event types changed."""

    subscriber_id = fields.String(required=True)
    name = fields.String(required=True)
    url = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)


class SubscriberSecretRotatedSchema(EventSchema):
    """A subscriber's signing secret was replaced. The previous one (``previous_secret_version``)
    keeps signing beside it until ``previous_valid_until`` (UTC), so the receiver can switch
    without a failed delivery (absent in events recorded before the overlap existed: the old one
    stopped at once)."""

    subscriber_id = fields.String(required=True)
    secret_version = _count()
    previous_secret_version = fields.Integer(strict=True, validate=validate.Range(min=1))
    previous_valid_until = fields.String()


class SubscriberDeactivatedSchema(EventSchema):
    """A subscriber receives nothing more; messages not yet delivered to it fail."""

    subscriber_id = fields.String(required=True)


class ContactEmailSetSchema(EventSchema):
    """A recipient (e.g. ``county:楚雄市``, ``talent:<id>``) is also told by e-mail at this address."""

    recipient = fields.String(required=True)
    email = fields.String(required=True)


class ContactEmailRemovedSchema(EventSchema):
    """A recipient is no longer told by e-mail."""

    recipient = fields.String(required=True)


# -- the public register: 公示 (LT-9.5) and assessment results (LT-11.1) ----------------------------
class CandidateNotedSchema(EventSchema):
    """An application was filed (LT-9.1): who the applicant is and how to address them. Only name,
    county, category and dates ever reach the public feeds."""

    application_id = fields.String(required=True)
    applicant = fields.String(required=True)
    applicant_name = fields.String(required=True)
    county = fields.String(required=True)
    category = fields.String(required=True)
    round_year = fields.Integer(required=True, strict=True)


class NoticePublishedSchema(EventSchema):
    """The candidate is on public notice (公示) from ``start_date`` to ``end_date`` (LT-9.5)."""

    application_id = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    working_days = fields.Integer(required=True, strict=True)


class CandidateCertifiedSchema(EventSchema):
    """The candidate was certified (LT-9.5, LT-10): the notice is over."""

    application_id = fields.String(required=True)
    talent_id = fields.String(required=True)
    certified_on = fields.Date(required=True)


class CandidateRejectedSchema(EventSchema):
    """A review stage rejected the candidate (LT-9): off the notice, if on it."""

    application_id = fields.String(required=True)
    stage = fields.String(required=True)


class ObjectionNotedSchema(EventSchema):
    """An objection was raised during the candidate's notice: certification waits (LT-9.5)."""

    application_id = fields.String(required=True)
    objection_id = fields.String(required=True)


class ObjectionClearedSchema(EventSchema):
    """An objection was resolved (``dismissed`` or ``upheld``, LT-9.5)."""

    application_id = fields.String(required=True)
    objection_id = fields.String(required=True)
    outcome = fields.String(required=True)


class CandidateWithdrawnSchema(EventSchema):
    """The applicant withdrew (LT-9): off the notice, if on it."""

    application_id = fields.String(required=True)


class AssessmentResultAnnouncedSchema(EventSchema):
    """A talent's annual assessment result, for the Commerce Bureau's announcement (LT-11.1)."""

    talent_id = fields.String(required=True)
    tenure_year = _count()
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))
    assessed_on = fields.Date(required=True)


for _schema in (
    NotificationRecordedSchema,
    DeliveryAttemptedSchema,
    DeliveredSchema,
    DeliveryFailedSchema,
    DeliveryDeadLetteredSchema,
    DeliveryRedrivenSchema,
    SubscriberRegisteredSchema,
    SubscriberChangedSchema,
    SubscriberSecretRotatedSchema,
    SubscriberDeactivatedSchema,
    ContactEmailSetSchema,
    ContactEmailRemovedSchema,
    CandidateNotedSchema,
    NoticePublishedSchema,
    CandidateCertifiedSchema,
    CandidateRejectedSchema,
    ObjectionNotedSchema,
    ObjectionClearedSchema,
    CandidateWithdrawnSchema,
    AssessmentResultAnnouncedSchema,
):
    registry.register(SERVICE, _schema)
