"""SQL is always parameterised: every value reaches PostgreSQL as a bound parameter (``%s``).

The test reads the source of shared/, services/ and talent_audit/ and finds every piece of SQL
text built by interpolation (f-strings, ``%`` or ``str.format`` on text holding SQL keywords).
Each interpolated expression must be in ``REVIEWED``: an identifier or fragment fixed in the
code, never a value from a request or an event. A new one fails here until someone has looked at
it and added it.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM|SET|VALUES|TRUNCATE|DROP|CREATE|"
    r"ALTER|COPY|AND|OR|ORDER BY|LIMIT|JOIN)\b"
)

# (file, interpolated expression): why it is not a value from outside
REVIEWED = {
    ("services/applications/queries.py", "column"): "filter column names from a dict in code",
    ("services/subsidies/queries.py", "column"): "a loop over a tuple of column names",
    ("services/subsidies/projections.py", "column"): "a loop over a tuple of column names",
    ("services/subsidies/projections.py", "_CHARGED"): "a module constant SQL condition",
    ("services/subsidies/projections.py", "_LINES"): "a module constant CTE",
    ("services/notifications/queries.py", "column"): "'application_id', 'talent_id' or one of"
    " the constant DELIVERY_FILTERS",
    ("services/notifications/queries.py", "_DELIVERY_COLUMNS"): "a module constant",
    ("talent_audit/index.py", "_HISTORY_COLUMNS"): "a module constant",
    ("shared/messaging/relay.py", "_ENVELOPE_COLUMNS"): "a module constant",
    ("shared/runtime/provider.py", "STORED"): "a module constant (shared/provenance.py, %s)",
    ("shared/web.py", "prov.STORED"): "a module constant (shared/provenance.py, %s)",
    ("talent_audit/replay.py", "schema"): "the replay schema the tool names itself",
    ("talent_audit/replay.py", "t"): "read-model table names from the projectors' migrations",
    ("talent_audit/copy.py", "table_name"): "read-model table names from the projectors'"
    " migrations",
    ("talent_audit/copy.py", "', '.join(columns)"): "column names from the catalogue",
    ("talent_audit/copy.py", "index"): "a replay schema's index, quoted, named by the catalogue",
    ("talent_audit/copy.py", "table"): "a replay schema's table, quoted, named by the catalogue",
    ("talent_audit/copy.py", "constraint"): "a replay schema's constraint, quoted, from the"
    " catalogue",
    ("talent_audit/copy.py", "constraint_def"): "pg_get_constraintdef of a constraint the"
    " projectors' migrations made in the same"
    " transaction",
    ("shared/readmodel.py", "table.name"): "a Table's name",
    ("shared/readmodel.py", "t.name"): "a Table's name",
    ("shared/readmodel.py", "s.name"): "a Table's name (an insert_from's source)",
    ("shared/readmodel.py", "table.ref(self.column)"): "a Table's column, qualified",
    ("shared/readmodel.py", "', '.join(values)"): "columns, each checked by Table.ref",
    ("shared/readmodel.py", "', '.join(t.columns)"): "a Table's columns",
    ("shared/readmodel.py", "', '.join([*values, *take])"): "columns, each checked by Table.ref",
    ("shared/readmodel.py", "', '.join(['%s'] * len(values))"): "placeholders",
    (
        "shared/readmodel.py",
        "', '.join(['%s'] * len(values) + taken)",
    ): "placeholders and a source Table's columns, qualified by Table.ref",
    ("shared/readmodel.py", "sets"): "SET items: checked columns = placeholders or expressions",
    ("shared/readmodel.py", "_set_sql(t, update or {}, computed, params)"): "the same, by _set_sql",
    ("shared/readmodel.py", "_key_sql(t, key, params)"): "key columns (Table.ref) = placeholders",
    ("shared/readmodel.py", "_key_sql(s, key, params)"): "key columns (Table.ref) = placeholders",
    ("shared/readmodel.py", "only.sql(t, params)"): "a Condition: Table.ref columns, placeholders",
    ("shared/readmodel.py", "self.left.sql(table, params)"): "a Condition's, as above",
    ("shared/readmodel.py", "self.right.sql(table, params)"): "a Condition's, as above",
    ("shared/db.py", "dbname"): "database names from configuration and tests (admin only)",
    ("shared/store/schema.py", "COLUMNS"): "a module constant",
    ("shared/store/recording.py", "_SELECT"): "a module constant",
    ("shared/store/schema.py", "locks.APPEND"): "a module constant (talent_append's migration)",
    (
        "shared/store/schema.py",
        "CONFLICT_SQLSTATE",
    ): "a module constant (talent_append's migration)",
    ("shared/store/schema.py", "GENESIS_HASH"): "a module constant (talent_append's migration)",
    ("shared/store/schema.py", "NOTIFY_CHANNEL"): "a module constant (talent_append's migration)",
    ("shared/store/recording.py", "self.event_id"): "PositionOf: a UUID's text, made by uuid.UUID",
}


def interpolations():
    found = set()
    for path in sorted(
        p for d in ("shared", "services", "talent_audit") for p in (ROOT / d).rglob("*.py")
    ):
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if SQL.search(text):
                    found |= {
                        (rel, ast.unparse(v.value))
                        for v in node.values
                        if isinstance(v, ast.FormattedValue)
                    }
            elif (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Mod)
                and isinstance(node.left, ast.Constant)
                and isinstance(node.left.value, str)
                and SQL.search(node.left.value)
            ):
                found.add((rel, "%"))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"
                and SQL.search(_text_of(node.func.value))
            ):
                found.add((rel, ".format"))
    return found


def _text_of(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):  # a module constant holding SQL
        return node.id if node.id.isupper() and node.id.startswith("_") else ""
    return ""


def test_every_interpolation_into_sql_is_a_reviewed_identifier():
    found = interpolations()
    unreviewed = sorted(found - set(REVIEWED))
    assert not unreviewed, (
        f"SQL built by interpolation: bind values with %s, or review and list here: {unreviewed}"
    )


def test_the_scan_finds_what_it_should():
    # the scan is not blind, and the reviewed list holds nothing that is gone
    assert set(REVIEWED) <= interpolations()
