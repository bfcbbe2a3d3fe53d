#!/usr/bin/env bash
# Type-check shared/: mypy --strict on the store, the decider, the clock, the locks, the settings
# and the database helpers (imported modules are read for their types, their own findings not
# reported), then every module of shared/ with the per-module options of pyproject.toml
# (strict where those are, check_untyped_defs elsewhere). shared/audit.py is left out: it is
# leaving shared/ for a package of its own.
# Needs mypy and the stubs in .venv: .venv/bin/pip install mypy types-PyYAML types-psycopg2
# Usage: deploy/local/typecheck-shared.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
.venv/bin/mypy --strict --follow-imports=silent shared/store shared/decider.py shared/clock.py \
    shared/locks.py shared/runtime/settings.py shared/db.py
exec .venv/bin/mypy --exclude '^shared/audit\.py$' shared/
