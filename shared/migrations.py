"""Idempotent schema migrations, applied at service start under an advisory lock so replicas
starting together do not race. Each migration is (name, sql) and runs once, in order."""

from shared.locks import MIGRATION as MIGRATION_LOCK
from shared.locks import ROLE as ROLE_LOCK


def apply(db, migrations):
    with db.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
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


def runtime_dsn(owner_dsn, role, password=None):
    """``owner_dsn`` with the login replaced by the service role's."""
    from psycopg2.extensions import make_dsn
    extra = {"user": role}
    if password:
        extra["password"] = password
    return make_dsn(owner_dsn, **extra)


def grant_service_role(db, role):
    """Create ``role`` (LOGIN, nothing else) if missing, and give it exactly what the service
    needs in this database: DML on every table but the append-only ones, INSERT and SELECT on
    those. Idempotent; run after every migration so tables added later are covered."""
    from psycopg2 import errors, sql
    ident = sql.Identifier(role)
    for attempt in range(3):  # CREATE ROLE races with a replica (or a test system) doing the same
        try:
            with db.transaction() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (ROLE_LOCK,))
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB "
                                        "NOCREATEROLE NOINHERIT").format(ident))
            break
        except (errors.DuplicateObject, errors.UniqueViolation):
            continue
    with db.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (ROLE_LOCK,))
        cur.execute("SELECT current_database()")
        dbname = sql.Identifier(cur.fetchone()[0])
        cur.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(dbname, ident))
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
        cur.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN "
                            "SCHEMA public TO {}").format(ident))
        cur.execute(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public "
                            "TO {}").format(ident))
        for table in APPEND_ONLY_TABLES:
            cur.execute("SELECT to_regclass(%s)", (f"public.{table}",))
            if cur.fetchone()[0] is None:
                continue
            cur.execute(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} "
                                "FROM {}").format(sql.Identifier(table), ident))
            cur.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(
                sql.Identifier(table), ident))
        # schema_migrations is the owner's: the service reads it, never writes it
        cur.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations "
                            "FROM {}").format(ident))
