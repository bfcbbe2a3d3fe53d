"""What the commands print: tables that fit the terminal (rich), JSON, and progress on stderr.

For people: times in China Standard Time (a table says ``(+08:00)`` in the column's heading; a
time in a sentence carries its offset), amounts in yuan (a ``*_fen`` column is shown as
``* (CNY)``); JSON output keeps the stored values (integer fen, ISO 8601 times with offset)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import orjson
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from shared.clock import SHANGHAI

DEFAULT_WIDTH = 100
"""The width of a table written to a file or a pipe when ``COLUMNS`` does not say."""


def width_of(out: TextIO) -> int:
    """The terminal's width when ``out`` is one; else ``COLUMNS``, else ``DEFAULT_WIDTH``."""
    if out.isatty():
        return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 20 else DEFAULT_WIDTH


def console(out: TextIO) -> Console:
    """A console on ``out`` that interprets nothing in the values (no markup, no emoji, no
    highlighting) and colours only a terminal."""
    return Console(
        file=out,
        width=width_of(out),
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
        force_terminal=None if out.isatty() else False,
    )


def yuan(fen: int) -> str:
    """Integer fen as yuan: ``5000000`` -> ``50,000.00``."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def local_time(moment: dt.datetime) -> str:
    """A moment in China Standard Time, with its offset: ``2026-06-30 14:05:09 +08:00``."""
    text = moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S %z")
    return f"{text[:-2]}:{text[-2:]}"


def heading(column: str) -> str:
    return f"{column.removesuffix('_fen')} (CNY)" if column.endswith("_fen") else column


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    out: TextIO,
    *,
    whole: Sequence[str] = (),
    wrap: Sequence[str] = (),
) -> None:
    """Rows as a table no wider than the terminal (widths in display cells: a Chinese character
    takes two). Times, numbers and the ``whole`` columns keep their width (they are read, or
    searched for, whole). A table whose cells do not fit is printed as one record per row
    (column, value), unless it has ``wrap`` columns, whose text wraps within them instead."""
    cells = [[cell(c, r.get(c)) for c in columns] for r in rows]
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for i, c in enumerate(columns):
        values = [r.get(c) for r in rows]
        numeric = c.endswith("_fen") or all(isinstance(v, int) or v is None for v in values)
        moments = any(isinstance(v, dt.datetime) for v in values)
        keep = numeric or moments or c in whole
        grid.add_column(
            heading(c) + (" (+08:00)" if moments else ""),
            justify="right" if numeric else "left",
            overflow="fold",
            no_wrap=keep,
            min_width=max((cell_len(row[i]) for row in cells), default=0) if keep else None,
        )
    for row in cells:
        grid.add_row(*row)
    screen = console(out)
    natural = sum(
        max([cell_len(str(col.header))] + [cell_len(row[i]) for row in cells])
        for i, col in enumerate(grid.columns)
    ) + 3 * (len(columns) - 1)
    if wrap or natural <= screen.width:
        screen.print(grid)
        return
    for n, (original, row) in enumerate(zip(rows, cells), 1):  # too wide: a record per row
        record = Table(box=None, show_header=False, pad_edge=False, title_justify="left")
        record.add_column(no_wrap=True)
        record.add_column(overflow="fold")
        for c, value in zip(columns, row):
            moment = original.get(c)
            record.add_row(heading(c), text(moment) if isinstance(moment, dt.datetime) else value)
        screen.print(f"-- {n} " + "-" * max(0, min(screen.width, 40) - len(str(n)) - 4))
        screen.print(record)


def cell(column: str, value: object) -> str:
    if column.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
        return yuan(value)
    if isinstance(value, dt.datetime) and value.tzinfo:
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return text(value)


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, dt.datetime):
        return local_time(value) if value.tzinfo else value.isoformat(sep=" ")
    return str(value)


def emit_json(obj: object, out: TextIO) -> None:
    out.write(orjson.dumps(obj, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


class Progress:
    """Progress on stderr for long runs (only when stderr is a terminal, or forced)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled = label, enabled
        self.start, self.last = time.monotonic(), 0.0

    def __call__(self, n: int) -> None:
        if self.enabled and (time.monotonic() - self.last > 0.5):
            self.last = time.monotonic()
            rate = n / max(self.last - self.start, 1e-9)
            sys.stderr.write(f"\r{self.label}: {n:,} events ({rate:,.0f}/s)")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
