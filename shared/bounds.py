"""What every value a caller sends must respect, whatever the command: integers a JSON consumer
can hold exactly, and text without the characters that change how it is shown.

- **Integers** within ``|n| <= MAX_SAFE_INTEGER`` (2^53 - 1): past it JavaScript (and every JSON
  reader that takes numbers as doubles) silently rounds, and past 2^63 PostgreSQL's ``bigint``
  refuses it (a 500 instead of a 400). ``BoundedInteger`` is the marshmallow field for a schema
  that wants a tighter ceiling (a policy's), ``check`` walks a whole decoded body.
- **Text** without control characters (C0 but tab, line feed and carriage return; DEL; C1) and
  without the Unicode bidirectional controls (embeddings, overrides, isolates and marks, U+061C,
  U+200E/F, U+202A-U+202E, U+2066-U+2069): names and free text are published (the 公示 page, the
  results announcement, e-mails) and an override makes ``张三‮cod.exe`` read as something else.

``shared.web`` applies ``check`` to every command body, path segment and query argument before a
handler sees it, so a service's schemas need not repeat it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer every JSON consumer holds exactly (JavaScript's Number.MAX_SAFE_INTEGER)."""

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _forbidden(ch: str) -> bool:
    code = ord(ch)
    if ch in _ALLOWED_CONTROLS:
        return False
    return code < 0x20 or 0x7F <= code <= 0x9F or ch in _BIDI


def text_problem(value: str) -> str | None:
    """Why ``value`` may not be taken as text (None: it may)."""
    for ch in value:
        if _forbidden(ch):
            if ch in _BIDI:
                return f"Bidirectional control characters (U+{ord(ch):04X}) are not accepted."
            return f"Control characters (U+{ord(ch):04X}) are not accepted."
    return None


def integer_problem(value: int) -> str | None:
    """Why ``value`` may not be taken as an integer (None: it may)."""
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return None
    return f"Must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER} (2^53 - 1)."


def problems(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Each (field path, problem) in a decoded JSON value: integers out of range, text (keys
    included) with control or bidirectional characters. Paths are dotted (``members.0.name``)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        problem = integer_problem(value)
        if problem:
            yield path or "body", problem
    elif isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield path or "body", problem
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            problem = text_problem(str(key))
            if problem:
                yield (path or "body"), problem
            yield from problems(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from problems(item, f"{path}.{index}" if path else str(index))


def check(value: Any) -> dict[str, list[str]]:
    """The field errors of ``value`` (empty: none), in marshmallow's shape."""
    errors: dict[str, list[str]] = {}
    for name, problem in problems(value):
        errors.setdefault(name, []).append(problem)
    return errors


class BoundedInteger(marshmallow.fields.Integer):
    """An integer within ``[minimum, maximum]`` (by default the JSON-safe range): a schema field
    for a policy ceiling, e.g. ``BoundedInteger(minimum=0, maximum=10**12)``."""

    def __init__(
        self, *, minimum: int = -MAX_SAFE_INTEGER, maximum: int = MAX_SAFE_INTEGER, **kwargs: Any
    ) -> None:
        kwargs.setdefault("strict", True)
        super().__init__(**kwargs)
        self.validators.insert(
            0,
            marshmallow.validate.Range(
                min=max(minimum, -MAX_SAFE_INTEGER), max=min(maximum, MAX_SAFE_INTEGER)
            ),
        )
