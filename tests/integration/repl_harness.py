"""Helpers for the replication integration tests: nodes as processes
(tests/tools/rkv_node.c), free ports, a TCP proxy that can cut and restore
links, and bounded waits. Python 3 standard library only."""

import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

BUILD = os.environ.get("BUILD", "build")
NODE_BIN = os.path.join(BUILD, "tests", "rkv_node")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, timeout=15.0, step=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


class Node:
    """One rkv_node process; cmd() sends a line and returns the answer."""

    def __init__(self, port=0, replicaof=None, **opts):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="rkv-")
        args = [NODE_BIN, "--port", str(port)]
        if replicaof:
            args += ["--replicaof", "%s %d" % replicaof]
        for k, v in opts.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        self.log_path = os.path.join(self.dir, "node.log")
        self.log = open(self.log_path, "w")
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.log,
                                  text=True, bufsize=1)
        line = self._readline(10)
        if line != "ready":
            raise RuntimeError("node did not start: %r (%s)" %
                               (line, self.logs()))

    def _readline(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise AssertionError("node did not answer in %ss" % timeout)
        return self.p.stdout.readline().rstrip("\n")

    def cmd(self, line, timeout=30):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self._readline(timeout)

    def info(self, section="replication"):
        fields = {}
        for part in self.cmd("info " + section).split():
            if ":" in part:
                k, v = part.split(":", 1)
                fields[k] = v
        return fields

    def logs(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def kill9(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait(10)

    def close(self):
        if self.p.poll() is None:
            try:
                self.cmd("quit", 10)
            except (AssertionError, BrokenPipeError, OSError):
                pass
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()
        for f in (self.p.stdin, self.p.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.log.close()
        if not os.environ.get("RKV_KEEP_LOGS"):
            shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """Forwards 127.0.0.1:listen_port to 127.0.0.1:target; cut() drops every
    connection and refuses new ones until restore()."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.up = True
        self.conns = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if not self.up:
                c.close()
                continue
            try:
                s = socket.create_connection(("127.0.0.1", self.target), 5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, s]
            threading.Thread(target=self._pipe, args=(c, s),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c),
                             daemon=True).start()

    def _pipe(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.up = False
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                    c.close()
                except OSError:
                    pass
            self.conns = []

    def restore(self):
        self.up = True

    def close(self):
        self.stopped = True
        self.cut()
        self.sock.close()
