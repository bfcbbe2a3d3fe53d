"""What the commands print: aligned tables, JSON, and progress on stderr."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import orjson

from shared.clock import SHANGHAI


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """Aligned columns, widths measured in display cells (Chinese characters count 2)."""

    def width(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    def line(vals: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(vals, widths))

    cells = [[_text(r.get(c)) for c in columns] for r in rows]
    widths = [max([width(c)] + [width(row[i]) for row in cells]) for i, c in enumerate(columns)]
    out.write(line(columns).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row).rstrip() + "\n")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
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
