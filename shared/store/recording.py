"""The event store: one append-only ``events`` table per service database.

* ``global_position`` is gapless and increases in commit order: appends take a transaction-scoped
  advisory lock before they read the head, and hold it until commit, so a reader that has seen
  position P can never later find a committed P-1. The part under the lock is the server's
  (``talent_append``, a PL/pgSQL function): it is sent with the projections' statements and
  COMMIT in one round trip, so no writer ever waits on a client while holding the lock.
* ``recorded_at`` is the writer's clock when it prepared the append (before it queued for the
  lock): order is the position's, not the time's; two streams' appends a few milliseconds apart
  may carry times out of position order (one stream's never are: its versions are serial).
* ``UNIQUE (stream_id, stream_version)`` plus the expected-version check give optimistic
  concurrency, surfaced as ``ConcurrencyConflict`` naming the stream and version.
* Every row carries ``prev_hash``/``hash``: SHA-256 over a canonical JSON encoding of the row and
  the previous row's hash. ``verify()`` walks the chain and names the first position that breaks.
* A trigger refuses UPDATE, DELETE and TRUNCATE on ``events``.
* Payloads go through their marshmallow contract on the way in and out (``shared.contracts``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
import uuid
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import orjson
import psycopg2.errors

from shared import metrics
from shared.contracts import load_all
from shared.db import eventlet_active, prepared
from shared.errors import ConcurrencyConflict
from shared.store import schema, verify
from shared.store.canonical import UTC, refuse_floats, split_canonical, utc_text
from shared.store.schema import CONFLICT_SQLSTATE
from shared.store.sealing import KeyStore

if TYPE_CHECKING:
    from psycopg2.extensions import Column, cursor

    from shared.contracts import Registry
    from shared.db import Database
    from shared.decider import NewEvent
    from shared.store.canonical import VerifyResult
    from shared.store.sealing import Keys

_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Metadata:
    """Who did it and why: recorded on every event of one append."""

    actor_id: str
    actor_role: str
    correlation_id: str
    causation_id: str | None = None
    policy_version: str | None = None
    provenance: Mapping[str, Any] | None = None
    """Where a fact entered other than live came from (``shared/provenance.py``); the key is
    written only when there is one, so events recorded without it hash as they always did."""

    def for_event(self, event: NewEvent) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "actor_id": self.actor_id,
            "actor_role": self.actor_role,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "clauses": list(event.clauses),
            "policy_version": self.policy_version,
        }
        if self.provenance is not None:
            metadata["provenance"] = dict(self.provenance)
        return metadata


class PositionOf:
    """The global position of an event being appended, which only the server knows until the
    append's round trip returns (``EventStore._append``). Projectors see it as the event's
    ``global_position``: passed as a statement parameter it becomes the query that reads it from
    the new row; used as a number in Python it refuses."""

    __slots__ = ("event_id",)

    def __init__(self, event_id: str) -> None:
        self.event_id = str(uuid.UUID(event_id))  # a UUID's text: safe inside the quotes below

    def __conform__(self, protocol: object) -> PositionOf | None:
        return self if protocol is psycopg2.extensions.ISQLQuote else None

    def getquoted(self) -> bytes:
        return f"(SELECT global_position FROM events WHERE event_id = '{self.event_id}')".encode()

    def __index__(self) -> NoReturn:
        raise TypeError(
            "the position of an event being appended is known to the server only; "
            "pass it to SQL as a parameter"
        )

    __int__ = __index__

    def __repr__(self) -> str:
        return f"PositionOf({self.event_id})"


class RecordedEvent:
    """An event as stored. ``payload`` is decoded through its contract; ``data`` is the JSON
    payload, its personal fields open where the reader holds the person's key (``append``'s result
    and ``read_stream``) and sealed as stored elsewhere; ``metadata`` and ``recorded_at`` are
    parsed on first use (replays rarely need them)."""

    __slots__ = (
        "global_position",
        "event_id",
        "stream_type",
        "stream_id",
        "stream_version",
        "event_type",
        "schema_version",
        "payload",
        "data",
        "_metadata",
        "_recorded_at",
        "prev_hash",
        "hash",
    )

    def __init__(
        self,
        global_position: int | PositionOf,
        event_id: str,
        stream_type: str,
        stream_id: str,
        stream_version: int,
        event_type: str,
        schema_version: int,
        payload: dict[str, Any],
        data: dict[str, Any],
        metadata: str | bytes | dict[str, Any],
        recorded_at: str | dt.datetime,
        prev_hash: str | None,
        hash: str | None,
    ) -> None:
        self.global_position = global_position
        self.event_id = event_id
        self.stream_type = stream_type
        self.stream_id = stream_id
        self.stream_version = stream_version
        self.event_type = event_type
        self.schema_version = schema_version
        self.payload = payload
        self.data = data
        self._metadata = metadata
        self._recorded_at = recorded_at
        self.prev_hash = prev_hash
        self.hash = hash

    @property
    def metadata(self) -> dict[str, Any]:
        if isinstance(self._metadata, (str, bytes)):
            self._metadata = orjson.loads(self._metadata)
        return self._metadata  # type: ignore[return-value]  # parsed, if it was text

    @property
    def recorded_at(self) -> dt.datetime:
        if isinstance(self._recorded_at, str):
            self._recorded_at = dt.datetime.fromisoformat(self._recorded_at)
        return self._recorded_at

    @recorded_at.setter
    def recorded_at(self, value: dt.datetime) -> None:
        self._recorded_at = value

    @property
    def clauses(self) -> list[str]:
        return self.metadata.get("clauses", [])  # type: ignore[no-any-return]  # JSON

    def __repr__(self) -> str:
        return f"<{self.event_type} #{self.global_position} {self.stream_id}@{self.stream_version}>"


# Read as text and parsed here: several times faster than psycopg2's per-type adapters.
_SELECT = (
    "SELECT global_position, event_id::text, stream_type, stream_id, stream_version, "
    "event_type, schema_version, payload::text, metadata::text, recorded_at::text, "
    "prev_hash, hash FROM events"
)


def _prefetched(cur: cursor, first: list[Row], batch_size: int) -> Iterator[list[Row]]:
    """Batches of ``cur`` (``first`` already fetched), the next one fetched by a helper thread
    while the caller works on this one: the server produces rows while Python decodes them."""
    batches: queue.Queue[list[Row] | BaseException]
    rows: list[Row] | BaseException
    batches, stop = queue.Queue(maxsize=2), threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set():
                rows = cur.fetchmany(batch_size)
                batches.put(rows)
                if len(rows) < batch_size:
                    return
        except BaseException as exc:  # handed to the caller, raised there
            batches.put(exc)

    worker = threading.Thread(target=fetch, name="eventstore-prefetch", daemon=True)
    worker.start()
    try:
        rows = first
        while True:
            yield rows
            rows = batches.get()
            if isinstance(rows, BaseException):
                raise rows
            if len(rows) < batch_size:
                if rows:
                    yield rows
                return
    finally:
        stop.set()
        while worker.is_alive():  # unblock a put() the caller will never get() and wait for it
            try:
                batches.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


class _Batch:
    """A cursor for projectors that sends their statements with the append's own in one round
    trip. A projector that reads (``fetch*``) gets its answer: what is pending is sent first,
    its query last, in one round trip too."""

    def __init__(self, cur: cursor) -> None:
        self.cur = cur
        self.connection = cur.connection
        self.pending: list[bytes] = []

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> None:
        self.pending.append(self.cur.mogrify(sql, args))

    def flush(self) -> None:
        if self.pending:
            sql, self.pending = b"; ".join(self.pending), []
            self.cur.execute(sql)

    def fetchone(self) -> Row | None:
        self.flush()
        return self.cur.fetchone()

    def fetchall(self) -> list[Row]:
        self.flush()
        return self.cur.fetchall()

    @property
    def description(self) -> tuple[Column, ...] | None:
        self.flush()
        return self.cur.description


class Projector(Protocol):
    """A read model the store keeps (``services/<svc>/projections.py``): its tables'
    migrations, ``reset`` (empty them) and ``apply`` (one event; ``cur`` is the append's batch,
    or a cursor when the read models are rebuilt)."""

    @property
    def migrations(self) -> Sequence[tuple[str, str]]: ...

    def reset(self, cur: cursor) -> None: ...

    def apply(self, cur: Any, event: RecordedEvent) -> None: ...


class EventStore:
    """One service's event store. ``projectors`` are applied to every appended event inside the
    append's transaction, so read models are never behind the events that feed them."""

    def __init__(
        self,
        db: Database,
        service: str,
        *,
        projectors: Iterable[Projector] = (),
        registry: Registry | None = None,
    ) -> None:
        self.db = db
        self.service = service
        self.registry = registry or load_all()
        self.projectors = list(projectors)
        self.keystore = KeyStore()

    # -- schema ------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        names = schema.apply(self.db, schema.EVENT_STORE)
        for projector in self.projectors:
            names += schema.apply(self.db, projector.migrations)
        return names

    # -- writing -----------------------------------------------------------------------------
    def append(
        self,
        stream_type: str,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[NewEvent],
        metadata: Metadata,
        *,
        cur: cursor | None = None,
        now: dt.datetime | None = None,
        commit: bool = False,
    ) -> list[RecordedEvent]:
        """Append ``events`` to ``stream_id`` if it is at ``expected_version`` (None: any).
        Pass ``cur`` to append inside the caller's transaction (e.g. with an inbox row); with
        ``commit=True`` (a cursor of ``Database.explicit_transaction``) the append is the
        transaction's last statement and COMMIT travels with it, so the append lock is released
        without waiting for one more round trip (BEGIN too, if no transaction is open yet)."""
        if not events:
            return []
        if cur is None:
            with self.db.explicit_transaction() as cur:
                return self._append(
                    stream_type,
                    stream_id,
                    expected_version,
                    events,
                    metadata,
                    cur,
                    now,
                    begin=True,
                    commit=True,
                )
        begin = False
        if commit:
            conn = cur.connection
            if not conn.autocommit:
                raise ValueError("commit=True needs a cursor of Database.explicit_transaction")
            begin = conn.info.transaction_status == _IDLE
        return self._append(
            stream_type,
            stream_id,
            expected_version,
            events,
            metadata,
            cur,
            now,
            begin=begin,
            commit=commit,
        )

    def _append(
        self,
        stream_type: str,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[NewEvent],
        metadata: Metadata,
        cur: cursor,
        now: dt.datetime | None,
        begin: bool | str,
        commit: bool,
    ) -> list[RecordedEvent]:
        # Everything that does not depend on the chain's head is done before the append lock is
        # taken (the lock serialises every writer of the store, so its hold time is the store's
        # ceiling): contracts, float check, and sealing personal fields (whose key lookups are
        # round trips of their own).
        # ``begin``: True if BEGIN is still to be sent; below, the text that sends it ("": sent)
        event: NewEvent | RecordedEvent  # each loop's own
        keys: Keys
        parts: list[str]
        recorded: list[RecordedEvent]
        encode = self.registry.encode
        personal, keys = self.keystore.personal, {}
        begin = "BEGIN; " if begin else ""
        encoded = []
        for event in events:
            version, plain = encode(event.event_type, event.payload)
            refuse_floats(plain)
            if event.event_type in personal:
                if begin:  # the key commits with the events, or not at all
                    cur.execute("BEGIN")
                    begin = ""
                data = self.keystore.seal(cur, event.event_type, plain, keys)
            else:
                data = plain
            encoded.append((event, version, plain, data, metadata.for_event(event)))

        if expected_version is None:  # "any": the version it is at now (refused if it moves)
            cur.execute(
                begin + "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = %s",
                (stream_id,),
            )
            expected_version, begin = cur.fetchone()[0], ""  # type: ignore[index]  # max(): a row
        recorded_at = now or dt.datetime.now(UTC)
        recorded_text = utc_text(recorded_at)
        parts, recorded = [], []
        decoder = self.registry.decoder
        version = expected_version
        for event, schema_version, plain, data, meta in encoded:
            version += 1
            event_id = str(uuid.uuid4())
            parts += split_canonical(
                event_id,
                stream_type,
                stream_id,
                version,
                event.event_type,
                schema_version,
                data,
                meta,
                recorded_text,
            )
            recorded.append(
                RecordedEvent(
                    PositionOf(event_id),
                    event_id,
                    stream_type,
                    stream_id,
                    version,
                    event.event_type,
                    schema_version,
                    decoder(event.event_type, schema_version)(plain),
                    plain,
                    meta,
                    recorded_at,
                    None,
                    None,
                )
            )
        # One round trip, and the lock is held for none: talent_append takes it, checks the
        # stream's version, reads the chain's head, links and inserts the rows and notifies; the
        # projectors' statements follow (they may read the new rows), then (``commit``) COMMIT,
        # which releases the lock, and the positions and hashes the function left are read.
        batch = _Batch(cur)
        if begin:
            batch.execute("BEGIN")
        batch.execute("SELECT talent_append(%s, %s, %s)", (stream_id, expected_version, parts))
        for event in recorded:
            for projector in self.projectors:
                projector.apply(batch, event)
        if commit:
            batch.execute("COMMIT")
        batch.execute("SELECT current_setting('talent.appended')")
        try:
            appended = orjson.loads(batch.fetchone()[0])  # type: ignore[index]  # a row
        except psycopg2.Error as exc:
            if exc.pgcode == CONFLICT_SQLSTATE:
                # (talent_append's DETAIL: the version the stream is at)
                raise ConcurrencyConflict(
                    stream_id,
                    expected_version,
                    int(exc.diag.message_detail),  # type: ignore[arg-type]
                ) from None
            if isinstance(exc, psycopg2.errors.UniqueViolation) and exc.diag.constraint_name in (
                "events_stream_version_key",
                "events_pkey",
            ):
                raise ConcurrencyConflict(stream_id, expected_version) from None
            raise
        position, prev_hash = appended["first"], appended["prev"]
        for event, digest in zip(recorded, appended["hashes"]):
            event.global_position, event.prev_hash, event.hash = position, prev_hash, digest
            position, prev_hash = position + 1, digest
        metrics.EVENTS_APPENDED.labels(self.service, stream_type).inc(len(recorded))
        return recorded

    # -- reading -----------------------------------------------------------------------------
    def _recorded(self, row: Row, decode: bool = True) -> RecordedEvent:
        (
            position,
            event_id,
            stream_type,
            stream_id,
            stream_version,
            event_type,
            schema_version,
            data,
            meta,
            recorded_at,
            prev_hash,
            digest,
        ) = row
        data = orjson.loads(data)
        payload = self.registry.decoder(event_type, schema_version)(data) if decode else data
        return RecordedEvent(
            position,
            event_id,
            stream_type,
            stream_id,
            stream_version,
            event_type,
            schema_version,
            payload,
            data,
            meta,
            recorded_at,
            prev_hash,
            digest,
        )

    def read_stream(
        self,
        stream_id: str,
        *,
        to_version: int | None = None,
        as_of: dt.datetime | None = None,
        cur: cursor | None = None,
    ) -> list[RecordedEvent]:
        """The events of one stream in order, optionally up to a version or a point in time."""
        if cur is None:
            with self.db.transaction() as cur:
                return self.read_stream(stream_id, to_version=to_version, as_of=as_of, cur=cur)
        personal = self.keystore.personal
        fields = {spec[0] for spec in personal.values()}
        # a person-bearing row comes with its person's key (None: erased), so opening it costs
        # no round trip of its own
        with_key = len(fields) == 1
        args: list[Any]
        if with_key:
            sql = _SELECT.replace(
                " FROM events",
                ", CASE WHEN event_type = ANY(%s) THEN (SELECT"
                " key FROM person_keys WHERE person_key = payload->>%s) END"
                " FROM events WHERE stream_id = %s",
            )
            args = [list(personal), *fields, stream_id]
        else:
            sql, args = f"{_SELECT} WHERE stream_id = %s", [stream_id]
        if to_version is not None:
            sql += " AND stream_version <= %s"
            args.append(to_version)
        if as_of is not None:
            sql += " AND recorded_at <= %s"
            args.append(as_of)
        sql += " ORDER BY stream_version"
        cur.execute(prepared(cur, sql) if to_version is None and as_of is None else sql, args)
        rows = cur.fetchall()
        if not any(row[5] in personal for row in rows):
            return [self._recorded(row[:12]) for row in rows]
        # one person's record: their sealed fields opened ("erased" where the key is gone)
        keys: Keys
        out: list[RecordedEvent]
        keys, out = {}, []
        for row in rows:
            if row[5] in personal:
                data = orjson.loads(row[7])
                if with_key:
                    person = data.get(personal[row[5]][0])
                    keys.setdefault(person, None if row[12] is None else bytes(row[12]))
                row = (
                    *row[:7],
                    orjson.dumps(self.keystore.unseal(cur, row[5], data, keys)),
                    *row[8:12],
                )
            out.append(self._recorded(row[:12]))
        return out

    def _batches(
        self, sql: str, args: Sequence[Any], batch_size: int
    ) -> Generator[list[Row], None, None]:
        """Lists of rows of ``sql``, streamed through a server-side cursor in one transaction.
        Past the first batch, the next is fetched while the caller works on the current one
        (not under eventlet, where a helper thread would be a green thread anyway)."""
        with self.db.transaction(name=f"read_all_{uuid.uuid4().hex}") as cur:
            cur.execute(sql, args)
            rows = cur.fetchmany(batch_size)
            if len(rows) == batch_size and not eventlet_active():
                yield from _prefetched(cur, rows, batch_size)
                return
            while rows:
                yield rows
                if len(rows) < batch_size:
                    return
                rows = cur.fetchmany(batch_size)

    def read_all(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        to_position: int | None = None,
        as_of: dt.datetime | None = None,
        decode: bool = True,
    ) -> Iterator[RecordedEvent]:
        """Every event after ``after`` in position order, streamed through a server-side cursor.
        This is also the catch-up feed for a new or lagging subscriber."""
        sql = f"{_SELECT} WHERE global_position > %s"
        args: list[Any] = [after]
        if to_position is not None:
            sql += " AND global_position <= %s"
            args.append(to_position)
        if as_of is not None:
            sql += " AND recorded_at <= %s"
            args.append(as_of)
        loads, decoder, event = orjson.loads, self.registry.decoder, RecordedEvent
        with contextlib.closing(
            self._batches(sql + " ORDER BY global_position", args, batch_size)
        ) as batches:
            for rows in batches:
                for (
                    position,
                    event_id,
                    stream_type,
                    stream_id,
                    stream_version,
                    event_type,
                    schema_version,
                    data,
                    meta,
                    recorded_at,
                    prev_hash,
                    digest,
                ) in rows:
                    data = loads(data)
                    yield event(
                        position,
                        event_id,
                        stream_type,
                        stream_id,
                        stream_version,
                        event_type,
                        schema_version,
                        decoder(event_type, schema_version)(data) if decode else data,
                        data,
                        meta,
                        recorded_at,
                        prev_hash,
                        digest,
                    )

    def head(self) -> int:
        """The position of the last event (0: none)."""
        with self.db.transaction() as cur:
            cur.execute("SELECT coalesce(max(global_position), 0) FROM events")
            return cur.fetchone()[0]  # type: ignore[index, no-any-return]  # max(): an int

    # -- auditing ----------------------------------------------------------------------------
    def verify(self, *, batch_size: int = 20_000) -> VerifyResult:
        """Walk the hash chain from the first event; name the first position that does not match.
        Every hash is recomputed from the stored columns (no contract is involved: what is
        checked is what is stored). Rows are read in ranges with COPY, in one snapshot
        (``shared.store.verify``; ``talent-audit verify`` checks the ranges in parallel)."""
        with self.db.transaction() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("SELECT coalesce(max(global_position), 0) FROM events")
            metas: dict[bytes, bytes] = {}
            return verify.link(
                verify.verify_range(cur, first, last, metas)
                for first, last in verify.ranges(
                    cur.fetchone()[0],  # type: ignore[index]  # max(): a row
                    batch_size,
                )
            )

    # -- read models -------------------------------------------------------------------------
    def rebuild_projections(self) -> None:
        """Drop every read model's rows and rebuild them from the events (from zero)."""
        with self.db.transaction() as cur:
            for projector in self.projectors:
                projector.reset(cur)
            with cur.connection.cursor(name=f"rebuild_{uuid.uuid4().hex}") as rows:
                rows.itersize = 2000
                rows.execute(f"{_SELECT} ORDER BY global_position")
                for row in rows:
                    event = self._recorded(row)
                    for projector in self.projectors:
                        projector.apply(cur, event)
