#!/usr/bin/env bash
# Type-check the domain and the pure shared modules it uses (mypy --strict per pyproject.toml).
# Usage: deploy/local/typecheck.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec .venv/bin/mypy services/applications/domain services/subsidies/domain \
    services/assessment/domain services/notifications/domain \
    shared/decider.py shared/errors.py shared/calendar.py
