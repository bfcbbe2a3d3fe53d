# Starting and stopping a set of the four services in the background (sourced by run.sh and
# demo.sh, after lib.sh). A set has a NAME: "" for the system `make run` starts (pids
# var/run/<svc>.pid, logs var/log/<svc>.log), "demo" for the demo's (var/run/demo-<svc>.pid, ...).
# shellcheck shell=bash

# set_file NAME SVC EXT: var/run/<svc>.pid or var/run/NAME-<svc>.pid (EXT pid) / var/log/... (log)
set_file() {
    local dir=run
    [[ $3 == log ]] && dir=log
    printf '%s/%s/%s%s.%s\n' "$VAR" "$dir" "${1:+$1-}" "$2" "$3"
}

# set_pid NAME SVC: prints the pid of the set's live `nameko run` of SVC.
set_pid() {
    local pid
    pid="$(cat "$(set_file "$1" "$2" pid)" 2>/dev/null)" || return 1
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *"services.$2.service"* ]] || return 1
    printf '%s\n' "$pid"
}

# address SVC: host:port of its HTTP endpoint in the current environment (<SVC>_HTTP).
address() {
    local var="${1^^}_HTTP"
    declare -A port=([applications]=8001 [subsidies]=8002 [assessment]=8003 [notifications]=8004)
    printf '%s\n' "${!var:-127.0.0.1:${port[$1]}}"
}

service_ready() { # service_ready SVC: GET /health/ready answers 200
    "$VENV_PY" - "http://$(address "$1")/health/ready" <<'PY' 2>/dev/null
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
PY
}

# start_set NAME: start each service of the set not yet running, with the current environment.
start_set() {
    local svc pid log uri
    mkdir -p "$VAR/run" "$VAR/log"
    for svc in "${SERVICES[@]}"; do
        if pid="$(set_pid "$1" "$svc")"; then
            say "$svc already running (pid $pid)"
            continue
        fi
        log="$(set_file "$1" "$svc" log)"
        say "Starting ${1:+$1 }$svc on $(address "$svc") (log: ${log#"$ROOT"/})"
        # the system's services as their own broker users; the demo's on its own vhost as AMQP_URI
        uri="$AMQP_URI"
        [[ -n $1 ]] || uri="$(service_amqp_uri "$svc")"
        AMQP_URI="$uri" setsid "$VENV/bin/nameko" run --config "services/$svc/config.yaml" "services.$svc.service" \
            </dev/null >>"$log" 2>&1 &
        echo $! >"$(set_file "$1" "$svc" pid)"
    done
}

# wait_set NAME SECONDS: until every service of the set answers /health/ready; on a service that
# exits or stays unready, print the end of its log and fail.
wait_set() {
    local name=$1 limit=$2 svc start=$SECONDS
    local pending=("${SERVICES[@]}") still
    say "Waiting (up to $limit s) for /health/ready on every service"
    while :; do
        still=()
        for svc in "${pending[@]}"; do
            if ! set_pid "$name" "$svc" >/dev/null; then
                tail -n 30 "$(set_file "$name" "$svc" log)" >&2 || true
                die "$svc exited during start-up; the end of its log is above."
            fi
            service_ready "$svc" || still+=("$svc")
        done
        pending=("${still[@]}")
        ((${#pending[@]})) || break
        if ((SECONDS - start >= limit)); then
            for svc in "${pending[@]}"; do
                printf -- '--- %s is not ready; end of its log:\n' "$svc" >&2
                tail -n 30 "$(set_file "$name" "$svc" log)" >&2 || true
            done
            die "Not ready after $limit s: ${pending[*]}"
        fi
        (((SECONDS - start) % 10 > 1)) || info "waiting for: ${pending[*]} ($((SECONDS - start))s)"
        sleep 2
    done
}

# stop_set NAME: SIGTERM, then SIGKILL after 15 s, to each running service of the set.
stop_set() {
    local svc pid live=() still t
    for svc in "${SERVICES[@]}"; do
        if pid="$(set_pid "$1" "$svc")"; then
            say "Stopping ${1:+$1 }$svc (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            live+=("$svc")
        fi
    done
    for ((t = 0; ${#live[@]} && t < 15; t++)); do
        sleep 1
        still=()
        for svc in "${live[@]}"; do set_pid "$1" "$svc" >/dev/null && still+=("$svc"); done
        live=("${still[@]}")
    done
    for svc in "${live[@]}"; do
        if pid="$(set_pid "$1" "$svc")"; then
            say "$svc ignored SIGTERM for 15 s: sending SIGKILL (pid $pid)"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for svc in "${SERVICES[@]}"; do rm -f "$(set_file "$1" "$svc" pid)"; done
}
