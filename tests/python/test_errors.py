"""The exception tree against include/replkv.h's REPLKV_ERRNO_MAP."""

from __future__ import annotations

import builtins
import pickle
import re
import unittest

import replkv
from replkv import _lib, errors

from _support import HEADER, NodeCase


def header_errno_map():
    """[(name, value, message)] parsed from the REPLKV_ERRNO_MAP X-macro."""
    text = HEADER.read_text()
    # The macro ends at the first line without a trailing backslash.
    start = text.index("#define REPLKV_ERRNO_MAP(X)")
    lines = []
    for line in text[start:].splitlines():
        lines.append(line)
        if not line.rstrip().endswith("\\"):
            break
    body = "\n".join(lines)
    rows = re.findall(r'X\(\s*(E[A-Z0-9_]+)\s*,\s*(-?\d+)\s*,\s*"([^"]*)"\s*\)',
                      body)
    return [(n, int(v), msg) for n, v, msg in rows]


class HeaderSync(unittest.TestCase):
    def setUp(self):
        self.rows = header_errno_map()

    def test_header_parsed(self):
        self.assertGreaterEqual(len(self.rows), 22)
        self.assertEqual(self.rows[0][:2], ("EINVAL", -1))

    def test_every_code_has_its_class(self):
        table = {value: (name, cls) for name, value, cls in errors.ERRORS}
        for name, value, _msg in self.rows:
            with self.subTest(code=name):
                self.assertIn(value, table, f"REPLKV_{name} has no class")
                tname, cls = table[value]
                self.assertEqual(tname, name)
                self.assertTrue(issubclass(cls, replkv.ReplkvError))
                self.assertEqual(cls.name, "REPLKV_" + name)
                self.assertEqual(cls.code, value)
                self.assertIs(errors.error_class(value), cls)

    def test_table_has_nothing_extra_and_same_order(self):
        self.assertEqual([(n, v) for n, v, _ in self.rows],
                         [(n, v) for n, v, _ in errors.ERRORS])

    def test_classes_distinct_and_exported(self):
        classes = [cls for _, _, cls in errors.ERRORS]
        self.assertEqual(len(set(classes)), len(classes))
        for cls in classes:
            self.assertIs(getattr(replkv, cls.__name__), cls)

    def test_library_agrees_with_header(self):
        for name, value, msg in self.rows:
            with self.subTest(code=name):
                self.assertEqual(_lib.L.replkv_err_name(value).decode(),
                                 "REPLKV_" + name)
                self.assertEqual(_lib.L.replkv_strerror(value).decode(), msg)


class Hierarchy(unittest.TestCase):
    def test_builtin_bases(self):
        self.assertTrue(issubclass(replkv.InvalidArgument, ValueError))
        self.assertTrue(issubclass(replkv.TimeoutError, builtins.TimeoutError))
        self.assertTrue(issubclass(replkv.IntegerOverflowError,
                                   builtins.OverflowError))
        self.assertTrue(issubclass(replkv.NetworkError, ConnectionError))
        self.assertTrue(issubclass(replkv.ReplkvIOError, OSError))
        self.assertTrue(issubclass(replkv.OutOfMemoryError, MemoryError))
        self.assertFalse(issubclass(replkv.ReplkvError, ValueError))
        self.assertIsNot(replkv.TimeoutError, builtins.TimeoutError)

    def test_attributes_and_str(self):
        e = replkv.TimeoutError("waited 10 ms")
        self.assertEqual((e.code, e.name, e.message, str(e)),
                         (-12, "REPLKV_ETIMEDOUT", "waited 10 ms",
                          "waited 10 ms"))
        self.assertIsInstance(e, builtins.TimeoutError)
        with self.assertRaises(builtins.TimeoutError):
            raise e

    def test_read_only_primary_address(self):
        self.assertIsNone(replkv.ReadOnlyError("replica").primary_address)
        e = replkv.ReadOnlyError("replica",
                                 primary_address=("10.0.0.1", 7000))
        self.assertEqual(e.primary_address, ("10.0.0.1", 7000))
        e = pickle.loads(pickle.dumps(e))
        self.assertEqual(e.primary_address, ("10.0.0.1", 7000))
        self.assertEqual(e.code, -9)

    def test_pickle_round_trip(self):
        for cls in (replkv.InvalidArgument, replkv.TimeoutError,
                    replkv.ReadOnlyError, replkv.NetworkError):
            with self.subTest(cls=cls.__name__):
                e = pickle.loads(pickle.dumps(cls("detail")))
                self.assertIs(type(e), cls)
                self.assertEqual((e.code, e.name, str(e)),
                                 (cls.code, cls.name, "detail"))

    def test_unknown_code(self):
        e = _lib.error(-999)
        self.assertIs(type(e), replkv.ReplkvError)
        self.assertEqual((e.code, e.name), (-999, "REPLKV_UNKNOWN"))


class FromLibrary(NodeCase):
    def test_error_carries_last_error_detail(self):
        with self.assertRaises(replkv.InvalidArgument) as cm:
            self.node.config_set("maxmemory", "10zb")
        e = cm.exception
        self.assertEqual((e.code, e.name), (-1, "REPLKV_EINVAL"))
        self.assertIn("maxmemory", str(e))
        self.assertIn("10zb", str(e))

    def test_empty_key_is_invalid(self):
        with self.assertRaises(replkv.InvalidArgument):
            self.node.set(b"", b"v")
        with self.assertRaises(ValueError):  # InvalidArgument is one
            self.node.get("")


if __name__ == "__main__":
    unittest.main()
