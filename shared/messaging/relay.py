"""The relay: the event store is the outbox, and this publishes it.

One relay per service is active at a time: it holds a session-level PostgreSQL advisory lock on a
dedicated connection; the other replicas' relays wait on the same lock and take over within
``standby_poll`` seconds when the leader dies (its session ends, the lock is released).

The leader reads events after its stored cursor, publishes each to the exchange
``<service>.events`` (topic, durable: exactly what Nameko's ``EventDispatcher`` declares) with the
event type as routing key and a JSON envelope as body (``envelope``), so a plain
``@event_handler("<service>", "<EventType>")`` in any process receives it. Each message also
carries the standard AMQP properties and the CloudEvents AMQP binding's attributes as headers
(``amqp_properties``) for consumers that are not nameko; the catch-up feeds serve the same
envelopes (``read_envelopes``). ``shared/contracts/asyncapi.yaml`` describes all of it. The channel is in
publisher-confirm mode; the cursor moves only after the broker confirmed every message of the
batch. Delivery is therefore at least once; consumers' inboxes make it exactly once in effect.
The leader sleeps on LISTEN/NOTIFY (the store notifies on every append), not on a slow poll.
Under load it starts at most one cycle (read, publish, confirm, cursor) every ``coalesce`` seconds
(``RELAY_COALESCE_SECONDS``, default 0.02), so appends that arrive close together go out as one
batch (at 150 commands/s, about a tenth less CPU per command than a cycle per append, for ~10 ms
more latency on average); an append after a quiet spell goes out at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import kombu
import orjson

from shared import locks, metrics
from shared.db import connect, prepared
from shared.logging import get_logger
from shared.store.schema import NOTIFY_CHANNEL

if TYPE_CHECKING:
    from psycopg2.extensions import connection

log = get_logger(__name__)

CATCH_UP_MAX_LIMIT = 1000
"""The most events one page of the catch-up feed (RPC or HTTP) returns."""
CATCH_UP_DEFAULT_LIMIT = 100
"""The HTTP feed's page without ``limit``."""

CURSOR_NAME = "relay"


def exchange_for(service: str) -> kombu.Exchange:
    return kombu.Exchange(
        f"{service}.events",
        type="topic",
        durable=True,
        auto_delete=False,
        delivery_mode="persistent",
    )


_ENVELOPE_COLUMNS = (
    "global_position, event_id::text, stream_type, stream_id, stream_version, "
    "event_type, schema_version, payload::text, metadata::text, recorded_at, "
    "metadata->>'correlation_id'"
)
_BATCH_SQL = (
    f"SELECT {_ENVELOPE_COLUMNS} "
    "FROM events WHERE global_position > %s ORDER BY global_position LIMIT %s"
)
CLOUDEVENTS_SPEC_VERSION = "1.0"


def source_uri(service: str) -> str:
    """The CloudEvents ``source`` of ``service``'s events."""
    return f"urn:chuxiong-talent:{service}"


def dataschema_uri(event_type: str, schema_version: int) -> str:
    """The CloudEvents ``dataschema``: names the catalogue's message (``messageId``
    ``<event_type>.v<schema_version>`` in ``shared/contracts/asyncapi.yaml``)."""
    return f"urn:chuxiong-talent:asyncapi:{event_type}.v{schema_version}"


def _recorded_text(recorded_at: dt.datetime) -> str:
    return recorded_at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def envelope(service: str, row: tuple[Any, ...]) -> bytes:
    """The message body other systems receive (documented in the event catalogue), from a row of
    ``_ENVELOPE_COLUMNS``: the same bytes on the broker and in the catch-up feeds."""
    (
        position,
        event_id,
        stream_type,
        stream_id,
        stream_version,
        event_type,
        schema_version,
        payload,
        metadata,
        recorded_at,
        *_,
    ) = row
    return orjson.dumps(
        {
            "event_id": event_id,
            "event_type": event_type,
            "schema_version": schema_version,
            "source": service,
            "stream_type": stream_type,
            "stream_id": stream_id,
            "stream_version": stream_version,
            "global_position": position,
            "recorded_at": _recorded_text(recorded_at),
            "payload": orjson.Fragment(payload),
            "metadata": orjson.Fragment(metadata),
        }
    )


def amqp_properties(service: str, row: tuple[Any, ...]) -> dict[str, Any]:
    """The message's AMQP properties and headers, from a row of ``_ENVELOPE_COLUMNS``: the
    standard properties (``message_id`` the event id, ``type`` the event type, ``timestamp`` when
    it was recorded, ``correlation_id``, ``app_id`` the service) and, as headers, the attributes
    of the CloudEvents AMQP binding (``cloudEvents:id``, ``source``, ``type``, ``time``,
    ``subject`` the stream, ``specversion``, ``dataschema``). The positions are the body's only:
    each header costs the relay's publishing, a table of seven about a third of it."""
    event_id, stream_id, event_type, schema_version = row[1], row[3], row[5], row[6]
    recorded_at, correlation_id = row[9], row[10]
    headers = {
        "cloudEvents:specversion": CLOUDEVENTS_SPEC_VERSION,
        "cloudEvents:id": event_id,
        "cloudEvents:source": source_uri(service),
        "cloudEvents:type": event_type,
        "cloudEvents:time": _recorded_text(recorded_at),
        "cloudEvents:subject": stream_id,
        "cloudEvents:dataschema": dataschema_uri(event_type, schema_version),
    }
    properties: dict[str, Any] = {
        "delivery_mode": 2,
        "message_id": event_id,
        "type": event_type,
        "timestamp": int(recorded_at.timestamp()),
        "app_id": service,
    }
    # (a short string on the wire: an id past 255 bytes stays in the body's metadata only)
    if correlation_id and len(correlation_id.encode()) <= 255:
        properties["correlation_id"] = correlation_id
    return {"properties": properties, "headers": headers}


def stored_message(cur: Any, service: str, position: int) -> tuple[bytes, dict[str, Any]]:
    """The body and AMQP attributes (``prepare_message``'s keywords) the relay publishes for the
    stored event at ``position``: for publishing it again by hand."""
    cur.execute(f"SELECT {_ENVELOPE_COLUMNS} FROM events WHERE global_position = %s", (position,))
    row = cur.fetchone()
    if row is None:
        raise LookupError(f"no event at position {position}")
    return envelope(service, row), amqp_properties(service, row)


def read_envelopes(cur: Any, service: str, after: int, limit: int) -> list[bytes]:
    """The envelopes of the stored events after position ``after`` (at most ``limit``), as the
    relay publishes them: what the catch-up feeds serve."""
    cur.execute(prepared(cur, _BATCH_SQL), (after, limit))
    return [envelope(service, row) for row in cur.fetchall()]


# seconds, for py-amqp
_BROKER_TIMEOUTS: dict[str, float] = {"read_timeout": 10, "write_timeout": 10}


class Relay:
    COALESCE = 0.02  # seconds: the shortest cycle under load (RELAY_COALESCE_SECONDS)

    def __init__(
        self,
        dsn: str,
        amqp_uri: str,
        service: str,
        *,
        batch_size: int = 500,
        standby_poll: float = 1.0,
        idle_wait: float = 1.0,
        confirm_timeout: float = 10.0,
        coalesce: float = COALESCE,
    ) -> None:
        self.dsn = dsn
        self.amqp_uri = amqp_uri
        self.service = service
        self.batch_size = batch_size
        self.standby_poll = standby_poll
        self.idle_wait = idle_wait
        self.confirm_timeout = confirm_timeout
        self.coalesce = coalesce
        self.exchange = exchange_for(service)
        self.lock_key = locks.relay_lock(service)
        self.is_leader = False
        self.published = 0
        self.batches = 0
        self.position: int | None = None
        self.last_published_at: float | None = None
        self._stop = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self) -> None:
        """Compete for leadership and relay until ``stop()``; survive database and broker
        restarts by starting over (the cursor makes that safe)."""
        backoff = 0.2
        while not self._stop.is_set():
            try:
                self._run_once()
                backoff = 0.2
            except Exception as exc:  # noqa: BLE001 - any failure: drop connections, retry
                self.is_leader = False
                if self._stop.is_set():
                    break
                log.warning("relay_error", error=repr(exc), retry_in=backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self.is_leader = False

    def stop(self) -> None:
        self._stop.set()

    # -- one leadership term -------------------------------------------------------------------
    def _run_once(self) -> None:
        pg = connect(self.dsn, autocommit=True, application_name=f"{self.service}-relay")
        try:
            cur = pg.cursor()
            while not self._stop.is_set():
                cur.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,))
                if cur.fetchone()[0]:  # type: ignore[index]  # one row, always
                    break
                self._stop.wait(self.standby_poll)
            else:
                return
            # The cursor's commits need not wait for the disk: a cursor lost in a crash only
            # moves back, and what it covered is published again (consumers drop duplicates).
            # Without this each small batch under load paid a WAL flush.
            cur.execute("SET synchronous_commit = off")
            cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
            cur.execute("SELECT position FROM relay_cursor WHERE name = %s", (CURSOR_NAME,))
            row = cur.fetchone()
            self.position = row[0] if row else 0
            self.is_leader = True
            metrics.RELAY_LEADER.labels(self.service).set(1)
            log.info("relay_leader", position=self.position)
            # Every wait on the broker is bounded: a broker that accepts the connection while
            # still booting (or blocks publishers) must not hang the leader for ever.
            with kombu.Connection(
                self.amqp_uri, heartbeat=0, connect_timeout=5, transport_options=_BROKER_TIMEOUTS
            ) as amqp:
                channel = amqp.channel()
                self.exchange(channel).declare()
                confirms = _Confirms(channel)
                cycle = 0.0
                while not self._stop.is_set():
                    # one cycle costs a read, a confirm wait and a cursor write whatever the
                    # batch's size: under load, let a few milliseconds of appends gather
                    pause = cycle + self.coalesce - time.monotonic()
                    if pause > 0:
                        self._stop.wait(pause)
                    cycle = time.monotonic()
                    pg.notifies.clear()
                    cur.execute(prepared(cur, _BATCH_SQL), (self.position, self.batch_size))
                    rows = cur.fetchall()
                    if rows:
                        self._publish(amqp, channel, confirms, rows)
                        cur.execute(
                            "INSERT INTO relay_cursor (name, position) VALUES (%s, %s) "
                            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                            (CURSOR_NAME, rows[-1][0]),
                        )
                        self.position = rows[-1][0]
                        self.published += len(rows)
                        self.batches += 1
                        metrics.RELAY_PUBLISHED.labels(self.service).inc(len(rows))
                        self.last_published_at = time.time()
                    if len(rows) < self.batch_size:
                        self._wait_for_notify(pg)
        finally:
            self.is_leader = False
            metrics.RELAY_LEADER.labels(self.service).set(0)
            pg.close()  # ends the session: releases the leader lock

    def _publish(
        self, amqp: kombu.Connection, channel: Any, confirms: _Confirms, rows: list[tuple[Any, ...]]
    ) -> None:
        confirms.expect(len(rows))
        with _corked(amqp.connection.sock):
            for row in rows:
                message = channel.prepare_message(
                    envelope(self.service, row),
                    content_type="application/json",
                    content_encoding="utf-8",
                    **amqp_properties(self.service, row),
                )
                channel.basic_publish(message, exchange=self.exchange.name, routing_key=row[5])
        confirms.wait(amqp, self.confirm_timeout)

    def _wait_for_notify(self, pg: connection) -> None:
        if not pg.notifies:
            select.select([pg], [], [], self.idle_wait)
        pg.poll()


@contextlib.contextmanager
def _corked(sock: socket.socket | None) -> Iterator[None]:
    """The batch's messages leave as few full TCP segments, not one small packet each (py-amqp
    sets TCP_NODELAY): less work per message for this process's kernel and for the broker."""
    cork = getattr(socket, "TCP_CORK", None)  # Linux
    if cork is None or sock is None:
        yield
        return
    sock.setsockopt(socket.IPPROTO_TCP, cork, 1)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # a dead socket: the publish's own error tells
            sock.setsockopt(socket.IPPROTO_TCP, cork, 0)  # sends what is left now


class _Confirms:
    """Publisher confirms for a whole batch: publish everything, then wait for the acks (which the
    broker may send one by one, several at once, or out of order)."""

    def __init__(self, channel: Any) -> None:
        channel.confirm_select()
        channel.events["basic_ack"].add(self._ack)
        channel.events["basic_nack"].add(self._nack)
        self.next_tag = 1  # the broker numbers deliveries 1, 2, … per channel
        self.pending: set[int] = set()
        self.nacked = False

    def expect(self, n: int) -> None:
        self.pending = set(range(self.next_tag, self.next_tag + n))
        self.next_tag += n

    def _ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self.pending = {t for t in self.pending if t > tag}
        else:
            self.pending.discard(tag)

    def _nack(self, tag: int, multiple: bool) -> None:
        self.nacked = True

    def wait(self, amqp: kombu.Connection, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.pending:
            if self.nacked:
                raise RuntimeError("broker refused (nacked) a published event")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no publisher confirm from the broker in time")
            amqp.drain_events(timeout=remaining)
