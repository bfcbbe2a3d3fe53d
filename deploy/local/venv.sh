#!/usr/bin/env bash
# Create .venv and install the pinned dependencies plus the project (editable).
# Skips the install when .venv/.installed-<sha256 of requirements.lock + pyproject.toml> exists.
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

hash="$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)"
stamp="$VENV/.installed-$hash"
if [[ -f $stamp ]]; then
    say "Virtualenv up to date (requirements.lock and pyproject.toml unchanged)"
    exit 0
fi

say "Upgrading pip, setuptools<82, wheel"
"$VENV_PY" -m pip install -q --upgrade 'pip' 'setuptools<82' wheel
say "Installing pinned dependencies from requirements.lock"
"$VENV_PY" -m pip install -q -r requirements.lock
say "Installing the project in editable mode"
"$VENV_PY" -m pip install -q --no-deps -e .
rm -f "$VENV"/.installed-*
touch "$stamp"
say "Virtualenv ready: $VENV"
