"""The failover binding without a cluster: verdicts, the trampolines called
as the library would call them, option spelling, struct layouts against
the header, and the methods on a node with failover off."""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
import unittest

import replkv
from replkv import _callbacks, _config, _events, _lib

from _support import NodeCase, struct_layouts

ID_A = "a" * 40
ID_B = "b" * 40


class Verdicts(unittest.TestCase):
    def setUp(self):
        self.cands = [
            replkv.Candidate(0, ID_A, "127.0.0.1", 7001, 100, 500),
            replkv.Candidate(1, ID_B, "127.0.0.1", 7002, 100, 400),
        ]

    def test_helpers(self):
        self.assertEqual(replkv.accept(), ("accept", 0, ""))
        self.assertEqual(replkv.pick(self.cands[1], "closer"),
                         ("pick", 1, "closer"))
        self.assertEqual(replkv.pick(1), ("pick", 1, ""))
        self.assertEqual(replkv.veto("maintenance"), ("veto", 0, "maintenance"))
        with self.assertRaises(TypeError):
            replkv.pick("1")
        with self.assertRaises(TypeError):
            replkv.pick(True)
        with self.assertRaises(ValueError):
            replkv.pick(-1)
        with self.assertRaises(TypeError):
            replkv.veto(3)

    def test_what_a_callback_may_return(self):
        table = [
            (None, ("accept", 0, "")),
            (True, ("accept", 0, "")),
            ("accept", ("accept", 0, "")),
            (("accept",), ("accept", 0, "")),
            (("accept", "fine"), ("accept", 0, "fine")),
            (False, ("veto", 0, _events.DECLINED)),
            ("veto", ("veto", 0, "")),
            (("veto", "not now"), ("veto", 0, "not now")),
            (("pick", 1), ("pick", 1, "")),
            (("pick", 1, "why"), ("pick", 1, "why")),
            (self.cands[1], ("pick", 1, "")),
            (replkv.pick(self.cands[0]), ("pick", 0, "")),
            (replkv.veto("r"), ("veto", 0, "r")),
        ]
        for result, want in table:
            with self.subTest(result=result):
                v = _events.verdict_of(result, 2)
                self.assertIsInstance(v, replkv.Verdict)
                self.assertEqual(tuple(v), want)

    def test_bad_answers_raise(self):
        for bad in (("pick", 2), ("pick", -1), replkv.pick(5), "yes", 1,
                    0, ("pick",), ("veto", "a", "b"), ("maybe", 1), [],
                    ("pick", "0"), object()):
            with self.subTest(bad=bad):
                with self.assertRaises((TypeError, ValueError)):
                    _events.verdict_of(bad, 2)

    def test_candidate_and_divergence_helpers(self):
        self.assertEqual(self.cands[0].address, ("127.0.0.1", 7001))
        d = replkv.Divergence(3, ID_B, 100, 250, 4, [b"k"], True)
        self.assertEqual(d.lost_bytes, 150)
        self.assertEqual(replkv.PeerState.SDOWN, "sdown")
        self.assertEqual(str(replkv.PeerState.ODOWN), "odown")


def decision_event(cands):
    """A replkv_decision_event over cands, kept alive by the caller."""
    arr = (_lib.CandidateStruct * max(1, len(cands)))()
    for i, (nid, port, prio, off) in enumerate(cands):
        arr[i].node_id = nid.encode()
        arr[i].host = b"127.0.0.1"
        arr[i].port = port
        arr[i].priority = prio
        arr[i].offset = off
    ev = _lib.DecisionEvent(ctypes.sizeof(_lib.DecisionEvent), 7,
                            ctypes.cast(arr, ctypes.POINTER(_lib.CandidateStruct)),
                            len(cands))
    return ev, arr


class DecisionTrampoline(unittest.TestCase):
    def call(self, fn, cands=((ID_A, 7001, 100, 9), (ID_B, 7002, 50, 8)),
             cap=256):
        thunk = _callbacks.make_decision_trampoline(fn, owner=object())
        ev, arr = decision_event(cands)
        pick = ctypes.c_size_t(99)
        reason = ctypes.create_string_buffer(b"\xee" * cap, cap)
        rc = thunk(None, ctypes.byref(ev), ctypes.byref(pick),
                   ctypes.cast(reason, ctypes.c_void_p), cap, None)
        return rc, pick.value, reason

    def test_arguments(self):
        seen = []
        rc, _, _ = self.call(lambda epoch, c: seen.append((epoch, c)))
        self.assertEqual(rc, _lib.VERDICT_ACCEPT)
        epoch, cands = seen[0]
        self.assertEqual(epoch, 7)
        self.assertEqual([(c.index, c.node_id, c.port, c.priority, c.offset)
                          for c in cands],
                         [(0, ID_A, 7001, 100, 9), (1, ID_B, 7002, 50, 8)])
        self.assertEqual(cands[1].host, "127.0.0.1")

    def test_pick_and_veto_reach_c(self):
        rc, pick, reason = self.call(lambda e, c: replkv.pick(c[1], "near"))
        self.assertEqual((rc, pick), (_lib.VERDICT_PICK, 1))
        self.assertEqual(reason.value, b"near")
        rc, pick, reason = self.call(lambda e, c: replkv.veto("busy"))
        self.assertEqual((rc, pick), (_lib.VERDICT_VETO, 99))
        self.assertEqual(reason.value, b"busy")

    def test_reason_is_cut_at_a_character(self):
        rc, _, reason = self.call(lambda e, c: replkv.veto("\u00e9" * 10),
                                  cap=6)
        self.assertEqual(rc, _lib.VERDICT_VETO)
        self.assertEqual(reason.raw[:5], "\u00e9\u00e9".encode() + b"\0")
        rc, _, reason = self.call(lambda e, c: replkv.veto("x" * 100), cap=1)
        self.assertEqual(reason.raw, b"\0")

    def test_exception_and_bad_answer_accept_and_are_logged(self):
        def boom(epoch, cands):
            raise RuntimeError("decision boom")

        with self.assertLogs("replkv", level="ERROR") as logs:
            rc, pick, reason = self.call(boom)
        self.assertEqual((rc, pick), (_lib.VERDICT_ACCEPT, 99))
        self.assertIn(b"decision boom", reason.value)
        self.assertIn(b"accepted", reason.value)
        self.assertTrue(any("decision boom" in r for r in logs.output))
        with self.assertLogs("replkv", level="ERROR"):
            rc, pick, reason = self.call(lambda e, c: ("pick", 5))
        self.assertEqual((rc, pick), (_lib.VERDICT_ACCEPT, 99))
        self.assertIn(b"picked candidate 5 of 2", reason.value)

    def test_no_candidates_and_null_buffers(self):
        thunk = _callbacks.make_decision_trampoline(
            lambda e, c: replkv.veto("none") if not c else None,
            owner=object())
        ev = _lib.DecisionEvent(ctypes.sizeof(_lib.DecisionEvent), 1, None, 3)
        self.assertEqual(thunk(None, ctypes.byref(ev), None, None, 0, None),
                         _lib.VERDICT_VETO)
        short = _lib.DecisionEvent(ctypes.sizeof(ctypes.c_size_t), 1, None, 0)
        self.assertEqual(
            thunk(None, ctypes.byref(short), None, None, 0, None),
            _lib.VERDICT_ACCEPT)


class EventTrampolines(unittest.TestCase):
    def test_divergence_keys_as_bytes(self):
        got = []
        thunk = _callbacks.make_divergence_trampoline(got.append,
                                                      owner=object())
        keys = [b"k1", b"\x00bin\xff", b"x" * 300]
        bufs = [ctypes.create_string_buffer(k, len(k)) for k in keys]
        ptrs = (ctypes.c_void_p * 3)(*[ctypes.addressof(b) for b in bufs])
        lens = (ctypes.c_size_t * 3)(*[len(k) for k in keys])
        ev = _lib.DivergenceEvent(
            ctypes.sizeof(_lib.DivergenceEvent), 4, ID_B.encode(), 1000,
            1300, 3, ctypes.cast(ptrs, ctypes.POINTER(ctypes.c_void_p)),
            ctypes.cast(lens, ctypes.POINTER(ctypes.c_size_t)), 3, True)
        thunk(None, ctypes.byref(ev), None)
        self.assertEqual(got, [replkv.Divergence(4, ID_B, 1000, 1300, 3,
                                                 keys, True)])
        empty = _lib.DivergenceEvent(ctypes.sizeof(_lib.DivergenceEvent), 5,
                                     None, 0, 0, 0, None, None, 2, False)
        thunk(None, ctypes.byref(empty), None)
        self.assertEqual(got[1], replkv.Divergence(5, "", 0, 0, 0, [], False))

    def test_peer_state(self):
        got = []
        thunk = _callbacks.make_peer_trampoline(
            lambda *a: got.append(a), owner=object())
        for state in (1, 2, 3, 4, 5, 42):
            ev = _lib.PeerEvent(ctypes.sizeof(_lib.PeerEvent), ID_A.encode(),
                                b"10.0.0.1", 7000, state)
            thunk(None, ctypes.byref(ev), None)
        self.assertEqual([a[2] for a in got],
                         ["up", "sdown", "odown", "new", "forgotten", 42])
        self.assertIs(got[1][2], replkv.PeerState.SDOWN)
        self.assertEqual(got[0][:2], (ID_A, ("10.0.0.1", 7000)))

    def test_exceptions_never_reach_c(self):
        def bad(*a):
            raise ValueError("peer boom")

        thunk = _callbacks.make_peer_trampoline(bad, owner=object())
        ev = _lib.PeerEvent(ctypes.sizeof(_lib.PeerEvent), ID_A.encode(),
                            b"h", 1, 1)
        with self.assertLogs("replkv", level="ERROR") as logs:
            thunk(None, ctypes.byref(ev), None)
        self.assertTrue(any("on_peer_state" in r for r in logs.output))

    def test_role_epoch_only_for_callbacks_that_take_it(self):
        plain, with_epoch, kw = [], [], []
        owner = object()
        ev = _lib.RoleEvent(ctypes.sizeof(_lib.RoleEvent), 0, 1, b"h", 7000, 9)
        for fn in (lambda *a: plain.append(a),
                   lambda old, new, primary, epoch: with_epoch.append(epoch),
                   lambda *a, **k: kw.append(k)):
            _callbacks.make_role_trampoline(fn, owner)(
                None, ctypes.byref(ev), None)
        self.assertEqual(plain, [("primary", "replica", ("h", 7000))])
        self.assertEqual(with_epoch, [9])
        self.assertEqual(kw, [{"epoch": 9}])
        # An event from a library without the epoch field: epoch 0.
        old = _lib.RoleEvent(_lib.RoleEvent.epoch.offset, 1, 0, b"", 0, 9)
        _callbacks.make_role_trampoline(
            lambda old, new, primary, epoch: with_epoch.append(epoch), owner)(
                None, ctypes.byref(old), None)
        self.assertEqual(with_epoch, [9, 0])
        self.assertEqual(_callbacks.role_name(_lib.ROLE_WITNESS), "witness")


class Options(unittest.TestCase):
    def test_sentinel_names(self):
        for py, c in (("sentinel_monitor", "sentinel monitor"),
                      ("sentinel_down_after_milliseconds",
                       "sentinel down-after-milliseconds"),
                      ("sentinel-failover-timeout", "sentinel failover-timeout"),
                      ("sentinel auth-pass", "sentinel auth-pass"),
                      ("replica_priority", "replica-priority"),
                      ("replica_announce_ip", "replica-announce-ip"),
                      ("witness", "witness")):
            with self.subTest(py=py):
                self.assertEqual(_config.option_name(py), c)
        self.assertEqual(_config.option_value(("c1", "127.0.0.1", 7000, 2)),
                         "c1 127.0.0.1 7000 2")

    def test_config_file_sentinel_lines(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "n.conf")
            with open(path, "w") as f:
                f.write("port 7001\n"
                        "sentinel monitor c1 127.0.0.1 7000 2\n"
                        "sentinel down-after-milliseconds c1 1000\n"
                        "Sentinel parallel-syncs 2\n")
            self.assertEqual(list(_config.read_config(path)), [
                (1, "port", "7001"),
                (2, "sentinel monitor", "c1 127.0.0.1 7000 2"),
                (3, "sentinel down-after-milliseconds", "c1 1000"),
                (4, "sentinel parallel-syncs", "2"),
            ])
            with open(path, "w") as f:
                f.write("sentinel monitor\n")
            with self.assertRaises(replkv.InvalidArgument) as cm:
                list(_config.read_config(path))
            self.assertIn("n.conf:1", str(cm.exception))


class Layout(unittest.TestCase):
    @unittest.skipUnless(shutil.which("cc"), "needs a C compiler")
    def test_struct_layout_matches_the_header(self):
        structs = {
            "replkv_role_event": _lib.RoleEvent,
            "replkv_peer_event": _lib.PeerEvent,
            "replkv_candidate": _lib.CandidateStruct,
            "replkv_decision_event": _lib.DecisionEvent,
            "replkv_divergence_event": _lib.DivergenceEvent,
            "replkv_peer_info": _lib.PeerInfoStruct,
            "replkv_cluster_info": _lib.ClusterInfoStruct,
        }
        consts = ("ROLE_WITNESS", "PEER_UP", "PEER_SDOWN", "PEER_ODOWN",
                  "PEER_NEW", "PEER_FORGOTTEN", "VERDICT_ACCEPT",
                  "VERDICT_PICK", "VERDICT_VETO")
        ints = [(n, "REPLKV_" + n, getattr(_lib, n)) for n in consts]
        ints.append(("peers", "sizeof(((replkv_cluster_info *)0)->peers)"
                     " / sizeof(replkv_peer_info)", _lib.CLUSTER_INFO_PEERS))
        c, py = struct_layouts(structs, ints)
        self.assertEqual(py, c)


@unittest.skipUnless(_lib.L.has("replkv_failover"),
                     "the loaded libreplkv has no failover functions")
class FailoverOff(NodeCase):
    """A node without sentinel monitor."""

    def test_cluster_info_disabled(self):
        info = self.node.cluster_info()
        self.assertIsInstance(info, replkv.ClusterInfo)
        self.assertFalse(info.enabled)
        self.assertEqual((info.name, info.peers, info.quorum,
                          info.current_epoch, info.primary_address),
                         ("", [], 0, 0, None))
        self.assertEqual(self.node.info_text("sentinel").strip(), "")

    def test_failover_and_forget_not_supported(self):
        with self.assertRaises(replkv.NotSupportedError):
            self.node.failover()
        with self.assertRaises(replkv.NotSupportedError):
            self.node.forget(ID_A)
        with self.assertRaises(replkv.NotSupportedError):
            self.node.failover_abort()

    def test_argument_checks_before_the_library(self):
        with self.assertRaises(replkv.InvalidArgument):
            self.node.failover(timeout_ms=-1)
        with self.assertRaises(TypeError):
            self.node.failover(timeout_ms=1.5)
        with self.assertRaises(TypeError):
            self.node.failover(target=("127.0.0.1", "7000"))
        with self.assertRaises(TypeError):
            self.node.forget(1234)
        with self.assertRaises(replkv.InvalidArgument):
            self.node.forget("ab\0cd")
        with self.assertRaises(ValueError):  # InvalidArgument is one
            self.node.failover(target="x\0y")

    def test_callbacks_accepted_on_a_node_without_failover(self):
        with replkv.Node(on_peer_state=lambda *a: None,
                         on_failover_decision=lambda *a: None,
                         on_divergence=lambda *a: None) as node:
            node.set("k", "v")
        with self.assertRaises(TypeError):
            replkv.Node(on_failover_decision="accept")


if __name__ == "__main__":
    unittest.main()
