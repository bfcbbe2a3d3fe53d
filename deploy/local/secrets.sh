#!/usr/bin/env bash
# Make this host's secrets once and keep them: var/secrets.env, readable by its owner only
# (mode 0600), sourced by run.sh and test.sh (lib.sh: load_env). A key already in the file is
# never replaced (the pseudonyms and the webhook secrets depend on theirs); a missing one is added.
#
#   AUTH_SECRET, PERSON_KEY_SECRET, WEBHOOK_SIGNING_KEY     the services' keys (README: Security)
#   TALENT_PG_OWNER_PASSWORD  role talent's, where infra.sh creates it (postgres refused over TCP)
#   <SVC>_DB_ROLE_PASSWORD    each service's PostgreSQL role (databases.sh sets it on the role)
#   <SVC>_AMQP_PASSWORD       each service's RabbitMQ user (infra.sh: deploy/local/broker.py)
#
# Values never appear on the terminal or in a log. To rotate one, see README.md, Security.
#
# --files DIR: also write each one as a file of its own in DIR (mode 0600, lower-case name:
# DIR/auth_secret, DIR/applications_db_role_password...), the Compose secrets of compose.yaml,
# with DIR/postgres_password and DIR/grafana_admin_password made there once.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

umask 077
mkdir -p "$VAR"
[[ -f $SECRETS_FILE ]] || : >"$SECRETS_FILE"
chmod 600 "$SECRETS_FILE"

random_key() { # 256 random bits, URL-safe base64 (43 characters)
    head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

keys=(AUTH_SECRET PERSON_KEY_SECRET WEBHOOK_SIGNING_KEY TALENT_PG_OWNER_PASSWORD)
for svc in "${SERVICES[@]}"; do
    keys+=("${svc^^}_DB_ROLE_PASSWORD" "${svc^^}_AMQP_PASSWORD")
done

added=()
for key in "${keys[@]}"; do
    if ! grep -q "^export $key=" "$SECRETS_FILE"; then
        # (set from outside, the environment's value wins: ${KEY:-...}, expanded when sourced)
        # shellcheck disable=SC2016
        printf 'export %s="${%s:-%s}"\n' "$key" "$key" "$(random_key)" >>"$SECRETS_FILE"
        added+=("$key")
    fi
done
if [[ ${1:-} == --files ]]; then
    dir="${2:?usage: secrets.sh --files DIR}"
    mkdir -p "$dir"
    (
        # shellcheck source=/dev/null
        . "$SECRETS_FILE"
        for key in "${keys[@]}"; do
            [[ $key == *_AMQP_PASSWORD || $key == TALENT_PG_OWNER_PASSWORD ]] && continue
            printf '%s' "${!key}" >"$dir/${key,,}"
            chmod 600 "$dir/${key,,}"
        done
        # the Compose stack's own: PostgreSQL's superuser and Grafana's admin (made once, kept)
        for name in postgres_password grafana_admin_password; do
            [[ -s $dir/$name ]] || random_key >"$dir/$name"
            chmod 600 "$dir/$name"
        done
    )
    say "Wrote the Compose secrets to $dir (mode 0600)"
fi
if ((${#added[@]})); then
    say "Made ${#added[@]} secret(s) in $SECRETS_FILE (mode 0600): ${added[*]}"
else
    say "Secrets in $SECRETS_FILE kept as they are"
fi
