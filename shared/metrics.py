"""Prometheus metrics, one registry per service process, served as ``GET /metrics`` (text format,
public, like the health checks) by every service (``shared/runtime/base.py``).

Call sites stay one line each (``metrics.DEAD_LETTERS.labels(service, handler, reason).inc()``).
Every metric carries a ``service`` label, so one scrape config fits the four services; replicas
are told apart by Prometheus' own ``instance`` label.

Relay lag is read from the database at scrape time (store head vs. the relay's stored cursor,
and the age of the oldest unpublished event), so every replica reports it, leader or standby.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

if TYPE_CHECKING:
    from shared.db import Database
    from shared.store.recording import RecordedEvent

disable_created_metrics()  # no *_created samples: half the exposition, no use here

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# -- the event store ---------------------------------------------------------------------------
EVENTS_APPENDED = Counter(
    "talent_events_appended_total",
    "Events appended to the service's event store.",
    ["service", "stream_type"],
    registry=REGISTRY,
)

# -- the relay (outbox publisher) ---------------------------------------------------------------
RELAY_PUBLISHED = Counter(
    "talent_relay_published_total",
    "Events published by this process's relay and confirmed by the broker.",
    ["service"],
    registry=REGISTRY,
)
RELAY_LEADER = Gauge(
    "talent_relay_leader",
    "1 while this process's relay holds the leader lock, else 0.",
    ["service"],
    registry=REGISTRY,
)
RELAY_LAG_EVENTS = Gauge(
    "talent_relay_lag_events",
    "Stored events not yet published (store head - relay cursor).",
    ["service"],
    registry=REGISTRY,
)
RELAY_LAG_SECONDS = Gauge(
    "talent_relay_lag_seconds",
    "Age of the oldest stored event not yet published (0: none).",
    ["service"],
    registry=REGISTRY,
)

# -- readiness and the store's size (read at scrape time) ----------------------------------------
READY = Gauge(
    "talent_ready",
    "1 while this process passes the /health/ready check named by `check` (database, broker,"
    " consumers; all: every one), else 0.",
    ["service", "check"],
    registry=REGISTRY,
)
EVENT_STORE_BYTES = Gauge(
    "talent_event_store_bytes",
    "Size on disk of the service's events table with its indexes and TOAST (table), and of its"
    " whole database (database).",
    ["service", "what"],
    registry=REGISTRY,
)
RECOVERIES_OVERDUE = Gauge(
    "talent_recoveries_overdue",
    "Recovery demands not met by their due date (LT-14), read from the read model at scrape time.",
    ["service"],
    registry=REGISTRY,
)
RECOVERIES_OVERDUE_FEN = Gauge(
    "talent_recoveries_overdue_outstanding_fen",
    "What the overdue recovery demands still owe, in fen.",
    ["service"],
    registry=REGISTRY,
)

# -- event handlers (the inbox) -----------------------------------------------------------------
HANDLER_LATENCY = Histogram(
    "talent_handler_duration_seconds",
    "Time to handle one consumed event (inbox + effects), "
    "by outcome: handled, duplicate, dead, requeued.",
    ["service", "handler", "outcome"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
HANDLER_FAILURES = Counter(
    "talent_handler_failures_total",
    "Failed handler attempts, by kind: database (retried, then "
    "requeued), error (a bug: retried, then dead-lettered), refused (a rule refusal).",
    ["service", "handler", "kind"],
    registry=REGISTRY,
)
INBOX_DUPLICATES = Counter(
    "talent_inbox_duplicates_dropped_total",
    "Redelivered events the inbox dropped (already handled).",
    ["service", "handler"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "talent_dead_letters_total",
    "Consumed events dead-lettered, by handler and reason: poison "
    "(undecodable message), refused (a rule refusal), failed (a handler error after retries).",
    ["service", "handler", "reason"],
    registry=REGISTRY,
)

# -- notifications ------------------------------------------------------------------------------
NOTIFICATION_DELIVERIES = Counter(
    "talent_notification_deliveries_total",
    "Delivery attempts of notifications by channel and outcome (delivered, failed).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
NOTIFICATION_DEAD_LETTERS = Counter(
    "talent_notification_dead_letters_total",
    "Notification deliveries given up after their attempts (DeliveryDeadLettered), by channel.",
    ["channel"],
    registry=REGISTRY,
)

PARKED = Counter(
    "talent_events_parked_total",
    "Consumed events parked because an earlier event they depend on was not handled yet.",
    ["service", "handler"],
    registry=REGISTRY,
)

PARKED_TAKEN_UP = Counter(
    "talent_parked_taken_up_total",
    "Parked events handled once what they awaited was in.",
    ["service", "handler"],
    registry=REGISTRY,
)

PARKED_NOW = Gauge(
    "talent_parked_events",
    "Events parked in this service's inbox now, waiting for an earlier event.",
    ["service"],
    registry=REGISTRY,
)

PARKED_OLDEST_SECONDS = Gauge(
    "talent_parked_oldest_seconds",
    "How long the oldest parked event has waited (0: none).",
    ["service"],
    registry=REGISTRY,
)

PARKED_OVERDUE = Counter(
    "talent_parked_overdue_total",
    "Parked events that waited longer than PARKED_ALERT_SECONDS (each counted once): an "
    "operator should find the event they await (dead letters, the source's relay).",
    ["service", "handler"],
    registry=REGISTRY,
)

FEED_FILLED = Counter(
    "talent_feed_filled_total",
    "Events of another service handled from its catch-up feed, not from the broker: their "
    "messages never reached this service (sought while events were parked for too long).",
    ["service", "source"],
    registry=REGISTRY,
)

DEAD_LETTER_REASONS = ("poison", "refused", "failed")

_LAG_SQL = """
    WITH cursor AS (SELECT coalesce((SELECT position FROM relay_cursor WHERE name = 'relay'), 0)
                    AS position)
    SELECT (SELECT coalesce(max(global_position), 0) FROM events) - cursor.position,
           (SELECT extract(epoch FROM clock_timestamp() - recorded_at) FROM events
             WHERE global_position > cursor.position ORDER BY global_position LIMIT 1)
    FROM cursor"""

_SIZE_SQL = (
    "SELECT pg_total_relation_size('events'::regclass), pg_database_size(current_database())"
)


def observe_relay_lag(db: Database, service: str) -> None:
    """Set the relay lag gauges from the database (called on each scrape)."""
    with db.transaction() as cur:
        cur.execute(_LAG_SQL)
        events, seconds = cur.fetchone()  # type: ignore[misc]  # one row, always
    RELAY_LAG_EVENTS.labels(service).set(max(int(events or 0), 0))
    RELAY_LAG_SECONDS.labels(service).set(max(float(seconds or 0.0), 0.0))


def observe_store_size(db: Database, service: str) -> None:
    """Set the event store's size gauges from the database (called on each scrape)."""
    with db.transaction() as cur:
        cur.execute(_SIZE_SQL)
        table, database = cur.fetchone()  # type: ignore[misc]  # one row, always
    EVENT_STORE_BYTES.labels(service, "table").set(int(table))
    EVENT_STORE_BYTES.labels(service, "database").set(int(database))


def observe_readiness(service: str, checks: dict[str, str]) -> None:
    """Set the readiness gauges from the checks of ``/health/ready``."""
    ok = True
    for check in ("database", "broker", "consumers"):
        passed = checks.get(check) == "ok"
        ok = ok and passed
        READY.labels(service, check).set(1 if passed else 0)
    READY.labels(service, "all").set(1 if ok else 0)


def observe_overdue_recoveries(service: str, overdue: Iterable[dict[str, object]]) -> None:
    """Set the overdue-recovery gauges from the rows of the overdue recovery demands."""
    rows = list(overdue)
    RECOVERIES_OVERDUE.labels(service).set(len(rows))
    RECOVERIES_OVERDUE_FEN.labels(service).set(
        sum(int(row["outstanding_fen"]) for row in rows)  # type: ignore[call-overload]
    )


def count_delivery(channel: str, delivered: bool) -> None:
    NOTIFICATION_DELIVERIES.labels(channel, "delivered" if delivered else "failed").inc()


def count_delivery_events(events: Iterable[RecordedEvent] | None) -> None:
    """Count the DeliveryDeadLettered among events a delivery command recorded."""
    for event in events or ():
        if event.event_type == "DeliveryDeadLettered":
            NOTIFICATION_DEAD_LETTERS.labels(event.payload.get("channel", "unknown")).inc()


def exposition() -> tuple[bytes, str]:
    """(body, content type) of the Prometheus text format for this process."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class Timer:
    """``with Timer() as t: ...; t.seconds``: a monotonic stopwatch for the histograms."""

    def __enter__(self) -> Timer:
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.seconds = time.monotonic() - self.start
        return False
