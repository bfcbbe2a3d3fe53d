#!/usr/bin/env bash
# A PostgreSQL primary with a synchronous streaming standby on this host, from Debian's
# PostgreSQL: each its own port and data folder (owned by the postgres user), trust login for
# postgres over 127.0.0.1 only. Nothing of the host's own PostgreSQL cluster is touched.
#
#   deploy/postgres/failover.sh start          create (first time) and start primary and standby
#   deploy/postgres/failover.sh stop [--purge] stop both (--purge: remove the data too)
#   deploy/postgres/failover.sh status         which node is up, which is primary, replication
#   deploy/postgres/failover.sh dsn            the multi-host DSN base (without dbname) services use
#   deploy/postgres/failover.sh kill-primary   kill -9 the primary's postmaster (a crash)
#   deploy/postgres/failover.sh promote        promote the standby (pg_ctl promote); alone, it
#                                              commits without waiting for a standby
#   deploy/postgres/failover.sh rejoin         after a failover: bring the old primary (down)
#                                              back as the promoted node's synchronous standby
#                                              (pg_rewind; pg_basebackup if that fails)
#   deploy/postgres/failover.sh psql N ARGS... psql on node N (1: the first primary, 2: standby)
#
# Environment:
#   TALENT_PG_FAILOVER_DIR   data and logs (default: <repo>/var/pg-failover)
#   TALENT_PG_FAILOVER_PORT  port of node 1; node 2 listens on the next one (default: 5441)
#   TALENT_PG_VERSION        the Debian PostgreSQL major version (default: the newest installed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${TALENT_PG_FAILOVER_DIR:-$ROOT/var/pg-failover}"
PORT="${TALENT_PG_FAILOVER_PORT:-5441}"
VERSION="${TALENT_PG_VERSION:-$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -1)}"
BIN="/usr/lib/postgresql/$VERSION/bin"
STANDBY_NAME=talent_standby

die() { echo "failover.sh: $*" >&2; exit 1; }
[ -x "$BIN/pg_ctl" ] || die "PostgreSQL is not installed (apt-get install postgresql)"

port() { echo $((PORT + $1 - 1)); }
data() { echo "$DIR/node$1"; }
as_pg() { # run as the postgres user (the server refuses root)
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
sql() { local n=$1; shift; as_pg "$BIN/psql" -h 127.0.0.1 -p "$(port "$n")" -U postgres -d postgres -XAtq "$@"; }
up() { as_pg "$BIN/pg_ctl" -D "$(data "$1")" status >/dev/null 2>&1; }

start_node() {
    local n=$1
    up "$n" && return 0
    as_pg "$BIN/pg_ctl" -D "$(data "$n")" -l "$DIR/node$n.log" -w -t 60 start >/dev/null ||
        die "node $n did not start: see $DIR/node$n.log"
}

timeline() { # node N's timeline: its newest history file (a promotion writes one), else 1
    local f
    f="$(find "$(data "$1")/pg_wal" -maxdepth 1 -name '*.history' -printf '%f\n' | sort | tail -1)"
    f="${f:-00000001.history}"
    echo $((16#${f%.history}))
}

init() {
    mkdir -p "$DIR"
    chown postgres: "$DIR" 2>/dev/null || true
    if [ ! -f "$(data 1)/PG_VERSION" ]; then
        as_pg "$BIN/initdb" -D "$(data 1)" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$(data 1)/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $(port 1)
unix_socket_directories = '$DIR'
max_connections = 200
wal_level = replica
# pg_rewind (rejoin) needs hint-bit changes WAL-logged (or data checksums)
wal_log_hints = on
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby = on
# a commit returns once the standby has it too: what a client was told is on two nodes
synchronous_commit = on
synchronous_standby_names = 'FIRST 1 ($STANDBY_NAME)'
EOF
        cat >"$(data 1)/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
host replication postgres 127.0.0.1/32 trust
EOF
    fi
    if [ -f "$(data 2)/PG_VERSION" ] && [ ! -f "$(data 1)/standby.signal" ] &&
        [ ! -f "$(data 2)/standby.signal" ]; then
        # both were primaries (a failover, no rejoin yet): start the promoted one only, the one on
        # the later timeline; the other would take writes of its own (the DSN lists node 1 first)
        local t1 t2 newer=1
        t1="$(timeline 1)"
        t2="$(timeline 2)"
        [ "$t1" != "$t2" ] || die "nodes 1 and 2 are both primaries on timeline $t1: start one by hand"
        if [ "$t2" -gt "$t1" ]; then newer=2; fi
        start_node "$newer"
        echo "failover.sh: node $((3 - newer)) was the primary before a failover: not started" \
            "(failover.sh rejoin brings it back as the standby)" >&2
        return 0
    fi
    start_node 1
    if [ ! -f "$(data 2)/PG_VERSION" ]; then
        as_pg "$BIN/pg_basebackup" -D "$(data 2)" -R -X stream \
            -d "host=127.0.0.1 port=$(port 1) user=postgres application_name=$STANDBY_NAME"
        # the copy is node 2's own: its port, and (once promoted, alone) no wait for a standby
        cat >>"$(data 2)/postgresql.conf" <<EOF
port = $(port 2)
synchronous_standby_names = ''
EOF
    fi
    start_node 2
}

primary() { # the node (1 or 2) that is up and not in recovery, if any
    local n
    for n in 1 2; do
        if up "$n" && [ "$(sql "$n" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
            echo "$n"
            return 0
        fi
    done
    return 1
}

standby() { # the node that is up and in recovery, if any
    local n
    for n in 1 2; do
        if up "$n" && [ "$(sql "$n" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]; then
            echo "$n"
            return 0
        fi
    done
    return 1
}

wait_for() { # wait_for N SQL: until SQL on node N prints t (60 s)
    local _
    for _ in $(seq 1 600); do
        [ "$(sql "$1" -c "$2" 2>/dev/null)" = t ] && return 0
        sleep 0.1
    done
    return 1
}

rejoin() { # bring the node that is not the primary back as its synchronous standby
    local p t dt log state
    p="$(primary)" || die "no primary is up (start it, or promote the standby)"
    t=$((3 - p))
    dt="$(data "$t")"
    log="$DIR/node$t.log"
    if up "$t"; then
        [ "$(sql "$t" -c 'SELECT pg_is_in_recovery()')" = t ] ||
            die "both nodes accept writes: stop the one to bring back as the standby (pg_ctl stop;" \
                "its writes since the failover are discarded), then rejoin"
        echo "node $t is up as a standby already" >&2
    else
        [ -f "$dt/PG_VERSION" ] || die "node $t has no data folder (failover.sh start creates it)"
        # the promoted node's control file shows its new timeline only after a checkpoint
        sql "$p" -c CHECKPOINT
        state="$(as_pg "$BIN/pg_controldata" -D "$dt" 2>>"$log" | sed -n 's/^Database cluster state: *//p')" ||
            state="unknown: pg_controldata failed"
        case "$state" in
        "shut down" | "shut down in recovery") ;;
        *)
            # a crash: finish its recovery in single-user mode (no client; stdin is empty), so
            # pg_rewind finds a cleanly shut down cluster
            echo "node $t was not shut down cleanly ($state): crash recovery in single-user mode" >&2
            rm -f "$dt/standby.signal" "$dt/recovery.signal"
            as_pg "$BIN/postgres" --single -D "$dt" template1 \
                </dev/null >>"$log" 2>&1 || true
            ;;
        esac
        echo "node $t: pg_rewind from node $p (log: $log)" >&2
        if ! as_pg "$BIN/pg_rewind" -D "$dt" \
            --source-server="host=127.0.0.1 port=$(port "$p") user=postgres dbname=postgres" \
            >>"$log" 2>&1; then
            echo "failover.sh: pg_rewind of node $t failed (see $log): a new copy of node $p" \
                "with pg_basebackup instead; the old data folder is kept in $dt.failed" >&2
            rm -rf "$dt.failed"
            mv "$dt" "$dt.failed"
            as_pg "$BIN/pg_basebackup" -D "$dt" -X stream \
                -d "host=127.0.0.1 port=$(port "$p") user=postgres" ||
                die "pg_basebackup of node $p into $dt failed"
        fi
        # the copied configuration is node p's: node t's port, its primary, and (once promoted,
        # alone) no wait for a standby
        as_pg touch "$dt/standby.signal"
        {
            grep -Ev '^[[:space:]]*(port|primary_conninfo|synchronous_standby_names)[[:space:]=]' \
                "$dt/postgresql.auto.conf" || true
            echo "port = '$(port "$t")'"
            echo "primary_conninfo = 'host=127.0.0.1 port=$(port "$p") user=postgres application_name=$STANDBY_NAME'"
            echo "synchronous_standby_names = ''"
        } >"$dt/postgresql.auto.conf.new"
        chown --reference="$dt/PG_VERSION" "$dt/postgresql.auto.conf.new"
        mv "$dt/postgresql.auto.conf.new" "$dt/postgresql.auto.conf"
        start_node "$t"
    fi
    wait_for "$p" "SELECT count(*) = 1 FROM pg_stat_replication
                   WHERE application_name = '$STANDBY_NAME' AND state = 'streaming'" ||
        die "node $t does not stream from node $p: see $log"
    # commits on the primary wait for the standby again
    sql "$p" -c "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 ($STANDBY_NAME)'" \
        -c 'SELECT pg_reload_conf()' >/dev/null
    wait_for "$p" "SELECT count(*) = 1 FROM pg_stat_replication WHERE sync_state = 'sync'" ||
        die "node $t streams but is not synchronous: see $log"
    echo "node $t (port $(port "$t")) is the synchronous standby of node $p (port $(port "$p"))"
}

cmd="${1:-}"
shift || true
case "$cmd" in
start)
    init
    p="$(primary)" || die "no node accepts writes: see $DIR/node1.log, $DIR/node2.log"
    if up $((3 - p)); then
        # wait until the standby streams synchronously (else the first commits would wait for it)
        wait_for "$p" "SELECT count(*) = 1 FROM pg_stat_replication WHERE sync_state = 'sync'" ||
            echo "failover.sh: the standby is not synchronous yet (failover.sh status)" >&2
        echo "primary on $(port "$p"), synchronous standby on $(port $((3 - p)))"
    else
        echo "primary on $(port "$p"), no standby"
    fi
    echo "TALENT_PG_DSN_BASE='$("$0" dsn)'"
    ;;
stop)
    for n in 2 1; do
        if up "$n"; then as_pg "$BIN/pg_ctl" -D "$(data "$n")" -m fast -w stop >/dev/null || true; fi
    done
    [ "${1:-}" = "--purge" ] && rm -rf "$DIR"
    ;;
status)
    for n in 1 2; do
        if up "$n"; then
            echo "node $n port $(port "$n"): up, in recovery: $(sql "$n" -c 'SELECT pg_is_in_recovery()')"
        else
            echo "node $n port $(port "$n"): down"
        fi
    done
    p="$(primary || true)"
    [ -n "$p" ] && sql "$p" -c "SELECT application_name, state, sync_state FROM pg_stat_replication"
    ;;
dsn)
    # libpq tries the hosts in turn and keeps the first that accepts writes
    echo "host=127.0.0.1,127.0.0.1 port=$(port 1),$(port 2) user=postgres target_session_attrs=read-write"
    ;;
kill-primary)
    p="$(primary)" || die "no primary is up"
    pid="$(head -1 "$(data "$p")/postmaster.pid")"
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    echo "killed the primary, node $p (port $(port "$p"), postmaster $pid)"
    ;;
promote)
    s="$(standby)" || die "no standby is up"
    as_pg "$BIN/pg_ctl" -D "$(data "$s")" -w -t 60 promote >/dev/null
    echo "promoted node $s (port $(port "$s"))"
    ;;
rejoin)
    rejoin
    ;;
psql)
    n="${1:?node number}"
    shift
    sql "$n" "$@"
    ;;
*)
    sed -n '2,23p' "$0"
    exit 2
    ;;
esac
