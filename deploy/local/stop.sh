#!/usr/bin/env bash
# Stop the four services started by run.sh (SIGTERM, then SIGKILL after 15 s), and a demo
# system left running by `make demo` with DEMO_KEEP=1. PostgreSQL and RabbitMQ are left running.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/local/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/services.sh"

running=0
for svc in "${SERVICES[@]}"; do
    set_pid "" "$svc" >/dev/null && running=1
    set_pid demo "$svc" >/dev/null && running=1
done
((running)) || say "No service is running"
stop_set ""
stop_set demo
