"""A small read model that uses every kind of change, key, condition, expression and read of
``shared.readmodel`` (a lending library: its books, loans, recommendations and readers), and a
history of events that exercises each of them, hits and misses alike. tests/unit/test_readmodel.py
and tests/integration/test_replay_bulk.py run it through the memory sink and through PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from shared.readmodel import (
    KEEP,
    Add,
    Append,
    By,
    Case,
    Empty,
    Eq,
    In,
    Ne,
    ReadModel,
    Remove,
    Rows,
    Table,
    on,
)

AT = dt.datetime(2024, 6, 3, 1, 2, 3, 450_000, tzinfo=dt.UTC)
ODD = 'tab\there, new\nline, back\\slash \\N "quoted" {braces} 楚雄'


class Library(ReadModel):
    tables = (
        Table(
            "books",
            key=("isbn",),
            columns=("isbn", "title", "shelf", "copies", "lent", "tags", "updated_at"),
            defaults={"copies": 0, "lent": 0, "tags": ()},
            arrays=("tags",),
            lookups=(("shelf",),),
        ),
        Table(
            "loans",
            key=("isbn", "reader"),
            columns=("isbn", "reader", "status", "since"),
            lookups=(("reader",),),
        ),
        Table(
            "recommendations", key=("reader", "isbn"), columns=("reader", "isbn", "title", "reason")
        ),
        Table("readers", key=("reader",), columns=("reader", "loans", "last_title")),
    )
    migrations = [
        (
            "library_0001",
            """
        CREATE TABLE books (
            isbn       text PRIMARY KEY,
            title      text NOT NULL,
            shelf      text,
            copies     integer NOT NULL DEFAULT 0,
            lent       integer DEFAULT 0,
            tags       text[] NOT NULL DEFAULT '{}',
            updated_at timestamptz
        );
        CREATE INDEX books_shelf ON books (shelf);
        CREATE TABLE loans (
            isbn   text NOT NULL,
            reader text NOT NULL,
            status text NOT NULL,
            since  date,
            PRIMARY KEY (isbn, reader)
        );
        CREATE TABLE recommendations (
            reader text NOT NULL,
            isbn   text NOT NULL,
            title  text NOT NULL,
            reason text,
            PRIMARY KEY (reader, isbn)
        );
        CREATE TABLE readers (
            reader     text PRIMARY KEY,
            loans      integer NOT NULL,
            last_title text
        );
    """,
        )
    ]

    @on("BookAdded")
    def added(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.insert(
            "books",
            {
                "isbn": p["isbn"],
                "title": p["title"],
                "shelf": p.get("shelf"),
                "updated_at": event.recorded_at,
            },
        )

    @on("BookImported")  # every column, as a tuple
    def imported(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.insert(
            "books",
            (
                p["isbn"],
                p["title"],
                p["shelf"],
                p["copies"],
                p["lent"],
                list(p["tags"]),
                event.recorded_at,
            ),
        )

    @on("CopiesBought")
    def bought(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.update(
            "books", p["isbn"], {"updated_at": event.recorded_at}, {"copies": Add(p["copies"])}
        )

    @on("Tagged", "Untagged")
    def tagged(self, event: Any, rows: Rows) -> None:
        p = event.payload
        change = Append if event.event_type == "Tagged" else Remove
        rows.update("books", In(p["isbns"]), {}, {"tags": change(p["tag"])})

    @on("Moved")
    def moved(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.update("books", p["isbn"], {"shelf": p["shelf"]})

    @on("Lent")
    def lent(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.upsert(
            "loans",
            {"isbn": p["isbn"], "reader": p["reader"], "status": "out", "since": p["on"]},
            update={"status": "out", "since": p["on"]},
        )
        # a copy lent: the last one leaves the shelf empty-handed ("gone"); none: "over"
        rows.update(
            "books",
            p["isbn"],
            {},
            {
                "lent": Add(1),
                "title": Case(
                    (Eq("copies", 0), KEEP),
                    (Eq("copies", 1) & ~Empty("tags"), "last: tagged"),
                    otherwise=KEEP,
                ),
            },
            only=Ne("shelf", "reference"),
        )

    @on("Noted")  # a loan noted, never changing one there
    def noted(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.upsert("loans", {"isbn": p["isbn"], "reader": p["reader"], "status": "noted"})

    @on("Returned")
    def returned(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.update(
            "loans",
            (p["isbn"], p["reader"]),
            {"status": "back"},
            only=Eq("status", "out") | Eq("status", "lost"),
        )
        rows.update("books", p["isbn"], {}, {"lent": Add(-1)})

    @on("ReaderBanned")
    def banned(self, event: Any, rows: Rows) -> None:
        rows.update(
            "loans",
            By(reader=event.payload["reader"]),
            {},
            {"status": Case((Eq("status", "out"), "lost"), otherwise="closed")},
            only=~Eq("status", "back"),
        )

    @on("ShelfCleared")
    def cleared(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.update(
            "books",
            By(shelf=p["shelf"]),
            {"shelf": p.get("to")},
            only=Eq("lent", 0) | Eq("lent", None),
        )

    @on("Withdrawn")
    def withdrawn(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.delete("books", p["isbn"], only=Eq("lent", 0))
        rows.delete("loans", In((p["isbn"], r) for r in p["readers"]))

    @on("ShelfRecommended")
    def recommended(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.insert_from(
            "recommendations",
            {"reader": p["reader"], "reason": p.get("reason")},
            "books",
            By(shelf=p["shelf"]),
            take={"isbn": "isbn", "title": "title"},
        )

    @on("BookRecommended")
    def recommended_one(self, event: Any, rows: Rows) -> None:
        p = event.payload
        rows.insert_from(
            "recommendations",
            {"reader": p["reader"]},
            "books",
            p["isbn"],
            take={"isbn": "isbn", "title": "title"},
        )

    @on("ReaderCounted")  # reads what the changes before left
    def counted(self, event: Any, rows: Rows) -> None:
        p = event.payload
        book = rows.get("books", p["isbn"])
        count = rows.count("loans", By(reader=p["reader"]))
        rows.upsert(
            "readers",
            {"reader": p["reader"], "loans": count, "last_title": book and book["title"]},
            update={"loans": count, "last_title": book and book["title"]},
        )

    @on("ReaderForgotten")
    def forgotten(self, event: Any, rows: Rows) -> None:
        rows.delete("readers", event.payload["reader"])
        rows.delete("loans", By(reader=event.payload["reader"]), only=Eq("status", "back"))


@dataclass
class Event:
    """An event as a read model sees it."""

    event_type: str
    payload: dict[str, Any]
    stream_version: int = 1
    global_position: int = 0
    stream_type: str = "library"
    stream_id: str = "library"
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    metadata: dict[str, Any] = field(default_factory=dict)
    recorded_at: dt.datetime = AT


def history() -> list[Event]:
    """Every handler, finding rows and finding none."""
    d = dt.date(2024, 6, 3)
    spec = [
        ("BookAdded", {"isbn": "b1", "title": ODD, "shelf": "s1"}),
        ("BookAdded", {"isbn": "b2", "title": "two", "shelf": "s1"}),
        ("BookAdded", {"isbn": "b3", "title": "three"}),
        (
            "BookImported",
            {
                "isbn": "b4",
                "title": "four",
                "shelf": "s2",
                "copies": 1,
                "lent": 0,
                "tags": ["x", 'we"ird\\', "a,b {c}"],
            },
        ),
        (
            "BookImported",
            {
                "isbn": "b5",
                "title": "five",
                "shelf": "reference",
                "copies": 2,
                "lent": None,
                "tags": [],
            },
        ),
        ("CopiesBought", {"isbn": "b1", "copies": 2}),
        ("CopiesBought", {"isbn": "b5", "copies": 1}),
        ("CopiesBought", {"isbn": "nope", "copies": 1}),
        ("Tagged", {"isbns": ["b1", "b2", "b1", "nope"], "tag": "new"}),
        ("Tagged", {"isbns": ["b1", "b4"], "tag": ODD}),
        ("Untagged", {"isbns": ["b4"], "tag": "x"}),
        ("Tagged", {"isbns": [], "tag": "none"}),
        ("Lent", {"isbn": "b1", "reader": "r1", "on": d}),
        ("Lent", {"isbn": "b4", "reader": "r1", "on": d}),
        ("Lent", {"isbn": "b5", "reader": "r2", "on": d}),
        ("Lent", {"isbn": "b2", "reader": "r2", "on": d}),
        ("Noted", {"isbn": "b3", "reader": "r3"}),
        ("Noted", {"isbn": "b1", "reader": "r1"}),
        ("ReaderCounted", {"reader": "r1", "isbn": "b4"}),
        ("ReaderCounted", {"reader": "r9", "isbn": "nope"}),
        ("Returned", {"isbn": "b1", "reader": "r1"}),
        ("Returned", {"isbn": "b1", "reader": "r1"}),
        ("Lent", {"isbn": "b1", "reader": "r1", "on": d + dt.timedelta(days=1)}),
        ("Moved", {"isbn": "b2", "shelf": "s2"}),
        ("Moved", {"isbn": "b3", "shelf": "s1"}),
        ("ShelfRecommended", {"reader": "r1", "shelf": "s2", "reason": ODD}),
        ("ShelfRecommended", {"reader": "r2", "shelf": "s1"}),
        ("ShelfRecommended", {"reader": "r3", "shelf": "empty"}),
        ("BookRecommended", {"reader": "r3", "isbn": "b5"}),
        ("BookRecommended", {"reader": "r3", "isbn": "nope"}),
        ("ReaderBanned", {"reader": "r1"}),
        ("ReaderBanned", {"reader": "r3"}),
        ("ShelfCleared", {"shelf": "s1", "to": "s3"}),
        ("ShelfCleared", {"shelf": "s2"}),
        ("ShelfCleared", {"shelf": "s3", "to": "s1"}),
        ("Moved", {"isbn": "b4", "shelf": "s1"}),
        ("ShelfRecommended", {"reader": "r4", "shelf": "s1"}),
        ("Returned", {"isbn": "b2", "reader": "r2"}),
        ("Withdrawn", {"isbn": "b2", "readers": ["r2", "r9"]}),
        ("Withdrawn", {"isbn": "b4", "readers": []}),  # lent: stays
        ("ReaderCounted", {"reader": "r2", "isbn": "b2"}),
        ("ReaderForgotten", {"reader": "r2"}),
        ("ReaderCounted", {"reader": "r1", "isbn": "b1"}),
    ]
    return [
        Event(kind, payload, global_position=i, recorded_at=AT + dt.timedelta(seconds=i))
        for i, (kind, payload) in enumerate(spec, 1)
    ]
