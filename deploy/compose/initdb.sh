#!/bin/sh
# PostgreSQL's first start: one database per service and each service's runtime role (LOGIN
# only; the service grants it INSERT/SELECT on events at start, shared/store/schema.py), with the
# password the service is given. The services create their tables on start.
set -eu
for svc in applications subsidies assessment notifications; do
  var=$(echo "$svc" | tr '[:lower:]' '[:upper:]')_DB_ROLE_PASSWORD
  password=$(printenv "$var" || true)
  file=$(printenv "${var}_FILE" || true)
  # a Compose secret mounted as a file (compose.yaml), or the variable itself
  if [ -n "$file" ]; then password=$(cat "$file"); fi
  psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres \
       -v role="talent_${svc}_svc" -v password="$password" -v db="talent_${svc}" <<'SQL'
CREATE DATABASE :"db";
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'password';
SQL
done
