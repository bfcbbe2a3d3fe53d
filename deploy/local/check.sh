#!/usr/bin/env bash
# Static checks: ruff (lint and format) over the whole tree; mypy strictly on every service's
# domain/ and the pure or storage modules of shared/ (pyproject.toml names them), and with the
# per-module options of pyproject.toml on the rest of shared/ and on the tools.
# Usage: deploy/local/check.sh
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

bash deploy/local/venv.sh
say "ruff check"
"$VENV/bin/ruff" check .
say "ruff format --check"
"$VENV/bin/ruff" format --check .
say "mypy (strict: the domain, the store, the decider, clock, locks, settings, db)"
"$VENV/bin/mypy" --strict --follow-imports=silent \
    services/applications/domain services/subsidies/domain services/assessment/domain \
    services/notifications/domain shared/store shared/decider.py shared/errors.py \
    shared/calendar.py shared/clock.py shared/locks.py shared/runtime/settings.py shared/db.py
say "mypy (shared/, services/, talent_audit/, talent_client/, talent_import/)"
"$VENV/bin/mypy" shared services talent_audit talent_client talent_import
