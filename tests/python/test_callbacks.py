"""on_log: lines arrive, exceptions in the callback are reported and never
escape, and the callback cannot close its own node."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import subprocess
import sys
import unittest
from unittest import mock

import replkv
from replkv import _callbacks, _lib

from _support import REPO, wait_until


class OnLog(unittest.TestCase):
    def test_receives_lines(self):
        lines = []
        node = replkv.Node(on_log=lambda level, msg: lines.append((level, msg)))
        try:
            self.assertTrue(any("ready" in m for _, m in lines), lines)
            node.config_set("maxmemory", "1mb")
            self.assertTrue(any("config set maxmemory" in m for _, m in lines),
                            lines)
            for level, msg in lines:
                self.assertIsInstance(level, int)
                self.assertIsInstance(level, replkv.LogLevel)
                self.assertIsInstance(msg, str)
                self.assertNotIn("\n", msg)
        finally:
            node.close()
        self.assertTrue(any("closing" in m for _, m in lines), lines)

    def test_loglevel_filters(self):
        lines = []
        with replkv.Node(loglevel="warning",
                         on_log=lambda l, m: lines.append((l, m))) as node:
            node.config_set("hz", 20)
        self.assertTrue(all(l >= replkv.LogLevel.WARNING for l, _ in lines),
                        lines)
        self.assertFalse(any("config set" in m for _, m in lines))

    def test_exception_is_reported_not_propagated(self):
        calls = []
        hooked = []

        def bad(level, msg):
            calls.append(msg)
            raise ValueError("boom from on_log")

        with mock.patch.object(sys, "unraisablehook", hooked.append):
            with self.assertLogs("replkv", level="ERROR") as logs:
                node = replkv.Node(on_log=bad)
                try:
                    node.config_set("hz", 11)  # logs; must not raise
                    self.assertEqual(node.config_get("hz"), "11")
                    node.set("k", "v")
                    self.assertEqual(node.get("k"), b"v")
                finally:
                    node.close()
        self.assertGreaterEqual(len(calls), 2)
        self.assertTrue(any("on_log" in r for r in logs.output), logs.output)
        self.assertTrue(any("boom from on_log" in r for r in logs.output))
        self.assertTrue(hooked)
        self.assertIsInstance(hooked[0].exc_value, ValueError)
        self.assertIs(hooked[0].exc_type, ValueError)
        self.assertIs(hooked[0].object, bad)
        self.assertIn("on_log", hooked[0].err_msg)

    def test_close_from_own_callback_is_refused(self):
        errors = []
        holder = {}

        def cb(level, msg):
            node = holder.get("node")
            if node is not None and "config set" in msg:
                try:
                    node.close()
                except replkv.BusyError as e:
                    errors.append(e)

        node = replkv.Node(on_log=cb)
        holder["node"] = node
        try:
            node.config_set("hz", 12)
            self.assertEqual(len(errors), 1)
            self.assertEqual(errors[0].name, "REPLKV_EBUSY")
            self.assertFalse(node.closed)
            node.set("k", "v")  # still usable
        finally:
            holder.clear()
            node.close()
        self.assertTrue(node.closed)

    def test_callback_may_use_another_node(self):
        other = replkv.Node()
        self.addCleanup(other.close)

        def cb(level, msg):
            other.incr("lines")

        with replkv.Node(on_log=cb) as node:
            node.config_set("hz", 13)
        self.assertGreaterEqual(int(other.get("lines")), 3)

    def test_log_to_logging(self):
        with self.assertLogs("replkv", level="INFO") as logs:
            with replkv.Node(on_log=replkv.log_to_logging):
                pass
        self.assertTrue(any("ready" in r for r in logs.output), logs.output)

    def test_not_callable(self):
        with self.assertRaises(TypeError):
            replkv.Node(on_log="print")

    def test_unreferenced_node_is_closed_by_gc(self):
        lines = []
        node = replkv.Node(on_log=lambda l, m: lines.append(m))
        node.set("k", "v")
        del node
        gc.collect()
        self.assertTrue(wait_until(lambda: any("closing" in m for m in lines),
                                   timeout=5), lines)

    def test_open_node_is_closed_at_exit(self):
        script = (
            "import replkv\n"
            "node = replkv.Node(on_log=lambda l, m: print('LOG', m, flush=True))\n"
            "node.set('k', 'v')\n"
            "print('END', flush=True)\n"
        )
        env = dict(os.environ, PYTHONPATH=str(REPO / "bindings" / "python"))
        r = subprocess.run([sys.executable, "-c", script], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.splitlines()
        self.assertIn("END", out)
        self.assertIn("LOG node closing", out[out.index("END"):])


class Trampoline(unittest.TestCase):
    """The C thunk called directly, as the library would call it."""

    def test_reads_only_what_size_covers(self):
        seen = []
        thunk = _callbacks.make_log_trampoline(
            lambda level, msg: seen.append((level, msg)), owner=object())
        full = ctypes.sizeof(_lib.LogEvent)
        for ev in (_lib.LogEvent(full, 2, b"hello"),
                   _lib.LogEvent(full, 9, "caf\u00e9 \xff".encode("latin-1")),
                   _lib.LogEvent(full, 3, None),
                   _lib.LogEvent(ctypes.sizeof(ctypes.c_size_t), 2, b"short")):
            thunk(None, ctypes.byref(ev), None)
        self.assertEqual(seen, [(2, "hello"), (9, "caf\ufffd \ufffd"), (3, "")])
        self.assertIs(type(seen[0][0]), replkv.LogLevel)
        self.assertIs(type(seen[1][0]), int)

    def test_callback_inside_a_call_gets_its_own_scratch(self):
        node = replkv.Node()
        self.addCleanup(node.close)
        node.set("a", "A")
        node.set("b", "B" * 100)
        self.assertEqual(node.get("a"), b"A")
        outer = _callbacks.scratch.buf
        inner = []
        thunk = _callbacks.make_log_trampoline(
            lambda level, msg: inner.append((node.get("b"),
                                             _callbacks.scratch.buf)),
            owner=object())
        ev = _lib.LogEvent(ctypes.sizeof(_lib.LogEvent), 2, b"x")
        thunk(None, ctypes.byref(ev), None)
        self.assertEqual(inner[0][0], b"B" * 100)
        self.assertIsNot(inner[0][1], outer)
        self.assertIs(_callbacks.scratch.buf, outer)
        self.assertEqual(outer.raw[:1], b"A")  # untouched by the inner get
        self.assertEqual(node.get("a"), b"A")

    def test_called_from_a_thread_python_did_not_create(self):
        """As from the library's I/O thread: a pthread started from C."""
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        lines, errors = [], []

        def bad(level, msg):
            lines.append((level, msg))
            raise RuntimeError("raised on a foreign thread")

        thunk = _callbacks.make_log_trampoline(bad, owner=object())
        ev = _lib.LogEvent(ctypes.sizeof(_lib.LogEvent), 3, b"from C thread")
        start_t = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)

        def start(arg):
            thunk(None, ctypes.byref(ev), None)
            return None

        start_fn = start_t(start)
        tid = ctypes.c_ulong()
        with self.assertLogs("replkv", level="ERROR") as logs:
            self.assertEqual(libc.pthread_create(ctypes.byref(tid), None,
                                                 start_fn, None), 0)
            self.assertEqual(libc.pthread_join(tid, None), 0)
        self.assertEqual(lines, [(3, "from C thread")])
        self.assertTrue(any("raised on a foreign thread" in r
                            for r in logs.output))

    def test_in_callback_is_per_owner(self):
        a, b = object(), object()
        states = []
        thunk = _callbacks.make_log_trampoline(
            lambda level, msg: states.append(
                (_callbacks.in_callback(a), _callbacks.in_callback(b),
                 _callbacks.in_callback())), owner=a)
        ev = _lib.LogEvent(ctypes.sizeof(_lib.LogEvent), 2, b"x")
        thunk(None, ctypes.byref(ev), None)
        self.assertEqual(states, [(True, False, True)])
        self.assertFalse(_callbacks.in_callback())


if __name__ == "__main__":
    unittest.main()
