"""shared/timers.exclusive against real PostgreSQL: one holder at a time among replicas sharing a
database, the others skip at once, and the lock goes with the block or with a dead connection."""

import threading

import psycopg2
import pytest

from shared.db import Database
from shared.runtime.timers import exclusive, lock_key

pytestmark = pytest.mark.integration


@pytest.fixture
def replicas(fresh_db):
    dsn = fresh_db("timers")
    dbs = [Database(dsn) for _ in range(3)]
    yield dbs
    for db in dbs:
        db.close()


def test_one_holder_the_others_skip_and_the_lock_goes_with_the_block(replicas):
    a, b, c = replicas
    with exclusive(a, "assessment.deadlines") as first:
        assert first is True
        with exclusive(b, "assessment.deadlines") as second:
            assert second is False
        with exclusive(c, "subsidies.deadlines") as other_name:
            assert other_name is True  # another name is another lock
    with exclusive(b, "assessment.deadlines") as after:
        assert after is True


def test_a_failing_holder_releases_the_lock(replicas):
    a, b, _ = replicas
    with pytest.raises(RuntimeError):
        with exclusive(a, "assessment.deadlines") as mine:
            assert mine
            raise RuntimeError("the sweep failed")
    with exclusive(b, "assessment.deadlines") as next_one:
        assert next_one is True


def test_a_dead_holder_releases_the_lock(replicas):
    a, b, _ = replicas
    holder = psycopg2.connect(a.dsn)
    with holder.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock_key("assessment.deadlines"),))
        assert cur.fetchone()[0]
        with exclusive(b, "assessment.deadlines") as while_held:
            assert while_held is False
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with b.transaction() as cur:  # the replica dies: its session ends
        cur.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # waits until it is gone
    with exclusive(b, "assessment.deadlines") as after:
        assert after is True


def test_racing_replicas_never_hold_it_together(replicas):
    inside, overlaps, wins = [0], [0], [0]
    guard = threading.Lock()
    start = threading.Barrier(len(replicas))

    def replica(db):
        start.wait()
        for _ in range(30):
            with exclusive(db, "assessment.deadlines") as mine:
                if not mine:
                    continue
                with guard:
                    inside[0] += 1
                    overlaps[0] += inside[0] > 1
                    wins[0] += 1
                with db.transaction() as cur:
                    cur.execute("SELECT pg_sleep(0.002)")
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=replica, args=(db,)) for db in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert overlaps[0] == 0
    assert wins[0] > 0
