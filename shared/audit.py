"""talent-audit: the auditors' tool. It reads the four services' event stores directly, read-only,
and trusts nothing the running services say.

    talent-audit verify                         walk every hash chain; exit 1 on a break
    talent-audit history <talent or application id>
                                                one person's timeline across the four stores
    talent-audit replay <service> --as-of <date, datetime or position>
                                                rebuild that service's read models as of then,
                                                in a scratch database, and print them
    talent-audit export <service> [--person ID] [--format jsonl|csv] [--output FILE]

Every command takes ``--json`` for machine-readable output. The stores are found from the
services' config files (``services/<svc>/config.yaml``, with the same environment variables as
the services) or given with ``--dsn service=DSN``. ``history`` keeps its own index of the stores
(database ``talent_audit``, or ``--audit-dsn``), brought up to date from the stores at each run;
``replay`` writes only to that scratch database, into a schema of its own.
"""
import argparse
import csv
import datetime as dt
import importlib
import operator
import os
import sys
import time
from pathlib import Path

import orjson
import psycopg2
import psycopg2.extras

from shared import locks
from shared.store import sealing
from shared.clock import SHANGHAI
from shared.config import dsn_for, load
from shared.db import Database, connect, create_database
from shared.store import EventStore

SERVICES = ("applications", "subsidies", "assessment", "notifications")
ROOT = Path(__file__).resolve().parents[1]
PERSON_KEYS = ("talent_id", "application_id", "applicant_id")


class AuditError(Exception):
    pass


# -- where the stores are -----------------------------------------------------------------------
def store_dsns(overrides=()):
    dsns = {}
    for svc in SERVICES:
        config = ROOT / "services" / svc / "config.yaml"
        if config.exists():
            dsns[svc] = load(config)["DB_DSN"]
    for item in overrides:
        svc, _, dsn = item.partition("=")
        if svc not in SERVICES or not dsn:
            raise AuditError(f"--dsn takes service=DSN with a service of {', '.join(SERVICES)}")
        dsns[svc] = dsn
    return dsns


def open_store(svc, dsn):
    try:
        store = EventStore(Database(dsn, application_name="talent-audit", read_only=True), svc)
        store.head()
    except psycopg2.Error as exc:
        raise AuditError(f"cannot read the {svc} store ({_where(dsn)}): "
                         f"{str(exc).strip().splitlines()[0]}")
    return store


def _where(dsn):
    return " ".join(p for p in dsn.split() if not p.startswith("password"))


# -- output -------------------------------------------------------------------------------------
def table(rows, columns, out):
    """Aligned columns, widths measured in display cells (Chinese characters count 2)."""
    def width(text):
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    cells = [[_text(r.get(c)) for c in columns] for r in rows]
    widths = [max([width(c)] + [width(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v + " " * (w - width(v)) for v, w in zip(vals, widths))  # noqa
    out.write(line(columns).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row).rstrip() + "\n")


def _text(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def emit_json(obj, out):
    out.write(orjson.dumps(obj, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


class Progress:
    """Progress on stderr for long runs (only when stderr is a terminal, or forced)."""

    def __init__(self, label, enabled):
        self.label, self.enabled, self.start, self.last = label, enabled, time.monotonic(), 0

    def __call__(self, n):
        if self.enabled and (time.monotonic() - self.last > 0.5):
            self.last = time.monotonic()
            rate = n / max(self.last - self.start, 1e-9)
            sys.stderr.write(f"\r{self.label}: {n:,} events ({rate:,.0f}/s)")
            sys.stderr.flush()

    def done(self):
        if self.enabled:
            sys.stderr.write("\n")


# -- verify -------------------------------------------------------------------------------------
VERIFY_RANGE = 25_000  # positions per piece of work
_worker_conns, _worker_metas = {}, {}


def _verify_range(svc, dsn, first, last):
    """In a worker process: check positions first..last of one store (shared.chainverify)."""
    from shared.store import verify as chainverify
    conn = _worker_conns.get(dsn)
    if conn is None or conn.closed:
        for other in _worker_conns.values():  # one connection per worker at a time
            other.close()
        _worker_conns.clear()
        conn = _worker_conns[dsn] = connect(dsn, application_name="talent-audit", read_only=True,
                                            statement_timeout_ms=600_000)
    try:
        with conn.cursor() as cur:
            return svc, first, chainverify.verify_range(cur, first, last,
                                                        _worker_metas.setdefault(dsn, {}))
    finally:
        conn.rollback()


def _forkserver():
    """Workers forked from a server that imported what this module needs once (spawning each
    one would import it all again, half a CPU-second per worker; forking the caller could
    inherit its threads). This module itself is not preloaded: each worker runs the caller's
    main module again, and finding it already imported would warn."""
    import multiprocessing
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["orjson", "psycopg2.extras", "shared.config", "shared.db",
                                    "shared.store.recording", "shared.store.verify"])
    return context


def _heads(dsns):
    heads = {}
    for svc, dsn in dsns.items():
        store = open_store(svc, dsn)
        heads[svc] = store.head()
        store.db.close()
    return heads


def cmd_verify(args, out):
    """The chains are cut into ranges of positions, checked by a pool of processes in any
    order, then linked per service at the range boundaries (shared.chainverify): the
    result is exactly what a walk from position 1 finds. Positions appended after the start are
    not checked."""
    from concurrent.futures import ProcessPoolExecutor
    from shared.store import verify as chainverify
    dsns = store_dsns(args.dsn)
    heads = _heads(dsns)
    work = [(svc, dsns[svc], first, last) for svc in dsns
            for first, last in chainverify.ranges(heads[svc], VERIFY_RANGE)]
    work.sort(key=lambda w: (w[0], w[2]))  # a worker mostly stays on one store
    found = {svc: {} for svc in dsns}
    start, done = time.monotonic(), 0
    tick = Progress("verifying", args.progress)
    # two per CPU: while one waits for the server to produce its range, the other hashes
    workers = max(1, min(len(work), 2 * (os.cpu_count() or 1)))
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=_forkserver()) as pool:
        try:
            for svc, first, result in pool.map(_verify_range, *zip(*work)) if work else ():
                found[svc][first] = result
                done += min(VERIFY_RANGE, heads[svc] - first + 1)
                tick(done)
        except psycopg2.Error as exc:
            raise AuditError(f"cannot read a store: {str(exc).strip().splitlines()[0]}")
    tick.done()
    elapsed = time.monotonic() - start
    results = []
    for svc in dsns:
        r = chainverify.link(found[svc][first] for first in sorted(found[svc]))
        results.append({"service": svc, "ok": r.ok, "checked": r.checked,
                        "first_bad_position": r.position, "reason": r.reason,
                        "expected": r.expected, "found": r.found})
    _check_anchors(args, dsns, heads, results)
    total = sum(r["checked"] for r in results)
    if args.json:
        emit_json({"ok": all(r["ok"] for r in results), "services": results,
                   "checked": total, "seconds": round(elapsed, 3),
                   "events_per_s": round(total / elapsed) if elapsed else None}, out)
    else:
        table([{**r, "result": "ok" if r["ok"] else "BROKEN",
                "head": f"{r['head_position']} {(r['head_hash'] or '')[:16]}"} for r in results],
              ["service", "result", "checked", "head", "first_bad_position", "reason"], out)
        for r in results:
            if not r["ok"]:
                out.write(f"\n{r['service']}: position {r['first_bad_position']}: {r['reason']}\n"
                          f"  expected {r['expected']}\n  found    {r['found']}\n")
    return 0 if all(r["ok"] for r in results) else 1


# -- anchors: what an earlier verify saw, so that cutting the tail of a chain is noticed ---------
def _hashes_at(dsn, svc, positions):
    store = open_store(svc, dsn)
    try:
        with store.db.transaction() as cur:
            cur.execute("SELECT global_position, hash FROM events WHERE global_position = ANY(%s)",
                        (sorted(set(positions)),))
            return dict(cur.fetchall())
    finally:
        store.db.close()


def _store_key(dsn):
    """Where a store is, whoever connects to it: host:port/dbname."""
    p = psycopg2.extensions.parse_dsn(dsn)
    return f"{p.get('host', 'localhost')}:{p.get('port', '5432')}/{p.get('dbname', p.get('user'))}"


def _parse_expect(items):
    """``--expect service=position:hash`` (a head an auditor kept elsewhere, e.g. on paper)."""
    expected = []
    for item in items:
        svc, _, rest = item.partition("=")
        position, _, digest = rest.partition(":")
        if svc not in SERVICES or not position.isdigit() or len(digest) != 64:
            raise AuditError(f"--expect takes service=position:sha256-hex, not {item!r}")
        expected.append((svc, int(position), digest, "given with --expect"))
    return expected


def _check_anchors(args, dsns, heads, results):
    """A hash chain proves every row against the one before it, but not that rows were not cut
    off its end (or that the whole chain was not recomputed by whoever can write the table). So
    each verify compares the store with the heads verified before (kept in the audit database,
    keyed by service and where the store is, and any ``--expect``), and records the head it has
    just verified. A store shorter than an anchor, or whose hash at an anchored position changed,
    is broken there. ``--no-anchors`` checks and records nothing (a store knowingly replaced)."""
    anchors = _parse_expect(args.expect)
    conn = None if args.no_anchors else open_index(args)
    try:
        if conn is not None:
            with conn.cursor() as cur:
                cur.execute("SELECT service, position, hash, verified_at FROM audit_anchors"
                            " WHERE store = ANY(%s)", ([_store_key(d) for d in dsns.values()],))
                for svc, position, digest, when in cur.fetchall():
                    anchors.append((svc, position, digest,
                                    f"verified on {when.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"))
        for r in results:
            svc = r["service"]
            mine = [a for a in anchors if a[0] == svc]
            found = _hashes_at(dsns[svc], svc, [heads[svc]] + [a[1] for a in mine])
            r["head_position"], r["head_hash"] = heads[svc], found.get(heads[svc])
            for _, position, digest, source in sorted(mine, key=lambda a: a[1]):
                if position > heads[svc]:
                    problem = (heads[svc] + 1, f"the store ends at position {heads[svc]}, but "
                               f"position {position} was there ({source}): events were removed",
                               digest, None)
                elif found.get(position) != digest:
                    problem = (position, f"the hash at position {position} is not the one "
                               f"{source}: the chain was rewritten", digest, found.get(position))
                else:
                    continue
                if r["ok"] or problem[0] < r["first_bad_position"]:
                    r.update(ok=False, first_bad_position=problem[0], reason=problem[1],
                             expected=problem[2], found=problem[3])
                break
        if conn is not None:
            with conn.cursor() as cur:
                for r in results:
                    if r["ok"] and r["head_position"]:
                        cur.execute(
                            "INSERT INTO audit_anchors (service, store, position, hash)"
                            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                            (r["service"], _store_key(dsns[r["service"]]), r["head_position"],
                             r["head_hash"]))
            conn.commit()
    finally:
        if conn is not None:
            conn.close()


# -- the audit index (for history) --------------------------------------------------------------
INDEX_SQL = """
CREATE TABLE IF NOT EXISTS audit_events (
    service         text NOT NULL,
    global_position bigint NOT NULL,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    stream_id       text NOT NULL,
    recorded_at     timestamptz NOT NULL,
    talent_id       text,
    application_id  text,
    applicant_id    text,
    causation_id    text,
    correlation_id  text,
    payload         jsonb NOT NULL,
    metadata        jsonb NOT NULL,
    PRIMARY KEY (service, global_position)
);
CREATE INDEX IF NOT EXISTS audit_events_talent ON audit_events (talent_id);
CREATE INDEX IF NOT EXISTS audit_events_application ON audit_events (application_id);
CREATE INDEX IF NOT EXISTS audit_events_applicant ON audit_events (applicant_id);
CREATE INDEX IF NOT EXISTS audit_events_causation ON audit_events (causation_id);
CREATE TABLE IF NOT EXISTS audit_anchors (
    service     text NOT NULL,
    store       text NOT NULL,
    position    bigint NOT NULL,
    hash        text NOT NULL,
    verified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store, position)
);
CREATE TABLE IF NOT EXISTS audit_cursor (
    service  text PRIMARY KEY,
    position bigint NOT NULL,
    hash     text NOT NULL
);
"""


def audit_dsn(args):
    return args.audit_dsn or os.environ.get("TALENT_AUDIT_DSN") or dsn_for("talent_audit")


def open_index(args):
    dsn = audit_dsn(args)
    if not args.audit_dsn and not os.environ.get("TALENT_AUDIT_DSN"):
        create_database(dsn_for("postgres"), "talent_audit")
    conn = connect(dsn, application_name="talent-audit", statement_timeout_ms=600_000)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (locks.AUDIT_INDEX,))
        cur.execute(INDEX_SQL)
    conn.commit()
    return conn


def sync_index(conn, dsns, progress=False):
    """Bring the audit index up to date with every store. A store whose event at the cursor no
    longer has the indexed hash (restored, replaced) is re-indexed from the start."""
    for svc, dsn in dsns.items():
        store = open_store(svc, dsn)
        with conn.cursor() as cur:
            cur.execute("SELECT position, hash FROM audit_cursor WHERE service = %s", (svc,))
            row = cur.fetchone()
            after = 0
            if row:
                with store.db.transaction() as scur:
                    scur.execute("SELECT hash FROM events WHERE global_position = %s", (row[0],))
                    found = scur.fetchone()
                if found and found[0] == row[1]:
                    after = row[0]
                else:
                    cur.execute("DELETE FROM audit_events WHERE service = %s", (svc,))
        tick = Progress(f"indexing {svc}", progress)
        batch, last, n = [], None, 0
        for ev in store.read_all(after, decode=False):
            p, m = ev.data, ev.metadata
            batch.append((svc, ev.global_position, ev.event_id, ev.event_type, ev.stream_id,
                          ev.recorded_at, p.get("talent_id"), p.get("application_id"),
                          p.get("applicant_id"), m.get("causation_id"), m.get("correlation_id"),
                          orjson.dumps(p).decode(), orjson.dumps(m).decode()))
            last = ev
            n += 1
            if len(batch) >= 5000:
                _flush(conn, batch, svc, last)
                batch = []
                tick(n)
        if last is not None:
            _flush(conn, batch, svc, last)
        tick.done()
        store.db.close()


def _flush(conn, batch, svc, last):
    with conn.cursor() as cur:
        if batch:
            psycopg2.extras.execute_values(
                cur, "INSERT INTO audit_events VALUES %s", batch,
                template="(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s::jsonb,%s::jsonb)", page_size=1000)
        cur.execute("INSERT INTO audit_cursor VALUES (%s, %s, %s) ON CONFLICT (service) DO "
                    "UPDATE SET position = excluded.position, hash = excluded.hash",
                    (svc, last.global_position, last.hash))
    conn.commit()


_HISTORY_COLUMNS = ("service, global_position, event_id::text, event_type, stream_id, "
                    "recorded_at, talent_id, application_id, applicant_id, causation_id, "
                    "payload, metadata")


def person_events(conn, person):
    """Every indexed event about ``person`` (a talent, application or applicant id), and every
    event caused by one of them, in causal order."""
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        ids = {person}
        while True:  # a talent id leads to its application id and back (TalentCertified)
            cur.execute("SELECT DISTINCT talent_id, application_id, applicant_id FROM audit_events"
                        " WHERE talent_id = ANY(%(ids)s) OR application_id = ANY(%(ids)s)"
                        " OR applicant_id = ANY(%(ids)s)", {"ids": list(ids)})
            found = {v for row in cur.fetchall() for v in row.values() if v} | ids
            if found == ids:
                break
            ids = found
        cur.execute(f"SELECT {_HISTORY_COLUMNS} FROM audit_events WHERE talent_id = ANY(%(ids)s)"
                    " OR application_id = ANY(%(ids)s) OR applicant_id = ANY(%(ids)s)",
                    {"ids": list(ids)})
        events = {r["event_id"]: r for r in cur.fetchall()}
        frontier = list(events)
        while frontier:
            cur.execute(f"SELECT {_HISTORY_COLUMNS} FROM audit_events"
                        " WHERE causation_id = ANY(%s)", (frontier,))
            new = [r for r in cur.fetchall() if r["event_id"] not in events]
            events.update((r["event_id"], r) for r in new)
            frontier = [r["event_id"] for r in new]
    return causal_order(list(events.values()))


def causal_order(events):
    """By time, except that an event always comes after the event that caused it (clocks of
    different services may disagree by a little)."""
    events.sort(key=lambda e: (e["recorded_at"], e["service"], e["global_position"]))
    by_id = {e["event_id"]: e for e in events}
    placed, ordered = set(), []

    def place(e):
        if e["event_id"] in placed:
            return
        cause = by_id.get(e["causation_id"])
        if cause is not None and cause["event_id"] not in placed:
            place(cause)
        placed.add(e["event_id"])
        ordered.append(e)
    for e in events:
        place(e)
    return ordered


def _amounts(payload):
    return " ".join(f"{k.removesuffix('_fen')} {v / 100:,.2f}" for k, v in payload.items()
                    if k.endswith("_fen") and isinstance(v, int))


def _detail(payload):
    """The few payload facts that make a timeline line readable."""
    keys = ("stage", "grade", "ground", "tenure_year", "recipient", "payment_reference")
    return " ".join(f"{k}={payload[k]}" for k in keys if payload.get(k) is not None)


class Redactor:
    """Personal fields (``shared/crypto.py``) as the auditor sees them: ``"erased"`` where the
    person's key was deleted, ``"encrypted"`` where it was not; never the value. Reads each
    store's key store in a read-only session."""

    def __init__(self, dsns):
        self.dsns, self.conns, self.known = dsns, {}, {}
        self.keystore = sealing.KeyStore()

    def __call__(self, svc, event_type, payload):
        if event_type not in self.keystore.personal or svc not in self.dsns:
            return payload
        if svc not in self.conns:
            self.conns[svc] = connect(self.dsns[svc], autocommit=True, read_only=True,
                                      application_name="talent-audit")
        with self.conns[svc].cursor() as cur:
            return self.keystore.redact(cur, event_type, payload,
                                        self.known.setdefault(svc, {}))

    def close(self):
        for conn in self.conns.values():
            conn.close()


def cmd_history(args, out):
    conn = open_index(args)
    try:
        sync_index(conn, store_dsns(args.dsn), progress=args.progress)
        start = time.monotonic()
        events = person_events(conn, args.person)
        elapsed_ms = (time.monotonic() - start) * 1000
    finally:
        conn.close()
    if not events:
        raise AuditError(f"no events about {args.person} in any store")
    redact = Redactor(store_dsns(args.dsn))
    try:
        for e in events:
            e["payload"] = redact(e["service"], e["event_type"], e["payload"])
    finally:
        redact.close()
    rows = [{"time": e["recorded_at"], "service": e["service"], "event": e["event_type"],
             "actor": e["metadata"].get("actor_id"), "role": e["metadata"].get("actor_role"),
             "clauses": e["metadata"].get("clauses") or [], "amount": _amounts(e["payload"]),
             "detail": _detail(e["payload"]),
             "position": e["global_position"], "event_id": e["event_id"],
             "causation_id": e["causation_id"],
             "correlation_id": e["metadata"].get("correlation_id"), "payload": e["payload"]}
            for e in events]
    if args.json:
        emit_json({"person": args.person, "events": rows, "query_ms": round(elapsed_ms, 1)}, out)
    else:
        table(rows, ["time", "service", "event", "actor", "role", "clauses", "amount", "detail"],
              out)
        out.write(f"\n{len(rows)} events across {len({r['service'] for r in rows})} stores\n")
    return 0


# -- replay -------------------------------------------------------------------------------------
def parse_as_of(text):
    """A position (digits), a date (through the end of that day in China) or a datetime."""
    if text.isdigit():
        return {"to_position": int(text)}
    try:
        day = dt.date.fromisoformat(text)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), SHANGHAI)
        return {"as_of": end - dt.timedelta(microseconds=1)}
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise AuditError(f"--as-of {text!r} is neither a position, a date nor a datetime")
    return {"as_of": moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)}


def projectors_of(svc):
    module = importlib.import_module(f"services.{svc}.service")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == svc:
            return value.uow.projectors
    raise AuditError(f"no service class in services.{svc}.service")


def cmd_replay(args, out):
    if args.service not in SERVICES:
        raise AuditError(f"unknown service {args.service}; one of {', '.join(SERVICES)}")
    bound = parse_as_of(args.as_of)
    store = open_store(args.service, store_dsns(args.dsn)[args.service])
    schema = f"replay_{args.service}_{dt.datetime.now(dt.timezone.utc):%Y%m%d%H%M%S%f}"
    conn = open_index(args)
    projectors = projectors_of(args.service)
    start, n = time.monotonic(), 0
    tick = Progress(f"replaying {args.service}", args.progress)
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{schema}"; SET search_path TO "{schema}"')
            for projector in projectors:
                for _name, sql in projector.migrations:
                    cur.execute(sql)
            # A projector with a bulk path folds the events in memory and is written once with
            # COPY; any other applies its statements event by event, as the live service does.
            # A fold that names its ``event_types`` is only given events of those types.
            folds = [p.fold() for p in projectors if hasattr(p, "fold")]
            live = [p for p in projectors if not hasattr(p, "fold")]
            by_type = {}

            def appliers(kind):
                found = by_type[kind] = [
                    f.apply for f in folds
                    if getattr(f, "event_types", None) is None or kind in f.event_types]
                return found
            for event in store.read_all(0, batch_size=5000, **bound):
                kind = event.event_type
                for apply in by_type[kind] if kind in by_type else appliers(kind):
                    apply(event)
                for projector in live:
                    projector.apply(cur, event)
                n += 1
                if n % 10_000 == 0:
                    tick(n)
            written = [(table_name, columns, rows) for fold in folds
                       for table_name, (columns, rows) in fold.tables().items()]
            rebuild = _drop_indexes(cur, schema, {t for t, _, rows in written if rows})
            for table_name, columns, rows in written:
                copy_rows(cur, f'"{schema}"."{table_name}"', columns, rows)
            for statement in rebuild:
                cur.execute(statement)
            tick.done()
            elapsed = time.monotonic() - start
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
                        " AND table_name <> 'schema_migrations' ORDER BY table_name", (schema,))
            tables = [t for (t,) in cur.fetchall()]
            state = {}
            for t in tables:
                cur.execute(f'SELECT * FROM "{schema}"."{t}" ORDER BY 1 LIMIT %s', (args.limit,))
                cols = [c.name for c in cur.description]
                state[t] = [dict(zip(cols, r)) for r in cur.fetchall()]
        conn.commit()
        if not args.keep:
            with conn.cursor() as cur:
                cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.commit()
    finally:
        conn.close()
        store.db.close()
    summary = {"service": args.service, "as_of": args.as_of, "events": n,
               "events_per_s": round(n / elapsed) if elapsed else None,
               "schema": schema if args.keep else None, "read_models": state}
    if args.json:
        emit_json(summary, out)
    else:
        out.write(f"{args.service} as of {args.as_of}: {n:,} events replayed "
                  f"({summary['events_per_s'] or 0:,}/s)"
                  + (f" into schema {schema} of the audit database" if args.keep else "") + "\n")
        for t, rows in state.items():
            out.write(f"\n{t} ({len(rows)} rows{', first ' + str(args.limit) if len(rows) == args.limit else ''})\n")
            if rows:
                cols = [c for c in rows[0] if not isinstance(rows[0][c], (dict, list))]
                table(rows, cols, out)
    return 0


def _drop_indexes(cur, schema, tables):
    """Drop the indexes of ``tables`` in ``schema`` (those of their primary key, unique and
    exclusion constraints with the constraints) and return the statements that make them again,
    the same names and definitions: built once over the rows COPY has loaded, an index costs the
    server a fraction of what keeping it up to date row by row does (and a constraint made again
    checks every row, as COPY would have). A table that a foreign key references keeps its own."""
    if not tables:
        return []
    cur.execute("""
        SELECT t.relname, i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class t ON t.oid = x.indrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
          LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                                   AND c.contype IN ('p', 'u', 'x')
         WHERE n.nspname = %s AND t.relname = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f'
                                                          AND f.confrelid = t.oid)
         ORDER BY c.conname IS NULL, i.oid""", (schema, sorted(tables)))
    quote = lambda name: psycopg2.extensions.quote_ident(name, cur)  # noqa: E731
    rebuild = []
    for table_name, index, index_def, constraint, constraint_def in cur.fetchall():
        if constraint is None:
            index = f"{quote(schema)}.{quote(index)}"
            cur.execute(f"DROP INDEX {index}")
            rebuild.append(index_def)
        else:
            table, constraint = f"{quote(schema)}.{quote(table_name)}", quote(constraint)
            cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
            rebuild.append(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {constraint_def}")
    # One process each: workers would share maintenance_work_mem and sort on disk, spending
    # more CPU in all for no sooner an end (measured on the notifications replay).
    return ["SET LOCAL max_parallel_maintenance_workers = 0"] + rebuild if rebuild else []


def _copy_text(value):
    """One value in COPY's text format, as psycopg2 would have passed it as a parameter."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        text = orjson.dumps(value).decode()
    elif isinstance(value, dt.datetime):
        text = value.isoformat()
    else:
        text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    return text


# Values of these exact types whose COPY text (what _copy_text makes of them) needs no escaping.
_PLAIN_TEXT = {int: str, dt.date: dt.date.isoformat, dt.datetime: dt.datetime.isoformat,
               bool: {True: "t", False: "f"}.__getitem__}
_ZONE = operator.attrgetter("tzinfo")


def _copy_column(values):
    """``_copy_text`` of each of ``values`` (one column), a whole column at a time when it holds
    only strings needing no escape, or only values of one of the _PLAIN_TEXT types (and NULLs)."""
    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    if len(kinds) != 1:
        return ["\\N"] * len(values) if not kinds else list(map(_copy_text, values))
    kind = kinds.pop()
    if kind is str:
        text = "".join([v for v in values if v is not None] if nulls else values)
        if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
            return list(map(_copy_text, values))
        return ["\\N" if v is None else v for v in values] if nulls else values
    convert = _PLAIN_TEXT.get(kind)
    if convert is None:
        return list(map(_copy_text, values))
    if kind is dt.datetime:
        zones = set(map(_ZONE, filter(None, values) if nulls else values))
        zone = zones.pop()
        if zones or not (zone is None or type(zone) is dt.timezone):
            # equal datetimes may be written differently (in other zones, or with the fold of
            # a zone's repeated hour): each is converted
            return ["\\N" if v is None else convert(v) for v in values]
    # each distinct value converted once (the events of one append share their recorded_at)
    texts = dict.fromkeys(values)
    for value in texts:
        texts[value] = "\\N" if value is None else convert(value)
    return list(map(texts.__getitem__, values))


class _Pieces:
    """A file-like object for ``copy_expert`` that hands over one piece at each read."""

    def __init__(self, pieces):
        self.pieces = iter(pieces)

    def read(self, size=-1):
        return next(self.pieces, "")


def copy_rows(cur, table_name, columns, rows, chunk=5_000):
    """Write ``rows`` (tuples in ``columns`` order) into ``table_name`` with one COPY, the text
    made ``chunk`` rows at a time (column by column) while the server takes in the last piece."""
    if not rows:
        return
    sql = f"COPY {table_name} ({', '.join(columns)}) FROM STDIN"

    def pieces():
        width = len(columns)
        for i in range(0, len(rows), chunk):
            part = rows[i:i + chunk]
            if set(map(len, part)) == {width}:
                text = "\n".join(map("\t".join, zip(*map(_copy_column, zip(*part)))))
            else:  # not one value per column: the server says so, as for any bad row
                text = "\n".join("\t".join(map(_copy_text, row)) for row in part)
            yield text + "\n"
    cur.copy_expert(sql, _Pieces(pieces()))


# -- export -------------------------------------------------------------------------------------
EXPORT_FIELDS = ("service", "global_position", "event_id", "stream_type", "stream_id",
                 "stream_version", "event_type", "schema_version", "recorded_at", "actor_id",
                 "actor_role", "clauses", "correlation_id", "causation_id", "payload", "hash")


def cmd_export(args, out):
    if args.person:
        conn = open_index(args)
        try:
            sync_index(conn, store_dsns(args.dsn), progress=args.progress)
            events = person_events(conn, args.person)
        finally:
            conn.close()
        rows = ({"service": e["service"], "global_position": e["global_position"],
                 "event_id": e["event_id"], "stream_type": None, "stream_id": None,
                 "stream_version": None, "event_type": e["event_type"], "schema_version": None,
                 "recorded_at": e["recorded_at"], "payload": e["payload"],
                 "metadata": e["metadata"], "hash": None} for e in events
                if args.service in (None, e["service"]))
    else:
        if not args.service:
            raise AuditError("export needs a service, or --person")
        store = open_store(args.service, store_dsns(args.dsn)[args.service])
        rows = ({"service": args.service, "global_position": ev.global_position,
                 "event_id": ev.event_id, "stream_type": ev.stream_type,
                 "stream_id": ev.stream_id, "stream_version": ev.stream_version,
                 "event_type": ev.event_type, "schema_version": ev.schema_version,
                 "recorded_at": ev.recorded_at, "payload": ev.data, "metadata": ev.metadata,
                 "hash": ev.hash} for ev in store.read_all(0, decode=False))
    target = open(args.output, "w", newline="", encoding="utf-8") if args.output else out
    writer = None
    count = 0
    redact = Redactor(store_dsns(args.dsn))
    try:
        for row in rows:
            row["payload"] = redact(row["service"], row["event_type"], row["payload"])
            meta = row.pop("metadata")
            row.update(actor_id=meta.get("actor_id"), actor_role=meta.get("actor_role"),
                       clauses=meta.get("clauses"), correlation_id=meta.get("correlation_id"),
                       causation_id=meta.get("causation_id"))
            row["recorded_at"] = row["recorded_at"].isoformat()
            if args.format == "jsonl":
                target.write(orjson.dumps({k: row[k] for k in EXPORT_FIELDS}).decode() + "\n")
            else:
                if writer is None:
                    writer = csv.DictWriter(target, fieldnames=EXPORT_FIELDS)
                    writer.writeheader()
                row["payload"] = orjson.dumps(row["payload"]).decode()
                row["clauses"] = ";".join(row["clauses"] or [])
                writer.writerow({k: row[k] for k in EXPORT_FIELDS})
            count += 1
    finally:
        redact.close()
        if args.output:
            target.close()
    if args.output:
        sys.stderr.write(f"exported {count:,} events to {args.output}\n")
    return 0


# -- command line -------------------------------------------------------------------------------
def parser():
    ap = argparse.ArgumentParser(prog="talent-audit", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", action="append", default=[], metavar="SERVICE=DSN",
                        help="where a service's store is (default: its config.yaml)")
    common.add_argument("--audit-dsn", help="the audit database (index and replays); default "
                                            "$TALENT_AUDIT_DSN or database talent_audit")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--progress", action="store_true", default=sys.stderr.isatty(),
                        help="show progress on stderr")
    sub = ap.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", parents=[common], help="verify every hash chain")
    v.add_argument("--expect", action="append", default=[], metavar="SERVICE=POSITION:HASH",
                   help="a head kept outside the system that the store must still hold")
    v.add_argument("--no-anchors", action="store_true",
                   help="neither check nor record the heads verified before")
    h = sub.add_parser("history", parents=[common], help="one person's cross-service timeline")
    h.add_argument("person", help="a talent id, application id or applicant id")
    r = sub.add_parser("replay", parents=[common], help="a service's read models as of a point")
    r.add_argument("service")
    r.add_argument("--as-of", required=True, help="YYYY-MM-DD, an ISO datetime, or a position")
    r.add_argument("--limit", type=int, default=50, help="rows to print per read model")
    r.add_argument("--keep", action="store_true", help="keep the replay schema")
    e = sub.add_parser("export", parents=[common], help="events as JSON Lines or CSV")
    e.add_argument("service", nargs="?")
    e.add_argument("--person")
    e.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    e.add_argument("--output")
    return ap


COMMANDS = {"verify": cmd_verify, "history": cmd_history, "replay": cmd_replay,
            "export": cmd_export}


def main(argv=None, out=None):
    args = parser().parse_args(argv)
    out = out or sys.stdout
    try:
        return COMMANDS[args.command](args, out)
    except AuditError as exc:
        sys.stderr.write(f"talent-audit: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
