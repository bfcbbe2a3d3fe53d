"""The layering the code keeps, checked on the source: the domain imports nothing from the store,
messaging, the web or the framework; shared code never reaches up into the services or the
tools; the shared modules import one another without cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("services", "shared", "talent_audit", "talent_client", "deploy", "bench", "tests")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _nodes(node: ast.AST):
    """``node`` and what it holds, but for ``if TYPE_CHECKING:`` blocks (read by mypy only)."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not (isinstance(child, ast.If) and ast.unparse(child.test) == "TYPE_CHECKING"):
            yield from _nodes(child)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports when it runs (``from a import b`` is ``a.b`` where b is a
    module; imports for the type checker alone are left out)."""
    found = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if is_module(sub) else node.module)
    return found


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


DOMAINS = sources(
    *(
        f"services/{svc}/domain"
        for svc in ("applications", "subsidies", "assessment", "notifications")
    )
)
# the shared modules a decider may stand on besides its own service's domain
DOMAIN_MAY_USE = {"shared.decider", "shared.errors", "shared.calendar"}
# what it may not: storage, messaging, the web, the framework and the drivers
INFRASTRUCTURE = ("nameko", "eventlet", "kombu", "amqp", "psycopg2", "werkzeug", "requests")


@pytest.mark.parametrize("path", DOMAINS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_imports_no_store_no_messaging_no_framework(path):
    service = path.relative_to(ROOT).parts[1]
    for name in imports(path):
        top = name.split(".")[0]
        if top in FIRST_PARTY:
            assert name.startswith(f"services.{service}.domain") or name in DOMAIN_MAY_USE, (
                f"{path.relative_to(ROOT)} imports {name}"
            )
        else:
            assert top not in INFRASTRUCTURE, f"{path.relative_to(ROOT)} imports {name}"


@pytest.mark.parametrize("path", sources("shared"), ids=lambda p: str(p.relative_to(ROOT)))
def test_shared_code_never_reaches_up(path):
    for name in imports(path):
        assert name.split(".")[0] not in ("services", "talent_audit", "talent_client"), (
            f"{path.relative_to(ROOT)} imports {name}"
        )


def test_the_auditors_tool_is_told_the_read_models():
    for path in sources("talent_audit"):
        assert not any(name.startswith("services") for name in imports(path)), path


def test_shared_modules_import_each_other_without_cycles():
    graph = {
        module_name(path): {n for n in imports(path) if n.startswith("shared.")}
        for path in sources("shared")
    }
    done, path_now = set(), []

    def visit(node: str) -> None:
        if node in path_now:
            raise AssertionError(" -> ".join([*path_now[path_now.index(node) :], node]))
        if node in done or node not in graph:
            return
        path_now.append(node)
        for child in graph[node]:
            if child != node and not node.startswith(child + "."):  # a package's own submodule
                visit(child)
        path_now.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)
