"""Chaos test for replication and failover (issue #8; `make chaos`).

For CHAOS_SECONDS (default 120) it injects one fault at a time into a
cluster of CHAOS_NODES (3 or 5) rkv_node processes whose links cross
per-node TCP proxies (tests/integration/fo_harness.py), chosen by a
random generator seeded with CHAOS_SEED (printed; rerun with it):

  kill      SIGKILL and restart with its files (appendfsync always)
  wipe      SIGKILL and restart with its files removed (a new node id)
  stop      SIGSTOP, then SIGCONT
  partition a minority of nodes cut from the rest, both ways
  isolate   the primary with a minority (3 nodes: alone) cut from the rest
  link      one link cut both ways
  oneway    one link cut one way: what A sends to B is held, not B to A
  delay     50-300 ms added to one node's links, both ways
  manual    a manual failover to another node

CHAOS_EVENTS (comma-separated) limits the kinds. Two writers run
throughout on the node that says it is the primary: "m:" keys count a
write acknowledged when `wait` says a majority has it (majority - 1
replicas), "n:" keys when the set returned OK. After each heal and at the
end the checker asserts: one primary with the others synced; every
majority-acknowledged write on it (its value or a later one); equal
digests; no two node ids primary in the same epoch (from the [role] and
failover log lines); every non-majority write found lost named in a
divergence report (or explained: its node was wiped, or its report was
partial). It prints a summary; exit 0 when all held, 1 with the seed, the
faults so far and the nodes' log tails otherwise. Only the processes it
started are signalled."""

import os
import random
import shutil
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from fo_harness import Cluster  # noqa: E402
import history  # noqa: E402

SETTLE = 30.0  # after a heal: one primary and every replica synced
CONVERGE = 5.0  # the target for it (reported, not asserted)
EVENTS = ["kill", "wipe", "stop", "partition", "isolate", "link", "oneway",
          "delay", "manual"]
CMD_TIMEOUT = 5


class Writer(threading.Thread):
    """Writes prefix<k> = v<seq> on the node that says it is the primary.
    With majority it counts a write acknowledged once `wait` says
    majority - 1 replicas have it; without, when the set returned OK
    (then in batches of 10, so a `wait` of the other writer does not
    starve it)."""

    def __init__(self, chaos, prefix, majority, seed):
        super().__init__(daemon=True)
        self.ch = chaos
        self.c = chaos.c
        self.majority = majority
        self.acks = history.Acks(prefix)
        self.rng = random.Random(seed)
        self.keys = 0
        self.seq = 0
        self.errors = 0
        self.pause = threading.Event()
        self.paused = threading.Event()
        self.done = threading.Event()
        self.failure = None

    def key(self):
        """Mostly a new key, sometimes one of the last 20 again."""
        if self.keys and self.rng.random() < 0.3:
            k = self.keys - 1 - self.rng.randrange(min(self.keys, 20))
        else:
            k = self.keys
            self.keys += 1
        return "%s%d" % (self.acks.prefix, k)

    def primary(self):
        with self.ch.guard:
            for i in self.c.data():
                if self.c.up(i):
                    try:
                        if self.c.nodes[i].cmd("role", CMD_TIMEOUT) == \
                                "primary":
                            return i
                    except (AssertionError, OSError):
                        pass
        return None

    def run(self):
        try:
            self.loop()
        except Exception as e:  # reported by the chaos loop
            self.failure = repr(e)

    def loop(self):
        p = None
        while not self.done.is_set():
            if self.pause.is_set():
                self.paused.set()
                time.sleep(0.01)
                continue
            self.paused.clear()
            if p is None or not self.c.up(p):
                p = self.primary()
                if p is None:
                    time.sleep(0.05)
                    continue
            if not self.write(p):
                self.errors += 1
                p = None
                time.sleep(0.02)

    def write(self, p):
        node = self.c.nodes[p]
        inc = self.ch.inc[p]
        n = 1 if self.majority else 10
        batch = []
        for _ in range(n):
            self.seq += 1
            batch.append((self.key(), self.seq))
        self.acks.writes += n
        try:
            ans = node.pipeline(["set %s v%d" % kv for kv in batch],
                                timeout=CMD_TIMEOUT)
            if not self.majority:
                for (k, s), a in zip(batch, ans):
                    if a == "OK":
                        self.acks.list.append((k, s, inc))
                return all(a == "OK" for a in ans)
            if ans[0] != "OK":
                return False
            need = self.ch.majority - 1
            got = node.cmd("wait %d 1000" % need, CMD_TIMEOUT)
            if got.isdigit() and int(got) >= need:
                k, s = batch[0]
                self.acks.list.append((k, s, inc))
            return True
        except (AssertionError, OSError):  # stopped or killed meanwhile
            return False


class Chaos:
    def __init__(self, seconds, seed, events, nodes):
        self.seconds = seconds
        self.events = events
        self.seed = seed
        self.rng = random.Random(seed)
        self.log = []
        self.counts = {}
        self.t0 = time.monotonic()
        self.majority = nodes // 2 + 1
        # appendfsync always: a node's own acknowledged writes survive its
        # SIGKILL (with everysec the last second is only in memory).
        self.c = Cluster(nodes, persist=set(range(nodes)),
                         quorum=self.majority, down_after=800, ping=100,
                         failover_timeout=4000,
                         opts=[("appendfsync", "always")])
        self.guard = threading.Lock()
        self.inc = {}  # slot -> its current Incarnation
        self.incs = []
        for i in range(nodes):
            self.register(i, False)
        self.writers = [Writer(self, "m:", True, seed * 2 + 1),
                        Writer(self, "n:", False, seed * 2 + 2)]
        self.lost_free = {}  # (key, seq) -> incarnation, found lost so far
        self.settles = []
        self.rounds = 0
        self.lost_major = 0
        self.promotions = None  # (epochs, role lines) once checked

    def register(self, i, wiped):
        inc = history.Incarnation(i, self.c.nodes[i], self.c.node_id(i),
                                  wiped)
        self.inc[i] = inc
        self.incs.append(inc)

    def note(self, msg):
        line = "[%7.2f] %s" % (time.monotonic() - self.t0, msg)
        self.log.append(line)
        print(line, flush=True)

    def hold(self):
        """How long a fault lasts: often past down-after, sometimes not."""
        return self.rng.choice([0.3, 0.6, 1.2, 2.0, 3.0, 4.0])

    def current_primary(self):
        ps = self.c.primaries()
        return ps[0] if len(ps) == 1 else None

    # ---------------------------------------------------------- faults

    def fault(self, kind):
        c = self.c
        n = c.n
        primary = self.current_primary()
        victim = self.rng.randrange(n)
        if primary is not None and self.rng.random() < 0.5:
            victim = primary  # the primary is the interesting victim
        others = [i for i in range(n) if i != victim]
        hold = self.hold()
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind in ("kill", "wipe"):
            self.note("%s node %d (primary %s), restart after %.1fs" %
                      (kind, victim, primary, hold))
            with self.guard:
                c.kill(victim)
            time.sleep(hold)
            if kind == "wipe":
                self.inc[victim].wiped = True
                d = c.dirs[victim]
                shutil.rmtree(d)
                os.mkdir(d)
            with self.guard:
                c.restart(victim)
                self.register(victim, kind == "wipe")
        elif kind == "stop":
            self.note("SIGSTOP node %d (primary %s) for %.1fs" %
                      (victim, primary, hold))
            with self.guard:
                c.stop(victim)
            time.sleep(hold)
            with self.guard:
                c.cont(victim)
        elif kind in ("partition", "isolate"):
            if kind == "isolate":
                if primary is None:
                    self.counts[kind] -= 1
                    return
                rest = [i for i in range(n) if i != primary]
                side = [primary] + self.rng.sample(rest, n // 2 - 1)
            else:
                side = self.rng.sample(range(n),
                                       self.rng.randint(1, n // 2))
            rest = [i for i in range(n) if i not in side]
            self.note("%s %s | %s (primary %s) for %.1fs" %
                      (kind, sorted(side), rest, primary, hold))
            c.partition([side, rest])
            time.sleep(hold)
            c.heal()
        elif kind in ("link", "oneway"):
            b = self.rng.choice(others)
            a, b = (victim, b) if self.rng.random() < 0.5 else (b, victim)
            hold = self.rng.choice([1.0, 2.0, 4.0, 6.0])
            self.note("%s %d %s %d (primary %s) for %.1fs" %
                      (kind, a, "-x-" if kind == "link" else "-x->", b,
                       primary, hold))
            if kind == "link":
                c.cut_link(a, b)
            else:
                c.cut_one_way(a, b)
            time.sleep(hold)
            c.heal()
        elif kind == "delay":
            ms = self.rng.choice([50, 100, 200, 300])
            hold = self.rng.choice([1.0, 2.0, 4.0, 6.0])
            self.note("delay %d ms on node %d's links (primary %s) for "
                      "%.1fs" % (ms, victim, primary, hold))
            for o in others:
                c.delay_link(victim, o, ms / 1000.0)
            time.sleep(hold)
            c.heal()
        else:
            if primary is None:
                self.counts[kind] -= 1
                return
            target = self.rng.choice([i for i in c.data() if i != primary])
            asker = self.rng.randrange(n)
            ans = c.nodes[asker].cmd("failover %s 5000" %
                                     c.node_id(target))
            self.note("manual failover %d -> %d asked on %d: %s" %
                      (primary, target, asker, ans))
            time.sleep(hold)
            now = self.current_primary()
            if now != target:
                self.note("  after %.1fs the primary is %s, not %d" %
                          (hold, now, target))

    # ---------------------------------------------------------- checks

    def pause_writers(self):
        for w in self.writers:
            w.pause.set()
        for w in self.writers:
            if not w.paused.wait(30):
                raise AssertionError("writer %s does not pause" %
                                     w.acks.prefix)

    def check(self, final=False):
        c = self.c
        t = time.monotonic()
        p = c.wait_settled(SETTLE)
        settled = time.monotonic() - t
        self.settles.append(settled)
        self.pause_writers()
        try:
            q = c.wait_settled(SETTLE)
            if q != p:
                self.note("the primary moved from %d to %d meanwhile" %
                          (p, q))
                p = q
            m, f = self.writers
            fm = history.parse_dump(c.nodes[p].cmd("dump m:", 60))
            lost = m.acks.lost(fm)
            self.lost_major = len(lost)
            if lost:
                raise AssertionError(
                    "%d majority-acknowledged writes missing on the primary "
                    "%d: %s" % (len(lost), p, ", ".join(
                        "%s=v%d (acked by %s)" % (k, s, i.name())
                        for k, s, i in lost[:20])))
            fn = history.parse_dump(c.nodes[p].cmd("dump n:", 60))
            for k, s, inc in f.acks.lost(fn):
                self.lost_free.setdefault((k, s), inc)
            d = c.digests()
            if len(set(d.values())) != 1:
                raise AssertionError("digests differ: %s" % d)
        finally:
            for w in self.writers:
                w.pause.clear()
        self.note("round %d ok: primary %d (settled %.1fs after the heal), "
                  "majority acked %d of %d, others acked %d of %d, "
                  "lost without majority so far %d, digests equal" %
                  (self.rounds, p, settled, len(m.acks.list), m.acks.writes,
                   len(f.acks.list), f.acks.writes, len(self.lost_free)))

    def run(self):
        self.note("seed %d, %d s, %d nodes, faults: %s" %
                  (self.seed, self.seconds, self.c.n, ",".join(self.events)))
        self.c.ready()
        for w in self.writers:
            w.start()
        end = self.t0 + self.seconds
        while time.monotonic() < end:
            self.rounds += 1
            self.fault(self.rng.choice(self.events))
            for w in self.writers:
                if w.failure:
                    raise AssertionError("writer %s: %s" %
                                         (w.acks.prefix, w.failure))
            self.check()
        for w in self.writers:
            w.done.set()
            w.join(30)
        byep = history.primaries_by_epoch(self.incs)
        self.promotions = (len(byep), sum(len(ids) for ids in byep.values()))
        viol = {e: ids for e, ids in byep.items() if len(ids) > 1}
        if viol:
            raise AssertionError("two primaries in one epoch: %s" % viol)
        cls, ndiv = history.classify_lost(
            [(k, s, inc) for (k, s), inc in self.lost_free.items()],
            self.incs)
        self.summary(cls, ndiv)
        if cls["unexplained"]:
            raise AssertionError(
                "%d writes acknowledged without a majority were lost with "
                "no divergence report: %s" % (len(cls["unexplained"]), ", ".join(
                    "%s=v%d (acked by %s)" % (k, s, i.name())
                    for k, s, i in cls["unexplained"][:20])))

    def summary(self, cls=None, ndiv=0):
        m, f = self.writers
        kinds = ", ".join("%s %d" % (k, self.counts[k])
                          for k in sorted(self.counts))
        print("chaos summary: seed %d, %.0f s, %d nodes, %d rounds" %
              (self.seed, time.monotonic() - self.t0, self.c.n, self.rounds))
        print("  faults: %d (%s)" % (sum(self.counts.values()), kinds))
        print("  writes: %d (majority writer %d, other %d)" %
              (m.acks.writes + f.acks.writes, m.acks.writes, f.acks.writes))
        print("  acknowledged: %d by a majority, %d without" %
              (len(m.acks.list), len(f.acks.list)))
        print("  lost after majority acknowledgement: %d" % self.lost_major)
        if cls is not None:
            print("  lost without majority: %d, of which in divergence "
                  "reports %d, node wiped %d, partial report %d, "
                  "unexplained %d (%d divergence events)" %
                  (len(self.lost_free), len(cls["reported"]),
                   len(cls["wiped"]), len(cls["partial"]),
                   len(cls["unexplained"]), ndiv))
        if self.promotions is not None:
            print("  one primary per epoch: %d epochs with a primary in the "
                  "logs, %d (epoch, node id) pairs, no epoch with two" %
                  self.promotions)
        if self.settles:
            print("  converged after a heal: max %.1f s, last %.1f s "
                  "(target %.0f s)" % (max(self.settles), self.settles[-1],
                                       CONVERGE), flush=True)


def main():
    seconds = float(os.environ.get("CHAOS_SECONDS", "120"))
    seed = int(os.environ.get("CHAOS_SEED", str(random.randrange(1 << 31))))
    nodes = int(os.environ.get("CHAOS_NODES", "3"))
    events = os.environ.get("CHAOS_EVENTS", ",".join(EVENTS)).split(",")
    bad = [e for e in events if e not in EVENTS]
    if bad or nodes not in (3, 5):
        print("chaos: unknown CHAOS_EVENTS %s (known: %s) or CHAOS_NODES "
              "%d not 3 or 5" % (bad, ",".join(EVENTS), nodes))
        return 2
    ch = None
    try:
        ch = Chaos(seconds, seed, events, nodes)
        ch.run()
        ok = True
    except Exception as e:
        ok = False
        print("FAIL: %s" % e, flush=True)
        if ch is not None:
            print(ch.c.dump_logs(80), flush=True)
            print("\n".join(ch.log), flush=True)
            ch.summary()
        print("FAIL: chaos seed %d (rerun: CHAOS_SEED=%d)" % (seed, seed),
              flush=True)
    finally:
        if ch is not None:
            for w in ch.writers:
                w.done.set()
            if not ok:  # the whole logs, for what the tails do not show
                os.environ["RKV_KEEP_LOGS"] = "1"
                print("logs kept: %s" % " ".join(
                    "%s=%s" % (inc.name(), inc.node.log_path)
                    for inc in ch.incs), flush=True)
            reports = ch.c.close()
            for pid, text in reports:
                print("FAIL: sanitizer report from pid %d:\n%s" % (pid, text))
            if reports:
                ok = False
                print("FAIL: chaos seed %d" % seed, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
