"""talent-audit: the auditors' tool. It reads the four services' event stores directly, read-only,
and trusts nothing the running services say.

    talent-audit verify                         walk every hash chain; exit 1 on a break
    talent-audit history <talent or application id>
                                                one person's timeline across the four stores
    talent-audit replay <service> --as-of <date, datetime or position>
                                                rebuild that service's read models as of then,
                                                in a scratch database, and print them
    talent-audit export <service> [--person ID] [--format jsonl|json|csv] [--output FILE]
                                                events with every stored column, enough to
                                                recompute each hash (the canonical form: README)

Every command takes ``--json`` for machine-readable output (for ``export``: one JSON document).
People get tables as wide as the terminal, times in China Standard Time with their offset and
amounts in yuan. The stores are found from the services' config files
(``services/<svc>/config.yaml``, with the same environment variables as the services) or given
with ``--dsn service=DSN``. ``history`` keeps its own index of the stores (database
``talent_audit``, or ``--audit-dsn``), brought up to date from the stores at each run; ``replay``
writes only to that scratch database, into a schema of its own.

Exit status: 0 done (every chain verified), 1 a chain broken, 2 the command cannot be done as
given (bad arguments, unknown service or person, an --output that cannot be written), 3 a store
or the audit database cannot be read, or the output fails.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

import psycopg2

from talent_audit import export, history, replay, verify
from talent_audit.errors import OK, UNAVAILABLE, USAGE, AuditError
from talent_audit.read_models import ReadModels


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="talent-audit",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dsn",
        action="append",
        default=[],
        metavar="SERVICE=DSN",
        help="where a service's store is (default: its config.yaml)",
    )
    common.add_argument(
        "--audit-dsn",
        help="the audit database (index and replays); default "
        "$TALENT_AUDIT_DSN or database talent_audit",
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--progress",
        action="store_true",
        default=sys.stderr.isatty(),
        help="show progress on stderr",
    )
    sub = ap.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", parents=[common], help="verify every hash chain")
    v.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="SERVICE=POSITION:HASH",
        help="a head kept outside the system that the store must still hold",
    )
    v.add_argument(
        "--no-anchors",
        action="store_true",
        help="neither check nor record the heads verified before",
    )
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
    e.add_argument(
        "--format",
        choices=("jsonl", "json", "csv"),
        help="JSON Lines (default), one JSON document (as --json), or CSV",
    )
    e.add_argument("--output", help="write to this file (default: standard output)")
    return ap


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, *, read_models: ReadModels
) -> int:
    """Run one command; ``read_models`` (service name -> its projectors) are what ``replay``
    rebuilds. The exit status (``talent_audit.errors``): 0 done, 1 a chain broken, 2 the command
    cannot be done as given, 3 a store or a database cannot be read (or the output fails).
    Errors are one line on stderr, never a traceback."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error, already printed by argparse
        return exc.code if isinstance(exc.code, int) else USAGE
    commands: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
        "verify": verify.run,
        "history": history.run,
        "replay": functools.partial(replay.run, read_models=read_models),
        "export": export.run,
    }
    try:
        return commands[args.command](args, out or sys.stdout)
    except AuditError as exc:
        sys.stderr.write(f"talent-audit: {exc}\n")
        return exc.exit_code
    except psycopg2.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"talent-audit: a database cannot be read: {first}\n")
        return UNAVAILABLE
    except KeyboardInterrupt:
        sys.stderr.write("talent-audit: interrupted\n")
        return 130
    except BrokenPipeError:  # the reader stopped reading (``| head``): nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit's flush does not fail again
        return OK
    except OSError as exc:  # writing the output failed (disk full, a file gone)
        sys.stderr.write(f"talent-audit: cannot write the output: {exc.strerror or exc}\n")
        return UNAVAILABLE
