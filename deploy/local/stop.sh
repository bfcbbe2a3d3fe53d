#!/usr/bin/env bash
# Stop the four services started by run.sh (SIGTERM, then SIGKILL after 15 s).
# PostgreSQL and RabbitMQ are left running.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

live=()
for svc in "${SERVICES[@]}"; do
    if pid="$(service_pid "$svc")"; then
        say "Stopping $svc (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        live+=("$svc")
    fi
done
((${#live[@]})) || say "No service is running"

for ((t = 0; ${#live[@]} && t < 15; t++)); do
    sleep 1
    still=()
    for svc in "${live[@]}"; do service_pid "$svc" >/dev/null && still+=("$svc"); done
    live=("${still[@]}")
done
for svc in "${live[@]}"; do
    if pid="$(service_pid "$svc")"; then
        say "$svc ignored SIGTERM for 15 s: sending SIGKILL (pid $pid)"
        kill -KILL "$pid" 2>/dev/null || true
    fi
done
for svc in "${SERVICES[@]}"; do rm -f "$VAR/run/$svc.pid"; done
