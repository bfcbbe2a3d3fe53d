"""PostgreSQL access through psycopg2, safe under eventlet.

* Under ``eventlet.monkey_patch()`` (``nameko run``) psycopg2 is made cooperative with psycogreen,
  so a query parks only its own green thread, never the hub.
* libpq's ``connect_timeout`` is ignored once psycopg2 is green, so connects are bounded by an
  ``eventlet.Timeout``; every statement is bounded by ``statement_timeout`` and dead peers are found
  by TCP keepalives.
* A connection that failed (server restart, ``pg_terminate_backend``) is thrown away, never reused:
  the next transaction opens a fresh one, so services reconnect by themselves.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from psycopg2.extensions import connection, cursor

CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


def eventlet_active() -> bool:
    try:
        import warnings

        with warnings.catch_warnings():  # eventlet announces its deprecation on import
            warnings.simplefilter("ignore")
            import eventlet.patcher
    except ImportError:  # pragma: no cover
        return False
    return eventlet.patcher.is_monkey_patched("socket")  # type: ignore[no-any-return]  # untyped


def _make_green() -> None:
    if eventlet_active() and psycopg2.extensions.get_wait_callback() is None:
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()


class _Connection(psycopg2.extensions.connection):
    """A psycopg2 connection that remembers which statements it has prepared (``prepared``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: set[str] = set()


# sql -> (statement name, its PREPARE, its EXECUTE), shared by every connection of the process
_STATEMENTS: dict[str, tuple[str, str, str]] = {}
_NAMES = itertools.count(1)


def prepared(cur: cursor, sql: str) -> str:
    """``sql`` (``%s`` placeholders, as for ``cur.execute``) as the ``EXECUTE`` of a statement
    prepared on ``cur``'s connection, PREPAREd there first if it is not yet: PostgreSQL then
    parses and plans it once per connection instead of on every call (for the hottest reads,
    planning cost as much as running them). A connection not opened by ``connect`` gets ``sql``
    back. PREPARE survives a rolled-back transaction, and a failed one raises like any statement.
    """
    done = getattr(cur.connection, "prepared", None)
    if done is None:
        return sql
    try:
        name, prepare, execute = _STATEMENTS[sql]
    except KeyError:
        if "%%" in sql or "%(" in sql:
            raise ValueError("prepared statements take positional %s placeholders only") from None
        pieces = sql.split("%s")
        name = f"talent_{next(_NAMES)}"
        prepare = (
            f"PREPARE {name} AS "
            + pieces[0]
            + "".join(f"${i}{piece}" for i, piece in enumerate(pieces[1:], start=1))
        )
        execute = f"EXECUTE {name}" + (
            f" ({', '.join(['%s'] * (len(pieces) - 1))})" if len(pieces) > 1 else ""
        )
        name, prepare, execute = _STATEMENTS.setdefault(sql, (name, prepare, execute))
    if name not in done:
        cur.execute(prepare)
        done.add(name)
    return execute


def connect(
    dsn: str,
    *,
    connect_timeout: float = 5,
    statement_timeout_ms: int = 30_000,
    autocommit: bool = False,
    application_name: str = "talent",
    read_only: bool = False,
) -> connection:
    """Open one connection, bounded in time whether or not eventlet is active. ``read_only``
    makes every transaction of the session read-only (the auditors' tools)."""
    _make_green()
    options = f"-c statement_timeout={int(statement_timeout_ms)} -c timezone=UTC"
    if read_only:
        options += " -c default_transaction_read_only=on"
    kwargs: dict[str, Any] = dict(
        connection_factory=_Connection,
        connect_timeout=connect_timeout,
        application_name=application_name,
        options=options,
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
    )
    if eventlet_active():
        import eventlet

        try:
            with eventlet.Timeout(connect_timeout):
                conn: connection = psycopg2.connect(dsn, **kwargs)
        except eventlet.Timeout:
            raise psycopg2.OperationalError(f"connect timed out after {connect_timeout}s") from None
    else:
        conn = psycopg2.connect(dsn, **kwargs)
    conn.autocommit = autocommit
    return conn


class Database:
    """A small pool of connections with ``transaction()`` as the one way to use them."""

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int = 8,
        application_name: str = "talent",
        **connect_kwargs: Any,
    ) -> None:
        self.dsn = dsn
        self.application_name = application_name
        self._connect_kwargs = connect_kwargs
        self._idle: list[connection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_size)

    def connect(self, **overrides: Any) -> connection:
        kw = dict(self._connect_kwargs, application_name=self.application_name)
        kw.update(overrides)
        return connect(self.dsn, **kw)

    def _checkout(self) -> connection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
        return self.connect()

    def _checkin(self, conn: connection) -> None:
        if conn.closed:
            return
        with self._lock:
            self._idle.append(conn)

    @contextlib.contextmanager
    def transaction(
        self,
        cursor_factory: Callable[..., cursor] | None = None,
        name: str | None = None,
        itersize: int = 2000,
    ) -> Iterator[cursor]:
        """Yield a cursor inside one transaction: committed on success, rolled back on error.
        A connection that failed at the network level is discarded. ``name`` makes it a
        server-side cursor that streams ``itersize`` rows at a time."""
        self._slots.acquire()
        conn = None
        try:
            conn = self._checkout()
            try:
                with conn.cursor(name=name, cursor_factory=cursor_factory) as cur:
                    if name:
                        cur.itersize = itersize
                    yield cur
                conn.commit()
            except CONNECTION_ERRORS:
                conn.close()
                raise
            except BaseException:
                if not conn.closed:
                    try:
                        conn.rollback()
                    except CONNECTION_ERRORS:
                        conn.close()
                raise
            finally:
                self._checkin(conn)
        finally:
            self._slots.release()

    @contextlib.contextmanager
    def explicit_transaction(self) -> Iterator[cursor]:
        """Yield a cursor for a caller that sends ``BEGIN`` and ``COMMIT`` itself, each in the same
        round trip as its first and its last statement (so a two-statement transaction costs two
        round trips, not four). The connection is in autocommit mode meanwhile: psycopg2 sends
        nothing of its own. A transaction left open is committed on success; one open or failed
        is rolled back on error. Not for server-side (named) cursors."""
        self._slots.acquire()
        conn = None
        try:
            conn = self._checkout()
            autocommit, conn.autocommit = conn.autocommit, True
            try:
                with conn.cursor() as cur:
                    yield cur
                    status = conn.info.transaction_status
                    if status == psycopg2.extensions.TRANSACTION_STATUS_INTRANS:
                        cur.execute("COMMIT")
                    elif status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                        cur.execute("ROLLBACK")
            except CONNECTION_ERRORS:
                conn.close()
                raise
            except BaseException:
                if not conn.closed and (
                    conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE
                ):
                    try:
                        with conn.cursor() as cur:
                            cur.execute("ROLLBACK")
                    except CONNECTION_ERRORS:
                        conn.close()
                raise
            finally:
                if not conn.closed:
                    if conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                        conn.autocommit = autocommit
                    else:  # state unknown: never hand it to the next transaction
                        conn.close()
                self._checkin(conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def create_database(admin_dsn: str, dbname: str, *, drop_first: bool = False) -> None:
    """Create ``dbname`` (as the server's admin) if it does not exist."""
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            if drop_first:
                cur.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        conn.close()


def drop_database(admin_dsn: str, dbname: str) -> None:
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    finally:
        conn.close()
