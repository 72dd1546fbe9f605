# shellcheck shell=bash
# tests/bench/replication.sh - the REPLICATION section: a libreplkv primary
# with replicas in separate processes (repl_kv) against a real redis-server
# primary with redis-server replicas, all on 127.0.0.1.
#
# Sourced by run.sh in a subshell, with lib.sh loaded. Redis is measured
# first and every redis-server is stopped before repl_kv runs, so the two
# never share the CPUs. Every process is started through bench_spawn and
# ended by PID; every wait is bounded (repl_redis and repl_kv give up after
# 120 s, and each command runs under timeout).
#
#   1 end to end: REPL_KEYS SETs on the primary until the replica is at the
#     primary's offset. redis: redis-benchmark -P 64 -t set -n N -r N -d 100
#     timed by repl_redis e2e (start of redis-benchmark to the replica's
#     slave_repl_offset reaching master_repl_offset). replkv: repl_kv a.
#   2 write-to-visible latency at REPL_RATE writes/s: repl_redis lat vs
#     repl_kv b (see their header comments for how each side is stamped).
#   3 full resync of REPL_KEYS keys: redis with repl-diskless-sync yes,
#     repl-diskless-sync-delay 0 on the primary, timed by repl_redis
#     fullsync (REPLICAOF sent to an empty running replica, until
#     master_link_status:up and DBSIZE N). replkv: repl_kv c.
#   4 primary write throughput, 2 replicas vs none: redis-benchmark -P 64
#     on a fresh primary, then with two replicas attached; replkv: repl_kv d.
#
# Throughput and resync figures are the best of REPL_RUNS runs on both
# sides (other load on a shared machine only makes a run slower); medians
# are in the raw figures.

REPL_KEYS=${REPL_KEYS:-1000000}
REPL_RUNS=${REPL_RUNS:-5}
REPL_RATE=${REPL_RATE:-50000}
REPL_LAT_SECONDS=${REPL_LAT_SECONDS:-3}
REPL_WARMUP=${REPL_WARMUP:-10000}
REPL_LAT_RUNS=${REPL_LAT_RUNS:-2}
# How each side's poller waits after a poll that found nothing new: a pause
# in us (0: back to back; for repl_kv, sched_yield), or for repl_kv "wait":
# block in replkv_wait_applied until the replica's offset moves. Each side
# runs REPL_LAT_RUNS times with each and keeps the run with the lowest p99:
# a spinning poller costs libreplkv (it shares the replica's process and
# CPUs), a pausing one costs Redis (a round trip per poll), and neither
# should be judged by the other's best instrument.
REPL_KV_POLL_SET=${REPL_KV_POLL_SET:-wait 0 20}
REPL_REDIS_POLL_SET=${REPL_REDIS_POLL_SET:-0 20}

repl_kv=$BENCH_BUILD/tests/bench/repl_kv
repl_redis=$BENCH_BUILD/tests/bench/repl_redis
for b in "$repl_kv" "$repl_redis"; do
    [ -x "$b" ] || bench_die "$b not built (make bench builds it)"
done
command -v redis-benchmark >/dev/null || bench_die "redis-benchmark not found (make deps)"
command -v redis-server >/dev/null || bench_die "redis-server not found (make deps)"
rdir=$BENCH_TMP/replication

# repl_redis_start NAME ARGS...: a redis-server on a free port with no
# persistence and the primary's diskless-sync settings (they only matter
# on a primary), extra ARGS appended. Sets RS_PORT and RS_PID.
repl_redis_start() {
    local name=$1 attempt
    shift
    mkdir -p "$rdir/$name"
    for ((attempt = 0; attempt < 3; attempt++)); do
        RS_PORT=$(bench_free_port)
        bench_spawn "$rdir/$name/redis.log" redis-server --port "$RS_PORT" \
            --bind 127.0.0.1 --save '' --appendonly no --dir "$rdir/$name" \
            --daemonize no --protected-mode yes --loglevel warning \
            --repl-diskless-sync yes --repl-diskless-sync-delay 0 "$@"
        RS_PID=$BENCH_LAST_PID
        if bench_wait_for 10 repl_redis_ping "$RS_PORT"; then
            return 0
        fi
        bench_kill "$RS_PID"
    done
    cat "$rdir/$name/redis.log" >&2
    bench_die "redis-server $name did not start"
}

repl_redis_ping() {
    [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$1" PING 2>/dev/null)" = PONG ]
}

rcli() {
    local port=$1
    shift
    timeout 30 redis-cli -h 127.0.0.1 -p "$port" "$@"
}

# repl_synced PRIMARY_PORT REPLICA_PORT...: every replica linked and at the
# primary's offset (bounded by repl_redis).
repl_synced() {
    local p=$1 r
    shift
    for r in "$@"; do
        timeout 150 "$repl_redis" synced "$p" "$r" || bench_die "replica $r never synced with $p"
    done
}

# repl_flush PRIMARY_PORT REPLICA_PORT...: FLUSHALL, then wait for replicas.
repl_flush() {
    rcli "$1" FLUSHALL >/dev/null || bench_die "FLUSHALL"
    repl_synced "$@"
}

# repl_rb_set PORT OUT: one redis-benchmark SET run; prints its rps.
repl_rb_set() {
    local csv=$2 rps
    timeout 300 redis-benchmark -h 127.0.0.1 -p "$1" -P 64 -t set \
        -n "$REPL_KEYS" -r "$REPL_KEYS" -d 100 -q --csv >"$csv" 2>&1 ||
        { cat "$csv" >&2; bench_die "redis-benchmark"; }
    rps=$(awk -F'"' '$2 == "SET" {v = $4} END {print v}' "$csv")
    [ -n "$rps" ] || { cat "$csv" >&2; bench_die "no SET in redis-benchmark output"; }
    echo "$rps"
}

# repl_best FILE: best, median, worst of the numbers in FILE (one a line);
# LOWER=1 when lower is better.
repl_best() {
    sort -g "$1" | awk -v lower="${LOWER:-0}" '{v[n++] = $1}
        END {if (lower) print v[0], v[int(n / 2)], v[n - 1];
             else print v[n - 1], v[int(n / 2)], v[0]}'
}

# repl_record NAME FILE: best/median/worst of FILE as redis metrics.
repl_record() {
    local best median worst
    read -r best median worst < <(repl_best "$2")
    bench_metric redis "$1" "$best"
    bench_metric redis "${1}_median" "$median"
    bench_metric redis "${1}_worst" "$worst"
}

# ------------------------------------------------------------------ redis
repl_redis_start primary
P=$RS_PORT
P_PID=$RS_PID
bench_log "redis-server $(redis-server --version | awk '{print $3}') primary pid $P_PID port $P"

# -- 4a: a fresh primary, no replica has ever attached (no backlog yet).
bench_log "redis: primary alone, redis-benchmark -P 64 -t set -n $REPL_KEYS, $REPL_RUNS runs"
: >"$rdir/rps0"
for ((run = 1; run <= REPL_RUNS; run++)); do
    rcli "$P" FLUSHALL >/dev/null || bench_die "FLUSHALL"
    repl_rb_set "$P" "$rdir/rb0.$run.csv" >>"$rdir/rps0"
done
repl_record primary0_writes_per_sec "$rdir/rps0"

# -- 4b: the same with two replicas attached.
repl_redis_start replica1 --replicaof 127.0.0.1 "$P"
R1=$RS_PORT
R1_PID=$RS_PID
repl_redis_start replica2 --replicaof 127.0.0.1 "$P"
R2=$RS_PORT
R2_PID=$RS_PID
repl_synced "$P" "$R1" "$R2"
bench_log "redis: replicas on ports $R1 and $R2; redis-benchmark with 2 replicas"
: >"$rdir/rps2"
for ((run = 1; run <= REPL_RUNS; run++)); do
    repl_flush "$P" "$R1" "$R2"
    repl_rb_set "$P" "$rdir/rb2.$run.csv" >>"$rdir/rps2"
done
repl_synced "$P" "$R1" "$R2"
repl_record primary2_writes_per_sec "$rdir/rps2"
bench_kill "$R2_PID"

# -- 1: end to end through one replica.
bench_log "redis: end to end, $REPL_KEYS SETs until the replica's offset matches"
: >"$rdir/e2e"
for ((run = 1; run <= REPL_RUNS; run++)); do
    repl_flush "$P" "$R1"
    timeout 400 "$repl_redis" e2e "$P" "$R1" "$REPL_KEYS" -- timeout 300 \
        redis-benchmark -h 127.0.0.1 -p "$P" -P 64 -t set -n "$REPL_KEYS" \
        -r "$REPL_KEYS" -d 100 -q >"$rdir/e2e.$run.out" 2>"$rdir/e2e.$run.err" ||
        { cat "$rdir/e2e.$run.out" "$rdir/e2e.$run.err" >&2; bench_die "repl_redis e2e"; }
    awk '$2 == "e2e_writes_per_sec" {print $3}' "$rdir/e2e.$run.out" >>"$rdir/e2e"
    bench_log "  run $run: $(tr '\n' ' ' <"$rdir/e2e.$run.out")"
done
repl_record e2e_writes_per_sec "$rdir/e2e"

# -- 2: write-to-visible latency at a fixed rate.
# repl_lat_keep SYSTEM PREFIX: of the runs PREFIX.<poll>.<run>.out, records
# the one with the lowest p99 (and which poll pause it used).
repl_lat_keep() {
    local sys=$1 prefix=$2 best
    best=$(for f in "$prefix".*.out; do
        awk -v f="$f" '$2 == "lat_p99_us" {print $3, f}' "$f"
    done | sort -g | awk 'NR == 1 {print $2}')
    [ -n "$best" ] || bench_die "no latency run for $sys"
    awk -v s="$sys" '$1 == s && NF == 3' "$best" >>"$BENCH_TMP/metrics"
    best=${best#"$prefix".}
    bench_metric "$sys" lat_poll_us "${best%%.*}"
}

bench_log "redis: write-to-visible latency at $REPL_RATE writes/s for $REPL_LAT_SECONDS s, poll {$REPL_REDIS_POLL_SET} x $REPL_LAT_RUNS"
for poll in $REPL_REDIS_POLL_SET; do
    for ((run = 1; run <= REPL_LAT_RUNS; run++)); do
        repl_flush "$P" "$R1"
        out=$rdir/lat.$poll.$run
        REPL_POLL_US=$poll timeout 300 "$repl_redis" lat "$P" "$R1" "$REPL_RATE" \
            "$REPL_LAT_SECONDS" "$REPL_WARMUP" >"$out.out" 2>"$out.err" ||
            { cat "$out.out" "$out.err" >&2; bench_die "repl_redis lat"; }
        bench_log "  poll $poll run $run: $(awk '$2 ~ /^lat_p(50|99)_us$/ {printf "%s %s  ", $2, $3}' "$out.out")"
    done
done
repl_lat_keep redis "$rdir/lat"

# -- 3: full resync of exactly REPL_KEYS keys into a fresh, empty replica.
bench_log "redis: full sync of $REPL_KEYS keys (diskless primary), $REPL_RUNS runs"
repl_flush "$P" "$R1"
awk -v n="$REPL_KEYS" 'BEGIN {
    v = sprintf("%100s", ""); gsub(/ /, "x", v)
    for (i = 0; i < n; i++)
        printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$100\r\n%s\r\n", i, v
}' | timeout 120 redis-cli -h 127.0.0.1 -p "$P" --pipe >"$rdir/pipe.out" 2>&1 ||
    { cat "$rdir/pipe.out" >&2; bench_die "redis-cli --pipe"; }
grep -q "errors: 0, replies: $REPL_KEYS" "$rdir/pipe.out" ||
    { cat "$rdir/pipe.out" >&2; bench_die "redis-cli --pipe: errors"; }
[ "$(rcli "$P" DBSIZE)" = "$REPL_KEYS" ] || bench_die "redis DBSIZE is not $REPL_KEYS"
bench_kill "$R1_PID"
: >"$rdir/fullsync"
for ((run = 1; run <= REPL_RUNS; run++)); do
    repl_redis_start "fresh$run"
    timeout 300 "$repl_redis" fullsync "$P" "$RS_PORT" "$REPL_KEYS" \
        >"$rdir/fullsync.$run.out" 2>&1 ||
        { cat "$rdir/fullsync.$run.out" >&2; bench_die "repl_redis fullsync"; }
    awk '$2 == "fullsync_ms" {print $3}' "$rdir/fullsync.$run.out" >>"$rdir/fullsync"
    bench_log "  run $run: $(tr '\n' ' ' <"$rdir/fullsync.$run.out")"
    bench_kill "$RS_PID"
done
LOWER=1 repl_record fullsync_ms "$rdir/fullsync"
bench_cleanup

# ---------------------------------------------------------------- replkv
bench_log "replkv: $repl_kv -n $REPL_KEYS -R $REPL_RUNS (sections a, c, d)"
# REPL_KV_ARGS (e.g. "-s ad") is split into words on purpose.
# shellcheck disable=SC2086
timeout 900 "$repl_kv" -n "$REPL_KEYS" -R "$REPL_RUNS" -s acd ${REPL_KV_ARGS:-} \
    >"$rdir/repl_kv.out" 2>"$rdir/repl_kv.err" ||
    { cat "$rdir/repl_kv.out" "$rdir/repl_kv.err" >&2; bench_die "repl_kv failed"; }
cat "$rdir/repl_kv.err" >&2
awk '$1 == "replkv" && NF == 3' "$rdir/repl_kv.out" >>"$BENCH_TMP/metrics"

bench_log "replkv: write-to-visible latency at $REPL_RATE writes/s for $REPL_LAT_SECONDS s, poll {$REPL_KV_POLL_SET} x $REPL_LAT_RUNS"
for poll in $REPL_KV_POLL_SET; do
    for ((run = 1; run <= REPL_LAT_RUNS; run++)); do
        out=$rdir/kvlat.$poll.$run
        REPL_POLL_US=$poll timeout 300 "$repl_kv" -s b -r "$REPL_RATE" \
            -t "$REPL_LAT_SECONDS" -w "$REPL_WARMUP" >"$out.out" 2>"$out.err" ||
            { cat "$out.out" "$out.err" >&2; bench_die "repl_kv -s b"; }
        bench_log "  poll $poll run $run: $(awk '$2 ~ /^lat_p(50|99)_us$/ {printf "%s %s  ", $2, $3}' "$out.out")"
    done
done
repl_lat_keep replkv "$rdir/kvlat"

# -------------------------------------------------------------- the table
r() { bench_get replkv "$1"; }
R() { bench_get redis "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b + 0 != 0) printf "%.3f", a / b}'; }
r_fan=$(ratio "$(r primary2_writes_per_sec)" "$(r primary0_writes_per_sec)")
R_fan=$(ratio "$(R primary2_writes_per_sec)" "$(R primary0_writes_per_sec)")
bench_metric replkv primary2_over_primary0 "$r_fan"
bench_metric redis primary2_over_primary0 "$R_fan"

bench_section "REPLICATION: primary + replica processes on 127.0.0.1 vs redis-server (writes/s, us, ms)"
bench_row "end to end writes/s, $REPL_KEYS SETs, 1 replica" "$(r e2e_writes_per_sec)" "$(R e2e_writes_per_sec)" ">=3x"
bench_row "  median of $REPL_RUNS runs" "$(r e2e_writes_per_sec_median)" "$(R e2e_writes_per_sec_median)" "-"
bench_row "write->visible p99 us at $REPL_RATE writes/s" "$(r lat_p99_us)" "$(R lat_p99_us)" "<=0.5x"
bench_row "  p50 us" "$(r lat_p50_us)" "$(R lat_p50_us)" "-"
bench_row "  p90 us" "$(r lat_p90_us)" "$(R lat_p90_us)" "-"
bench_row "  p99.9 us" "$(r lat_p999_us)" "$(R lat_p999_us)" "-"
bench_row "  max us" "$(r lat_max_us)" "$(R lat_max_us)" "-"
bench_row "  achieved writes/s" "$(r lat_achieved_rate)" "$(R lat_achieved_rate)" "-"
bench_row "write(call)->visible p99 us (same run)" "$(r lat_call_p99_us)" "$(R lat_call_p99_us)" "-"
bench_row "  p50 us" "$(r lat_call_p50_us)" "$(R lat_call_p50_us)" "-"
bench_row "  redis: seen before its +OK was read" "-" "$(R lat_negative)" "-"
bench_row "full resync of $REPL_KEYS keys, ms" "$(r fullsync_ms)" "$(R fullsync_ms)" "<=0.5x"
bench_row "  median of $REPL_RUNS runs, ms" "$(r fullsync_ms_median)" "$(R fullsync_ms_median)" "-"
bench_row "primary writes/s 2 replicas / none" "$r_fan" "$R_fan" ">=0.8"
bench_row "  primary writes/s, no replica" "$(r primary0_writes_per_sec)" "$(R primary0_writes_per_sec)" "-"
bench_row "  primary writes/s, 2 replicas" "$(r primary2_writes_per_sec)" "$(R primary2_writes_per_sec)" "-"
bench_row "  standalone node (no port) writes/s" "$(r standalone_writes_per_sec)" "-" "-"
bench_row "  both replicas caught up, writes/s" "$(r primary2_e2e_writes_per_sec)" "-" "-"
bench_note "replkv: primary in the repl_kv process, written by 1 thread through the C API; each replica is a"
bench_note "  child process (repl_kv --child) with its own node. redis: redis-server primary + replica(s)."
bench_note "end to end: first write to the replica holding the last one (replkv: replkv_wait_applied in the"
bench_note "  replica process; redis: INFO slave_repl_offset = master_repl_offset, polled every 0.5 ms);"
bench_note "  digests compared after. redis load: redis-benchmark -P 64 -c 50 -t set -r $REPL_KEYS -d 100."
bench_note "latency: write return (replkv_set returned / +OK read) to first sighting on the replica"
bench_note "  (replkv: a thread in the replica process checks replkv_exists for the next key; redis: EXISTS"
bench_note "  of the next 64 keys, stamped at the request's midpoint); first $REPL_WARMUP writes not counted."
bench_note "  Lowest-p99 run of $REPL_LAT_RUNS x each poller wait (replkv {$REPL_KV_POLL_SET}, kept $(r lat_poll_us);"
bench_note "  redis {$REPL_REDIS_POLL_SET} us, kept $(R lat_poll_us)). replkv_set returns before the stream is"
bench_note "  sent; Redis writes its +OK and the stream to the replica in the same event-loop turn, so a"
bench_note "  sighting before the +OK was read counts as 0 us. write(call): from replkv_set's call / the"
bench_note "  SET's send instead: the same span for both, each side's whole write path included."
bench_note "full resync: replicaof issued on an empty, running replica until it counts $REPL_KEYS keys with"
bench_note "  the link up and no sync in progress (redis: master_link_status:up and DBSIZE; replica default"
bench_note "  repl-diskless-load disabled). Keys loaded beforehand: key:%012u, 100-byte values."
bench_note "2 replicas / none: the primary's own write rate (replkv: its write loop; redis: redis-benchmark"
bench_note "  -P 64 rps) with 2 replicas attached over the same on a primary that never had one."
bench_note "throughput and resync: best of $REPL_RUNS runs each side. all processes share the $(nproc) CPUs."
