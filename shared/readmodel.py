"""Read models defined once: their tables, and the row changes each event makes to them.

A read model is a ``ReadModel`` subclass. It declares its tables (``Table``: columns, primary key,
the defaults an insert leaves to the table, its text[] columns, the other column sets its rows
are found by) and the migrations that make them, and per event type a handler
``(self, event, rows)`` (``@on("EventType", ...)``; ``@otherwise`` for every type no handler
names) that says what the event changes, in ``rows``' terms:

* ``rows.insert(table, values)``: a new row (a key already there is refused); ``values`` a
  dict, or a tuple of every column's value in the table's order (the cheapest row to keep in
  memory);
* ``rows.upsert(table, values, update, computed)``: a new row, or where its key is taken,
  ``update`` and ``computed`` set on that row (neither: that row stays as it is);
* ``rows.insert_from(table, values, source, key, take)``: one new row per row of ``source`` that
  ``key`` finds, with ``values`` and the ``take`` columns of that source row;
* ``rows.update(table, key, values, computed, only)`` and ``rows.delete(table, key, only)``
  (``values`` may be a function that makes them, for values that cost something to make: the
  memory sink makes them only if ``key`` finds a row);
* ``rows.count(table, key)`` and ``rows.get(table, key)`` read the rows as the changes before
  them left them.

``key`` finds rows: the primary key's value (a tuple in key order for a key of several columns),
``In(keys)`` (any of them) or ``By(column=value, ...)`` (a ``lookup`` of the table); a NULL finds
nothing, as in SQL. ``only`` is a condition on the rows found: ``Eq``, ``Ne``, ``Empty``,
combined with ``&``, ``|`` and ``~``. ``computed`` maps columns to expressions of the row as it
was before the change: ``Add(n)``, ``Append(item)``, ``Remove(item)``, ``Case((condition, value),
..., otherwise=KEEP)`` (every expression and condition of one change reads the old row, as one
SQL statement does; the next change sees its result).

Both paths come from that one definition, and make the same rows from the same events:

* live (``apply(cur, event)``, inside the append's transaction, with ``migrations`` and
  ``reset``): ``SqlRows`` sends each change as one SQL statement and each read as one query
  through ``cur`` (the store batches the statements into the append's round trip);
* bulk replay (``fold()``, for ``talent-audit replay``): ``MemoryRows`` applies the changes to
  rows held in memory (per table a dict by primary key, and one per lookup) and ``tables()``
  gives them as ``{table: (columns, rows)}`` for COPY.

A handler calls ``rows`` rather than returning changes as values: in replay, each change is then
one method call on rows in memory (a change made as an object and dispatched cost half as much
again), which keeps the bulk path close to a fold written by hand for the memory sink alone.
"""

from __future__ import annotations

import abc
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")


# -- tables -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Table:
    """A read model's table as its changes see it. ``columns`` are all its columns, ``key`` its
    primary key; ``defaults`` the values of the columns whose DEFAULT is not NULL (an insert that
    leaves a column out gets its default); ``arrays`` its text[] columns; ``lookups`` the column
    sets besides the key that ``By`` may name (the memory sink keeps an index on each)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    arrays: tuple[str, ...] = ()
    lookups: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        for name in (self.name, *self.columns):
            if not _IDENTIFIER.match(name):
                raise ValueError(f"{name!r} is not a plain lower-case SQL identifier")
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"{self.name}: a column is named twice")
        named = {*self.key, *self.defaults, *self.arrays, *itertools.chain(*self.lookups)}
        if not self.key or not named <= set(self.columns):
            raise ValueError(
                f"{self.name}: key, defaults, arrays and lookups must name columns "
                f"(unknown: {sorted(named - set(self.columns))})"
            )

    def ref(self, column: str) -> str:
        """``column`` qualified by the table's name, refused unless it is one of its columns."""
        if column not in self.columns:
            raise ValueError(f"{self.name} has no column {column!r}")
        return f"{self.name}.{column}"

    def lookup(self, columns: Iterable[str]) -> tuple[str, ...]:
        """The lookup ``columns`` are (in its order); refused if they are none."""
        wanted = set(columns)
        for cols in self.lookups:
            if set(cols) == wanted:
                return cols
        raise ValueError(
            f"{self.name} has no lookup by {sorted(wanted)} (its lookups: {self.lookups})"
        )


# -- finding rows -------------------------------------------------------------------------------
class In:
    """Finds the rows of any of ``keys`` (each the primary key's value, as a plain key)."""

    __slots__ = ("keys",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, keys: Iterable[Any]) -> None:
        self.keys = tuple(dict.fromkeys(keys))  # each once, in order

    def __eq__(self, other: object) -> bool:
        return isinstance(other, In) and self.keys == other.keys

    def __repr__(self) -> str:
        return f"In({list(self.keys)!r})"


class By:
    """Finds the rows whose ``columns`` (one of the table's lookups) hold these values."""

    __slots__ = ("columns",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, **columns: Any) -> None:
        if not columns:
            raise ValueError("By names at least one column")
        self.columns = columns

    def __eq__(self, other: object) -> bool:
        return isinstance(other, By) and self.columns == other.columns

    def __repr__(self) -> str:
        return f"By({', '.join(f'{c}={v!r}' for c, v in self.columns.items())})"


_FINDERS = frozenset({In, By})


# -- conditions and expressions -----------------------------------------------------------------
class Condition(abc.ABC):
    """A condition on a row: ``sql`` for the live path, ``holds(row)`` for the memory sink."""

    @abc.abstractmethod
    def sql(self, table: Table, params: list[Any]) -> str:
        """The condition as SQL over ``table``'s columns, its values appended to ``params``."""

    @abc.abstractmethod
    def holds(self, row: Mapping[str, Any]) -> bool:
        """Whether the condition holds for ``row`` (column -> value)."""

    def __and__(self, other: Condition) -> Condition:
        return _All(self, other)

    def __or__(self, other: Condition) -> Condition:
        return _Any(self, other)

    def __invert__(self) -> Condition:
        return _Not(self)


@dataclass(frozen=True)
class Eq(Condition):
    """``column`` equals ``value`` (``None``: the column is NULL)."""

    column: str
    value: Any

    def sql(self, table: Table, params: list[Any]) -> str:
        if self.value is None:
            return f"{table.ref(self.column)} IS NULL"
        params.append(self.value)
        return f"{table.ref(self.column)} = %s"

    def holds(self, row: Mapping[str, Any]) -> bool:
        return row[self.column] == self.value


@dataclass(frozen=True)
class Ne(Condition):
    """``column`` is other than ``value`` (NULL is other than any value but NULL)."""

    column: str
    value: Any

    def sql(self, table: Table, params: list[Any]) -> str:
        params.append(self.value)
        return f"{table.ref(self.column)} IS DISTINCT FROM %s"

    def holds(self, row: Mapping[str, Any]) -> bool:
        return row[self.column] != self.value


@dataclass(frozen=True)
class Empty(Condition):
    """The array ``column`` (NOT NULL) has no items."""

    column: str

    def sql(self, table: Table, params: list[Any]) -> str:
        return f"cardinality({table.ref(self.column)}) = 0"

    def holds(self, row: Mapping[str, Any]) -> bool:
        return not row[self.column]


@dataclass(frozen=True)
class _All(Condition):
    left: Condition
    right: Condition

    def sql(self, table: Table, params: list[Any]) -> str:
        return f"({self.left.sql(table, params)} AND {self.right.sql(table, params)})"

    def holds(self, row: Mapping[str, Any]) -> bool:
        return self.left.holds(row) and self.right.holds(row)


@dataclass(frozen=True)
class _Any(Condition):
    left: Condition
    right: Condition

    def sql(self, table: Table, params: list[Any]) -> str:
        return f"({self.left.sql(table, params)} OR {self.right.sql(table, params)})"

    def holds(self, row: Mapping[str, Any]) -> bool:
        return self.left.holds(row) or self.right.holds(row)


@dataclass(frozen=True)
class _Not(Condition):
    inner: Condition

    def sql(self, table: Table, params: list[Any]) -> str:
        return f"NOT {self.inner.sql(table, params)}"

    def holds(self, row: Mapping[str, Any]) -> bool:
        return not self.inner.holds(row)


class Expression(abc.ABC):
    """A column's new value computed from the row as it was."""

    @abc.abstractmethod
    def sql(self, table: Table, column: str, params: list[Any]) -> str:
        """The value as SQL over ``table``'s columns, its values appended to ``params``."""

    @abc.abstractmethod
    def value(self, old: Any, row: Mapping[str, Any]) -> Any:
        """The value for ``row`` (column -> value), ``old`` being the column's there."""


@dataclass(frozen=True)
class Add(Expression):
    """The column plus ``amount`` (NULL stays NULL)."""

    amount: Any

    def sql(self, table: Table, column: str, params: list[Any]) -> str:
        params.append(self.amount)
        return f"{table.ref(column)} + %s"

    def value(self, old: Any, row: Mapping[str, Any]) -> Any:
        return None if old is None else old + self.amount


@dataclass(frozen=True)
class Append(Expression):
    """The array column with ``item`` added at its end (``array_append``)."""

    item: Any

    def sql(self, table: Table, column: str, params: list[Any]) -> str:
        params.append(self.item)
        return f"array_append({table.ref(column)}, %s)"

    def value(self, old: Any, row: Mapping[str, Any]) -> Any:
        return [self.item] if old is None else [*old, self.item]


@dataclass(frozen=True)
class Remove(Expression):
    """The array column without any item equal to ``item`` (``array_remove``)."""

    item: Any

    def sql(self, table: Table, column: str, params: list[Any]) -> str:
        params.append(self.item)
        return f"array_remove({table.ref(column)}, %s)"

    def value(self, old: Any, row: Mapping[str, Any]) -> Any:
        return None if old is None else [v for v in old if v != self.item]


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()  # in a Case: the column keeps its value


class Case(Expression):
    """The value of the first ``(condition, value)`` whose condition holds, else ``otherwise``
    (a value ``KEEP``: the column's own)."""

    __slots__ = ("cases", "otherwise")

    def __init__(self, *cases: tuple[Condition, Any], otherwise: Any = KEEP) -> None:
        if not cases:
            raise ValueError("a Case needs at least one (condition, value)")
        self.cases, self.otherwise = cases, otherwise

    def sql(self, table: Table, column: str, params: list[Any]) -> str:
        parts = []
        for condition, value in self.cases:
            test = condition.sql(table, params)
            parts.append(f"WHEN {test} THEN {_case_value(table, column, value, params)}")
        rest = _case_value(table, column, self.otherwise, params)
        return f"CASE {' '.join(parts)} ELSE {rest} END"

    def value(self, old: Any, row: Mapping[str, Any]) -> Any:
        for condition, value in self.cases:
            if condition.holds(row):
                return old if value is KEEP else value
        return old if self.otherwise is KEEP else self.otherwise

    def __repr__(self) -> str:
        return f"Case(*{self.cases!r}, otherwise={self.otherwise!r})"


def _case_value(table: Table, column: str, value: Any, params: list[Any]) -> str:
    if value is KEEP:
        return table.ref(column)
    params.append(value)
    return "%s"


# -- what a handler sees ------------------------------------------------------------------------
class Event(Protocol):
    """What a handler reads of an event (the store's ``RecordedEvent``). On the live path
    ``global_position`` is known to the server only: a handler passes it on as a value."""

    event_id: str
    event_type: str
    stream_type: str
    stream_id: str
    stream_version: int
    global_position: Any
    payload: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: Any


Values = dict[str, Any] | Callable[[], dict[str, Any]]  # an update's values, or what makes them
# a row as a handler gives it and the memory sink keeps it: column -> value, or every column's
# value in the table's order
Row = dict[str, Any] | tuple[Any, ...]
# The sinks tell these apart by ``type(x) is dict`` or ``type(x) is tuple`` (one test per change,
# no call). mypy narrows such a test to that type where it holds, but keeps the whole union where
# it does not: the ``# type: ignore``s below mark the code that reads the other type there
# (values not a dict are the function that makes them; a row not a tuple is a dict).


class Rows(Protocol):
    """A read model's tables as a handler changes and reads them. The mappings a handler passes
    become the sink's (the memory sink may keep ``values`` as the row)."""

    def insert(self, table: str, values: Row) -> None: ...

    def upsert(
        self,
        table: str,
        values: dict[str, Any],
        update: dict[str, Any] | None = None,
        computed: dict[str, Expression] | None = None,
    ) -> None: ...

    def insert_from(
        self, table: str, values: dict[str, Any], source: str, key: Any, take: dict[str, str]
    ) -> None: ...

    def update(
        self,
        table: str,
        key: Any,
        values: Values,
        computed: dict[str, Expression] | None = None,
        only: Condition | None = None,
    ) -> None: ...

    def delete(self, table: str, key: Any, only: Condition | None = None) -> None: ...

    def count(self, table: str, key: Any) -> int: ...

    def get(self, table: str, key: Any) -> dict[str, Any] | None: ...


Handler = Callable[[Any, Event, Rows], None]


def on(*event_types: str) -> Callable[[Handler], Handler]:
    """Mark a ``ReadModel`` method as the changes events of ``event_types`` make."""
    if not event_types:
        raise ValueError("name the event types (or use @otherwise)")

    def mark(handler: Handler) -> Handler:
        handler.read_model_events = event_types  # type: ignore[attr-defined]
        return handler

    return mark


def otherwise(handler: Handler) -> Handler:
    """Mark a ``ReadModel`` method as the changes of every event type no ``@on`` names."""
    handler.read_model_events = None  # type: ignore[attr-defined]
    return handler


# -- the live sink: SQL -------------------------------------------------------------------------
def _key_sql(table: Table, key: Any, params: list[Any]) -> str:
    """The WHERE condition that finds ``key``'s rows."""
    if type(key) is By:
        parts = []
        for column in table.lookup(key.columns):
            params.append(key.columns[column])
            parts.append(f"{table.ref(column)} = %s")
        return " AND ".join(parts)
    columns = [table.ref(column) for column in table.key]
    if type(key) is In:
        if len(columns) == 1:
            params.append(list(key.keys))
            return f"{columns[0]} = ANY(%s)"
        if not key.keys:
            return "false"
        one = f"({', '.join(['%s'] * len(columns))})"
        for k in key.keys:
            params.extend(_key_values(table, k))
        return f"({', '.join(columns)}) IN ({', '.join([one] * len(key.keys))})"
    params.extend(_key_values(table, key))
    return " AND ".join(f"{column} = %s" for column in columns)


def _key_values(table: Table, key: Any) -> tuple[Any, ...]:
    if len(table.key) == 1:
        return (key,)
    if type(key) is not tuple or len(key) != len(table.key):
        raise ValueError(f"{table.name}'s key is a tuple {table.key}, not {key!r}")
    return key


def _set_sql(
    table: Table,
    values: Mapping[str, Any],
    computed: Mapping[str, Expression] | None,
    params: list[Any],
) -> str:
    parts = []
    for column, value in values.items():
        _settable(table, column)
        if isinstance(value, Expression):
            raise ValueError(f"{table.name}.{column}: an expression goes in ``computed``")
        params.append(value)
        parts.append(f"{column} = %s")
    for column, expression in (computed or {}).items():
        _settable(table, column)
        if column in values:
            raise ValueError(f"{table.name}.{column} is set twice")
        parts.append(f"{column} = {expression.sql(table, column, params)}")
    if not parts:
        raise ValueError(f"{table.name}: an update sets something")
    return ", ".join(parts)


def _settable(table: Table, column: str) -> None:
    table.ref(column)
    if column in table.key:
        raise ValueError(f"{table.name}: a change does not set the key column {column}")


def _insert_sql(
    table: Table, values: Mapping[str, Any] | tuple[Any, ...], params: list[Any]
) -> str:
    if type(values) is tuple:
        if len(values) != len(table.columns):
            raise ValueError(
                f"{table.name}: a row of {len(values)} values for {len(table.columns)} columns"
            )
        values = dict(zip(table.columns, values))
    for column, value in values.items():  # type: ignore[union-attr]  # not a tuple: a mapping
        table.ref(column)
        if isinstance(value, Expression):
            raise ValueError(f"{table.name}.{column}: an insert's values are values")
        params.append(value)
    return (
        f"INSERT INTO {table.name} ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})"
    )


class SqlRows:
    """The live sink: each change one SQL statement, each read one query, through ``cur``. Every
    table and column name in them is one a ``Table`` declares (a plain identifier); every value
    is a parameter."""

    def __init__(self, cur: Any, tables: Mapping[str, Table]) -> None:
        self.cur, self.tables = cur, tables

    def insert(self, table: str, values: Row) -> None:
        params: list[Any] = []
        self.cur.execute(_insert_sql(self.tables[table], values, params), params)

    def upsert(
        self,
        table: str,
        values: dict[str, Any],
        update: dict[str, Any] | None = None,
        computed: dict[str, Expression] | None = None,
    ) -> None:
        t = self.tables[table]
        params: list[Any] = []
        sql = f"{_insert_sql(t, values, params)} ON CONFLICT ({', '.join(t.key)})"
        if update or computed:
            sql += f" DO UPDATE SET {_set_sql(t, update or {}, computed, params)}"
        else:
            sql += " DO NOTHING"
        self.cur.execute(sql, params)

    def insert_from(
        self, table: str, values: dict[str, Any], source: str, key: Any, take: dict[str, str]
    ) -> None:
        t, s = self.tables[table], self.tables[source]
        params: list[Any] = []
        for column, value in values.items():
            t.ref(column)
            params.append(value)
        for column in take:
            t.ref(column)
        taken = [s.ref(column) for column in take.values()]
        self.cur.execute(
            f"INSERT INTO {t.name} ({', '.join([*values, *take])})"
            f" SELECT {', '.join(['%s'] * len(values) + taken)}"
            f" FROM {s.name} WHERE {_key_sql(s, key, params)}",
            params,
        )

    def update(
        self,
        table: str,
        key: Any,
        values: Values,
        computed: dict[str, Expression] | None = None,
        only: Condition | None = None,
    ) -> None:
        t = self.tables[table]
        params: list[Any] = []
        sets = _set_sql(
            t,
            values if type(values) is dict else values(),  # type: ignore[operator]
            computed,
            params,
        )
        sql = f"UPDATE {t.name} SET {sets} WHERE {_key_sql(t, key, params)}"
        if only is not None:
            sql += f" AND {only.sql(t, params)}"
        self.cur.execute(sql, params)

    def delete(self, table: str, key: Any, only: Condition | None = None) -> None:
        t = self.tables[table]
        params: list[Any] = []
        sql = f"DELETE FROM {t.name} WHERE {_key_sql(t, key, params)}"
        if only is not None:
            sql += f" AND {only.sql(t, params)}"
        self.cur.execute(sql, params)

    def count(self, table: str, key: Any) -> int:
        t = self.tables[table]
        params: list[Any] = []
        self.cur.execute(f"SELECT count(*) FROM {t.name} WHERE {_key_sql(t, key, params)}", params)
        return self.cur.fetchone()[0]

    def get(self, table: str, key: Any) -> dict[str, Any] | None:
        t = self.tables[table]
        params: list[Any] = []
        self.cur.execute(
            f"SELECT {', '.join(t.columns)} FROM {t.name} WHERE {_key_sql(t, key, params)}", params
        )
        row = self.cur.fetchone()
        return None if row is None else dict(zip(t.columns, row))


# -- the replay sink: rows in memory ------------------------------------------------------------
def _array_literal(values: list[str]) -> str:
    """A text[] value as COPY's text format takes it."""
    return (
        "{"
        + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )


Index = dict[Any, dict[Any, dict[str, Any]]]  # a lookup's values -> {row key: row}


class _MemoryTable:
    """One table's rows in memory, by primary key: a row is a dict (column -> value, every
    column there) or, as long as nothing changes it, the tuple an insert gave (every column's
    value in the table's order). Per lookup, an index from its columns' values to the rows (by
    key) that hold them (a table with lookups keeps its rows as dicts)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.columns = table.columns
        self.rows: dict[Any, Row] = {}
        self.dicts = 0  # how many of the rows are dicts
        self.blank = {c: table.defaults.get(c) for c in table.columns}
        self.width = len(table.columns)
        self.key_of = operator.itemgetter(*table.key)
        self.key_at = operator.itemgetter(*(table.columns.index(c) for c in table.key))
        self.composite = len(table.key) > 1
        # lookup columns -> (a row's values there, {those values: {row key: row}})
        self.indexes: dict[tuple[str, ...], tuple[Callable[[dict[str, Any]], Any], Index]] = {
            cols: (operator.itemgetter(*cols), {}) for cols in table.lookups
        }
        self.indexed = frozenset(itertools.chain(*table.lookups))
        self.plain = not self.composite and not self.indexes  # one key column, no lookups
        self.plain_sets = not self.indexes  # an update is one dict update (no index follows)

    def as_dict(self, key: Any, row: tuple[Any, ...]) -> dict[str, Any]:
        """The row of ``key``, kept as a dict from now on (it is about to change)."""
        self.dicts += 1
        kept = self.rows[key] = dict(zip(self.columns, row))
        return kept

    def find(self, key: Any) -> list[dict[str, Any]]:
        """The rows ``key`` (a key, ``In`` or ``By``) finds, as dicts; a NULL finds nothing."""
        rows = self.rows
        if type(key) is By:
            cols = self.table.lookup(key.columns)
            values = tuple(key.columns[c] for c in cols)
            if None in values:
                return []
            bucket = self.indexes[cols][1].get(values[0] if len(cols) == 1 else values)
            return list(bucket.values()) if bucket else []
        found: list[dict[str, Any]] = []
        for k in key.keys if type(key) is In else (key,):
            row = rows.get(k)
            if row is not None:
                found.append(self.as_dict(k, row) if type(row) is tuple else row)  # type: ignore[arg-type]  # not a tuple: a dict
        return found

    def insert(self, values: Row) -> None:
        row: Row
        if type(values) is tuple:
            if len(values) != self.width:
                raise ValueError(
                    f"{self.table.name}: a row of {len(values)} values for {self.width} columns"
                )
            key, row = self.key_at(values), values
            if self.indexes:
                row = dict(zip(self.columns, values))
                self.dicts += 1
        else:
            if len(values) == self.width:
                row = values  # (if those are not the table's columns, ``dump`` says so)
            else:
                row = {**self.blank, **values}  # type: ignore[dict-item]  # not a tuple: a dict
                if len(row) != self.width:
                    self.unknown(row)
            key = self.key_of(row)
            self.dicts += 1
        if (None in key) if self.composite else key is None:
            raise ValueError(f"{self.table.name}: a key column is NULL in {values}")
        if self.rows.setdefault(key, row) is not row:
            raise ValueError(f"{self.table.name}: duplicate key {key!r}")
        if self.indexes:  # (a table with lookups keeps its rows as dicts)
            self._index(key, row)  # type: ignore[arg-type]

    def set(
        self,
        row: dict[str, Any],
        values: Mapping[str, Any],
        computed: Mapping[str, Expression] | None,
    ) -> None:
        """Set ``values`` and ``computed`` (reading the row as it was) on ``row``."""
        new = {c: e.value(row[c], row) for c, e in computed.items()} if computed else None
        moves = self.indexed and not (
            self.indexed.isdisjoint(values) and (new is None or self.indexed.isdisjoint(new))
        )
        if moves:
            self._unindex(self.key_of(row), row)
        row.update(values)
        if new is not None:
            row.update(new)
        if moves:
            self._index(self.key_of(row), row)

    def delete(self, row: dict[str, Any]) -> None:
        key = self.key_of(row)
        del self.rows[key]
        self.dicts -= 1
        if self.indexes:
            self._unindex(key, row)

    def unknown(self, row: Mapping[str, Any]) -> None:
        missing, extra = set(self.blank) - set(row), set(row) - set(self.blank)
        raise ValueError(
            f"{self.table.name}: no column {sorted(extra)}"
            + (f" (and {sorted(missing)} missing)" if missing else "")
        )

    def _index(self, key: Any, row: dict[str, Any]) -> None:
        for cols, (values_of, index) in self.indexes.items():
            values = values_of(row)
            if (values is not None) if len(cols) == 1 else (None not in values):
                index.setdefault(values, {})[key] = row

    def _unindex(self, key: Any, row: dict[str, Any]) -> None:
        for values_of, index in self.indexes.values():
            values = values_of(row)
            bucket = index.get(values)
            if bucket is not None and bucket.pop(key, None) is not None and not bucket:
                del index[values]

    def dump(self) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        columns, kept = self.columns, self.rows.values()
        as_tuple = (
            operator.itemgetter(*columns) if len(columns) > 1 else (lambda r: (r[columns[0]],))
        )
        # a row with a column the table has not is refused: one an update set (a row longer
        # than the table is wide), or one an insert gave instead of another (KeyError below)
        if self.dicts and set(map(len, kept)) != {self.width}:  # (a tuple row is as wide)
            self.unknown(cast("dict[str, Any]", next(r for r in kept if len(r) != self.width)))
        rows: list[tuple[Any, ...]]
        try:
            if not self.dicts:
                rows = cast("list[tuple[Any, ...]]", list(kept))  # (no row is a dict)
            elif self.dicts == len(kept):
                rows = list(map(as_tuple, kept))
            else:
                rows = [r if type(r) is tuple else as_tuple(r) for r in kept]
        except KeyError:
            for row in kept:
                if type(row) is dict and row.keys() != self.blank.keys():
                    self.unknown(row)
            raise
        for column in self.table.arrays:
            at = columns.index(column)
            rows = [r[:at] + (_array_literal(r[at]),) + r[at + 1 :] for r in rows]
        return columns, rows


class MemoryRows:
    """The memory sink: a read model's tables as rows in memory, each change applied with the
    effect its statement has on the live path (an update or delete that finds no row changes
    nothing; a taken key and a NULL key are refused, and a column the table does not have, by
    the insert or by ``dump``)."""

    def __init__(self, tables: Iterable[Table]) -> None:
        self.tables = {t.name: _MemoryTable(t) for t in tables}

    def insert(self, table: str, values: Row) -> None:
        t = self.tables[table]
        if type(values) is tuple and t.plain and len(values) == t.width:
            rows, key = t.rows, t.key_at(values)  # the most common change of a bulk replay
            if key is not None:
                before = len(rows)
                rows[key] = values
                if len(rows) == before:  # (the row there is lost, as is the replay)
                    raise ValueError(f"{table}: duplicate key {key!r}")
                return
        t.insert(values)

    def upsert(
        self,
        table: str,
        values: dict[str, Any],
        update: dict[str, Any] | None = None,
        computed: dict[str, Expression] | None = None,
    ) -> None:
        t = self.tables[table]
        try:
            key = t.key_of(values)
        except KeyError:
            raise ValueError(f"{table}: an upsert names every key column") from None
        row = t.rows.get(key)
        if row is None:
            t.insert(values)
        elif update or computed:
            t.set(t.as_dict(key, row) if type(row) is tuple else row, update or {}, computed)  # type: ignore[arg-type]  # not a tuple: a dict

    def insert_from(
        self, table: str, values: dict[str, Any], source: str, key: Any, take: dict[str, str]
    ) -> None:
        t = self.tables[table]
        for found in self.tables[source].find(key):
            t.insert({**values, **{column: found[taken] for column, taken in take.items()}})

    def update(
        self,
        table: str,
        key: Any,
        values: Values,
        computed: dict[str, Expression] | None = None,
        only: Condition | None = None,
    ) -> None:
        t = self.tables[table]
        if type(key) in _FINDERS:
            for found in t.find(key):
                if only is None or only.holds(found):
                    if type(values) is not dict:
                        values = values()  # type: ignore[operator]
                    t.set(found, values, computed)
            return
        row = t.rows.get(key)
        if type(row) is dict and only is None and computed is None and t.plain_sets:
            row.update(
                values
                if type(values) is dict  # the common case
                else values()  # type: ignore[operator]
            )
        elif row is not None:
            if type(row) is tuple:
                row = t.as_dict(key, row)
            # row is a dict here (as_dict's, or one not a tuple)
            if only is None or only.holds(row):  # type: ignore[arg-type]
                t.set(
                    row,  # type: ignore[arg-type]
                    values if type(values) is dict else values(),  # type: ignore[operator]
                    computed,
                )

    def delete(self, table: str, key: Any, only: Condition | None = None) -> None:
        t = self.tables[table]
        for row in t.find(key):
            if only is None or only.holds(row):
                t.delete(row)

    def count(self, table: str, key: Any) -> int:
        t = self.tables[table]
        if type(key) is By:
            return len(t.find(key))
        return sum(k in t.rows for k in (key.keys if type(key) is In else (key,)))

    def get(self, table: str, key: Any) -> dict[str, Any] | None:
        found = self.tables[table].find(key)
        return dict(found[0]) if found else None

    def dump(self) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
        """Every table: its columns and its rows as tuples in that order (text[] values as
        array literals), for COPY."""
        return {name: table.dump() for name, table in self.tables.items()}


# -- read models --------------------------------------------------------------------------------
class ReadModel:
    """One read model: ``tables``, ``migrations`` (``(name, sql)``, applied in order) and its
    handlers (``@on``/``@otherwise`` methods). As a projector of the event store it offers
    ``apply(cur, event)`` (the live path), ``reset(cur)``, ``fold()`` (bulk replay) and
    ``event_types`` (the types it reads; None: every type)."""

    tables: tuple[Table, ...] = ()
    migrations: list[tuple[str, str]] = []
    handlers: dict[str, Handler] = {}
    other: Handler | None = None
    event_types: frozenset[str] | None = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, Handler] = {}
        other: Handler | None = None
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                # the event types ``@on`` marks, None where ``@otherwise`` marks, () unmarked
                events: tuple[str, ...] | None = getattr(value, "read_model_events", ())
                if events is None:
                    other = value
                elif events:
                    handlers.update(dict.fromkeys(events, value))
        cls.handlers = handlers
        cls.other = None if other is None else staticmethod(other)  # called with the model
        cls.event_types = None if other is not None else frozenset(handlers)
        names = [t.name for t in cls.tables]
        if len(set(names)) != len(names):
            raise ValueError(f"{cls.__name__}: a table is declared twice")

    def __init__(self) -> None:
        self.by_name = {t.name: t for t in self.tables}

    def handle(self, event: Event, rows: Rows) -> None:
        """Make ``event``'s changes in ``rows``."""
        handler = self.handlers.get(event.event_type, self.other)
        if handler is not None:
            handler(self, event, rows)

    # -- the live path ---------------------------------------------------------------------------
    def reset(self, cur: Any) -> None:
        cur.execute("; ".join(f"DELETE FROM {t.name}" for t in self.tables))

    def apply(self, cur: Any, event: Event) -> None:
        handler = self.handlers.get(event.event_type, self.other)
        if handler is not None:
            handler(self, event, SqlRows(cur, self.by_name))

    # -- bulk replay -----------------------------------------------------------------------------
    def fold(self) -> Fold:
        return Fold(self)


class Fold:
    """A read model folded in memory, event by event (``apply``), then written once
    (``tables()``: ``{table: (columns, rows)}``). ``event_types``: the types it reads."""

    def __init__(self, model: ReadModel) -> None:
        self.model = model
        self.event_types = model.event_types
        self.rows = MemoryRows(model.tables)
        handler_of, other, rows = model.handlers.get, model.other, self.rows

        def apply(event: Event) -> None:
            handler = handler_of(event.event_type, other)
            if handler is not None:
                handler(model, event, rows)

        self.apply: Callable[[Event], None] = apply

    def tables(self) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
        return self.rows.dump()
