"""Timers that run in every replica but act in one at a time.

Nameko's ``@timer`` fires in every replica of a service. A timer whose work must not run twice at
once (firing deadlines, say) wraps it in ``exclusive(db, name)``: a transaction-scoped PostgreSQL
advisory lock, taken with ``pg_try_advisory_xact_lock`` so a replica that loses does not wait but
skips this tick. The lock is released when the block ends, or by PostgreSQL when the holder's
connection dies, so a killed replica never leaves it held. The lock only keeps replicas from
working side by side; the work itself must still be idempotent (the next tick, in any replica,
runs it again).

``timer(config_key, default)`` is nameko's timer with its interval read from the service's
configuration at start (``default`` seconds when the key is absent), firing at once on start.

    @timer("DEADLINE_TIMER_SECONDS", 3600)
    def fire_deadlines(self):
        with exclusive(self.store.db, "assessment.deadlines") as mine:
            if mine:
                ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nameko.timer import Timer

from shared.locks import lock_key

if TYPE_CHECKING:
    from shared.db import Database


@contextlib.contextmanager
def exclusive(db: Database, name: str) -> Iterator[bool]:
    """Yield True to the one holder of ``name`` among everyone sharing the database, False at once
    to the others. The holder's lock lasts until the block ends."""
    with db.transaction() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock_key(name),))
        yield cur.fetchone()[0]  # type: ignore[index]  # one row, always


class ConfiguredTimer(Timer):
    """Nameko's timer, its interval (seconds) taken from configuration key ``config_key``."""

    interval: float

    def __init__(self, config_key: str, default: float, eager: bool = True, **kwargs: Any) -> None:
        super().__init__(default, eager=eager, **kwargs)
        self.config_key = config_key

    def setup(self) -> None:
        self.interval = float(self.container.config.get(self.config_key) or self.interval)


timer = ConfiguredTimer.decorator
