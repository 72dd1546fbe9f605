"""Persistence through the binding: off by default, and with dir and
appendonly the data survives a restart."""

from __future__ import annotations

import tempfile
import unittest

import replkv


class Persistence(unittest.TestCase):
    def test_off_by_default(self):
        with replkv.Node() as node:
            with self.assertRaises(replkv.StateError):
                node.snapshot()
            self.assertEqual(node.info("persistence")["aof_enabled"], 0)

    def test_restart(self):
        with tempfile.TemporaryDirectory(prefix="rkv_py_") as d:
            opts = dict(dir=d, appendonly="yes", appendfsync="always")
            with replkv.Node(**opts) as node:
                node.set(b"a", b"1")
                node.snapshot()
                node.set(b"b", b"2")
                self.assertEqual(node.info("persistence")["aof_enabled"], 1)
                digest = node.digest()
            with replkv.Node(**opts) as node:
                self.assertEqual(node.get(b"a"), b"1")
                self.assertEqual(node.get(b"b"), b"2")
                self.assertEqual(node.digest(), digest)


if __name__ == "__main__":
    unittest.main()
