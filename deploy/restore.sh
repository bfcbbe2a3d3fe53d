#!/usr/bin/env bash
# Restore a backup of deploy/backup.sh into the services' databases.
#
#   deploy/restore.sh [--replace] [--erasures-from DSN] [--erasures FILE] DIR
#
# For each service: checks the files against DIR/MANIFEST, creates the database (<SVC>_DB,
# default talent_<svc>; it must not exist, unless --replace drops it first: stop the services),
# restores the dump (owned by TALENT_PG_DSN_BASE's user; the services grant their runtime roles
# again when they start), then the person keys, leaving out the key of every person erased
# (README, Security: an erased person stays erased):
#   - in the restored applications history (PersonErased events);
#   - with --erasures-from DSN, in that applications store too (the live one, when the backup
#     predates an erasure; DSN a libpq connection string);
#   - with --erasures FILE, each person_key listed there (one a line).
# Finally it checks that every restored store ends at the head the MANIFEST records (position and
# hash), and prints the talent-audit command that verifies the restored chains against them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES=(applications subsidies assessment notifications)
# shellcheck source=/dev/null
[[ -n ${TALENT_PG_DSN_BASE:-} || ! -f $ROOT/var/env.sh ]] || . "$ROOT/var/env.sh"
BASE="${TALENT_PG_DSN_BASE:-host=127.0.0.1 port=5432 user=postgres}"

die() { printf 'restore: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: deploy/restore.sh [--replace] [--erasures-from DSN] [--erasures FILE] DIR"; }
replace=0 erasures_from="" erasures_file="" DIR=""
while (($#)); do
    case $1 in
        --replace) replace=1 ;;
        --erasures-from) erasures_from="${2:?}"; shift ;;
        --erasures) erasures_file="${2:?}"; shift ;;
        -*) usage ;;
        *) [[ -z $DIR ]] || usage; DIR="$1" ;;
    esac
    shift
done
[[ -n $DIR ]] || usage
[[ -f $DIR/MANIFEST ]] || die "$DIR holds no MANIFEST (not a finished backup)"
for tool in pg_restore psql sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian: apt-get install postgresql-client)"
done
[[ -z $erasures_file || -r $erasures_file ]] || die "cannot read $erasures_file"
database() { local var="${1^^}_DB"; printf '%s\n' "${!var:-talent_$1}"; }
dsn() { printf '%s dbname=%s\n' "$BASE" "$1"; }
psql_at() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
manifest() { sed -n "s/^$1=//p" "$DIR/MANIFEST" | tail -n 1; }
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }

# 1. every file as the backup wrote it
for svc in "${SERVICES[@]}"; do
    [[ "$(sha256sum "$DIR/$svc.dump" | cut -d' ' -f1)" == "$(manifest "$svc.dump_sha256")" ]] ||
        die "$DIR/$svc.dump does not match its MANIFEST checksum"
    [[ "$(sha256sum "$DIR/$svc.person_keys.csv" | cut -d' ' -f1)" == "$(manifest "$svc.keys_sha256")" ]] ||
        die "$DIR/$svc.person_keys.csv does not match its MANIFEST checksum"
done

# 2. the databases, then the dumps
for svc in "${SERVICES[@]}"; do
    db="$(database "$svc")"
    exists="$(psql_at "$(dsn postgres)" -c "SELECT 1 FROM pg_database WHERE datname = $(sql_literal "$db")")"
    if [[ -n $exists ]]; then
        ((replace)) || die "database $db exists: restore into new databases (<SVC>_DB), or --replace with the services stopped"
        psql_at "$(dsn postgres)" -c "DROP DATABASE \"$db\" WITH (FORCE)"
    fi
    psql_at "$(dsn postgres)" -c "CREATE DATABASE \"$db\""
    pg_restore --dbname="$(dsn "$db")" --no-owner --no-privileges --exit-on-error "$DIR/$svc.dump"
    printf '%-14s %s restored\n' "$svc" "$db"
done

# 3. the person keys, but never an erased person's
erased="$(mktemp)"
trap 'rm -f "$erased"' EXIT
query="SELECT DISTINCT payload->>'person_key' FROM events WHERE event_type = 'PersonErased'"
psql_at "$(dsn "$(database applications)")" -c "$query" >>"$erased"
[[ -z $erasures_from ]] || psql_at "$erasures_from" -c "$query" >>"$erased"
[[ -z $erasures_file ]] || grep -v '^\s*$' "$erasures_file" >>"$erased" || true
sort -u -o "$erased" "$erased"
for svc in "${SERVICES[@]}"; do
    db="$(database "$svc")"
    left_out="$(psql_at "$(dsn "$db")" \
        -c "CREATE TEMP TABLE backup_keys (person_key text, key_hex text, created_at timestamptz)" \
        -c "CREATE TEMP TABLE erased (person_key text PRIMARY KEY)" \
        -c "\\copy backup_keys FROM '$DIR/$svc.person_keys.csv' WITH (FORMAT csv)" \
        -c "\\copy erased FROM '$erased'" \
        -c "INSERT INTO person_keys (person_key, key, created_at)
            SELECT person_key, decode(key_hex, 'hex'), created_at FROM backup_keys b
             WHERE NOT EXISTS (SELECT 1 FROM erased e WHERE e.person_key = b.person_key)" \
        -c "SELECT count(*) FROM backup_keys b WHERE EXISTS (SELECT 1 FROM erased e WHERE e.person_key = b.person_key)")"
    printf '%-14s %s person keys restored, %s of erased persons left out\n' "$svc" \
        "$(psql_at "$(dsn "$db")" -c "SELECT count(*) FROM person_keys")" "$left_out"
done

# 4. every store ends where the backup's did
expect=()
for svc in "${SERVICES[@]}"; do
    db="$(database "$svc")"
    head="$(psql_at "$(dsn "$db")" -c "SELECT coalesce(max(global_position), 0) || ' ' || coalesce((SELECT hash FROM events ORDER BY global_position DESC LIMIT 1), '') FROM events")"
    want="$(manifest "$svc.head_position") $(manifest "$svc.head_hash")"
    [[ $head == "$want" ]] || die "$svc: $db ends at '$head', the backup at '$want'"
    [[ -z ${want#* } ]] || expect+=("--expect $svc=${want% *}:${want#* }")
done
printf 'restored: every store ends at the head of %s/MANIFEST. Verify the chains:\n' "$DIR"
printf '  talent-audit verify %s\n' "${expect[*]}"
