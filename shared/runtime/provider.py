"""The event store as a Nameko dependency: ``EventStoreProvider`` owns a service's database pool,
event store, inbox and relay, checks its settings at start, and gives each worker a
``UnitOfWork``: who is acting, under which correlation, and the one way to run a command (load
the stream, fold, decide, append, in one transaction).

A service declares ``uow = EventStoreProvider(projectors=..., settings=...)``.
"""

from __future__ import annotations

import contextlib
import gc
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar

import psycopg2.extras
from nameko.extensions import DependencyProvider

from shared import logging as tlog
from shared.auth import Principal
from shared.clock import Clock, clock_for
from shared.contracts import load_all
from shared.db import Database
from shared.decider import Decider
from shared.errors import AlreadyImported, ConcurrencyConflict, NotFound, Unauthenticated
from shared.locks import lock_key
from shared.messaging.inbox import Inbox
from shared.messaging.relay import Relay
from shared.provenance import STORED
from shared.runtime.settings import Settings, SettingsError
from shared.store import EventStore, Metadata, RecordedEvent, schema

log = tlog.get_logger(__name__)

Lock = int | tuple[int, str]
"""An advisory lock: a one-key lock id, or a two-key lock ``(class, name)`` (``hashtext(name)``)."""


def _lock_statements(exclusive: Sequence[Lock], shared: Sequence[int]) -> tuple[str, list[Any]]:
    """The statements taking ``shared`` locks shared, then ``exclusive`` ones in ascending order
    (two commands never wait on each other in a cycle)."""
    key: Lock  # each loop's own
    params: list[int | str]
    sql, params = "", []
    for key in shared:
        sql += "SELECT pg_advisory_xact_lock_shared(%s); "
        params.append(key)
    for key in sorted(exclusive, key=lambda k: k if isinstance(k, tuple) else (k, "")):
        if isinstance(key, tuple):
            sql += "SELECT pg_advisory_xact_lock(%s, hashtext(%s)); "
            params += key
        else:
            sql += "SELECT pg_advisory_xact_lock(%s); "
            params.append(key)
    return sql, params


SettingsT = TypeVar("SettingsT", bound=Settings)


class EventStoreProvider(DependencyProvider, Generic[SettingsT]):
    """Owns the service's database pool, event store, inbox and relay. Injects a ``UnitOfWork``.

    ``settings``: the service's ``Settings`` class, read and checked at start (a missing or
    malformed key stops the service naming it). ``clock``: the real clock, or the date pinned by
    ``CLOCK_TODAY`` in a test or demo configuration."""

    def __init__(self, projectors: Sequence[Any] = (), *, settings: type[SettingsT]) -> None:
        self.projectors = list(projectors)
        self.settings_class = settings

    def setup(self) -> None:
        self.service = self.container.service_name
        tlog.configure(self.service)
        self.config = self.container.config
        try:
            self.settings: SettingsT = self.settings_class.read(self.config)
        except SettingsError as exc:
            log.error("settings_refused", error=str(exc))
            raise
        settings = self.settings
        if settings.insecure_secrets:
            log.warning(
                "insecure_secrets_allowed",
                secrets=list(settings.insecure_secrets),
                note="ALLOW_INSECURE_SECRETS is for development only: anyone can forge tokens",
            )
        self.clock: Clock = clock_for(self.config)
        # migrations run as the owner (DB_DSN); the service works as DB_ROLE, which cannot
        # UPDATE, DELETE or TRUNCATE the events (shared/store/schema.py)
        owner = Database(settings.db_dsn, application_name=f"{self.service}-migrate", max_size=1)
        dsn = settings.db_dsn
        try:
            EventStore(
                owner, self.service, projectors=self.projectors, registry=load_all()
            ).migrate()
            Inbox(owner, self.service, None).migrate()  # type: ignore[arg-type]  # decodes none
            if settings.db_role:
                schema.grant_service_role(owner, settings.db_role)
                dsn = schema.runtime_dsn(dsn, settings.db_role, settings.db_role_password)
        finally:
            owner.close()
        self.db = Database(dsn, application_name=self.service, max_size=settings.db_pool_size)
        self.events = EventStore(
            self.db, self.service, projectors=self.projectors, registry=load_all()
        )
        self.inbox = Inbox(self.db, self.service, self.events.registry)
        self.relay: Relay | None = None
        if settings.relay_enabled:
            coalesce = settings.relay_coalesce_seconds
            self.relay = (
                Relay(dsn, settings.amqp_uri, self.service, coalesce=coalesce)
                if coalesce
                else Relay(dsn, settings.amqp_uri, self.service)
            )

    def rebuild_if(self, stale_sql: str) -> None:
        """Rebuild the read models from the events if ``stale_sql`` (one boolean) says a migration
        added or widened one after events were recorded; one replica at a time (the lock named
        ``<service>.rebuild``)."""
        with self.db.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(f"{self.service}.rebuild"),))
            cur.execute(stale_sql)
            stale = cur.fetchone()[0]  # type: ignore[index]  # one row, always
        if stale:
            log.warning("read_models_rebuilding")
            self.events.rebuild_projections()

    def start(self) -> None:
        # Everything built until now (modules, schemas, contracts: ~90,000 objects) lives as
        # long as the process: out of the collector's sight, a full collection under load
        # pauses the service for ~8 ms instead of 30-50 ms.
        gc.freeze()
        if self.relay:
            self.container.spawn_managed_thread(self.relay.run)

    def stop(self) -> None:
        if self.relay:
            self.relay.stop()
        self.db.close()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> UnitOfWork[SettingsT]:
        return UnitOfWork(self, worker_ctx)

    def worker_setup(self, worker_ctx: Any) -> None:
        tlog.clear()
        tlog.bind(
            correlation_id=worker_ctx.context_data.get("correlation_id") or worker_ctx.call_id
        )

    def worker_teardown(self, worker_ctx: Any) -> None:
        tlog.clear()


class UnitOfWork(Generic[SettingsT]):
    """One worker's view of the store: who is acting, under which correlation, and the one way to
    run a command (``run``: load the stream, fold, decide, append). ``UnitOfWork[S]``: a unit of
    work whose ``settings`` are the service's ``S``."""

    def __init__(self, provider: EventStoreProvider[SettingsT], worker_ctx: Any) -> None:
        self.provider = provider
        self.events: EventStore = provider.events
        self.db: Database = provider.db
        self.settings: SettingsT = provider.settings
        self.clock = provider.clock
        self.service: str = provider.service
        self.principal: Principal | None = None
        self.actor_id = f"service:{provider.service}"
        self.actor_role = "system"
        self.correlation_id: str = worker_ctx.context_data.get("correlation_id") or str(
            uuid.uuid4()
        )
        self.causation_id: str | None = None
        self.provenance: dict[str, Any] | None = None
        """What an import said of the command's origin (``shared/provenance.py``), recorded in
        the metadata of the events the command appends."""
        self._import_claimed = False

    @property
    def caller(self) -> Principal:
        """The authenticated principal: every entrypoint has one but the public ones and RPC."""
        if self.principal is None:
            raise Unauthenticated("an authenticated caller is needed")
        return self.principal

    def act_as(self, principal: Principal) -> None:
        self.principal = principal
        self.actor_id, self.actor_role = principal.actor_id, principal.role

    def metadata(self, policy_version: str | None) -> Metadata:
        return Metadata(
            self.actor_id,
            self.actor_role,
            self.correlation_id,
            self.causation_id,
            policy_version,
            self.provenance,
        )

    def context(self, **extra: Any) -> dict[str, Any]:
        """What a decider is given besides the command and the state: "now", "today" and
        ``extra`` (what the service looked up)."""
        return {"now": self.clock.now(), "today": self.clock.today(), **extra}

    @contextlib.contextmanager
    def locked(
        self,
        *,
        exclusive: Sequence[Lock] = (),
        shared: Sequence[int] = (),
        query: str = "",
        args: Sequence[Any] = (),
    ) -> Iterator[Any]:
        """A transaction (a cursor of ``Database.explicit_transaction``) that starts holding
        advisory locks: ``shared`` ones shared, then ``exclusive`` ones, in ascending order (two
        commands never wait on each other in a cycle). BEGIN, the locks and ``query`` (with
        ``args``; its rows are ready on the cursor) travel in one round trip. The locks last
        until the transaction ends; ``run(..., cur=cur, commit=True)`` ends it with the append."""
        sql, params = _lock_statements(exclusive, shared)
        with self.db.explicit_transaction() as cur:
            cur.execute("BEGIN; " + sql + query, (*params, *args))
            yield cur

    def hold(self, cur: Any, *, exclusive: Sequence[Lock] = (), shared: Sequence[int] = ()) -> None:
        """Take advisory locks, as ``locked`` does, in the transaction ``cur`` already has open
        (an event handler's, which the inbox began)."""
        sql, params = _lock_statements(exclusive, shared)
        cur.execute(sql, params)

    def run(
        self,
        decider: Decider[Any],
        stream_id: str,
        command: Any,
        *,
        context: dict[str, Any] | None = None,
        expected_version: int | None = None,
        cur: Any = None,
        commit: bool = False,
        new_stream: bool = False,
    ) -> list[RecordedEvent]:
        """Run ``command`` against stream ``stream_id``: the recorded events (maybe none).
        ``expected_version`` (e.g. from the caller's If-Match) refuses a stale command.
        ``commit``: this is the last statement of ``cur``'s explicit transaction (see
        ``EventStore.append``). Without ``cur``: the stream is read outside any transaction (the
        expected-version check covers what changes after) and the append is a transaction of
        its own. ``new_stream``: the stream cannot exist yet (its id is made from something
        unique, e.g. an inbox-guarded event's id), so it is not read; if it did exist, the append
        would be refused as a conflict."""
        if cur is None:
            with self.db.explicit_transaction() as cur:
                return self.run(
                    decider,
                    stream_id,
                    command,
                    context=context,
                    expected_version=expected_version,
                    cur=cur,
                    commit=True,
                    new_stream=new_stream,
                )
        if self.provenance is not None and not self._import_claimed:
            self._claim_import(cur)
        history = [] if new_stream else self.events.read_stream(stream_id, cur=cur)
        version = history[-1].stream_version if history else 0
        if expected_version is not None and expected_version != version:
            raise ConcurrencyConflict(stream_id, expected_version, version)
        events = decider.decide(
            command, decider.replay(history), context if context is not None else self.context()
        )
        return self.events.append(
            decider.stream_type,
            stream_id,
            version,
            events,
            self.metadata(decider.policy_version),
            cur=cur,
            commit=commit,
        )

    def _claim_import(self, cur: Any) -> None:
        """An imported command runs once however many imports of its file run at once: its
        first transaction holds its key's lock and finds no event with its key committed, or
        raises AlreadyImported (nothing written)."""
        key = self.provenance["key"]  # type: ignore[index]  # checked by the caller
        cur.execute(
            f"SELECT pg_advisory_xact_lock(%s); SELECT EXISTS (SELECT FROM events WHERE {STORED})",
            (lock_key(f"import:{key}"), key),
        )
        if cur.fetchone()[0]:
            raise AlreadyImported(key)
        self._import_claimed = True

    def load(self, decider: Decider[Any], stream_id: str, cur: Any = None) -> tuple[Any, int]:
        """(state, version) of a stream, or NotFound."""
        history = self.events.read_stream(stream_id, cur=cur)
        if not history:
            raise NotFound(f"{decider.stream_type} {stream_id} not found")
        return decider.replay(history), history[-1].stream_version

    def query(self, sql: str, args: Sequence[Any] = (), one: bool = False) -> Any:
        """Read models: rows as dicts (``one``: the first row or None)."""
        with self.db.transaction(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, args)
            return cur.fetchone() if one else cur.fetchall()
