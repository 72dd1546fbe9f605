#!/usr/bin/env bash
# tests/bench/run.sh - runs the benchmark sections and prints one report:
# the machine, then a side-by-side table per section (metric | libreplkv |
# redis | ratio | target | PASS/MISS), also written to BUILD/bench-results.txt
# with every raw figure.
#
#   bash tests/bench/run.sh [BUILD]          (make bench calls it)
#   BENCH_SECTIONS="foundation" ...          choose sections, in order
#   BENCH_STRICT=1 ...                       exit 1 if a target is missed
#
# A section is tests/bench/<name>.sh, sourced in its own subshell with
# lib.sh loaded; it records figures with bench_metric and rows with
# bench_row (see lib.sh). Each subshell ends every process it started, by
# PID, whether it finishes, fails or is interrupted. To add one, write the
# file and append its name to the default BENCH_SECTIONS list below.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_BUILD=$(cd "${1:-build}" && pwd)
BENCH_SECTIONS=${BENCH_SECTIONS:-foundation replication persistence cache python failover}
export BENCH_BUILD

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/replkv-bench.XXXXXX")
trap 'rm -rf "$BENCH_TMP"' EXIT
: >"$BENCH_TMP/metrics"
: >"$BENCH_TMP/table"

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$BENCH_DIR/lib.sh"
# Other work on the machine moves every figure: the load average is part of
# the report.
bench_machine >"$BENCH_TMP/machine"

# Each section runs in the background in its own process group (set -m), so
# that a signal to run.sh reaches everything the section started: the group
# gets TERM, then the section's EXIT trap ends its processes by PID.
section_pid=
# shellcheck disable=SC2317  # invoked by the trap
on_signal() {
    local i
    bench_log "interrupted: ending section${section_pid:+ (process group $section_pid)}"
    if [ -n "$section_pid" ]; then
        kill -TERM -- "-$section_pid" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            kill -0 "$section_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$section_pid" 2>/dev/null || true
    fi
    exit 130
}
trap on_signal INT TERM

failed=()
for section in $BENCH_SECTIONS; do
    file=$BENCH_DIR/$section.sh
    [ -f "$file" ] || { bench_log "no section $file"; failed+=("$section"); continue; }
    mkdir -p "$BENCH_TMP/$section"
    bench_log "== section $section"
    start=$SECONDS
    set -m
    (
        set +m
        trap bench_cleanup EXIT
        trap 'exit 130' INT TERM
        # shellcheck disable=SC1090
        . "$file"
    ) &
    section_pid=$!
    set +m
    if wait "$section_pid"; then
        bench_log "== section $section done in $((SECONDS - start)) s"
    else
        bench_log "== section $section FAILED"
        failed+=("$section")
        bench_section "$section: FAILED (see the log above)"
    fi
    section_pid=
done

results=$BENCH_BUILD/bench-results.txt
{
    echo "# libreplkv benchmarks"
    cat "$BENCH_TMP/machine"
    printf 'load average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$BENCH_TMP/table"
    echo
    echo "## raw figures (system metric value)"
    cat "$BENCH_TMP/metrics"
} >"$results"
cat "$results"
echo
echo "written to $results"

[ ${#failed[@]} -eq 0 ] || { bench_log "failed sections: ${failed[*]}"; exit 1; }
if [ "${BENCH_STRICT:-0}" = 1 ] && grep -q '| MISS$' "$BENCH_TMP/table"; then
    bench_log "BENCH_STRICT: a target was missed"
    exit 1
fi
exit 0
