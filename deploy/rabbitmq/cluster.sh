#!/usr/bin/env bash
# A three-node RabbitMQ cluster on this host, from Debian's rabbitmq-server: each node its own
# name, AMQP port, distribution port and data folder, one Erlang cookie of the cluster's own; no
# plugins. Nothing of the host's own RabbitMQ (its node, port 5672, data or cookie) is touched.
#
#   deploy/rabbitmq/cluster.sh start            start the three nodes, cluster them (idempotent)
#   deploy/rabbitmq/cluster.sh stop [--purge]   stop every node (--purge: remove the data too)
#   deploy/rabbitmq/cluster.sh status           each node: running or down, and the cluster view
#   deploy/rabbitmq/cluster.sh uri [VHOST]      the failover AMQP_URI of the three nodes
#   deploy/rabbitmq/cluster.sh kill N           kill -9 node N (1-3): a crash, not a shutdown
#   deploy/rabbitmq/cluster.sh start-node N     start node N again (it rejoins the cluster)
#   deploy/rabbitmq/cluster.sh ctl N ARGS...    rabbitmqctl ARGS on node N
#   deploy/rabbitmq/cluster.sh node-of PORT     which node (1-3) listens on AMQP port PORT
#
# Environment:
#   TALENT_RMQ_CLUSTER_DIR    data, logs, pid files and cookie (default: <repo>/var/rabbitmq-cluster)
#   TALENT_RMQ_CLUSTER_NAME   node names <name>-1@localhost ... (default: talent)
#   TALENT_RMQ_BASE_PORT      AMQP ports BASE, BASE+1, BASE+2 (default: 5681)
#   TALENT_RMQ_DIST_BASE      distribution ports DIST, DIST+1, DIST+2 (default: BASE+20000)
#   TALENT_RMQ_WAIT           seconds to wait for a node to boot (default: 120)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${TALENT_RMQ_CLUSTER_DIR:-$ROOT/var/rabbitmq-cluster}"
NAME="${TALENT_RMQ_CLUSTER_NAME:-talent}"
BASE="${TALENT_RMQ_BASE_PORT:-5681}"
DIST="${TALENT_RMQ_DIST_BASE:-$((BASE + 20000))}"
WAIT="${TALENT_RMQ_WAIT:-120}"
BIN=/usr/lib/rabbitmq/bin # the scripts themselves: /usr/sbin's wrappers switch to the rabbitmq user
NODES=(1 2 3)

die() { echo "cluster.sh: $*" >&2; exit 1; }
[ -x "$BIN/rabbitmq-server" ] || die "RabbitMQ is not installed (apt-get install rabbitmq-server)"

node() { echo "$NAME-$1@localhost"; }
port() { echo $((BASE + $1 - 1)); }
ndir() { echo "$DIR/node$1"; }

node_env() {
    local n=$1 d
    d="$(ndir "$n")"
    export HOME="$DIR" # the cluster's cookie: $DIR/.erlang.cookie
    RABBITMQ_NODENAME="$(node "$n")"
    RABBITMQ_NODE_PORT="$(port "$n")"
    export RABBITMQ_NODENAME RABBITMQ_NODE_PORT
    export RABBITMQ_DIST_PORT=$((DIST + n - 1))
    export RABBITMQ_MNESIA_BASE="$d/mnesia"
    export RABBITMQ_LOG_BASE="$d/log"
    export RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf"
    export RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
    export RABBITMQ_PID_FILE="$d/rabbit.pid"
    export ERL_EPMD_ADDRESS=127.0.0.1
}

ctl() {
    local n=$1
    shift
    (node_env "$n" && "$BIN/rabbitmqctl" -q -n "$(node "$n")" "$@")
}

prepare() {
    mkdir -p "$DIR"
    if [ ! -s "$DIR/.erlang.cookie" ]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/.erlang.cookie")
    fi
    chmod 400 "$DIR/.erlang.cookie"
    local n d
    for n in "${NODES[@]}"; do
        d="$(ndir "$n")"
        mkdir -p "$d/log"
        cat >"$d/rabbitmq.conf" <<EOF
listeners.tcp.local = 127.0.0.1:$(port "$n")
loopback_users.guest = true
cluster_partition_handling = pause_minority
# a node that comes back after a crash waits this long for its peers before giving up
mnesia_table_loading_retry_limit = 30
mnesia_table_loading_retry_timeout = 10000
EOF
        : >"$d/rabbitmq-env.conf"
        echo "[]." >"$d/enabled_plugins"
    done
}

running() { # the VM of node N is alive
    local pidfile
    pidfile="$(ndir "$1")/rabbit.pid"
    [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

launch() {
    local n=$1
    if running "$n"; then
        return 0
    fi
    rm -f "$(ndir "$n")/rabbit.pid"
    (
        node_env "$n"
        cd "$(ndir "$n")"
        setsid "$BIN/rabbitmq-server" >>"$(ndir "$n")/server.out" 2>&1 </dev/null &
        echo $! >"$(ndir "$n")/script.pid"
    )
}

await() { # until node N has booted (await_startup fails at once while the VM is not up yet)
    local n=$1 deadline=$((SECONDS + WAIT))
    until ctl "$n" await_startup --timeout 5 >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] ||
            die "node $n ($(node "$n")) did not start in ${WAIT}s: see $(ndir "$n")/server.out and $(ndir "$n")/log"
        sleep 0.5
    done
}

members() { # the running nodes of the cluster, as node 1 sees them
    ctl "$1" eval 'rabbit_nodes:all_running().' 2>/dev/null || true
}

start() {
    prepare
    local n
    for n in "${NODES[@]}"; do launch "$n"; done
    for n in "${NODES[@]}"; do await "$n"; done
    for n in 2 3; do
        if ! ctl "$n" eval 'rabbit_nodes:all().' | grep -q "$(node 1)"; then
            ctl "$n" stop_app
            ctl "$n" join_cluster "$(node 1)"
            ctl "$n" start_app
        fi
    done
    echo "cluster $NAME up: $(members 1)"
    echo "AMQP_URI=$(uri)"
}

uri() {
    local vhost="${1:-}" n out=""
    for n in "${NODES[@]}"; do
        out+="${out:+;}amqp://guest:guest@127.0.0.1:$(port "$n")/$vhost"
    done
    echo "$out"
}

kill9() {
    local n=$1 pid
    running "$n" || die "node $n is not running"
    pid="$(cat "$(ndir "$n")/rabbit.pid")"
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    echo "killed node $n ($(node "$n"), pid $pid, port $(port "$n"))"
}

stop_node() {
    local n=$1 pid script
    [ -f "$(ndir "$n")/script.pid" ] || return 0
    script="$(cat "$(ndir "$n")/script.pid")"
    if running "$n"; then
        pid="$(cat "$(ndir "$n")/rabbit.pid")"
        ctl "$n" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    kill -TERM "$script" 2>/dev/null || true
    rm -f "$(ndir "$n")/script.pid" "$(ndir "$n")/rabbit.pid"
}

stop() {
    local n
    if [ -d "$DIR" ]; then
        # the last ones first, so the first keeps the cluster's view until the end
        for n in 3 2 1; do stop_node "$n"; done
    fi
    if [ "${1:-}" = "--purge" ]; then
        rm -rf "$DIR"
    fi
}

status() {
    local n
    for n in "${NODES[@]}"; do
        if running "$n"; then
            echo "node $n $(node "$n") port $(port "$n"): running"
        else
            echo "node $n $(node "$n") port $(port "$n"): down"
        fi
    done
    for n in "${NODES[@]}"; do
        if running "$n"; then
            echo "running members (as node $n sees them): $(members "$n")"
            break
        fi
    done
}

cmd="${1:-}"
shift || true
case "$cmd" in
start) start ;;
stop) stop "$@" ;;
status) status ;;
uri) uri "$@" ;;
kill) kill9 "${1:?node number}" ;;
start-node) prepare; launch "${1:?node number}"; await "$1"; echo "node $1 up: $(members "$1")" ;;
ctl) n="${1:?node number}"; shift; ctl "$n" "$@" ;;
node-of) for n in "${NODES[@]}"; do [ "$(port "$n")" = "${1:?port}" ] && echo "$n"; done ;;
*) sed -n '2,20p' "$0"; exit 2 ;;
esac
