"""replicas.py - a primary and a replica in one process, on 127.0.0.1:
a write on the primary is read on the replica once wait_applied() says the
replica has applied it (read-your-writes); the replica refuses writes and
names its primary; WAIT counts the replicas that acknowledged.

    make lib
    PYTHONPATH=bindings/python REPLKV_LIBRARY=build/libreplkv.so \
        python3 examples/replicas.py
"""

import socket

import replkv

TIMEOUT = 10.0  # seconds; every wait below is bounded


def free_port() -> int:
    """A port that was free a moment ago (the kernel picks it for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_node(**options) -> replkv.Node:
    """A node listening on a free port; another process may take the port
    between free_port() and the bind, so try a few."""
    for attempt in range(20):
        try:
            return replkv.Node(bind="127.0.0.1", port=free_port(), **options)
        except replkv.NetworkError:
            if attempt == 19:
                raise
    raise AssertionError("unreachable")


def main() -> int:
    primary = listening_node()
    port = int(primary.config_get("port"))
    replica = replkv.Node(replicaof=f"127.0.0.1 {port}")
    try:
        print(f"primary on 127.0.0.1:{port}, role {primary.role}")
        print(f"replica follows {replica.primary_address}, role {replica.role}")

        primary.set("greeting", "hello from the primary")
        offset = primary.last_offset  # just after this thread's write
        replica.wait_applied(offset, timeout=TIMEOUT)
        value = replica.get("greeting")
        print(f"after wait_applied({offset}): replica has greeting = {value!r}")

        try:
            replica.set("greeting", "changed on the replica")
        except replkv.ReadOnlyError as e:
            print(f"write on the replica: ReadOnlyError, primary_address = "
                  f"{e.primary_address}")

        acked = primary.wait(1, TIMEOUT)
        print(f"wait(1, {TIMEOUT}): {acked} replica acknowledged every write")
        same = primary.digest() == replica.digest()
        print(f"digests equal: {same}")
        info = primary.repl_info()
        print(f"primary: offset {info.offset}, replicas "
              f"{[(r.addr, r.state, r.acked_offset) for r in info.replicas]}")
        ok = (value == b"hello from the primary" and acked == 1 and same)
        return 0 if ok else 1
    finally:
        replica.close()
        primary.close()


if __name__ == "__main__":
    raise SystemExit(main())
