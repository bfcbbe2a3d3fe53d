"""What the tool is told about a service's read models: the projector objects its store applies.

Each offers ``migrations`` (the tables it keeps) and ``apply(cur, event)`` (its statements for one
event); one with a bulk path also offers ``fold()``, an in-memory fold of the events whose
``tables()`` are written with COPY (and which may name the ``event_types`` it reads)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from psycopg2.extensions import cursor as Cursor

from shared.store import RecordedEvent


class Projector(Protocol):
    @property
    def migrations(self) -> Sequence[tuple[str, str]]: ...

    def apply(self, cur: Cursor, event: RecordedEvent) -> None: ...


class Fold(Protocol):
    def apply(self, event: RecordedEvent) -> None: ...

    def tables(self) -> Mapping[str, tuple[Sequence[str], Sequence[Sequence[object]]]]: ...


# service name -> the projector objects of its read models
ReadModels = Mapping[str, Sequence[Projector]]
