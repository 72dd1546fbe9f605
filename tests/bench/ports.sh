# shellcheck shell=bash
# tests/bench/ports.sh - free 127.0.0.1 ports for a group of servers that
# each take several ports, for tests/bench/failover.sh and
# tests/integration/demo.sh. Sourced after lib.sh (bench_port_free,
# bench_die).
#
# A replkv-cache node takes three: P for clients, P + 10000 (repl-port) and
# P + 20000 (Sentinel port). Ports come from below the kernel's ephemeral
# range where they fit, so that an outgoing connection of another program
# cannot take one between the check and the bind.

PORTS_TAKEN=" "

# ports_reset: forgets the ports handed out so far (a new group).
ports_reset() { PORTS_TAKEN=" "; }

# ports_pick OFFSET...: sets PORTS_PICKED to a port P such that P + each
# OFFSET can be bound now and none was handed out since ports_reset.
ports_pick() {
    local lo=10000 hi eph max=0 o i p ok
    for o in "$@"; do ((o > max)) && max=$o; done
    eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || eph=32768
    hi=$((eph - 1 - max))
    ((hi - lo >= 1000)) || { lo=20000; hi=$((65535 - max)); }
    for ((i = 0; i < 200; i++)); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        ok=1
        for o in "$@"; do
            case $PORTS_TAKEN in *" $((p + o)) "*) ok=0 ;; esac
            if ((ok)) && bench_port_free $((p + o)); then continue; fi
            ok=0
            break
        done
        if ((ok)); then
            for o in "$@"; do PORTS_TAKEN+="$((p + o)) "; done
            # shellcheck disable=SC2034  # the caller reads it
            PORTS_PICKED=$p
            return 0
        fi
    done
    bench_die "no free port found"
}
