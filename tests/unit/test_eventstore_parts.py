"""The canonical bytes travel to ``talent_append`` split where the position and the previous hash
go; spliced back, they must be exactly the bytes ``canonical_bytes`` documents for auditors (a
difference would make every live append fail verification)."""

import datetime as dt
import uuid

import pytest

from shared.store import PositionOf
from shared.store.canonical import canonical_bytes, split_canonical

WHEN = dt.datetime(2026, 11, 23, 6, 5, 4, 321, tzinfo=dt.UTC)
ODD = [
    {},
    {"prev_hash": "x", "global_position": 3, "nested": {"prev_hash": "", "z": [1, "a"]}},
    {"text": '","prev_hash":"', "more": '"global_position":0,', "楚雄": '彝族 \\ " \n'},
    {"a": None, "b": True, "c": [], "d": {"e": {"f": "g"}}, "amount_fen": 10**15},
]


@pytest.mark.parametrize("payload", ODD)
@pytest.mark.parametrize(
    "metadata",
    [
        {"actor_id": "u-1", "clauses": ["LT-6.3"]},
        {"prev_hash": "m", "correlation_id": '","prev_hash":"'},
    ],
)
@pytest.mark.parametrize("stream_id", ["application-1", 'odd-","prev_hash":"-stream'])
def test_spliced_parts_are_the_canonical_bytes(payload, metadata, stream_id):
    event_id = str(uuid.uuid4())
    a, b, c = split_canonical(
        event_id,
        "application",
        stream_id,
        7,
        "ReviewPassed",
        2,
        payload,
        metadata,
        WHEN.isoformat(timespec="microseconds"),
    )
    for position, prev_hash in ((1, "0" * 64), (123_456_789_012, "ab" * 32)):
        expected = canonical_bytes(
            position,
            event_id,
            "application",
            stream_id,
            7,
            "ReviewPassed",
            2,
            payload,
            metadata,
            WHEN,
            prev_hash,
        )
        assert (a + str(position) + b + prev_hash + c).encode() == expected


def test_a_position_not_known_yet_renders_as_sql_and_refuses_arithmetic():
    event_id = str(uuid.uuid4())
    position = PositionOf(event_id)
    assert (
        position.getquoted()
        == (f"(SELECT global_position FROM events WHERE event_id = '{event_id}')").encode()
    )
    with pytest.raises(TypeError):
        int(position)
    with pytest.raises(ValueError):
        PositionOf("x'); DROP TABLE events; --")
