"""kill -9 a consuming service while a stream of certifications flows to it; restart it: every
event is handled exactly once in effect (no double grant, no lost tenure, no lost notification)."""

import signal
import uuid

import pytest

from tests.support.faults import (
    CONSUMERS,
    Stream,
    assert_exactly_once,
    handled,
    report,
    settle,
    wait_until,
)

pytestmark = pytest.mark.e2e
N = 200


@pytest.mark.parametrize("victim", list(CONSUMERS))
def test_kill_9_mid_stream_then_restart_handles_each_event_once(system, victim):
    run = uuid.uuid4().hex[:8]
    with Stream(system, run, N, rate=200) as stream:
        # kill it once it is busy with the stream: some events handled, more arriving
        wait_until(
            lambda: handled(system, victim, list(stream.ids)),
            lambda n: n >= N // 4,
            timeout=60,
            every=0.05,
        )
        system.stop(victim, sig=signal.SIGKILL)
        system.start(victim)
        system.wait_ready([victim])
    counts = settle(system, victim, run, stream.ids)
    report(f"kill -9 {victim}", counts)
    assert_exactly_once(counts)
