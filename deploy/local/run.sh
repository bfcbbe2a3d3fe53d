#!/usr/bin/env bash
# One-host run: venv, PostgreSQL + RabbitMQ, databases, the four services in the background,
# wait until each is ready, then walk one application through the system.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

bash deploy/local/venv.sh
bash deploy/local/infra.sh
bash deploy/local/databases.sh
load_env
mkdir -p "$VAR/run" "$VAR/log"

declare -A DEFAULT_PORT=([applications]=8001 [subsidies]=8002 [assessment]=8003 [notifications]=8004)

# address SVC: host:port of its HTTP endpoint (APPLICATIONS_HTTP etc. override the default).
address() {
    local var="${1^^}_HTTP"
    printf '%s\n' "${!var:-127.0.0.1:${DEFAULT_PORT[$1]}}"
}

ready() { # ready SVC: GET /health/ready answers 200
    "$VENV_PY" - "http://$(address "$1")/health/ready" <<'EOF' 2>/dev/null
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
EOF
}

for svc in "${SERVICES[@]}"; do
    if pid="$(service_pid "$svc")"; then
        say "$svc already running (pid $pid)"
        continue
    fi
    say "Starting $svc on $(address "$svc") (log: var/log/$svc.log)"
    AMQP_URI="$(service_amqp_uri "$svc")" setsid "$VENV/bin/nameko" run --config "services/$svc/config.yaml" "services.$svc.service" \
        </dev/null >>"$VAR/log/$svc.log" 2>&1 &
    echo $! >"$VAR/run/$svc.pid"
done

say "Waiting (up to 60 s) for /health/ready on every service"
pending=("${SERVICES[@]}")
start=$SECONDS
while :; do
    still=()
    for svc in "${pending[@]}"; do
        if ! service_pid "$svc" >/dev/null; then
            tail -n 30 "$VAR/log/$svc.log" >&2 || true
            die "$svc exited during start-up; the end of var/log/$svc.log is above." "bash deploy/local/stop.sh; make run"
        fi
        ready "$svc" || still+=("$svc")
    done
    pending=("${still[@]}")
    ((${#pending[@]})) || break
    if ((SECONDS - start >= 60)); then
        for svc in "${pending[@]}"; do
            printf -- '--- %s is not ready; end of var/log/%s.log:\n' "$svc" "$svc" >&2
            tail -n 30 "$VAR/log/$svc.log" >&2 || true
        done
        die "Not ready after 60 s: ${pending[*]}" "bash deploy/local/stop.sh  # then fix and: make run"
    fi
    (((SECONDS - start) % 10 > 1)) || info "waiting for: ${pending[*]} ($((SECONDS - start))s)"
    sleep 2
done
say "All four services are ready"

say "Walking one application through the system"
"$VENV_PY" -m deploy.local.walk

say "Done. Services keep running in the background."
info "logs:  var/log/<service>.log      pids: var/run/<service>.pid"
info "stop:  make stop                  (PostgreSQL and RabbitMQ are left running)"
