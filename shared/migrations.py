"""Idempotent schema migrations, applied at service start under an advisory lock so replicas
starting together do not race. Each migration is (name, sql) and runs once, in order."""

MIGRATION_LOCK = 7_356_000


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
