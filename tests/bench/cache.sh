# shellcheck shell=bash
# tests/bench/cache.sh - the CACHE section: replkv-cache (BUILD/replkv-cache,
# examples/cache) against redis-server, each as a primary with one replica
# on 127.0.0.1, no persistence, both at their default settings otherwise.
#
# Sourced by run.sh in a subshell, with lib.sh loaded. Both pairs run at
# once; the throughput runs alternate between them, so that other load on
# the machine falls on both alike (redis-benchmark, a primary and its
# replica share the CPUs; the idle pair costs next to nothing). Every
# process is started through bench_spawn and ended by PID; every wait is
# bounded.
#
#   memory: exactly CACHE_KEYS keys "key:%012u" (16 B) with 100-byte values,
#     loaded into a fresh primary by redis-cli --pipe (the generator of
#     foundation.sh); the primary's VmRSS (/proc/PID/status) once the
#     replica is at the primary's offset and the RSS has stopped falling,
#     minus its VmRSS before loading.
#   throughput: redis-benchmark -t set,get -c 50 -d 100 -r 1000000 against
#     the primary, with -P 1 (-n CACHE_REQ_P1) and -P 16 (-n CACHE_REQ_P16),
#     CACHE_RUNS runs each after FLUSHALL and the replica catching up,
#     alternating sides; best run per side (other load on a shared machine
#     only makes a run slower).

CACHE_KEYS=${CACHE_KEYS:-1000000}
CACHE_REQ_P1=${CACHE_REQ_P1:-200000}
CACHE_REQ_P16=${CACHE_REQ_P16:-1000000}
CACHE_RUNS=${CACHE_RUNS:-3}

cache_bin=$BENCH_BUILD/replkv-cache
# Both servers get the same replication backlog (Redis's default is 1mb,
# libreplkv's 16mb): the backlog is part of the primary's RSS growth.
CACHE_BACKLOG=${CACHE_BACKLOG:-16mb}
[ -x "$cache_bin" ] || bench_die "$cache_bin not built (make all builds it)"
command -v redis-benchmark >/dev/null || bench_die "redis-benchmark not found (make deps)"
command -v redis-server >/dev/null || bench_die "redis-server not found (make deps)"
cdir=$BENCH_TMP/cache

ccli() {
    local port=$1
    shift
    timeout 30 redis-cli -h 127.0.0.1 -p "$port" "$@"
}

cache_ping() {
    [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$1" PING 2>/dev/null)" = PONG ]
}

# cache_free_pair: a port in 20000..54999 such that it and port + 10000
# (replkv-cache's default repl-port) could both be bound just now.
cache_free_pair() {
    local i port
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 35000))
        if bench_port_free "$port" && bench_port_free $((port + 10000)); then
            echo "$port"
            return 0
        fi
    done
    bench_die "no free port pair found"
}

# cache_start KIND NAME ARGS...: KIND redis or replkv; a server on a free
# port (for replkv, a free pair), no persistence, extra ARGS appended.
# Retries with other ports if the ones picked were taken meanwhile. Sets
# CS_PORT and CS_PID.
cache_start() {
    local kind=$1 name=$2 attempt comm
    shift 2
    mkdir -p "$cdir/$name"
    for ((attempt = 0; attempt < 3; attempt++)); do
        if [ "$kind" = redis ]; then
            CS_PORT=$(bench_free_port)
            bench_spawn "$cdir/$name/server.log" redis-server --port "$CS_PORT" \
                --bind 127.0.0.1 --save '' --appendonly no --dir "$cdir/$name" \
                --repl-backlog-size "$CACHE_BACKLOG" \
                --daemonize no --protected-mode yes --loglevel warning "$@"
        else
            CS_PORT=$(cache_free_pair)
            bench_spawn "$cdir/$name/server.log" "$cache_bin" --port "$CS_PORT" \
                --bind 127.0.0.1 --save '' --dir "$cdir/$name" \
                --repl-backlog-size "$CACHE_BACKLOG" \
                --daemonize no --protected-mode yes --loglevel warning "$@"
        fi
        CS_PID=$BENCH_LAST_PID
        if bench_wait_for 10 cache_ping "$CS_PORT"; then
            # VmRSS is read from this PID: it must be the server itself.
            comm=$(cat "/proc/$CS_PID/comm" 2>/dev/null || true)
            case $comm in
                redis-server | replkv-cache) ;;
                *) bench_die "pid $CS_PID is '$comm', not the $kind server" ;;
            esac
            return 0
        fi
        bench_kill "$CS_PID"
    done
    cat "$cdir/$name/server.log" >&2
    bench_die "$kind $name did not start"
}

# cache_field PORT FIELD: a field of INFO replication (empty if absent).
cache_field() {
    ccli "$1" INFO replication 2>/dev/null | tr -d '\r' |
        awk -F: -v f="$2" '$1 == f {v = $2} END {print v}'
}

# Succeeds if the replica on R is linked to P and at P's offset.
cache_at_offset() {
    local p=$1 r=$2 po ro
    [ "$(cache_field "$r" master_link_status)" = up ] || return 1
    po=$(cache_field "$p" master_repl_offset)
    ro=$(cache_field "$r" slave_repl_offset)
    [ -n "$po" ] && [ "$po" = "$ro" ]
}

# cache_synced P R: waits up to 120 s for the replica to catch up.
cache_synced() {
    bench_wait_for 120 cache_at_offset "$1" "$2" ||
        bench_die "replica on $2 never reached the offset of the primary on $1"
}

cache_rss_kb() {
    awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"
}

# cache_rss_settled PID: VmRSS in kB once it has stopped falling (no new
# low for 3 s; at most 30 s): buffers of the load (a replica's output
# buffer, freed pages the allocator has yet to return) are not the keys'.
cache_rss_settled() {
    local low now i since=0
    low=$(cache_rss_kb "$1")
    for ((i = 0; i < 60 && since < 6; i++)); do
        sleep 0.5
        now=$(cache_rss_kb "$1")
        if ((now < low)); then low=$now since=0; else since=$((since + 1)); fi
    done
    echo "$low"
}

# cache_setup SYS KIND: a primary and its replica of KIND, linked; their
# ports and PIDs in C_P[SYS], C_PPID[SYS], C_R[SYS], C_RPID[SYS].
declare -A C_P C_PPID C_R C_RPID
cache_setup() {
    local sys=$1 kind=$2
    cache_start "$kind" "$sys-primary"
    C_P[$sys]=$CS_PORT
    C_PPID[$sys]=$CS_PID
    cache_start "$kind" "$sys-replica" --replicaof 127.0.0.1 "$CS_PORT"
    C_R[$sys]=$CS_PORT
    C_RPID[$sys]=$CS_PID
    cache_synced "${C_P[$sys]}" "${C_R[$sys]}"
    bench_log "$sys: primary pid ${C_PPID[$sys]} port ${C_P[$sys]}, replica pid ${C_RPID[$sys]} port ${C_R[$sys]}"
    bench_metric "$sys" cache_repl_backlog_size "$(cache_field "${C_P[$sys]}" repl_backlog_size)"
}

# cache_memory SYS: loads CACHE_KEYS keys into the fresh primary, records
# the RSS growth of the primary (and of the replica) once the replica is at
# the primary's offset.
cache_memory() {
    local sys=$1 P=${C_P[$1]} R=${C_R[$1]} rss0 rss1 rrss0 rrss1 dbsize
    rss0=$(cache_rss_kb "${C_PPID[$sys]}")
    rrss0=$(cache_rss_kb "${C_RPID[$sys]}")
    bench_log "$sys: loading $CACHE_KEYS keys with redis-cli --pipe"
    awk -v n="$CACHE_KEYS" 'BEGIN {
        v = sprintf("%100s", ""); gsub(/ /, "x", v)
        for (i = 0; i < n; i++)
            printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$100\r\n%s\r\n", i, v
    }' | timeout 120 redis-cli -h 127.0.0.1 -p "$P" --pipe \
        >"$cdir/$sys-pipe.out" 2>&1 ||
        { cat "$cdir/$sys-pipe.out" >&2; bench_die "redis-cli --pipe ($sys)"; }
    grep -q "errors: 0, replies: $CACHE_KEYS" "$cdir/$sys-pipe.out" ||
        { cat "$cdir/$sys-pipe.out" >&2; bench_die "redis-cli --pipe ($sys): errors"; }
    dbsize=$(ccli "$P" DBSIZE)
    [ "$dbsize" = "$CACHE_KEYS" ] || bench_die "$sys DBSIZE $dbsize, expected $CACHE_KEYS"
    cache_synced "$P" "$R"
    dbsize=$(ccli "$R" DBSIZE)
    [ "$dbsize" = "$CACHE_KEYS" ] || bench_die "$sys replica DBSIZE $dbsize, expected $CACHE_KEYS"
    bench_metric "$sys" cache_rss_loaded_kb "$(cache_rss_kb "${C_PPID[$sys]}")"
    rss1=$(cache_rss_settled "${C_PPID[$sys]}")
    rrss1=$(cache_rss_settled "${C_RPID[$sys]}")
    bench_metric "$sys" cache_rss_before_kb "$rss0"
    bench_metric "$sys" cache_rss_after_kb "$rss1"
    bench_metric "$sys" cache_rss_bytes_per_key \
        "$(awk -v a="$rss0" -v b="$rss1" -v n="$CACHE_KEYS" 'BEGIN {printf "%.2f", (b - a) * 1024 / n}')"
    bench_metric "$sys" cache_replica_rss_bytes_per_key \
        "$(awk -v a="$rrss0" -v b="$rrss1" -v n="$CACHE_KEYS" 'BEGIN {printf "%.2f", (b - a) * 1024 / n}')"
}

# cache_rb SYS POPT N RUN: FLUSHALL, the replica caught up, one
# redis-benchmark run against the primary; appends "SET<POPT> rps" and
# "GET<POPT> rps" to $cdir/SYS-rps.
cache_rb() {
    local sys=$1 popt=$2 n=$3 run=$4 P=${C_P[$1]} csv t rps
    ccli "$P" FLUSHALL >/dev/null || bench_die "FLUSHALL ($sys)"
    cache_synced "$P" "${C_R[$sys]}"
    csv=$cdir/$sys-rb.P$popt.$run.csv
    timeout 300 redis-benchmark -h 127.0.0.1 -p "$P" -t set,get -P "$popt" \
        -c 50 -d 100 -r 1000000 -n "$n" -q --csv >"$csv" 2>&1 ||
        { cat "$csv" >&2; bench_die "redis-benchmark ($sys)"; }
    for t in SET GET; do
        rps=$(awk -F'"' -v t="$t" '$2 == t {v = $4} END {print v}' "$csv")
        [ -n "$rps" ] || { cat "$csv" >&2; bench_die "no $t in redis-benchmark output ($sys)"; }
        echo "$t$popt $rps" >>"$cdir/$sys-rps"
    done
}

# cache_record SYS: best, median and worst run of each test as SYS metrics.
cache_record() {
    local sys=$1 t lc
    for t in SET1 GET1 SET16 GET16; do
        lc=$(echo "$t" | tr '[:upper:]' '[:lower:]')
        sort -k2,2g "$cdir/$sys-rps" | awk -v t="$t" '$1 == t {v[n++] = $2}
            END {print v[n - 1], v[int(n / 2)], v[0]}' | {
            read -r best median worst
            bench_metric "$sys" "cache_${lc}_ops_per_sec" "$best"
            bench_metric "$sys" "cache_${lc}_ops_per_sec_median" "$median"
            bench_metric "$sys" "cache_${lc}_ops_per_sec_worst" "$worst"
        }
    done
}

mkdir -p "$cdir"
bench_log "redis-server $(redis-server --version | awk '{print $3}'): primary + replica"
cache_setup redis redis
cache_memory redis
bench_log "replkv-cache: primary + replica"
cache_setup replkv replkv
cache_memory replkv

# Throughput runs alternate between the two (the one going first alternates
# too), so that load from elsewhere on the machine falls on both alike; the
# idle pair meanwhile costs next to nothing.
: >"$cdir/redis-rps"
: >"$cdir/replkv-rps"
for popt in 1 16; do
    n=$CACHE_REQ_P1
    [ "$popt" = 16 ] && n=$CACHE_REQ_P16
    bench_log "redis-benchmark -t set,get -c 50 -d 100 -r 1000000 -P $popt -n $n, $CACHE_RUNS runs each, alternating"
    for ((run = 1; run <= CACHE_RUNS; run++)); do
        if ((run % 2)); then order="redis replkv"; else order="replkv redis"; fi
        for sys in $order; do
            cache_rb "$sys" "$popt" "$n" "$run"
        done
    done
done
for sys in redis replkv; do
    # The replica kept up: it is at the primary's offset after the last run.
    cache_synced "${C_P[$sys]}" "${C_R[$sys]}"
    cache_record "$sys"
    bench_kill "${C_RPID[$sys]}"
    bench_kill "${C_PPID[$sys]}"
done

# -- the table -----------------------------------------------------------------
r() { bench_get replkv "$1"; }
R() { bench_get redis "$1"; }

bench_section "CACHE: replkv-cache vs redis-server, each primary + 1 replica (ops/s, bytes)"
bench_row "SET ops/s -P1 -c50 on the primary" "$(r cache_set1_ops_per_sec)" "$(R cache_set1_ops_per_sec)" ">=1.0x"
bench_row "GET ops/s -P1 -c50 on the primary" "$(r cache_get1_ops_per_sec)" "$(R cache_get1_ops_per_sec)" ">=1.0x"
bench_row "SET ops/s -P16 -c50 on the primary" "$(r cache_set16_ops_per_sec)" "$(R cache_set16_ops_per_sec)" ">=1.0x"
bench_row "GET ops/s -P16 -c50 on the primary" "$(r cache_get16_ops_per_sec)" "$(R cache_get16_ops_per_sec)" ">=1.0x"
bench_row "  SET -P1, median of $CACHE_RUNS runs" "$(r cache_set1_ops_per_sec_median)" "$(R cache_set1_ops_per_sec_median)" "-"
bench_row "  GET -P1, median of $CACHE_RUNS runs" "$(r cache_get1_ops_per_sec_median)" "$(R cache_get1_ops_per_sec_median)" "-"
bench_row "  SET -P16, median of $CACHE_RUNS runs" "$(r cache_set16_ops_per_sec_median)" "$(R cache_set16_ops_per_sec_median)" "-"
bench_row "  GET -P16, median of $CACHE_RUNS runs" "$(r cache_get16_ops_per_sec_median)" "$(R cache_get16_ops_per_sec_median)" "-"
bench_row "bytes/key primary RSS growth, $CACHE_KEYS keys" "$(r cache_rss_bytes_per_key)" "$(R cache_rss_bytes_per_key)" "<=0.75x"
bench_row "  bytes/key replica RSS growth" "$(r cache_replica_rss_bytes_per_key)" "$(R cache_replica_rss_bytes_per_key)" "-"
bench_row "  repl-backlog-size (both set alike), bytes" "$(r cache_repl_backlog_size)" "$(R cache_repl_backlog_size)" "-"
bench_note "redis-benchmark -t set,get -c 50 -d 100 -r 1000000 -n $CACHE_REQ_P1 (-P 1) / -n $CACHE_REQ_P16 (-P 16) against the primary;"
bench_note "best of $CACHE_RUNS runs per side, alternating sides; FLUSHALL and the replica at the primary's offset before each run."
bench_note "RSS: VmRSS of the primary process (/proc/PID/status), replica caught up and RSS settled, minus before loading"
bench_note "$CACHE_KEYS keys key:%012u (16 B) with 100-byte values by redis-cli --pipe into a fresh primary."
bench_note "Both with repl-backlog-size $CACHE_BACKLOG (the backlog is part of the primary's RSS growth), no persistence, otherwise defaults."
bench_note "redis-benchmark, primary and replica share the $(nproc) CPUs; both pairs are up throughout, the other one idle."
