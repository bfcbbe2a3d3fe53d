"""The auditors' tool is told the services' read models by its composition root
(``services/audit_cli.py``) and reaches into no service itself."""

import ast
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
