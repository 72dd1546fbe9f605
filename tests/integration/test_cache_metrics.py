#!/usr/bin/python3
"""test_cache_metrics.py - replkv-cache's Prometheus endpoint (metrics-port)
and its operator log lines, end to end.

A primary and a replica of build/replkv-cache run on free 127.0.0.1 ports
(client port, client port + 10000 for the peers, and a metrics port, all
free) in a temp dir. /metrics is scraped from both with http.client and the
text exposition format (0.0.4) is parsed strictly: every line is a HELP, a
TYPE or a sample `name{labels} value`, every sample belongs to a family
with HELP and TYPE given before it, no series twice. Then: the values move
after writes (commands counters, keys, hits/misses, offsets equal on both
after WAIT, acked offset), the replica shows its link, 404 / 405 / 400 /
431 and HEAD, a half request line then silence does not block other
scrapes (and is closed at its deadline), CONFIG GET metrics-port, and the
log lines for replication link up/down and replicas coming and going.

Every process is ended by its PID, every wait is bounded. Prints
"N passed, M failed"; exits non-zero on any failure.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cache_harness import (BIN, OFFSET, bad, check, finish, free_port,  # noqa: E402
                           ok, port_free, wait_until)


def wait_until(pred, timeout=15.0, step=0.05):  # noqa: F811
    """The harness's wait, also riding out HTTP errors and a metric not
    there yet."""
    import cache_harness
    return cache_harness.wait_until(
        pred, timeout, step,
        cache_harness.WAIT_IGNORES + (http.client.HTTPException, KeyError))

SECRET = "metrics-secret"

PROCS = []
TMP = tempfile.mkdtemp(prefix="test_cache_metrics.")


class Server:
    def __init__(self, name, *args):
        self.name = name
        self.port = free_port()
        self.mport = free_port(pair=False)
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "log")
        with open(self.log, "w") as log:
            self.p = subprocess.Popen(
                [BIN, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--metrics-port", str(self.mport), "--requirepass", SECRET,
                 "--masterauth", SECRET, "--loglevel", "verbose"] +
                list(args),
                cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        PROCS.append(self.p)
        self.r = redis.Redis(port=self.port, socket_timeout=10,
                             decode_responses=True, password=SECRET)
        if not wait_until(lambda: self.r.ping(), 10):
            raise RuntimeError("%s did not start:\n%s" % (name, self.logs()))

    def logs(self):
        with open(self.log) as f:
            return f.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)

    def http(self, method="GET", path="/metrics", timeout=5.0):
        c = http.client.HTTPConnection("127.0.0.1", self.mport,
                                       timeout=timeout)
        try:
            c.request(method, path)
            resp = c.getresponse()
            body = resp.read()
            return resp.status, dict(resp.getheaders()), body
        finally:
            c.close()

    def scrape(self):
        status, headers, body = self.http()
        if status != 200:
            raise RuntimeError("scrape answered %d" % status)
        return parse_exposition(body.decode("utf-8")), headers


# ------------------------------------------------------------ exposition

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE_RE = re.compile(r"^(%s)(?:\{(%s(?:,%s)*)?\})? (\S+)$" %
                       (NAME, LABEL, LABEL))
HELP_RE = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|"
                     r"untyped)$" % NAME)
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class ExpositionError(Exception):
    pass


def parse_value(v):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$", v):
        raise ValueError(v)
    return float(v)


def parse_exposition(text):
    """{name: {"help", "type", "samples": {frozenset(labels): value}}};
    raises ExpositionError on any line that is not strictly valid."""
    fams = {}
    if not text.endswith("\n"):
        raise ExpositionError("text does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        m = HELP_RE.match(line)
        if m:
            f = fams.setdefault(m.group(1), {"samples": {}})
            if "help" in f or f["samples"]:
                raise ExpositionError("line %d: HELP twice or after samples"
                                      ": %r" % (n, line))
            f["help"] = m.group(2)
            continue
        m = TYPE_RE.match(line)
        if m:
            f = fams.setdefault(m.group(1), {"samples": {}})
            if "type" in f or f["samples"]:
                raise ExpositionError("line %d: TYPE twice or after samples"
                                      ": %r" % (n, line))
            f["type"] = m.group(2)
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise ExpositionError("line %d: not a sample: %r" % (n, line))
        name, labels, value = m.group(1), m.group(2), m.group(3)
        f = fams.get(name)
        if f is None or "help" not in f or "type" not in f:
            raise ExpositionError("line %d: %s has no HELP/TYPE before it"
                                  % (n, name))
        if f["type"] == "counter" and not name.endswith("_total"):
            raise ExpositionError("counter %s does not end in _total" % name)
        lab = frozenset(LABEL_RE.findall(labels or ""))
        if lab in f["samples"]:
            raise ExpositionError("line %d: series twice: %r" % (n, line))
        try:
            f["samples"][lab] = parse_value(value)
        except ValueError:
            raise ExpositionError("line %d: bad value: %r" % (n, line))
    for name, f in fams.items():
        if "help" not in f or "type" not in f:
            raise ExpositionError("%s lacks HELP or TYPE" % name)
    return fams


def val(fams, name, **labels):
    f = fams.get(name)
    if f is None:
        return None
    return f["samples"].get(frozenset(labels.items()))


REQUIRED_BOTH = [
    "replkv_role", "replkv_repl_offset", "replkv_connected_replicas",
    "replkv_sync_full_total", "replkv_sync_partial_ok_total",
    "replkv_sync_partial_err_total", "replkv_commands_processed_total",
    "replkv_commands_total", "replkv_connected_clients",
    "replkv_memory_used_bytes", "replkv_keys", "replkv_expired_keys_total",
    "replkv_evicted_keys_total", "replkv_keyspace_hits_total",
    "replkv_keyspace_misses_total", "replkv_uptime_seconds",
    "replkv_replica_lag_seconds", "replkv_replica_acked_offset",
]


def self_test_parser():
    """The strict parser itself refuses what it must."""
    good = ("# HELP replkv_x X.\n# TYPE replkv_x gauge\n"
            'replkv_x{a="1",b="q\\"z"} 2.5\nreplkv_x 3\n')
    fams = parse_exposition(good)
    bads = [
        "replkv_x 1\n",                                   # no HELP/TYPE
        "# HELP replkv_x X.\n# TYPE replkv_x gauge\nreplkv_x 1 2 3\n",
        "# HELP replkv_x X.\n# TYPE replkv_x gauge\nreplkv_x{a=1} 1\n",
        "# HELP replkv_x X.\n# TYPE replkv_x gauge\nreplkv_x 1\nreplkv_x 2\n",
        "# HELP replkv_x X.\n# TYPE replkv_x counter\nreplkv_x 1\n",
        "# HELP replkv_x X.\n# TYPE replkv_x gauge\nreplkv_x one\n",
        "# HELP replkv_x X.\n# TYPE replkv_x gauge\nreplkv_x 1",
    ]
    refused = 0
    for b in bads:
        try:
            parse_exposition(b)
        except ExpositionError:
            refused += 1
    check("strict parser: accepts valid text, refuses %d bad ones"
          % len(bads), [2.5, len(bads)],
          [val(fams, "replkv_x", a="1", b='q\\"z'), refused])


def raw_http(port, payload, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(payload)
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf
    finally:
        s.close()


def main():
    if not os.access(BIN, os.X_OK):
        print("missing %s (make)" % BIN)
        print("0 passed, 1 failed")
        return 1
    self_test_parser()

    p = Server("primary")
    rep = Server("replica", "--replicaof", "127.0.0.1", str(p.port))
    if wait_until(lambda: rep.r.info("replication")["master_link_status"]
                  == "up" and p.r.info("replication")["connected_slaves"]
                  == 1):
        ok("replica connected")
    else:
        bad("replica connected", rep.logs()[-2000:])

    # ------------------------------------------------ strict parse
    scraped = {}
    for s in (p, rep):
        try:
            fams, headers = s.scrape()
            scraped[s.name] = fams
            ok("%s: /metrics parses strictly (%d families)"
               % (s.name, len(fams)))
            check("%s: Content-Type" % s.name,
                  "text/plain; version=0.0.4",
                  headers.get("Content-Type", "").split("; charset")[0])
            missing = [n for n in REQUIRED_BOTH if n not in fams]
            check("%s: every required metric present" % s.name, [], missing)
        except Exception as e:
            bad("%s: /metrics parses strictly" % s.name, repr(e))
    if len(scraped) != 2:
        return 1
    pm, rm = scraped["primary"], scraped["replica"]
    check("role gauges", [1, 0, 0, 1],
          [val(pm, "replkv_role", role="primary"),
           val(pm, "replkv_role", role="replica"),
           val(rm, "replkv_role", role="primary"),
           val(rm, "replkv_role", role="replica")])
    check("replica: master_link_up 1, master_info with the client port",
          [1, 1], [val(rm, "replkv_master_link_up"),
                   val(rm, "replkv_master_info", host="127.0.0.1",
                       port=str(p.port))])
    check("primary: connected_replicas 1, no master_link_up",
          [1, None], [val(pm, "replkv_connected_replicas"),
                      pm.get("replkv_master_link_up")])
    check("primary: one full sync counted", 1,
          val(pm, "replkv_sync_full_total"))

    # ------------------------------------------------ values move
    before = pm
    n = 250
    pipe = p.r.pipeline(transaction=False)
    for i in range(n):
        pipe.set("k%d" % i, "v%d" % i)
    pipe.execute()
    p.r.get("k1")
    p.r.get("k2")
    p.r.get("missing-key")
    check("WAIT 1 after the writes", 1, p.r.wait(1, 10000))
    after, _ = p.scrape()
    cmds = (after["replkv_commands_processed_total"]["samples"][frozenset()] -
            before["replkv_commands_processed_total"]["samples"][frozenset()])
    check("commands_processed_total moved by at least %d" % (n + 4), True,
          cmds >= n + 4)
    check("commands_total{cmd=set} moved by %d" % n, n,
          (val(after, "replkv_commands_total", cmd="set") or 0) -
          (val(before, "replkv_commands_total", cmd="set") or 0))
    check("keys = %d" % n, n, val(after, "replkv_keys"))
    check("keyspace hits +2, misses +1", [2, 1],
          [val(after, "replkv_keyspace_hits_total") -
           val(before, "replkv_keyspace_hits_total"),
           val(after, "replkv_keyspace_misses_total") -
           val(before, "replkv_keyspace_misses_total")])
    check("repl_offset moved", True,
          val(after, "replkv_repl_offset") > val(before,
                                                  "replkv_repl_offset"))
    check("used memory grew", True,
          val(after, "replkv_memory_used_bytes") >
          val(before, "replkv_memory_used_bytes"))

    def offsets_equal():
        a, _ = p.scrape()
        b, _ = rep.scrape()
        off = val(a, "replkv_repl_offset")
        acked = val(a, "replkv_replica_acked_offset", addr="127.0.0.1",
                    port=str(rep.port))
        return off == val(b, "replkv_repl_offset") == acked and \
            val(b, "replkv_keys") == n
    if wait_until(offsets_equal, 10):
        ok("offsets equal on both after sync; acked offset labelled "
           "with the replica's client port; replica has the keys")
    else:
        a, _ = p.scrape()
        b, _ = rep.scrape()
        bad("offsets equal after sync",
            [val(a, "replkv_repl_offset"), val(b, "replkv_repl_offset"),
             a.get("replkv_replica_acked_offset")])
    lag = val(after, "replkv_replica_lag_seconds", addr="127.0.0.1",
              port=str(rep.port))
    check("replica lag present and small", True,
          lag is not None and 0 <= lag < 5)

    # Expiry counter (the library expires actively, hz 10).
    p.r.set("short", "x", px=50)
    if wait_until(lambda: val(p.scrape()[0], "replkv_expired_keys_total")
                  >= 1, 10):
        ok("expired_keys_total counts an expired key")
    else:
        bad("expired_keys_total counts an expired key")

    # ------------------------------------------------ HTTP errors
    status, headers, body = p.http(path="/nope")
    check("404 for another path", [404, "close"],
          [status, headers.get("Connection")])
    status, _, _ = p.http(path="/metricsx")
    check("404 for /metricsx", 404, status)
    status, _, body = p.http(path="/metrics?x=1")
    check("query string ignored", [200, True],
          [status, b"replkv_role" in body])
    status, headers, body = p.http(method="POST")
    check("405 for POST, with Allow", [405, "GET, HEAD"],
          [status, headers.get("Allow")])
    status, headers, body = p.http(method="HEAD")
    check("HEAD: 200, a length, no body", [200, True, b""],
          [status, int(headers.get("Content-Length", "0")) > 0, body])
    for name, payload in [
            ("garbage line", b"garbage\r\n\r\n"),
            ("binary", b"\x16\x03\x01\x02\x00\x01\x00"),
            ("no version", b"GET /metrics\r\n\r\n"),
            ("HTTP/2.0", b"GET /metrics HTTP/2.0\r\n\r\n"),
            ("lowercase method", b"get /metrics HTTP/1.1\r\n\r\n"),
            ("target not a path", b"GET metrics HTTP/1.1\r\n\r\n")]:
        resp = raw_http(p.mport, payload)
        check("400 for %s" % name, True,
              resp.startswith(b"HTTP/1.1 400 Bad Request\r\n"))
    resp = raw_http(p.mport, b"GET /metrics HTTP/1.1\r\nX-Big: " +
                    b"a" * 10000 + b"\r\n\r\n")
    check("431 for a request over the size bound", True,
          resp.startswith(b"HTTP/1.1 431 "))
    resp = raw_http(p.mport, b"GET /metrics HTTP/1.0\n\n")
    check("bare-LF HTTP/1.0 request answered 200", True,
          resp.startswith(b"HTTP/1.1 200 OK\r\n"))

    # ------------------------------------------------ half a request line
    half = socket.create_connection(("127.0.0.1", p.mport), timeout=10)
    half.sendall(b"GET /met")
    t0 = time.monotonic()
    times = []
    for _ in range(5):
        t = time.monotonic()
        status, _, body = p.http(timeout=3)
        times.append(time.monotonic() - t)
        if status != 200:
            break
    check("5 scrapes answered while a half request line is pending", 5,
          len([x for x in times if x < 1.0]))
    check("the data port answers meanwhile", True, p.r.ping())
    half.settimeout(10)
    try:
        got = half.recv(100)
    except socket.timeout:
        got = None
    closed_after = time.monotonic() - t0
    check("half request closed at its deadline (~5 s, no response)",
          [b"", True], [got, 3.0 < closed_after < 9.0])
    half.close()

    # At most 64 scrape connections at once: the 65th is closed at once,
    # and the slots come back when the silent ones go.
    silent = [socket.create_connection(("127.0.0.1", p.mport), timeout=5)
              for _ in range(64)]
    for c in silent:
        c.sendall(b"GET /")
    time.sleep(0.2)
    extra = socket.create_connection(("127.0.0.1", p.mport), timeout=5)
    try:
        extra.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        got = extra.recv(100)
    except OSError:
        got = b""
    extra.close()
    check("65th concurrent scrape connection closed without an answer",
          b"", got)
    for c in silent:
        c.close()
    if wait_until(lambda: p.http(timeout=2)[0] == 200, 5):
        ok("scrapes work again once the silent connections closed")
    else:
        bad("scrapes work again once the silent connections closed")
    check("connection limit logged", True,
          "metrics: refused a connection: 64 scrapes already open"
          in p.logs())

    # ------------------------------------------------ CONFIG
    check("CONFIG GET metrics-port", {"metrics-port": str(p.mport)},
          p.r.config_get("metrics-port"))
    try:
        p.r.config_set("metrics-port", "1")
        bad("CONFIG SET metrics-port refused")
    except redis.exceptions.ResponseError:
        ok("CONFIG SET metrics-port refused (startup only)")

    # ------------------------------------------------ logs
    plog, rlog = p.logs(), rep.logs()
    check("replica log: link up with the primary's client port", True,
          "MASTER <-> REPLICA link up: primary 127.0.0.1:%d (repl-port %d)"
          % (p.port, p.port + OFFSET) in rlog)
    check("replica log lines carry the role mark S", True,
          re.search(r"^\d+:S .* Starting as a replica of 127\.0\.0\.1:%d"
                    % p.port, rlog, re.M) is not None)
    check("primary log: replica online with its client port", True,
          "Replica 127.0.0.1:%d is online" % rep.port in plog)
    check("metrics listener logged", True,
          "Metrics at http://127.0.0.1:%d/metrics" % p.mport in plog)

    # The primary goes away: the replica's gauge and log say so.
    p.stop()
    if wait_until(lambda: val(rep.scrape()[0], "replkv_master_link_up") == 0,
                  10):
        ok("replica: master_link_up 0 after the primary stopped")
    else:
        bad("replica: master_link_up 0 after the primary stopped")
    if wait_until(lambda: "MASTER <-> REPLICA link down: primary "
                  "127.0.0.1:%d" % p.port in rep.logs(), 5):
        ok("replica log: link down with the primary's address")
    else:
        bad("replica log: link down", rep.logs()[-1500:])
    down = val(rep.scrape()[0], "replkv_master_link_down_seconds")
    check("replica: link down seconds is a number >= 0", True,
          down is not None and down >= 0)

    rep.stop()
    check("servers exit cleanly on SIGTERM", [0, 0],
          [p.p.returncode, rep.p.returncode])
    reports = [s.name for s in (p, rep)
               if "Sanitizer" in s.logs() or "runtime error" in s.logs()]
    check("no sanitizer reports in the logs", [], reports)
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
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        shutil.rmtree(TMP, ignore_errors=True)
    finish()
