# shellcheck shell=bash
# tests/bench/failover.sh - the FAILOVER section: three replkv-cache nodes
# with failover on (each runs Sentinel embedded and answers Sentinel
# clients on port + 20000) against redis-server with two replicas and three
# redis-sentinel processes, all on 127.0.0.1, no persistence, the same
# sentinel down-after-milliseconds (FO_DOWN_AFTER) and failover-timeout.
#
# Sourced by run.sh in a subshell, with lib.sh loaded. Every trial starts a
# fresh group in its own directory and ends every process of it, by PID,
# before the next; trials alternate between the two systems (the one going
# first alternates too), so that load from elsewhere falls on both alike.
# The client is tests/bench/failover_client.py (see its docstring), run with
# /usr/bin/python3 and redis-py: a SET every 10 ms, rediscovering the
# primary with SENTINEL get-master-addr-by-name after any failed write.
#
#   kill: after 1.5 s of writes the client SIGKILLs the primary. Figures:
#     the longest gap between acknowledged writes; the time from the kill
#     until the new primary reports role:master, and until the remaining
#     replica reports master_link_status:up to it (INFO replication, polled
#     every 5 ms); acknowledged writes the new primary does not hold.
#   manual: after 1.5 s of writes the client sends SENTINEL FAILOVER
#     mymaster to the first Sentinel (for replkv, the primary's Sentinel
#     port). Figures: the longest gap, acknowledged writes lost (every
#     acknowledged key read back from the new primary once all three
#     nodes replicate from it).
#
# Each figure is the median of FO_RUNS trials (lost writes: the sum). A
# trial whose group does not come up is started again (up to twice); one
# that never recovers from the failover within 60 s counts as failed and is
# left out of the median (a note says so).
#
# FO_LOGS=DIR keeps every trial's directory (server, Sentinel and client
# logs, the trace of acknowledged writes) under DIR; FO_RUNS, FO_MODES,
# FO_SYSTEMS, FO_DOWN_AFTER, FO_FAILOVER_TIMEOUT and FO_REPLKV_CONF change
# the set-up.

FO_RUNS=${FO_RUNS:-3}
FO_MODES=${FO_MODES:-kill manual}
# Either alone for a quick look at one side (the table then has no ratio).
FO_SYSTEMS=${FO_SYSTEMS:-redis replkv}
FO_DOWN_AFTER=${FO_DOWN_AFTER:-1000}
FO_FAILOVER_TIMEOUT=${FO_FAILOVER_TIMEOUT:-10000}
FO_LOGS=${FO_LOGS:-}
# Extra lines for the replkv nodes' config files, e.g. to try another
# "sentinel ping-interval mymaster 20" (the default is 100 ms).
FO_REPLKV_CONF=${FO_REPLKV_CONF:-}

fo_cache=$BENCH_BUILD/replkv-cache
fo_py=/usr/bin/python3
[ -x "$fo_py" ] || fo_py=$(command -v python3 2>/dev/null) || bench_die "python3 not found"
"$fo_py" -c 'import redis' 2>/dev/null || bench_die "$fo_py cannot import redis (apt-get install python3-redis)"
[ -x "$fo_cache" ] || bench_die "$fo_cache not built (make all builds it)"
command -v redis-server >/dev/null || bench_die "redis-server not found (make deps)"
command -v redis-sentinel >/dev/null || bench_die "redis-sentinel not found (apt-get install redis-sentinel)"
fo_client=$BENCH_DIR/failover_client.py
# A replkv-cache built before its Sentinel side refuses "sentinel" by
# name: the section then measures Redis alone and says so. (The probe's
# second line is refused by any build, so nothing starts.)
fo_probe=$(printf 'sentinel monitor mymaster 127.0.0.1 6379 2\nfo-bench-probe yes\n' |
    timeout 5 "$fo_cache" - 2>&1 || true)
case $fo_probe in *"not supported yet by this build"*)
    bench_log "$fo_cache has no failover (Sentinel) side yet: measuring Redis only"
    FO_SYSTEMS=${FO_SYSTEMS//replkv/}
    fo_no_replkv=1
    ;;
esac
# shellcheck source=ports.sh source-path=SCRIPTDIR
. "$BENCH_DIR/ports.sh"
fodir=$BENCH_TMP/failover
mkdir -p "$fodir"

fo_cli() {
    local port=$1
    shift
    timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null | tr -d '\r'
}

# fo_field PORT SECTION FIELD: a field of INFO SECTION (empty if absent).
fo_field() {
    fo_cli "$1" INFO "$2" | awk -F: -v f="$3" '$1 == f {v = $2} END {print v}'
}

# -- a trial's processes ---------------------------------------------------

# FO_PIDS: this trial's processes; FO_NODES: the data nodes' client ports,
# primary first; FO_PPID: the primary's PID; FO_SENTS: Sentinel ports.
fo_spawn() {
    bench_spawn "$@"
    FO_PIDS+=("$BENCH_LAST_PID")
}

# fo_down: ends this trial's processes by PID and forgets them, so that the
# section's final cleanup never signals a PID the system has reused since.
fo_down() {
    local pid keep=() p gone
    for pid in "${FO_PIDS[@]}"; do bench_kill "$pid"; done
    for p in "${BENCH_PIDS[@]}"; do
        gone=0
        for pid in "${FO_PIDS[@]}"; do [ "$p" = "$pid" ] && gone=1; done
        ((gone)) || keep+=("$p")
    done
    BENCH_PIDS=("${keep[@]}")
    FO_PIDS=()
}

# The group's Sentinel directives, the same for both systems (the monitor
# address is the first primary's client port).
fo_sentinel_conf() {
    printf '%s\n' "sentinel monitor mymaster 127.0.0.1 ${FO_NODES[0]} 2" \
        "sentinel down-after-milliseconds mymaster $FO_DOWN_AFTER" \
        "sentinel failover-timeout mymaster $FO_FAILOVER_TIMEOUT" \
        "sentinel parallel-syncs mymaster 1"
}

fo_link_up() { [ "$(fo_field "$1" replication master_link_status)" = up ]; }

# fo_sentinel_ready PORT: this Sentinel sees the primary up, both replicas
# and the two other Sentinels (for replkv, the two other nodes).
fo_sentinel_ready() {
    local reply
    reply=$(fo_cli "$1" SENTINEL MASTER mymaster |
        awk 'NR % 2 == 1 {k = $0; next} {v[k] = $0}
             END {print v["flags"], v["num-slaves"], v["num-other-sentinels"]}')
    [ "$reply" = "master 2 2" ] || return 1
    # Every replica it knows is healthy (no s_down, disconnected, ...).
    fo_cli "$1" SENTINEL REPLICAS mymaster |
        awk 'prev == "flags" && $0 != "slave" {bad = 1} {prev = $0}
             END {exit bad}'
}

fo_group_ready() {
    local p s
    for p in "${FO_NODES[@]:1}"; do fo_link_up "$p" || return 1; done
    for s in "${FO_SENTS[@]}"; do fo_sentinel_ready "$s" || return 1; done
}

# fo_redis_up DIR: redis-server primary, two replicas, three Sentinels.
fo_redis_up() {
    local d=$1 i p conf
    FO_NODES=() FO_SENTS=()
    ports_reset
    for i in 0 1 2; do
        ports_pick 0
        p=$PORTS_PICKED
        mkdir -p "$d/redis$i"
        set -- --port "$p" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$d/redis$i" --daemonize no --protected-mode no --loglevel notice
        ((i == 0)) || set -- "$@" --replicaof 127.0.0.1 "${FO_NODES[0]}"
        fo_spawn "$d/redis$i/log" redis-server "$@"
        ((i == 0)) && FO_PPID=$BENCH_LAST_PID
        FO_NODES+=("$p")
    done
    # The Sentinels start once the replicas are linked, so that their first
    # INFO of the primary lists both.
    for p in "${FO_NODES[@]:1}"; do
        bench_wait_for 20 fo_link_up "$p" || { bench_log "redis replica $p never linked"; return 1; }
    done
    for i in 0 1 2; do
        ports_pick 0
        p=$PORTS_PICKED
        mkdir -p "$d/sentinel$i"
        conf=$d/sentinel$i/sentinel.conf
        cat >"$conf" <<EOF
port $p
bind 127.0.0.1
daemonize no
dir $d/sentinel$i
loglevel notice
$(fo_sentinel_conf)
EOF
        fo_spawn "$d/sentinel$i/log" redis-sentinel "$conf"
        FO_SENTS+=("$p")
    done
    bench_wait_for 30 fo_group_ready || { bench_log "redis group never ready"; return 1; }
}

# fo_replkv_up DIR: three replkv-cache nodes with failover on; the first
# is at the monitor address, so it starts as the primary.
fo_replkv_up() {
    local d=$1 i p
    FO_NODES=() FO_SENTS=()
    ports_reset
    for i in 0 1 2; do
        ports_pick 0 10000 20000
        FO_NODES+=("$PORTS_PICKED")
        FO_SENTS+=($((PORTS_PICKED + 20000)))
    done
    for i in 0 1 2; do
        p=${FO_NODES[$i]}
        mkdir -p "$d/replkv$i"
        cat >"$d/replkv$i/replkv.conf" <<EOF
port $p
bind 127.0.0.1
save ""
dir $d/replkv$i
loglevel notice
$(fo_sentinel_conf)
$FO_REPLKV_CONF
EOF
        fo_spawn "$d/replkv$i/log" "$fo_cache" "$d/replkv$i/replkv.conf"
        ((i == 0)) && FO_PPID=$BENCH_LAST_PID
    done
    bench_wait_for 30 fo_group_ready || { bench_log "replkv group never ready"; return 1; }
    [ "$(fo_field "${FO_NODES[0]}" replication role)" = master ] ||
        { bench_log "replkv node ${FO_NODES[0]} is not the primary"; return 1; }
}

# fo_trial SYS MODE RUN: one trial on a fresh group; records
# "SYS fo_MODE_FIGURE_RUN VALUE" for each figure of the client. Returns 1
# if the group did not come up or the client failed.
fo_trial() {
    local sys=$1 mode=$2 run=$3 d ev k v
    d=$fodir/$sys-$mode-$run
    rm -rf "$d"
    mkdir -p "$d"
    FO_PIDS=()
    if ! "fo_${sys}_up" "$d"; then
        fo_down
        return 1
    fi
    if [ "$mode" = kill ]; then ev=(--kill-pid "$FO_PPID"); else ev=(--manual); fi
    bench_log "$sys $mode $run: nodes ${FO_NODES[*]}, Sentinels ${FO_SENTS[*]}, primary pid $FO_PPID"
    fo_spawn "$d/client.log" timeout 150 "$fo_py" "$fo_client" \
        --sentinels "$(printf '127.0.0.1:%s,' "${FO_SENTS[@]}" | sed 's/,$//')" \
        --nodes "$(printf '127.0.0.1:%s,' "${FO_NODES[@]}" | sed 's/,$//')" \
        --primary "127.0.0.1:${FO_NODES[0]}" "${ev[@]}" \
        --out "$d/client.metrics" --trace "$d/client.trace"
    if ! wait "$BENCH_LAST_PID"; then
        cat "$d/client.log" >&2
        fo_down
        return 1
    fi
    fo_down
    [ -z "$FO_LOGS" ] || { mkdir -p "$FO_LOGS" && cp -r "$d" "$FO_LOGS/"; }
    while read -r k v; do
        bench_metric "$sys" "fo_${mode}_${k}_$run" "$v"
    done <"$d/client.metrics"
    bench_log "$sys $mode $run: $(paste -sd' ' "$d/client.metrics")"
}

# fo_summary SYS MODE FIGURE: "fo_MODE_FIGURE" = the median of the runs'
# numeric values (of those that recovered); "_sum" and "_n" beside it.
fo_summary() {
    local sys=$1 mode=$2 fig=$3 run vals=()
    for ((run = 1; run <= FO_RUNS; run++)); do
        [ "$(bench_get "$sys" "fo_${mode}_recovered_$run")" = 1 ] || continue
        vals+=("$(bench_get "$sys" "fo_${mode}_${fig}_$run")")
    done
    printf '%s\n' "${vals[@]}" | awk '/^-?[0-9.]+$/ {print}' | sort -g | awk '
        {v[n++] = $1; s += $1}
        END {
            if (n == 0) { print "- - 0"; exit }
            m = n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
            print m, s, n
        }' | {
        read -r median sum n
        bench_metric "$sys" "fo_${mode}_$fig" "$median"
        bench_metric "$sys" "fo_${mode}_${fig}_sum" "$sum"
        bench_metric "$sys" "fo_${mode}_${fig}_n" "$n"
    }
}

# -- the trials --------------------------------------------------------------

bench_log "redis-server $(redis-server --version | awk '{print $3}') + redis-sentinel vs replkv-cache: $FO_RUNS trials of each of: $FO_MODES"
for ((run = 1; run <= FO_RUNS; run++)); do
    for mode in $FO_MODES; do
        order=$FO_SYSTEMS
        ((run % 2)) || order=$(echo "$FO_SYSTEMS" | awk '{for (i = NF; i > 0; i--) printf "%s ", $i}')
        for sys in $order; do
            for attempt in 1 2 3; do
                fo_trial "$sys" "$mode" "$run" && break
                bench_log "$sys $mode $run: trial $attempt failed"
                ((attempt < 3)) || bench_die "$sys $mode: no trial could be run"
            done
        done
    done
done

for sys in $FO_SYSTEMS; do
    for mode in $FO_MODES; do
        for fig in gap_ms promoted_ms relinked_ms first_new_ack_ms last_old_ack_ms lost; do
            fo_summary "$sys" "$mode" "$fig"
        done
    done
done

# -- the table -----------------------------------------------------------------
r() { bench_get replkv "$1"; }
R() { bench_get redis "$1"; }

bench_section "FAILOVER: 3 replkv-cache nodes vs redis-server + 2 replicas + 3 redis-sentinel (ms, median of $FO_RUNS)"
case " $FO_MODES " in *" kill "*)
    bench_row "kill -9 primary: longest gap in acked SETs" "$(r fo_kill_gap_ms)" "$(R fo_kill_gap_ms)" "<=0.5x"
    bench_row "  same, against down-after + 150 ms" "$(r fo_kill_gap_ms)" "-" "<=$((FO_DOWN_AFTER + 150))"
    bench_row "kill -9: replica linked to the new primary" "$(r fo_kill_relinked_ms)" "$(R fo_kill_relinked_ms)" "<=0.5x"
    bench_row "  new primary reports role:master" "$(r fo_kill_promoted_ms)" "$(R fo_kill_promoted_ms)" "-"
    bench_row "  first SET acked by the new primary" "$(r fo_kill_first_new_ack_ms)" "$(R fo_kill_first_new_ack_ms)" "-"
    bench_row "  acked SETs lost, sum of runs (async)" "$(r fo_kill_lost_sum)" "$(R fo_kill_lost_sum)" "-"
    ;;
esac
case " $FO_MODES " in *" manual "*)
    bench_row "SENTINEL FAILOVER: longest acked-SET gap" "$(r fo_manual_gap_ms)" "$(R fo_manual_gap_ms)" "<=100"
    bench_row "SENTINEL FAILOVER: acked SETs lost (sum)" "$(r fo_manual_lost_sum)" "$(R fo_manual_lost_sum)" "<=0"
    bench_row "  all nodes replicate from the new primary" "$(r fo_manual_relinked_ms)" "$(R fo_manual_relinked_ms)" "-"
    bench_row "  last SET acked by the old primary" "$(r fo_manual_last_old_ack_ms)" "$(R fo_manual_last_old_ack_ms)" "-"
    ;;
esac
for sys in $FO_SYSTEMS; do
    for mode in $FO_MODES; do
        n=$(bench_get "$sys" "fo_${mode}_gap_ms_n")
        [ "$n" = "$FO_RUNS" ] ||
            bench_note "$sys $mode: only $n of $FO_RUNS trials recovered within 60 s; the figures are of those"
    done
done
[ -z "${fo_no_replkv:-}" ] ||
    bench_note "replkv: not measured: this replkv-cache refuses the sentinel directives (built before its failover side)"
bench_note "A client (redis-py, $fo_py) SETs a new key every 10 ms; after a failed SET it asks the Sentinels in turn"
bench_note "(SENTINEL get-master-addr-by-name, next one first after each failure) and retries on the next tick."
bench_note "Times from the SIGKILL / from sending SENTINEL FAILOVER; INFO replication of the nodes polled every 5 ms."
bench_note "Both: sentinel down-after-milliseconds $FO_DOWN_AFTER, failover-timeout $FO_FAILOVER_TIMEOUT, parallel-syncs 1, quorum 2, no persistence;"
bench_note "replkv: each node answers Sentinel clients on port + 20000 (the kill takes one of the three Sentinels with it);"
bench_note "redis: 3 separate redis-sentinel processes. A fresh group per trial."
bench_note "SENTINEL FAILOVER on redis: the old primary keeps acking writes until a Sentinel turns it into a replica"
bench_note "(+convert-to-slave, on its next INFO, up to 10 s later); the new primary never gets them."
[ -z "$FO_REPLKV_CONF" ] || bench_note "replkv nodes also had: $(printf '%s' "$FO_REPLKV_CONF" | paste -sd';')"
