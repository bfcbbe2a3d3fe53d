"""The notifications service (通知): who is told what, on which channel, and whether it arrived.

Entrypoints: one inbox-guarded handler per source event it knows (``RULES`` and ``REGISTER``), a
timer that sends due e-mail and webhook messages (``dispatch.py``), HTTP for inboxes, the registry
of subscribers and contacts, deliveries (the dead-letter list and re-drive), and the public feeds
(公示 and assessment results; the only endpoints besides health that need no token). Each
entrypoint parses its input, builds the command and hands it to ``handlers.py``.

Webhook signatures, headers and how to verify them: README.md beside this file."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from services.notifications import handlers, pages, projections, queries, schemas, targets
from services.notifications.api import OPERATIONS
from services.notifications.dispatch import dispatcher
from services.notifications.domain import delivery as delivery_domain
from services.notifications.domain import recipients
from services.notifications.domain.messages import RULES
from services.notifications.domain.register import REGISTER
from services.notifications.settings import NotificationsSettings
from shared import logging as tlog
from shared.contracts import load_all
from shared.db import CONNECTION_ERRORS
from shared.errors import InvalidInput
from shared.messaging.consumers import subscribe
from shared.messaging.inbox import IncomingEvent
from shared.runtime import base  # (not ServiceBase itself: `nameko run` would take it)
from shared.runtime.provider import EventStoreProvider
from shared.runtime.timers import exclusive, timer
from shared.web import endpoint, expected_version, http, parse_body, query_int

log = tlog.get_logger(__name__)
_CONTRACTS = load_all()


def handled_events() -> list[tuple[str, str]]:
    """The source events this service subscribes to: those with a rule or a register entry whose
    contract exists (a rule may be written before its producer ships the event)."""
    return sorted(
        key
        for key in set(RULES) | set(REGISTER)
        if key[1] in _CONTRACTS.latest and _CONTRACTS.contract(key[1]).service == key[0]
    )


def _handler(source: str, event_type: str) -> Callable[..., Any]:
    """The entrypoint of ``event_type`` from ``source``: the inbox reads the register's row of
    the event's application or talent with its insert (``queries.who_query``)."""

    def handle(self: NotificationsService, event: IncomingEvent, cur: Any) -> None:
        return handlers.handle_event(self.uow, source, event_type, event, cur)

    handle.__name__ = f"on_{source}_{event_type}"
    return subscribe(source, event_type, prefetch=lambda event: queries.who_query(event.payload))(
        handle
    )


def _year(request: Request) -> int | None:
    value = query_int(request, "year")
    if value is None or (isinstance(value, int) and 2000 <= value <= 2100):
        return value
    raise InvalidInput("year must be a calendar year", fields={"year": ["Not a valid year."]})


def public_page(url: str) -> Callable[[Callable[..., str]], Callable[..., Any]]:
    """A public HTML page (no token); errors are plain text, never a stack trace."""

    def decorator(fn: Callable[..., str]) -> Callable[..., Any]:
        def wrapper(self: NotificationsService, request: Request) -> Response:
            try:
                return Response(
                    fn(self, request), mimetype="text/html", content_type="text/html; charset=utf-8"
                )
            except InvalidInput as exc:
                return Response(exc.message, status=400, mimetype="text/plain")
            except CONNECTION_ERRORS:
                log.exception("page_failed_database", path=request.path)
                return Response("暂时无法访问，请稍后再试。", status=503, mimetype="text/plain")
            except Exception:  # noqa: BLE001 - a bug: logged, no internals shown
                log.exception("page_failed", path=request.path)
                return Response("internal error", status=500, mimetype="text/plain")

        wrapper.__name__ = fn.__name__
        return http("GET", url)(wrapper)

    return decorator


class NotificationsService(base.ServiceBase):
    name = "notifications"
    operations = OPERATIONS  # what each HTTP entrypoint takes and answers (OpenAPI)
    uow = EventStoreProvider(projectors=projections.READ_MODELS, settings=NotificationsSettings)

    # -- consuming other services' events ------------------------------------------------------
    for _source, _type in handled_events():
        locals()[f"on_{_source}_{_type}"] = _handler(_source, _type)
    del _source, _type

    # -- sending ---------------------------------------------------------------------------------
    @timer("DELIVERY_TICK_SECONDS", 1.0)
    def send_due(self) -> None:
        """Every tick in every replica; the claiming runs in one replica at a time
        (``shared.runtime.timers.exclusive``)."""
        counts = dispatcher(self.uow, exclusive).tick()
        if counts.get("claimed"):
            log.info("deliveries_sent", **counts)

    # -- inboxes ---------------------------------------------------------------------------------
    @endpoint("GET", "/inbox/<path:recipient>", action="inbox.read")
    def inbox(self, request: Request, recipient: str) -> dict[str, Any]:
        return {"recipient": recipient, "messages": handlers.inbox(self.uow, recipient)}

    # -- webhook subscribers ---------------------------------------------------------------------
    @endpoint("POST", "/subscribers", action="subscriber.manage")
    def register_subscriber(self, request: Request) -> tuple[int, dict[str, Any]]:
        data = parse_body(request, schemas.Subscription())
        self._check_target(data["url"])
        subscriber_id = str(uuid.uuid4())
        events = handlers.register_subscriber(
            self.uow,
            recipients.Register(
                subscriber_id, data["name"], data["url"], tuple(data["event_types"])
            ),
        )
        return 201, dict(
            handlers.subscriber_secret(self.uow, subscriber_id, events),
            version=events[-1].stream_version,
            event_types=events[-1].payload["event_types"],
        )

    def _check_target(self, url: str) -> None:
        try:
            targets.check(url, self.uow.settings.webhook_allowed_targets, unresolvable_ok=True)
        except targets.TargetRefused as exc:
            raise InvalidInput("webhook target refused", fields={"url": [str(exc)]}) from None

    @endpoint("GET", "/subscribers", action="subscriber.manage")
    def list_subscribers(self, request: Request) -> dict[str, Any]:
        return {"subscribers": handlers.subscribers(self.uow)}

    @endpoint("GET", "/subscribers/<subscriber_id>", action="subscriber.manage")
    def get_subscriber(self, request: Request, subscriber_id: str) -> dict[str, Any]:
        return handlers.subscriber(self.uow, subscriber_id)

    @endpoint("PUT", "/subscribers/<subscriber_id>", action="subscriber.manage")
    def change_subscriber(self, request: Request, subscriber_id: str) -> dict[str, Any]:
        handlers.subscriber(self.uow, subscriber_id)  # an unknown one is 404 whatever the body
        data = parse_body(request, schemas.Subscription())
        self._check_target(data["url"])
        handlers.change_subscriber(
            self.uow,
            subscriber_id,
            recipients.Change(data["name"], data["url"], tuple(data["event_types"])),
            expected_version(request),
        )
        return handlers.subscriber(self.uow, subscriber_id)

    @endpoint("POST", "/subscribers/<subscriber_id>/secret", action="subscriber.manage")
    def rotate_secret(self, request: Request, subscriber_id: str) -> dict[str, Any]:
        handlers.subscriber(self.uow, subscriber_id)
        events = handlers.change_subscriber(
            self.uow, subscriber_id, recipients.RotateSecret(), expected_version(request)
        )
        return handlers.subscriber_secret(self.uow, subscriber_id, events)

    @endpoint("DELETE", "/subscribers/<subscriber_id>", action="subscriber.manage")
    def deactivate_subscriber(self, request: Request, subscriber_id: str) -> dict[str, Any]:
        handlers.subscriber(self.uow, subscriber_id)
        handlers.change_subscriber(
            self.uow, subscriber_id, recipients.Deactivate(), expected_version(request)
        )
        return handlers.subscriber(self.uow, subscriber_id)

    # -- e-mail contacts -------------------------------------------------------------------------
    @endpoint("PUT", "/contacts/<path:recipient>", action="contact.manage")
    def set_contact(self, request: Request, recipient: str) -> dict[str, Any]:
        recipient = handlers.addressable(self.uow, schemas.recipient_address(recipient))
        data = parse_body(request, schemas.SetContact())
        handlers.set_contact(self.uow, recipients.SetEmail(recipient, data["email"]))
        return handlers.contact(self.uow, recipient)

    @endpoint("GET", "/contacts/<path:recipient>", action="contact.manage")
    def get_contact(self, request: Request, recipient: str) -> dict[str, Any]:
        return handlers.contact(
            self.uow, handlers.addressable(self.uow, schemas.recipient_address(recipient))
        )

    @endpoint("DELETE", "/contacts/<path:recipient>", action="contact.manage")
    def remove_contact(self, request: Request, recipient: str) -> dict[str, Any]:
        recipient = handlers.addressable(self.uow, schemas.recipient_address(recipient))
        handlers.remove_contact(self.uow, recipients.RemoveEmail(recipient))
        return {"recipient": recipient, "email": None}

    # -- deliveries: status, dead letters, re-drive ----------------------------------------------
    @endpoint("GET", "/deliveries", action="delivery.read")
    def list_deliveries(self, request: Request) -> dict[str, Any]:
        filters = {
            column: request.args[column]
            for column in queries.DELIVERY_FILTERS
            if request.args.get(column)
        }
        return {"deliveries": handlers.deliveries(self.uow, filters)}

    @endpoint("GET", "/deliveries/dead-letters", action="delivery.read")
    def dead_deliveries(self, request: Request) -> dict[str, Any]:
        return {"dead_letters": handlers.dead_deliveries(self.uow)}

    @endpoint("GET", "/deliveries/<notification_id>", action="delivery.read")
    def get_delivery(self, request: Request, notification_id: str) -> dict[str, Any]:
        return handlers.delivery_history(self.uow, notification_id)

    @endpoint("POST", "/deliveries/<notification_id>/redrive", action="delivery.redrive")
    def redrive_delivery(self, request: Request, notification_id: str) -> dict[str, Any]:
        row = handlers.delivery(self.uow, notification_id)
        handlers.redrive(
            self.uow,
            delivery_domain.Redrive(notification_id, row["channel"]),
            expected_version(request),
        )
        return handlers.delivery(self.uow, notification_id)

    # -- the public feeds (no token) -------------------------------------------------------------
    @endpoint("GET", "/public/notices", public=True)
    def public_notices(self, request: Request) -> dict[str, Any]:
        """People on public notice (公示, LT-9.5): name, county, category and the notice's dates;
        ``status`` ``suspended`` while an objection is being looked into. ``?include=closed``
        adds past notices with their outcome (certified, rejected, withdrawn)."""
        return {
            "as_of": self.uow.clock.today(),
            "clause": "LT-9.5",
            "notices": handlers.notices(self.uow, request.args.get("include") == "closed"),
        }

    @public_page("/public/notices.html")
    def public_notices_page(self, request: Request) -> str:
        return pages.notices_page(
            handlers.notices(self.uow, request.args.get("include") == "closed"),
            self.uow.clock.today(),
        )

    @endpoint("GET", "/public/assessment-results", public=True)
    def public_results(self, request: Request) -> dict[str, Any]:
        """The annual assessment results the Commerce Bureau announces (LT-11.1), by the calendar
        year of the assessment (``?year=``; default the latest year with results)."""
        year, years, rows = handlers.results(self.uow, _year(request))
        return {"year": year, "years": years, "clause": "LT-11.1", "results": rows}

    @public_page("/public/assessment-results.html")
    def public_results_page(self, request: Request) -> str:
        year, _, rows = handlers.results(self.uow, _year(request))
        return pages.results_page(year, rows)
