"""The notifications service's use cases (its application layer): one function per use case,
taking the unit of work ``uow`` and the command (or what identifies the record read), doing
"look up, decide (``uow.run``), append" in one transaction and returning the recorded events
(or the rows read). The rules are in ``domain/`` (the deciders) and ``shared/auth.py`` (who may
read an inbox or set a contact); the reads in ``queries.py``; sending due messages in
``dispatch.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from services.notifications import channels, queries
from services.notifications.dispatch import stream_of
from services.notifications.domain import delivery as delivery_domain
from services.notifications.domain import messages, recipients
from services.notifications.domain.messages import (
    CATEGORIES_ZH,
    GRADES_ZH,
    RULES,
    Notify,
    addresses,
)
from services.notifications.domain.register import REGISTER, Source, noted
from shared.auth import may_address, may_read_inbox
from shared.clock import local_date
from shared.errors import ConcurrencyConflict, Forbidden, NotFound

if TYPE_CHECKING:
    from shared.messaging.inbox import IncomingEvent
    from shared.runtime.provider import UnitOfWork
    from shared.store import RecordedEvent

Row = queries.Row


# -- other services' events ----------------------------------------------------------------------
class Contended(Exception):
    """Two events about the same application or talent were handled at once and this one lost
    the append: not a refusal, so the inbox retries it (with backoff) instead of dead-lettering."""


def handle_event(
    uow: UnitOfWork, source: str, event_type: str, event: IncomingEvent, cur: Any
) -> None:
    """What another service's event means here, inside the inbox's transaction ``cur``: what the
    register learns of it (``REGISTER``) and the notification it calls for (``RULES``). The
    register's row is the one the inbox read with its insert (``event.prefetched``). The events of
    one application travel on separate queues, so an event can come before the one that
    introduced its application or talent (``ApplicationSubmitted``, ``TalentCertified``): the
    domain then raises ``PartiesUnknown`` before anything is written, and the inbox parks the
    event until that one has been handled (``shared.messaging.inbox``)."""
    try:
        _handle_event(uow, source, event_type, event, cur, event.prefetched)
    except ConcurrencyConflict as exc:
        raise Contended(exc.message) from exc


def _handle_event(
    uow: UnitOfWork,
    source: str,
    event_type: str,
    event: IncomingEvent,
    cur: Any,
    who: Row | None,
) -> None:
    """``who``: the register's row if already read, None to read it here. Everything is read before the first append: an append
    holds the store's lock until COMMIT, and the last one brings COMMIT with it (no client round
    trip under the lock but between the register's append and the notification's, when the
    event has both)."""
    p, key = event.payload, (source, event_type)
    who = queries.who(cur, p) if who is None else who
    register = rule = None
    if key in REGISTER:
        register = REGISTER[key](
            Source(
                source,
                event_type,
                p,
                event.metadata.get("actor_id"),
                event.metadata.get("actor_role"),
                local_date(event.recorded_at),
            )
        )
    if key in RULES:
        # who the rule addresses: what the register knows, or (an event that introduces
        # the application or talent) what it is about to learn from this very event
        rule_who = who or (noted(register[2]) if register else {})
        contacts, subscribers = queries.contacts_and_subscribers(
            cur, addresses(RULES[key], p, rule_who), event_type
        )
        rule = uow.context(who=rule_who, contacts=contacts, subscribers=subscribers)
    if register:
        decider, stream_key, command = register
        uow.run(
            decider,
            f"{decider.stream_type}-{stream_key}",
            command,
            context=uow.context(who=who),
            cur=cur,
            commit=rule is None,
        )
    if rule:
        uow.run(
            messages.notification,
            f"notification-{event.event_id}",
            Notify(source, event_type, event.event_id, p, _envelope(event)),
            context=rule,
            cur=cur,
            commit=True,
            new_stream=True,
        )


def _envelope(event: IncomingEvent) -> dict[str, Any]:
    """The source event's envelope attributes a webhook body carries (``WEBHOOK_ENVELOPE``)."""
    known = {
        "schema_version": event.schema_version,
        "stream_type": event.stream_type,
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
        "global_position": event.global_position,
        "recorded_at": event.recorded_at,
        "correlation_id": event.metadata.get("correlation_id"),
        "causation_id": event.metadata.get("causation_id"),
    }
    return {name: known[name] for name in messages.WEBHOOK_ENVELOPE}


# -- inboxes -------------------------------------------------------------------------------------
def _applicant_of(uow: UnitOfWork) -> Callable[[str], str | None]:
    return functools.partial(queries.applicant_of, uow.query)


def inbox(uow: UnitOfWork, recipient: str) -> list[Row]:
    """The messages of ``recipient``'s inbox, if the acting principal may read it."""
    if not may_read_inbox(uow.caller, recipient, _applicant_of(uow)):
        raise Forbidden(f"{uow.caller.role} may not read {recipient}'s inbox")
    return queries.inbox_messages(uow.query, recipient)


# -- webhook subscribers -------------------------------------------------------------------------
def subscriber(uow: UnitOfWork, subscriber_id: str) -> Row:
    row = queries.subscriber(uow.query, subscriber_id)
    if row is None:
        raise NotFound(f"unknown subscriber {subscriber_id}")
    return row


def subscribers(uow: UnitOfWork) -> list[Row]:
    return queries.subscribers(uow.query)


def subscriber_secret(
    uow: UnitOfWork, subscriber_id: str, events: list[RecordedEvent]
) -> dict[str, Any]:
    """The signing secret ``events`` (the last one names its version) gave the subscriber, and
    how its webhooks are signed."""
    version = events[-1].payload["secret_version"]
    return {
        "subscriber_id": subscriber_id,
        "secret_version": version,
        "secret": channels.subscriber_secret(
            uow.settings.webhook_signing_key, subscriber_id, version
        ),
        "signature": {
            "scheme": "Standard Webhooks v1",
            "algorithm": "HMAC-SHA256",
            "signed": "<webhook-id>.<webhook-timestamp>.<body>",
            "headers": [
                channels.HEADER_ID,
                channels.HEADER_TIMESTAMP,
                channels.HEADER_SIGNATURE,
            ],
            "tolerance_seconds": channels.SIGNATURE_TOLERANCE_SECONDS,
            "previous_secret_valid_until": events[-1].payload.get("previous_valid_until"),
        },
    }


def register_subscriber(uow: UnitOfWork, command: recipients.Register) -> list[RecordedEvent]:
    return uow.run(recipients.subscriber, f"subscriber-{command.subscriber_id}", command)


def change_subscriber(
    uow: UnitOfWork, subscriber_id: str, command: Any, expected_version: int | None
) -> list[RecordedEvent]:
    """Change, rotate the secret of or deactivate (``command``) a subscriber."""
    return uow.run(
        recipients.subscriber,
        f"subscriber-{subscriber_id}",
        command,
        expected_version=expected_version,
    )


# -- e-mail contacts -----------------------------------------------------------------------------
def addressable(uow: UnitOfWork, recipient: str) -> str:
    """``recipient``, if the acting principal may set its e-mail address."""
    if not may_address(uow.caller, recipient, _applicant_of(uow)):
        raise Forbidden(f"{uow.caller.role} may not set {recipient}'s contact")
    return recipient


def contact(uow: UnitOfWork, recipient: str) -> Row:
    row = queries.contact(uow.query, recipient)
    if row is None:
        raise NotFound(f"no e-mail address for {recipient}")
    return row


def set_contact(uow: UnitOfWork, command: recipients.SetEmail) -> list[RecordedEvent]:
    return uow.run(recipients.contact, f"contact-{command.recipient}", command)


def remove_contact(uow: UnitOfWork, command: recipients.RemoveEmail) -> list[RecordedEvent]:
    """Remove a recipient's e-mail address (NotFound if it has none)."""
    contact(uow, command.recipient)
    return uow.run(recipients.contact, f"contact-{command.recipient}", command)


# -- deliveries ----------------------------------------------------------------------------------
def deliveries(uow: UnitOfWork, filters: dict[str, str]) -> list[Row]:
    return queries.deliveries(uow.query, filters)


def dead_deliveries(uow: UnitOfWork) -> list[Row]:
    return queries.dead_deliveries(uow.query)


def delivery(uow: UnitOfWork, notification_id: str) -> Row:
    row = queries.delivery(uow.query, notification_id)
    if row is None:
        raise NotFound(f"no e-mail or webhook delivery {notification_id}")
    return row


def delivery_history(uow: UnitOfWork, notification_id: str) -> Row:
    """A message's delivery with every event of its stream (``history``)."""
    row = delivery(uow, notification_id)
    row["history"] = [
        {"type": e.event_type, "payload": e.data, "recorded_at": e.recorded_at.isoformat()}
        for e in uow.events.read_stream(stream_of(notification_id))
    ]
    return row


def redrive(
    uow: UnitOfWork, command: delivery_domain.Redrive, expected_version: int | None
) -> list[RecordedEvent]:
    """Send a dead-lettered message again."""
    return uow.run(
        delivery_domain.delivery,
        stream_of(command.notification_id),
        command,
        expected_version=expected_version,
    )


# -- the public feeds ----------------------------------------------------------------------------
def notices(uow: UnitOfWork, closed: bool) -> list[Row]:
    """People on public notice (LT-9.5), with their category's name; ``closed``: past notices
    too."""
    rows = queries.notices(uow.query, closed)
    for row in rows:
        row["category_name"] = CATEGORIES_ZH.get(row["category"], row["category"])
    return rows


def results(uow: UnitOfWork, year: int | None) -> tuple[int, list[int], list[Row]]:
    """(year, the years with results, the results of that year) of the annual assessment
    (LT-11.1), with the names of categories and grades. ``year`` None: the latest year with
    results (this year if there are none)."""
    years = queries.result_years(uow.query)
    year = year or (years[0] if years else uow.clock.today().year)
    rows = queries.results(uow.query, year)
    for row in rows:
        row["category_name"] = CATEGORIES_ZH.get(row["category"], row["category"])
        row["result_name"] = GRADES_ZH[row["result"]]
    return year, years, rows
