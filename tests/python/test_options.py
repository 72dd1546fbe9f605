"""Options by name (dict, keyword arguments), config files, runtime config."""

from __future__ import annotations

import os
import tempfile
import unittest

import replkv
from replkv import _config

from _support import NodeCase


class Conversion(unittest.TestCase):
    def test_names_and_values(self):
        self.assertEqual(_config.option_name("maxmemory_policy"),
                         "maxmemory-policy")
        self.assertEqual(_config.option_value(True), "yes")
        self.assertEqual(_config.option_value(False), "no")
        self.assertEqual(_config.option_value(100), "100")
        self.assertEqual(_config.option_value(b"1mb"), "1mb")

    def test_split_args_like_redis(self):
        split = _config.split_args
        self.assertEqual(split('  a  b\tc '), ["a", "b", "c"])
        self.assertEqual(split('dir "/tmp/my dir" x'),
                         ["dir", "/tmp/my dir", "x"])
        self.assertEqual(split(r'k "a\"b\n\x41"'), ["k", 'a"b\nA'])
        self.assertEqual(split(r"k 'it\'s'"), ["k", "it's"])
        self.assertEqual(split('k ""'), ["k", ""])
        for bad in ('k "open', "k 'open", 'k "a"b'):
            with self.subTest(line=bad):
                with self.assertRaises(_config.ConfigSyntaxError):
                    split(bad)


class NodeOptions(NodeCase):
    def test_defaults(self):
        self.assertEqual(self.node.config_get("maxmemory"), "0")
        self.assertEqual(self.node.config_get("maxmemory-policy"),
                         "noeviction")

    def test_dict_and_keywords(self):
        node = self.open({"maxmemory": "1mb", "hz": 20},
                         maxmemory_policy="allkeys-lru", hz=50)
        self.assertEqual(node.config_get("maxmemory"), str(1 << 20))
        self.assertEqual(node.config_get("maxmemory_policy"), "allkeys-lru")
        self.assertEqual(node.config_get("hz"), "50")  # keywords win

    def test_unknown_option_names_it(self):
        with self.assertRaises(replkv.InvalidArgument) as cm:
            replkv.Node(no_such_option=1)
        self.assertIn("no-such-option", str(cm.exception))
        self.assertEqual(cm.exception.name, "REPLKV_EINVAL")

    def test_bad_value_names_option(self):
        for kwargs, needle in (({"maxmemory": "10zb"}, "maxmemory"),
                               ({"hz": 0}, "hz"),
                               ({"maxmemory_policy": "sometimes"},
                                "maxmemory-policy"),
                               ({"hz": True}, "yes")):
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(replkv.InvalidArgument) as cm:
                    replkv.Node(**kwargs)
                self.assertIn(needle, str(cm.exception))
                self.assertIsInstance(cm.exception, ValueError)

    def test_nul_in_value_refused(self):
        with self.assertRaises(replkv.InvalidArgument):
            replkv.Node(maxmemory="1mb\0junk")

    def test_config_set_get(self):
        self.node.config_set("maxmemory", "2mb")
        self.assertEqual(self.node.config_get("maxmemory"), str(2 * 1024 * 1024))
        self.node.config_set("maxmemory_samples", 7)
        self.assertEqual(self.node.config_get("maxmemory-samples"), "7")
        self.assertEqual(self.node.info()["maxmemory"], 2 * 1024 * 1024)

    def test_config_errors(self):
        with self.assertRaises(replkv.InvalidArgument) as cm:
            self.node.config_set("hz", "fast")
        self.assertIn("hz", str(cm.exception))
        self.assertEqual(self.node.config_get("hz"), "10")  # unchanged
        with self.assertRaises(replkv.InvalidArgument) as cm:
            self.node.config_get("nope")
        self.assertIn("nope", str(cm.exception))


class FromConfig(unittest.TestCase):
    def write(self, text: str) -> str:
        fd, path = tempfile.mkstemp(suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_reads_directives(self):
        path = self.write(
            "# a redis.conf\n"
            "\n"
            "maxmemory 10mb\n"
            "   # indented comment\n"
            'maxmemory-policy "allkeys-lru"\n'
            "HZ 25\n"
        )
        with replkv.Node.from_config(path) as node:
            self.assertEqual(node.config_get("maxmemory"), str(10 << 20))
            self.assertEqual(node.config_get("maxmemory-policy"),
                             "allkeys-lru")
            self.assertEqual(node.config_get("hz"), "25")
            node.set("k", "v")
            self.assertEqual(node.get("k"), b"v")

    def test_keywords_override_file(self):
        path = self.write("hz 25\n")
        with replkv.Node.from_config(path, hz=30) as node:
            self.assertEqual(node.config_get("hz"), "30")

    def test_bad_value_names_file_and_line(self):
        path = self.write("# comment\nhz 10\nmaxmemory 10zb\n")
        with self.assertRaises(replkv.InvalidArgument) as cm:
            replkv.Node.from_config(path)
        msg = str(cm.exception)
        self.assertTrue(msg.startswith(f"{path}:3: "), msg)
        self.assertIn("maxmemory", msg)

    def test_unknown_directive_names_file_and_line(self):
        path = self.write("hz 10\n\nbogus-directive 1\n")
        with self.assertRaises(replkv.InvalidArgument) as cm:
            replkv.Node.from_config(path)
        self.assertIn(f"{path}:3: ", str(cm.exception))
        self.assertIn("bogus-directive", str(cm.exception))

    def test_syntax_errors_name_file_and_line(self):
        for text, line in (('hz 10\nmaxmemory "10mb\n', 2),
                           ("maxmemory\n", 1)):
            with self.subTest(text=text):
                path = self.write(text)
                with self.assertRaises(replkv.InvalidArgument) as cm:
                    replkv.Node.from_config(path)
                self.assertIn(f"{path}:{line}: ", str(cm.exception))

    def test_missing_file(self):
        with self.assertRaises(FileNotFoundError):
            replkv.Node.from_config("/nonexistent/replkv.conf")


if __name__ == "__main__":
    unittest.main()
