"""Input schemas of the notifications service's commands (HTTP bodies and addresses). Events are
contracts in ``shared/contracts/notifications.py``."""

import urllib.parse

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from services.notifications.domain.messages import FIXED_ADDRESSES, RULES
from shared.contracts import load_all
from shared.errors import InvalidInput

_contracts = load_all()
# The event types a subscriber may ask for: those this service is told about.
NOTIFIABLE_EVENT_TYPES = tuple(
    sorted(
        event_type
        for service, event_type in RULES
        if event_type in _contracts.latest and _contracts.contract(event_type).service == service
    )
)
ADDRESS_KINDS = ("talent", "applicant", "county")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def webhook_url(value):
    """An absolute http(s) URL with a host, without credentials or fragment."""
    if len(value) > 2000:
        raise ValidationError("Longer than 2000 characters.")
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValidationError("Not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Must be an absolute http:// or https:// URL with a host.")
    if parts.username or parts.password:
        raise ValidationError("Must not carry credentials.")
    if parts.fragment:
        raise ValidationError("Must not have a fragment.")
    if any(c.isspace() for c in value):
        raise ValidationError("Must not contain white space.")


class Subscription(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    url = fields.String(required=True, validate=webhook_url)
    event_types = fields.List(
        fields.String(validate=validate.OneOf(NOTIFIABLE_EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=100),
    )


class SetContact(_Strict):
    email = fields.Email(required=True, validate=validate.Length(max=254))


def recipient_address(address):
    """``address`` if it names a recipient (``bureau``, ``finance``, ``leading_group``,
    ``talent:<id>``, ``applicant:<id>``, ``county:<name>``), else InvalidInput."""
    kind, sep, ident = address.partition(":")
    if address in FIXED_ADDRESSES or (
        sep
        and kind in ADDRESS_KINDS
        and ident.strip()
        and len(ident) <= 200
        and ident == ident.strip()
    ):
        return address
    raise InvalidInput(
        "not a recipient address",
        fields={
            "recipient": [
                f"Must be one of {', '.join(FIXED_ADDRESSES)} or "
                f"{', '.join(k + ':<id>' for k in ADDRESS_KINDS)}."
            ]
        },
    )
