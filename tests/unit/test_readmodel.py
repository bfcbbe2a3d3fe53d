"""shared/readmodel.py: each kind of change, key, condition and expression in the memory sink
(rows in memory, with the effects of the SQL statements) and as the SQL sink's statements; the
memory sink's lookups as rows move; what a read model is made of. (That both sinks make the same
rows in PostgreSQL: tests/integration/test_replay_bulk.py.)"""

import datetime as dt

import pytest

from shared.readmodel import (
    KEEP,
    Add,
    Append,
    By,
    Case,
    Empty,
    Eq,
    In,
    MemoryRows,
    Ne,
    ReadModel,
    Remove,
    SqlRows,
    Table,
    on,
    otherwise,
)
from tests.support.library import AT, Event, Library, history

BOOKS = Table(
    "books",
    key=("isbn",),
    columns=("isbn", "title", "shelf", "copies", "tags"),
    defaults={"copies": 0, "tags": ()},
    arrays=("tags",),
    lookups=(("shelf",),),
)
LOANS = Table(
    "loans", key=("isbn", "reader"), columns=("isbn", "reader", "status"), lookups=(("reader",),)
)
NOTES = Table("notes", key=("note",), columns=("note", "text"))


def memory():
    rows = MemoryRows([BOOKS, LOANS, NOTES])
    rows.insert("books", {"isbn": "b1", "title": "one", "shelf": "s1"})
    rows.insert("books", ("b2", "two", "s1", 3, ["x"]))
    rows.insert(
        "books",
        {"isbn": "b3", "title": "three", "shelf": None, "copies": 1, "tags": ["x", "y", "x"]},
    )
    for isbn, reader, status in (("b1", "r1", "out"), ("b2", "r1", "back"), ("b2", "r2", "out")):
        rows.insert("loans", {"isbn": isbn, "reader": reader, "status": status})
    return rows


def table(rows, name):
    columns, found = rows.dump()[name]
    return {
        r[0] if len(columns) == 1 or name != "loans" else r[:2]: dict(zip(columns, r))
        for r in found
    }


# -- the memory sink ----------------------------------------------------------------------------
def test_an_insert_fills_the_defaults_and_a_tuple_is_kept_as_given():
    rows = memory()
    books = table(rows, "books")
    assert books["b1"] == {"isbn": "b1", "title": "one", "shelf": "s1", "copies": 0, "tags": "{}"}
    assert books["b2"]["tags"] == '{"x"}' and books["b3"]["tags"] == '{"x","y","x"}'
    assert type(rows.tables["notes"].rows) is dict
    rows.insert("notes", ("n1", "a"))
    assert rows.tables["notes"].rows["n1"] == ("n1", "a")  # a table without lookups keeps it
    assert rows.dump()["notes"] == (("note", "text"), [("n1", "a")])
    with pytest.raises(ValueError, match="duplicate key 'n1'"):
        rows.insert("notes", ("n1", "b"))
    with pytest.raises(ValueError, match="NULL"):
        rows.insert("notes", (None, "b"))


@pytest.mark.parametrize(
    "values, message",
    [
        ({"isbn": "b1", "title": "again"}, "duplicate key"),
        (("b1", "again", None, 0, ()), "duplicate key"),
        ({"isbn": None, "title": "no key"}, "NULL"),
        ({"title": "no key"}, "NULL"),
        ({"isbn": "b9", "title": "t", "colour": "red"}, "no column"),
        (("b9", "t"), "2 values for 5 columns"),
    ],
)
def test_an_insert_is_refused_as_the_table_would_refuse_it(values, message):
    rows = memory()
    with pytest.raises(ValueError, match=message):
        rows.insert("books", values)


def test_values_an_update_makes_only_for_a_row_it_finds():
    rows, made = memory(), []

    def values():
        made.append(1)
        return {"title": "made"}

    rows.update("books", "b9", values)
    rows.update("books", By(shelf="s9"), values)
    assert not made
    rows.update("books", "b2", values)
    rows.update("books", By(shelf="s1"), values, only=Eq("isbn", "b1"))
    assert len(made) == 2 and table(rows, "books")["b1"]["title"] == "made"
    sent, _ = sql(lambda r: r.update("books", "b9", lambda: {"title": "made"}))
    assert sent == [("UPDATE books SET title = %s WHERE books.isbn = %s", ["made", "b9"])]


def test_a_row_of_every_column_but_with_a_wrong_name_is_refused_when_written():
    rows = memory()
    rows.insert("notes", {"note": "n1", "txt": "typo"})
    with pytest.raises(ValueError, match=r"no column \['txt'\]"):
        rows.dump()


def test_an_update_by_key_sets_values_and_misses_quietly():
    rows = memory()
    rows.update("books", "b1", {"title": "uno"})
    rows.update("books", "b2", {"copies": 4})  # a tuple row, now a dict
    rows.update("books", "b9", {"title": "nobody"})
    rows.update("books", None, {"title": "nobody"})
    books = table(rows, "books")
    assert books["b1"]["title"] == "uno" and books["b2"]["copies"] == 4 and "b9" not in books
    rows.update("books", "b1", {"colour": "red"})
    with pytest.raises(ValueError, match=r"no column \['colour'\]"):
        rows.dump()


def test_computed_values_read_the_row_as_it_was():
    rows = memory()
    rows.update(
        "books",
        "b2",
        {},
        {
            "copies": Add(-3),
            "title": Case((Eq("copies", 3), "was three"), otherwise="was not"),
            "tags": Append("z"),
        },
    )
    rows.update("books", "b3", {}, {"tags": Remove("x"), "shelf": Add(1)})  # NULL + 1: NULL
    books = table(rows, "books")
    assert books["b2"]["copies"] == 0 and books["b2"]["title"] == "was three"
    assert books["b2"]["tags"] == '{"x","z"}'
    assert books["b3"]["tags"] == '{"y"}' and books["b3"]["shelf"] is None


@pytest.mark.parametrize(
    "case, title",
    [
        (Case((Eq("copies", 3), KEEP), otherwise="other"), "two"),
        (Case((Eq("copies", 2), "two copies"), otherwise=KEEP), "two"),
        (Case((Eq("copies", 2), "a"), (Eq("copies", 3), "b"), otherwise="c"), "b"),
        (Case((Eq("copies", 2), "a"), (Ne("copies", 2), "b")), "b"),
    ],
)
def test_a_case_takes_the_first_condition_that_holds(case, title):
    rows = memory()
    rows.update("books", "b2", {}, {"title": case})
    assert table(rows, "books")["b2"]["title"] == title


@pytest.mark.parametrize(
    "condition, changed",
    [
        (Eq("shelf", "s1"), {"b1", "b2"}),
        (Eq("shelf", None), {"b3"}),
        (Ne("shelf", "s1"), {"b3"}),  # NULL is other than "s1"
        (Ne("shelf", None), {"b1", "b2"}),
        (Empty("tags"), {"b1"}),
        (~Empty("tags"), {"b2", "b3"}),
        (Eq("shelf", "s1") & Eq("copies", 0), {"b1"}),
        (Eq("copies", 3) | Eq("copies", 1), {"b2", "b3"}),
        (~(Eq("copies", 3) | Eq("copies", 1)), {"b1"}),
    ],
)
def test_only_changes_the_rows_a_condition_holds_for(condition, changed):
    rows = memory()
    rows.update("books", In(["b1", "b2", "b3"]), {"title": "changed"}, only=condition)
    assert {k for k, r in table(rows, "books").items() if r["title"] == "changed"} == changed


def test_in_finds_each_key_once_and_a_composite_key_is_a_tuple():
    rows = memory()
    rows.update("books", In(["b1", "b1", "b9", None]), {}, {"copies": Add(1)})
    rows.update("loans", In([("b1", "r1"), ("b2", "r2"), ("b1", "r9")]), {"status": "lost"})
    rows.update("loans", ("b2", "r1"), {"status": "seen"})
    rows.update("loans", ("b2", None), {"status": "never"})
    assert table(rows, "books")["b1"]["copies"] == 1
    assert {k: r["status"] for k, r in table(rows, "loans").items()} == {
        ("b1", "r1"): "lost",
        ("b2", "r1"): "seen",
        ("b2", "r2"): "lost",
    }


def test_a_lookup_follows_its_rows_as_they_change_and_go():
    rows = memory()
    assert rows.count("books", By(shelf="s1")) == 2 and rows.count("books", By(shelf=None)) == 0
    rows.update("books", "b1", {"shelf": "s2"})
    rows.update("books", By(shelf="s1"), {"shelf": None})  # b2 leaves every shelf
    rows.update("books", "b3", {"shelf": "s1"})
    rows.insert("books", {"isbn": "b4", "title": "four", "shelf": "s2"})
    assert [r["isbn"] for r in rows.tables["books"].find(By(shelf="s2"))] == ["b1", "b4"]
    assert [r["isbn"] for r in rows.tables["books"].find(By(shelf="s1"))] == ["b3"]
    rows.delete("books", By(shelf="s2"), only=Eq("title", "four"))
    assert rows.count("books", By(shelf="s2")) == 1 and rows.get("books", "b4") is None
    rows.update("books", By(shelf="s2"), {}, {"shelf": Case((Eq("copies", 0), "s9"))})
    assert rows.count("books", By(shelf="s9")) == 1 and rows.count("books", By(shelf="s2")) == 0
    assert rows.count("loans", By(reader="r1")) == 2
    with pytest.raises(ValueError, match="no lookup by"):
        rows.count("books", By(title="one"))


def test_an_upsert_inserts_keeps_or_updates():
    rows = memory()
    rows.upsert("books", {"isbn": "b9", "title": "nine"})
    rows.upsert("books", {"isbn": "b1", "title": "kept"})
    rows.upsert(
        "books",
        {"isbn": "b2", "title": "new two"},
        update={"title": "updated"},
        computed={"copies": Add(10)},
    )
    rows.upsert(
        "books",
        {"isbn": "b3", "title": "x"},
        computed={"shelf": Case((Eq("shelf", None), "found"))},
    )
    books = table(rows, "books")
    assert books["b9"]["title"] == "nine" and books["b1"]["title"] == "one"
    assert (books["b2"]["title"], books["b2"]["copies"]) == ("updated", 13)
    assert books["b3"]["shelf"] == "found" and rows.count("books", By(shelf="found")) == 1
    with pytest.raises(ValueError, match="names every key column"):
        rows.upsert("books", {"title": "no key"})


def test_a_delete_by_key_in_or_lookup_with_a_condition():
    rows = memory()
    rows.delete("loans", ("b1", "r1"))
    rows.delete("loans", By(reader="r1"), only=Eq("status", "out"))  # b2/r1 is back: stays
    rows.delete("books", In(["b1", "b3", "b9"]), only=Ne("copies", 1))
    assert set(table(rows, "loans")) == {("b2", "r1"), ("b2", "r2")}
    assert set(table(rows, "books")) == {"b2", "b3"}
    assert rows.count("books", By(shelf="s1")) == 1


def test_insert_from_makes_a_row_per_source_row_found():
    rows = MemoryRows([BOOKS, LOANS, NOTES])
    rows.insert("books", {"isbn": "b1", "title": "one", "shelf": "s1"})
    rows.insert("books", {"isbn": "b2", "title": "two", "shelf": "s1"})
    rows.insert_from(
        "loans",
        {"reader": "r1", "status": "recommended"},
        "books",
        By(shelf="s1"),
        take={"isbn": "isbn"},
    )
    rows.insert_from("notes", {}, "books", "b2", take={"note": "isbn", "text": "title"})
    rows.insert_from("notes", {}, "books", "b9", take={"note": "isbn", "text": "title"})
    assert set(table(rows, "loans")) == {("b1", "r1"), ("b2", "r1")}
    assert table(rows, "notes") == {"b2": {"note": "b2", "text": "two"}}


def test_reads_see_the_rows_as_they_stand_and_get_gives_a_copy():
    rows = memory()
    assert rows.count("books", "b2") == 1 and rows.count("books", "b9") == 0
    assert rows.count("books", In(["b1", "b2", "b9"])) == 2
    assert rows.count("loans", ("b1", "r1")) == 1
    got = rows.get("books", "b2")  # a tuple row
    assert got == {"isbn": "b2", "title": "two", "shelf": "s1", "copies": 3, "tags": ["x"]}
    got["title"] = "changed by the reader"
    assert rows.get("books", "b2")["title"] == "two"
    assert rows.get("books", By(shelf="nowhere")) is None


def test_rows_of_dicts_and_tuples_are_written_in_column_order():
    rows = MemoryRows([NOTES])
    rows.insert("notes", ("n1", "a"))
    rows.insert("notes", {"text": "b", "note": "n2"})
    rows.insert("notes", ("n3", "c"))
    assert rows.dump() == {"notes": (("note", "text"), [("n1", "a"), ("n2", "b"), ("n3", "c")])}


# -- the SQL sink -------------------------------------------------------------------------------
class Recorder:
    """A cursor that keeps what it is given (and answers reads with ``answer``)."""

    def __init__(self, answer=None):
        self.sent, self.answer = [], answer

    def execute(self, sql, params=None):
        self.sent.append((sql, params))

    def fetchone(self):
        return self.answer


def sql(call, answer=None):
    cur = Recorder(answer)
    result = call(SqlRows(cur, {t.name: t for t in (BOOKS, LOANS, NOTES)}))
    return cur.sent, result


def test_each_change_is_one_statement_with_its_values_as_parameters():
    assert sql(lambda r: r.insert("books", {"isbn": "b1", "title": "t"}))[0] == [
        ("INSERT INTO books (isbn, title) VALUES (%s, %s)", ["b1", "t"])
    ]
    assert sql(lambda r: r.insert("notes", ("n1", "a")))[0] == [
        ("INSERT INTO notes (note, text) VALUES (%s, %s)", ["n1", "a"])
    ]
    assert sql(lambda r: r.upsert("notes", {"note": "n1", "text": "a"}))[0] == [
        (
            "INSERT INTO notes (note, text) VALUES (%s, %s) ON CONFLICT (note) DO NOTHING",
            ["n1", "a"],
        )
    ]
    assert sql(
        lambda r: r.upsert(
            "books",
            {"isbn": "b1", "title": "t"},
            update={"title": "u"},
            computed={"copies": Add(2)},
        )
    )[0] == [
        (
            "INSERT INTO books (isbn, title) VALUES (%s, %s) ON CONFLICT (isbn) DO UPDATE SET"
            " title = %s, copies = books.copies + %s",
            ["b1", "t", "u", 2],
        )
    ]
    assert sql(
        lambda r: r.update(
            "books",
            "b1",
            {"title": "u"},
            {
                "tags": Append("x"),
                "shelf": Case(
                    (Eq("shelf", None) & ~Empty("tags"), "s1"),
                    (Ne("copies", 0) | Eq("title", "t"), KEEP),
                    otherwise="s2",
                ),
            },
            only=Eq("copies", 1),
        )
    )[0] == [
        (
            "UPDATE books SET title = %s, tags = array_append(books.tags, %s), shelf = CASE"
            " WHEN (books.shelf IS NULL AND NOT cardinality(books.tags) = 0) THEN %s"
            " WHEN (books.copies IS DISTINCT FROM %s OR books.title = %s) THEN books.shelf"
            " ELSE %s END WHERE books.isbn = %s AND books.copies = %s",
            ["u", "x", "s1", 0, "t", "s2", "b1", 1],
        )
    ]
    assert sql(lambda r: r.update("books", In(["b1", "b2"]), {}, {"tags": Remove("x")}))[0] == [
        (
            "UPDATE books SET tags = array_remove(books.tags, %s) WHERE books.isbn = ANY(%s)",
            ["x", ["b1", "b2"]],
        )
    ]
    assert sql(lambda r: r.update("loans", ("b1", "r1"), {"status": "s"}))[0] == [
        (
            "UPDATE loans SET status = %s WHERE loans.isbn = %s AND loans.reader = %s",
            ["s", "b1", "r1"],
        )
    ]
    assert sql(lambda r: r.delete("loans", In([("b1", "r1"), ("b2", "r2")])))[0] == [
        (
            "DELETE FROM loans WHERE (loans.isbn, loans.reader) IN ((%s, %s), (%s, %s))",
            ["b1", "r1", "b2", "r2"],
        )
    ]
    assert sql(lambda r: r.delete("loans", In([]), only=Eq("status", "x")))[0] == [
        ("DELETE FROM loans WHERE false AND loans.status = %s", ["x"])
    ]
    assert sql(lambda r: r.update("books", By(shelf="s1"), {"shelf": None}))[0] == [
        ("UPDATE books SET shelf = %s WHERE books.shelf = %s", [None, "s1"])
    ]
    assert sql(
        lambda r: r.insert_from(
            "loans",
            {"reader": "r1"},
            "books",
            By(shelf="s1"),
            take={"isbn": "isbn", "status": "title"},
        )
    )[0] == [
        (
            "INSERT INTO loans (reader, isbn, status) SELECT %s, books.isbn, books.title"
            " FROM books WHERE books.shelf = %s",
            ["r1", "s1"],
        )
    ]


def test_a_read_is_one_query():
    assert sql(lambda r: r.count("loans", By(reader="r1")), answer=(2,)) == (
        [("SELECT count(*) FROM loans WHERE loans.reader = %s", ["r1"])],
        2,
    )
    assert sql(lambda r: r.get("notes", "n1"), answer=("n1", "a")) == (
        [("SELECT note, text FROM notes WHERE notes.note = %s", ["n1"])],
        {"note": "n1", "text": "a"},
    )
    assert sql(lambda r: r.get("notes", "n9"))[1] is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda r: r.insert("books", {"isbn": "b1", "colour": "red"}), "no column 'colour'"),
        (lambda r: r.insert("books", ("b1",)), "1 values for 5 columns"),
        (lambda r: r.insert("books", {"isbn": "b1", "copies": Add(1)}), "values are values"),
        (lambda r: r.update("books", "b1", {"isbn": "b2"}), "key column isbn"),
        (lambda r: r.update("books", "b1", {}, {"isbn": Add(1)}), "key column isbn"),
        (lambda r: r.update("books", "b1", {"copies": Add(1)}), "goes in ``computed``"),
        (lambda r: r.update("books", "b1", {"copies": 1}, {"copies": Add(1)}), "set twice"),
        (lambda r: r.update("books", "b1", {}), "sets something"),
        (lambda r: r.update("books", "b1", {"title": "t"}, only=Eq("colour", "red")), "colour"),
        (lambda r: r.update("books", By(title="t"), {"shelf": "s"}), "no lookup by"),
        (lambda r: r.update("loans", "b1", {"status": "s"}), "key is a tuple"),
        (lambda r: r.update("loans", ("b1", "r1", "x"), {"status": "s"}), "key is a tuple"),
        (lambda r: r.upsert("books", {"isbn": "b1"}, update={"isbn": "b2"}), "key column"),
    ],
)
def test_the_sql_sink_refuses_what_is_not_a_column_or_not_a_change(call, message):
    with pytest.raises(ValueError, match=message):
        sql(call)


# -- read models --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "Books", "columns": ("a",), "key": ("a",)}, "plain lower-case"),
        ({"name": "books", "columns": ("a", "b; DROP"), "key": ("a",)}, "plain lower-case"),
        ({"name": "books", "columns": ("a", "a"), "key": ("a",)}, "named twice"),
        ({"name": "books", "columns": ("a",), "key": ()}, "must name columns"),
        ({"name": "books", "columns": ("a",), "key": ("b",)}, r"unknown: \['b'\]"),
        ({"name": "books", "columns": ("a",), "key": ("a",), "lookups": (("c",),)}, "unknown"),
    ],
)
def test_a_table_is_plain_identifiers_and_names_its_own_columns(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Table(**kwargs)


def test_a_read_model_knows_its_handlers_and_the_event_types_it_reads():
    assert Library.event_types == frozenset(Library.handlers) >= {"Tagged", "Untagged", "Lent"}
    assert Library.handlers["Tagged"] is Library.handlers["Untagged"]

    class Everything(ReadModel):
        tables = (NOTES,)

        @on("Noted")
        def noted(self, event, rows):
            rows.insert("notes", {"note": event.payload["note"], "text": "noted"})

        @otherwise
        def other(self, event, rows):
            rows.insert("notes", {"note": event.payload["note"], "text": event.event_type})

    assert Everything.event_types is None
    fold = Everything().fold()
    assert fold.event_types is None
    fold.apply(Event("Noted", {"note": "n1"}))
    fold.apply(Event("Seen", {"note": "n2"}))
    assert fold.tables() == {"notes": (("note", "text"), [("n1", "noted"), ("n2", "Seen")])}

    with pytest.raises(ValueError, match="declared twice"):

        class Twice(ReadModel):
            tables = (NOTES, NOTES)

    with pytest.raises(ValueError, match="name the event types"):
        on()


def test_the_live_path_sends_each_change_through_the_cursor_and_resets_every_table():
    cur = Recorder(answer=(0,))
    library = Library()
    for event in history()[:3]:
        library.apply(cur, event)
    library.apply(cur, Event("NotRead", {}))
    assert [s for s, _ in cur.sent] == [
        "INSERT INTO books (isbn, title, shelf, updated_at) VALUES (%s, %s, %s, %s)"
    ] * 3
    cur.sent.clear()
    library.reset(cur)
    assert cur.sent == [
        (
            "DELETE FROM books; DELETE FROM loans; DELETE FROM recommendations;"
            " DELETE FROM readers",
            None,
        )
    ]


def test_a_fold_of_the_library_history():
    fold = Library().fold()
    for event in history():
        if event.event_type in fold.event_types:
            fold.apply(event)
    tables = fold.tables()
    books = {r[0]: r for r in tables["books"][1]}
    assert set(books) == {"b1", "b3", "b4", "b5"}
    assert books["b4"][1] == "last: tagged" and books["b5"][4] is None
    assert books["b1"][6] == AT + dt.timedelta(seconds=6)  # CopiesBought, its last dated change
