# shellcheck shell=bash
# tests/bench/persistence.sh - the PERSISTENCE section (issue #6): a node
# with appendonly yes (persist_bench, in-process through the C API) against
# a real redis-server configured the same way, with the data of both on a
# real disk (fsync on tmpfs costs nothing and would make `always` mean
# nothing).
#
# Sourced by run.sh in a subshell, with lib.sh loaded. Redis is measured
# first and every redis-server is stopped before persist_bench runs, so
# the two never share the CPUs. Every process goes through bench_spawn and
# is ended by PID; every wait is bounded.
#
#   1 appendfsync always: acknowledged writes/s of PERSIST_THREADS writer
#     threads (replkv_set) for PERSIST_SECONDS, vs redis-benchmark -t set
#     -c 50 -P 1 -d 100 -r 1000000 on redis-server --appendonly yes
#     --appendfsync always. A fresh node / server and data dir per run.
#   2 appendfsync everysec: PERSIST_WRITES writes/s on 1 and on
#     PERSIST_THREADS threads over the same without persistence (the
#     ratio); Redis's same ratio with redis-benchmark for reference.
#   3 restart with PERSIST_KEYS keys (16 B keys, 100 B values): replkv_open
#     on a dir holding a snapshot plus PERSIST_AOF_EXTRA writes of
#     append-only file, vs redis-server started on the same data's RDB file
#     (SAVE) until PING answers +PONG (not -LOADING). Each restart is a
#     fresh process; the files are in the page cache on both sides.
#     Also: replkv from the append-only file alone, for information.
#
# Throughput is the best of PERSIST_RUNS runs on both sides, restart time
# the lowest (other load on a shared machine only makes a run slower);
# medians are in the table too.

PERSIST_RUNS=${PERSIST_RUNS:-5}
PERSIST_KEYS=${PERSIST_KEYS:-1000000}
PERSIST_THREADS=${PERSIST_THREADS:-8}
PERSIST_SECONDS=${PERSIST_SECONDS:-3}
PERSIST_WRITES=${PERSIST_WRITES:-2000000}
PERSIST_AOF_EXTRA=${PERSIST_AOF_EXTRA:-10000}
PERSIST_REDIS_ALWAYS_N=${PERSIST_REDIS_ALWAYS_N:-100000}
PERSIST_REDIS_N=${PERSIST_REDIS_N:-300000}

pbench=$BENCH_BUILD/tests/bench/persist_bench
[ -x "$pbench" ] || bench_die "$pbench not built (make bench builds it)"
command -v redis-benchmark >/dev/null || bench_die "redis-benchmark not found (make deps)"
command -v redis-server >/dev/null || bench_die "redis-server not found (make deps)"
pdir=$BENCH_TMP/persistence

# -- where the data goes: PERSIST_DIR, else BENCH_TMP unless it is tmpfs or
# ramfs, else a directory of our own next to the build or in /var/tmp.
persist_fstype() { df --output=fstype "$1" 2>/dev/null | tail -1; }
persist_on_disk() {
    case $(persist_fstype "$1") in tmpfs | ramfs | "") return 1 ;; esac
}
data=${PERSIST_DIR:-$pdir/data}
own_data=
mkdir -p "$data" || bench_die "cannot create $data"
if [ -z "${PERSIST_DIR:-}" ] && ! persist_on_disk "$data"; then
    for cand in "$BENCH_BUILD" /var/tmp; do
        if persist_on_disk "$cand" && own_data=$(mktemp -d "$cand/replkv-persist.XXXXXX" 2>/dev/null); then
            data=$own_data
            break
        fi
    done
fi
trap 'bench_cleanup; [ -z "$own_data" ] || rm -rf "$own_data"' EXIT
fs_desc="$(persist_fstype "$data") on $(df --output=source "$data" | tail -1)"
persist_on_disk "$data" || bench_log "WARNING: $data is on $fs_desc: fsync costs nothing there"
bench_log "data directory $data ($fs_desc)"

# A fresh, empty data directory for one run: persist_fresh NAME.
persist_fresh() {
    rm -rf "${data:?}/$1"
    mkdir -p "$data/$1"
    echo "$data/$1"
}

# persist_record SYS NAME FILE [lower]: best, median and worst of the
# numbers in FILE (one a line) as SYS metrics NAME, NAME_median, NAME_worst.
persist_record() {
    local v
    v=$(sort -g "$3" | awk -v low="${4:-}" '{x[n++] = $1}
        END {if (n) printf "%s %s %s", low ? x[0] : x[n - 1], x[int(n / 2)], low ? x[n - 1] : x[0]}')
    [ -n "$v" ] || bench_die "no figures in $3"
    # shellcheck disable=SC2086  # v is three words on purpose
    set -- "$1" "$2" $v
    bench_metric "$1" "$2" "$3"
    bench_metric "$1" "$2_median" "$4"
    bench_metric "$1" "$2_worst" "$5"
}

# ---------------------------------------------------------------- redis

# pr_start DIR [ARGS...]: redis-server on a free port, data in DIR, ARGS
# appended; sets PR_PORT and PR_PID once it answers PING, and PR_MS to the
# time from just before the start to +PONG (persist_bench ping, every ms;
# a restart's load time). Retries on another port if the server exits
# first (its port was taken between the check and the bind).
pr_start() {
    local dir=$1 attempt t0 rc
    shift
    for ((attempt = 0; attempt < 3; attempt++)); do
        PR_PORT=$(bench_free_port)
        t0=$(date +%s%N)
        bench_spawn "$dir/redis.log" redis-server --port "$PR_PORT" --bind 127.0.0.1 \
            --dir "$dir" --daemonize no --protected-mode yes --save '' "$@"
        PR_PID=$BENCH_LAST_PID
        rc=0
        PR_MS=$(timeout 150 "$pbench" ping "$PR_PORT" "$t0" "$PR_PID" | awk '{print $3}') || rc=$?
        [ "$rc" = 0 ] && [ -n "$PR_MS" ] && return 0
        bench_kill "$PR_PID"
    done
    cat "$dir/redis.log" >&2
    bench_die "redis-server in $dir did not start"
}

pr_cli() { timeout 300 redis-cli -h 127.0.0.1 -p "$PR_PORT" "$@"; }

# pr_bench N OUTFILE: one redis-benchmark SET run against PR_PORT; appends
# its requests/s to OUTFILE.
pr_bench() {
    local csv=$pdir/rb.csv rps
    timeout 600 redis-benchmark -h 127.0.0.1 -p "$PR_PORT" -t set -c 50 -P 1 -d 100 \
        -r 1000000 -n "$1" -q --csv >"$csv" 2>&1 || { cat "$csv" >&2; bench_die "redis-benchmark"; }
    rps=$(awk -F'"' '$2 == "SET" {v = $4} END {print v}' "$csv")
    [ -n "$rps" ] || { cat "$csv" >&2; bench_die "no SET in redis-benchmark output"; }
    echo "$rps" >>"$2"
}

# pr_bench_runs NAME N ARGS...: PERSIST_RUNS runs, each on a fresh server
# and data dir started with ARGS; records redis NAME.
pr_bench_runs() {
    local name=$1 n=$2 run d
    shift 2
    : >"$pdir/$name"
    for ((run = 1; run <= PERSIST_RUNS; run++)); do
        d=$(persist_fresh "redis-$name")
        pr_start "$d" --loglevel warning "$@"
        pr_bench "$n" "$pdir/$name"
        bench_kill "$PR_PID"
    done
    bench_log "  $name: $(tr '\n' ' ' <"$pdir/$name")"
    persist_record redis "$name" "$pdir/$name"
}

bench_log "redis $(redis-server --version | awk '{print $3}'): redis-benchmark -t set -c 50 -P 1 -d 100 -r 1000000, $PERSIST_RUNS runs each"
pr_bench_runs always_writes_per_sec "$PERSIST_REDIS_ALWAYS_N" --appendonly yes --appendfsync always
pr_bench_runs everysec_writes_per_sec "$PERSIST_REDIS_N" --appendonly yes --appendfsync everysec
pr_bench_runs none_writes_per_sec "$PERSIST_REDIS_N" --appendonly no

# -- restart: the same keys, values and overwrites as persist_bench fill,
# saved to dump.rdb (SAVE), then PERSIST_RUNS restarts without AOF.
bench_log "redis: $PERSIST_KEYS keys + $PERSIST_AOF_EXTRA overwrites, SAVE, $PERSIST_RUNS restarts"
rdir=$(persist_fresh redis-restart)
pr_start "$rdir" --appendonly no
"$pbench" resp -k "$PERSIST_KEYS" -a "$PERSIST_AOF_EXTRA" |
    timeout 300 redis-cli -h 127.0.0.1 -p "$PR_PORT" --pipe >"$pdir/pipe.out" 2>&1 ||
    { cat "$pdir/pipe.out" >&2; bench_die "redis-cli --pipe"; }
grep -q "errors: 0, replies: $((PERSIST_KEYS + PERSIST_AOF_EXTRA))" "$pdir/pipe.out" ||
    { cat "$pdir/pipe.out" >&2; bench_die "redis-cli --pipe: errors"; }
[ "$(pr_cli SAVE)" = OK ] || bench_die "SAVE"
bench_kill "$PR_PID"
bench_metric redis rdb_bytes "$(stat -c %s "$rdir/dump.rdb")"
: >"$pdir/redis-restart"
: >"$pdir/redis-loaded"
for ((run = 1; run <= PERSIST_RUNS; run++)); do
    pr_start "$rdir" --appendonly no --loglevel notice
    echo "$PR_MS" >>"$pdir/redis-restart"
    [ "$(pr_cli DBSIZE)" = "$PERSIST_KEYS" ] || bench_die "redis DBSIZE after restart is not $PERSIST_KEYS"
    # "DB loaded from disk: 0.712 seconds": the load alone, by Redis's clock.
    awk '/DB loaded from disk/ {for (i = 1; i < NF; i++) if ($(i + 1) ~ /^seconds/) print $i * 1000}' \
        "$rdir/redis.log" >>"$pdir/redis-loaded"
    bench_kill "$PR_PID"
done
bench_log "  restart ms: $(tr '\n' ' ' <"$pdir/redis-restart")"
persist_record redis restart_ms "$pdir/redis-restart" lower
persist_record redis loaded_ms "$pdir/redis-loaded" lower
: >"$pdir/redis-empty"
for ((run = 1; run <= PERSIST_RUNS; run++)); do
    pr_start "$(persist_fresh redis-empty)" --appendonly no --loglevel warning
    echo "$PR_MS" >>"$pdir/redis-empty"
    bench_kill "$PR_PID"
done
persist_record redis empty_start_ms "$pdir/redis-empty" lower
rm -rf "${data:?}"/redis-*
bench_cleanup

# --------------------------------------------------------------- replkv

# pk_runs NAME ARGS...: PERSIST_RUNS runs of persist_bench write ARGS (a
# fresh data dir each, when ARGS has -d DIR); records replkv NAME from
# writes_per_sec, and the last run's other figures as NAME_<figure>.
pk_runs() {
    local name=$1 run o=$pdir/$1.out
    shift
    : >"$pdir/$name"
    for ((run = 1; run <= PERSIST_RUNS; run++)); do
        [ -z "${PK_DIR:-}" ] || persist_fresh "$PK_DIR" >/dev/null
        timeout 600 "$pbench" write "$@" >"$o" 2>&1 || { cat "$o" >&2; bench_die "persist_bench write $*"; }
        awk '$2 == "writes_per_sec" {print $3}' "$o" >>"$pdir/$name"
    done
    awk -v n="$name" '$1 == "replkv" && $2 != "writes_per_sec" {print "replkv", n "_" $2, $3}' \
        "$o" >>"$BENCH_TMP/metrics"
    bench_log "  $name: $(tr '\n' ' ' <"$pdir/$name")"
    persist_record replkv "$name" "$pdir/$name"
    [ -z "${PK_DIR:-}" ] || rm -rf "${data:?}/$PK_DIR"
}

T=$PERSIST_THREADS
bench_log "replkv: appendfsync always, $T threads for $PERSIST_SECONDS s; 50 threads; $PERSIST_RUNS runs each"
PK_DIR=kv pk_runs always_writes_per_sec -d "$data/kv" -f always -t "$T" -T "$PERSIST_SECONDS"
PK_DIR=kv pk_runs always50_writes_per_sec -d "$data/kv" -f always -t 50 -T "$PERSIST_SECONDS"
bench_log "replkv: $PERSIST_WRITES writes, everysec and without persistence, 1 and $T threads"
PK_DIR=kv pk_runs everysec1_writes_per_sec -d "$data/kv" -f everysec -t 1 -n "$PERSIST_WRITES"
pk_runs none1_writes_per_sec -t 1 -n "$PERSIST_WRITES"
PK_DIR=kv pk_runs everysecN_writes_per_sec -d "$data/kv" -f everysec -t "$T" -n "$PERSIST_WRITES"
pk_runs noneN_writes_per_sec -t "$T" -n "$PERSIST_WRITES"

# -- restart: a snapshot plus a short append-only file; the file alone.
pk_fill() {
    timeout 600 "$pbench" fill -d "$data/$1" -k "$PERSIST_KEYS" -a "$PERSIST_AOF_EXTRA" "${@:2}" \
        >"$pdir/fill-$1.out" 2>&1 || { cat "$pdir/fill-$1.out" >&2; bench_die "persist_bench fill $1"; }
    awk -v n="$1" '$1 == "replkv" {print "replkv", n "_" $2, $3}' "$pdir/fill-$1.out" >>"$BENCH_TMP/metrics"
}
pk_restarts() {
    local run o=$pdir/open-$1.out
    : >"$pdir/open-$1"
    : >"$pdir/exec-$1"
    for ((run = 1; run <= PERSIST_RUNS; run++)); do
        timeout 600 "$pbench" open -d "$data/$1" -k "$PERSIST_KEYS" -s "$(date +%s%N)" >"$o" 2>&1 ||
            { cat "$o" >&2; bench_die "persist_bench open $1"; }
        awk '$2 == "open_ms" {print $3}' "$o" >>"$pdir/open-$1"
        awk '$2 == "exec_to_open_ms" {print $3}' "$o" >>"$pdir/exec-$1"
    done
    bench_log "  $1 open ms: $(tr '\n' ' ' <"$pdir/open-$1")"
    persist_record replkv "restart_${1}_ms" "$pdir/open-$1" lower
    persist_record replkv "exec_${1}_ms" "$pdir/exec-$1" lower
}
bench_log "replkv: $PERSIST_KEYS keys, snapshot + $PERSIST_AOF_EXTRA writes of AOF; and AOF only; $PERSIST_RUNS restarts each"
persist_fresh snap >/dev/null
pk_fill snap -S
pk_restarts snap
persist_fresh aof >/dev/null
pk_fill aof
pk_restarts aof
rm -rf "${data:?}/snap" "${data:?}/aof"

# -------------------------------------------------------------- the table
r() { bench_get replkv "$1"; }
R() { bench_get redis "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b + 0 != 0) printf "%.3f", a / b}'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b + 0 != 0) printf "%.1f", a / b}'; }
mb() { awk -v a="$1" 'BEGIN {if (a != "") printf "%.1f", a / 1048576}'; }
ev1=$(ratio "$(r everysec1_writes_per_sec)" "$(r none1_writes_per_sec)")
evN=$(ratio "$(r everysecN_writes_per_sec)" "$(r noneN_writes_per_sec)")
evR=$(ratio "$(R everysec_writes_per_sec)" "$(R none_writes_per_sec)")
bench_metric replkv everysec1_over_none "$ev1"
bench_metric replkv everysecN_over_none "$evN"
bench_metric redis everysec_over_none "$evR"

bench_section "PERSISTENCE: appendonly on $fs_desc vs redis-server (writes/s, ms)"
bench_row "always: acked writes/s, $T thr vs -c50 -P1" "$(r always_writes_per_sec)" "$(R always_writes_per_sec)" ">=2x"
bench_row "  median of $PERSIST_RUNS runs" "$(r always_writes_per_sec_median)" "$(R always_writes_per_sec_median)" "-"
bench_row "  writes per fsync ($T threads)" "$(per "$(r always_writes_per_sec_writes)" "$(r always_writes_per_sec_aof_fsyncs)")" "-" "-"
bench_row "  always, 50 writer threads" "$(r always50_writes_per_sec)" "$(R always_writes_per_sec)" "-"
bench_row "  writes per fsync (50 threads)" "$(per "$(r always50_writes_per_sec_writes)" "$(r always50_writes_per_sec_aof_fsyncs)")" "-" "-"
bench_row "everysec / none writes/s, 1 thread" "$ev1" "$evR" ">=0.8"
bench_row "everysec / none writes/s, $T threads" "$evN" "$evR" ">=0.8"
bench_row "  everysec writes/s, 1 thread" "$(r everysec1_writes_per_sec)" "$(R everysec_writes_per_sec)" "-"
bench_row "  no persistence writes/s, 1 thread" "$(r none1_writes_per_sec)" "$(R none_writes_per_sec)" "-"
bench_row "  everysec writes/s, $T threads" "$(r everysecN_writes_per_sec)" "$(R everysec_writes_per_sec)" "-"
bench_row "  no persistence writes/s, $T threads" "$(r noneN_writes_per_sec)" "$(R none_writes_per_sec)" "-"
bench_row "  everysec median, 1 thread" "$(r everysec1_writes_per_sec_median)" "$(R everysec_writes_per_sec_median)" "-"
bench_row "  everysec median, $T threads" "$(r everysecN_writes_per_sec_median)" "$(R everysec_writes_per_sec_median)" "-"
bench_row "  writes per write(2), everysec $T threads" "$(per "$(r everysecN_writes_per_sec_writes)" "$(r everysecN_writes_per_sec_aof_writes)")" "-" "-"
bench_row "  auto snapshots in a run, everysec 1 thread" "$(r everysec1_writes_per_sec_rdb_saves)" "-" "-"
bench_row "  auto snapshots in a run, $T threads" "$(r everysecN_writes_per_sec_rdb_saves)" "-" "-"
bench_row "restart, $PERSIST_KEYS keys: snapshot + AOF, ms" "$(r restart_snap_ms)" "$(R restart_ms)" "<=0.5x"
bench_row "  median of $PERSIST_RUNS restarts, ms" "$(r restart_snap_ms_median)" "$(R restart_ms_median)" "-"
bench_row "  AOF only (no snapshot), ms" "$(r restart_aof_ms)" "$(R restart_ms)" "-"
bench_row "  process start to serving, snapshot, ms" "$(r exec_snap_ms)" "$(R restart_ms)" "-"
bench_row "  load alone (redis: its log line), ms" "$(r restart_snap_ms)" "$(R loaded_ms)" "-"
bench_row "  process start with no data, ms" "-" "$(R empty_start_ms)" "-"
bench_row "  files MB: snapshot+AOF / rdb" "$(mb "$(( $(r snap_snapshot_bytes) + $(r snap_aof_bytes) ))")" "$(mb "$(R rdb_bytes)")" "-"
bench_row "  files MB: AOF only" "$(mb "$(r aof_aof_bytes)")" "-" "-"
bench_note "data: $fs_desc ($(if [ -n "$own_data" ]; then echo "$data"; else echo "under the bench temp dir"; fi)); one fresh data dir per run."
bench_note "replkv: persist_bench, $T (or 1, or 50) threads calling replkv_set on one node (dir, appendonly yes,"
bench_note "  appendfsync as shown), random keys key:%012u below 1M, 100-byte values; always: for $PERSIST_SECONDS s;"
bench_note "  everysec / none: $PERSIST_WRITES writes. A write counts once replkv_set returned 1."
bench_note "  Redis at -P 1 is bound by round trips, so its everysec / none is 1 within the noise."
bench_note "redis: redis-server --appendonly yes --appendfsync always|everysec (or --appendonly no), fresh per run;"
bench_note "  redis-benchmark -t set -c 50 -P 1 -d 100 -r 1000000 -n $PERSIST_REDIS_ALWAYS_N (always) / $PERSIST_REDIS_N."
bench_note "restart: $PERSIST_KEYS keys + $PERSIST_AOF_EXTRA overwrites (same data both sides). replkv: fill, replkv_snapshot,"
bench_note "  the overwrites, close; then replkv_open timed in a fresh process (until it returns, then a get"
bench_note "  checked). redis: the same SETs by redis-cli --pipe, SAVE, restart (appendonly no) timed from just"
bench_note "  before the exec to the first +PONG (polled every ms; -LOADING until loaded), so it includes"
bench_note "  process start (see 'no data'). Files in the page cache on both sides. Lowest of $PERSIST_RUNS."
bench_note "throughput: best of $PERSIST_RUNS runs each side. all processes share the $(nproc) CPUs."
