"""Replication between real processes: sync, link cuts through a proxy
(partial resync), kill -9 of the primary, promotion, a fresh replica's full
resync, wrong secret. Every wait is bounded."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from repl_harness import Node, Proxy, free_port, wait_until  # noqa: E402


def synced(p, r):
    a, b = p.info(), r.info()
    return (b.get("master_link_status") == "up" and
            a["master_repl_offset"] == b["master_repl_offset"])


class ReplicationTest(unittest.TestCase):
    def setUp(self):
        self.nodes = []
        self.proxies = []

    def tearDown(self):
        for n in self.nodes:
            n.close()
        for p in self.proxies:
            p.close()

    def node(self, **kw):
        n = Node(**kw)
        self.nodes.append(n)
        return n

    def test_sync_cut_and_partial_resync(self):
        p = self.node(port=free_port())
        proxy = Proxy(p.port)
        self.proxies.append(proxy)
        r = self.node(replicaof=("127.0.0.1", proxy.port))
        self.assertEqual(p.cmd("fill 20000"), "OK")
        wait_until(lambda: synced(p, r), what="first sync")
        self.assertEqual(p.cmd("digest"), r.cmd("digest"))
        self.assertEqual(r.cmd("set x 1").split()[:2],
                         ["ERR", "REPLKV_EREADONLY"])

        proxy.cut()
        wait_until(lambda: r.info()["master_link_status"] == "down",
                   what="link down")
        self.assertEqual(p.cmd("fill 5000 more"), "OK")
        proxy.restore()
        wait_until(lambda: synced(p, r), what="resync after the cut")
        self.assertEqual(p.cmd("digest"), r.cmd("digest"))
        info = p.info()
        self.assertEqual(info["sync_full"], "1")
        self.assertGreaterEqual(int(info["sync_partial_ok"]), 1)

    def stall_replica_through_a_burst(self, **opts):
        """A replica SIGSTOPped while ~12 MB of stream (far more than the
        64 KB backlog and the kernel's socket buffers) are written, then
        continued; returns the primary and the replica once in sync."""
        p = self.node(port=free_port(), repl_backlog_size="64kb", **opts)
        r = self.node(replicaof=("127.0.0.1", p.port))
        self.assertEqual(p.cmd("fill 1000"), "OK")
        wait_until(lambda: synced(p, r), what="first sync")
        r.stop()
        try:
            self.assertEqual(p.cmd("fill 300000 burst"), "OK")
            held = int(p.info()["repl_backlog_histlen"])
        finally:
            r.cont()
        wait_until(lambda: synced(p, r), timeout=30, what="caught up")
        self.assertEqual(p.cmd("digest"), r.cmd("digest"))
        self.assertEqual(r.cmd("count"), "301000")
        return p, held

    def test_stopped_replica_kept_through_a_burst(self):
        # Redis's default replica limit (256mb): the backlog keeps what the
        # stopped replica has not read, and it continues without a resync.
        p, held = self.stall_replica_through_a_burst()
        self.assertGreater(held, 1 << 20)
        info = p.info()
        self.assertEqual(info["sync_full"], "1")
        self.assertEqual(info["sync_partial_err"], "0")
        self.assertNotIn("cannot keep up", p.logs())
        # Caught up, the backlog gives the memory back.
        wait_until(lambda: int(p.info()["repl_backlog_histlen"]) <= 65536,
                   what="backlog back to its size")

    def test_stalled_replica_dropped_at_the_hard_limit(self):
        p, held = self.stall_replica_through_a_burst(
            client_output_buffer_limit="replica 1mb 0 0")
        self.assertLessEqual(held, 1 << 20)
        self.assertIn("cannot keep up", p.logs())
        self.assertEqual(p.info()["sync_full"], "2")

    def test_kill_primary_and_promote(self):
        p = self.node(port=free_port())
        r1 = self.node(port=free_port(), replicaof=("127.0.0.1", p.port))
        r2 = self.node(replicaof=("127.0.0.1", p.port))
        p.cmd("fill 10000")
        wait_until(lambda: synced(p, r1) and synced(p, r2), what="sync")
        digest = p.cmd("digest")
        p.kill9()
        wait_until(lambda: r1.info()["master_link_status"] == "down",
                   what="r1 sees the primary gone")
        self.assertEqual(r1.cmd("count"), "10000")  # still serves reads
        self.assertEqual(r1.cmd("replicaof no one"), "OK")
        self.assertEqual(r1.cmd("role"), "primary")
        self.assertEqual(r2.cmd("replicaof 127.0.0.1 %d" % r1.port), "OK")
        self.assertEqual(r1.cmd("set after failover"), "OK")
        wait_until(lambda: synced(r1, r2), what="r2 follows r1")
        self.assertEqual(r2.cmd("get after"), "failover")
        info = r1.info()
        self.assertEqual(info["sync_partial_ok"], "1")
        self.assertEqual(info["sync_full"], "0")
        self.assertNotEqual(r1.cmd("digest"), digest)

    def test_fresh_replica_full_resync_and_wait(self):
        p = self.node(port=free_port())
        p.cmd("fill 30000")
        r = self.node(replicaof=("127.0.0.1", p.port))
        wait_until(lambda: synced(p, r), what="full resync")
        self.assertEqual(p.cmd("digest"), r.cmd("digest"))
        self.assertEqual(p.cmd("set k v"), "OK")
        self.assertEqual(p.cmd("wait 1 5000"), "1")
        off = p.cmd("offset")
        self.assertEqual(r.cmd("waitoff %s 5000" % off), "OK")
        self.assertEqual(r.cmd("get k"), "v")
        r.kill9()
        self.nodes.remove(r)
        r.close()
        r = self.node(replicaof=("127.0.0.1", p.port))
        wait_until(lambda: synced(p, r), what="second full resync")
        self.assertEqual(p.info()["sync_full"], "2")

    def test_wrong_secret(self):
        p = self.node(port=free_port(), requirepass="s3cret")
        p.cmd("fill 100")
        r = self.node(replicaof=("127.0.0.1", p.port), masterauth="nope")
        wait_until(lambda: "authentication failed" in p.logs(),
                   what="primary refuses")
        wait_until(lambda: "authentication failed" in r.logs(),
                   what="replica refuses")
        self.assertEqual(r.cmd("count"), "0")
        self.assertNotIn("s3cret", r.logs() + p.logs())


if __name__ == "__main__":
    unittest.main(verbosity=2)
