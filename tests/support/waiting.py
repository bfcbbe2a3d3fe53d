"""Polling for what other processes do, bounded in time."""

import time


def wait_for(predicate, what, timeout=30.0, interval=0.1):
    """Call ``predicate`` until it returns something true, and return that; fail naming ``what``
    after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
    return result
