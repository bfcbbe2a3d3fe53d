"""shared.db.prepared: a statement is PREPAREd once per connection, then only EXECUTEd; what it
returns is what the plain statement returns, and a rollback or a reconnect does not confuse it."""

import psycopg2
import pytest

from shared.db import Database, prepared

SQL = "SELECT %s::int + 1, %s = ANY(%s), %s::text IS NULL"


def server_prepared(cur):
    cur.execute("SELECT count(*) FROM pg_prepared_statements")
    return cur.fetchone()[0]


def test_prepared_once_per_connection_with_the_plain_statements_results(fresh_db):
    db = Database(fresh_db("prepared"), max_size=1)
    try:
        with db.explicit_transaction() as cur:
            cur.execute(SQL, (1, "a", ["a", "b"], None))
            plain = cur.fetchone()
            for _ in range(3):
                cur.execute(prepared(cur, SQL), (1, "a", ["a", "b"], None))
                assert cur.fetchone() == plain == (2, True, True)
            assert server_prepared(cur) == 1
            cur.execute(prepared(cur, SQL), (41, "z", [], "x"))
            assert cur.fetchone() == (42, False, False)
    finally:
        db.close()


def test_a_rolled_back_transaction_keeps_the_statement_and_a_new_connection_prepares_again(
    fresh_db,
):
    db = Database(fresh_db("prepared"), max_size=1)
    try:
        with pytest.raises(psycopg2.errors.DivisionByZero):
            with db.explicit_transaction() as cur:
                cur.execute("BEGIN")
                cur.execute(prepared(cur, SQL), (1, "a", ["a"], None))
                cur.execute("SELECT 1 / 0")
        with db.explicit_transaction() as cur:  # the same connection: PREPARE outlived ROLLBACK
            assert server_prepared(cur) == 1
            cur.execute(prepared(cur, SQL), (2, "a", ["a"], None))
            assert cur.fetchone() == (3, True, True)
        with pytest.raises(psycopg2.InterfaceError):  # as if the server dropped it
            with db.explicit_transaction() as cur:
                cur.connection.close()
        with db.explicit_transaction() as cur:  # a new connection prepares it again
            assert server_prepared(cur) == 0
            cur.execute(prepared(cur, SQL), (3, "a", ["a"], None))
            assert cur.fetchone() == (4, True, True)
    finally:
        db.close()


def test_a_connection_not_opened_by_shared_db_runs_the_plain_statement(fresh_db):
    conn = psycopg2.connect(fresh_db("prepared"))
    try:
        with conn.cursor() as cur:
            assert prepared(cur, SQL) == SQL
            cur.execute(prepared(cur, SQL), (1, "a", ["a"], None))
            assert cur.fetchone() == (2, True, True)
    finally:
        conn.close()
