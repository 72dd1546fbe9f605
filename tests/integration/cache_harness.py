"""cache_harness.py - what the replkv-cache integration tests share: where
the binary is, the ok/bad/check reporting with its closing "N passed, N
failed" line, free loopback ports (with the peer port, client port +
10000, and optionally the Sentinel port, + 20000, free too), and bounded
waits. Each test keeps its own Server class:
they start servers differently."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
BUILD = os.environ.get("BUILD", "build")
BIN = os.path.join(BUILD if os.path.isabs(BUILD) else
                   os.path.join(ROOT, BUILD), "replkv-cache")
OFFSET = 10000  # replkv-cache's default repl-port: client port + 10000
SENTINEL_OFFSET = 20000  # its default sentinel-port: client port + 20000

_counts = {"passed": 0, "failed": 0}


def ok(name):
    _counts["passed"] += 1
    print("ok   - " + name, flush=True)


def bad(name, detail=""):
    _counts["failed"] += 1
    print("FAIL - " + name, flush=True)
    for line in str(detail).splitlines()[:40]:
        print("       " + line)


def check(name, want, got):
    if want == got:
        ok(name)
    else:
        bad(name, "want %r\ngot  %r" % (want, got))


def finish():
    """Prints the closing line and exits: non-zero on a failure, or when
    nothing was checked at all."""
    print("%d passed, %d failed" % (_counts["passed"], _counts["failed"]))
    sys.exit(0 if _counts["failed"] == 0 and _counts["passed"] > 0 else 1)


def port_free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


_taken = set()


def free_port(pair=True, sentinel=False):
    """A free port, never handed out twice; with pair, its peer port
    (+ OFFSET) is free too; with sentinel, its Sentinel port
    (+ SENTINEL_OFFSET) as well."""
    offsets = [0] + ([OFFSET] if pair else []) + (
        [SENTINEL_OFFSET] if sentinel else [])
    for _ in range(400):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if any(port + o > 65535 or port + o in _taken for o in offsets):
            continue
        if all(port_free(port + o) for o in offsets):
            _taken.update(port + o for o in offsets)
            return port
    raise RuntimeError("no free port")


WAIT_IGNORES = (redis.exceptions.RedisError, OSError)


def wait_until(pred, timeout=15.0, step=0.05, ignore=WAIT_IGNORES):
    """Polls pred until true or timeout seconds pass; the exceptions in
    ignore count as "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except ignore:
            pass
        time.sleep(step)
    return False


def missing_tools(*tools):
    """Prints what is missing (the binary, or a tool on PATH) with the
    closing line of a failed run; True when something is."""
    if not os.access(BIN, os.X_OK):
        print("missing %s (make)" % BIN)
    else:
        gone = [t for t in tools if shutil.which(t) is None]
        if not gone:
            return False
        print("missing %s (make deps)" % ", ".join(gone))
    print("0 passed, 1 failed")
    return True


def stop_process(p, timeout=10):
    """Ends p (a Popen this test started), stopped or not: SIGCONT, SIGTERM,
    then SIGKILL after timeout seconds. Returns its exit status, or None
    when it had already ended."""
    if p is None or p.poll() is not None:
        return None
    os.kill(p.pid, signal.SIGCONT)
    p.terminate()
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait(timeout)
