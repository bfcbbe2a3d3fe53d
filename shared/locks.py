"""Every PostgreSQL advisory lock the backend takes, in one place.

One-key locks (``pg_advisory_xact_lock(bigint)``) are the ``7_356_xxx`` numbers below; named
locks (``lock_key``), the relay leaders' (``relay_lock``) and the per-key rules locks
(``rule_key_lock``) each have a namespace of their own above them; the funds use the two-key form
``(FUND, hashtext(stream))``, a key space of its own.
"""

from __future__ import annotations

import zlib

MIGRATION = 7_356_000  # schema migrations, one process at a time
APPEND = 7_356_001  # the event store's append (gapless positions in commit order)
RELAY = 7_356_002  # namespace of the relay leader locks, one per service (relay_lock)
TIMER = 7_356_003  # namespace of the named locks (lock_key)
FUND = 7_356_004  # two-key: (FUND, hashtext(fund stream)): one decision per fund at a time
RULE_KEY = 7_356_005  # namespace of the per-key rules locks (rule_key_lock)
AUDIT_INDEX = 7_356_010  # talent-audit's index database: one sync at a time
ROLE = 7_356_090  # creating and granting the services' database roles


def lock_key(name: str) -> int:
    """The advisory lock key of ``name`` (a namespace of its own beside the one-key locks)."""
    return TIMER * 1_000_000 + zlib.crc32(name.encode()) % 1_000_000


def rule_key_lock(name: str) -> int:
    """The exclusive lock a command takes on one thing its rules read (an enterprise, a person)
    while it holds its rules lock shared; two names sharing a key only wait for each other."""
    return RULE_KEY * 2**32 + zlib.crc32(name.encode())


def relay_lock(service: str) -> int:
    """The session lock held by the one replica of ``service`` that relays its events."""
    return RELAY * 1_000_000 + zlib.crc32(service.encode()) % 1_000_000
