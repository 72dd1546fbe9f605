"""Many threads on one node, several nodes in one process, closed nodes."""

from __future__ import annotations

import threading
import time
import unittest

import replkv

from _support import NodeCase


class Concurrency(NodeCase):
    THREADS = 8
    KEYS = 2000

    def test_eight_threads_write_and_read(self):
        n = self.node
        errors = []
        barrier = threading.Barrier(self.THREADS)

        def worker(t: int) -> None:
            try:
                barrier.wait(timeout=30)
                for i in range(self.KEYS):
                    k = b"t%d:%d" % (t, i)
                    v = b"%d:%d:" % (t, i) * (1 + i % 7)
                    n.set(k, v)
                    got = n.get(k)
                    if got != v:
                        errors.append((k, got, v))
                    n.incr(b"shared")
                    n.incr(b"own:%d" % t)
                    if i % 3 == 0:
                        n.delete(k)
                        n.set(k, v)
                    n.get(b"t%d:%d" % ((t + 1) % self.THREADS, i))  # reads
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(t,))
                   for t in range(self.THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
            self.assertFalse(th.is_alive())
        self.assertEqual(errors, [])

        # Consistency: every key has exactly the value its writer wrote.
        self.assertEqual(int(n.get(b"shared")), self.THREADS * self.KEYS)
        for t in range(self.THREADS):
            self.assertEqual(int(n.get(b"own:%d" % t)), self.KEYS)
            for i in range(self.KEYS):
                self.assertEqual(n.get(b"t%d:%d" % (t, i)),
                                 b"%d:%d:" % (t, i) * (1 + i % 7))
        expected = self.THREADS * self.KEYS + self.THREADS + 1
        self.assertEqual(n.count(), expected)
        self.assertEqual(len(set(n.scan())), expected)

    def test_threads_share_large_values(self):
        """Values over the per-thread buffer, read while being rewritten."""
        n = self.node
        a, b = b"a" * 100_000, b"b" * 300_000
        n.set("big", a)
        stop = threading.Event()
        bad = []

        def writer():
            while not stop.is_set():
                n.set("big", b)
                n.set("big", a)

        def reader():
            for _ in range(300):
                v = n.get("big")
                if v not in (a, b):
                    bad.append(len(v) if v is not None else None)

        w = threading.Thread(target=writer)
        readers = [threading.Thread(target=reader) for _ in range(4)]
        w.start()
        for r in readers:
            r.start()
        for r in readers:
            r.join(timeout=60)
        stop.set()
        w.join(timeout=60)
        self.assertEqual(bad, [])


class SeveralNodes(unittest.TestCase):
    def test_nodes_are_independent(self):
        nodes = [replkv.Node(maxmemory=f"{i + 1}mb") for i in range(4)]
        try:
            for i, n in enumerate(nodes):
                n.set("k", f"node{i}")
            for i, n in enumerate(nodes):
                self.assertEqual(n.get("k"), f"node{i}".encode())
                self.assertEqual(n.count(), 1)
                self.assertEqual(n.config_get("maxmemory"),
                                 str((i + 1) << 20))
            nodes[0].flush()
            self.assertIsNone(nodes[0].get("k"))
            self.assertEqual(nodes[1].get("k"), b"node1")
            nodes[2].close()
            self.assertEqual(nodes[3].get("k"), b"node3")
        finally:
            for n in nodes:
                n.close()

    def test_threads_each_with_a_node(self):
        results = {}

        def run(i):
            with replkv.Node() as n:
                for j in range(500):
                    n.set(b"%d" % j, b"%d" % (i * j))
                results[i] = (n.count(), n.digest())

        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(sorted(results), [0, 1, 2, 3])
        self.assertTrue(all(c == 500 for c, _ in results.values()))
        self.assertEqual(len({d for _, d in results.values()}), 4)


class Closed(unittest.TestCase):
    def test_every_method_raises_closed_error(self):
        n = replkv.Node()
        n.set("k", "v")
        n.close()
        n.close()  # idempotent
        self.assertTrue(n.closed)
        self.assertIn("closed", repr(n))
        calls = {
            "get": lambda: n.get("k"),
            "set": lambda: n.set("k", "v"),
            "set ttl": lambda: n.set("k", "v", ttl=1),
            "getset": lambda: n.getset("k", "v"),
            "getdel": lambda: n.getdel("k"),
            "getex": lambda: n.getex("k"),
            "append": lambda: n.append("k", "v"),
            "incr": lambda: n.incr("k"),
            "delete": lambda: n.delete("k"),
            "exists": lambda: n.exists("k"),
            "expire": lambda: n.expire("k", 1),
            "persist": lambda: n.persist("k"),
            "ttl": lambda: n.ttl("k"),
            "scan": lambda: list(n.scan()),
            "count": n.count,
            "len": lambda: len(n),
            "flush": n.flush,
            "digest": n.digest,
            "info": n.info,
            "config_get": lambda: n.config_get("hz"),
            "config_set": lambda: n.config_set("hz", 10),
            "getitem": lambda: n["k"],
            "setitem": lambda: n.__setitem__("k", "v"),
            "delitem": lambda: n.__delitem__("k"),
            "contains": lambda: "k" in n,
            "enter": lambda: n.__enter__(),
        }
        for name, call in calls.items():
            with self.subTest(method=name):
                with self.assertRaises(replkv.ClosedError) as cm:
                    call()
                self.assertEqual(cm.exception.name, "REPLKV_ECLOSED")

    def test_context_manager_closes(self):
        with replkv.Node() as n:
            n.set("k", "v")
            self.assertFalse(n.closed)
        self.assertTrue(n.closed)
        with self.assertRaises(replkv.ClosedError):
            n.get("k")

    def test_close_while_threads_are_busy(self):
        """A close racing other threads' calls: they get ClosedError, never
        a crash or another error."""
        for _ in range(5):
            n = replkv.Node()
            started = threading.Barrier(5)
            outcome = []

            def hammer(t):
                started.wait(timeout=30)
                i = 0
                try:
                    while True:
                        n.set(b"%d:%d" % (t, i % 100), b"v" * 50)
                        n.get(b"%d:%d" % (t, (i * 7) % 100))
                        if i % 50 == 0:
                            list(n.scan(count=10))
                        i += 1
                except replkv.ClosedError:
                    outcome.append("closed")
                except BaseException as e:  # noqa: BLE001
                    outcome.append(e)

            threads = [threading.Thread(target=hammer, args=(t,))
                       for t in range(4)]
            for t in threads:
                t.start()
            started.wait(timeout=30)
            time.sleep(0.05)
            n.close()
            for t in threads:
                t.join(timeout=30)
                self.assertFalse(t.is_alive())
            self.assertEqual(outcome, ["closed"] * 4)

    def test_scan_iterator_after_close(self):
        n = replkv.Node()
        for i in range(1000):
            n.set(b"%d" % i, b"v")
        it = n.scan(count=10)
        first = next(it)
        self.assertIsInstance(first, bytes)
        n.close()
        with self.assertRaises(replkv.ClosedError):
            list(it)


if __name__ == "__main__":
    unittest.main()
