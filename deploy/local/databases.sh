#!/usr/bin/env bash
# Create the four service databases if missing (via the venv's psycopg2: no psql needed).
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
conn.close()
EOF
