"""Verifying a hash chain fast: the rows of a range of positions are read with ``COPY ... TO
STDOUT`` (text format, bytes), each row's canonical bytes are rebuilt by concatenation (only the
payload goes through JSON, to sort its keys; a metadata object's canonical form is computed once
per distinct stored text) and hashed. Ranges are independent, so they can be checked in any order
or in several processes; ``link`` then joins them in position order, checking at each boundary
that a range starts where the previous one ended and that its first ``prev_hash`` is the previous
range's last hash. The result is exactly what a walk from position 1 finds (``EventStore.verify``).

The bytes hashed are those of ``shared.store.canonical.canonical_bytes``; any row whose text fields
need JSON escaping, or whose ``recorded_at`` is not in PostgreSQL's UTC form, goes through
``shared.store.canonical.canonical_json`` itself (tests/integration/test_chainverify.py checks both against a plain walk).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import orjson

from shared.store.canonical import GENESIS_HASH, VerifyResult, canonical_json, stored_utc_text

if TYPE_CHECKING:
    from psycopg2.extensions import cursor

_COPY_RANGE = (
    "COPY (SELECT global_position, event_id, stream_type, stream_id, stream_version,"
    " event_type, schema_version, payload, metadata, recorded_at, prev_hash, hash"
    " FROM events WHERE global_position BETWEEN {first:d} AND {last:d}"
    " ORDER BY global_position) TO STDOUT"
)
# COPY's text format escapes these (and nothing else) on output.
_COPY_ESCAPES = {
    b"\\\\": b"\\",
    b"\\n": b"\n",
    b"\\r": b"\r",
    b"\\t": b"\t",
    b"\\b": b"\b",
    b"\\f": b"\f",
    b"\\v": b"\v",
}
_COPY_ESCAPE = re.compile(rb"\\[\\nrtbfv]")
# Text that orjson would escape inside a JSON string.
_NEEDS_ESCAPING = re.compile(rb'["\\\x00-\x1f]')
_SORT = orjson.OPT_SORT_KEYS


def _uncopy(field: bytes) -> bytes:
    return _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPES[m.group()], field)


@dataclass(frozen=True)
class RangeResult:
    """What one range of positions holds: its first row's position and ``prev_hash`` (checked by
    ``link``), the position after its last row and that row's hash, the rows that matched, and
    the first row inside the range that did not (``bad.checked`` counts from the range's start).
    """

    first_position: int | None = None
    first_prev: str | None = None
    next_position: int | None = None
    last_hash: str | None = None
    checked: int = 0
    bad: VerifyResult | None = None


class _Sink:
    """What ``copy_expert`` writes to: each write is one row (bytes)."""

    __slots__ = ("write",)

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self.write = write


def read_range(cur: cursor, first: int, last: int) -> list[bytes]:
    """The rows of positions ``first..last`` as COPY text lines (bytes, newline-terminated)."""
    lines: list[bytes] = []
    # In position order straight from the primary key: without statistics (a freshly loaded
    # store) the planner picks a bitmap scan and an on-disk sort, six times slower.
    cur.execute(
        "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off;"
        " SET LOCAL enable_sort = off"
    )
    cur.copy_expert(_COPY_RANGE.format(first=int(first), last=int(last)), _Sink(lines.append))
    return lines


def check_lines(lines: Iterable[bytes], metas: dict[bytes, bytes] | None = None) -> RangeResult:
    """Check consecutive COPY lines as one piece of a chain (see ``RangeResult``)."""
    metas = {} if metas is None else metas
    if len(metas) > 100_000:
        metas.clear()
    loads, dumps, sha256, join = orjson.loads, orjson.dumps, hashlib.sha256, b"".join
    needs_escaping = _NEEDS_ESCAPING.search
    first_position = first_prev = expected_position = expected_prev = None
    checked = 0
    for line in lines:
        fields = line[:-1].split(b"\t")
        if b"\\" in line:
            fields = [_uncopy(f) if b"\\" in f else f for f in fields]
        (
            pos,
            event_id,
            stream_type,
            stream_id,
            stream_version,
            event_type,
            schema_version,
            payload,
            meta,
            recorded_at,
            prev_hash,
            digest,
        ) = fields
        position = int(pos)
        if expected_position is None:
            first_position, first_prev = position, prev_hash.decode()
        else:
            if position != expected_position:
                return RangeResult(
                    first_position,
                    first_prev,
                    None,
                    None,
                    checked,
                    VerifyResult(
                        False,
                        checked,
                        expected_position,
                        "missing position",
                        str(expected_position),
                        str(position),
                    ),
                )
            if prev_hash != expected_prev:
                return RangeResult(
                    first_position,
                    first_prev,
                    None,
                    None,
                    checked,
                    VerifyResult(
                        False,
                        checked,
                        position,
                        "prev_hash does not match the previous row's hash",
                        expected_prev.decode(),  # type: ignore[union-attr]  # set with the position
                        prev_hash.decode(),
                    ),
                )
        canonical_meta = metas.get(meta)
        if canonical_meta is None:
            canonical_meta = metas[meta] = dumps(loads(meta), option=_SORT)
        # The fast path: PostgreSQL's UTC form of recorded_at ("YYYY-MM-DD HH:MM:SS[.f]+00",
        # trailing zeros of the fraction dropped) and text fields that need no JSON escaping.
        # (event_id is a uuid; a prev_hash reaches the comparison only if it equals the
        # previous row's hash, or is reported as a broken link first: see ``link``.)
        if (
            recorded_at[-3:] == b"+00"
            and recorded_at[10:11] == b" "
            and recorded_at[19:20] in (b".", b"+")
            and len(recorded_at) <= 29
            and not needs_escaping(join((stream_type, stream_id, event_type)))
        ):
            canonical = join(
                (
                    b'{"event_id":"',
                    event_id,
                    b'","event_type":"',
                    event_type,
                    b'","global_position":',
                    pos,
                    b',"metadata":',
                    canonical_meta,
                    b',"payload":',
                    dumps(loads(payload), option=_SORT),
                    b',"prev_hash":"',
                    prev_hash,
                    b'","recorded_at":"',
                    recorded_at[:10],
                    b"T",
                    recorded_at[11:19],
                    b".",
                    recorded_at[20:-3].ljust(6, b"0"),
                    b'+00:00","schema_version":',
                    schema_version,
                    b',"stream_id":"',
                    stream_id,
                    b'","stream_type":"',
                    stream_type,
                    b'","stream_version":',
                    stream_version,
                    b"}",
                )
            )
        else:
            canonical = canonical_json(
                position,
                event_id.decode(),
                stream_type.decode(),
                stream_id.decode(),
                int(stream_version),
                event_type.decode(),
                int(schema_version),
                loads(payload),
                loads(meta),
                stored_utc_text(recorded_at.decode()),
                prev_hash.decode(),
            )
        actual = sha256(canonical).hexdigest()
        if actual.encode() != digest:
            return RangeResult(
                first_position,
                first_prev,
                None,
                None,
                checked,
                VerifyResult(
                    False,
                    checked,
                    position,
                    "row content does not match its hash",
                    actual,
                    digest.decode(),
                ),
            )
        checked += 1
        expected_position, expected_prev = position + 1, digest
    if first_position is None:
        return RangeResult()
    return RangeResult(
        first_position,
        first_prev,
        expected_position,
        expected_prev.decode(),  # type: ignore[union-attr]  # a row was checked
        checked,
    )


def verify_range(
    cur: cursor, first: int, last: int, metas: dict[bytes, bytes] | None = None
) -> RangeResult:
    """Check the rows of positions ``first..last`` (see ``RangeResult``)."""
    return check_lines(read_range(cur, first, last), metas)


def ranges(head: int, size: int) -> list[tuple[int, int]]:
    """Positions 1..``head`` cut into ``(first, last)`` ranges of ``size``."""
    return [(first, min(first + size - 1, head)) for first in range(1, head + 1, size)]


def link(results: Iterable[RangeResult]) -> VerifyResult:
    """Join range results, in position order, into what a walk from position 1 finds. Stops
    consuming ``results`` at the first break."""
    # (a range with rows sets both its last hash and its next position; None: it had none)
    expected_prev: str | None
    expected_position: int | None
    expected_prev, expected_position, checked = GENESIS_HASH, 1, 0
    for r in results:
        if r.first_position is None:  # no rows in that range: the next row must still follow
            continue
        if r.first_position != expected_position:
            return VerifyResult(
                False,
                checked,
                expected_position,
                "missing position",
                str(expected_position),
                str(r.first_position),
            )
        if r.first_prev != expected_prev:
            return VerifyResult(
                False,
                checked,
                r.first_position,
                "prev_hash does not match the previous row's hash",
                expected_prev,
                r.first_prev,
            )
        if r.bad is not None:
            return replace(r.bad, checked=checked + r.bad.checked)
        checked += r.checked
        expected_prev, expected_position = r.last_hash, r.next_position
    return VerifyResult(True, checked)
