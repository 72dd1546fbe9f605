"""Shared helpers for the replkv binding tests (stdlib unittest only).

Run as `make python-tests` does:
    REPLKV_LIBRARY=$PWD/build/libreplkv.so PYTHONPATH=$PWD/bindings/python \
        python3 -m unittest discover -s tests/python -t tests/python
"""

from __future__ import annotations

import socket
import time
import unittest
from pathlib import Path
from typing import Any, Callable

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


def free_port() -> int:
    """A 127.0.0.1 TCP port that was free a moment ago: the kernel picks it
    when a socket binds port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_listening(case: unittest.TestCase, **options: Any) -> replkv.Node:
    """A node listening for replicas on a free 127.0.0.1 port (see
    port_of()), closed by case's cleanup. Another process may take the port between
    free_port() and the node's bind, so a few are tried."""
    for attempt in range(20):
        port = free_port()
        try:
            node = replkv.Node(bind="127.0.0.1", port=port, **options)
        except replkv.NetworkError:
            if attempt == 19:
                raise
            continue
        case.addCleanup(node.close)
        return node
    raise AssertionError("unreachable")


def port_of(node: replkv.Node) -> int:
    """The port a node listens on (its "port" option)."""
    return int(node.config_get("port"))
