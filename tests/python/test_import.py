"""Library lookup and the version check done at import."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest
from unittest import mock

import replkv
from replkv import _lib, _version

from _support import REPO


class FakeLibrary:
    def __init__(self, number: int) -> None:
        self.number = number
        self.path = "/fake/libreplkv.so"

    def version(self):
        n = self.number
        return n // 10000, (n // 100) % 100, n % 100


class VersionCheck(unittest.TestCase):
    def test_loaded_library_matches(self):
        major, minor, _ = replkv.library_version_info()
        self.assertEqual((major, minor), tuple(replkv.LIBRARY_VERSION))
        self.assertEqual(replkv.library_version(),
                         "%d.%d.%d" % replkv.library_version_info())
        _lib.check_version(_lib.L)  # no exception

    def test_expected_version_mismatch_raises_import_error(self):
        with mock.patch.object(_version, "LIBRARY_VERSION", (7, 3)):
            with self.assertRaises(ImportError) as cm:
                _lib.check_version(_lib.L)
        msg = str(cm.exception)
        self.assertIn("7.3", msg)
        self.assertIn(replkv.library_version(), msg)
        self.assertIn("REPLKV_LIBRARY", msg)

    def test_library_of_another_minor_or_major(self):
        major, minor = _version.LIBRARY_VERSION
        for number in ((major * 10000 + (minor + 1) * 100),
                       ((major + 1) * 10000 + minor * 100)):
            with self.subTest(number=number):
                with self.assertRaises(ImportError) as cm:
                    _lib.check_version(FakeLibrary(number))
                self.assertIn("/fake/libreplkv.so", str(cm.exception))

    def test_other_patch_level_is_accepted(self):
        major, minor = _version.LIBRARY_VERSION
        _lib.check_version(FakeLibrary(major * 10000 + minor * 100 + 42))


class Lookup(unittest.TestCase):
    def test_env_variable_wins_alone(self):
        with mock.patch.dict(os.environ, {"REPLKV_LIBRARY": "/x/lib.so"}):
            self.assertEqual(_lib.candidates(), [("/x/lib.so", "REPLKV_LIBRARY")])

    def test_source_tree_then_loader(self):
        env = {k: v for k, v in os.environ.items() if k != "REPLKV_LIBRARY"}
        with mock.patch.dict(os.environ, env, clear=True):
            cands = _lib.candidates()
        self.assertEqual(cands[-1], ("libreplkv.so.0", "dynamic loader"))
        # The source-tree candidate exists only for the package as it sits
        # in the repository, not for a pip-installed copy.
        in_tree = (REPO / "bindings" / "python") in \
            __import__("pathlib").Path(replkv.__file__).resolve().parents
        if in_tree and (REPO / "build" / "libreplkv.so").exists():
            self.assertEqual(cands[0], (str(REPO / "build" / "libreplkv.so"),
                                        "source tree"))

    def _import_in_subprocess(self, env_lib: str):
        env = dict(os.environ, REPLKV_LIBRARY=env_lib,
                   PYTHONPATH=str(REPO / "bindings" / "python"))
        return subprocess.run(
            [sys.executable, "-c", "import replkv"], env=env,
            capture_output=True, text=True, timeout=60)

    def test_bad_env_path_is_an_import_error(self):
        r = self._import_in_subprocess("/nonexistent/libreplkv.so")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        self.assertIn("REPLKV_LIBRARY=/nonexistent/libreplkv.so", r.stderr)

    def test_not_a_libreplkv_is_an_import_error(self):
        import ctypes.util
        libm = ctypes.util.find_library("m") or "libm.so.6"
        r = self._import_in_subprocess(libm)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        self.assertIn("replkv_version_number", r.stderr)


if __name__ == "__main__":
    unittest.main()
