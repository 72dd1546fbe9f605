"""tests/bench/py_bench.py - the Python binding against redis-py, for
tests/bench/python.sh.

    py_bench.py replkv N RUNS
        replkv.Node() standalone in this process (REPLKV_LIBRARY names the
        library, PYTHONPATH=bindings/python the package): N node.set() of
        distinct 16-byte keys with 100-byte values on a fresh node, then N
        node.get() of those keys; best of RUNS runs each.
    py_bench.py redis PORT N NPIPE RUNS
        redis-py against the redis-server on 127.0.0.1:PORT, the same keys
        and values: N r.set() then N r.get(), one round trip each; then NPIPE
        of each through r.pipeline(transaction=False), 100 commands per
        execute(); best of RUNS runs each.

Prints "SYSTEM METRIC VALUE" lines (ops/s) for bench_metric. Keys and the
value are built before the clock starts; every timing is
time.perf_counter() around the loop alone, and every run checks its
results once the clock is stopped.
"""

import sys
import time

VALUE = b"x" * 100
BATCH = 100


def keys(n):
    return [b"key:%012d" % i for i in range(n)]


def best(runs, fn):
    rates = sorted(fn() for _ in range(runs))
    return rates[-1], rates[len(rates) // 2]


def out(system, metric, rates):
    print("%s %s %.1f" % (system, metric, rates[0]))
    print("%s %s_median %.1f" % (system, metric, rates[1]))


def bench_replkv(n, runs):
    import replkv

    ks = keys(n)
    v = VALUE
    nodes = []

    def run_set():
        node = replkv.Node()
        s = node.set
        t0 = time.perf_counter()
        for k in ks:
            s(k, v)
        dt = time.perf_counter() - t0
        assert len(node) == n
        if nodes:
            nodes.pop().close()
        nodes.append(node)
        return n / dt

    def run_get():
        g = nodes[0].get
        t0 = time.perf_counter()
        for k in ks:
            g(k)
        dt = time.perf_counter() - t0
        assert g(ks[-1]) == v
        return n / dt

    out("replkv", "py_set_ops_per_sec", best(runs, run_set))
    out("replkv", "py_get_ops_per_sec", best(runs, run_get))
    nodes.pop().close()
    print("replkv py_library_version %s" % replkv.library_version())


def bench_redis(port, n, npipe, runs):
    import redis

    r = redis.Redis(host="127.0.0.1", port=port)
    r.flushall()
    v = VALUE

    def run_set(ks):
        def f():
            s = r.set
            t0 = time.perf_counter()
            for k in ks:
                s(k, v)
            return len(ks) / (time.perf_counter() - t0)

        return f

    def run_get(ks):
        def f():
            g = r.get
            t0 = time.perf_counter()
            for k in ks:
                g(k)
            dt = time.perf_counter() - t0
            assert g(ks[-1]) == v
            return len(ks) / dt

        return f

    def run_pipe(ks, op):
        chunks = [ks[i : i + BATCH] for i in range(0, len(ks), BATCH)]

        def f():
            p = r.pipeline(transaction=False)
            t0 = time.perf_counter()
            if op == "set":
                for c in chunks:
                    for k in c:
                        p.set(k, v)
                    p.execute()
            else:
                for c in chunks:
                    for k in c:
                        p.get(k)
                    p.execute()
            dt = time.perf_counter() - t0
            assert r.get(ks[-1]) == v
            return len(ks) / dt

        return f

    ks = keys(n)
    out("redis", "py_set_ops_per_sec", best(runs, run_set(ks)))
    out("redis", "py_get_ops_per_sec", best(runs, run_get(ks)))
    r.flushall()
    kp = keys(npipe)
    out("redis", "py_pipe_set_ops_per_sec", best(runs, run_pipe(kp, "set")))
    out("redis", "py_pipe_get_ops_per_sec", best(runs, run_pipe(kp, "get")))
    assert r.dbsize() == npipe
    print("redis py_redis_py_version %s" % redis.__version__)


def main(argv):
    if argv[1:2] == ["replkv"] and len(argv) == 4:
        bench_replkv(int(argv[2]), int(argv[3]))
    elif argv[1:2] == ["redis"] and len(argv) == 6:
        bench_redis(int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
