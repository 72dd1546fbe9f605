"""Shared helpers for the replkv binding tests (stdlib unittest only).

Run as `make python-tests` does:
    REPLKV_LIBRARY=$PWD/build/libreplkv.so PYTHONPATH=$PWD/bindings/python \
        python3 -m unittest discover -s tests/python -t tests/python
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Mapping, Tuple

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


def struct_layouts(structs: Mapping[str, Any],
                   ints: Iterable[Tuple[str, str, int]] = ()
                   ) -> Tuple[Dict[str, str], Dict[str, str]]:
    """(what the C compiler says, what ctypes says) about each struct of
    structs (C name -> ctypes Structure): its sizeof and each field's
    offsetof; and about ints, (label, C integer expression, Python value)
    rows. Compare the two dicts. Needs cc."""
    lines = ["#include <stdio.h>", "#include <stddef.h>",
             '#include "replkv.h"', "int main(void) {"]
    py: Dict[str, str] = {}
    for cname, s in structs.items():
        lines.append(f'printf("{cname} %zu\\n", sizeof({cname}));')
        py[cname] = str(ctypes.sizeof(s))
        for fname, *_ in s._fields_:
            lines.append(f'printf("{cname}.{fname} %zu\\n", '
                         f"offsetof({cname}, {fname}));")
            py[f"{cname}.{fname}"] = str(getattr(s, fname).offset)
    for label, expr, value in ints:
        lines.append(f'printf("{label} %lld\\n", (long long)({expr}));')
        py[label] = str(value)
    lines += ["return 0;", "}"]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "layout.c")
        exe = os.path.join(tmp, "layout")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run(["cc", "-std=c11", "-I", str(HEADER.parent), src,
                        "-o", exe], check=True, timeout=120)
        out = subprocess.run([exe], check=True, capture_output=True,
                             text=True, timeout=60).stdout
    c = dict(line.rsplit(" ", 1) for line in out.splitlines())
    return c, py
