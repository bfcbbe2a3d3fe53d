#!/usr/bin/env bash
# Back up the four services' event stores (and their read models, inboxes, cursors) with pg_dump,
# one custom-format dump per service database, each taken from one snapshot together with its
# chain head and its person keys.
#
#   deploy/backup.sh [DIR]          back up into DIR (default var/backups/<UTC time>)
#   deploy/backup.sh prune DIR...   drop from existing backups the keys of persons erased since
#
# The person keys (table person_keys: the key each person's sealed fields are encrypted with;
# README, Security) are kept apart from the dump, in <svc>.person_keys.csv, so that an erasure
# (PIPL-47: the key deleted) reaches the backups too: `prune` deletes from each backup the keys
# of every person the live applications store has a PersonErased for, and deploy/restore.sh never
# restores the key of a person erased in the restored history or, with --erasures-from, in the
# live one. Keep backups no longer than the retention period all the same.
#
# DIR/MANIFEST records, per service, the database, the chain head (position and hash) the dump
# holds, and the SHA-256 of each file; deploy/restore.sh checks all of them.
#
# Where: TALENT_PG_DSN_BASE (libpq, without dbname; var/env.sh locally) and <SVC>_DB (default
# talent_<svc>), as the services read them. Needs pg_dump and psql of the server's major version
# or newer (Debian: postgresql-client). Runs while the services run: each database is dumped
# from one consistent snapshot; the four snapshots are taken one after another.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES=(applications subsidies assessment notifications)
# shellcheck source=/dev/null
[[ -n ${TALENT_PG_DSN_BASE:-} || ! -f $ROOT/var/env.sh ]] || . "$ROOT/var/env.sh"
BASE="${TALENT_PG_DSN_BASE:-host=127.0.0.1 port=5432 user=postgres}"

die() { printf 'backup: %s\n' "$*" >&2; exit 1; }
for tool in pg_dump psql sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian: apt-get install postgresql-client)"
done
database() { local var="${1^^}_DB"; printf '%s\n' "${!var:-talent_$1}"; }
dsn() { printf '%s dbname=%s\n' "$BASE" "$(database "$1")"; }
psql_at() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

erased_persons() { # the person_key of every PersonErased in the live applications store
    psql_at "$(dsn applications)" -c \
        "SELECT DISTINCT payload->>'person_key' FROM events WHERE event_type = 'PersonErased'"
}

if [[ ${1:-} == prune ]]; then
    shift
    (($#)) || die "prune needs the backup directories"
    erased="$(mktemp)"
    trap 'rm -f "$erased"' EXIT
    erased_persons >"$erased"
    for dir in "$@"; do
        [[ -f $dir/MANIFEST ]] || die "$dir holds no MANIFEST"
        for svc in "${SERVICES[@]}"; do
            keys="$dir/$svc.person_keys.csv"
            [[ -f $keys ]] || continue
            before=$(wc -l <"$keys")
            # a CSV line is person_key,key,created_at: keep those whose person is not erased
            awk -F, 'NR == FNR { gone[$0] = 1; next } !($1 in gone)' "$erased" "$keys" >"$keys.new"
            mv "$keys.new" "$keys"
            after=$(wc -l <"$keys")
            sum="$(sha256sum "$keys" | cut -d' ' -f1)"
            sed -i "s/^$svc\\.keys_sha256=.*/$svc.keys_sha256=$sum/; s/^$svc\\.keys=.*/$svc.keys=$after/" "$dir/MANIFEST"
            printf '%s: %s: %d keys dropped, %d kept\n' "$dir" "$svc" $((before - after)) "$after"
        done
        printf 'pruned_at=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$dir/MANIFEST"
    done
    exit 0
fi

DIR="${1:-$ROOT/var/backups/$(date -u +%Y%m%dT%H%M%SZ)}"
[[ ! -e $DIR/MANIFEST ]] || die "$DIR already holds a backup"
mkdir -p "$DIR"
chmod 700 "$DIR"
umask 077
manifest="$DIR/MANIFEST.partial"
{
    printf 'format=1\n'
    printf 'created_at=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'pg_dump=%s\n' "$(pg_dump --version | awk '{print $NF}')"
} >"$manifest"

for svc in "${SERVICES[@]}"; do
    db="$(database "$svc")"
    # a session holding a snapshot: the head, the dump and the keys are all read from it
    coproc SNAP { psql_at "$(dsn "$svc")" 2>&1; }
    printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" "SELECT pg_export_snapshot();" >&"${SNAP[1]}"
    read -r -t 30 snapshot <&"${SNAP[0]}" || die "$svc: no snapshot from $db"
    [[ $snapshot =~ ^[0-9A-F-]+$ ]] || die "$svc: $db: $snapshot"
    printf '%s\n' "SELECT coalesce(max(global_position), 0) || ' ' || coalesce((SELECT hash FROM events ORDER BY global_position DESC LIMIT 1), '') FROM events;" >&"${SNAP[1]}"
    read -r -t 30 position hash <&"${SNAP[0]}" || die "$svc: cannot read the head of $db"
    [[ $position =~ ^[0-9]+$ ]] || die "$svc: $db: $position $hash"

    pg_dump --dbname="$(dsn "$svc")" --snapshot="$snapshot" --format=custom --compress=6 \
        --no-owner --no-privileges --exclude-table-data=person_keys --file="$DIR/$svc.dump"
    psql_at "$(dsn "$svc")" -c "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" \
        -c "SET TRANSACTION SNAPSHOT '$snapshot'" \
        -c "\\copy (SELECT person_key, encode(key, 'hex'), created_at FROM person_keys ORDER BY person_key) TO STDOUT WITH (FORMAT csv)" \
        -c "COMMIT" >"$DIR/$svc.person_keys.csv"
    printf '%s\n' "COMMIT;" "\\q" >&"${SNAP[1]}"
    wait "$SNAP_PID" 2>/dev/null || true

    {
        printf '%s.database=%s\n' "$svc" "$db"
        printf '%s.head_position=%s\n' "$svc" "$position"
        printf '%s.head_hash=%s\n' "$svc" "$hash"
        printf '%s.dump_sha256=%s\n' "$svc" "$(sha256sum "$DIR/$svc.dump" | cut -d' ' -f1)"
        printf '%s.keys=%s\n' "$svc" "$(wc -l <"$DIR/$svc.person_keys.csv")"
        printf '%s.keys_sha256=%s\n' "$svc" "$(sha256sum "$DIR/$svc.person_keys.csv" | cut -d' ' -f1)"
    } >>"$manifest"
    printf '%-14s %s  head %s %s\n' "$svc" "$db" "$position" "${hash:0:16}"
done
mv "$manifest" "$DIR/MANIFEST"
printf 'backup in %s\n' "$DIR"
