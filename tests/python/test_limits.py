"""proto-max-bulk-len and maxmemory."""

from __future__ import annotations

import unittest

import replkv

from _support import NodeCase


class BulkLen(NodeCase):
    def test_oversize_key_and_value(self):
        n = self.open(proto_max_bulk_len=16)
        self.assertTrue(n.set(b"k" * 16, b"v" * 16))
        with self.assertRaises(replkv.TooBigError) as cm:
            n.set(b"k" * 17, b"v")
        self.assertEqual(cm.exception.name, "REPLKV_ETOOBIG")
        self.assertIn("proto-max-bulk-len", str(cm.exception))
        with self.assertRaises(replkv.TooBigError):
            n.set(b"k", b"v" * 17)
        self.assertFalse(n.exists(b"k"))
        with self.assertRaises(replkv.TooBigError):
            n.get(b"k" * 17)
        n.set(b"a", b"v" * 10)
        with self.assertRaises(replkv.TooBigError):
            n.append(b"a", b"v" * 7)
        self.assertEqual(n.get(b"a"), b"v" * 10)

    def test_runtime_change(self):
        self.node.set("k", "x" * 100)
        self.node.config_set("proto-max-bulk-len", 50)
        with self.assertRaises(replkv.TooBigError):
            self.node.set("k2", "x" * 51)
        self.assertEqual(self.node.get("k"), b"x" * 100)


class MaxMemory(NodeCase):
    def fill(self, node, limit=200_000):
        """Writes 100-byte values until MaxMemoryError; returns how many
        keys were stored (bounded by limit)."""
        for i in range(limit):
            try:
                node.set(b"key:%08d" % i, b"x" * 100)
            except replkv.MaxMemoryError as e:
                self.assertEqual(e.name, "REPLKV_EMAXMEMORY")
                return i
        self.fail(f"no MaxMemoryError after {limit} writes")

    def test_noeviction_refuses_writes(self):
        n = self.open(maxmemory="2mb", maxmemory_policy="noeviction")
        stored = self.fill(n)
        self.assertGreater(stored, 0)
        self.assertFalse(n.exists(b"key:%08d" % stored))  # nothing changed
        self.assertEqual(n.count(), stored)
        self.assertEqual(n.get(b"key:%08d" % 0), b"x" * 100)
        with self.assertRaises(replkv.MaxMemoryError):
            n.set(b"another", b"x" * 100)
        # Reads and deletes still work; freeing memory lets writes back in.
        self.assertEqual(n.delete(*[b"key:%08d" % i for i in range(stored)]),
                         stored)
        self.assertTrue(n.set(b"another", b"x" * 100))

    def test_lru_evicts_instead(self):
        n = self.open(maxmemory="2mb", maxmemory_policy="allkeys-lru")
        for i in range(40_000):  # ~6 MB of data through a 2 MB node
            n.set(b"key:%08d" % i, b"x" * 100)
        info = n.info()
        self.assertGreater(info["evicted_keys"], 0)
        self.assertLess(n.count(), 40_000)
        self.assertLessEqual(info["used_memory"], 2 * 1024 * 1024 * 1.1)
        self.assertEqual(n.get(b"key:%08d" % 39_999), b"x" * 100)


if __name__ == "__main__":
    unittest.main()
