"""Auditor tooling speed on a generated history of about 1,000,000 events across four stores.

Each generated person has the events of the skeleton path (8 in applications, 2 in subsidies,
7 in assessment, ~20 notifications), appended through the real event store in batches of 1,000
(several people share a bench stream: the audit tools do not depend on stream boundaries).

    python bench/audit.py [--events N] [--keep | --reuse TAG] [--skip-history]
Targets: verify >= 200,000 events/s; history of one person < 200 ms; replay >= 100,000 events/s.
verify is measured twice (the first read of freshly loaded rows also sets their hint bits);
replay is measured for each service. Ends with one JSON line.
"""

import argparse
import datetime as dt
import io
import json
import os
import resource
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from services import audit_cli as audit  # noqa: E402
from shared.config import dsn_for  # noqa: E402
from shared.db import Database, create_database, drop_database  # noqa: E402
from shared.decider import NewEvent  # noqa: E402
from shared.store import EventStore, Metadata  # noqa: E402
from talent_audit.stores import SERVICES  # noqa: E402

STAGES = (
    "county_recommendation",
    "qualification_review",
    "expert_review",
    "inspection",
    "approval",
)
D = dt.date(2025, 6, 1)


def person_events(i):
    app, talent = f"app-{i}", f"talent-{i}"
    apps = [
        NewEvent(
            "ApplicationSubmitted",
            {
                "application_id": app,
                "round_year": 2025,
                "county": "楚雄市",
                "applicant_name": f"申报人{i}",
                "enterprise_name": f"企业{i}",
                "category": "LT-6.3",
                "evidence": {"sales_fen": 400_000_000},
                "submitted_on": D,
            },
            ("LT-9.1",),
        )
    ]
    apps += [
        NewEvent("ReviewPassed", {"application_id": app, "stage": s, "opinion": "同意"}, ("LT-9",))
        for s in STAGES
    ]
    apps += [
        NewEvent(
            "PublicNoticeStarted",
            {"application_id": app, "start_date": D, "end_date": D, "working_days": 5},
            ("LT-9.5",),
        ),
        NewEvent(
            "TalentCertified",
            {
                "talent_id": talent,
                "application_id": app,
                "applicant_name": f"申报人{i}",
                "county": "楚雄市",
                "category": "LT-6.3",
                "track": "seller",
                "baseline_year": 2024,
                "baseline": {"sales_fen": 400_000_000},
                "period_start": D,
                "period_end": D,
            },
            ("LT-10",),
        ),
    ]
    subs = [
        NewEvent(
            "SubsidyGranted",
            {
                "grant_id": f"g-{i}",
                "talent_id": talent,
                "measure": "LT-10.1",
                "amount_fen": 5_000_000,
                "fiscal_year": 2025,
            },
            ("LT-10.1",),
        ),
        NewEvent(
            "SubsidyPaid",
            {
                "grant_id": f"g-{i}",
                "talent_id": talent,
                "amount_fen": 5_000_000,
                "payment_reference": f"P{i}",
                "paid_on": D,
            },
            ("LT-10.1",),
        ),
    ]
    comp = [
        {
            "figure": "sales_fen",
            "baseline": 1,
            "current": 2,
            "years": 1,
            "average_growth": "1.0000",
            "qualified_threshold": "0.10",
        }
    ]
    tenure = [
        NewEvent(
            "TenureOpened",
            {
                "talent_id": talent,
                "county": "楚雄市",
                "track": "seller",
                "period_start": D,
                "period_end": D,
                "baseline_year": 2024,
                "baseline": {"sales_fen": 400_000_000},
            },
            ("LT-10",),
        )
    ]
    for year in (1, 2, 3):
        tenure += [
            NewEvent(
                "AnnualReportFiled",
                {
                    "talent_id": talent,
                    "tenure_year": year,
                    "figures": {"sales_fen": 500_000_000},
                    "promotion_activities": 2,
                    "backbones_trained": 6,
                    "full_time_in_chuxiong": True,
                },
                ("LT-11.1",),
            ),
            NewEvent(
                "AssessmentPassed",
                {
                    "talent_id": talent,
                    "tenure_year": year,
                    "grade": "qualified",
                    "computation": comp,
                },
                ("LT-11.1",),
            ),
        ]
    notes = [
        NewEvent(
            "NotificationRecorded",
            {
                "notification_id": f"n-{i}-{k}",
                "recipient": f"talent:{talent}",
                "channel": "inbox",
                "subject": "通知",
                "body": "正文",
                "source_service": "applications",
                "source_event_type": "ReviewPassed",
                "source_event_id": str(uuid.uuid4()),
            },
        )
        for k in range(20)
    ]
    return {"applications": apps, "subsidies": subs, "assessment": tenure, "notifications": notes}


def generate(stores, target):
    meta = Metadata("bench", "system", "bench", policy_version="bench")
    pending = {svc: [] for svc in stores}
    total, person = 0, 0
    start = time.perf_counter()
    while total < target:
        for svc, events in person_events(person).items():
            pending[svc].extend(events)
            total += len(events)
        person += 1
        for svc, events in pending.items():
            if len(events) >= 1000:
                stores[svc].append("bench", f"bench-{svc}-{person}", 0, events, meta)
                pending[svc] = []
        if person % 2000 == 0:
            rate = total / (time.perf_counter() - start)
            print(f"\rgenerating: {total:,} events ({rate:,.0f}/s)", end="", flush=True)
    for svc, events in pending.items():
        if events:
            stores[svc].append("bench", f"bench-{svc}-last", 0, events, meta)
    print()
    return total, person


class CpuMeter:
    """CPU seconds spent by this process, its descendants (the verify workers, forked by a
    forkserver) and the PostgreSQL backends serving the bench's databases, sampled from /proc
    every 20 ms (a process that exits between samples loses at most that much). On a shared
    machine, events per CPU-second says what the code costs whatever else is running;
    wall-clock rates say what it got."""

    def __init__(self, tag):
        self.tag, self.stop = tag.encode(), threading.Event()
        self.server, self.children = {}, {}
        self.tick = os.sysconf("SC_CLK_TCK")

    def _sample(self):
        me, parents, cpu, backends = str(os.getpid()), {}, {}, set()
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            parents[pid] = fields[1]
            cpu[pid] = (int(fields[11]) + int(fields[12])) / self.tick
            if cmd.startswith(b"postgres:") and self.tag in cmd:
                backends.add(pid)
        for pid, seconds in cpu.items():
            if pid in backends:
                self.server[pid] = seconds
                continue
            up, hops = parents.get(pid), 0
            while up and up != "0" and hops < 8:
                if up == me:
                    self.children[pid] = seconds
                    break
                up, hops = parents.get(up), hops + 1

    def __enter__(self):
        self._sample()
        self.base = {**self.server, **self.children}
        self.own = self._own()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop.wait(0.02):
            self._sample()

    @staticmethod
    def _own():
        me = resource.getrusage(resource.RUSAGE_SELF)
        return me.ru_utime + me.ru_stime

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self._sample()
        spent = lambda seen: sum(v - self.base.get(pid, 0) for pid, v in seen.items())  # noqa
        self.client = self._own() - self.own + spent(self.children)
        self.server = spent(self.server)
        self.total = self.client + self.server


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the generated databases (their tag is printed) for --reuse",
    )
    ap.add_argument("--reuse", metavar="TAG", help="measure the databases kept by a --keep run")
    ap.add_argument("--skip-history", action="store_true", help="measure verify and replay only")
    args = ap.parse_args()
    tag = args.reuse or uuid.uuid4().hex[:6]
    dbs = {svc: f"talent_bench_audit_{svc}_{tag}" for svc in SERVICES}
    audit_db = f"talent_bench_audit_index_{tag}"
    admin = dsn_for("postgres")
    if not args.reuse:
        for name in list(dbs.values()) + [audit_db]:
            create_database(admin, name, drop_first=True)
    history_ms = index_s = None
    try:
        stores = {svc: EventStore(Database(dsn_for(db)), svc) for svc, db in dbs.items()}
        if args.reuse:
            total = sum(s.head() for s in stores.values())
            persons = stores["subsidies"].head() // 2
        else:
            for s in stores.values():
                s.migrate()
            total, persons = generate(stores, args.events)
        sizes = {svc: s.head() for svc, s in stores.items()}
        for s in stores.values():
            s.db.close()
        print(
            f"{total:,} events, {persons:,} people, tag {tag}: "
            + ", ".join(f"{svc} {n:,}" for svc, n in sizes.items())
        )
        cli = [a for svc, db in dbs.items() for a in ("--dsn", f"{svc}={dsn_for(db)}")]
        cli += ["--audit-dsn", dsn_for(audit_db)]

        verify_eps, verify_cpu = [], []
        for run in ("first read after loading", "again"):
            out = io.StringIO()
            t = time.perf_counter()
            with CpuMeter(tag) as cpu:
                assert audit.main(["verify", "--json", *cli], out=out) == 0
            verify_s = time.perf_counter() - t
            verify_eps.append(total / verify_s)
            verify_cpu.append(total / cpu.total)
            print(
                f"verify ({run}): {total:,} events in {verify_s:.1f} s, whole command "
                f"= {verify_eps[-1]:,.0f}/s; {cpu.client:.1f} CPU-s client + "
                f"{cpu.server:.1f} CPU-s server = {verify_cpu[-1]:,.0f} events/CPU-s; "
                f"load {os.getloadavg()[0]:.1f}"
            )

        if not args.skip_history:
            t = time.perf_counter()
            audit.main(["history", "talent-0", "--json", *cli], out=io.StringIO())
            index_s = time.perf_counter() - t
            print(f"history, first run (indexes {total:,} events): {index_s:.1f} s")
            samples = []
            for i in (1, persons // 2, persons - 2):
                out = io.StringIO()
                t = time.perf_counter()
                audit.main(["history", f"talent-{i}", "--json", *cli], out=out)
                samples.append((time.perf_counter() - t) * 1000)
                query_ms = json.loads(out.getvalue())["query_ms"]
            history_ms = max(samples)
            print(
                f"history of one person, whole command (index already current): "
                f"{history_ms:.0f} ms (query alone {query_ms:.1f} ms)"
            )

        replay_eps, replay_cpu, replay_core = {}, {}, {}
        for svc in SERVICES:
            out = io.StringIO()
            t = time.perf_counter()
            with CpuMeter(tag) as cpu:
                audit.main(
                    ["replay", svc, "--as-of", str(10**12), "--json", "--limit", "1", *cli], out=out
                )
            replay = json.loads(out.getvalue())
            replay_eps[svc] = round(replay["events"] / (time.perf_counter() - t))
            replay_cpu[svc] = round(replay["events"] / cpu.total)
            replay_core[svc] = replay["events_per_s"]
            print(
                f"replay {svc}, whole command: {replay['events']:,} events at "
                f"{replay_eps[svc]:,}/s (read, fold and write alone: "
                f"{replay['events_per_s']:,}/s); {cpu.client:.1f} CPU-s client + "
                f"{cpu.server:.1f} CPU-s server = {replay_cpu[svc]:,} events/CPU-s; "
                f"load {os.getloadavg()[0]:.1f}"
            )
    finally:
        if not args.keep:
            for name in list(dbs.values()) + [audit_db]:
                drop_database(admin, name)
    print(
        json.dumps(
            {
                "events": total,
                "persons": persons,
                "verify_eps": [round(v) for v in verify_eps],
                "verify_events_per_cpu_s": [round(v) for v in verify_cpu],
                "history_ms": history_ms and round(history_ms, 1),
                "history_index_s": index_s and round(index_s, 1),
                "replay_eps": replay_eps,
                "replay_events_per_cpu_s": replay_cpu,
                "replay_eps_without_start": replay_core,
                "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
