"""A plain Nameko service for bench/relay.py: an ordinary ``@event_handler`` in another process
that writes, per event, its position and the append-to-handled latency in milliseconds."""

import datetime as dt
import os

from nameko.events import event_handler

SOURCE = os.environ["BENCH_SOURCE"]
OUT = open(os.environ["BENCH_OUT"], "a", buffering=1)


class RelaySink:
    name = "relaybenchsink"

    @event_handler(SOURCE, "SubsidyGranted")
    def handle(self, body):
        recorded = dt.datetime.fromisoformat(body["recorded_at"])
        latency = (dt.datetime.now(dt.UTC) - recorded).total_seconds() * 1000
        OUT.write(f"{body['global_position']} {latency:.3f}\n")
