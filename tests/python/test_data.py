"""The data methods, the mapping protocol, keys and values of every kind."""

from __future__ import annotations

import unittest

import replkv
from replkv.node import _GET_BUF

from _support import NodeCase


class Strings(NodeCase):
    def test_set_get(self):
        self.assertTrue(self.node.set(b"k", b"v"))
        self.assertEqual(self.node.get(b"k"), b"v")
        self.assertIsNone(self.node.get(b"missing"))
        self.assertTrue(self.node.set(b"k", b"w"))  # overwrite
        self.assertEqual(self.node.get(b"k"), b"w")

    def test_str_keys_and_values_are_utf8(self):
        self.node.set("ключ", "значение")
        self.assertEqual(self.node.get("ключ".encode()), "значение".encode())
        self.assertEqual(self.node.get("ключ"), "значение".encode())

    def test_value_types(self):
        n = self.node
        n.set("ba", bytearray(b"array"))
        n.set("mv", memoryview(b"..view..")[2:6])
        n.set("int", 42)
        n.set("float", 1.5)
        n.set("empty", b"")
        self.assertEqual(n.get("ba"), b"array")
        self.assertEqual(n.get("mv"), b"view")
        self.assertEqual(n.get("int"), b"42")
        self.assertEqual(n.get("float"), b"1.5")
        self.assertEqual(n.get("empty"), b"")
        self.assertTrue(n.exists("empty"))
        for bad in (None, True, object(), ["x"]):
            with self.subTest(value=bad):
                with self.assertRaises(TypeError):
                    n.set("k", bad)
        for bad in (None, 1, 1.0):
            with self.subTest(key=bad):
                with self.assertRaises(TypeError):
                    n.get(bad)

    def test_binary_keys_and_values_with_nul(self):
        n = self.node
        n.set(b"a\x00b", b"one\x00")
        n.set(b"a\x00c", b"\x00two")
        n.set(b"a", b"three")
        self.assertEqual(n.get(b"a\x00b"), b"one\x00")
        self.assertEqual(n.get(b"a\x00c"), b"\x00two")
        self.assertEqual(n.get(b"a"), b"three")
        every = bytes(range(256))
        n.set(every, every * 3)
        self.assertEqual(n.get(every), every * 3)
        self.assertIn(every, set(n.scan()))
        self.assertIn(b"a\x00b", set(n.scan()))
        self.assertEqual(n.delete(b"a\x00b"), 1)
        self.assertEqual(n.get(b"a\x00c"), b"\x00two")

    def test_large_values_take_the_retry_path(self):
        for size in (_GET_BUF - 1, _GET_BUF, _GET_BUF + 1, 3 << 20):
            with self.subTest(size=size):
                v = bytes(i % 251 for i in range(size))
                self.node.set(b"big", v)
                self.assertEqual(self.node.get(b"big"), v)
        self.node.set(b"big", b"small again")
        self.assertEqual(self.node.get(b"big"), b"small again")

    def test_nx_xx(self):
        n = self.node
        self.assertFalse(n.set("k", "1", xx=True))
        self.assertIsNone(n.get("k"))
        self.assertTrue(n.set("k", "1", nx=True))
        self.assertFalse(n.set("k", "2", nx=True))
        self.assertEqual(n.get("k"), b"1")
        self.assertTrue(n.set("k", "3", xx=True))
        self.assertEqual(n.get("k"), b"3")
        with self.assertRaises(replkv.InvalidArgument):
            n.set("k", "4", nx=True, xx=True)
        self.assertEqual(n.get("k"), b"3")

    def test_getset(self):
        n = self.node
        self.assertIsNone(n.getset("k", "1"))
        self.assertEqual(n.getset("k", "2"), b"1")
        self.assertEqual(n.get("k"), b"2")

    def test_getdel(self):
        self.node.set("k", b"v\x00v")
        self.assertEqual(self.node.getdel("k"), b"v\x00v")
        self.assertFalse(self.node.exists("k"))
        self.assertIsNone(self.node.getdel("k"))

    def test_append(self):
        self.assertEqual(self.node.append("k", "ab"), 2)
        self.assertEqual(self.node.append("k", b"\x00cd"), 5)
        self.assertEqual(self.node.get("k"), b"ab\x00cd")

    def test_incr_decr(self):
        n = self.node
        self.assertEqual(n.incr("c"), 1)
        self.assertEqual(n.incr("c", 10), 11)
        self.assertEqual(n.decr("c"), 10)
        self.assertEqual(n.decr("c", 20), -10)
        self.assertEqual(n.get("c"), b"-10")
        n.set("c", "41")
        self.assertEqual(n.incr("c"), 42)

    def test_incr_not_integer_leaves_value(self):
        n = self.node
        for text in (b"abc", b"1.5", b" 1", b"", b"99999999999999999999"):
            with self.subTest(value=text):
                n.set("c", text)
                with self.assertRaises(replkv.NotIntegerError) as cm:
                    n.incr("c")
                self.assertEqual(cm.exception.name, "REPLKV_ENOTINT")
                self.assertEqual(n.get("c"), text)

    def test_incr_overflow(self):
        n = self.node
        n.set("c", str(2**63 - 1))
        with self.assertRaises(replkv.IntegerOverflowError):
            n.incr("c")
        with self.assertRaises(OverflowError):
            n.incr("c", 1)
        self.assertEqual(n.get("c"), str(2**63 - 1).encode())
        self.assertEqual(n.incr("c", -(2**63 - 1)), 0)
        with self.assertRaises(replkv.InvalidArgument):
            n.incr("c", 2**63)
        with self.assertRaises(TypeError):
            n.incr("c", 1.5)


class Keys(NodeCase):
    def test_delete_and_exists(self):
        n = self.node
        n.set("a", "1")
        n.set("b", "2")
        self.assertTrue(n.exists("a"))
        self.assertEqual(n.delete("a", "b", "nope"), 2)
        self.assertFalse(n.exists("a"))
        self.assertEqual(n.delete("a"), 0)
        self.assertEqual(n.delete(), 0)

    def test_count_and_flush(self):
        n = self.node
        self.assertEqual(n.count(), 0)
        for i in range(100):
            n.set(f"k{i}", "v")
        self.assertEqual(n.count(), 100)
        self.assertEqual(len(n), 100)
        n.flush()
        self.assertEqual(n.count(), 0)
        self.assertIsNone(n.get("k1"))

    def test_scan_visits_every_key(self):
        n = self.node
        keys = {f"user:{i}".encode() for i in range(2000)}
        keys |= {f"item:{i}".encode() for i in range(50)}
        for k in keys:
            n.set(k, b"x")
        for count in (1, 10, 100, 5000):
            with self.subTest(count=count):
                self.assertEqual(set(n.scan(count=count)), keys)
        self.assertEqual(set(n.scan(match="item:*")),
                         {k for k in keys if k.startswith(b"item:")})
        self.assertEqual(set(n.scan(match=b"user:1?")),
                         {b"user:%d" % i for i in range(10, 20)})
        self.assertEqual(set(iter(n)), keys)
        with self.assertRaises(replkv.InvalidArgument):
            n.scan(count=0)

    def test_scan_empty(self):
        self.assertEqual(list(self.node.scan()), [])

    def test_digest(self):
        n = self.node
        self.assertEqual(n.digest(), bytes(16))
        n.set("a", "1")
        d1 = n.digest()
        self.assertEqual(len(d1), 16)
        self.assertNotEqual(d1, bytes(16))
        self.assertEqual(len(d1.hex()), 32)
        n.set("a", "2")
        self.assertNotEqual(n.digest(), d1)
        n.set("a", "1")
        self.assertEqual(n.digest(), d1)

    def test_digest_equal_across_nodes_any_order(self):
        other = self.open()
        items = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(300)]
        for k, v in items:
            self.node.set(k, v)
        for k, v in reversed(items):
            other.set(k, v)
        self.assertEqual(self.node.digest(), other.digest())
        other.set(b"k0", b"changed")
        self.assertNotEqual(self.node.digest(), other.digest())


class Mapping(NodeCase):
    def test_mapping_protocol(self):
        n = self.node
        n[b"k"] = b"v"
        n["s"] = "t"
        self.assertEqual(n[b"k"], b"v")
        self.assertEqual(n["s"], b"t")
        self.assertIn(b"k", n)
        self.assertNotIn(b"zz", n)
        self.assertEqual(len(n), 2)
        with self.assertRaises(KeyError) as cm:
            n[b"zz"]
        self.assertEqual(cm.exception.args, (b"zz",))
        del n[b"k"]
        self.assertNotIn(b"k", n)
        with self.assertRaises(KeyError):
            del n[b"k"]
        self.assertTrue(bool(n))  # truthy even when it has keys or not
        n.flush()
        self.assertTrue(bool(n))


class Info(NodeCase):
    def test_info_all(self):
        n = self.node
        n.set("a", "1")
        n.set("b", "2", ttl=100)
        n.get("a")
        n.get("missing")
        info = n.info()
        self.assertEqual(info["replkv_version"], replkv.library_version())
        self.assertIsInstance(info["used_memory"], int)
        self.assertGreater(info["used_memory"], 0)
        self.assertEqual(info["maxmemory_policy"], "noeviction")
        self.assertEqual(info["db0"]["keys"], 2)
        self.assertEqual(info["db0"]["expires"], 1)
        self.assertGreaterEqual(info["keyspace_hits"], 1)
        self.assertGreaterEqual(info["keyspace_misses"], 1)
        self.assertEqual(n.info("all").keys(), info.keys())

    def test_info_section(self):
        mem = self.node.info("memory")
        self.assertIn("used_memory", mem)
        self.assertNotIn("uptime_in_seconds", mem)
        self.assertIn("uptime_in_seconds", self.node.info("SERVER"))
        text = self.node.info_text("stats")
        self.assertTrue(text.startswith("# Stats"), text)
        with self.assertRaises(replkv.InvalidArgument) as cm:
            self.node.info("bogus")
        self.assertIn("bogus", str(cm.exception))

    def test_parse_info(self):
        parsed = replkv.parse_info(
            "# Server\r\nversion:0.1.0\r\nn:12\r\nneg:-3\r\nf:1.25\r\n"
            "h:1.00M\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n")
        self.assertEqual(parsed, {
            "version": "0.1.0", "n": 12, "neg": -3, "f": 1.25, "h": "1.00M",
            "db0": {"keys": 3, "expires": 1, "avg_ttl": 0}})


if __name__ == "__main__":
    unittest.main()
