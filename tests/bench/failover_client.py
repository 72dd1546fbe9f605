"""tests/bench/failover_client.py - the client of the FAILOVER benchmark
section (tests/bench/failover.sh): writes through Sentinel discovery while
one failover happens, and measures what a client sees.

    failover_client.py --sentinels H:P,... --nodes H:P,... --primary H:P
                       (--kill-pid PID | --manual) [options]

Run with /usr/bin/python3 (Debian's python3-redis). Three threads of work:

  writer   every --interval (10 ms) one SET fo:<n> <n>, a new key each
           time, to the primary it last found. When a SET fails (refused,
           reset, timed out, READONLY, any error) the connection is dropped
           and the next tick discovers the primary again: SENTINEL
           get-master-addr-by-name to the Sentinels in turn, starting one
           further along the list after each failure (a Sentinel that is
           dead or lags behind the others costs one tick). One attempt per
           tick; an attempt slower than a tick is followed at once by the
           next. Every acknowledged SET is recorded with its time.
  watcher  every 5 ms, INFO replication of each data node still expected to
           be up: the first time a node other than the old primary reports
           role:master ("promoted"), and the first time, in addition, every
           other live data node reports role:slave, master_port = the new
           primary's port and master_link_status:up ("relinked").
  event    after --warmup seconds of writes, SIGKILL of --kill-pid (the
           primary, started by the caller) or SENTINEL FAILOVER <name> sent
           to the first Sentinel (--manual). Its time is time zero.

The run ends --settle seconds after the cluster has relinked and the new
primary has acknowledged a write, or after --timeout (then "recovered 0").
All times are time.monotonic(). Then every acknowledged key is read back
from the new primary (GET, pipelined): "lost" counts the acknowledged
writes it does not hold with their value.

Writes "METRIC VALUE" lines to --out (times in ms from the event; gaps in
ms); progress and errors go to stderr. Exits 0 when the run completed,
whether or not the cluster recovered; 2 on bad arguments or a cluster
that was not ready.
"""

import argparse
import os
import signal
import sys
import threading
import time

import redis

SENTINEL_TIMEOUT = 0.2  # s, connect and reply, per Sentinel
CONNECT_TIMEOUT = 0.2   # s, to a data node
# A SET may wait on a primary that pauses writes during a manual failover;
# longer than that, a write counts as failed (its outcome is unknown, and
# it is not counted as acknowledged).
WRITE_TIMEOUT = 1.0
WATCH_PERIOD = 0.005


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def log(msg):
    sys.stderr.write("failover_client: %s\n" % msg)
    sys.stderr.flush()


class Run:
    def __init__(self, a):
        self.a = a
        self.sentinels = [addr(s) for s in a.sentinels.split(",")]
        self.nodes = [addr(s) for s in a.nodes.split(",")]
        self.old = addr(a.primary)
        self.sconn = [redis.Redis(host=h, port=p,
                                  socket_timeout=SENTINEL_TIMEOUT,
                                  socket_connect_timeout=SENTINEL_TIMEOUT)
                      for h, p in self.sentinels]
        self.si = 0                # Sentinel asked first
        self.acks = []             # (time, n, (host, port))
        self.attempts = 0
        self.errors = {}
        self.t_event = None
        self.t_promoted = None
        self.t_relinked = None
        self.new_primary = None
        self.stop = threading.Event()
        self.lock = threading.Lock()

    # -- discovery and writes ---------------------------------------------

    def discover(self):
        n = len(self.sentinels)
        for i in range(n):
            k = (self.si + i) % n
            try:
                r = self.sconn[k].execute_command(
                    "SENTINEL", "get-master-addr-by-name", self.a.name)
            except redis.exceptions.RedisError:
                continue
            if r:
                self.si = k
                return r[0].decode(), int(r[1])
        raise redis.exceptions.ConnectionError("no Sentinel knows a primary")

    def writer(self):
        conn = None
        where = None
        n = 0
        tick = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if now < tick:
                time.sleep(tick - now)
            n += 1
            self.attempts += 1
            try:
                if conn is None:
                    where = self.discover()
                    conn = redis.Redis(host=where[0], port=where[1],
                                       socket_timeout=WRITE_TIMEOUT,
                                       socket_connect_timeout=CONNECT_TIMEOUT)
                if conn.set("fo:%d" % n, n) is not True:
                    raise redis.exceptions.ResponseError("SET not OK")
                t = time.monotonic()
                with self.lock:
                    self.acks.append((t, n, where))
            except redis.exceptions.RedisError as e:
                name = type(e).__name__
                self.errors[name] = self.errors.get(name, 0) + 1
                if conn is not None:
                    conn.connection_pool.disconnect()
                conn = None
                # The next attempt starts with the next Sentinel.
                self.si = (self.si + 1) % len(self.sentinels)
            tick = max(tick + self.a.interval, time.monotonic())

    # -- the cluster's view -------------------------------------------------

    def watcher(self):
        watch = [x for x in self.nodes if self.a.manual or x != self.old]
        conns = {x: redis.Redis(host=x[0], port=x[1],
                                socket_timeout=0.2,
                                socket_connect_timeout=0.2) for x in watch}
        while not self.stop.is_set():
            t = time.monotonic()
            view = {}
            for x, c in conns.items():
                try:
                    view[x] = c.info("replication")
                except redis.exceptions.RedisError:
                    view[x] = None
            if self.t_event is not None and t >= self.t_event:
                self.judge(t, view)
            time.sleep(WATCH_PERIOD)

    def judge(self, t, view):
        prim = [x for x, v in view.items()
                if v and v.get("role") == "master" and x != self.old]
        if len(prim) != 1:
            return
        p = prim[0]
        if self.t_promoted is None:
            self.t_promoted = t
            self.new_primary = p
            log("promoted: %s:%d at +%.0f ms" % (p[0], p[1], (t - self.t_event) * 1000))
        if self.t_relinked is not None:
            return
        for x, v in view.items():
            if x == p:
                continue
            if not v or v.get("role") != "slave" \
                    or int(v.get("master_port", 0)) != p[1] \
                    or v.get("master_link_status") != "up":
                return
        self.t_relinked = t
        log("relinked: every other node replicates from %s:%d at +%.0f ms"
            % (p[0], p[1], (t - self.t_event) * 1000))

    # -- the event ----------------------------------------------------------

    def event(self):
        if self.a.kill_pid:
            self.t_event = time.monotonic()
            os.kill(self.a.kill_pid, signal.SIGKILL)
            log("SIGKILL pid %d (primary %s:%d)" % (self.a.kill_pid, *self.old))
        else:
            self.t_event = time.monotonic()
            r = self.sconn[0].execute_command("SENTINEL", "FAILOVER", self.a.name)
            log("SENTINEL FAILOVER %s: %r (+%.0f ms)" % (
                self.a.name, r, (time.monotonic() - self.t_event) * 1000))

    def new_acked(self):
        with self.lock:
            return any(t > self.t_event and w == self.new_primary
                       for t, _, w in self.acks[-50:])

    def run(self):
        threads = [threading.Thread(target=self.writer, daemon=True),
                   threading.Thread(target=self.watcher, daemon=True)]
        for th in threads:
            th.start()
        time.sleep(self.a.warmup)
        if len(self.acks) < self.a.warmup / self.a.interval / 4:
            self.stop.set()
            log("only %d writes acknowledged in %.1f s of warm-up (errors %r)"
                % (len(self.acks), self.a.warmup, self.errors))
            return False
        self.event()
        deadline = self.t_event + self.a.timeout
        done = None
        while time.monotonic() < deadline:
            if done is None and self.t_relinked is not None and self.new_acked():
                done = time.monotonic()
            if done is not None and time.monotonic() >= done + self.a.settle:
                break
            time.sleep(0.01)
        self.stop.set()
        for th in threads:
            th.join(5)
        self.recovered = done is not None
        return True

    # -- the figures --------------------------------------------------------

    def lost(self):
        if self.new_primary is None:
            return None
        c = redis.Redis(host=self.new_primary[0], port=self.new_primary[1],
                        socket_timeout=10)
        missing = 0
        acks = self.acks
        for i in range(0, len(acks), 500):
            chunk = acks[i:i + 500]
            p = c.pipeline(transaction=False)
            for _, n, _ in chunk:
                p.get("fo:%d" % n)
            for (_, n, _), v in zip(chunk, p.execute()):
                if v != str(n).encode():
                    missing += 1
        return missing

    def report(self, f):
        e = self.t_event
        ms = lambda t: "%.1f" % ((t - e) * 1000) if t is not None else "-"
        acks = self.acks
        gap, gap_at = 0.0, None
        for (t0, _, _), (t1, _, _) in zip(acks, acks[1:]):
            if t1 - t0 > gap:
                gap, gap_at = t1 - t0, t0
        first_new = next((t for t, _, w in acks
                          if t > e and w == self.new_primary), None)
        last_old = max((t for t, _, w in acks if w == self.old), default=None)
        out = lambda line: f.write(line + "\n")
        out("recovered %d" % (1 if self.recovered else 0))
        out("gap_ms %.1f" % (gap * 1000))
        out("gap_start_ms %s" % ms(gap_at))
        out("promoted_ms %s" % ms(self.t_promoted))
        out("relinked_ms %s" % ms(self.t_relinked))
        out("first_new_ack_ms %s" % ms(first_new))
        out("last_old_ack_ms %s" % ms(last_old))
        out("acked %d" % len(acks))
        out("attempts %d" % self.attempts)
        out("errors %s" % (",".join("%s=%d" % kv for kv in sorted(self.errors.items())) or "-"))
        out("new_primary %s" % ("%s:%d" % self.new_primary if self.new_primary else "-"))
        lost = self.lost()
        out("lost %s" % ("-" if lost is None else lost))
        if self.a.trace:
            with open(self.a.trace, "w") as f:
                for t, n, w in acks:
                    f.write("%.1f %d %s:%d\n" % ((t - e) * 1000, n, w[0], w[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sentinels", required=True)
    ap.add_argument("--nodes", required=True)
    ap.add_argument("--primary", required=True)
    ap.add_argument("--name", default="mymaster")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--kill-pid", type=int)
    g.add_argument("--manual", action="store_true")
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--warmup", type=float, default=1.5)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--out", required=True, help="file for the figures")
    ap.add_argument("--trace", help="file for every acknowledged write")
    a = ap.parse_args()
    r = Run(a)
    if not r.run():
        return 2
    with open(a.out, "w") as f:
        r.report(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
