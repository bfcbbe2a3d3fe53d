# Shared helpers for deploy/local/*.sh (sourced, never run directly).
# shellcheck shell=bash disable=SC2034  # (variables are used by the scripts sourcing this)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
VENV_PY="$VENV/bin/python"
VAR="$ROOT/var"
ENV_FILE="$VAR/env.sh"           # written by infra.sh, sourced by run.sh / test.sh
SECRETS_FILE="$VAR/secrets.env"  # written once by secrets.sh (mode 0600), sourced with it
SERVICES=(applications subsidies assessment notifications)
AS_ROOT="sudo "                  # prefix for root-only commands in the remedies we print
[[ $(id -u) -ne 0 ]] || AS_ROOT=""

# Daemons and admin tools live in sbin, which a non-root PATH often lacks.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac

say()  { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
# die "what went wrong" "exact remedy line" ...
die() {
    printf 'ERROR: %s\n' "$1" >&2
    shift
    if (($#)); then
        printf 'To fix it, run:\n' >&2
        printf '    %s\n' "$@" >&2
    fi
    exit 1
}

# need_root: sets SUDO=() when we are root, SUDO=(sudo -n) with password-less sudo; fails otherwise.
need_root() {
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        return 1
    fi
}

# First Python >= 3.11 on PATH; prints its name.
find_python() {
    local py
    for py in python3.11 python3.12 python3.13 python3; do
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            printf '%s\n' "$py"
            return 0
        fi
    done
    return 1
}

require_python() {
    PYTHON="$(find_python)" || die "Python 3.11 or newer is required (found: $(python3 --version 2>&1 || echo none))." \
        "${AS_ROOT}apt-get install -y python3 python3-venv" \
        "# on Ubuntu 22.04 (Python 3.10) use: ${AS_ROOT}apt-get install -y python3.11 python3.11-venv"
}

# tcp_open HOST PORT: true when something accepts TCP connections there (2 s timeout).
tcp_open() {
    # shellcheck disable=SC2016  # $1/$2 expand in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# load_env: defaults, overridden by var/env.sh (written by infra.sh); the host's secrets
# (var/secrets.env, written once by secrets.sh) where the environment does not set them.
load_env() {
    # shellcheck source=/dev/null
    [[ -f $ENV_FILE ]] && . "$ENV_FILE"
    # shellcheck source=/dev/null
    [[ -f $SECRETS_FILE ]] && . "$SECRETS_FILE"
    export TALENT_PG_DSN_BASE="${TALENT_PG_DSN_BASE:-host=127.0.0.1 port=5432 user=postgres}"
    export AMQP_URI="${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}"
}

# service_amqp_uri SVC: the AMQP URI SVC runs with: its own user (talent_<svc>) once
# databases.sh has set the users up (var/broker-users), else AMQP_URI.
service_amqp_uri() {
    local pw_var="${1^^}_AMQP_PASSWORD"
    if [[ -f $VAR/broker-users && -n ${!pw_var:-} ]]; then
        # (the password through the environment: never on a command line)
        TALENT_PW="${!pw_var}" "$VENV_PY" -c 'import os, sys; from deploy.local.broker import service_uri
print(service_uri(sys.argv[1], "talent_" + sys.argv[2], os.environ["TALENT_PW"]))' "$AMQP_URI" "$1"
    else
        printf '%s\n' "$AMQP_URI"
    fi
}

require_venv() {
    [[ -x $VENV_PY ]] || die "The virtualenv $VENV does not exist yet." "bash deploy/local/venv.sh"
}
