"""The event store's tables and the database roles.

* ``EVENT_STORE``: the migrations of the ``events`` table (append-only by trigger), the relay
  cursor, the key store of personal fields and ``talent_append``, the part of an append done by
  the server under the append lock.
* ``apply``: idempotent migrations, applied at service start under an advisory lock so replicas
  starting together do not race. Each migration is (name, sql) and runs once, in order.
* ``grant_service_role`` / ``runtime_dsn``: the service's own login, which may only INSERT and
  SELECT the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shared import locks
from shared.store import sealing
from shared.store.canonical import GENESIS_HASH

if TYPE_CHECKING:
    from shared.db import Database

NOTIFY_CHANNEL = "talent_events"
"""NOTIFY'd by every append, LISTENed to by the relay."""
CONFLICT_SQLSTATE = "TL409"
"""Raised by talent_append when the stream moved on."""
COLUMNS = (
    "global_position, event_id, stream_type, stream_id, stream_version, event_type, "
    "schema_version, payload, metadata, recorded_at, prev_hash, hash"
)


EVENT_STORE: list[tuple[str, str]] = (
    [
        (
            "0001_events",
            """
        CREATE TABLE events (
            global_position bigint PRIMARY KEY,
            event_id        uuid NOT NULL UNIQUE,
            stream_type     text NOT NULL,
            stream_id       text NOT NULL,
            stream_version  integer NOT NULL CHECK (stream_version > 0),
            event_type      text NOT NULL,
            schema_version  integer NOT NULL,
            payload         jsonb NOT NULL,
            metadata        jsonb NOT NULL,
            recorded_at     timestamptz NOT NULL,
            prev_hash       text NOT NULL,
            hash            text NOT NULL,
            CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
        );
        CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'events is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
            FOR EACH ROW EXECUTE FUNCTION events_append_only();
        CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
            FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
    """,
        ),
        (
            "0002_relay_cursor",
            """
        CREATE TABLE relay_cursor (
            name     text PRIMARY KEY,
            position bigint NOT NULL
        );
    """,
        ),
    ]
    + sealing.MIGRATIONS
    + [  # the key store of personal fields (shared/store/sealing.py)
        # The append under the lock, done by the server: no client round trip is waited for while the
        # lock is held (see ``shared.store.recording.EventStore._append``). Each event arrives as three texts, its canonical
        # bytes split where the position and the previous hash go (``canonical.split_canonical``); the function splices
        # them, hashes with sha256(), inserts the canonical JSON plus "hash" and leaves the positions
        # and hashes in the session setting ``talent.appended`` for the caller to read back.
        (
            "0003_talent_append",
            f"""
        CREATE FUNCTION talent_append(p_stream text, p_expected integer, p_parts text[])
        RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            v_current integer;
            v_position bigint;
            v_prev text;
            v_first bigint;
            v_head text;
            v_canonical text;
            v_hash text;
            v_hashes text[] := '{{}}';
            v_rows text[] := '{{}}';
        BEGIN
            PERFORM pg_advisory_xact_lock({locks.APPEND});
            SELECT coalesce(max(stream_version), 0) INTO v_current
                FROM events WHERE stream_id = p_stream;
            IF v_current <> p_expected THEN
                RAISE EXCEPTION 'stream % is at version %, expected %',
                    p_stream, v_current, p_expected
                    USING ERRCODE = '{CONFLICT_SQLSTATE}', DETAIL = v_current::text;
            END IF;
            SELECT global_position, hash INTO v_position, v_prev
                FROM events ORDER BY global_position DESC LIMIT 1;
            v_position := coalesce(v_position, 0);
            v_prev := coalesce(v_prev, '{GENESIS_HASH}');
            v_first := v_position + 1;
            v_head := v_prev;
            FOR i IN 1 .. coalesce(array_length(p_parts, 1), 0) / 3 LOOP
                v_position := v_position + 1;
                v_canonical := p_parts[3 * i - 2] || v_position || p_parts[3 * i - 1]
                               || v_prev || p_parts[3 * i];
                v_hash := encode(sha256(convert_to(v_canonical, 'UTF8')), 'hex');
                v_rows := v_rows || (left(v_canonical, -1) || ',"hash":"' || v_hash || '"}}');
                v_hashes := v_hashes || v_hash;
                v_prev := v_hash;
            END LOOP;
            INSERT INTO events ({COLUMNS})
                SELECT {COLUMNS} FROM json_populate_recordset(
                    NULL::events, ('[' || array_to_string(v_rows, ',') || ']')::json);
            PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
            PERFORM set_config('talent.appended',
                json_build_object('first', v_first, 'prev', v_head, 'hashes', v_hashes)::text, false);
        END $$;
    """,
        ),
        # what an import recorded, found by its key (shared/provenance.py, shared/web.py): only
        # imported events carry one, so the index holds them alone
        (
            "0004_events_import_key",
            """
        CREATE INDEX events_import_key ON events ((metadata->'provenance'->>'key'))
            WHERE metadata ? 'provenance';
    """,
        ),
    ]
)


def apply(db: Database, migrations: Sequence[tuple[str, str]]) -> list[str]:
    """Apply the ``(name, sql)`` migrations not applied yet, in order; their names."""
    with db.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (locks.MIGRATION,))
        cur.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                           name text PRIMARY KEY,
                           applied_at timestamptz NOT NULL DEFAULT now())""")
        cur.execute("SELECT name FROM schema_migrations")
        done = {name for (name,) in cur.fetchall()}
        applied = []
        for name, sql in migrations:
            if name in done:
                continue
            cur.execute(sql)
            cur.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
            applied.append(name)
    return applied


# -- the service's own database role -------------------------------------------------------------
# Migrations run as the database owner; the service then works as a role that may read and write
# its read models, inbox and relay cursor but may only INSERT and SELECT the events (the trigger
# refuses UPDATE/DELETE/TRUNCATE too: two locks, one of them not the table's own).
APPEND_ONLY_TABLES = ("events",)


def runtime_dsn(owner_dsn: str, role: str, password: str | None = None) -> str:
    """``owner_dsn`` with the login replaced by the service role's."""
    from psycopg2.extensions import make_dsn

    extra = {"user": role}
    if password:
        extra["password"] = password
    return make_dsn(owner_dsn, **extra)


def grant_service_role(db: Database, role: str) -> None:
    """Create ``role`` (LOGIN, nothing else) if missing, and give it exactly what the service
    needs in this database: DML on every table but the append-only ones, INSERT and SELECT on
    those. Idempotent; run after every migration so tables added later are covered."""
    from psycopg2 import errors, sql

    ident = sql.Identifier(role)
    for _attempt in range(3):  # CREATE ROLE races with a replica (or a test system) doing the same
        try:
            with db.transaction() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (locks.ROLE,))
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if cur.fetchone() is None:
                    cur.execute(
                        sql.SQL(
                            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
                        ).format(ident)
                    )
            break
        except (errors.DuplicateObject, errors.UniqueViolation):
            continue
    with db.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (locks.ROLE,))
        cur.execute("SELECT current_database()")
        dbname = sql.Identifier(cur.fetchone()[0])  # type: ignore[index]  # one row, always
        cur.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(dbname, ident))
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
        cur.execute(
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN "
                "SCHEMA public TO {}"
            ).format(ident)
        )
        cur.execute(
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(
                ident
            )
        )
        for table in APPEND_ONLY_TABLES:
            cur.execute("SELECT to_regclass(%s)", (f"public.{table}",))
            if cur.fetchone()[0] is None:  # type: ignore[index]  # one row, always
                continue
            cur.execute(
                sql.SQL(
                    "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} FROM {}"
                ).format(sql.Identifier(table), ident)
            )
            cur.execute(
                sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(sql.Identifier(table), ident)
            )
        # schema_migrations is the owner's: the service reads it, never writes it
        cur.execute(
            sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM {}").format(
                ident
            )
        )
