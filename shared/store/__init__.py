"""The event store, one per service database (PostgreSQL through psycopg2).

* ``canonical``: the canonical form of a row and its hash chain;
* ``sealing``: personal fields sealed with a key per person (erasure deletes the key);
* ``recording``: ``EventStore``: append (optimistic concurrency, gapless positions), read,
  rebuild read models, verify;
* ``schema``: the tables, ``talent_append``, migrations and the service's database role;
* ``verify``: checking the chain fast, range by range.
"""

from shared.store.canonical import GENESIS_HASH, VerifyResult, canonical_bytes, chain_hash
from shared.store.recording import EventStore, Metadata, PositionOf, RecordedEvent
from shared.store.schema import NOTIFY_CHANNEL

__all__ = [
    "GENESIS_HASH",
    "NOTIFY_CHANNEL",
    "EventStore",
    "Metadata",
    "PositionOf",
    "RecordedEvent",
    "VerifyResult",
    "canonical_bytes",
    "chain_hash",
]
