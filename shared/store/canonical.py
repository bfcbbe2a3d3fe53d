"""The canonical form of a stored event and its hash chain.

Every row's ``hash`` is SHA-256 over ``canonical_bytes`` of the row (its previous row's hash
included): UTF-8 JSON, keys sorted, no whitespace, integers only, ``recorded_at`` as ISO 8601 UTC
with microseconds. Auditors can recompute it with any JSON library; ``shared.store.verify`` walks
it fast, ``talent_append`` (``shared.store.schema``) builds it under the append lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of position 1."""
UTC = dt.UTC


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    position: int | None = None  # first position that does not match
    reason: str | None = None
    expected: str | None = None
    found: str | None = None


_SCALARS = frozenset({str, int, bool, type(None)})


def refuse_floats(value: object, path: str = "payload") -> None:
    """Floats do not survive a jsonb round trip byte for byte, so they would break the hash chain;
    money is integer fen and rates are Decimal text. Refuse them at the door."""
    if isinstance(value, float):
        raise TypeError(f"{path} is a float; use integer fen or Decimal text")
    if isinstance(value, dict):
        for k, v in value.items():
            if type(v) not in _SCALARS:
                refuse_floats(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            if type(v) not in _SCALARS:
                refuse_floats(v, f"{path}[{i}]")


def canonical_json(
    position: int,
    event_id: str,
    stream_type: str,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    data: Any,
    metadata: Mapping[str, Any],
    recorded_text: str,
    prev_hash: str,
) -> bytes:
    return orjson.dumps(
        {
            "global_position": position,
            "event_id": event_id,
            "stream_type": stream_type,
            "stream_id": stream_id,
            "stream_version": stream_version,
            "event_type": event_type,
            "schema_version": schema_version,
            "payload": data,
            "metadata": metadata,
            "recorded_at": recorded_text,
            "prev_hash": prev_hash,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def utc_text(recorded_at: dt.datetime) -> str:
    return recorded_at.astimezone(UTC).isoformat(timespec="microseconds")


def stored_utc_text(text: str) -> str:
    """``recorded_at::text`` as stored -> the canonical form of ``utc_text``. PostgreSQL prints a
    UTC timestamptz as ``YYYY-MM-DD HH:MM:SS[.ffffff]+00`` (trailing zeros of the fraction
    dropped); that shape is rewritten directly, anything else goes through ``datetime``."""
    if len(text) == 29 and text[26:] == "+00" and text[10] == " " and text[19] == ".":
        return text[:10] + "T" + text[11:26] + "+00:00"
    if len(text) >= 22 and text[10] == " " and text[19] in ".+" and text.endswith("+00"):
        fraction = text[20:-3] if text[19] == "." else ""
        if len(fraction) <= 6 and (not fraction or fraction.isdigit()):
            return f"{text[:10]}T{text[11:19]}.{fraction:0<6}+00:00"
    return utc_text(dt.datetime.fromisoformat(text))


def canonical_bytes(
    position: int,
    event_id: str,
    stream_type: str,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    data: Any,
    metadata: Mapping[str, Any],
    recorded_at: dt.datetime,
    prev_hash: str,
) -> bytes:
    """The bytes a row's hash covers: UTF-8 JSON, keys sorted, no whitespace, integers only,
    ``recorded_at`` as ISO 8601 UTC with microseconds. Documented so auditors can recompute it
    with any JSON library."""
    return canonical_json(
        position,
        event_id,
        stream_type,
        stream_id,
        stream_version,
        event_type,
        schema_version,
        data,
        metadata,
        utc_text(recorded_at),
        prev_hash,
    )


def chain_hash(*row: Any) -> str:
    """The hash of a row: SHA-256 (hex) of ``canonical_bytes(*row)``."""
    return hashlib.sha256(canonical_bytes(*row)).hexdigest()


def split_canonical(
    event_id: str,
    stream_type: str,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    data: Any,
    metadata: Mapping[str, Any],
    recorded_text: str,
) -> tuple[str, str, str]:
    """The canonical bytes of a row whose position and previous hash are not known yet, as three
    texts ``a``, ``b``, ``c`` with ``canonical_bytes(...) == a + position + b + prev_hash + c``
    (``talent_append`` splices them under the lock). The keys are sorted, so the top-level
    "global_position" follows only "event_id" and "event_type" (the first match), and after the
    top-level "prev_hash" come only scalars (the last match); inside a JSON string every quote is
    escaped, so neither pattern can match there."""
    whole = canonical_json(
        0,
        event_id,
        stream_type,
        stream_id,
        stream_version,
        event_type,
        schema_version,
        data,
        metadata,
        recorded_text,
        "",
    )
    i = whole.index(b'"global_position":0,') + 18
    j = whole.rindex(b',"prev_hash":""') + 14
    return whole[:i].decode(), whole[i + 1 : j].decode(), whole[j:].decode()
