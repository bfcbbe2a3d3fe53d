"""Event store speed, against this machine's own limit measured in the same run.

The limit is raw psycopg2: the same rows (same columns, same constraints) INSERTed and COMMITted
into a plain table, with none of the store's work (append lock, version check, contract
validation, hash chain, NOTIFY). Rounds alternate raw and store so disk noise hits both alike; each
figure is the median of its rounds.

    python bench/eventstore.py [--events N] [--replay N] [--rounds R]

Ends with one JSON line: append_ratio, append_4w_ratio, batch_ratio, replay_eps (and the raw figures).
Targets on the 2-core machine: append_ratio >= 0.70, batch_ratio >= 0.50, replay_eps >= 100,000
(verify_eps: >= 200,000 wanted later).

``append_ratio`` is ``append()`` in a transaction of its own (BEGIN and COMMIT travel with its
statements); ``append_in_tx_ratio`` is ``append(cur=...)`` inside a caller's
``db.transaction()``, which is how the services append (after reading the stream).
"""

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
import uuid

import orjson

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from shared.config import dsn_for  # noqa: E402
from shared.db import Database, create_database, drop_database  # noqa: E402
from shared.decider import NewEvent  # noqa: E402
from shared.store import EventStore, Metadata  # noqa: E402

DBNAME = "talent_bench_eventstore"
META = Metadata("bench", "system", str(uuid.uuid4()), policy_version="bench")
PAYLOAD = dict(
    grant_id="g-1", talent_id="t-1", measure="LT-10.1", amount_fen=5_000_000, fiscal_year=2026
)
EVENT = NewEvent("SubsidyGranted", PAYLOAD, ("LT-10.1",))
RAW_SQL = (
    "INSERT INTO raw_events (global_position, event_id, stream_type, stream_id, "
    "stream_version, event_type, schema_version, payload, metadata, recorded_at, prev_hash,"
    " hash) VALUES "
)
ROW_TEMPLATE = "(%s, %s, 'grant', %s, 1, 'SubsidyGranted', 1, %s::jsonb, %s::jsonb, now(), %s, %s)"
_seq = iter(range(1, 10**12))
_seq_lock = threading.Lock()


def next_positions(n):
    with _seq_lock:
        return [next(_seq) for _ in range(n)]


def raw_rows(n):
    data = orjson.dumps(PAYLOAD).decode()
    meta = orjson.dumps(META.for_event(EVENT)).decode()
    return [
        (p, str(uuid.uuid4()), f"raw-{p}", data, meta, "0" * 64, "f" * 64)
        for p in next_positions(n)
    ]


def raw_insert(db, n_tx, per_tx):
    for _ in range(n_tx):
        rows = raw_rows(per_tx)
        with db.transaction() as cur:
            cur.execute(RAW_SQL + ",".join(cur.mogrify(ROW_TEMPLATE, r).decode() for r in rows))


def store_append(store, n_tx, per_tx):
    for _ in range(n_tx):
        store.append("grant", f"grant-{uuid.uuid4()}", 0, [EVENT] * per_tx, META)


def store_append_in_tx(store, n_tx, per_tx):
    for _ in range(n_tx):
        with store.db.transaction() as cur:
            store.append("grant", f"grant-{uuid.uuid4()}", 0, [EVENT] * per_tx, META, cur=cur)


def rate(fn, writers, n_tx, per_tx, make_target):
    targets = [make_target() for _ in range(writers)]
    threads = [threading.Thread(target=fn, args=(t, n_tx, per_tx)) for t in targets]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for t in targets:
        (t.db if hasattr(t, "db") else t).close()
    return writers * n_tx * per_tx / elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1500, help="events per single-append run")
    ap.add_argument("--replay", type=int, default=200_000, help="events in the replay run")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    admin = dsn_for("postgres")
    create_database(admin, DBNAME, drop_first=True)
    dsn = dsn_for(DBNAME)
    try:
        setup = EventStore(Database(dsn), "bench")
        setup.migrate()
        with setup.db.transaction() as cur:
            cur.execute(
                "CREATE TABLE raw_events (LIKE events INCLUDING CONSTRAINTS "
                "INCLUDING INDEXES INCLUDING DEFAULTS)"
            )
        mk_db = lambda: Database(dsn)  # noqa: E731
        mk_store = lambda: EventStore(Database(dsn), "bench", registry=setup.registry)  # noqa

        n = args.events
        cases = {
            "raw_1w": (raw_insert, 1, n, 1, mk_db),
            "store_1w": (store_append, 1, n, 1, mk_store),
            "store_1w_in_tx": (store_append_in_tx, 1, n, 1, mk_store),
            "raw_4w": (raw_insert, 4, n // 4, 1, mk_db),
            "store_4w": (store_append, 4, n // 4, 1, mk_store),
            "raw_batch": (raw_insert, 1, max(n // 30, 10), 100, mk_db),
            "store_batch": (store_append, 1, max(n // 30, 10), 100, mk_store),
        }
        results = {k: [] for k in cases}
        for r in range(args.rounds):
            for name, (fn, writers, n_tx, per_tx, make) in cases.items():
                results[name].append(rate(fn, writers, n_tx, per_tx, make))
            print(
                f"round {r + 1}/{args.rounds}: "
                + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in results.items()),
                flush=True,
            )
        med = {k: statistics.median(v) for k, v in results.items()}

        have = setup.head()
        if have < args.replay:
            print(f"filling the store to {args.replay:,} events for the replay run…", flush=True)
            rate(store_append, 1, (args.replay - have) // 500 + 1, 500, mk_store)
        replayer = mk_store()
        start = time.perf_counter()
        count = sum(1 for _ in replayer.read_all(0))
        replay_eps = count / (time.perf_counter() - start)
        start = time.perf_counter()
        verified = replayer.verify()
        verify_eps = verified.checked / (time.perf_counter() - start)
        replayer.db.close()
        setup.db.close()
    finally:
        drop_database(admin, DBNAME)

    figures = {
        "raw_insert_commit_per_s": round(med["raw_1w"]),
        "append_per_s": round(med["store_1w"]),
        "append_ratio": round(med["store_1w"] / med["raw_1w"], 3),
        "append_in_tx_per_s": round(med["store_1w_in_tx"]),
        "append_in_tx_ratio": round(med["store_1w_in_tx"] / med["raw_1w"], 3),
        "raw_4w_per_s": round(med["raw_4w"]),
        "append_4w_per_s": round(med["store_4w"]),
        "append_4w_ratio": round(med["store_4w"] / med["raw_4w"], 3),
        "raw_batch_per_s": round(med["raw_batch"]),
        "batch_append_per_s": round(med["store_batch"]),
        "batch_ratio": round(med["store_batch"] / med["raw_batch"], 3),
        "replay_events": count,
        "replay_eps": round(replay_eps),
        "verify_eps": round(verify_eps),
        "verify_ok": verified.ok,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    print()
    print(f"raw INSERT+COMMIT, 1 writer     {figures['raw_insert_commit_per_s']:>9,}/s")
    print(
        f"store append, 1 writer          {figures['append_per_s']:>9,}/s   "
        f"ratio {figures['append_ratio']:.2f} (target >= 0.70)"
    )
    print(
        f"store append in caller's tx     {figures['append_in_tx_per_s']:>9,}/s   "
        f"ratio {figures['append_in_tx_ratio']:.2f}"
    )
    print(f"raw INSERT+COMMIT, 4 writers    {figures['raw_4w_per_s']:>9,}/s")
    print(
        f"store append, 4 writers         {figures['append_4w_per_s']:>9,}/s   "
        f"ratio {figures['append_4w_ratio']:.2f}"
    )
    print(f"raw batched insert (100/tx)     {figures['raw_batch_per_s']:>9,}/s")
    print(
        f"store batched append (100/tx)   {figures['batch_append_per_s']:>9,}/s   "
        f"ratio {figures['batch_ratio']:.2f} (target >= 0.50)"
    )
    print(
        f"replay, read + decode           {figures['replay_eps']:>9,}/s   "
        f"({count:,} events; target >= 100,000/s)"
    )
    print(f"verify hash chain               {figures['verify_eps']:>9,}/s   ok={verified.ok}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
