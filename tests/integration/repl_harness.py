"""Helpers for the replication integration tests: nodes as processes
(tests/tools/rkv_node.c), free ports, a TCP proxy that can cut and restore
links (all of them, or those from given source addresses), and bounded
waits. Python 3 standard library only."""

import collections
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
    """Polls pred until it is true or timeout seconds passed. what names
    the condition in the error; a callable is called only then (to
    describe the state at the time of the failure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(step)
    raise AssertionError("timed out waiting for " +
                         (what() if callable(what) else what))


class Node:
    """One rkv_node process; cmd() sends a line and returns the answer.
    Options are keyword arguments ('_' becomes '-') or (name, value) pairs
    in extra, for names with spaces ("sentinel monitor"). cmd() may be
    called from several threads; after a command timed out (a stopped
    process), the next one first skips the late answer."""

    def __init__(self, port=0, replicaof=None, extra=(), **opts):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="rkv-")
        args = [NODE_BIN, "--port", str(port)]
        if replicaof:
            args += ["--replicaof", "%s %d" % replicaof]
        for k, v in opts.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        for k, v in extra:
            args += ["--" + k, str(v)]
        self.lock = threading.Lock()
        self.late = 0  # answers still owed to commands that timed out
        self.buf = b""
        self.log_path = os.path.join(self.dir, "node.log")
        self.log = open(self.log_path, "w")
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.log,
                                  text=True, bufsize=1)
        self.out = self.p.stdout.fileno()
        try:
            line = self._readline(10)
        except AssertionError as e:
            line = str(e)
        if line != "ready":
            logs = self.logs()
            self.close()
            raise RuntimeError("node did not start: %r (%s)" % (line, logs))

    def _readline(self, timeout):
        # Our own buffer over the raw pipe: select() on a buffered file
        # would miss lines already read into its buffer.
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.out], [], [], max(left, 0))
            if not r:
                raise AssertionError("node did not answer in %ss" % timeout)
            data = os.read(self.out, 65536)
            if not data:
                raise AssertionError("node closed its output (%s)" %
                                     self.logs()[-2000:])
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8", "replace")

    def pipeline(self, lines, between=None, timeout=30):
        """Sends every line at once, runs between() (if any) and returns
        the answers, in order."""
        with self.lock:
            while self.late > 0:
                self._readline(timeout)
                self.late -= 1
            self.p.stdin.write("".join(x + "\n" for x in lines))
            self.p.stdin.flush()
            self.late += len(lines)
            if between is not None:
                between()
            out = []
            for _ in lines:
                out.append(self._readline(timeout))
                self.late -= 1
            return out

    def cmd(self, line, timeout=30):
        with self.lock:
            while self.late > 0:
                self._readline(timeout)
                self.late -= 1
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
            self.late += 1
            answer = self._readline(timeout)
            self.late -= 1
            return answer

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

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        os.kill(self.p.pid, signal.SIGSTOP)

    def cont(self):
        os.kill(self.p.pid, signal.SIGCONT)

    def kill9(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait(10)

    def close(self, keep=False):
        """Ends the process (quit, else SIGKILL) and removes its temporary
        directory unless keep or RKV_KEEP_LOGS is set."""
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGCONT)
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
        if not os.environ.get("RKV_KEEP_LOGS") and not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """Forwards 127.0.0.1:listen_port to 127.0.0.1:target; cut() drops every
    connection and refuses new ones until restore(); block(ips) does the
    same for connections from those source addresses only, until
    unblock(ips).

    Per source address, without dropping connections: hold(ip, "in")
    stops forwarding what a connection from ip sends to the target
    ("out": what the target sends back), as a one-way cut whose bytes are
    delivered, in order, at release(); delay(ip, s) forwards both
    directions of the connections from ip s seconds after they arrived
    (undelay(ip) ends it)."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.up = True
        self.blocked = set()
        self.held = set()  # (source address, "in" | "out")
        self.delays = {}  # source address -> seconds
        self.conns = []  # (source address, client side, target side)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, (src, _) = self.sock.accept()
            except OSError:
                return
            with self.lock:
                refused = not self.up or src in self.blocked
            if refused or self.stopped:
                c.close()
                continue
            try:
                s = socket.create_connection(("127.0.0.1", self.target), 5)
            except OSError:
                c.close()
                continue
            with self.lock:
                # A cut may have come while we connected.
                if not self.up or src in self.blocked:
                    c.close()
                    s.close()
                    continue
                self.conns.append((src, c, s))
            pair = []  # one entry per direction that ended
            threading.Thread(target=self._pipe, args=(c, s, pair, src, "in"),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c, pair, src, "out"),
                             daemon=True).start()

    def _live(self, a):
        return any(t[1] is a or t[2] is a for t in self.conns)

    def _pipe(self, a, b, pair, src, way):
        later = None  # the delayed chunks' queue, once there was a delay
        try:
            while True:
                data = a.recv(65536)
                at = time.monotonic()
                with self.cond:
                    while (src, way) in self.held and self._live(a):
                        self.cond.wait(0.1)
                    if not self._live(a):
                        break
                    d = self.delays.get(src, 0)
                if later is None and d > 0:
                    later = self._start_later(a, b, pair)
                if later is not None:
                    with self.cond:
                        later.append((at + d, data))
                        self.cond.notify_all()
                    if not data:
                        return  # the delayed writer ends the pair
                    continue
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        if later is not None:
            with self.cond:
                later.append((0, b""))
                self.cond.notify_all()
            return
        self._end(a, b, pair)

    def _start_later(self, a, b, pair):
        later = collections.deque()
        threading.Thread(target=self._send_later, args=(later, a, b, pair),
                         daemon=True).start()
        return later

    def _send_later(self, later, a, b, pair):
        """Sends the queued chunks at their time; an empty one ends."""
        try:
            while True:
                with self.cond:
                    while not later:
                        self.cond.wait(0.1)
                    due, data = later[0]
                left = due - time.monotonic()
                if left > 0:
                    time.sleep(min(left, 0.05))
                    continue
                with self.cond:
                    later.popleft()
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        self._end(a, b, pair)

    def _end(self, a, b, pair):
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self.cond:
            self.conns = [t for t in self.conns if t[1] is not a and
                          t[2] is not a]
            pair.append(1)
            last = len(pair) == 2
            self.cond.notify_all()
        if last:  # the other direction is done with them too
            a.close()
            b.close()

    def _drop(self, which):
        with self.cond:
            gone = [t for t in self.conns if which(t[0])]
            self.conns = [t for t in self.conns if not which(t[0])]
            self.cond.notify_all()
        for _, c, s in gone:  # the pipe threads wake up and close them
            for x in (c, s):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        with self.lock:
            self.up = False
        self._drop(lambda src: True)

    def restore(self):
        with self.lock:
            self.up = True

    def block(self, ips):
        with self.lock:
            self.blocked |= set(ips)
        self._drop(lambda src: src in ips)

    def unblock(self, ips=None):
        with self.lock:
            if ips is None:
                self.blocked.clear()
            else:
                self.blocked -= set(ips)

    def hold(self, ip, way):
        with self.cond:
            self.held.add((ip, way))

    def delay(self, ip, seconds):
        with self.cond:
            self.delays[ip] = seconds

    def release(self):
        """Ends every hold and delay (queued bytes still go out at their
        time)."""
        with self.cond:
            self.held.clear()
            self.delays.clear()
            self.cond.notify_all()

    def close(self):
        self.stopped = True
        self.cut()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self.sock.close()
