#!/usr/bin/env bash
# The demo: one application walked from submission to the full recovery of its subsidy
# (deploy/local/walk.py), on a demo system of its own that never touches the real one:
#   databases talent_demo_<svc> (dropped and made anew at every run, so the demo works however
#   often it runs), RabbitMQ virtual host talent-demo (deleted and made anew; the real services'
#   queues and exchanges are on another), HTTP ports 8011-8014 (TALENT_DEMO_PORT_BASE + 1..4).
# The demo services are stopped at the end; DEMO_KEEP=1 leaves them running to look around
# (`make stop` stops them). The real system (`make run`) may run meanwhile. TALENT_DEMO_NAME
# (default demo) names the databases talent_<name>_<svc>, the vhost talent-<name> and the pid and
# log files var/run/<name>-<svc>.pid, var/log/<name>-<svc>.log (the tests use a name of their own).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/local/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/services.sh"
cd "$ROOT"

bash deploy/local/venv.sh
bash deploy/local/infra.sh
load_env

NAME="${TALENT_DEMO_NAME:-demo}"
[[ $NAME =~ ^[a-z][a-z0-9]*$ ]] || die "TALENT_DEMO_NAME is lower-case letters and digits: $NAME"
DEMO_VHOST="talent-$NAME"
base=${TALENT_DEMO_PORT_BASE:-8010}
i=0
for svc in "${SERVICES[@]}"; do
    i=$((i + 1))
    export "${svc^^}_DB=talent_${NAME}_$svc" "${svc^^}_HTTP=127.0.0.1:$((base + i))"
done

# A virtual host of the demo's own: the same queue names on the real one would take the real
# services' events. TALENT_DEMO_AMQP_URI names one made beforehand (a broker elsewhere).
if [[ -n ${TALENT_DEMO_AMQP_URI:-} ]]; then
    AMQP_URI="$TALENT_DEMO_AMQP_URI"
else
    if ! command -v rabbitmqctl >/dev/null 2>&1 || ! need_root; then
        die "The demo needs a RabbitMQ virtual host of its own, and rabbitmqctl (as root) to make it." \
            "${AS_ROOT}rabbitmqctl add_vhost $DEMO_VHOST && ${AS_ROOT}rabbitmqctl set_permissions -p $DEMO_VHOST <user> '.*' '.*' '.*'" \
            "TALENT_DEMO_AMQP_URI=amqp://<user>:<password>@<host>:5672/$DEMO_VHOST make demo"
    fi
    user="$("$VENV_PY" -c 'import sys, urllib.parse as u; print(u.unquote(u.urlsplit(sys.argv[1]).username or "guest"))' "$AMQP_URI")"
    AMQP_URI="$("$VENV_PY" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$AMQP_URI" "$DEMO_VHOST")"
fi
export AMQP_URI

stop_set "$NAME" >/dev/null # a demo left running (DEMO_KEEP=1) by an earlier run
if [[ -z ${TALENT_DEMO_AMQP_URI:-} ]]; then
    say "Making RabbitMQ virtual host $DEMO_VHOST anew"
    "${SUDO[@]}" rabbitmqctl -q delete_vhost "$DEMO_VHOST" >/dev/null 2>&1 || true
    "${SUDO[@]}" rabbitmqctl -q add_vhost "$DEMO_VHOST" >/dev/null
    "${SUDO[@]}" rabbitmqctl -q set_permissions -p "$DEMO_VHOST" "$user" '.*' '.*' '.*' >/dev/null
fi
say "Making databases talent_${NAME}_{applications,subsidies,assessment,notifications} anew"
"$VENV_PY" - "${SERVICES[@]/#/talent_${NAME}_}" <<'PY'
import os, sys
from shared.db import create_database
for name in sys.argv[1:]:
    assert not name.startswith(("talent_applications", "talent_subsidies", "talent_assessment",
                                "talent_notifications"))  # never a real store
    create_database(os.environ["TALENT_PG_DSN_BASE"] + " dbname=postgres", name, drop_first=True)
PY

[[ ${DEMO_KEEP:-0} == 1 ]] || trap 'stop_set "$NAME"' EXIT
start_set "$NAME"
wait_set "$NAME" 60
say "Demo system ready; walking one application through it"
"$VENV_PY" -m deploy.local.walk
if [[ ${DEMO_KEEP:-0} == 1 ]]; then
    say "Demo done. The demo services keep running on ports $((base + 1))-$((base + 4)); make stop stops them."
else
    say "Demo done. Its data stays in the talent_${NAME}_* databases until the next make demo."
fi
