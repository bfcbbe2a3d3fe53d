"""Relay speed: stored events → RabbitMQ → a plain Nameko ``@event_handler`` in another process.

* relay_eps: a backlog of N events, relayed and handled, per second (end to end).
* raw_publish_eps: the broker's own limit measured in the same run: the same bodies published
  with publisher confirms by plain kombu to a bound queue (no store, no cursor).
* p50_ms / p99_ms: append-to-handled latency of single events appended at a steady rate while
  the relay is idle (woken by NOTIFY); under load the relay starts at most one cycle per
  ``--coalesce`` seconds (default: the services' 0.02), which this latency includes.

    python bench/relay.py [--events N] [--latency-events M] [--rate R]
Target on the 2-core machine: relay_eps >= 3,000. Ends with one JSON line.
"""

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import kombu

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.config import dsn_for  # noqa: E402
from shared.db import Database, create_database, drop_database  # noqa: E402
from shared.decider import NewEvent  # noqa: E402
from shared.messaging.relay import Relay, envelope, exchange_for  # noqa: E402
from shared.store import EventStore, Metadata  # noqa: E402

AMQP = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
META = Metadata("bench", "system", "bench", policy_version="bench")


def event(i):
    return NewEvent(
        "SubsidyGranted",
        {
            "grant_id": f"g-{i}",
            "talent_id": f"t-{i}",
            "measure": "LT-10.1",
            "amount_fen": 5_000_000,
            "fiscal_year": 2026,
        },
        ("LT-10.1",),
    )


def lines(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def wait_lines(path, n, timeout):
    """Wait until the sink has written n lines (read incrementally: the bench must not eat the
    CPU it measures)."""
    deadline = time.monotonic() + timeout
    got, rest = [], ""
    with open(path) as f:
        while time.monotonic() < deadline:
            rest += f.read()
            *complete, rest = rest.split("\n")
            got.extend(line.split() for line in complete if line.strip())
            if len(got) >= n:
                return got
            time.sleep(0.05)
    raise TimeoutError(f"only {len(got)} of {n} events handled in {timeout}s")


def raw_publish_rate(source, n, body):
    """Plain kombu, same bodies, batch publisher confirms, into a bound queue."""
    with kombu.Connection(AMQP) as conn:
        channel = conn.channel()
        exchange = exchange_for(source)(channel)
        exchange.declare()
        queue = kombu.Queue(
            f"rawbench-{uuid.uuid4().hex[:6]}",
            exchange_for(source),
            routing_key="RawBench",
            auto_delete=False,
        )(channel)
        queue.declare()
        channel.confirm_select()
        acked = set()
        channel.events["basic_ack"].add(
            lambda tag, multiple: acked.update(range(1, tag + 1)) if multiple else acked.add(tag)
        )
        start = time.perf_counter()
        for _ in range(n):
            msg = channel.prepare_message(
                body,
                content_type="application/json",
                content_encoding="utf-8",
                properties={"delivery_mode": 2},
            )
            channel.basic_publish(msg, exchange=exchange.name, routing_key="RawBench")
        while len(acked) < n:
            conn.drain_events(timeout=10)
        rate = n / (time.perf_counter() - start)
        queue.delete()
    return rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--latency-events", type=int, default=1_000)
    ap.add_argument("--rate", type=float, default=200.0, help="appends/s in the latency run")
    ap.add_argument(
        "--coalesce",
        type=float,
        default=Relay.COALESCE,
        help="the relay's shortest cycle, seconds (RELAY_COALESCE_SECONDS)",
    )
    args = ap.parse_args()

    source = f"relaybench{uuid.uuid4().hex[:6]}"
    dbname = f"talent_bench_{source}"
    admin = dsn_for("postgres")
    create_database(admin, dbname, drop_first=True)
    dsn = dsn_for(dbname)
    store = EventStore(Database(dsn), source)
    store.migrate()
    out = tempfile.NamedTemporaryFile(prefix="relaybench-", suffix=".txt", delete=False).name
    cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    cfg.write(f"AMQP_URI: '{AMQP}'\nmax_workers: {os.environ.get('BENCH_SINK_WORKERS', 50)}\n")
    cfg.close()
    env = dict(os.environ, BENCH_SOURCE=source, BENCH_OUT=out, PYTHONPATH=str(ROOT))
    sink = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("nameko")),
            "run",
            "--config",
            cfg.name,
            "bench.relay_sink",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    relay = None
    try:
        time.sleep(4)  # let the sink declare and bind its queue
        for start in range(0, args.events, 500):
            store.append(
                "grant",
                f"backlog-{start}",
                0,
                [event(i) for i in range(start, min(start + 500, args.events))],
                META,
            )
        with store.db.transaction() as cur:
            cur.execute(
                "SELECT global_position, event_id::text, stream_type, stream_id, "
                "stream_version, event_type, schema_version, payload::text, "
                "metadata::text, recorded_at FROM events LIMIT 1"
            )
            sample_body = envelope(source, cur.fetchone())
        raw_eps = raw_publish_rate(source, args.events, sample_body)

        relay = Relay(dsn, AMQP, source, batch_size=1000, coalesce=args.coalesce)
        t0 = time.perf_counter()
        thread = threading.Thread(target=relay.run, daemon=True)
        thread.start()
        while relay.position is None or relay.position < args.events:
            time.sleep(0.01)
        published_eps = args.events / (time.perf_counter() - t0)
        wait_lines(out, args.events, timeout=300)
        relay_eps = args.events / (time.perf_counter() - t0)
        print(
            f"backlog of {args.events:,} relayed and handled in another process: "
            f"{relay_eps:,.0f} events/s (published and confirmed: {published_eps:,.0f}/s; raw kombu publish with confirms: {raw_eps:,.0f}/s)",
            flush=True,
        )

        open(out, "w").close()
        interval = 1.0 / args.rate
        next_at = time.perf_counter()
        for i in range(args.latency_events):
            store.append("grant", f"latency-{i}", 0, [event(i)], META)
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
        got = wait_lines(out, args.latency_events, timeout=60)
        latencies = sorted(float(ms) for _, ms in got)
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
    finally:
        if relay:
            relay.stop()
        sink.terminate()
        sink.wait(30)
        store.db.close()
        drop_database(admin, dbname)
        with kombu.Connection(AMQP) as conn:
            q = kombu.Queue(f"evt-{source}-SubsidyGranted--relaybenchsink.handle")(conn.channel())
            q.delete()
            exchange_for(source)(conn.channel()).delete()
        os.unlink(out)
        os.unlink(cfg.name)

    figures = {
        "relay_eps": round(relay_eps),
        "raw_publish_eps": round(raw_eps),
        "relay_ratio": round(relay_eps / raw_eps, 3),
        "published_eps": round(published_eps),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "events": args.events,
        "latency_events": args.latency_events,
        "append_rate": args.rate,
        "coalesce_s": args.coalesce,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    print(
        f"append-to-handled latency at {args.rate:.0f} appends/s: p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
