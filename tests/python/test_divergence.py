"""on_divergence: an old primary that took writes while cut off from the
cluster rejoins as a replica, loses those writes, and reports them.

Two data nodes and a witness in this process. Every node binds 127.0.0.2
and announces 127.0.0.3, where a proxy per node forwards to it (_proxy),
so a test can cut one node off from the others and heal the cut. Skipped
where 127.0.0.2 and 127.0.0.3 cannot be bound.
"""

from __future__ import annotations

import unittest

import replkv

from _cluster import NEEDS_FAILOVER, TIMEOUT, Cluster, Member
from _proxy import (
    BACK,
    FRONT,
    NodeProxy,
    Partition,
    hello_listen_port,
    loopback_aliases_work,
)
from _support import wait_until

LOST = 50


class ProxiedCluster(Cluster):
    """A Cluster whose links all go through per-node proxies."""

    def __init__(self, case: unittest.TestCase, **kwargs) -> None:
        self.partition = Partition()
        case.addCleanup(self.partition.close)
        self.proxies = {}
        kwargs["common"] = {"bind": BACK, "replica_announce_ip": FRONT}
        super().__init__(case, **kwargs)

    def prepare(self, m: Member, port: int) -> None:
        proxy = NodeProxy(self.partition, port)  # OSError: port taken
        self.case.addCleanup(proxy.close)
        self.proxies[port] = proxy


class HelloParsing(unittest.TestCase):
    def test_listen_port_of_a_hello(self):
        nonce = b"\xc4\x20" + b"n" * 32
        node_id = b"\xd9\x28" + b"a" * 40
        for port, enc in ((7001, b"\xcd\x1b\x59"), (5, b"\x05"),
                          (200, b"\xcc\xc8")):
            payload = b"\x96\x40\x01" + node_id + nonce + enc + b"\x00"
            self.assertEqual(hello_listen_port(payload), port)
        self.assertIsNone(hello_listen_port(b"\x92\x41\x01"))  # AUTH
        self.assertIsNone(hello_listen_port(b""))
        self.assertIsNone(hello_listen_port(b"\x96\x40\x01\xd9"))


@NEEDS_FAILOVER
@unittest.skipUnless(loopback_aliases_work(),
                     f"cannot bind {FRONT} and {BACK} (loopback aliases)")
class Divergence(unittest.TestCase):
    def test_old_primary_reports_the_writes_it_lost(self):
        c = ProxiedCluster(self, name="divtest",
                           options={2: {"witness": True}})
        a = c.wait_ready()
        b, w = c.members[1], c.members[2]
        self.assertIs(a, c.members[0], c.describe())
        self.assertEqual(w.node.role, "witness")
        for i in range(100):
            a.node.set(f"kept:{i}", "x")
        b.node.wait_applied(a.node.last_offset, TIMEOUT)
        self.assertEqual(a.node.wait(1, TIMEOUT), 1)

        # Cut the primary off; it goes on taking writes (self-fence off)
        # that nobody else receives.
        c.partition.isolate(a.port)
        for i in range(LOST):
            a.node.set(f"lost:{i}", f"gone-{i}")
        self.assertEqual(a.node.role, "primary")

        # The data node and the witness make a majority: b is promoted.
        new = c.wait_new_primary(a)
        self.assertIs(new, b)
        _, _, _, epoch, _ = b.became_primary()
        self.assertGreaterEqual(epoch, 1)
        b.node.set("written:after", "the failover")
        self.assertIsNone(b.node.get("lost:0"))

        # Heal: a learns the newer configuration, steps down, resyncs and
        # reports what it lost.
        c.partition.heal()
        self.assertTrue(wait_until(lambda: a.divergences, TIMEOUT),
                        c.describe())
        d = a.divergences[0]
        self.assertIsInstance(d, replkv.Divergence)
        self.assertEqual(d.epoch, epoch)
        self.assertEqual(d.new_primary, b.node_id)
        self.assertGreater(d.to_offset, d.from_offset)
        self.assertGreater(d.lost_bytes, 0)
        self.assertIn(d.nwrites, (0, LOST))
        self.assertTrue(all(isinstance(k, bytes) for k in d.keys))
        lost = {f"lost:{i}".encode() for i in range(LOST)}
        if d.keys_complete:
            self.assertEqual(set(d.keys), lost)
        else:
            self.assertTrue(set(d.keys) <= lost, d.keys)

        # a is now b's replica, with b's data and without the lost keys.
        self.assertTrue(wait_until(lambda: a.node.role == "replica",
                                   TIMEOUT), c.describe())
        self.assertTrue(any(ev[1] == "replica" and ev[3] == epoch
                            for ev in a.roles), a.roles)
        self.assertTrue(wait_until(lambda: a.node.repl_info().link_up,
                                   TIMEOUT), c.describe())
        a.node.wait_applied(b.node.last_offset, TIMEOUT)
        self.assertEqual(a.node.digest(), b.node.digest())
        self.assertIsNone(a.node.get("lost:0"))
        self.assertEqual(a.node.get("written:after"), b"the failover")
        self.assertEqual(a.node.get("kept:99"), b"x")


if __name__ == "__main__":
    unittest.main()
