"""Failover through the binding: three nodes in this process on free
127.0.0.1 ports (down-after 300 ms, pings every 50 ms). Automatic failover
after the primary closes, a decision callback that vetoes once or picks
the second candidate, one that raises, a manual failover, cluster_info(),
forget(), a witness, and bad inputs.

Every wait is bounded (_cluster.TIMEOUT); every node is closed by the
test's cleanup.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import unittest

import replkv
from replkv import _config

from _cluster import (
    DOWN_AFTER_MS,
    FAILOVER_TIMEOUT_MS,
    HOST,
    NEEDS_FAILOVER,
    PING_MS,
    TIMEOUT,
    Cluster,
)
from _support import free_port, wait_until

KEYS = 200


def write_keys(case: unittest.TestCase, cluster: Cluster, primary,
               n: int = KEYS) -> None:
    """n keys on the primary, acknowledged by every live replica."""
    for i in range(n):
        primary.node.set(f"key:{i}", f"value-{i}")
    replicas = [m for m in cluster.live()
                if m is not primary and m.node.role == "replica"]
    for m in replicas:
        m.node.wait_applied(primary.node.last_offset, TIMEOUT)
    case.assertEqual(primary.node.wait(len(replicas), TIMEOUT), len(replicas))


def check_keys(case: unittest.TestCase, node: replkv.Node,
               extra: int = 0) -> None:
    """The KEYS keys of write_keys() are on node, and extra more keys."""
    for i in (0, KEYS // 2, KEYS - 1):
        case.assertEqual(node.get(f"key:{i}"), f"value-{i}".encode())
    case.assertEqual(node.count(), KEYS + extra)


def wait_follows(case: unittest.TestCase, cluster: Cluster, primary) -> None:
    """Waits until every other live data node replicates primary with its
    link up, and has its data."""
    def follows() -> bool:
        for m in cluster.live():
            if m is primary or m.node.role == "witness":
                continue
            r = m.node.repl_info()
            if r.role != "replica" or not r.link_up or \
                    r.primary_port != primary.port:
                return False
        return True

    case.assertTrue(wait_until(follows, TIMEOUT, 0.02), cluster.describe())
    off = primary.node.last_offset
    for m in cluster.live():
        if m is not primary and m.node.role == "replica":
            m.node.wait_applied(off, TIMEOUT)


def settled(case: unittest.TestCase, cluster: Cluster) -> None:
    """Waits until no live node leads a failover any more."""
    case.assertTrue(wait_until(
        lambda: not any(m.node.cluster_info().failover_running
                        for m in cluster.live()), TIMEOUT),
        cluster.describe())


@NEEDS_FAILOVER
class AutomaticFailover(unittest.TestCase):
    def test_failover_after_the_primary_closes(self):
        c = Cluster(self)
        old = c.wait_ready()
        self.assertIs(old, c.members[0], c.describe())
        write_keys(self, c, old)
        old_id = old.node_id
        t0 = time.monotonic()
        old.node.close()

        new = c.wait_new_primary(old)
        _, role, primary, epoch, at = new.became_primary()
        self.assertEqual(role, "primary")
        self.assertIsNone(primary)
        self.assertGreaterEqual(epoch, 1)
        # Not before down-after-milliseconds of silence.
        self.assertGreaterEqual(at - t0, DOWN_AFTER_MS / 1000.0 * 0.9)
        self.assertEqual(new.node.role, "primary")
        check_keys(self, new.node)
        new.node.set("after", "failover")

        other = [m for m in c.live() if m is not new][0]
        wait_follows(self, c, new)
        check_keys(self, other.node, 1)
        self.assertEqual(other.node.get("after"), b"failover")
        self.assertEqual(other.node.primary_address, new.address)
        # The replica's role event names the new primary and the epoch.
        self.assertTrue(wait_until(
            lambda: any(ev[1] == "replica" and ev[2] == new.address
                        and ev[3] == epoch for ev in other.roles), TIMEOUT),
            other.roles)

        for m in (new, other):
            info = m.node.cluster_info()
            self.assertEqual(info.config_epoch, epoch)
            self.assertGreaterEqual(info.current_epoch, epoch)
            self.assertEqual(info.primary_id, new.node_id)
            self.assertEqual(info.primary_address, new.address)
            self.assertFalse(info.primary_odown)
            # The old primary was seen down, subjectively then objectively.
            self.assertIn(replkv.PeerState.SDOWN, m.peer_states(old_id))
            gone = info.peer(old_id)
            self.assertIsNotNone(gone, info.peers)
            self.assertIn(gone.state, (replkv.PeerState.SDOWN,
                                       replkv.PeerState.ODOWN))
        self.assertTrue(any(replkv.PeerState.ODOWN in m.peer_states(old_id)
                            for m in (new, other)))
        # The leader of the election (either survivor) finished it.
        leader_id = new.node.cluster_info().leader_id
        leader = [m for m in (new, other) if m.node_id == leader_id]
        self.assertEqual(len(leader), 1, (leader_id, c.describe()))
        self.assertTrue(wait_until(
            lambda: leader[0].node.cluster_info().last_result == "done",
            TIMEOUT), c.describe())
        info = leader[0].node.cluster_info()
        self.assertEqual(info.failovers, 1)
        self.assertGreater(info.last_done_ms, 0)
        self.assertLessEqual(info.last_odown_ms, info.last_elected_ms)
        self.assertLessEqual(info.last_elected_ms, info.last_promoted_ms)
        self.assertLessEqual(info.last_promoted_ms, info.last_done_ms)

    def test_veto_once_then_accept(self):
        lock = threading.Lock()
        calls = []

        def decide(epoch, candidates):
            with lock:
                calls.append((epoch, time.monotonic(),
                              [x.node_id for x in candidates]))
                first = len(calls) == 1
            if first:
                return replkv.veto("pytest veto: not now")
            return replkv.accept("pytest: go ahead")

        c = Cluster(self, decide=decide)
        old = c.wait_ready()
        write_keys(self, c, old)
        old.node.close()
        new = c.wait_new_primary(old)
        _, _, _, epoch, at = new.became_primary()
        with lock:
            got = list(calls)
        self.assertGreaterEqual(len(got), 2, got)
        vetoed_epoch, vetoed_at, cands = got[0]
        # The failover happened only after the veto, in a later epoch,
        # decided by a later call that accepted.
        self.assertGreater(at, vetoed_at)
        self.assertGreater(epoch, vetoed_epoch)
        self.assertEqual(got[-1][0], epoch)
        self.assertIn(new.node_id, got[-1][2])
        self.assertEqual(sorted(cands),
                         sorted(m.node_id for m in c.live()))
        # The node that vetoed logged the reason.
        self.assertTrue(any(m.log_has("pytest veto: not now")
                            for m in c.live()), c.describe())
        check_keys(self, new.node)

    def test_pick_the_second_candidate(self):
        picked = []

        def decide(epoch, candidates):
            if len(candidates) < 2:
                return replkv.veto("pytest wants two candidates")
            picked.append((candidates[0].node_id, candidates[1].node_id))
            return replkv.pick(candidates[1], "pytest picks the second")

        c = Cluster(self, decide=decide)
        old = c.wait_ready()
        write_keys(self, c, old)
        old.node.close()
        new = c.wait_new_primary(old)
        self.assertTrue(picked, c.describe())
        best, second = picked[-1]
        self.assertNotEqual(best, second)
        self.assertEqual(new.node_id, second)
        # Ranking with equal priority and offset: smallest id first.
        self.assertLess(best, second)
        check_keys(self, new.node)
        wait_follows(self, c, new)

    def test_decision_callback_that_raises_counts_as_accept(self):
        def decide(epoch, candidates):
            raise RuntimeError("pytest decision boom")

        with self.assertLogs("replkv", level="ERROR") as logs:
            c = Cluster(self, decide=decide)
            old = c.wait_ready()
            write_keys(self, c, old)
            old.node.close()
            new = c.wait_new_primary(old)
        self.assertTrue(any("pytest decision boom" in r for r in logs.output))
        self.assertTrue(any(m.log_has("pytest decision boom")
                            for m in c.live()), c.describe())
        check_keys(self, new.node)

    def test_replica_priority_zero_is_never_promoted(self):
        c = Cluster(self, options={1: {"replica_priority": 0}},
                    decide=lambda e, cands: None)
        old = c.wait_ready()
        write_keys(self, c, old)
        old.node.close()
        new = c.wait_new_primary(old)
        self.assertIs(new, c.members[2])
        for m in c.live():
            for _, cands in m.decisions:
                self.assertNotIn(c.members[1].node_id,
                                 [x.node_id for x in cands])


@NEEDS_FAILOVER
class ManualFailover(unittest.TestCase):
    def test_to_a_named_replica_loses_nothing(self):
        c = Cluster(self)
        old = c.wait_ready()
        write_keys(self, c, old)
        target = c.members[2]
        # From a replica, naming the target by its address.
        c.members[1].node.failover(target.address, timeout_ms=10000)
        self.assertTrue(wait_until(lambda: target.node.role == "primary",
                                   TIMEOUT), c.describe())
        self.assertTrue(wait_until(lambda: old.node.role == "replica",
                                   TIMEOUT), c.describe())
        _, _, _, epoch, _ = target.became_primary()
        self.assertGreaterEqual(epoch, 1)
        check_keys(self, target.node)
        wait_follows(self, c, target)
        target.node.set("after", "switch")
        wait_follows(self, c, target)
        self.assertEqual(old.node.get("after"), b"switch")
        with self.assertRaises(replkv.ReadOnlyError) as cm:
            old.node.set("x", "y")
        self.assertEqual(cm.exception.primary_address, target.address)
        # And back, by node id, from the new primary itself.
        settled(self, c)
        target.node.failover(old.node_id)
        self.assertTrue(wait_until(lambda: old.node.role == "primary",
                                   TIMEOUT), c.describe())
        wait_follows(self, c, old)
        check_keys(self, old.node, 1)

    def test_abort_without_one(self):
        c = Cluster(self)
        p = c.wait_ready()
        with self.assertRaises(replkv.StateError):
            p.node.failover_abort()

    def test_best_replica_and_busy(self):
        c = Cluster(self)
        old = c.wait_ready()
        write_keys(self, c, old)
        old.node.failover()
        with self.assertRaises(replkv.BusyError):
            old.node.failover()
        new = c.wait_new_primary(old)
        self.assertIn(new, c.members[1:])
        self.assertTrue(wait_until(lambda: old.node.role == "replica",
                                   TIMEOUT), c.describe())
        check_keys(self, new.node)

    def test_bad_targets(self):
        c = Cluster(self, options={2: {"witness": True}})
        c.wait_ready()
        for m in c.members[:2]:
            for target in ("127.0.0.1:1", "not-a-node", "",
                           ("127.0.0.1", 1), m.node_id + "0"):
                with self.subTest(node=m.index, target=target):
                    with self.assertRaises(replkv.InvalidArgument):
                        m.node.failover(target)
        # On the primary, which runs the failover, also an unknown id and
        # a witness.
        node = c.members[0].node
        for target in ("0" * 40, c.members[2].node_id):
            with self.subTest(target=target):
                with self.assertRaises(replkv.InvalidArgument) as cm:
                    node.failover(target)
                self.assertIn("not a data node", str(cm.exception))
        self.assertEqual(c.primary(), c.members[0])

    def test_bad_target_ids_on_a_replica(self):
        """replkv.h: replkv_failover() returns REPLKV_EINVAL for an unknown
        target or a witness, on any node: a replica checks the target
        before it forwards the request to the primary."""
        c = Cluster(self, options={2: {"witness": True}})
        c.wait_ready()
        node = c.members[1].node
        for target in ("0" * 40, c.members[2].node_id):
            with self.subTest(target=target):
                with self.assertRaises(replkv.InvalidArgument):
                    node.failover(target)


@NEEDS_FAILOVER
class ClusterInfoAndForget(unittest.TestCase):
    def test_cluster_info_fields(self):
        c = Cluster(self, name="infotest",
                    common={"sentinel_parallel_syncs": 2})
        p = c.wait_ready()
        ids = {m.node_id for m in c.members}
        self.assertEqual(len(ids), 3)
        for m in c.members:
            info = m.node.cluster_info()
            self.assertTrue(info.enabled)
            self.assertEqual(info.name, "infotest")
            self.assertRegex(info.node_id, r"^[0-9a-f]{40}$")
            self.assertEqual(info.node_id, m.node_id)
            self.assertEqual((info.quorum, info.down_after_ms,
                              info.failover_timeout_ms, info.parallel_syncs),
                             (2, DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, 2))
            self.assertEqual(info.config_epoch, 0)
            self.assertEqual(info.current_epoch, 0)
            self.assertEqual(info.primary_id, p.node_id)
            self.assertEqual(info.primary_address, (HOST, p.port))
            self.assertFalse(info.primary_sdown or info.primary_odown)
            self.assertEqual(info.voters, 3)
            self.assertFalse(info.failover_running or info.writes_paused
                             or info.fenced)
            self.assertEqual(info.failovers, 0)
            self.assertEqual(len(info.peers), 3)
            me = info.peers[0]
            self.assertTrue(me.is_self)
            self.assertEqual((me.node_id, me.port, me.last_heard_ms),
                             (m.node_id, m.port, 0))
            self.assertEqual({x.node_id for x in info.peers}, ids)
            for x in info.peers:
                self.assertEqual(x.host, HOST)
                self.assertFalse(x.witness)
                self.assertIs(x.state, replkv.PeerState.UP)
                self.assertEqual(x.role,
                                 "primary" if x.node_id == p.node_id
                                 else "replica")
                if not x.is_self:
                    self.assertGreaterEqual(x.last_heard_ms, 0)
                    self.assertLess(x.last_heard_ms, DOWN_AFTER_MS)
            # Every peer was announced as new, then up.
            for other in ids - {m.node_id}:
                self.assertIn(replkv.PeerState.NEW, m.peer_states(other))
        text = p.node.info_text("sentinel")
        self.assertIn("# Sentinel", text)
        self.assertIn("infotest", text)
        self.assertIsInstance(p.node.info("sentinel"), dict)

    def test_role_events_carry_epoch_zero_at_start(self):
        c = Cluster(self)
        p = c.wait_ready()
        # The first primary boots read-only and takes the role in the
        # cluster's first configuration, epoch 0.
        self.assertTrue(wait_until(p.became_primary, TIMEOUT), p.roles)
        _, _, primary, epoch, _ = p.became_primary()
        self.assertEqual((primary, epoch), (None, 0))
        for m in c.members:
            for ev in m.roles:
                self.assertEqual(ev[3], 0, m.roles)

    def test_forget_a_closed_node(self):
        c = Cluster(self)
        c.wait_ready()
        gone = c.members[2]
        gone_id = gone.node_id
        gone.node.close()
        a, b = c.members[0], c.members[1]
        self.assertTrue(wait_until(
            lambda: a.node.cluster_info().peer(gone_id).state
            != replkv.PeerState.UP, TIMEOUT), c.describe())
        a.node.forget(gone_id)
        for m in (a, b):
            self.assertTrue(wait_until(
                lambda: m.node.cluster_info().peer(gone_id) is None, TIMEOUT),
                c.describe())
            self.assertTrue(wait_until(
                lambda: replkv.PeerState.FORGOTTEN in m.peer_states(gone_id),
                TIMEOUT), m.peers)
            self.assertEqual(m.node.cluster_info().voters, 2)
        # The two left still make a majority: the primary is unchanged.
        self.assertIs(c.primary(), a)

    def test_forget_bad_ids(self):
        c = Cluster(self)
        c.wait_ready()
        node = c.members[1].node
        for bad in ("", "xyz", "g" * 40, "A" * 40, "a" * 39, "a" * 41,
                    c.members[1].node_id):
            with self.subTest(node_id=bad):
                with self.assertRaises(replkv.InvalidArgument) as cm:
                    node.forget(bad)
                self.assertIsInstance(cm.exception, ValueError)
                self.assertEqual(cm.exception.name, "REPLKV_EINVAL")
        self.assertEqual(node.cluster_info().voters, 3)

    def test_witness(self):
        c = Cluster(self, options={2: {"witness": True}})
        p = c.wait_ready()
        w = c.members[2]
        self.assertEqual(w.node.role, "witness")
        with self.assertRaises(replkv.NotSupportedError):
            w.node.set("k", "v")
        # A witness holds no data: it cannot be a failover's target.
        with self.assertRaises(replkv.InvalidArgument):
            p.node.failover(w.node_id)
        info = p.node.cluster_info()
        self.assertEqual(info.voters, 3)
        self.assertTrue(info.peer(w.node_id).witness)
        self.assertEqual(info.peer(w.node_id).role, "witness")
        self.assertEqual(w.node.primary_address, p.address)
        # The witness votes: closing the primary fails over to node 1.
        write_keys(self, c, p)
        p.node.close()
        new = c.wait_new_primary(p)
        self.assertIs(new, c.members[1])
        check_keys(self, new.node)

    def test_from_config_file(self):
        c = Cluster(self)
        p = c.wait_ready()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "n.conf")
            with open(path, "w") as f:
                f.write(f"bind {HOST}\n"
                        f"sentinel monitor {c.name} {HOST} {p.port} 2\n"
                        f"sentinel down-after-milliseconds {c.name} "
                        f"{DOWN_AFTER_MS}\n"
                        f"sentinel ping-interval {PING_MS}\n")
            node = replkv.Node.from_config(path, port=free_port())
            self.addCleanup(node.close)
        self.assertTrue(wait_until(
            lambda: node.cluster_info().primary_id == p.node_id, TIMEOUT))
        self.assertEqual(node.cluster_info().down_after_ms, DOWN_AFTER_MS)
        self.assertTrue(wait_until(
            lambda: p.node.cluster_info().voters == 4, TIMEOUT))

    def test_bad_sentinel_options(self):
        for opts in ({"sentinel_monitor": "only-a-name"},
                     {"sentinel_monitor": ("c", HOST, 7000, 0)},
                     {"sentinel_down_after_milliseconds": "soon"},
                     {"sentinel_ping_interval": 5},
                     {"replica_priority": -1},
                     {"witness": "maybe"},
                     {"sentinel_nonsense": 1}):
            with self.subTest(opts=opts):
                with self.assertRaises(replkv.InvalidArgument) as cm:
                    replkv.Node(port=0, **opts)
                self.assertIn(_config.option_name(next(iter(opts))),
                              str(cm.exception))


if __name__ == "__main__":
    unittest.main()
