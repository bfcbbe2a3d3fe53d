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
import contextlib

from nameko.timer import Timer

from shared.locks import lock_key


@contextlib.contextmanager
def exclusive(db, name):
    """Yield True to the one holder of ``name`` among everyone sharing the database, False at once
    to the others. The holder's lock lasts until the block ends."""
    with db.transaction() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock_key(name),))
        yield cur.fetchone()[0]


class ConfiguredTimer(Timer):
    """Nameko's timer, its interval (seconds) taken from configuration key ``config_key``."""

    def __init__(self, config_key, default, eager=True, **kwargs):
        super().__init__(default, eager=eager, **kwargs)
        self.config_key = config_key

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key) or self.interval)


timer = ConfiguredTimer.decorator
