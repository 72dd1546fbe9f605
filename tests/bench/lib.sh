# shellcheck shell=bash
# tests/bench/lib.sh - helpers shared by the benchmark sections: a free port,
# a redis-server that is always ended by its PID, bounded waits, a metric
# store and the side-by-side table.
#
# Sourced by tests/bench/run.sh, which sets BENCH_BUILD and BENCH_TMP, then
# sources each section file. A section records figures with bench_metric,
# reads them back with bench_get, and adds table rows with bench_row. Every
# process a section starts goes through bench_spawn (or bench_start_redis),
# so the EXIT trap in run.sh can end it by PID.

BENCH_PIDS=()

bench_log() { printf '%s\n' "bench: $*" >&2; }
bench_die() { bench_log "FAILED: $*"; exit 1; }

# ------------------------------------------------------------- processes

# bench_spawn OUTFILE CMD...: starts CMD in the background, stdout+stderr to
# OUTFILE, remembers its PID for cleanup and leaves it in BENCH_LAST_PID.
bench_spawn() {
    local out=$1; shift
    "$@" >"$out" 2>&1 &
    BENCH_LAST_PID=$!
    BENCH_PIDS+=("$BENCH_LAST_PID")
}

# Succeeds if PID is running (a zombie, exited but not yet reaped, is not).
bench_alive() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}

# bench_kill PID: TERM, up to 5 s to exit, then KILL; reaps it. Only PIDs
# this shell started.
bench_kill() {
    local pid=$1 i
    if bench_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            bench_alive "$pid" || break
            sleep 0.1
        done
        bench_alive "$pid" && { kill -KILL "$pid" 2>/dev/null || true; }
    fi
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        bench_kill "$pid"
    done
    BENCH_PIDS=()
}

# bench_wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds;
# returns 1 after SECONDS.
bench_wait_for() {
    local secs=$1; shift
    local tries=$((secs * 10)) i
    for ((i = 0; i < tries; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------------ ports

# Succeeds if 127.0.0.1:PORT can be bound right now.
bench_port_free() {
    local py=/usr/bin/python3
    [ -x "$py" ] || py=$(command -v python3 2>/dev/null || true)
    if [ -n "$py" ]; then
        "$py" - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
    else
        # No python: nothing answering a connect is the best we can check.
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# Prints a port in 20000..59999 that could be bound just now.
bench_free_port() {
    local i port
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if bench_port_free "$port"; then
            echo "$port"
            return 0
        fi
    done
    bench_die "no free port found"
}

# ------------------------------------------------------------------ redis

# bench_start_redis NAME: a redis-server on 127.0.0.1, a free port, no
# persistence, in its own directory under BENCH_TMP. Sets REDIS_PORT and
# REDIS_PID. Retries with another port if the one picked was taken between
# the check and the bind.
bench_start_redis() {
    local name=$1 dir attempt
    command -v redis-server >/dev/null || bench_die "redis-server not found (make deps)"
    dir=$BENCH_TMP/$name
    mkdir -p "$dir"
    for ((attempt = 0; attempt < 3; attempt++)); do
        REDIS_PORT=$(bench_free_port)
        bench_spawn "$dir/redis.log" redis-server --port "$REDIS_PORT" \
            --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
            --daemonize no --protected-mode yes --loglevel warning
        REDIS_PID=$BENCH_LAST_PID
        if bench_wait_for 10 redis_ping; then
            bench_log "redis-server $(redis-server --version | awk '{print $3}') pid $REDIS_PID port $REDIS_PORT"
            return 0
        fi
        bench_kill "$REDIS_PID"
    done
    cat "$dir/redis.log" >&2
    bench_die "redis-server did not start"
}

bench_stop_redis() {
    [ -n "${REDIS_PID:-}" ] && bench_kill "$REDIS_PID"
    REDIS_PID=
}

# redis-cli against the bench server, bounded to 30 s.
redis_cli() {
    timeout 30 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

redis_ping() {
    [ "$(redis_cli PING 2>/dev/null)" = PONG ]
}

# redis_info FIELD: a numeric field of INFO (e.g. used_memory). awk reads to
# the end so that pipefail never sees a SIGPIPE.
redis_info() {
    redis_cli INFO memory | tr -d '\r' | awk -F: -v f="$1" '$1 == f {v = $2} END {print v}'
}

# --------------------------------------------------------------- metrics

# bench_metric SYSTEM NAME VALUE: records a figure ("replkv get_ops_per_sec
# 123"); later sections and the final report read them.
bench_metric() {
    printf '%s %s %s\n' "$1" "$2" "$3" >>"$BENCH_TMP/metrics"
}

# bench_get SYSTEM NAME: the last recorded value, or empty.
bench_get() {
    awk -v s="$1" -v n="$2" '$1 == s && $2 == n {v = $3} END {print v}' \
        "$BENCH_TMP/metrics" 2>/dev/null
}

# --------------------------------------------------------------- the table

# bench_section TITLE: starts a new table in the report.
bench_section() {
    {
        printf '\n## %s\n' "$1"
        printf '%-44s | %14s | %14s | %9s | %-10s | %s\n' \
            metric libreplkv redis ratio target result
        printf '%s\n' "$(printf '%.0s-' {1..112})"
    } >>"$BENCH_TMP/table"
}

# bench_row METRIC OURS THEIRS TARGET
#   OURS/THEIRS: numbers, or "-" when there is none.
#   TARGET: ">=8x" / "<=0.75x" (on the ratio ours/theirs), "<=50" / ">=N"
#   (on OURS alone, when THEIRS is "-"), or "-" for information only.
# Ratio is ours/theirs. Result is PASS or MISS when there is a target.
bench_row() {
    local metric=$1 ours=${2:--} theirs=${3:--} target=${4:--}
    awk -v m="$metric" -v a="$ours" -v b="$theirs" -v t="$target" '
    function num(x) { return x ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ }
    function fmt(x) {
        if (!num(x)) return x
        if (x + 0 >= 1000 || x == int(x)) return sprintf("%.0f", x)
        return sprintf("%.2f", x)
    }
    BEGIN {
        ratio = "-"; res = "-"
        if (num(a) && num(b) && b + 0 != 0) ratio = sprintf("%.2fx", a / b)
        if (t != "-") {
            op = substr(t, 1, 2); lim = substr(t, 3)
            onratio = lim ~ /x$/; sub(/x$/, "", lim)
            v = onratio ? (ratio == "-" ? "" : a / b) : a
            if (v == "" || !num(a)) res = "n/a"
            else if (op == ">=") res = (v + 0 >= lim + 0) ? "PASS" : "MISS"
            else if (op == "<=") res = (v + 0 <= lim + 0) ? "PASS" : "MISS"
            else res = "?"
        }
        printf "%-44s | %14s | %14s | %9s | %-10s | %s\n", m, fmt(a), fmt(b), ratio, t, res
    }' >>"$BENCH_TMP/table"
}

bench_note() {
    printf '  %s\n' "$*" >>"$BENCH_TMP/table"
}

# ---------------------------------------------------------------- machine

bench_machine() {
    local model
    model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    printf 'machine: nproc=%s cpu="%s" mem=%s kernel=%s\n' "$(nproc)" \
        "${model:-unknown}" \
        "$(awk '/^MemTotal/ {printf "%.1fGiB", $2 / 1048576}' /proc/meminfo)" \
        "$(uname -r)"
    printf 'load average at start: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'redis: %s\n' "$(redis-server --version 2>/dev/null)"
    printf 'date: %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
}
