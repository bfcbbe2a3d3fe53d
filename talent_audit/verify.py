"""``talent-audit verify``: every hash chain, checked in parallel, and compared with the heads
verified before (anchors)."""

from __future__ import annotations

import argparse
import multiprocessing.context
import os
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TextIO

import psycopg2
from psycopg2.extensions import connection as Connection

from shared.db import connect
from shared.store import verify as chainverify
from talent_audit.errors import AuditError, Unavailable
from talent_audit.index import open_index
from talent_audit.output import Progress, emit_json, local_time, table
from talent_audit.stores import SERVICES, open_store, store_dsns, store_key

VERIFY_RANGE = 25_000  # positions per piece of work
_worker_conns: dict[str, Connection] = {}
_worker_metas: dict[str, dict[Any, Any]] = {}

# (service, position, hash, where the anchor comes from)
Anchor = tuple[str, int, str, str]


def _verify_range(
    svc: str, dsn: str, first: int, last: int
) -> tuple[str, int, chainverify.RangeResult]:
    """In a worker process: check positions first..last of one store (shared.store.verify)."""
    conn = _worker_conns.get(dsn)
    if conn is None or conn.closed:
        for other in _worker_conns.values():  # one connection per worker at a time
            other.close()
        _worker_conns.clear()
        conn = _worker_conns[dsn] = connect(
            dsn, application_name="talent-audit", read_only=True, statement_timeout_ms=600_000
        )
    try:
        with conn.cursor() as cur:
            return (
                svc,
                first,
                chainverify.verify_range(cur, first, last, _worker_metas.setdefault(dsn, {})),
            )
    finally:
        conn.rollback()


def _forkserver() -> multiprocessing.context.ForkServerContext:
    """Workers forked from a server that imported what they need once (spawning each one would
    import it all again, half a CPU-second per worker; forking the caller could inherit its
    threads). The caller's main module is not preloaded: each worker runs it again, and finding
    it already imported would warn."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        [
            "orjson",
            "psycopg2.extras",
            "shared.config",
            "shared.db",
            "shared.store.recording",
            "shared.store.verify",
            "talent_audit.verify",
        ]
    )
    return context


def _heads(dsns: Mapping[str, str]) -> dict[str, int]:
    heads = {}
    for svc, dsn in dsns.items():
        store = open_store(svc, dsn)
        heads[svc] = store.head()
        store.db.close()
    return heads


def run(args: argparse.Namespace, out: TextIO) -> int:
    """The chains are cut into ranges of positions, checked by a pool of processes in any
    order, then linked per service at the range boundaries (shared.store.verify): the
    result is exactly what a walk from position 1 finds. Positions appended after the start are
    not checked."""
    dsns = store_dsns(args.dsn)
    heads = _heads(dsns)
    work = [
        (svc, dsns[svc], first, last)
        for svc in dsns
        for first, last in chainverify.ranges(heads[svc], VERIFY_RANGE)
    ]
    work.sort(key=lambda w: (w[0], w[2]))  # a worker mostly stays on one store
    found: dict[str, dict[int, chainverify.RangeResult]] = {svc: {} for svc in dsns}
    start, done = time.monotonic(), 0
    tick = Progress("verifying", args.progress)
    # two per CPU: while one waits for the server to produce its range, the other hashes
    workers = max(1, min(len(work), 2 * (os.cpu_count() or 1)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=_forkserver()) as pool:
        try:
            for svc, first, result in pool.map(_verify_range, *zip(*work)) if work else ():
                found[svc][first] = result
                done += min(VERIFY_RANGE, heads[svc] - first + 1)
                tick(done)
        except psycopg2.Error as exc:
            raise Unavailable(f"cannot read a store: {str(exc).strip().splitlines()[0]}") from exc
    tick.done()
    elapsed = time.monotonic() - start
    results: list[dict[str, Any]] = []
    for svc in dsns:
        linked = chainverify.link(found[svc][first] for first in sorted(found[svc]))
        results.append(
            {
                "service": svc,
                "ok": linked.ok,
                "checked": linked.checked,
                "first_bad_position": linked.position,
                "reason": linked.reason,
                "expected": linked.expected,
                "found": linked.found,
            }
        )
    _check_anchors(args, dsns, heads, results)
    total = sum(r["checked"] for r in results)
    if args.json:
        emit_json(
            {
                "ok": all(r["ok"] for r in results),
                "services": results,
                "checked": total,
                "seconds": round(elapsed, 3),
                "events_per_s": round(total / elapsed) if elapsed else None,
            },
            out,
        )
    else:
        table(
            [{**r, "result": "ok" if r["ok"] else "BROKEN"} for r in results],
            ["service", "result", "checked", "head_position", "first_bad_position", "reason"],
            out,
        )
        for r in results:
            if not r["ok"]:
                out.write(
                    f"\n{r['service']}: position {r['first_bad_position']}: {r['reason']}\n"
                    f"  expected {r['expected']}\n  found    {r['found']}\n"
                )
        verified = [r for r in results if r["ok"] and r["head_position"]]
        if verified:  # whole, on lines of their own: to be copied into a report or a later --expect
            out.write("\nHeads verified (check them later with --expect):\n")
            for r in verified:
                out.write(f"  {r['service']}={r['head_position']}:{r['head_hash']}\n")
    return 0 if all(r["ok"] for r in results) else 1


# -- anchors: what an earlier verify saw, so that cutting the tail of a chain is noticed ---------
def _hashes_at(dsn: str, svc: str, positions: Iterable[int]) -> dict[int, str]:
    store = open_store(svc, dsn)
    try:
        with store.db.transaction() as cur:
            cur.execute(
                "SELECT global_position, hash FROM events WHERE global_position = ANY(%s)",
                (sorted(set(positions)),),
            )
            return dict(cur.fetchall())
    finally:
        store.db.close()


def _parse_expect(items: Iterable[str]) -> list[Anchor]:
    """``--expect service=position:hash`` (a head an auditor kept elsewhere, e.g. on paper)."""
    expected = []
    for item in items:
        svc, _, rest = item.partition("=")
        position, _, digest = rest.partition(":")
        if svc not in SERVICES or not position.isdigit() or len(digest) != 64:
            raise AuditError(f"--expect takes service=position:sha256-hex, not {item!r}")
        expected.append((svc, int(position), digest, "given with --expect"))
    return expected


def _check_anchors(
    args: argparse.Namespace,
    dsns: Mapping[str, str],
    heads: Mapping[str, int],
    results: list[dict[str, Any]],
) -> None:
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
                cur.execute(
                    "SELECT service, position, hash, verified_at FROM audit_anchors"
                    " WHERE store = ANY(%s)",
                    ([store_key(d) for d in dsns.values()],),
                )
                for svc, position, digest, when in cur.fetchall():
                    anchors.append(
                        (
                            svc,
                            position,
                            digest,
                            f"verified on {local_time(when)}",
                        )
                    )
        for r in results:
            svc = r["service"]
            mine = [a for a in anchors if a[0] == svc]
            found = _hashes_at(dsns[svc], svc, [heads[svc]] + [a[1] for a in mine])
            r["head_position"], r["head_hash"] = heads[svc], found.get(heads[svc])
            for _, position, digest, source in sorted(mine, key=lambda a: a[1]):
                problem: tuple[int, str, str, str | None]
                if position > heads[svc]:
                    problem = (
                        heads[svc] + 1,
                        f"the store ends at position {heads[svc]}, but "
                        f"position {position} was there ({source}): events were removed",
                        digest,
                        None,
                    )
                elif found.get(position) != digest:
                    problem = (
                        position,
                        f"the hash at position {position} is not the one "
                        f"{source}: the chain was rewritten",
                        digest,
                        found.get(position),
                    )
                else:
                    continue
                if r["ok"] or problem[0] < r["first_bad_position"]:
                    r.update(
                        ok=False,
                        first_bad_position=problem[0],
                        reason=problem[1],
                        expected=problem[2],
                        found=problem[3],
                    )
                break
        if conn is not None:
            with conn.cursor() as cur:
                for r in results:
                    if r["ok"] and r["head_position"]:
                        cur.execute(
                            "INSERT INTO audit_anchors (service, store, position, hash)"
                            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                            (
                                r["service"],
                                store_key(dsns[r["service"]]),
                                r["head_position"],
                                r["head_hash"],
                            ),
                        )
            conn.commit()
    finally:
        if conn is not None:
            conn.close()
