#!/usr/bin/env bash
# Create .venv and install the hashed locks (requirements/runtime.txt, what the services run
# with, and requirements/test.txt, tests and checks) plus the project (editable).
# Skips the install when .venv/.installed-<sha256 of the locks + pyproject.toml> exists.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [[ ! -x $VENV_PY ]]; then
    require_python
    say "Creating virtualenv .venv with $PYTHON ($("$PYTHON" --version 2>&1))"
    if ! "$PYTHON" -m venv "$VENV"; then
        rm -rf "$VENV"
        ver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        die "'$PYTHON -m venv' failed: the venv/ensurepip module is not installed." \
            "${AS_ROOT}apt-get install -y python3-venv python$ver-venv"
    fi
elif ! "$VENV_PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    die "$VENV is broken or uses a Python older than 3.11." "rm -rf .venv && bash deploy/local/venv.sh"
fi

# requirements.lock holds the pins; deploy/lock.sh compiles them into the hashed locks
lock_hash="$(sha256sum requirements.lock | cut -d' ' -f1)"
for lock in requirements/runtime.txt requirements/test.txt; do
    grep -q "^# requirements.lock sha256: $lock_hash\$" "$lock" ||
        die "$lock was not compiled from the current requirements.lock." "bash deploy/lock.sh"
done

hash="$(cat requirements/runtime.txt requirements/test.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
stamp="$VENV/.installed-$hash"
if [[ -f $stamp ]]; then
    say "Virtualenv up to date (requirements/*.txt and pyproject.toml unchanged)"
    exit 0
fi

say "Upgrading pip, setuptools<82, wheel"
"$VENV_PY" -m pip install -q --upgrade 'pip' 'setuptools<82' wheel
if ! command -v pg_config >/dev/null 2>&1; then # psycopg2 builds against the host's libpq
    if need_root && command -v apt-get >/dev/null 2>&1; then
        say "Installing libpq-dev (psycopg2 is built against the host's libpq)"
        DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q libpq-dev gcc >/dev/null
    else
        die "pg_config is missing: psycopg2 is built from source against libpq." \
            "${AS_ROOT}apt-get install -y libpq-dev gcc"
    fi
fi
say "Installing the hashed locks requirements/runtime.txt and requirements/test.txt"
"$VENV_PY" -m pip uninstall -q -y psycopg2-binary 2>/dev/null || true
"$VENV_PY" -m pip install -q --require-hashes -r requirements/runtime.txt
"$VENV_PY" -m pip install -q --require-hashes -r requirements/test.txt
say "Installing the project in editable mode"
"$VENV_PY" -m pip install -q --no-deps -e .
rm -f "$VENV"/.installed-*
touch "$stamp"
say "Virtualenv ready: $VENV"
