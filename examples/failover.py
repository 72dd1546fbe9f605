"""failover.py - automatic failover with three nodes in one process on
127.0.0.1, through the Python binding: every node sets sentinel_monitor
with the first node's address (the first primary) and down-after 1000 ms.
Keys are written on the primary and acknowledged by both replicas; then
the primary is closed, the others see it down and elect a leader, which
asks the decision callback (here it prints the candidates and accepts)
and promotes a replica. The role callback says which; the keys are there.

    make lib
    PYTHONPATH=bindings/python REPLKV_LIBRARY=build/libreplkv.so \
        python3 examples/failover.py [port0 port1 port2]
"""

import queue
import socket
import sys
import time

import replkv

TIMEOUT = 20.0  # seconds; every wait below is bounded
KEYS = 100


def free_port() -> int:
    """A port that was free a moment ago (the kernel picks it for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def decide(epoch, candidates):
    """on_failover_decision: runs on the leader before it promotes."""
    print(f"  the leader of epoch {epoch} asks; candidates:")
    for c in candidates:
        print(f"    {c.index}. {c.node_id[:8]}... at {c.host}:{c.port} "
              f"priority {c.priority} offset {c.offset}")
    return replkv.accept("the example accepts the best candidate")


def open_node(index, port, monitor_port, promotions):
    """Node index on port (a free one when None), monitoring the first
    node at 127.0.0.1:monitor_port (itself when None)."""
    def on_role_change(old, new, primary, epoch):
        print(f"  node {index}: role {old} -> {new} (epoch {epoch})")
        if new == "primary" and epoch > 0:
            promotions.put((index, epoch))

    for attempt in range(20):
        p = port or free_port()
        try:
            return p, replkv.Node(
                bind="127.0.0.1", port=p,
                sentinel_monitor=("demo", "127.0.0.1", monitor_port or p, 2),
                sentinel_down_after_milliseconds=1000,
                sentinel_failover_timeout=10000,
                on_role_change=on_role_change,
                on_failover_decision=decide,
            )
        except replkv.NetworkError:  # port taken meanwhile: another one
            if port or attempt == 19:
                raise
    raise AssertionError("unreachable")


def wait_until(pred, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def follows(replica, port):
    info = replica.repl_info()
    return info.role == "replica" and info.link_up and info.primary_port == port


def main(argv) -> int:
    wanted = [int(a) for a in argv[1:]] or [None] * 3
    if len(wanted) != 3:
        print("usage: failover.py [port0 port1 port2]", file=sys.stderr)
        return 2
    promotions = queue.Queue()
    nodes, ports = [], []
    try:
        for i, want in enumerate(wanted):
            p, node = open_node(i, want, ports[0] if ports else None,
                                promotions)
            ports.append(p)
            nodes.append(node)
        print(f"nodes on 127.0.0.1:{ports[0]} (monitor address), "
              f":{ports[1]}, :{ports[2]}")
        if not wait_until(lambda: nodes[0].role == "primary" and all(
                follows(n, ports[0]) for n in nodes[1:])):
            print("the cluster did not form in time", file=sys.stderr)
            return 1
        print("node 0 is the primary; nodes 1 and 2 replicate it")

        for i in range(KEYS):
            nodes[0].set(f"key:{i}", f"value-{i}")
        acked = nodes[0].wait(2, 5.0)
        print(f"wrote {KEYS} keys; {acked} replicas acknowledged them")

        print("closing the primary (node 0)...")
        t0 = time.monotonic()
        nodes[0].close()
        try:
            new, epoch = promotions.get(timeout=TIMEOUT)
        except queue.Empty:
            print("no failover in time", file=sys.stderr)
            return 1
        print(f"node {new} is the new primary (epoch {epoch}), "
              f"{(time.monotonic() - t0) * 1000:.0f} ms after the close")
        other = 3 - new  # the node that was not promoted (1 or 2)
        if not wait_until(lambda: follows(nodes[other], ports[new])):
            print(f"node {other} did not follow node {new}", file=sys.stderr)
            return 1
        info = nodes[other].cluster_info()
        print(f"node {other} follows it: primary {info.primary_address}, "
              f"elected by {info.leader_id[:8]}..., epoch {info.config_epoch}")
        nodes[other].wait_applied(nodes[new].last_offset, TIMEOUT)
        ok = True
        for i in (new, other):
            n, v = nodes[i].count(), nodes[i].get("key:42")
            print(f"node {i} has {n} keys; key:42 = {v!r}")
            ok = ok and n == KEYS and v == b"value-42"
        return 0 if ok else 1
    finally:
        for node in nodes:
            node.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
