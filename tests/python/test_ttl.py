"""Time to live: set with a TTL, expire, persist, ttl/pttl, getex. Short
TTLs, and every wait is a bounded poll."""

from __future__ import annotations

import datetime
import time
import unittest

import replkv

from _support import NodeCase, wait_until


class TTL(NodeCase):
    def test_set_with_ttl_expires(self):
        n = self.node
        self.assertTrue(n.set("k", "v", px=80))
        self.assertEqual(n.get("k"), b"v")
        ms = n.pttl("k")
        self.assertIsNotNone(ms)
        self.assertTrue(0 < ms <= 80, ms)
        self.assertTrue(wait_until(lambda: n.get("k") is None, timeout=5))
        self.assertFalse(n.exists("k"))
        self.assertIsNone(n.ttl("k"))

    def test_ttl_units(self):
        n = self.node
        n.set("s", "v", ttl=100)
        n.set("f", "v", ttl=2.5)
        n.set("td", "v", ttl=datetime.timedelta(minutes=1))
        n.set("tiny", "v", ttl=0.0001)  # rounds up to 1 ms, never to "none"
        self.assertTrue(99.0 < n.ttl("s") <= 100.0)
        self.assertTrue(2.0 < n.ttl("f") <= 2.5)
        self.assertTrue(59_000 < n.pttl("td") <= 60_000)
        self.assertTrue(wait_until(lambda: not n.exists("tiny"), timeout=5))
        self.assertIsInstance(n.ttl("s"), float)
        self.assertIsInstance(n.pttl("s"), int)

    def test_bad_ttls(self):
        n = self.node
        for kwargs in ({"ttl": 0}, {"ttl": -1}, {"px": 0},
                       {"ttl": 1, "px": 1000}, {"ttl": float("inf")},
                       {"ttl": 1, "keepttl": True}):
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(replkv.InvalidArgument):
                    n.set("k", "v", **kwargs)
        self.assertFalse(n.exists("k"))
        with self.assertRaises(TypeError):
            n.set("k", "v", ttl="10")
        with self.assertRaises(TypeError):
            n.set("k", "v", px=1.5)

    def test_no_ttl_is_none(self):
        self.node.set("k", "v")
        self.assertIsNone(self.node.ttl("k"))
        self.assertIsNone(self.node.pttl("k"))
        self.assertIsNone(self.node.pttl("missing"))

    def test_set_clears_ttl_unless_keepttl(self):
        n = self.node
        n.set("k", "v", ttl=100)
        n.set("k", "w", keepttl=True)
        self.assertIsNotNone(n.ttl("k"))
        self.assertEqual(n.get("k"), b"w")
        n.set("k", "x")
        self.assertIsNone(n.ttl("k"))

    def test_expire_persist(self):
        n = self.node
        self.assertFalse(n.expire("missing", 10))
        n.set("k", "v")
        self.assertFalse(n.persist("k"))
        self.assertTrue(n.expire("k", 10))
        self.assertTrue(9 < n.ttl("k") <= 10)
        self.assertTrue(n.pexpire("k", 5000))
        self.assertTrue(4000 < n.pttl("k") <= 5000)
        self.assertTrue(n.persist("k"))
        self.assertIsNone(n.ttl("k"))
        self.assertTrue(n.pexpire("k", 50))
        self.assertTrue(wait_until(lambda: not n.exists("k"), timeout=5))

    def test_expire_conditions(self):
        n = self.node
        n.set("k", "v")
        self.assertFalse(n.expire("k", 10, xx=True))  # has no TTL
        self.assertTrue(n.expire("k", 10, nx=True))
        self.assertFalse(n.expire("k", 20, nx=True))
        self.assertFalse(n.expire("k", 5, gt=True))
        self.assertTrue(n.expire("k", 20, gt=True))
        self.assertFalse(n.expire("k", 30, lt=True))
        self.assertTrue(n.expire("k", 15, lt=True))
        self.assertTrue(14 < n.ttl("k") <= 15)
        with self.assertRaises(replkv.InvalidArgument):
            n.expire("k", 10, nx=True, xx=True)

    def test_expire_non_positive_deletes(self):
        n = self.node
        n.set("a", "v")
        n.set("b", "v")
        self.assertTrue(n.expire("a", 0))
        self.assertFalse(n.exists("a"))
        self.assertTrue(n.pexpire("b", -5))
        self.assertFalse(n.exists("b"))

    def test_expireat(self):
        n = self.node
        n.set("k", "v")
        self.assertTrue(n.expireat("k", time.time() + 60))
        self.assertTrue(55 < n.ttl("k") <= 60)
        when = datetime.datetime.now() + datetime.timedelta(seconds=30)
        self.assertTrue(n.expireat("k", when))
        self.assertTrue(25 < n.ttl("k") <= 30)
        self.assertTrue(n.expireat("k", time.time() - 10))
        self.assertFalse(n.exists("k"))

    def test_getex(self):
        n = self.node
        self.assertIsNone(n.getex("missing", ttl=10))
        n.set("k", "v")
        self.assertEqual(n.getex("k", ttl=10), b"v")
        self.assertTrue(9 < n.ttl("k") <= 10)
        self.assertEqual(n.getex("k"), b"v")
        self.assertIsNotNone(n.ttl("k"))
        self.assertEqual(n.getex("k", persist=True), b"v")
        self.assertIsNone(n.ttl("k"))
        self.assertEqual(n.getex("k", px=60), b"v")
        self.assertTrue(wait_until(lambda: n.get("k") is None, timeout=5))
        with self.assertRaises(replkv.InvalidArgument):
            n.getex("k", ttl=1, persist=True)

    def test_incr_and_append_keep_ttl(self):
        n = self.node
        n.set("c", "1", ttl=100)
        n.incr("c")
        self.assertIsNotNone(n.ttl("c"))
        n.append("c", "0")
        self.assertIsNotNone(n.ttl("c"))
        self.assertEqual(n.get("c"), b"20")

    def test_expired_keys_counted_in_info(self):
        n = self.node
        for i in range(20):
            n.set(f"k{i}", "v", px=20)
        self.assertTrue(wait_until(
            lambda: n.info("stats")["expired_keys"] >= 20, timeout=5))
        self.assertEqual(list(n.scan()), [])


if __name__ == "__main__":
    unittest.main()
