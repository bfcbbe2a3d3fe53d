#!/usr/bin/env bash
# One-host run: venv, PostgreSQL + RabbitMQ, databases, the four services in the background,
# then wait until each is ready and say where they answer. It writes nothing into the system:
# the walk-through is `make demo` (deploy/local/demo.sh), on databases of its own.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/local/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/services.sh"
cd "$ROOT"

bash deploy/local/venv.sh
bash deploy/local/infra.sh
bash deploy/local/databases.sh
load_env

start_set ""
wait_set "" 60
say "All four services are ready"
for svc in "${SERVICES[@]}"; do
    info "$(printf '%-14s http://%s   (database %s)' "$svc" "$(address "$svc")" \
        "$(v="${svc^^}_DB"; printf '%s' "${!v:-talent_$svc}")")"
done
info "logs:  var/log/<service>.log      pids: var/run/<service>.pid"
info "demo:  make demo                  (walks one application through a separate demo system)"
info "stop:  make stop                  (PostgreSQL and RabbitMQ are left running)"
