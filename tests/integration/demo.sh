#!/usr/bin/env bash
# demo.sh - `make demo`: a three-node replkv-cache group with failover on,
# shown step by step with redis-cli: keys written on the primary, INFO
# replication of each node, the primary SIGKILLed, the new primary as
# Sentinel clients see it (SENTINEL get-master-addr-by-name on a node's
# Sentinel port), the keys still there, the old primary restarted and
# rejoining as a replica.
#
#   bash tests/integration/demo.sh [BUILD]      (make demo builds first)
#
# Every node runs on 127.0.0.1 from a config file in a temp dir; ports are
# picked free and printed. Every process the demo starts is ended by its
# PID on exit (trap), and every wait is a bounded loop. Exits 1 if a step
# does not happen in time (the nodes' logs are then printed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-${BUILD:-build}}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BIN=$BUILD/replkv-cache
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
DOWN_AFTER=1000

[ -x "$BIN" ] || { echo "demo: $BIN not built (make all)" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "demo: redis-cli not found (make deps)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/replkv-demo.XXXXXX")
declare -A PID PORT SPORT
NAMES=(A B C)
T0=$SECONDS

cleanup() {
    local n i
    for n in "${NAMES[@]}"; do
        if [ -n "${PID[$n]:-}" ]; then kill -TERM "${PID[$n]}" 2>/dev/null || true; fi
    done
    for n in "${NAMES[@]}"; do
        [ -n "${PID[$n]:-}" ] || continue
        for ((i = 0; i < 50; i++)); do
            kill -0 "${PID[$n]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${PID[$n]}" 2>/dev/null || true
        wait "${PID[$n]}" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

heading() { printf '\n== %s\n' "$*"; }
say() { printf '   %s\n' "$*"; }

# run CMD...: shows the command, then its output indented.
run() {
    if [ "$1" = cli ]; then
        printf '   $ redis-cli -p %s\n' "${*:2}"
    else
        printf '   $ %s\n' "$*"
    fi
    "$@" 2>&1 | tr -d '\r' | sed -e '/^$/d' -e 's/^/     /'
}

cli() {
    local port=$1
    shift
    timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null | tr -d '\r'
}

field() { cli "$1" INFO replication | awk -F: -v f="$2" '$1 == f {print $2}'; }

# The useful lines of INFO replication.
repl_info() {
    printf '   -- node %s (port %s)\n' "$1" "${PORT[$1]}"
    cli "${PORT[$1]}" INFO replication |
        grep -E '^(role|master_host|master_port|master_link_status|connected_slaves|slave[0-9]+|master_repl_offset|slave_repl_offset):' |
        sed 's/^/     /'
}

# wait_for SECONDS WHAT CMD...: runs CMD every 0.1 s until it succeeds.
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "demo: FAILED: $what within $secs s" >&2
    for n in "${NAMES[@]}"; do
        echo "---- node $n log" >&2
        tail -n 30 "$TMP/$n/log" >&2 || true
    done
    exit 1
}

# Three client ports P such that P, P + 10000 (repl-port) and P + 20000
# (Sentinel port) are free (tests/bench/ports.sh).
# shellcheck source-path=SCRIPTDIR source=../bench/lib.sh
. "$ROOT/tests/bench/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../bench/ports.sh
. "$ROOT/tests/bench/ports.sh"
for n in "${NAMES[@]}"; do
    ports_pick 0 10000 20000
    PORT[$n]=$PORTS_PICKED
    SPORT[$n]=$((PORTS_PICKED + 20000)) # the Sentinel port
done

start() {
    local n=$1
    mkdir -p "$TMP/$n"
    "$BIN" "$TMP/$n/replkv.conf" >>"$TMP/$n/log" 2>&1 &
    PID[$n]=$!
}

ping_ok() { [ "$(cli "$1" PING)" = PONG ]; }

heading "libreplkv failover demo: three replkv-cache nodes, Sentinel built into each"
say "binary: $BIN"
say "temp dir: $TMP"
for n in "${NAMES[@]}"; do
    p=${PORT[$n]}
    mkdir -p "$TMP/$n"
    cat >"$TMP/$n/replkv.conf" <<EOF
port $p
bind 127.0.0.1
save ""
dir $TMP/$n
loglevel notice
sentinel monitor mymaster 127.0.0.1 ${PORT[A]} 2
sentinel down-after-milliseconds mymaster $DOWN_AFTER
sentinel failover-timeout mymaster 10000
EOF
    say "node $n: clients on $p, replication and peers on $((p + 10000)), Sentinel clients on ${SPORT[$n]}"
done
say "each node's config ($TMP/A/replkv.conf):"
sed -n '/^sentinel/p' "$TMP/A/replkv.conf" | sed 's/^/     /'
say "A is at the monitor address, so it starts as the primary of a new group."

heading "1. Start the three nodes"
for n in "${NAMES[@]}"; do
    start "$n"
    say "node $n: pid ${PID[$n]}"
done
# A node that exits at once has said why (e.g. a build without failover
# refuses the sentinel lines): show it rather than wait.
sleep 0.3
for n in "${NAMES[@]}"; do
    kill -0 "${PID[$n]}" 2>/dev/null && continue
    echo "demo: FAILED: node $n exited at start:" >&2
    tail -n 5 "$TMP/$n/log" >&2
    exit 1
done
group_up() {
    [ "$(field "${PORT[A]}" connected_slaves)" = 2 ] &&
        [ "$(field "${PORT[B]}" master_link_status)" = up ] &&
        [ "$(field "${PORT[C]}" master_link_status)" = up ]
}
wait_for 20 "the group forming (A primary, B and C linked)" group_up
say "group formed after $((SECONDS - T0)) s"

heading "2. Write keys on the primary (node A, port ${PORT[A]})"
for kv in "user:1 alice" "user:2 bob" "user:3 carol" "counter 41"; do
    # shellcheck disable=SC2086
    run cli "${PORT[A]}" SET $kv
done
run cli "${PORT[A]}" INCR counter
say "WAIT 2 2000: returns once both replicas have acknowledged the writes (at most 2 s):"
run cli "${PORT[A]}" WAIT 2 2000

heading "3. INFO replication of each node"
for n in "${NAMES[@]}"; do repl_info "$n"; done

heading "4. What Sentinel clients see (any node's Sentinel port; here B's, ${SPORT[B]})"
run cli "${SPORT[B]}" SENTINEL get-master-addr-by-name mymaster

heading "5. SIGKILL the primary (node A, pid ${PID[A]})"
t_kill=$(date +%s%N)
# (The group's redirection keeps bash's "Killed" job notice out of the
# demo's output.)
{
    kill -KILL "${PID[A]}"
    wait "${PID[A]}"
} 2>/dev/null || true
say "killed; B and C call it down after $DOWN_AFTER ms of silence, elect a leader and promote one of them"
NEW=
new_primary() {
    local n
    for n in B C; do
        if [ "$(field "${PORT[$n]}" role)" = master ]; then
            NEW=$n
            return 0
        fi
    done
    return 1
}
wait_for 20 "a new primary" new_primary
OTHER=B
[ "$NEW" = B ] && OTHER=C
relinked() { [ "$(field "${PORT[$OTHER]}" master_port)" = "${PORT[$NEW]}" ] &&
    [ "$(field "${PORT[$OTHER]}" master_link_status)" = up ]; }
wait_for 20 "node $OTHER replicating from the new primary" relinked
say "node $NEW is the new primary; node $OTHER replicates from it ($(( ($(date +%s%N) - t_kill) / 1000000 )) ms after the kill)"
sentinel_says_new() {
    [ "$(cli "${SPORT[$OTHER]}" SENTINEL get-master-addr-by-name mymaster | tail -n 1)" = "${PORT[$NEW]}" ]
}
wait_for 10 "Sentinel naming the new primary" sentinel_says_new
run cli "${SPORT[$OTHER]}" SENTINEL get-master-addr-by-name mymaster
say "the keys are still there (on the new primary, node $NEW):"
run cli "${PORT[$NEW]}" MGET user:1 user:2 user:3 counter
say "and it takes writes:"
run cli "${PORT[$NEW]}" SET written:after failover
repl_info "$NEW"
repl_info "$OTHER"

heading "6. Restart the old primary (node A, same config file)"
log_lines=$(wc -l <"$TMP/A/log")
start A
say "node A: pid ${PID[A]}"
wait_for 20 "node A answering" ping_ok "${PORT[A]}"
rejoined() { [ "$(field "${PORT[A]}" role)" = slave ] &&
    [ "$(field "${PORT[A]}" master_port)" = "${PORT[$NEW]}" ] &&
    [ "$(field "${PORT[A]}" master_link_status)" = up ] &&
    [ "$(cli "${PORT[A]}" GET written:after)" = failover ]; }
wait_for 20 "node A rejoining as a replica of node $NEW" rejoined
say "node A rejoined as a replica of node $NEW, with the write made while it was down:"
repl_info A
run cli "${PORT[A]}" GET written:after
run cli "${PORT[A]}" SET try:write on-a-replica
repl_info "$NEW"
say "node A's log since its restart (failover and replication lines):"
tail -n +$((log_lines + 1)) "$TMP/A/log" |
    grep -E 'failover:|\+role|MASTER <-> REPLICA|resync' | sed 's/^/     /'

heading "done in $((SECONDS - T0)) s; ending the nodes (by PID) and removing $TMP"
