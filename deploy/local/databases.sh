#!/usr/bin/env bash
# Create the four service databases if missing (via the venv's psycopg2: no psql needed), and the
# services' own logins: a PostgreSQL role per service (<SVC>_DB_ROLE, default talent_<svc>_svc:
# LOGIN, nothing else; its password from var/secrets.env, set again at each run) and a RabbitMQ
# user per service (talent_<svc>, permissions: deploy/local/broker.py) where rabbitmqctl works
# on this host. run.sh then starts each service as its own user (lib.sh: service_amqp_uri).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
require_venv
[[ -f $ENV_FILE ]] || die "$ENV_FILE is missing (it records the PostgreSQL login)." "bash deploy/local/infra.sh"
load_env

names=()
for svc in "${SERVICES[@]}"; do # <SVC>_DB, as the services read it
    var="${svc^^}_DB"
    names+=("${!var:-talent_$svc}")
done
say "Ensuring databases ${names[*]} exist"
"$VENV_PY" - "${names[@]}" <<'EOF'
import os, sys
import psycopg2

try:
    conn = psycopg2.connect(os.environ["TALENT_PG_DSN_BASE"] + " dbname=postgres connect_timeout=5")
except psycopg2.Error as e:
    sys.exit(f"ERROR: cannot connect to PostgreSQL: {str(e).strip()}\n"
             "To fix it, run:\n    bash deploy/local/infra.sh")
conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
with conn.cursor() as cur:
    for name in sys.argv[1:]:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone():
            print(f"    {name}: exists")
        else:
            cur.execute(f'CREATE DATABASE "{name}"')
            print(f"    {name}: created")

# each service's role: LOGIN with its password, nothing else (its grants in its database are
# given by the service at start: shared/store/schema.py, grant_service_role)
from psycopg2 import sql
for db in sys.argv[1:]:
    svc = db.removeprefix("talent_").upper()
    role = os.environ.get(f"{svc}_DB_ROLE", f"talent_{svc.lower()}_svc")
    password = os.environ.get(f"{svc}_DB_ROLE_PASSWORD")
    if not role or not password:
        continue
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        verb = "ALTER" if cur.fetchone() else "CREATE"
        cur.execute(
            sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT "
                    "PASSWORD %s").format(sql.Identifier(role)),
            (password,),
        )
        print(f"    role {role}: {'created' if verb == 'CREATE' else 'password set'}")
conn.close()
EOF

# RabbitMQ: one user per service on AMQP_URI's vhost, where this host's broker can be managed
rm -f "$VAR/broker-users"
if command -v rabbitmqctl >/dev/null 2>&1 && rabbitmqctl -q list_users >/dev/null 2>&1; then
    say "Ensuring a RabbitMQ user per service (talent_<svc>, its own exchanges and queues)"
    "$VENV_PY" -W ignore -m deploy.local.broker --uri "$AMQP_URI" ||
        die "Could not set up the services' RabbitMQ users (see above)." "bash deploy/local/databases.sh"
    date -u +%FT%TZ >"$VAR/broker-users"
else
    info "rabbitmqctl is not usable here: the services share AMQP_URI's login"
fi
