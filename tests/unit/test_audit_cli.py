"""The auditors' tool is told the services' read models by its composition root
(``services/audit_cli.py``) and reaches into no service itself."""

import ast
import datetime as dt
import importlib
import io
from pathlib import Path

import pytest

from services import audit_cli
from talent_audit import cli
from talent_audit.stores import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def test_the_tool_imports_nothing_of_the_services():
    found = []
    for path in sorted((ROOT / "talent_audit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Call) and "import" in ast.unparse(node.func):
                names = [ast.unparse(node)]
            else:
                continue
            found += [
                (path.name, n)
                for n in names
                if n.split(".")[0] == "services" or "import_module" in n or "__import__" in n
            ]
    assert not found


def _live_projectors(svc):
    """The projectors the running service's store applies to each append."""
    module = importlib.import_module(f"services.{svc}.service")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == svc:
            for attribute in dir(value):
                projectors = getattr(getattr(value, attribute), "projectors", None)
                if projectors is not None:
                    return projectors
    raise AssertionError(f"no store with projectors in services.{svc}.service")


@pytest.mark.parametrize("svc", SERVICES)
def test_replay_is_given_the_read_models_the_live_service_keeps(svc):
    assert list(audit_cli.READ_MODELS) == list(SERVICES)
    assert [type(p) for p in audit_cli.READ_MODELS[svc]] == [type(p) for p in _live_projectors(svc)]


def test_replay_without_the_services_read_models_says_so(capsys):
    out = io.StringIO()
    code = cli.main(["replay", "subsidies", "--as-of", "7"], out, read_models={})
    assert code == 2 and out.getvalue() == ""
    assert capsys.readouterr().err == (
        "talent-audit: no read models of the subsidies service were given to talent-audit\n"
    )


def test_replay_of_an_unknown_service_names_the_services(capsys):
    assert audit_cli.main(["replay", "payroll", "--as-of", "7"], io.StringIO()) == 2
    assert capsys.readouterr().err == (
        "talent-audit: unknown service payroll; one of "
        "applications, subsidies, assessment, notifications\n"
    )


def test_a_table_fits_the_width_it_is_given_whatever_its_cells(monkeypatch):
    from rich.cells import cell_len

    from talent_audit.output import table

    monkeypatch.setenv("COLUMNS", "60")
    rows = [
        {
            "time": dt.datetime(2026, 6, 30, 6, 5, 9, tzinfo=dt.UTC),
            "name": "楚雄彝族自治州电子商务领军人才" * 3,
            "granted_fen": 5_000_000,
            "note": "[bold]not markup[/bold] " + "x" * 120,
        }
    ]
    out = io.StringIO()
    table(rows, ["time", "name", "granted_fen", "note"], out)
    text = out.getvalue()
    assert max(cell_len(line) for line in text.splitlines()) <= 60
    assert "2026-06-30 14:05:09 +08:00" in text  # China Standard Time, with its offset
    assert "50,000.00" in text and "granted (CNY)" in text and "5000000" not in text
    assert "[bold]" in text  # values are shown, never interpreted
    assert "\x1b[" not in text  # no colour codes in a file


def test_a_table_that_fits_says_the_zone_in_its_heading(monkeypatch):
    from talent_audit.output import table

    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    moment = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)
    table(
        [{"time": moment, "event": "SubsidyPaid", "paid_fen": 1}],
        ["time", "event", "paid_fen"],
        out,
    )
    heading, rule, row = out.getvalue().splitlines()
    assert heading.split() == ["time", "(+08:00)", "event", "paid", "(CNY)"]
    assert row.split() == ["2026-07-01", "07:30:00", "SubsidyPaid", "0.01"]


def test_amounts_and_times_for_people():
    from talent_audit.output import local_time, yuan

    assert [yuan(v) for v in (0, 5, 123_456_789, -1_050)] == [
        "0.00",
        "0.05",
        "1,234,567.89",
        "-10.50",
    ]
    assert local_time(dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.UTC)) == (
        "2027-01-01 04:00:00 +08:00"
    )


def test_usage_errors_and_help_return_their_status_without_a_traceback(capsys):
    assert audit_cli.main(["--help"], io.StringIO()) == 0
    assert "Exit status" in capsys.readouterr().out
    assert audit_cli.main(["export", "--format", "xml"], io.StringIO()) == 2
    assert audit_cli.main(["frobnicate"], io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err
    code = audit_cli.main(["export", "subsidies", "--json", "--format", "csv"], io.StringIO())
    assert code == 2
    assert capsys.readouterr().err == (
        "talent-audit: --json writes one JSON document; it cannot be --format csv\n"
    )
    assert audit_cli.main(["export"], io.StringIO()) == 2
    assert capsys.readouterr().err == "talent-audit: export needs a service, or --person\n"
