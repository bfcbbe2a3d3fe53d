"""Sending e-mail and webhook messages, driven by the service's timer (application layer: reads
the deliveries read model, runs the delivery decider, calls the channels).

One tick:

1. under the service-wide guard (``shared.runtime.timers.exclusive``: one replica at a time, the
   others skip the tick), *claim* what is due: for each message whose next attempt has come,
   record ``DeliveryAttempted`` (its own short transaction; a second claimer of the same message
   fails the stream-version check and skips it). An attempt left without outcome beyond the lease
   (the sender stopped mid-send) is recorded as failed first;
2. with no lock and no transaction open, send the claimed messages (a few at a time, each bounded
   by the channel's timeouts);
3. record each outcome: ``Delivered``, or ``DeliveryFailed`` with the next attempt's time, and
   ``DeliveryDeadLettered`` when the attempts are used up.
"""

from __future__ import annotations

import copy
import datetime as dt

from services.notifications import queries
from services.notifications.channels import EmailSender, SendFailed, WebhookSender
from services.notifications.domain import delivery as delivery_domain
from services.notifications.domain.delivery import Attempt, RecordOutcome
from services.notifications.domain.policy import DeliveryPolicy
from shared import logging as tlog
from shared import metrics
from shared.db import eventlet_active
from shared.errors import ConcurrencyConflict
from shared.store import RecordedEvent

log = tlog.get_logger(__name__)
GUARD_NAME = "notifications.deliveries"


def stream_of(notification_id: str) -> str:
    return f"delivery-{notification_id}"


def dispatcher(uow, exclusive):
    """A Dispatcher set up from the service's settings (``SMTP_*``, ``WEBHOOK_*``,
    ``DELIVERY_*``: services/notifications/settings.py)."""
    settings = uow.settings
    policy = DeliveryPolicy(
        max_attempts=settings.delivery_max_attempts,
        first_retry_seconds=settings.delivery_first_retry_seconds,
        backoff_factor=settings.delivery_backoff_factor,
        max_retry_seconds=settings.delivery_max_retry_seconds,
        in_flight_lease_seconds=settings.delivery_lease_seconds,
    )
    email = EmailSender(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        timeout=settings.smtp_timeout_seconds,
        starttls=settings.smtp_starttls,
        username=settings.smtp_user,
        password=settings.smtp_password,
    )
    webhook = WebhookSender(
        settings.webhook_signing_key,
        connect_timeout=settings.webhook_connect_timeout_seconds,
        read_timeout=settings.webhook_read_timeout_seconds,
        allowed_targets=settings.webhook_allowed_targets,
    )
    return Dispatcher(
        uow,
        email,
        webhook,
        policy,
        batch=settings.delivery_batch,
        concurrency=settings.delivery_concurrency,
        exclusive=exclusive,
    )


class Dispatcher:
    def __init__(self, uow, email, webhook, policy, *, batch=100, concurrency=8, exclusive=None):
        self.uow = uow
        self.email = email
        self.webhook = webhook
        self.policy = policy
        self.batch = batch
        self.concurrency = concurrency
        self.exclusive = exclusive

    def tick(self):
        """Claim, send, record. Returns counts by outcome (``skipped`` if another replica holds
        the guard)."""
        with self.exclusive(self.uow.db, GUARD_NAME) as mine:
            if not mine:
                return {"skipped": 1}
            claimed = self.claim()
        counts = {"claimed": len(claimed), "delivered": 0, "failed": 0}
        for outcome in self._map(self.send, claimed):
            counts[outcome] += 1
        return counts

    # -- 1. claim --------------------------------------------------------------------------------
    def claim(self):
        now = self.uow.clock.now()
        lease = dt.timedelta(seconds=self.policy.in_flight_lease_seconds)
        for row in queries.stale_attempts(self.uow.query, now - lease, self.batch):
            self._run(
                row,
                RecordOutcome(
                    row["attempts"], False, "no outcome recorded within the lease: sent again"
                ),
            )
        claimed = []
        for row in queries.due_deliveries(self.uow.query, now, self.batch):
            target, problem = self._target(row)
            events = self._run(
                row, Attempt(row["notification_id"], row["channel"], target, problem)
            )
            if events and events[0].event_type == "DeliveryAttempted":
                claimed.append((row, events[0].payload["attempt"]))
        return claimed

    @staticmethod
    def _target(row):
        if row["channel"] == "email":
            if not row["email"]:
                return None, f"no e-mail address registered for {row['recipient']}"
            return row["email"], None
        if not row["url"]:
            return None, f"unknown subscriber {row['recipient']}"
        if not row["active"]:
            return None, f"{row['recipient']} is deactivated"
        return row["url"], None

    # -- 2. send, 3. record ----------------------------------------------------------------------
    def send(self, item):
        row, attempt = item
        try:
            if row["channel"] == "email":
                detail = self.email.send(row, row["email"])
            else:
                detail = self.webhook.send(
                    row,
                    row["url"],
                    row["recipient"].removeprefix("subscriber:"),
                    self._secret_versions(row),
                )
            delivered = True
        except SendFailed as exc:
            detail, delivered = str(exc), False
        except Exception as exc:  # noqa: BLE001 - a bug in a sender: a failed attempt, logged
            log.exception("delivery_sender_error", notification_id=row["notification_id"])
            detail, delivered = f"sender error: {exc.__class__.__name__}", False
        self._run(row, RecordOutcome(attempt, delivered, detail))
        metrics.count_delivery(row["channel"], delivered)
        log.info(
            "delivery_outcome",
            notification_id=row["notification_id"],
            channel=row["channel"],
            attempt=attempt,
            delivered=delivered,
            detail=detail,
        )
        return "delivered" if delivered else "failed"

    def _secret_versions(self, row):
        """The subscriber's secret versions that sign now: the current one, and the previous one
        until its overlap ends (``SECRET_ROTATION_OVERLAP_SECONDS``)."""
        versions = [row["secret_version"]]
        until = row.get("previous_valid_until")
        if row.get("previous_secret_version") and until and self.uow.clock.now() < until:
            versions.append(row["previous_secret_version"])
        return versions

    def _run(self, row: queries.Row, command: Attempt | RecordOutcome) -> list[RecordedEvent]:
        """Run ``command`` on the message's delivery stream, as caused by its notification: the
        recorded events, none if another sender recorded on it first."""
        uow = copy.copy(self.uow)
        uow.causation_id = row["notification_event_id"]
        uow.correlation_id = row["correlation_id"] or uow.correlation_id
        try:
            events = uow.run(
                delivery_domain.delivery,
                stream_of(row["notification_id"]),
                command,
                context=uow.context(delivery_policy=self.policy),
            )
            metrics.count_delivery_events(events)
            return events
        except ConcurrencyConflict:
            log.info("delivery_claimed_elsewhere", notification_id=row["notification_id"])
            return []

    def _map(self, fn, items):
        if eventlet_active() and len(items) > 1:
            import eventlet

            return list(eventlet.GreenPool(self.concurrency).imap(fn, items))
        return [fn(item) for item in items]
