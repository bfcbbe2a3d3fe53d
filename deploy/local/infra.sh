#!/usr/bin/env bash
# Make sure PostgreSQL and RabbitMQ are installed, running and reachable on this host, pick a
# PostgreSQL login that works over TCP, and write the resulting settings to var/env.sh.
#
# Reads:  TALENT_PG_DSN_BASE  (if set, it is only checked, never replaced)
#         AMQP_URI            (default amqp://guest:guest@127.0.0.1:5672/)
#         TALENT_INFRA_WAIT   (seconds to wait for a server to come up, default 60)
#         TALENT_INFRA_DRY_RUN=1  print install/start/role commands instead of running them
# Writes: var/env.sh exporting TALENT_PG_DSN_BASE and AMQP_URI; var/secrets.env once
#         (secrets.sh: the services' keys and logins, mode 0600).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_DEFAULT_DSN="host=127.0.0.1 port=5432 user=postgres"
PG_TALENT_DSN=""  # user talent with TALENT_PG_OWNER_PASSWORD (var/secrets.env), set in main
DRY="${TALENT_INFRA_DRY_RUN:-0}"
WAIT="${TALENT_INFRA_WAIT:-60}"
SUDO=()

# run CMD...: run a state-changing command (or just print it in dry-run mode).
run() {
    if [[ $DRY == 1 ]]; then info "[dry-run] $*"; else "$@"; fi
}

dsn_field() { # dsn_field DSN KEY DEFAULT
    local word
    for word in $1; do [[ $word == "$2="* ]] && { printf '%s\n' "${word#*=}"; return; }; done
    printf '%s\n' "$3"
}

is_local() { [[ $1 == 127.0.0.1 || $1 == localhost || $1 == ::1 ]]; }
has_systemd() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; }

pg_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
    else
        tcp_open "$PG_HOST" "$PG_PORT"
    fi
}
rabbit_up() { tcp_open "$AMQP_HOST" "$AMQP_PORT"; }

pg_installed() { command -v pg_ctlcluster >/dev/null 2>&1 || command -v postgres >/dev/null 2>&1; }
rabbit_installed() { command -v rabbitmq-server >/dev/null 2>&1; }

# pg_cluster: "<version> <name>" of the Debian cluster for $PG_PORT (default: newest version, main).
pg_cluster() {
    local found=""
    if command -v pg_lsclusters >/dev/null 2>&1; then
        found="$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2; exit }')"
    fi
    if [[ -z $found && -d /etc/postgresql ]]; then
        found="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)"
        [[ -n $found ]] && found="$found main"
    fi
    printf '%s\n' "$found"
}

install_missing() { # install_missing PACKAGE...
    command -v apt-get >/dev/null 2>&1 ||
        die "Not installed: $*; and this is not a Debian/Ubuntu system (no apt-get)." \
            "# install PostgreSQL >= 13 and RabbitMQ with your package manager, listening on 127.0.0.1:5432 and :5672"
    need_root || die "Not installed: $*; installing needs root (we are not root, no password-less sudo)." \
        "sudo apt-get update" "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y $*" "bash deploy/local/infra.sh"
    say "Installing $* with apt-get (needs network; a few minutes)"
    run "${SUDO[@]}" apt-get update -q
    run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# wait_until WHAT LOG PROBE...: poll PROBE once a second for up to $WAIT seconds.
wait_until() {
    local what=$1 log=$2 t=0
    shift 2
    if [[ $DRY == 1 ]]; then info "[dry-run] would wait up to ${WAIT}s for $what"; return; fi
    until "$@"; do
        ((t < WAIT)) || die "$what did not become reachable within ${WAIT}s; its log is $log" "tail -n 50 $log"
        ((t % 5 != 0)) || info "waiting for $what (${t}s/${WAIT}s)"
        sleep 1
        t=$((t + 1))
    done
}

start_pg() {
    local ver name cluster
    cluster="$(pg_cluster)"
    [[ -n $cluster ]] || die "PostgreSQL is installed but has no cluster." \
        "${AS_ROOT}pg_createcluster $(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n1) main --start"
    read -r ver name <<<"$cluster"
    need_root || die "PostgreSQL $ver/$name is stopped, and starting it needs root." \
        "sudo pg_ctlcluster $ver $name start" "bash deploy/local/infra.sh"
    say "Starting PostgreSQL $ver/$name"
    if has_systemd; then
        run "${SUDO[@]}" systemctl start postgresql
    else
        run "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start ||
            run "${SUDO[@]}" service postgresql start
    fi
    wait_until "PostgreSQL on $PG_HOST:$PG_PORT" "/var/log/postgresql/postgresql-$ver-$name.log" pg_up
}

start_rabbit() {
    need_root || die "RabbitMQ is stopped, and starting it needs root." \
        "sudo service rabbitmq-server start" "bash deploy/local/infra.sh"
    say "Starting RabbitMQ"
    if has_systemd; then
        run "${SUDO[@]}" systemctl start rabbitmq-server
    else
        run "${SUDO[@]}" rabbitmq-server -detached || run "${SUDO[@]}" service rabbitmq-server start
    fi
    wait_until "RabbitMQ on $AMQP_HOST:$AMQP_PORT" "/var/log/rabbitmq/" rabbit_up
}

# pg_login DSN: can we open a session over TCP with DSN? The error goes to stderr.
pg_login() {
    if [[ -x $VENV_PY ]] && "$VENV_PY" -c 'import psycopg2' 2>/dev/null; then
        "$VENV_PY" - "$1 dbname=postgres connect_timeout=5" <<'EOF'
import sys, psycopg2
try:
    psycopg2.connect(sys.argv[1]).close()
except psycopg2.Error as e:
    sys.exit(str(e).strip())
EOF
    elif command -v psql >/dev/null 2>&1; then
        PGCONNECT_TIMEOUT=5 psql -w -X -Atq -d "$1 dbname=postgres" -c 'select 1' >/dev/null </dev/null
    else
        echo "neither the virtualenv's psycopg2 nor psql is available" >&2
        return 2
    fi
}

create_talent_role() {
    # the password: TALENT_PG_OWNER_PASSWORD of var/secrets.env (secrets.sh: URL-safe base64, so
    # safe in a quoted literal), through psql's standard input, never on a command line
    local sql="SELECT 'CREATE ROLE talent' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'talent')
\\gexec
ALTER ROLE talent LOGIN CREATEDB CREATEROLE PASSWORD '$TALENT_PG_OWNER_PASSWORD';"
    local as_postgres
    if [[ $(id -u) -eq 0 ]]; then
        as_postgres=(runuser -u postgres --)
    elif need_root; then
        as_postgres=(sudo -n -u postgres)
    else
        die "PostgreSQL refuses user 'postgres' over TCP and creating role 'talent' needs root." \
            "sudo -u postgres psql -p $PG_PORT -c \"CREATE ROLE talent LOGIN CREATEDB CREATEROLE PASSWORD '<TALENT_PG_OWNER_PASSWORD of $SECRETS_FILE>'\"" \
            "bash deploy/local/infra.sh"
    fi
    say "Creating PostgreSQL role 'talent' (LOGIN CREATEDB CREATEROLE, password login over TCP)"
    if [[ $DRY == 1 ]]; then
        info "[dry-run] ${as_postgres[*]} psql -p $PG_PORT (CREATE/ALTER ROLE talent ... PASSWORD from $SECRETS_FILE)"
        return
    fi
    (cd / && printf '%s\n' "$sql" |
        "${as_postgres[@]}" psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT")
}

choose_pg_dsn() {
    local err
    [[ -x $VENV_PY ]] || command -v psql >/dev/null 2>&1 ||
        die "Cannot test the PostgreSQL login: neither the virtualenv nor psql is available." \
            "bash deploy/local/venv.sh"
    if [[ -n ${TALENT_PG_DSN_BASE:-} ]]; then
        say "Checking PostgreSQL login with TALENT_PG_DSN_BASE from the environment"
        err="$(pg_login "$TALENT_PG_DSN_BASE" 2>&1)" ||
            die "Cannot log in with TALENT_PG_DSN_BASE='$TALENT_PG_DSN_BASE': $err" \
                "unset TALENT_PG_DSN_BASE  # and re-run to let this script choose a login"
        PG_DSN="$TALENT_PG_DSN_BASE"
    elif err="$(pg_login "$PG_DEFAULT_DSN" 2>&1)"; then
        say "PostgreSQL accepts user 'postgres' over TCP"
        PG_DSN="$PG_DEFAULT_DSN"
    elif pg_login "$PG_TALENT_DSN" 2>/dev/null; then
        say "PostgreSQL accepts role 'talent' over TCP"
        PG_DSN="$PG_TALENT_DSN"
    else
        info "user 'postgres' cannot log in over TCP (${err%%$'\n'*}); using role 'talent' instead"
        create_talent_role
        PG_DSN="$PG_TALENT_DSN"
        if [[ $DRY != 1 ]]; then
            err="$(pg_login "$PG_DSN" 2>&1)" || die "Role 'talent' still cannot log in: $err" \
                "grep -v '^#' /etc/postgresql/*/main/pg_hba.conf  # host lines for 127.0.0.1 need scram-sha-256, md5 or trust"
        fi
    fi
}

check_amqp_login() {
    [[ -x $VENV_PY ]] && "$VENV_PY" -c 'import kombu' 2>/dev/null || return 0
    local err
    err="$("$VENV_PY" - "$AMQP_URI" 2>&1 <<'EOF'
import sys, kombu
try:
    with kombu.Connection(sys.argv[1], connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)
except Exception as e:
    sys.exit(f"{type(e).__name__}: {e}")
EOF
    )" || die "RabbitMQ refused the login in AMQP_URI=$AMQP_URI: $err" \
        "${AS_ROOT}rabbitmqctl add_user talent talent && ${AS_ROOT}rabbitmqctl set_permissions -p / talent '.*' '.*' '.*'" \
        "export AMQP_URI=amqp://talent:talent@127.0.0.1:5672/  # then re-run"
    say "RabbitMQ accepts the AMQP login"
}

sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # single-quote for the shell

write_env() {
    local tmp="$ENV_FILE.tmp"
    if [[ $DRY == 1 ]]; then
        info "[dry-run] would write $ENV_FILE: TALENT_PG_DSN_BASE='$PG_DSN' AMQP_URI='$AMQP_URI'"
        return
    fi
    mkdir -p "$VAR"
    {
        echo "# Written by deploy/local/infra.sh; sourced by run.sh and test.sh."
        echo "export TALENT_PG_DSN_BASE=$(sq "$PG_DSN")"
        echo "export AMQP_URI=$(sq "$AMQP_URI")"
    } >"$tmp"
    mv "$tmp" "$ENV_FILE"
    say "Wrote $ENV_FILE (TALENT_PG_DSN_BASE='$PG_DSN')"
}

main() {
    PG_HOST="$(dsn_field "${TALENT_PG_DSN_BASE:-$PG_DEFAULT_DSN}" host 127.0.0.1)"
    PG_PORT="$(dsn_field "${TALENT_PG_DSN_BASE:-$PG_DEFAULT_DSN}" port 5432)"
    AMQP_URI="${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}"
    local hostport="${AMQP_URI#*://}"
    hostport="${hostport#*@}"
    hostport="${hostport%%/*}"
    AMQP_HOST="${hostport%:*}"
    AMQP_PORT="5672"
    [[ $hostport == *:* ]] && AMQP_PORT="${hostport##*:}"

    if [[ $DRY != 1 ]]; then
        bash "$ROOT/deploy/local/secrets.sh"
        # shellcheck source=/dev/null
        . "$SECRETS_FILE"
    fi
    PG_TALENT_DSN="host=127.0.0.1 port=$PG_PORT user=talent password=${TALENT_PG_OWNER_PASSWORD:-unset}"

    say "Checking PostgreSQL ($PG_HOST:$PG_PORT) and RabbitMQ ($AMQP_HOST:$AMQP_PORT)"
    local pg_ok=0 mq_ok=0 missing=()
    pg_up && pg_ok=1
    rabbit_up && mq_ok=1
    ((pg_ok)) || is_local "$PG_HOST" || die "PostgreSQL at $PG_HOST:$PG_PORT is not reachable (only local servers are managed here)." \
        "export TALENT_PG_DSN_BASE='$PG_DEFAULT_DSN'  # or start that server"
    ((mq_ok)) || is_local "$AMQP_HOST" || die "RabbitMQ at $AMQP_HOST:$AMQP_PORT is not reachable (only local servers are managed here)." \
        "export AMQP_URI=amqp://guest:guest@127.0.0.1:5672/  # or start that server"

    ((pg_ok)) || pg_installed || missing+=(postgresql)
    ((mq_ok)) || rabbit_installed || missing+=(rabbitmq-server)
    ((${#missing[@]} == 0)) || install_missing "${missing[@]}"
    if ((pg_ok)); then say "PostgreSQL is up"; elif pg_up; then say "PostgreSQL is up (started by the installer)"; else start_pg; fi
    if ((mq_ok)); then say "RabbitMQ is up"; elif rabbit_up; then say "RabbitMQ is up (started by the installer)"; else start_rabbit; fi

    if [[ $DRY == 1 ]] && ! { pg_up && rabbit_up; }; then
        info "[dry-run] servers are not actually up; skipping the login checks"
        return
    fi
    choose_pg_dsn
    check_amqp_login
    write_env
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
