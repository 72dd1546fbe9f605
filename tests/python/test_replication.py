"""Replication through the binding: nodes in this process on free 127.0.0.1
ports (a primary and two replicas), read-only replicas, WAIT, min-replicas,
promotion with a partial resync, on_role_change, authentication, many
writer threads, and a replica in a second Python process.

Every wait is bounded (deadline loops or timeouts); every subprocess is
killed by PID in cleanup.
"""

from __future__ import annotations

import ctypes
import gc
import os
import pickle
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest
from unittest import mock

import replkv
from replkv import _callbacks, _lib, _replication

from _support import (REPO, free_port, open_listening, port_of, struct_layouts,
                      wait_until)

HOST = "127.0.0.1"
TIMEOUT = 20.0  # seconds: the bound on every wait that should succeed


def fill(node: replkv.Node, n: int, prefix: str = "k") -> None:
    """n keys of several shapes: plain, with a TTL, counters, deletions."""
    for i in range(n):
        node.set(f"{prefix}:{i}", f"value-{i}-" * (1 + i % 5))
        if i % 7 == 0:
            node.set(f"{prefix}:ttl:{i}", "expiring", ttl=3600)
        if i % 11 == 0:
            node.incr(f"{prefix}:counter", i)
        if i % 13 == 0:
            node.delete(f"{prefix}:{i}")


def applied(case: unittest.TestCase, primary: replkv.Node,
            *replicas: replkv.Node) -> None:
    """Waits (bounded) until each replica applied the primary's stream as
    of now, and checks the digests."""
    off = primary.last_offset
    for r in replicas:
        r.wait_applied(off, TIMEOUT)
    want = primary.digest()
    for r in replicas:
        case.assertEqual(r.digest().hex(), want.hex())


class ReplicationCase(unittest.TestCase):
    def primary(self, **options) -> replkv.Node:
        return open_listening(self, **options)

    def replica(self, of: replkv.Node, listen: bool = True,
                **options) -> replkv.Node:
        options["replicaof"] = (HOST, port_of(of))  # "127.0.0.1 <port>"
        if listen:
            return open_listening(self, **options)
        node = replkv.Node(**options)
        self.addCleanup(node.close)
        return node


class ThreeNodes(ReplicationCase):
    def setUp(self) -> None:
        self.p = self.primary()
        self.r1 = self.replica(self.p)
        self.r2 = self.replica(self.p, listen=False)

    def test_writes_replicate_and_digests_are_equal(self):
        fill(self.p, 3000)
        self.assertGreater(self.p.count(), 0)
        applied(self, self.p, self.r1, self.r2)
        for r in (self.r1, self.r2):
            self.assertEqual(r.count(), self.p.count())
            self.assertEqual(r.get("k:1"), self.p.get("k:1"))
            self.assertEqual(r.get("k:counter"), self.p.get("k:counter"))
            self.assertIsNone(r.get("k:13"))
            self.assertIsNotNone(r.ttl("k:ttl:7"))
        # Overwrites and deletions replicate too.
        self.p.set("k:1", "new")
        self.p.flush()
        self.p.set("after-flush", "x")
        applied(self, self.p, self.r1, self.r2)
        self.assertEqual(self.r2.count(), 1)
        self.assertEqual(self.r1.get("after-flush"), b"x")

    def test_roles_addresses_and_info(self):
        self.assertEqual(self.p.role, "primary")
        self.assertIsNone(self.p.primary_address)
        for r in (self.r1, self.r2):
            self.assertEqual(r.role, "replica")
            self.assertEqual(r.primary_address, (HOST, port_of(self.p)))
        self.p.set("x", "1")
        applied(self, self.p, self.r1, self.r2)
        self.assertTrue(wait_until(
            lambda: self.p.repl_info().connected_replicas == 2, TIMEOUT))

        info = self.p.repl_info()
        self.assertIsInstance(info, replkv.ReplInfo)
        self.assertEqual(info.role, "primary")
        self.assertEqual(len(info.replid), 40)
        self.assertEqual(info.replid2, "0" * 40)
        self.assertEqual(info.second_offset, -1)
        self.assertIsNone(info.primary_address)
        self.assertEqual((info.primary_host, info.primary_port), ("", 0))
        self.assertEqual(info.sync_full, 2)
        self.assertGreater(info.bytes_sent, 0)
        self.assertEqual(len(info.replicas), 2)
        for ri in info.replicas:
            self.assertIsInstance(ri, replkv.ReplicaInfo)
            self.assertEqual(ri.addr, HOST)
            self.assertIn(ri.state, ("online", "send_bulk", "wait_bgsave",
                                     "handshake"))
        self.assertEqual(sorted(ri.port for ri in info.replicas),
                         sorted([0, port_of(self.r1)]))
        self.assertTrue(wait_until(
            lambda: all(ri.state == "online" and ri.acked_offset >= 0
                        for ri in self.p.repl_info().replicas), TIMEOUT))

        rinfo = self.r1.repl_info()
        self.assertEqual(rinfo.role, "replica")
        self.assertEqual(rinfo.primary_address, (HOST, port_of(self.p)))
        self.assertEqual(rinfo.replid, info.replid)
        self.assertTrue(rinfo.link_up)
        self.assertFalse(rinfo.sync_in_progress)
        self.assertGreater(rinfo.bytes_received, 0)
        self.assertEqual(rinfo.replicas, [])

        # info("replication") uses Redis's field names.
        text = self.p.info("replication")
        self.assertEqual(text["role"], "master")
        self.assertEqual(text["connected_slaves"], 2)
        self.assertEqual(text["master_replid"], info.replid)
        rtext = self.r2.info("replication")
        self.assertEqual(rtext["role"], "slave")
        self.assertEqual(rtext["master_port"], port_of(self.p))
        self.assertEqual(rtext["master_link_status"], "up")

    def test_write_on_replica_is_read_only(self):
        self.p.set("k", "primary")
        applied(self, self.p, self.r1)
        for write in (lambda: self.r1.set("k", "replica"),
                      lambda: self.r1.delete("k"),
                      lambda: self.r1.incr("n"),
                      lambda: self.r1.flush()):
            with self.assertRaises(replkv.ReadOnlyError) as cm:
                write()
            e = cm.exception
            self.assertEqual((e.code, e.name), (-9, "REPLKV_EREADONLY"))
            self.assertEqual(e.primary_address, (HOST, port_of(self.p)))
            self.assertIn(f"{HOST}:{port_of(self.p)}", str(e))
        self.assertEqual(self.r1.get("k"), b"primary")
        # It survives pickling (multiprocessing).
        e2 = pickle.loads(pickle.dumps(e))
        self.assertEqual(e2.primary_address, (HOST, port_of(self.p)))

        # replica-read-only no: local writes, never replicated.
        self.r2.config_set("replica_read_only", False)
        self.assertTrue(self.r2.set("local", "only here"))
        self.p.set("k", "primary again")
        applied(self, self.p, self.r1)
        self.r2.wait_applied(self.p.last_offset, TIMEOUT)
        self.assertIsNone(self.r1.get("local"))
        self.assertIsNone(self.p.get("local"))
        self.assertEqual(self.r2.get("k"), b"primary again")

    def test_wait(self):
        self.p.set("a", "1")
        self.assertEqual(self.p.wait(2, TIMEOUT), 2)
        self.p.set("b", "2")
        off = self.p.last_offset
        self.assertEqual(self.p.wait_offset(off, 2, TIMEOUT), 2)
        self.assertEqual(self.p.wait_offset(off, 1, TIMEOUT), 2)  # a count
        # Without a limit it still returns as soon as the replicas ack.
        self.p.set("c", "3")
        self.assertEqual(self.p.wait(2, None), 2)
        # 0: count without waiting.
        self.assertIn(self.p.wait(2, 0), (0, 1, 2))
        self.assertGreaterEqual(self.p.wait(0, 0), 0)
        # More replicas than exist: the timeout passes, no exception.
        self.p.set("d", "4")
        t0 = time.monotonic()
        self.assertEqual(self.p.wait(3, 0.3), 2)
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.25)
        self.assertLess(took, 5.0)
        # A closed replica no longer counts.
        self.r2.close()
        self.p.set("e", "5")
        self.assertEqual(self.p.wait(2, 0.5), 1)
        # On a replica, WAIT is a state error.
        with self.assertRaises(replkv.StateError):
            self.r1.wait(1, 0.1)
        with self.assertRaises(replkv.StateError):
            self.r1.wait_offset(off, 1, 0.1)

    def test_wait_arguments(self):
        for bad in (-1, -0.5):
            with self.assertRaises(replkv.InvalidArgument):
                self.p.wait(1, bad)
        with self.assertRaises(replkv.InvalidArgument):
            self.p.wait(-1, 0)
        with self.assertRaises(TypeError):
            self.p.wait(True, 0)
        with self.assertRaises(TypeError):
            self.p.wait(1, "1")
        with self.assertRaises(TypeError):
            self.r1.wait_applied(1.5, 0)
        with self.assertRaises(replkv.InvalidArgument):
            self.r1.wait_applied(2**63, 0)
        import datetime
        self.p.set("x", "y")
        self.assertEqual(self.p.wait(2, datetime.timedelta(seconds=TIMEOUT)),
                         2)

    def test_wait_applied_times_out(self):
        self.p.set("x", "y")
        far = self.p.last_offset + 10**9
        t0 = time.monotonic()
        with self.assertRaises(replkv.TimeoutError) as cm:
            self.r1.wait_applied(far, 0.3)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.assertIsInstance(cm.exception, TimeoutError)  # the builtin
        self.assertEqual(cm.exception.name, "REPLKV_ETIMEDOUT")
        self.assertIn(str(far), str(cm.exception))
        with self.assertRaises(replkv.TimeoutError):
            self.r1.wait_applied(far, 0)
        # On a primary: its own offset.
        self.p.wait_applied(self.p.last_offset, 0)
        with self.assertRaises(replkv.TimeoutError):
            self.p.wait_applied(far, 0.05)

    def test_close_ends_a_wait_in_another_thread(self):
        """Waits run in slices, so close() from another thread is not held
        up by a wait without a limit; the waiter gets ClosedError."""
        results = []

        def waiter(fn):
            try:
                fn()
                results.append("returned")
            except replkv.ClosedError:
                results.append("closed")
            except BaseException as e:  # noqa: BLE001
                results.append(e)

        far = self.p.last_offset + 10**9
        threads = [
            threading.Thread(target=waiter, args=(
                lambda: self.r1.wait_applied(far, None),)),
            threading.Thread(target=waiter, args=(
                lambda: self.p.wait(3, None),)),
        ]
        self.p.set("x", "y")
        for t in threads:
            t.start()
        time.sleep(0.3)
        self.assertEqual(results, [])
        t0 = time.monotonic()
        self.r1.close()
        self.p.close()
        self.assertLess(time.monotonic() - t0, 5.0)
        for t in threads:
            t.join(TIMEOUT)
            self.assertFalse(t.is_alive())
        self.assertEqual(results, ["closed", "closed"])


class LinkAndManyReplicas(ReplicationCase):
    def test_config_set_replicaof_and_link_state(self):
        p = self.primary()
        p.set("k", "v")
        r = replkv.Node()
        self.addCleanup(r.close)
        self.assertEqual(r.repl_info().link_state, "none")
        r.config_set("replicaof", f"{HOST} {port_of(p)}")
        self.assertEqual(r.role, "replica")
        self.assertEqual(r.config_get("replicaof"), f"{HOST} {port_of(p)}")
        self.assertTrue(wait_until(
            lambda: r.repl_info().link_state == "connected", TIMEOUT))
        info = r.repl_info()
        self.assertEqual((info.link_down_ms, info.sync_read_bytes), (-1, 0))
        self.assertEqual(r.get("k"), b"v")
        with self.assertRaises(replkv.InvalidArgument):
            r.config_set("replicaof", "no-port-here")
        r.config_set("replicaof", "no one")
        self.assertEqual((r.role, r.config_get("replicaof")), ("primary", ""))

    def test_more_than_16_replicas(self):
        p = self.primary()
        replicas = [self.replica(p, listen=False) for _ in range(18)]
        p.set("k", "v")
        self.assertEqual(p.wait(18, TIMEOUT), 18)
        info = p.repl_info()
        self.assertEqual(info.connected_replicas, 18)
        self.assertEqual(len(info.replicas), 18)
        self.assertTrue(all(r.state == "online" for r in info.replicas))
        self.assertIn("slave17:", p.info_text("replication"))
        self.assertEqual(len(replicas), 18)


class MinReplicas(ReplicationCase):
    def test_no_replicas_error_until_a_replica_acks(self):
        p = self.primary(min_replicas_to_write=1, min_replicas_max_lag=10)
        with self.assertRaises(replkv.NoReplicasError) as cm:
            p.set("k", "v")
        self.assertEqual(cm.exception.name, "REPLKV_ENOREPLICAS")
        self.assertIn("min-replicas-to-write", str(cm.exception))
        self.assertIsNone(p.get("k"))  # nothing changed
        with self.assertRaises(replkv.NoReplicasError):
            p.incr("n")

        r = self.replica(p, listen=False)

        def writable():
            try:
                return p.set("k", "v")
            except replkv.NoReplicasError:
                return False

        self.assertTrue(wait_until(writable, TIMEOUT, interval=0.05))
        applied(self, p, r)
        self.assertEqual(r.get("k"), b"v")

        # Asking for more replicas than there are: refused again.
        p.config_set("min-replicas-to-write", 2)
        with self.assertRaises(replkv.NoReplicasError):
            p.set("k", "w")
        self.assertEqual(p.get("k"), b"v")
        p.config_set("min-replicas-to-write", 0)
        self.assertTrue(p.set("k", "w"))


class Promotion(ReplicationCase):
    def test_promote_and_repoint_keeps_data_with_partial_resync(self):
        events = {"p": [], "r1": [], "r2": []}

        def recorder(name):
            return lambda old, new, primary: events[name].append(
                (old, new, primary))

        p = self.primary(on_role_change=recorder("p"))
        r1 = self.replica(p, on_role_change=recorder("r1"))
        r2 = self.replica(p, on_role_change=recorder("r2"))
        fill(p, 2000)
        applied(self, p, r1, r2)
        old_replid = p.repl_info().replid
        count = p.count()
        self.assertEqual(events, {"p": [], "r1": [], "r2": []})

        # The primary goes away; r1 takes over, r2 follows r1.
        p.close()
        self.assertTrue(wait_until(lambda: not r1.repl_info().link_up,
                                   TIMEOUT))
        self.assertEqual(r1.count(), count)  # still serves reads
        r1.promote()
        self.assertEqual(r1.role, "primary")
        self.assertIsNone(r1.primary_address)
        self.assertEqual(events["r1"], [("replica", "primary", None)])
        r1.replicaof_none()  # a no-op on a primary: no event
        self.assertEqual(len(events["r1"]), 1)

        r2.replicaof(HOST, port_of(r1))
        self.assertEqual(r2.role, "replica")
        self.assertEqual(r2.primary_address, (HOST, port_of(r1)))
        r1.set("after", "failover")
        applied(self, r1, r2)
        self.assertEqual(r2.get("after"), b"failover")
        self.assertEqual(r2.count(), count + 1)

        info = r1.repl_info()
        self.assertEqual(info.replid2, old_replid)
        self.assertNotEqual(info.replid, old_replid)
        self.assertGreaterEqual(info.second_offset, 0)
        self.assertEqual(info.sync_full, 0)
        self.assertEqual(info.sync_partial_ok, 1)
        self.assertEqual(r2.repl_info().replid, info.replid)
        # r2 changed primaries but stayed a replica: no role change.
        self.assertEqual(events["r2"], [])

        # r2 becomes a primary and then r1's replica again: both events.
        r2.promote()
        r2.replicaof(HOST, port_of(r1))
        self.assertEqual(events["r2"], [
            ("replica", "primary", None),
            ("primary", "replica", (HOST, port_of(r1))),
        ])
        r1.set("again", "1")
        applied(self, r1, r2)

    def test_callback_blocking_calls_are_busy(self):
        seen = []
        holder = {}

        def on_role(old, new, primary):
            node = holder["node"]
            seen.append((old, new, primary))
            for name, call in (
                ("wait", lambda: node.wait(0, 0)),
                ("wait_offset", lambda: node.wait_offset(0, 0, 0)),
                ("wait_applied", lambda: node.wait_applied(0, 0)),
                ("replicaof", lambda: node.replicaof(HOST, 1)),
                ("replicaof_none", node.replicaof_none),
                ("close", node.close),
            ):
                try:
                    call()
                    seen.append((name, "returned"))
                except replkv.BusyError as e:
                    seen.append((name, e.name))
            # Under the binding's guard, the library itself refuses: on the
            # node's I/O thread replkv_wait returns REPLKV_EBUSY.
            seen.append(("c wait", _lib.L.replkv_wait(node._h, 0, 0)))
            seen.append(("c wait_applied",
                         _lib.L.replkv_wait_applied(node._h, 0, 0)))
            seen.append(("c replicaof_none",
                         _lib.L.replkv_replicaof_none(node._h)))
            # Data calls are allowed.
            seen.append(("get", node.get("k")))
            seen.append(("role", node.role))

        p = self.primary()
        p.set("k", "v")
        node = self.replica(p, on_role_change=on_role)
        holder["node"] = node
        self.addCleanup(holder.clear)
        node.wait_applied(p.last_offset, TIMEOUT)
        node.promote()
        busy = "REPLKV_EBUSY"
        self.assertEqual(seen, [
            ("replica", "primary", None),
            ("wait", busy), ("wait_offset", busy), ("wait_applied", busy),
            ("replicaof", busy), ("replicaof_none", busy), ("close", busy),
            ("c wait", -13), ("c wait_applied", -13),
            ("c replicaof_none", -13),
            ("get", b"v"), ("role", "primary"),
        ])
        self.assertFalse(node.closed)
        self.assertEqual(node.wait(0, 0), 0)  # usable again outside it

    def test_callback_exception_is_reported_and_callback_kept_alive(self):
        calls = []
        hooked = []

        def make():
            # The only reference to this closure is the Node's.
            def bad(old, new, primary):
                calls.append((old, new, primary))
                raise ValueError("boom from on_role_change")
            return bad

        p = self.primary()
        node = self.replica(p, on_role_change=make())
        gc.collect()
        with mock.patch.object(sys, "unraisablehook", hooked.append):
            with self.assertLogs("replkv", level="ERROR") as logs:
                node.promote()  # must not raise
                node.replicaof(HOST, port_of(p))
        self.assertEqual(calls, [("replica", "primary", None),
                                 ("primary", "replica", (HOST, port_of(p)))])
        self.assertTrue(any("on_role_change" in r and "boom" in r
                            for r in logs.output), logs.output)
        self.assertEqual(len(hooked), 2)
        self.assertIsInstance(hooked[0].exc_value, ValueError)
        self.assertIn("on_role_change", hooked[0].err_msg)
        p.set("k", "v")
        applied(self, p, node)

    def test_on_role_change_must_be_callable(self):
        with self.assertRaises(TypeError):
            replkv.Node(on_role_change=42)

    def test_replicaof_arguments(self):
        node = replkv.Node()
        self.addCleanup(node.close)
        for host, port, exc in ((HOST, 0, replkv.InvalidArgument),
                                (HOST, 70000, replkv.InvalidArgument),
                                ("", 7000, replkv.InvalidArgument),
                                ("a\0b", 7000, replkv.InvalidArgument),
                                (HOST, "7000", TypeError),
                                (HOST, True, TypeError),
                                (b"127.0.0.1", 7000, TypeError)):
            with self.subTest(host=host, port=port):
                with self.assertRaises(exc):
                    node.replicaof(host, port)
        self.assertEqual(node.role, "primary")
        # The library's own check (a host it cannot take).
        with self.assertRaises(replkv.InvalidArgument) as cm:
            node.replicaof("h" * 300, 7000)
        self.assertEqual(cm.exception.name, "REPLKV_EINVAL")

    def test_replica_of_a_primary_that_is_not_up_yet(self):
        port = free_port()
        r = replkv.Node()
        self.addCleanup(r.close)
        r.replicaof(HOST, port)  # returns at once; connects with back-off
        self.assertEqual(r.primary_address, (HOST, port))
        self.assertFalse(r.repl_info().link_up)
        try:
            p = replkv.Node(bind=HOST, port=port)
        except replkv.NetworkError:
            self.skipTest(f"port {port} was taken meanwhile")
        self.addCleanup(p.close)
        p.set("late", "primary")
        applied(self, p, r)


class Authentication(ReplicationCase):
    def test_wrong_masterauth_gets_no_data(self):
        p = self.primary(requirepass="s3cret")
        p.set("secret", "data")
        wrong = self.replica(p, listen=False, masterauth="wrong")
        none = self.replica(p, listen=False)
        good = self.replica(p, listen=False, masterauth="s3cret")
        applied(self, p, good)
        self.assertEqual(good.get("secret"), b"data")
        off = p.last_offset
        for r in (wrong, none):
            with self.assertRaises(replkv.TimeoutError):
                r.wait_applied(off, 1.0)
            self.assertIsNone(r.get("secret"))
            self.assertEqual(r.count(), 0)
            self.assertFalse(r.repl_info().link_up)
        self.assertEqual(p.repl_info().sync_full, 1)
        self.assertEqual(p.wait(3, 0.2), 1)

        # With the right secret, the same replica syncs (after back-off).
        wrong.config_set("masterauth", "s3cret")
        p.set("more", "data")
        applied(self, p, wrong)
        self.assertEqual(wrong.get("secret"), b"data")


class Threads(ReplicationCase):
    THREADS = 8
    KEYS = 1500

    def test_many_writer_threads_while_a_replica_follows(self):
        p = self.primary()
        r = self.replica(p, listen=False)
        errors = []
        offsets = {}
        reads = [0]
        stop = threading.Event()
        barrier = threading.Barrier(self.THREADS + 1)

        def writer(t: int) -> None:
            try:
                barrier.wait(timeout=TIMEOUT)
                last = 0
                for i in range(self.KEYS):
                    p.set(b"t%d:%d" % (t, i), b"%d" % i * (1 + i % 9))
                    p.incr(b"shared")
                    if i % 5 == 0:
                        p.delete(b"t%d:%d" % (t, i - 1))
                    off = p.last_offset  # this thread's own last write
                    if off < last:
                        errors.append(("offset went back", t, last, off))
                    last = off
                    if i % 500 == 0:
                        r.wait_applied(off, TIMEOUT)
                        if r.get(b"t%d:%d" % (t, i)) is None:
                            errors.append(("not read-your-writes", t, i))
                offsets[t] = last
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        def reader() -> None:
            try:
                barrier.wait(timeout=TIMEOUT)
                while not stop.is_set():
                    r.get(b"t0:1")
                    r.exists(b"shared")
                    reads[0] += 1
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(t,))
                   for t in range(self.THREADS)]
        rt = threading.Thread(target=reader)
        for th in threads + [rt]:
            th.start()
        for th in threads:
            th.join(120)
            self.assertFalse(th.is_alive())
        stop.set()
        rt.join(TIMEOUT)
        self.assertFalse(rt.is_alive())
        self.assertEqual(errors, [])
        self.assertGreater(reads[0], 0)

        # Each thread's last offset is one the replica reaches.
        for t, off in offsets.items():
            self.assertLessEqual(off, p.repl_info().offset)
            r.wait_applied(off, TIMEOUT)
        applied(self, p, r)
        self.assertEqual(int(r.get(b"shared")), self.THREADS * self.KEYS)
        self.assertEqual(r.count(), p.count())
        self.assertEqual(p.wait(1, TIMEOUT), 1)


CHILD = r"""
import sys
import replkv

host, port = sys.argv[1], int(sys.argv[2])
node = replkv.Node(replicaof=f"{host} {port}")
print("READY", node.role, flush=True)
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "wait":
        node.wait_applied(int(cmd[1]), float(cmd[2]))
        print("DIGEST", node.digest().hex(), node.count(), flush=True)
    elif cmd[0] == "get":
        v = node.get(cmd[1])
        print("VALUE", v.decode() if v is not None else "-", flush=True)
    elif cmd[0] == "quit":
        break
node.close()
print("BYE", flush=True)
"""


class AcrossProcesses(ReplicationCase):
    def spawn(self, *args: str) -> "tuple[subprocess.Popen, queue.Queue]":
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO / "bindings" / "python")]
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env.setdefault("REPLKV_LIBRARY", _lib.L.path)
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, *args], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.kill, proc)
        lines: queue.Queue = queue.Queue()

        def pump() -> None:
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        return proc, lines

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=TIMEOUT)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def expect(self, proc, lines: queue.Queue, word: str) -> list:
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            self.fail(f"no {word} line from the child in 60 s")
        if line is None:
            proc.wait(timeout=TIMEOUT)
            self.fail(f"child exited ({proc.returncode}) before {word}: "
                      f"{proc.stderr.read()}")
        parts = line.split()
        self.assertEqual(parts[0], word, line)
        return parts[1:]

    def send(self, proc, text: str) -> None:
        proc.stdin.write(text + "\n")
        proc.stdin.flush()

    def test_replica_in_another_process(self):
        p = self.primary()
        fill(p, 2000)
        proc, lines = self.spawn(HOST, str(port_of(p)))
        self.assertEqual(self.expect(proc, lines, "READY"), ["replica"])

        self.send(proc, f"wait {p.last_offset} {TIMEOUT}")
        digest, count = self.expect(proc, lines, "DIGEST")
        self.assertEqual(digest, p.digest().hex())
        self.assertEqual(int(count), p.count())

        # It keeps following: more writes, a second comparison.
        p.set("from-parent", "hello child")
        fill(p, 500, prefix="second")
        self.assertEqual(p.wait(1, TIMEOUT), 1)
        self.send(proc, f"wait {p.last_offset} {TIMEOUT}")
        digest, count = self.expect(proc, lines, "DIGEST")
        self.assertEqual(digest, p.digest().hex())
        self.send(proc, "get from-parent")
        self.assertEqual(self.expect(proc, lines, "VALUE"), ["hello", "child"])

        info = p.repl_info()
        self.assertEqual(info.connected_replicas, 1)
        self.assertEqual(info.replicas[0].state, "online")

        self.send(proc, "quit")
        self.assertEqual(self.expect(proc, lines, "BYE"), [])
        self.assertEqual(proc.wait(timeout=TIMEOUT), 0)
        self.assertTrue(wait_until(
            lambda: p.repl_info().connected_replicas == 0, TIMEOUT))


class Binding(unittest.TestCase):
    """Pieces of the binding checked without a network."""

    def test_parse_address(self):
        parse = _lib.parse_address
        self.assertEqual(
            parse("READONLY: this node is a replica; write to the primary "
                  "at 10.0.0.1:7000"), ("10.0.0.1", 7000))
        self.assertEqual(parse("primary at db.example:6379."),
                         ("db.example", 6379))
        self.assertEqual(parse("at [::1]:7000"), ("::1", 7000))
        self.assertEqual(parse("at ::1:7000"), ("::1", 7000))
        for text in ("", "replica", "at host:0", "at host:70000", "at :7000",
                     "at host:", "at host:x"):
            with self.subTest(text=text):
                self.assertIsNone(parse(text))

    def test_option_value_of_a_tuple(self):
        from replkv import _config
        self.assertEqual(_config.option_value(("10.0.0.1", 7000)),
                         "10.0.0.1 7000")
        self.assertEqual(_config.option_value(["no", "one"]), "no one")
        node = replkv.Node(replicaof=("127.0.0.1", 1), port=0)
        self.addCleanup(node.close)
        self.assertEqual(node.primary_address, ("127.0.0.1", 1))
        self.assertEqual(node.config_get("replicaof"), "127.0.0.1 1")

    def test_read_only_error_from_code(self):
        e = replkv.ReadOnlyError("x", primary_address=["h", 1])
        self.assertEqual(e.primary_address, ("h", 1))
        self.assertIsNone(replkv.ReadOnlyError("x").primary_address)

    def test_role_trampoline_reads_only_what_size_covers(self):
        seen = []
        thunk = _callbacks.make_role_trampoline(
            lambda *a: seen.append(a), owner=object())
        full = ctypes.sizeof(_lib.RoleEvent)
        for ev in (_lib.RoleEvent(full, 0, 1, b"h", 7000),
                   _lib.RoleEvent(full, 1, 0, b"", 0),
                   _lib.RoleEvent(full, 0, 7, b"x", 1),
                   _lib.RoleEvent(full, 0, 1, None, 0),
                   _lib.RoleEvent(ctypes.sizeof(ctypes.c_size_t), 0, 1,
                                  b"short", 1)):
            thunk(None, ctypes.byref(ev), None)
        self.assertEqual(seen, [("primary", "replica", ("h", 7000)),
                                ("replica", "primary", None),
                                ("primary", 7, None),
                                ("primary", "replica", None)])

    def test_missing_functions_raise_not_supported(self):
        """An older libreplkv without the replication functions: importing
        works, and using them raises NotSupportedError."""
        real = _lib.L.cdll
        replication = {name for name, _, _, _ in _lib._PROTOTYPES
                       if name.startswith(("replkv_repl", "replkv_wait",
                                           "replkv_role",
                                           "replkv_primary_addr",
                                           "replkv_last_offset",
                                           "replkv_opts_set_role_cb"))}
        self.assertEqual(len(replication), 11)

        class OldLibrary:
            def __getattr__(self, name):
                if name in replication:
                    raise AttributeError(name)
                return getattr(real, name)

        old = _lib.Library(OldLibrary(), "/old/libreplkv.so")
        # (Functions the real library lacks too, newer than it, are not
        # this test's business.)
        self.assertEqual(set(old.missing) - set(_lib.L.missing), replication)
        self.assertFalse(old.has("replkv_wait"))
        with mock.patch.object(_lib, "L", old), \
                mock.patch.object(_replication, "_L", old), \
                mock.patch("replkv.node._L", old):
            node = replkv.Node()
            try:
                for name, call in (
                        ("replkv_role", lambda: node.role),
                        ("replkv_primary_addr", lambda: node.primary_address),
                        ("replkv_last_offset", lambda: node.last_offset),
                        ("replkv_replicaof", lambda: node.replicaof(HOST, 1)),
                        ("replkv_replicaof_none", node.promote),
                        ("replkv_repl_info_get", lambda: node.wait(1, 0)),
                        ("replkv_wait_offset",
                         lambda: node.wait_offset(0, 1, 0)),
                        ("replkv_wait_applied",
                         lambda: node.wait_applied(0, 0)),
                        ("replkv_repl_info_get", node.repl_info)):
                    with self.subTest(name=name):
                        with self.assertRaises(replkv.NotSupportedError) as cm:
                            call()
                        self.assertIn(name, str(cm.exception))
                        self.assertIn("/old/libreplkv.so", str(cm.exception))
                node.set("k", "v")  # the rest still works
                self.assertEqual(node.get("k"), b"v")
            finally:
                node.close()
            with self.assertRaises(replkv.NotSupportedError) as cm:
                replkv.Node(on_role_change=lambda *a: None)
            self.assertIn("replkv_opts_set_role_cb", str(cm.exception))

    @unittest.skipUnless(shutil.which("cc"), "needs a C compiler")
    def test_struct_layout_matches_the_header(self):
        """ctypes mirrors of the replication structs against the C
        compiler's sizeof / offsetof."""
        structs = {
            "replkv_role_event": _lib.RoleEvent,
            "replkv_replica_info": _lib.ReplicaInfoStruct,
            "replkv_repl_info": _lib.ReplInfoStruct,
            "replkv_log_event": _lib.LogEvent,
        }
        c, py = struct_layouts(structs)
        self.assertEqual(py, c)


if __name__ == "__main__":
    unittest.main()
