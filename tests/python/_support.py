"""Shared helpers for the replkv binding tests (stdlib unittest only).

Run as `make python-tests` does:
    REPLKV_LIBRARY=$PWD/build/libreplkv.so PYTHONPATH=$PWD/bindings/python \
        python3 -m unittest discover -s tests/python -t tests/python
"""

from __future__ import annotations

import time
import unittest
from pathlib import Path
from typing import Callable

import replkv

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parents[1]
HEADER = REPO / "include" / "replkv.h"


def wait_until(pred: Callable[[], bool], timeout: float = 5.0,
               interval: float = 0.005) -> bool:
    """Polls pred until it is true or timeout seconds pass (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class NodeCase(unittest.TestCase):
    """A test case with a fresh standalone node in self.node."""

    def setUp(self) -> None:
        self.node = replkv.Node()
        self.addCleanup(self.node.close)

    def open(self, *args, **kwargs) -> replkv.Node:
        node = replkv.Node(*args, **kwargs)
        self.addCleanup(node.close)
        return node
