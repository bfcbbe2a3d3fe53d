"""The inbox: each consumed event has exactly one effect, whatever the redeliveries.

A handler runs inside one transaction that first inserts ``(event_id, handler)`` into ``inbox``;
if the row is already there the event is a duplicate and nothing happens. The events the handler
appends commit in the same transaction, so "handled" and "its effects" cannot part.

Failures, decided on purpose (nameko acks an event whose handler raises unless told otherwise):
* a message that cannot be decoded (bad JSON, unknown type or version): dead-lettered at once;
* a rule refusal (``TalentError``): dead-lettered at once with the clause, visible and re-drivable;
* the database unreachable: retried in process with backoff, then re-raised so nameko requeues
  the message (``requeue_on_error=True``): never acked and lost;
* any other error (a bug): retried, then dead-lettered with the traceback.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from shared import logging as tlog
from shared import metrics
from shared.db import CONNECTION_ERRORS, prepared
from shared.errors import TalentError
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
    )
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
    ) -> str:
        """Run ``fn(event, cur)`` once for this event; see the module doc for failures.

        ``prefetch(event)``, if given, is ``(sql, args)`` of a query the handler would run first
        (one row at most) or None: it runs in the inbox insert's own round trip and its row is
        ``event.prefetched`` (a dict, ``{}`` if there was none; None if no query ran)."""
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
        for attempt in range(1, ATTEMPTS + 1):
            try:
                # explicit: a handler may end the transaction with its last append
                # (``commit=True``), so the append lock is not held for one more round trip
                with self.db.explicit_transaction() as cur:
                    if query is None:
                        cur.execute("BEGIN; " + prepared(cur, _CLAIM), claim)
                        claimed = cur.fetchone() is not None
                    else:
                        cur.execute(
                            "BEGIN; " + prepared(cur, _CLAIM_AND_READ.format(query[0])),
                            (*claim, *query[1]),
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
                return self._observed(handler, "handled", started)
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
    ) -> None:
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
        text = text.replace("\x00", "\\u0000")
        with self.db.transaction() as cur:
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
        method = getattr(type(service), handler, None)
        subscription = getattr(method, "talent_subscription", None)
        if subscription is None:
            raise NotFound(f"handler {handler} no longer exists")
        fn = subscription[2]
        outcome = self.consume(
            uow, handler, source, event_type, body, lambda event, cur: fn(service, event, cur)
        )
        if outcome in ("handled", "duplicate"):
            with self.db.transaction() as cur:
                cur.execute(
                    "UPDATE dead_letters SET redriven_at = now() WHERE id = %s", (letter_id,)
                )
        return {"dead_letter": letter_id, "outcome": outcome}


def _is_uuid(value: object) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False
