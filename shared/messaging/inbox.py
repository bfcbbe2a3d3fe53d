"""The inbox: each consumed event has exactly one effect, whatever the redeliveries.

A handler runs inside one transaction that first inserts ``(event_id, handler)`` into ``inbox``;
if the row is already there the event is a duplicate and nothing happens. The events the handler
appends commit in the same transaction, so "handled" and "its effects" cannot part.

Failures, decided on purpose (nameko acks an event whose handler raises unless told otherwise):
* a message that cannot be decoded (bad JSON, unknown type or version): dead-lettered at once;
* a rule refusal (``TalentError``): dead-lettered at once with the clause, visible and re-drivable;
* the database unreachable: retried in process with backoff, then re-raised so nameko requeues
  the message (``requeue_on_error=True``): never acked and lost;
* any other error (a bug): retried, then dead-lettered with the traceback;
* an event handled before an earlier one it depends on (``shared.errors.Awaiting``: events travel
  on separate queues, and a restart with a backlog reorders them): parked, not dead-lettered and
  not waited for. It is stored in ``parked_events`` (the message is acknowledged and the worker
  freed) and taken up again by ``take_up`` (the services' ``take_up_parked`` timer): soon after
  an event about the awaited subject was handled (``wake``), else with a back-off from
  ``PARK_FIRST_RETRY`` doubling to ``PARK_MAX_RETRY`` seconds, for as long as it takes. One
  parked longer than the alert bound (``PARKED_ALERT_SECONDS``, default 300) is logged as an
  error and counted (``talent_parked_overdue_total``) once; ``talent_parked_events`` and
  ``talent_parked_oldest_seconds`` tell how many wait and for how long. Taking up a parked event
  deletes its row in the transaction that handles it, so it has one effect like any other.

An awaited event may never come: its message lost before this service's queue held it (the queue
declared after it was published, purged, or lost with a broker that kept no copy). While an event
has been parked longer than ``PARKED_FETCH_SECONDS`` (default 60), ``fill_from_feeds`` reads the
catch-up feeds of the sources this service subscribes to (at most once a ``PARKED_FETCH_SECONDS``
per process), from where it last read each (``feed_cursors``), and handles every event of a
subscribed type that no handler here has handled, parked or dead-lettered: the awaited event among
them, so the parked one is taken up. Each event found this way is logged
(``event_filled_from_feed``) and counted (``talent_feed_filled_total``); delivered later after all,
it is a duplicate like any other.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from shared import logging as tlog
from shared import metrics
from shared.db import CONNECTION_ERRORS, prepared
from shared.errors import Awaiting, TalentError
from shared.store import schema

if TYPE_CHECKING:
    from psycopg2.extensions import cursor

    from shared.contracts import Registry
    from shared.db import Database
    from shared.runtime.provider import UnitOfWork

log = tlog.get_logger(__name__)

MIGRATIONS: list[tuple[str, str]] = [
    (
        "inbox_0001",
        """
        CREATE TABLE inbox (
            event_id       uuid NOT NULL,
            handler        text NOT NULL,
            source_service text NOT NULL,
            event_type     text NOT NULL,
            handled_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (event_id, handler)
        );
        CREATE TABLE dead_letters (
            id             bigserial PRIMARY KEY,
            event_id       uuid,
            source_service text NOT NULL,
            event_type     text NOT NULL,
            handler        text NOT NULL,
            body           text NOT NULL,
            error          text NOT NULL,
            clause         text,
            attempts       integer NOT NULL DEFAULT 1,
            dead_at        timestamptz NOT NULL DEFAULT now(),
            redriven_at    timestamptz
        );
    """,
    ),
    (
        "inbox_0002_parked_events",
        """
        CREATE TABLE parked_events (
            id             bigserial PRIMARY KEY,
            event_id       uuid NOT NULL,
            handler        text NOT NULL,
            source_service text NOT NULL,
            event_type     text NOT NULL,
            subject        text,
            body           text NOT NULL,
            reason         text NOT NULL,
            attempts       integer NOT NULL DEFAULT 1,
            parked_at      timestamptz NOT NULL DEFAULT now(),
            next_try_at    timestamptz NOT NULL,
            alerted_at     timestamptz,
            UNIQUE (event_id, handler)
        );
        CREATE INDEX parked_events_subject ON parked_events (subject);
        CREATE INDEX parked_events_due ON parked_events (next_try_at);
    """,
    ),
    (
        "inbox_0003_feed_cursors",
        """
        CREATE TABLE feed_cursors (
            source_service text PRIMARY KEY,
            position       bigint NOT NULL,
            read_at        timestamptz NOT NULL DEFAULT now()
        );
    """,
    ),
]

ATTEMPTS = 3
_CLAIM = (
    "INSERT INTO inbox (event_id, handler, source_service, event_type) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1"
)
# the claim and a handler's first read in one statement (a data-modifying CTE runs whether or not
# the outer query reads it; the read does not depend on the claim)
_CLAIM_AND_READ = (
    "WITH claimed AS (" + _CLAIM + ") SELECT EXISTS (SELECT FROM claimed),"
    " pre.* FROM (SELECT) AS one LEFT JOIN LATERAL (SELECT true AS found, q.*"
    " FROM ({}) AS q LIMIT 1) AS pre ON true"
)
BACKOFF = (0.2, 1.0, 3.0)
# seconds: a parked event's first retry, and the longest pause between two (without a wake-up)
PARK_FIRST_RETRY = 0.25
PARK_MAX_RETRY = 30.0
PARKED_ALERT_SECONDS = 300.0  # default: a parked event waiting longer is an operator's matter
PARKED_BATCH = 200  # parked events taken up per sweep at most
PARKED_FETCH_SECONDS = 60.0  # default: parked this long, its predecessor is sought in the feeds
FEED_PAGE = 500  # events read from a source's catch-up feed per call
FEED_PAGES = 20  # calls per source per fill at most (the next fill goes on from there)
_UNPARK = "DELETE FROM parked_events WHERE id = %s; "
_PARK = (
    "INSERT INTO parked_events (event_id, handler, source_service, event_type, subject, body,"
    " reason, next_try_at) VALUES (%s, %s, %s, %s, %s, %s, %s,"
    " clock_timestamp() + make_interval(secs => %s))"
    " ON CONFLICT (event_id, handler) DO NOTHING RETURNING id"
)
_REPARK = (
    "UPDATE parked_events SET attempts = attempts + 1, reason = %s, subject = %s,"
    " next_try_at = clock_timestamp() + make_interval(secs => least(%s * 2 ^ least(attempts, 20),"
    " %s)) WHERE id = %s"
)
_WAKE = (
    "UPDATE parked_events SET next_try_at = clock_timestamp()"
    " WHERE subject = ANY(%s) AND next_try_at > clock_timestamp()"
)


class PoisonMessage(Exception):
    pass


class IncomingEvent:
    """An event received from another service, its payload decoded through its contract."""

    __slots__ = (
        "event_id",
        "event_type",
        "schema_version",
        "source",
        "stream_type",
        "stream_id",
        "stream_version",
        "global_position",
        "recorded_at",
        "payload",
        "metadata",
        "prefetched",
    )
    # the envelope's fields (``shared.messaging.relay.envelope``)
    event_id: str
    event_type: str
    schema_version: int
    source: str
    stream_type: str | None
    stream_id: str
    stream_version: int | None
    global_position: int
    recorded_at: str
    payload: dict[str, Any]
    metadata: dict[str, Any]
    prefetched: dict[str, Any] | None

    @classmethod
    def parse(cls, body: object, registry: Registry) -> IncomingEvent:
        if isinstance(body, (bytes, str)):
            try:
                body = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise PoisonMessage(f"body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise PoisonMessage("body is not an event envelope")
        self = cls()
        self.prefetched = None
        try:
            for name in (
                "event_id",
                "event_type",
                "schema_version",
                "source",
                "stream_id",
                "global_position",
                "recorded_at",
            ):
                setattr(self, name, body[name])
            self.stream_type = body.get("stream_type")
            self.stream_version = body.get("stream_version")
            self.metadata = body.get("metadata") or {}
            self.payload = registry.decode(
                self.event_type, self.schema_version, body["payload"], trusted=False
            )
        except KeyError as exc:
            raise PoisonMessage(f"envelope lacks {exc}") from exc
        except TalentError as exc:  # unknown type or version
            raise PoisonMessage(exc.message) from exc
        except Exception as exc:  # noqa: BLE001 - payload does not match its contract
            raise PoisonMessage(f"payload does not decode: {exc}") from exc
        if not _is_uuid(self.event_id):  # else the inbox insert fails, as if a bug
            raise PoisonMessage(f"event_id {str(self.event_id)[:64]!r} is not a UUID")
        return self

    @property
    def correlation_id(self) -> str | None:
        return self.metadata.get("correlation_id")


Prefetch = Callable[[IncomingEvent], tuple[str, Sequence[Any]] | None]
"""Of an event: ``(sql, args)`` of the one-row query its handler would run first, or None."""

Fetch = Callable[[str, int, int], list[dict[str, Any]]]
"""``fetch(source, after, limit)``: the envelopes of ``source``'s catch-up feed after a position."""


class Inbox:
    """The inbox and dead letters of one service database (``registry``: the contracts incoming
    payloads are decoded with)."""

    def __init__(self, db: Database, service: str, registry: Registry) -> None:
        self.db = db
        self.service = service
        self.registry = registry
        self.handled = 0
        self.duplicates = 0
        self.dead = 0
        self.parked = 0
        # whether parked events may exist (any replica's): only then does a handled event wake
        # the parked ones about its subjects (``take_up`` keeps it current)
        self.parked_seen = True
        # parked events that had waited ``fetch_after`` seconds at the last ``take_up``, and when
        # this process may read the sources' feeds again (``fill_due``)
        self.stuck = 0
        self.fetch_after = PARKED_FETCH_SECONDS
        self._next_fill = 0.0

    def migrate(self) -> list[str]:
        return schema.apply(self.db, MIGRATIONS)

    # (every attempt returns or raises, the last one included: mypy cannot tell, hence the ignore)
    def consume(  # type: ignore[return]
        self,
        uow: UnitOfWork,
        handler: str,
        source: str,
        event_type: str,
        body: object,
        fn: Callable[[IncomingEvent, cursor], object],
        *,
        prefetch: Prefetch | None = None,
        sleep: Callable[[float], object] = time.sleep,
        parked: int | None = None,
    ) -> str:
        """Run ``fn(event, cur)`` once for this event; see the module doc for failures. The
        outcome: handled, duplicate, dead, parked (or requeued, raising).

        ``prefetch(event)``, if given, is ``(sql, args)`` of a query the handler would run first
        (one row at most) or None: it runs in the inbox insert's own round trip and its row is
        ``event.prefetched`` (a dict, ``{}`` if there was none; None if no query ran).
        ``parked``: the ``parked_events`` row this is taken up from (deleted with the effect)."""
        started = time.monotonic()
        try:
            event = IncomingEvent.parse(body, self.registry)
        except PoisonMessage as exc:
            self._dead_letter(None, source, event_type, handler, body, str(exc), reason="poison")
            return self._observed(handler, "dead", started)
        uow.correlation_id = event.correlation_id or uow.correlation_id
        uow.causation_id = event.event_id
        tlog.bind(correlation_id=uow.correlation_id, causation_id=event.event_id)
        claim = (event.event_id, handler, source, event_type)
        query = prefetch(event) if prefetch else None
        # a parked event's row goes in the transaction that handles it
        begin, unpark = ("BEGIN; " + _UNPARK, (parked,)) if parked else ("BEGIN; ", ())
        for attempt in range(1, ATTEMPTS + 1):
            try:
                # explicit: a handler may end the transaction with its last append
                # (``commit=True``), so the append lock is not held for one more round trip
                with self.db.explicit_transaction() as cur:
                    if query is None:
                        cur.execute(begin + prepared(cur, _CLAIM), (*unpark, *claim))
                        claimed = cur.fetchone() is not None
                    else:
                        cur.execute(
                            begin + prepared(cur, _CLAIM_AND_READ.format(query[0])),
                            (*unpark, *claim, *query[1]),
                        )
                        row = cur.fetchone()
                        claimed, found = row[0], row[1]  # type: ignore[index]  # one row, always
                        event.prefetched = (
                            dict(
                                zip(
                                    [c.name for c in cur.description[2:]],  # type: ignore[index]
                                    row[2:],  # type: ignore[index]
                                )
                            )
                            if found
                            else {}
                        )  # type: ignore[index]
                    if not claimed:
                        self.duplicates += 1
                        metrics.INBOX_DUPLICATES.labels(self.service, handler).inc()
                        log.info(
                            "event_duplicate_dropped",
                            event_type=event_type,
                            event_id=event.event_id,
                            handler=handler,
                        )
                        return self._observed(handler, "duplicate", started)
                    fn(event, cur)
                self.handled += 1
                log.info(
                    "event_handled", event_type=event_type, event_id=event.event_id, handler=handler
                )
                if parked:
                    metrics.PARKED_TAKEN_UP.labels(self.service, handler).inc()
                if self.parked_seen:
                    self._wake(event)
                return self._observed(handler, "handled", started)
            except Awaiting as exc:
                self._park(event, handler, source, event_type, body, exc, parked)
                return self._observed(handler, "parked", started)
            except TalentError as exc:
                metrics.HANDLER_FAILURES.labels(self.service, handler, "refused").inc()
                self._dead_letter(
                    event.event_id,
                    source,
                    event_type,
                    handler,
                    body,
                    exc.message,
                    clause=exc.clause,
                    attempts=attempt,
                    reason="refused",
                    parked=parked,
                )
                return self._observed(handler, "dead", started)
            except CONNECTION_ERRORS as exc:
                log.warning(
                    "event_retry_database", event_type=event_type, attempt=attempt, error=repr(exc)
                )
                metrics.HANDLER_FAILURES.labels(self.service, handler, "database").inc()
                if attempt == ATTEMPTS:
                    self._observed(handler, "requeued", started)
                    raise  # nameko requeues: the event waits in the broker, not lost
            except Exception:  # noqa: BLE001 - a bug: retry, then dead-letter
                log.exception("event_handler_failed", event_type=event_type, attempt=attempt)
                metrics.HANDLER_FAILURES.labels(self.service, handler, "error").inc()
                if attempt == ATTEMPTS:
                    self._dead_letter(
                        event.event_id,
                        source,
                        event_type,
                        handler,
                        body,
                        traceback.format_exc(limit=8),
                        attempts=attempt,
                        reason="failed",
                        parked=parked,
                    )
                    return self._observed(handler, "dead", started)
            sleep(BACKOFF[attempt - 1])

    def _observed(self, handler: str, outcome: str, started: float) -> str:
        metrics.HANDLER_LATENCY.labels(self.service, handler, outcome).observe(
            time.monotonic() - started
        )
        return outcome

    def _dead_letter(
        self,
        event_id: object,
        source: str,
        event_type: str,
        handler: str,
        body: object,
        error: str,
        *,
        clause: str | None = None,
        attempts: int = 1,
        reason: str = "failed",
        parked: int | None = None,
    ) -> None:
        text = _text(body)
        with self.db.transaction() as cur:
            if parked:  # taken up from the parked events, and given up: a dead letter instead
                cur.execute("DELETE FROM parked_events WHERE id = %s", (parked,))
            cur.execute(
                "INSERT INTO dead_letters (event_id, source_service, event_type, handler, body,"
                " error, clause, attempts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    event_id if _is_uuid(event_id) else None,
                    source,
                    event_type,
                    handler,
                    text,
                    error,
                    clause,
                    attempts,
                ),
            )
        self.dead += 1
        metrics.DEAD_LETTERS.labels(self.service, handler, reason).inc()
        log.warning(
            "event_dead_lettered",
            event_type=event_type,
            event_id=event_id,
            handler=handler,
            error=error.splitlines()[-1] if error else None,
            clause=clause,
        )

    # -- parked events -------------------------------------------------------------------------
    def _park(
        self,
        event: IncomingEvent,
        handler: str,
        source: str,
        event_type: str,
        body: object,
        exc: Awaiting,
        parked: int | None,
    ) -> None:
        """Park ``event`` (or, taken up and still awaiting, put it back with a longer pause)."""
        with self.db.transaction() as cur:
            if parked is None:
                cur.execute(
                    _PARK,
                    (
                        event.event_id,
                        handler,
                        source,
                        event_type,
                        exc.subject,
                        _text(body),
                        exc.message,
                        PARK_FIRST_RETRY,
                    ),
                )
                new = cur.fetchone() is not None  # else a redelivery of a parked event
            else:
                cur.execute(
                    _REPARK, (exc.message, exc.subject, PARK_FIRST_RETRY, PARK_MAX_RETRY, parked)
                )
                new = False
        self.parked_seen = True
        if new:
            self.parked += 1
            metrics.PARKED.labels(self.service, handler).inc()
            log.info(
                "event_parked",
                event_type=event_type,
                event_id=event.event_id,
                handler=handler,
                awaiting=exc.subject,
                reason=exc.message,
            )

    def _wake(self, event: IncomingEvent) -> None:
        """Parked events awaiting a subject ``event`` is about are due now."""
        subjects = [f"{k}={v}" for k, v in event.payload.items() if isinstance(v, str)]
        if not subjects:
            return
        try:
            with self.db.transaction() as cur:
                cur.execute(_WAKE, (subjects,))
        except CONNECTION_ERRORS as exc:  # the back-off takes them up all the same
            log.warning("parked_wake_failed", error=repr(exc))

    def take_up(
        self,
        service: object,
        uow: UnitOfWork,
        *,
        alert_after: float = PARKED_ALERT_SECONDS,
        fetch_after: float = PARKED_FETCH_SECONDS,
        limit: int = PARKED_BATCH,
    ) -> dict[str, int]:
        """Run the parked events that are due through their handlers again (any replica may:
        the inbox makes a second attempt a duplicate); set the parked gauges; log and count, once
        each, the events parked longer than ``alert_after`` seconds; count in ``stuck`` those
        parked longer than ``fetch_after`` (``fill_due``). The outcomes' counts."""
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(parked_at)),"
                " 0), count(*) FILTER (WHERE parked_at < clock_timestamp()"
                " - make_interval(secs => %s)) FROM parked_events",
                (fetch_after,),
            )
            waiting, oldest, stuck = cur.fetchone()  # type: ignore[misc]  # one row, always
            metrics.PARKED_NOW.labels(self.service).set(waiting)
            metrics.PARKED_OLDEST_SECONDS.labels(self.service).set(max(float(oldest), 0.0))
            self.parked_seen = waiting > 0
            self.stuck, self.fetch_after = stuck, fetch_after
            if not waiting:
                return {}
            cur.execute(
                "UPDATE parked_events SET alerted_at = clock_timestamp() WHERE alerted_at IS NULL"
                " AND parked_at < clock_timestamp() - make_interval(secs => %s)"
                " RETURNING event_id::text, handler, source_service, event_type, subject,"
                " parked_at, attempts",
                (alert_after,),
            )
            for (
                event_id,
                handler,
                source,
                event_type,
                subject,
                parked_at,
                attempts,
            ) in cur.fetchall():
                metrics.PARKED_OVERDUE.labels(self.service, handler).inc()
                log.error(
                    "event_parked_too_long",
                    event_id=event_id,
                    handler=handler,
                    source=source,
                    event_type=event_type,
                    awaiting=subject,
                    parked_at=parked_at.isoformat(),
                    attempts=attempts,
                )
            cur.execute(
                "SELECT id, handler, source_service, event_type, body FROM parked_events"
                " WHERE next_try_at <= clock_timestamp() ORDER BY id LIMIT %s",
                (limit,),
            )
            due = cur.fetchall()
        outcomes: dict[str, int] = {}
        for parked_id, handler, source, event_type, body in due:
            fn = _subscription(service, handler)
            if fn is None:
                log.error("parked_handler_missing", handler=handler, parked=parked_id)
                continue
            outcome = self.consume(
                uow,
                handler,
                source,
                event_type,
                body,
                functools.partial(fn, service),
                parked=parked_id,
            )
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcomes

    def fill_due(self, now: float | None = None) -> bool:
        """Whether to read the sources' feeds now: events have been parked longer than
        ``fetch_after`` and this process has not read them in the last ``fetch_after`` seconds
        (nor in the last second)."""
        now = time.monotonic() if now is None else now
        if not self.stuck or now < self._next_fill:
            return False
        self._next_fill = now + max(self.fetch_after, 1.0)
        return True

    def fill_from_feeds(
        self, service: object, uow: UnitOfWork, fetch: Fetch, *, pages: int = FEED_PAGES
    ) -> dict[str, int]:
        """Read each source's catch-up feed (``fetch``) after this service's cursor for it, and
        run every event of a type ``service`` subscribes to through each of its handlers that
        has neither handled, parked nor dead-lettered it (see the module doc). At most ``pages``
        calls per source; the cursor moves past what was read and accounted for. A source whose
        feed cannot be read (or the database failing meanwhile) is logged and read on from its
        cursor at the next fill. The counts: events read, the outcomes of the events run, and
        the sources that failed."""
        handlers = _subscriptions(service)
        counts: dict[str, int] = {}
        for source in sorted({src for src, _ in handlers}):
            try:
                self._fill_from(service, uow, source, fetch, pages, handlers, counts)
            except Exception as exc:  # noqa: BLE001 - the source, the broker or the database
                log.warning("feed_fill_failed", source=source, error=repr(exc))
                counts["failed"] = counts.get("failed", 0) + 1
        return counts

    def _fill_from(
        self,
        service: object,
        uow: UnitOfWork,
        source: str,
        fetch: Fetch,
        pages: int,
        handlers: dict[tuple[str, str], list[tuple[str, Callable[..., object]]]],
        counts: dict[str, int],
    ) -> None:
        with self.db.transaction() as cur:
            cur.execute("SELECT position FROM feed_cursors WHERE source_service = %s", (source,))
            row = cur.fetchone()
        after = row[0] if row else 0
        for _ in range(pages):
            envelopes = fetch(source, after, FEED_PAGE)
            if not envelopes:
                return
            counts["read"] = counts.get("read", 0) + len(envelopes)
            for outcome in self._fill(service, uow, source, envelopes, handlers):
                counts[outcome] = counts.get(outcome, 0) + 1
            after = max(int(e["global_position"]) for e in envelopes)
            with self.db.transaction() as cur:
                cur.execute(
                    "INSERT INTO feed_cursors (source_service, position) VALUES (%s, %s)"
                    " ON CONFLICT (source_service) DO UPDATE SET position ="
                    " greatest(feed_cursors.position, excluded.position), read_at = now()",
                    (source, after),
                )
            if len(envelopes) < FEED_PAGE:
                return

    def _fill(
        self,
        service: object,
        uow: UnitOfWork,
        source: str,
        envelopes: list[dict[str, Any]],
        handlers: dict[tuple[str, str], list[tuple[str, Callable[..., object]]]],
    ) -> list[str]:
        """Run the events of one page of ``source``'s feed that no handler here has seen."""
        wanted = [
            (envelope, name, fn)
            for envelope in envelopes
            for name, fn in handlers.get((source, str(envelope.get("event_type"))), ())
            if _is_uuid(envelope.get("event_id"))
        ]
        if not wanted:
            return []
        ids = sorted({str(envelope["event_id"]) for envelope, _, _ in wanted})
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT event_id::text, handler FROM inbox WHERE event_id = ANY(%(ids)s::uuid[])"
                " UNION SELECT event_id::text, handler FROM parked_events"
                " WHERE event_id = ANY(%(ids)s::uuid[])"
                " UNION SELECT event_id::text, handler FROM dead_letters"
                " WHERE event_id = ANY(%(ids)s::uuid[])",
                {"ids": ids},
            )
            seen = {(event_id, handler) for event_id, handler in cur.fetchall()}
        outcomes = []
        for envelope, name, fn in wanted:
            if (str(envelope["event_id"]), name) in seen:
                continue
            outcome = self.consume(
                uow, name, source, envelope["event_type"], envelope, functools.partial(fn, service)
            )
            outcomes.append(outcome)
            if outcome != "duplicate":  # (else its message came meanwhile: not lost)
                metrics.FEED_FILLED.labels(self.service, source).inc()
                log.warning(
                    "event_filled_from_feed",
                    source=source,
                    event_type=envelope["event_type"],
                    event_id=envelope["event_id"],
                    global_position=envelope.get("global_position"),
                    handler=name,
                    outcome=outcome,
                )
        return outcomes

    def parked_events(self) -> list[dict[str, Any]]:
        """The parked events, oldest first (without their bodies)."""
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT id, event_id::text, source_service, event_type, handler, subject, reason,"
                " attempts, parked_at, next_try_at, alerted_at FROM parked_events ORDER BY id"
            )
            cols = [c.name for c in cur.description]  # type: ignore[union-attr]  # a SELECT
            return [dict(zip(cols, row)) for row in cur.fetchall()]

    def dead_letters(self, include_redriven: bool = False) -> list[dict[str, Any]]:
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT id, event_id::text, source_service, event_type, handler, error, clause,"
                " attempts, dead_at, redriven_at FROM dead_letters"
                + ("" if include_redriven else " WHERE redriven_at IS NULL")
                + " ORDER BY id"
            )
            cols = [c.name for c in cur.description]  # type: ignore[union-attr]  # a SELECT
            return [dict(zip(cols, row)) for row in cur.fetchall()]

    def redrive(self, service: object, uow: UnitOfWork, letter_id: int) -> dict[str, Any]:
        """Run a dead letter through its handler again (after the cause was fixed)."""
        from shared.errors import NotFound

        with self.db.transaction() as cur:
            cur.execute(
                "SELECT handler, source_service, event_type, body FROM dead_letters "
                "WHERE id = %s AND redriven_at IS NULL",
                (letter_id,),
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"no pending dead letter {letter_id}")
        handler, source, event_type, body = row
        fn = _subscription(service, handler)
        if fn is None:
            raise NotFound(f"handler {handler} no longer exists")
        outcome = self.consume(
            uow, handler, source, event_type, body, lambda event, cur: fn(service, event, cur)
        )
        if outcome in ("handled", "duplicate", "parked"):
            with self.db.transaction() as cur:
                cur.execute(
                    "UPDATE dead_letters SET redriven_at = now() WHERE id = %s", (letter_id,)
                )
        return {"dead_letter": letter_id, "outcome": outcome}


def _subscription(service: object, handler: str) -> Callable[..., object] | None:
    """The function ``subscribe`` wrapped as ``handler`` on ``service``'s class, or None."""
    method = getattr(type(service), handler, None)
    subscription = getattr(method, "talent_subscription", None)
    return subscription[2] if subscription else None


def _subscriptions(
    service: object,
) -> dict[tuple[str, str], list[tuple[str, Callable[..., object]]]]:
    """``service``'s handlers by the ``(source, event type)`` they subscribe to: (name, function)."""
    found: dict[tuple[str, str], list[tuple[str, Callable[..., object]]]] = {}
    cls = type(service)
    for name in dir(cls):
        subscription = getattr(getattr(cls, name, None), "talent_subscription", None)
        if subscription:
            source, event_type, fn = subscription
            found.setdefault((source, event_type), []).append((name, fn))
    return found


def _text(body: object) -> str:
    """A message body as text PostgreSQL can hold."""
    text = (
        body
        if isinstance(body, str)
        else (
            body.decode("utf-8", "replace")
            if isinstance(body, bytes)
            else orjson.dumps(body).decode()
        )
    )
    # PostgreSQL text cannot hold NUL: the insert would fail and the message loop forever
    return text.replace("\x00", "\\u0000")


def _is_uuid(value: object) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False
