#!/usr/bin/python3
"""test_cache_limits.py - replkv-cache under resource faults ("Proof under
faults", item 4, the parts that apply to the cache today).

1. 10,000 idle client connections (RLIMIT_NOFILE raised up to the hard
   limit; fewer, and said so, when the hard limit is lower): a normal
   client keeps low latency, the server's RSS stays under RSS_10K_BOUND,
   and one connection over maxclients is refused with Redis's error and a
   log line.
2. Slowloris: a client that sends one byte a second never completes a
   request; with `timeout 2` it is closed (its request incomplete for too
   long), while a normal client is served throughout.
3. A client that pipelines thousands of GETs of a 100 KB value and never
   reads: with default limits the server stops reading it (back-pressure)
   and its RSS stays bounded; with `client-output-buffer-limit normal 1mb
   512kb 2` it is disconnected at the limit, counted and logged.
4. A replica that stops reading (SIGSTOP of a real replica process) while
   200 MB are written to the primary: the primary's RSS growth stays under
   the backlog size plus a margin, it drops the replica and logs it; after
   SIGCONT the replica resyncs (DEBUG DIGEST equal).

Real processes on 127.0.0.1 in a temp dir, each ended by its PID; every
wait is a bounded loop. Prints "N passed, M failed"; exits non-zero on any
failure.
"""

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cache_harness import (BIN, OFFSET, bad, check, finish, free_port,  # noqa: E402
                           ok, port_free, wait_until)

SECRET = "limits-secret"

WANT_CLIENTS = 10000
RSS_10K_BOUND = 200 * 1024 * 1024      # stated bound for 10k idle clients
LATENCY_P99_BOUND = 0.050              # seconds, normal client among them
NOREAD_RSS_BOUND = 64 * 1024 * 1024    # growth while a client never reads
BACKLOG = 16 * 1024 * 1024             # repl-backlog-size for part 4
BACKLOG_MARGIN = 48 * 1024 * 1024      # RSS growth over the backlog allowed

PROCS = []
TMP = tempfile.mkdtemp(prefix="test_cache_limits.")


def note(msg):
    print("     # " + msg, flush=True)


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def mb(n):
    return "%.1f MB" % (n / 1048576.0)


class Server:
    def __init__(self, name, *args):
        self.name = name
        self.port = free_port()
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "log")
        # A sanitizer build keeps freed memory in quarantine (256 MB by
        # default), which would read as growth: keep it small. No effect on
        # a normal build.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                               ":quarantine_size_mb=4").lstrip(":")
        with open(self.log, "w") as log:
            self.p = subprocess.Popen(
                [BIN, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--requirepass", SECRET, "--masterauth", SECRET,
                 "--loglevel", "verbose"] + list(args),
                cwd=self.dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        PROCS.append(self.p)
        self.r = self.client()
        if not wait_until(lambda: self.r.ping(), 10):
            raise RuntimeError("%s did not start:\n%s" % (name, self.logs()))

    def client(self, timeout=10):
        return redis.Redis(port=self.port, socket_timeout=timeout,
                           decode_responses=True, password=SECRET)

    def logs(self):
        with open(self.log) as f:
            return f.read()

    def rss(self):
        return rss(self.p.pid)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(10)


def latencies(r, n=300):
    out = []
    for i in range(n):
        t = time.monotonic()
        if i % 3 == 0:
            r.ping()
        elif i % 3 == 1:
            r.set("lat", str(i))
        else:
            r.get("lat")
        out.append(time.monotonic() - t)
    out.sort()
    return out[len(out) // 2], out[int(len(out) * 0.99) - 1], out[-1]


def auth_cmd():
    return ("*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(SECRET), SECRET)) \
        .encode()


# ------------------------------------------------------------ part 1

def part_many_clients():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want_fds = WANT_CLIENTS + 500
    new_soft = want_fds if hard == resource.RLIM_INFINITY else \
        min(hard, want_fds)
    if new_soft > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = min(WANT_CLIENTS, soft - 200)
    if n < WANT_CLIENTS:
        note("RLIMIT_NOFILE hard limit is %d: testing %d idle clients "
             "instead of %d" % (hard, n, WANT_CLIENTS))
    else:
        note("RLIMIT_NOFILE raised to %d (hard %d): %d idle clients"
             % (soft, hard, n))
    # The server inherits the raised limit; maxclients leaves room for the
    # normal client and exactly one refused connection.
    s = Server("many", "--maxclients", str(n + 1))
    r = s.r
    base = s.rss()
    socks = []
    t0 = time.monotonic()
    try:
        for i in range(n):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            socks.append(c)
            # A tenth of them authenticate, as real idle pool members.
            if i % 10 == 0:
                c.sendall(auth_cmd())
        for i in range(0, n, 10):
            c = socks[i]
            buf = b""
            while not buf.endswith(b"\r\n"):
                chunk = c.recv(64)
                if not chunk:
                    break
                buf += chunk
            if buf != b"+OK\r\n":
                raise RuntimeError("AUTH on idle client %d: %r" % (i, buf))
        opened = time.monotonic() - t0
        r = s.r  # its one connection is the normal client
        if wait_until(lambda: r.info("clients")["connected_clients"] >=
                      n + 1, 30):
            ok("%d idle clients connected (%.1f s to open)" % (n, opened))
        else:
            bad("%d idle clients connected" % n,
                r.info("clients")["connected_clients"])
        p50, p99, worst = latencies(r)
        note("normal client among %d idle ones: p50 %.3f ms, p99 %.3f ms, "
             "max %.3f ms" % (n, p50 * 1e3, p99 * 1e3, worst * 1e3))
        check("normal client p99 latency < %d ms with %d idle clients"
              % (LATENCY_P99_BOUND * 1e3, n), True, p99 < LATENCY_P99_BOUND)
        used = s.rss()
        note("server RSS: %s at start, %s with %d idle clients (%.0f bytes "
             "per client)" % (mb(base), mb(used), n, (used - base) / n))
        check("server RSS < %s with %d idle clients" % (mb(RSS_10K_BOUND), n),
              True, used < RSS_10K_BOUND)

        # One more than maxclients: refused with Redis's error, logged.
        extra = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        got = b""
        try:
            while not got.endswith(b"\r\n"):
                chunk = extra.recv(128)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
        extra.close()
        check("connection over maxclients refused",
              b"-ERR max number of clients reached\r\n", got)
        if wait_until(lambda: "Rejected connection from 127.0.0.1:" in
                      s.logs() and "max number of clients reached "
                      "(maxclients %d" % (n + 1) in s.logs(), 5):
            ok("maxclients refusal logged at warning with the limit")
        else:
            bad("maxclients refusal logged", s.logs()[-1500:])
        check("the normal client still works", True, r.ping())
    finally:
        for c in socks:
            c.close()
    if wait_until(lambda: r.info("clients")["connected_clients"] <= 2, 30):
        ok("all idle clients closed from the server's view")
    else:
        bad("idle clients closed", r.info("clients")["connected_clients"])
    s.stop()
    check("server exits 0 after the 10k clients", 0, s.p.returncode)


# ------------------------------------------------------------ part 2

def part_slowloris(s):
    s.r.config_set("timeout", "2")
    slow = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    payload = auth_cmd()
    t0 = time.monotonic()
    closed_at = None
    served = 0
    slow_pings = []
    i = 0
    while time.monotonic() - t0 < 12 and closed_at is None:
        try:
            slow.sendall(payload[i % len(payload):i % len(payload) + 1])
            i += 1
        except OSError:
            closed_at = time.monotonic() - t0
            break
        # Between the slow bytes a normal client is served at once.
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            t = time.monotonic()
            fresh = s.client(timeout=2)
            fresh.ping()
            fresh.close()
            slow_pings.append(time.monotonic() - t)
            served += 1
            time.sleep(0.1)
        slow.settimeout(0.01)
        try:
            if slow.recv(100) == b"":
                closed_at = time.monotonic() - t0
        except socket.timeout:
            pass
        except OSError:
            closed_at = time.monotonic() - t0
        slow.settimeout(10)
    slow.close()
    note("slowloris: %d bytes sent, closed after %s s; %d normal pings "
         "meanwhile, max %.1f ms" % (i, "%.1f" % closed_at if closed_at
                                     else "never", served,
                                     max(slow_pings) * 1e3))
    check("slowloris client (1 byte/s) closed by timeout 2 within 2-6 s",
          True, closed_at is not None and 1.5 <= closed_at <= 6.5)
    # The point is that the slow client blocks nobody; 0.5 s leaves room
    # for sanitizer builds on a loaded machine (plain builds: ~1 ms).
    check("normal clients served meanwhile, each in < 500 ms", True,
          served >= 10 and max(slow_pings) < 0.5)
    check("the close is logged with the reason", True,
          wait_until(lambda: "its request was still incomplete after 2 "
                     "seconds (timeout)" in s.logs(), 5))
    s.r.config_set("timeout", "0")


# ------------------------------------------------------------ part 3

def stall_client(port, value_key, count):
    """A socket that sends count GETs of value_key and never reads. Small
    receive buffer, so TCP pushes back early. Returns (socket, bytes
    sent)."""
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(10)
    c.connect(("127.0.0.1", port))
    c.sendall(auth_cmd())
    get = ("*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" %
           (len(value_key), value_key)).encode()
    data = get * count
    c.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 5
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += c.send(data[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break
    return c, sent


def is_closed(c, timeout=10.0):
    """Drains c until EOF or an error (True), or timeout (False)."""
    c.setblocking(True)
    c.settimeout(0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if c.recv(1 << 20) == b"":
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def part_no_reader(s):
    value = "x" * (100 * 1024)
    s.r.set("big", value)
    count = 5000   # 5000 replies of 100 KB = 500 MB if it were buffered
    before = s.rss()
    c, sent = stall_client(s.port, "big", count)
    time.sleep(2)
    peak = s.rss()
    clients = s.r.client_list()
    stalled = [x for x in clients if x.get("cmd") == "get"]
    note("non-reading client: sent %d bytes of GETs; server RSS %s -> %s; "
         "its omem %s" % (sent, mb(before), mb(peak),
                          stalled[0].get("omem") if stalled else "?"))
    check("default limits: the server stops reading it, RSS growth < %s"
          % mb(NOREAD_RSS_BOUND), True, peak - before < NOREAD_RSS_BOUND)
    p50, p99, worst = latencies(s.r, 100)
    check("a normal client is served meanwhile (p99 < 50 ms)", True,
          p99 < 0.05)
    c.close()

    s.r.config_set("client-output-buffer-limit", "normal 1mb 512kb 2")
    closed_before = int(s.r.info("stats")[
        "client_output_buffer_limit_disconnections"])
    c, sent = stall_client(s.port, "big", count)
    closed = is_closed(c, 10)
    c.close()
    check("with a 1mb hard limit the non-reader is disconnected", True,
          closed)
    check("counted in client_output_buffer_limit_disconnections", 1,
          int(s.r.info("stats")["client_output_buffer_limit_disconnections"])
          - closed_before)
    check("logged with its address and pending bytes", True,
          wait_until(lambda: "overcoming of output buffer limits" in s.logs(),
                     5))
    after = s.rss()
    note("after the disconnect: RSS %s" % mb(after))
    check("RSS back within %s of the start" % mb(NOREAD_RSS_BOUND), True,
          after - before < NOREAD_RSS_BOUND)
    s.r.config_set("client-output-buffer-limit", "normal 1gb 512mb 60")
    s.r.delete("big")


# ------------------------------------------------------------ part 4

def part_stalled_replica():
    # The backlog may keep a lagging replica's stream up to the replica
    # class's hard limit (Redis's default 256mb): set to the backlog's size,
    # the bound below stays backlog + margin.
    p = Server("primary", "--repl-backlog-size", str(BACKLOG),
               "--client-output-buffer-limit", "replica", str(BACKLOG), "0",
               "0", "--repl-timeout", "5")
    rep = Server("replica", "--replicaof", "127.0.0.1", str(p.port))
    if not wait_until(lambda: rep.r.info("replication")
                      ["master_link_status"] == "up", 15):
        bad("replica linked", rep.logs()[-1500:])
        return
    # The working set (100 keys of 100 KB) exists before the stall, so the
    # writes below overwrite it and only replication could grow memory.
    value = b"v" * (100 * 1024)
    pipe = p.r.pipeline(transaction=False)
    for k in range(100):
        pipe.set("w%d" % k, value)
    pipe.execute()
    check("WAIT 1 before the stall", 1, p.r.wait(1, 10000))
    base = p.rss()

    os.kill(rep.p.pid, signal.SIGSTOP)
    peak = base
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, p.rss())
            except OSError:
                return
            time.sleep(0.02)
    th = threading.Thread(target=sample)
    th.start()
    written = 0
    t0 = time.monotonic()
    try:
        total = 200 * 1024 * 1024
        i = 0
        while written < total and time.monotonic() - t0 < 120:
            pipe = p.r.pipeline(transaction=False)
            for _ in range(50):
                pipe.set("w%d" % (i % 100), value)
                i += 1
                written += len(value)
            pipe.execute()
    finally:
        dropped = wait_until(
            lambda: p.r.info("replication")["connected_slaves"] == 0, 15)
        stop.set()
        th.join(10)
    note("stalled replica: wrote %s in %.1f s; primary RSS %s before, "
         "peak %s (growth %s; backlog %s)"
         % (mb(written), time.monotonic() - t0, mb(base), mb(peak),
            mb(peak - base), mb(BACKLOG)))
    check("primary RSS growth < backlog + %s while the replica is stopped"
          % mb(BACKLOG_MARGIN), True, peak - base < BACKLOG + BACKLOG_MARGIN)
    check("the primary dropped the stopped replica", True, dropped)
    # INFO shows the replica gone at once; the server logs it on its next
    # replication poll (every 100 ms), so wait for the line, bounded.
    line = "Replica 127.0.0.1:%d is no longer online" % rep.port
    check("the primary logged it, with the replica's client port", True,
          wait_until(lambda: line in p.logs(), 10))
    lib_lines = [ln for ln in p.logs().splitlines()
                 if "replication: link from replica" in ln and
                 "closed" in ln]
    if lib_lines:
        note("library's line: " + lib_lines[-1].split(" * ", 1)[-1]
             .split(" # ", 1)[-1])
    check("the primary still serves", True, p.r.ping())

    os.kill(rep.p.pid, signal.SIGCONT)
    if wait_until(lambda: rep.r.info("replication")["master_link_status"]
                  == "up" and p.r.wait(1, 1000) == 1, 60):
        ok("after SIGCONT the replica resyncs (WAIT 1)")
    else:
        bad("replica resyncs after SIGCONT", rep.logs()[-1500:])
    d = [x.execute_command("DEBUG", "DIGEST") for x in (p.r, rep.r)]
    check("DEBUG DIGEST equal after the resync", d[0], d[1])
    full = int(p.r.info("replication")["sync_full"])
    note("primary sync_full=%d, sync_partial_ok=%s" %
         (full, p.r.info("replication")["sync_partial_ok"]))
    check("a second sync was served", True, full >= 2)
    for s in (rep, p):
        s.stop()
    check("both exit 0", [0, 0], [rep.p.returncode, p.p.returncode])


def main():
    if not os.access(BIN, os.X_OK):
        print("missing %s (make)" % BIN)
        print("0 passed, 1 failed")
        return 1
    part_many_clients()
    s = Server("single")
    part_slowloris(s)
    part_no_reader(s)
    s.stop()
    check("server exits 0", 0, s.p.returncode)
    part_stalled_replica()
    logs = ""
    for name in os.listdir(TMP):
        with open(os.path.join(TMP, name, "log")) as f:
            logs += f.read()
    check("no sanitizer reports in the logs", False,
          "Sanitizer" in logs or "runtime error" in logs)
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception:  # a crash counts as a failure, not a pass
        import traceback
        bad("unexpected exception", traceback.format_exc())
    finally:
        for proc in PROCS:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGCONT)
                except OSError:
                    pass
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        shutil.rmtree(TMP, ignore_errors=True)
    finish()
