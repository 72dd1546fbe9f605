# shellcheck shell=bash
# tests/bench/python.sh - the PYTHON section: the ctypes binding
# (bindings/python, replkv.Node() standalone in the Python process) against
# redis-py talking to a redis-server on 127.0.0.1.
#
# Sourced by run.sh in a subshell, with lib.sh loaded. Redis is measured
# first and stopped before the binding runs, so the two never share the
# CPUs. The work is done by tests/bench/py_bench.py (see its docstring),
# run with /usr/bin/python3 (Debian's python3-redis).
#
#   binding: PY_KEYS set() then PY_KEYS get() of 16-byte keys, 100-byte
#     values; best of PY_RUNS runs (set on a fresh node each run).
#   redis-py: PY_REDIS_KEYS set() then get(), one round trip each, and
#     PY_PIPE_KEYS of each through pipeline(transaction=False), 100
#     commands per execute(); best of PY_RUNS runs each.

PY_KEYS=${PY_KEYS:-200000}
PY_REDIS_KEYS=${PY_REDIS_KEYS:-50000}
PY_PIPE_KEYS=${PY_PIPE_KEYS:-200000}
PY_RUNS=${PY_RUNS:-3}

py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 2>/dev/null) || bench_die "python3 not found"
lib=$BENCH_BUILD/libreplkv.so
[ -f "$lib" ] || bench_die "$lib not built (make lib builds it)"
pydir=$BENCH_TMP/python
py_bench=$BENCH_DIR/py_bench.py
root=$(cd "$BENCH_DIR/../.." && pwd)
"$py" -c 'import redis' 2>/dev/null || bench_die "$py cannot import redis (apt-get install python3-redis)"

# -- redis-py ------------------------------------------------------------------
bench_start_redis python
bench_log "redis-py: $PY_REDIS_KEYS set/get, $PY_PIPE_KEYS pipelined, $PY_RUNS runs"
bench_spawn "$pydir/redis.out" timeout 300 "$py" "$py_bench" redis "$REDIS_PORT" \
    "$PY_REDIS_KEYS" "$PY_PIPE_KEYS" "$PY_RUNS"
wait "$BENCH_LAST_PID" || { cat "$pydir/redis.out" >&2; bench_die "py_bench.py redis"; }
bench_stop_redis

# -- the binding ---------------------------------------------------------------
bench_log "binding: $PY_KEYS set/get, $PY_RUNS runs"
bench_spawn "$pydir/replkv.out" env PYTHONPATH="$root/bindings/python" \
    REPLKV_LIBRARY="$lib" timeout 300 "$py" "$py_bench" replkv "$PY_KEYS" "$PY_RUNS"
wait "$BENCH_LAST_PID" || { cat "$pydir/replkv.out" >&2; bench_die "py_bench.py replkv"; }

for f in redis replkv; do
    awk 'NF == 3 && ($1 == "replkv" || $1 == "redis") && $2 ~ /^py_/' "$pydir/$f.out" \
        >>"$BENCH_TMP/metrics"
done

# -- the table -----------------------------------------------------------------
r() { bench_get replkv "$1"; }
R() { bench_get redis "$1"; }
if [ -z "$(r py_set_ops_per_sec)" ] || [ -z "$(R py_set_ops_per_sec)" ]; then
    cat "$pydir/redis.out" "$pydir/replkv.out" >&2
    bench_die "no figures from py_bench.py"
fi

bench_section "PYTHON: binding (in-process node) vs redis-py + redis-server (ops/s)"
bench_row "set ops/s  vs  redis-py set" "$(r py_set_ops_per_sec)" "$(R py_set_ops_per_sec)" ">=5x"
bench_row "get ops/s  vs  redis-py get" "$(r py_get_ops_per_sec)" "$(R py_get_ops_per_sec)" ">=5x"
bench_row "set ops/s  vs  redis-py pipelined set" "$(r py_set_ops_per_sec)" "$(R py_pipe_set_ops_per_sec)" "-"
bench_row "get ops/s  vs  redis-py pipelined get" "$(r py_get_ops_per_sec)" "$(R py_pipe_get_ops_per_sec)" "-"
bench_row "  set, median of $PY_RUNS runs" "$(r py_set_ops_per_sec_median)" "$(R py_set_ops_per_sec_median)" "-"
bench_row "  get, median of $PY_RUNS runs" "$(r py_get_ops_per_sec_median)" "$(R py_get_ops_per_sec_median)" "-"
bench_row "  pipelined set, median" "$(r py_set_ops_per_sec_median)" "$(R py_pipe_set_ops_per_sec_median)" "-"
bench_row "  pipelined get, median" "$(r py_get_ops_per_sec_median)" "$(R py_pipe_get_ops_per_sec_median)" "-"
bench_note "$("$py" --version 2>&1), redis-py $(R py_redis_py_version) ($("$py" -c 'import hiredis' 2>/dev/null && echo hiredis || echo pure-Python) parser), libreplkv $(r py_library_version)."
bench_note "binding: replkv.Node() standalone, $PY_KEYS set (fresh node) then $PY_KEYS get, 16 B keys / 100 B values."
bench_note "redis-py: $PY_REDIS_KEYS set then get, one round trip each; pipelined: $PY_PIPE_KEYS each, 100 per execute(), transaction=False."
bench_note "time.perf_counter() around each loop, keys built beforehand; best of $PY_RUNS runs per side; redis stopped before the binding runs."
