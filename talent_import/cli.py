"""The ``talent-import`` command.

    talent-import FILE [FILE ...] --by NAME [--check] [--json]
    talent-import template OUT.xlsx

Reads the file (an .xlsx workbook, or CSV files named by their sheet), checks every row, and
only when no row has a problem records it through the running services' HTTP commands (the
services' addresses: ``<SERVICE>_HTTP``; the signing secret: ``AUTH_SECRET``), then runs the
assessment deadline sweep so the imported tenures get the report windows their dates call for.
Exit status: 0 recorded (or already there), 1 problems in the file (nothing written), 2 a service
refused a command (the rows before it are recorded; importing the corrected file again goes on
from there)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import orjson

from talent_client.http import Client
from talent_client.samples import shanghai_today
from talent_import.plan import build
from talent_import.reader import read
from talent_import.run import ImportRefused, write
from talent_import.workbook import write_workbook


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="talent-import", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", type=Path, help="an .xlsx workbook, or CSV files")
    p.add_argument("--by", help="who imports the file (recorded with every fact)")
    p.add_argument("--check", action="store_true", help="check the file only, write nothing")
    p.add_argument("--json", action="store_true", help="the outcome as JSON")
    return p


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["template"]:
        if len(args_list) != 2:
            out.write("usage: talent-import template OUT.xlsx\n")
            return 1
        write_workbook(Path(args_list[1]))
        out.write(f"template written to {args_list[1]}\n")
        return 0
    args = _parser().parse_args(args_list)
    if not args.check and not args.by:
        out.write("--by NAME is required to write (who imports the file)\n")
        return 1
    client = Client(out=lambda *_: None)
    source = read(args.files)
    open_rounds: frozenset[int] = frozenset()
    if not args.check or not source.problems:
        try:
            r = client.call("GET", "applications", "/rounds", "prefecture_officer")
            open_rounds = frozenset(row["year"] for row in r.json()["rounds"])
        except Exception:  # noqa: BLE001 - checking a file offline: rounds must be in it
            if not args.check:
                raise
    plan = build(source, shanghai_today(), open_rounds=open_rounds)
    outcome: dict[str, object] = {"file_sha256": plan.sha256}
    if plan.problems:
        outcome.update(status="refused", problems=[str(p) for p in plan.problems])
        _emit(out, args.json, outcome)
        return 1
    if args.check:
        outcome.update(status="checked", commands=len(plan.steps))
        _emit(out, args.json, outcome)
        return 0
    try:
        counts = write(client, plan, args.by)
    except ImportRefused as exc:
        outcome.update(status="stopped", error=str(exc))
        _emit(out, args.json, outcome)
        return 2
    client.call("POST", "assessment", "/deadlines/run", "prefecture_officer", json={})
    outcome.update(status="imported", **counts, talents=plan.talents)
    _emit(out, args.json, outcome)
    return 0


def _emit(out: TextIO, as_json: bool, outcome: dict[str, object]) -> None:
    if as_json:
        out.write(orjson.dumps(outcome).decode() + "\n")
        return
    for problem in outcome.get("problems", []):  # type: ignore[attr-defined]
        out.write(f"{problem}\n")
    out.write(
        " ".join(f"{k}={v}" for k, v in outcome.items() if k not in ("problems", "talents")) + "\n"
    )


if __name__ == "__main__":
    sys.exit(main())
