"""Failover between real processes on 127.0.0.1 (issue #4): every node runs
the embedded Sentinel; links between nodes cross per-node proxies that can
partition them by source address (fo_harness.py). Kill -9, SIGSTOP,
partitions of the primary and of a replica, a manual failover under a
writer, a witness, an empty and a persistent restart, self-fencing. Every
wait is bounded; only the processes started here are signalled. The quick
restarts (empty and persistent), the empty replica restart and the
self-targeted manual failover reproduce bugs found and fixed."""

import functools
import os
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fo_harness import Cluster, parse_divergences  # noqa: E402
from repl_harness import wait_until  # noqa: E402

# A failover must be done within down-after + elections + promotion.
FAILOVER_BOUND = 12.0


def lost_writes(events):
    """The divergence events that lost writes: a range holding only the
    stream's PING records is reported too, with no writes and no keys
    (reported to the library's owner)."""
    return [e for e in events if e["nwrites"] or e["keys"]]


def with_logs(fn):
    """On failure, print the tail of every node's log (not for a test
    marked as an expected failure: a known library bug)."""
    @functools.wraps(fn)
    def run(self):
        try:
            fn(self)
        except BaseException:
            known = getattr(getattr(self, self._testMethodName),
                            "__unittest_expecting_failure__", False)
            if self.c is not None and not known:
                sys.stderr.write(self.c.dump_logs() + "\n")
            raise
    return run


class FailoverTest(unittest.TestCase):
    def setUp(self):
        self.c = None
        self.started = time.monotonic()

    def tearDown(self):
        if self.c is not None:
            self.c.close()
        sys.stderr.write("(%.1fs) " % (time.monotonic() - self.started))

    def cluster(self, *a, **kw):
        self.c = Cluster(*a, **kw)
        return self.c

    def filled(self, nkeys, **kw):
        """A 3-node cluster whose primary holds k:0 .. k:nkeys-1, synced
        to both replicas: (cluster, primary)."""
        c = self.cluster(3, **kw)
        p = c.ready()
        self.assertEqual(c.nodes[p].cmd("fill %d k" % nkeys), "OK")
        self.assertEqual(c.nodes[p].cmd("wait 2 5000"), "2")
        c.wait_synced(p)
        return c, p

    def others(self, p):
        return [i for i in self.c.data() if i != p]

    def isolate(self, i):
        """Partitions node i from the others; returns (the others, when)."""
        rest = [j for j in range(self.c.n) if j != i]
        self.c.partition([[i], rest])
        return rest, time.monotonic()

    def assert_digests_equal(self, among=None):
        d = self.c.digests(among)
        self.assertEqual(len(set(d.values())), 1, d)

    def failover_away_from(self, p, among, t0):
        """Waits for a new primary among `among` and checks the bound."""
        q = self.c.wait_primary(among=among, timeout=FAILOVER_BOUND)
        self.assertLess(time.monotonic() - t0, FAILOVER_BOUND)
        self.assertNotEqual(q, p)
        return q

    def write_keys(self, node, prefix, n):
        """set prefix:i for i < n; returns the keys answered OK."""
        ok = []
        for i in range(n):
            if node.cmd("set %s:%d v%d" % (prefix, i, i)) == "OK":
                ok.append("%s:%d" % (prefix, i))
        return ok

    def missing(self, node, keys):
        return [k for k in keys if node.cmd("get " + k) == "(nil)"]

    # ------------------------------------------------------------ tests

    @with_logs
    def test_kill_primary(self):
        c, p = self.filled(3000)
        t0 = time.monotonic()
        c.kill(p)
        q = self.failover_away_from(p, self.others(p), t0)
        (r,) = [i for i in self.others(p) if i != q]
        c.wait_synced(q, [r])
        # The other replica continued from its offset: a partial resync
        # from the new primary, and only the first sync was full.
        log = c.logs(r)
        self.assertRegex(log, r"partial resync from 127\.0\.0\.1:%d" %
                         c.proxies[q].port)
        self.assertEqual(len(re.findall(r"full resync from \S+, replid", log)),
                         1, log)
        self.assertEqual(c.nodes[q].cmd("check 3000 k"), "OK")
        self.assertEqual(c.nodes[q].cmd("fill 500 after"), "OK")
        self.assertEqual(c.nodes[q].cmd("wait 1 5000"), "1")
        c.wait_synced(q, [r])
        self.assertEqual(c.nodes[r].cmd("check 500 after"), "OK")
        self.assert_digests_equal([q, r])
        self.assertEqual(c.cluster(r)["primary"],
                         "127.0.0.1:%d" % c.proxies[q].port)

    @with_logs
    def test_sigstop_primary(self):
        c, p = self.filled(1000)
        t0 = time.monotonic()
        c.stop(p)
        q = self.failover_away_from(p, self.others(p), t0)
        self.assertEqual(c.nodes[q].cmd("set after stop"), "OK")
        # Writes queued on the stopped primary's stdin run the moment it
        # resumes, racing its discovery of the new configuration: those it
        # accepts are lost and must be reported as a divergence.
        n = c.nodes[p]
        answers = n.pipeline(["set stopped:%d x" % i for i in range(20)],
                             lambda: c.cont(p))
        accepted = ["stopped:%d" % i for i, a in enumerate(answers)
                    if a == "OK"]
        for a in answers:
            self.assertTrue(a == "OK" or a.startswith("ERR REPLKV_EREADONLY"),
                            answers)
        wait_until(lambda: c.follows(p, q), 15, 0.05,
                   lambda: "old primary follows the new one (%s)" %
                   c.describe())
        self.assertEqual(n.cmd("get after"), "stop")
        c.wait_synced(q)
        self.assert_digests_equal()
        self.assertEqual(self.missing(c.nodes[q], accepted), accepted)
        count, events = parse_divergences(n.cmd("divergences"))
        if accepted:
            self.assertEqual(count, 1, events)
            self.assertTrue(events[0]["complete"], events)
            self.assertEqual(sorted(events[0]["keys"]), sorted(accepted))
            self.assertGreaterEqual(events[0]["nwrites"], len(accepted))
            self.assertIn("[divergence] ", c.logs(p))
        else:
            self.assertEqual(lost_writes(events), [], events)
        sys.stderr.write("(%d of 20 accepted after SIGCONT) " %
                         len(accepted))

    @with_logs
    def test_partition_primary(self):
        c, p = self.filled(1000)
        rest, t0 = self.isolate(p)
        # The client keeps writing to the old primary while the majority
        # elects a new one; the minority never gets a second primary.
        written = []
        q = None
        for i in range(100000):
            if c.nodes[p].cmd("set cut:%d v" % i) == "OK":
                written.append("cut:%d" % i)
            if i % 20 == 0:
                self.assertEqual(c.role(p), "primary")
                prim = c.primaries(rest)
                self.assertLessEqual(len(prim), 1)
                if prim:
                    q = prim[0]
                    break
            if time.monotonic() - t0 >= FAILOVER_BOUND:
                self.fail("no failover: " + c.describe())
            time.sleep(0.005)
        self.assertIsNotNone(q)
        written += self.write_keys(c.nodes[p], "late", 50)
        self.assertEqual(c.nodes[q].cmd("set new side"), "OK")
        self.assertEqual(c.nodes[q].cmd("wait 1 5000"), "1")
        self.assertEqual(c.role(p), "primary")
        c.heal()
        wait_until(lambda: c.follows(p, q), 15, 0.05,
                   lambda: "old primary steps down and follows (%s)" %
                   c.describe())
        self.assertTrue(written)
        lost = self.missing(c.nodes[q], written)
        self.assertEqual(sorted(lost), sorted(written))
        count, events = parse_divergences(c.nodes[p].cmd("divergences"))
        self.assertEqual(count, 1, events)
        self.assertTrue(events[0]["complete"], events)
        self.assertEqual(sorted(events[0]["keys"]), sorted(written))
        self.assertGreaterEqual(events[0]["nwrites"], len(written))
        self.assertLess(events[0]["from"], events[0]["to"])
        c.wait_synced(q)
        self.assertEqual(c.nodes[p].cmd("get new"), "side")
        self.assertEqual(c.nodes[p].cmd("check 1000 k"), "OK")
        self.assert_digests_equal()

    @with_logs
    def test_partition_replica(self):
        c = self.cluster(3)
        p = c.ready()
        r = self.others(p)[0]
        epoch = c.cluster(p)["config_epoch"]
        _, t0 = self.isolate(r)
        i = 0
        while time.monotonic() - t0 < 4 * c.down_after / 1000.0:
            self.assertEqual(c.role(r), "replica")
            self.assertEqual(c.primaries(), [p])
            self.assertEqual(c.nodes[p].cmd("set part:%d v" % i), "OK")
            i += 1
            time.sleep(0.05)
        self.assertEqual(c.nodes[p].cmd("wait 1 5000"), "1")
        c.heal()
        c.wait_synced(p)
        self.assertEqual(c.primaries(), [p])
        self.assertEqual(c.cluster(p)["config_epoch"], epoch)
        self.assertEqual(c.nodes[r].cmd("get part:%d" % (i - 1)), "v")
        self.assert_digests_equal()
        count, _ = parse_divergences(c.nodes[r].cmd("divergences"))
        self.assertEqual(count, 0)

    @with_logs
    def test_manual_failover_under_writes(self):
        c = self.cluster(3)
        p = c.ready()
        acked, errors = [], []
        stop = threading.Event()

        def writer():
            node = c.nodes[p]
            for i in range(1000000):
                if stop.is_set():
                    return
                a = node.cmd("set mf:%d v" % i)
                if a == "OK":
                    if node.cmd("wait 2 2000") == "2":
                        acked.append("mf:%d" % i)
                else:
                    errors.append(a)
                    time.sleep(0.01)
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        try:
            wait_until(lambda: len(acked) >= 50, 10, 0.02, "first writes")
            target, asker = self.others(p)
            t0 = time.monotonic()
            self.assertEqual(c.nodes[asker].cmd(
                "failover 127.0.0.1:%d 5000" % c.proxies[target].port), "OK")
            wait_until(lambda: c.primaries() == [target], FAILOVER_BOUND,
                       0.05, lambda: "manual failover (%s)" % c.describe())
            sys.stderr.write("(switch %.2fs) " % (time.monotonic() - t0))
            # Once the switch is done, the old primary's refusals name
            # the new one.
            named = "127.0.0.1:%d" % c.proxies[target].port
            wait_until(lambda: errors and named in errors[-1], 10, 0.02,
                       lambda: "a refusal naming %s (%s)" %
                       (named, errors[-3:]))
        finally:
            stop.set()
            t.join(30)
        self.assertFalse(t.is_alive())
        q = target
        c.wait_synced(q)
        self.assertEqual(self.missing(c.nodes[q], acked), [])
        for e in errors:
            self.assertTrue(e.startswith("ERR REPLKV_EREADONLY"), e)
        for e in errors:
            m = re.search(r"127\.0\.0\.1:(\d+)", e)
            if m:
                self.assertEqual(m.group(0), named, e)
        count, events = parse_divergences(c.nodes[p].cmd("divergences"))
        self.assertEqual(lost_writes(events), [], events)
        self.assert_digests_equal()

    @with_logs
    def test_witness(self):
        c = self.cluster(3, witnesses={2})
        p = c.ready()
        self.assertEqual(p, 0)
        c.wait_synced(p)
        self.assertEqual(c.role(2), "witness")
        self.assertTrue(c.nodes[2].cmd("set a b").startswith(
            "ERR REPLKV_ENOTSUP"))
        self.assertEqual(c.nodes[p].cmd("fill 500 k"), "OK")
        self.assertEqual(c.nodes[p].cmd("wait 1 5000"), "1")
        t0 = time.monotonic()
        c.kill(p)
        self.assertEqual(self.failover_away_from(p, [1], t0), 1)
        self.assertEqual(c.nodes[1].cmd("check 500 k"), "OK")
        self.assertEqual(c.nodes[1].cmd("set after kill"), "OK")
        self.assertEqual(c.nodes[2].cmd("count"), "0")
        wait_until(lambda: c.cluster(2)["primary"] ==
                   "127.0.0.1:%d" % c.proxies[1].port, 10, 0.05,
                   "the witness holds the new configuration")

    @with_logs
    def test_empty_restart_of_old_primary(self):
        c, p = self.filled(2000)
        self.assertEqual(p, 0)  # at the monitor address
        old_id = c.node_id(p)
        t0 = time.monotonic()
        c.kill(p)
        q = self.failover_away_from(p, self.others(p), t0)
        self.assertEqual(c.nodes[q].cmd("set after kill"), "OK")
        c.restart(p)
        new_id = c.node_id(p)
        self.assertNotEqual(new_id, old_id)
        # It must learn the running cluster, not promote itself at the
        # monitor address and wipe the others.
        t1 = time.monotonic()
        while time.monotonic() - t1 < 2.0:
            if c.role(p) == "primary":
                self.fail("the restarted node promoted itself: " +
                          c.describe())
            time.sleep(0.05)
        c.wait_synced(q)
        self.assertEqual(c.primaries(), [q])
        self.assertEqual(c.nodes[q].cmd("check 2000 k"), "OK")
        self.assertEqual(c.nodes[p].cmd("check 2000 k"), "OK")
        self.assertEqual(c.nodes[p].cmd("get after"), "kill")
        self.assert_digests_equal()
        self.wait_forgotten(old_id, new_id, range(3))

    def wait_forgotten(self, old_id, new_id, among):
        """Every node of among lists new_id and no longer old_id, with 3
        voters."""
        c = self.c

        def forgotten():
            for i in among:
                cl = c.cluster(i)
                ids = [x["id"] for x in cl["peers"]
                       if x["state"] != "forgotten"]
                if old_id in ids or new_id not in ids or cl["voters"] != "3":
                    return False
            return True
        wait_until(forgotten, 10, 0.2, lambda: "the old id forgotten (%s)" %
                   [c.nodes[i].cmd("cluster") for i in among])

    @with_logs
    def test_empty_restart_of_replica(self):
        c, p = self.filled(1000)
        r = self.others(p)[0]
        old_id = c.node_id(r)
        c.restart(r)
        new_id = c.node_id(r)
        c.wait_synced(p)
        self.assertEqual(c.nodes[r].cmd("check 1000 k"), "OK")
        self.assertEqual(c.primaries(), [p])
        self.wait_forgotten(old_id, new_id, range(3))

    @with_logs
    def test_quick_empty_restart_of_primary(self):
        # The primary comes back empty with a new id at its address before
        # down-after: the replicas must not take its empty keyspace.
        c, p = self.filled(1000, down_after=3000)
        c.restart(p)
        q = c.wait_settled(FAILOVER_BOUND + 3)
        self.assertEqual(c.nodes[q].cmd("check 1000 k"), "OK")
        self.assert_digests_equal()

    @with_logs
    def test_quick_restart_of_persistent_primary(self):
        # kill -9 of the primary right after writes both replicas
        # acknowledged (appendfsync everysec: its file lacks them), and a
        # restart before down-after: the replicas must not lose them.
        c = self.cluster(3, persist={0, 1, 2}, down_after=3000)
        p = c.ready()
        time.sleep(1.2)  # past the ready write's once-a-second flush
        self.assertEqual(c.nodes[p].cmd("fill 1000 k"), "OK")
        self.assertEqual(c.nodes[p].cmd("wait 2 5000"), "2")
        c.restart(p)
        q = c.wait_settled(FAILOVER_BOUND + 3)
        self.assertEqual(c.nodes[q].cmd("check 1000 k"), "OK")
        self.assert_digests_equal()

    @with_logs
    def test_manual_failover_target_is_self(self):
        # replkv_failover on the target itself, naming it host:port.
        c = self.cluster(3)
        p = c.ready()
        t = self.others(p)[0]
        self.assertEqual(c.nodes[t].cmd(
            "failover 127.0.0.1:%d 5000" % c.proxies[t].port), "OK")
        wait_until(lambda: c.primaries() == [t], FAILOVER_BOUND, 0.05,
                   lambda: "manual failover (%s)" % c.describe())

    @with_logs
    def test_persistent_restart(self):
        c, p = self.filled(2000, persist={0, 1, 2})
        old_id = c.node_id(p)
        t0 = time.monotonic()
        c.kill(p)
        q = self.failover_away_from(p, self.others(p), t0)
        self.assertEqual(c.nodes[q].cmd("set after kill"), "OK")
        c.restart(p)
        self.assertEqual(c.node_id(p), old_id)
        c.wait_synced(q)
        self.assertEqual(c.role(p), "replica")
        self.assertEqual(c.primaries(), [q])
        self.assertEqual(c.nodes[p].cmd("get after"), "kill")
        self.assertEqual(c.nodes[p].cmd("check 2000 k"), "OK")
        self.assert_digests_equal()

    @with_logs
    def test_self_fence(self):
        c = self.cluster(3, opts=[("sentinel self-fence", "yes")])
        p = c.ready()
        rest, t0 = self.isolate(p)
        written = []
        answer = None
        for i in range(100000):
            answer = c.nodes[p].cmd("set fence:%d v" % i)
            if answer != "OK":
                break
            written.append("fence:%d" % i)
            self.assertLess(time.monotonic() - t0, FAILOVER_BOUND)
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        self.assertTrue(answer.startswith("ERR REPLKV_ENOQUORUM"), answer)
        self.assertGreaterEqual(elapsed, c.down_after / 1000.0 * 0.8)
        self.assertTrue(c.cluster(p)["fenced"] == "1")
        q = c.wait_primary(among=rest, timeout=FAILOVER_BOUND)
        self.assertTrue(c.nodes[p].cmd("set still no").startswith("ERR"))
        c.heal()
        c.wait_synced(q)
        count, events = parse_divergences(c.nodes[p].cmd("divergences"))
        lost = set(k for e in events for k in e["keys"])
        self.assertLessEqual(lost, set(written))
        self.assert_digests_equal()


if __name__ == "__main__":
    unittest.main(verbosity=2)
