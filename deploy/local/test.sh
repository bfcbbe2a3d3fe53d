#!/usr/bin/env bash
# Run the test suite against local PostgreSQL and RabbitMQ (tests make their own throw-away databases).
# Usage: deploy/local/test.sh [pytest args...]   (default: tests -q)
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

bash deploy/local/venv.sh
bash deploy/local/infra.sh
bash deploy/local/tools.sh
load_env
(($#)) || set -- tests -q
say "Running pytest $*"
exec "$VENV_PY" -m pytest "$@"
