"""A failover cluster of rkv_node processes for the integration tests
(test_failover.py, tests/chaos/chaos.py), built on repl_harness.

Node i listens on its own port but announces its proxy's port
(replica-announce-port) and connects to its peers from 127.0.0.(10+i)
(bind-source-addr), so every link between nodes crosses the proxy of the
node it reaches, and a proxy can tell which node a connection comes from.
partition([[0], [1, 2]]) makes each proxy drop and refuse the connections
from the nodes of the other sides; cut_link(a, b) does it for one pair,
cut_one_way(a, b) holds what a sends to b (not what b sends to a) and
delay_link(a, b, s) delays both ways; heal() lifts them all. The monitor address is
node 0's proxy: node 0 starts as the primary."""

import os
import shutil
import tempfile
import time

from repl_harness import Node, Proxy, free_port, wait_until

SECRET = "s3cret"


def parse_cluster(line):
    """The `cluster` answer as a dict; peers as a list of dicts."""
    out = {}
    for part in line.split():
        k, _, v = part.partition("=")
        out[k] = v
    peers = []
    for p in filter(None, out.get("peers", "").split(",")):
        ident, _, rest = p.partition("@")
        addr, state, kind, role, off = rest.split("/")
        peers.append({"id": ident, "addr": addr, "state": state,
                      "kind": kind, "role": role, "offset": int(off)})
    out["peers"] = peers
    return out


def parse_divergences(line):
    """The `divergences` answer: (count, [{from, to, nwrites, complete,
    keys}])."""
    parts = line.split()
    events = []
    for e in parts[1:]:
        rng, nw, comp, keys = e.split("/", 3)
        a, b = rng.split("-")
        events.append({"from": int(a), "to": int(b), "nwrites": int(nw),
                       "complete": comp == "complete",
                       "keys": [] if keys == "-" else keys.split(",")})
    return int(parts[0]), events


class Cluster:
    """n nodes; witnesses is a set of indexes; persist a set of indexes
    that get appendonly yes in a directory kept across restarts. opts are
    extra (name, value) pairs for every node."""

    def __init__(self, n=3, witnesses=(), persist=(), quorum=2,
                 down_after=800, ping=100, failover_timeout=4000,
                 opts=(), node_opts=None):
        self.n = n
        self.witnesses = set(witnesses)
        self.persist = set(persist)
        self.ports = [free_port() for _ in range(n)]
        self.proxies = [Proxy(p) for p in self.ports]
        self.src = ["127.0.0.%d" % (10 + i) for i in range(n)]
        self.quorum = quorum
        self.down_after = down_after
        self.opts = [("sentinel down-after-milliseconds", down_after),
                     ("sentinel ping-interval", ping),
                     ("sentinel failover-timeout", failover_timeout),
                     ("requirepass", SECRET), ("masterauth", SECRET),
                     ("loglevel", "verbose")] + list(opts)
        self.node_opts = node_opts or {}
        self.dirs = {i: tempfile.mkdtemp(prefix="rkv-data-")
                     for i in self.persist}
        self.nodes = [None] * n
        self.old = []  # nodes replaced by restart(), closed at the end
        self.stopped = set()
        self.partitioned = False
        try:
            for i in range(n):
                self.start(i)
        except Exception:
            self.close()
            raise

    # ------------------------------------------------------------ nodes

    def args(self, i):
        extra = [("sentinel monitor", "m 127.0.0.1 %d %d" %
                  (self.proxies[0].port, self.quorum)),
                 ("replica-announce-port", self.proxies[i].port),
                 ("bind-source-addr", self.src[i])] + self.opts
        if i in self.witnesses:
            extra.append(("witness", "yes"))
        if i in self.persist:
            extra += [("appendonly", "yes"), ("dir", self.dirs[i])]
        extra += list(self.node_opts.get(i, ()))
        return extra

    def start(self, i):
        """Starts node i. Peers reach it through its proxy only, so when
        its port was taken meanwhile (by some connection's ephemeral
        port) it moves to another one and the proxy follows."""
        for attempt in range(3):
            try:
                self.nodes[i] = Node(port=self.ports[i], extra=self.args(i))
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                self.ports[i] = free_port()
                self.proxies[i].target = self.ports[i]
        self.stopped.discard(i)
        return self.nodes[i]

    def kill(self, i):
        self.nodes[i].kill9()
        self.stopped.discard(i)

    def restart(self, i):
        """SIGKILL node i if it runs, then start it again on the same
        port (with its data directory if it persists)."""
        old = self.nodes[i]
        old.kill9()
        self.old.append(old)
        return self.start(i)

    def stop(self, i):
        self.nodes[i].stop()
        self.stopped.add(i)

    def cont(self, i):
        self.nodes[i].cont()
        self.stopped.discard(i)

    def up(self, i):
        """Running and not stopped: it answers commands."""
        return self.nodes[i].alive() and i not in self.stopped

    def data(self):
        return [i for i in range(self.n) if i not in self.witnesses]

    # ------------------------------------------------------- partitions

    def partition(self, groups):
        """groups: lists of node indexes; links between groups are cut."""
        side = {}
        for g, members in enumerate(groups):
            for i in members:
                side[i] = g
        for i in range(self.n):
            others = [self.src[j] for j in range(self.n)
                      if side.get(j) != side.get(i)]
            self.proxies[i].block(others)
        self.partitioned = True

    def cut_link(self, a, b):
        """Both ways between a and b: each proxy drops and refuses the
        other's connections."""
        self.proxies[b].block([self.src[a]])
        self.proxies[a].block([self.src[b]])
        self.partitioned = True

    def cut_one_way(self, a, b):
        """What a sends to b is held until heal(), what b sends to a goes
        through: on a's connections to b the way in, on b's connections
        to a the way out."""
        self.proxies[b].hold(self.src[a], "in")
        self.proxies[a].hold(self.src[b], "out")
        self.partitioned = True

    def delay_link(self, a, b, seconds):
        """Every byte between a and b, both ways, arrives seconds late."""
        self.proxies[b].delay(self.src[a], seconds)
        self.proxies[a].delay(self.src[b], seconds)
        self.partitioned = True

    def heal(self):
        for p in self.proxies:
            p.unblock()
            p.release()
        self.partitioned = False

    # ------------------------------------------------------------ views

    def role(self, i):
        return self.nodes[i].cmd("role", 10)

    def cluster(self, i):
        return parse_cluster(self.nodes[i].cmd("cluster", 10))

    def node_id(self, i):
        return self.nodes[i].cmd("id", 10)

    def primaries(self, among=None):
        among = range(self.n) if among is None else among
        return [i for i in among if self.up(i) and i not in self.witnesses
                and self.role(i) == "primary"]

    def wait_primary(self, among=None, exclude=(), timeout=20.0):
        """Waits until exactly one node of among (all up ones by default),
        not in exclude, is primary and returns its index."""
        found = []

        def one():
            found[:] = [i for i in self.primaries(among) if i not in exclude]
            return len(found) == 1
        wait_until(one, timeout, 0.05, lambda: "one primary among %s (%s)" %
                   (list(among) if among is not None else "all",
                    self.describe()))
        return found[0]

    def ready(self, timeout=20.0):
        """Waits for the starting primary and until a write on it is
        acknowledged by every other data node (a replica acknowledges
        only once it has heard enough of the cluster), then for equal
        offsets. Returns the primary's index."""
        p = self.wait_primary(timeout=timeout)
        want = str(len(self.data()) - 1)
        node = self.nodes[p]
        wait_until(lambda: node.cmd("set ready 1") == "OK" and
                   node.cmd("wait %s 500" % want) == want, timeout, 0.05,
                   lambda: "every replica acknowledges (%s)" %
                   self.describe())
        self.wait_synced(p)
        return p

    def follows(self, i, p):
        """Node i is a replica of node p with its link up and the same
        offset."""
        if not (self.up(i) and self.up(p)):
            return False
        a, b = self.nodes[p].info(), self.nodes[i].info()
        return (b.get("role") in ("slave", "replica") and
                b.get("master_port") == str(self.proxies[p].port) and
                b.get("master_link_status") == "up" and
                a.get("master_repl_offset") == b.get("master_repl_offset"))

    def wait_synced(self, p, replicas=None, timeout=20.0):
        replicas = [i for i in self.data() if i != p] \
            if replicas is None else replicas
        wait_until(lambda: all(self.follows(i, p) for i in replicas),
                   timeout, 0.05, lambda: "replicas %s synced with %d (%s)" %
                   (replicas, p, self.describe()))

    def wait_settled(self, timeout=30.0):
        """Waits until exactly one node is primary and every other data
        node follows it at its offset; returns the primary's index."""
        found = []

        def settled():
            ps = self.primaries()
            if len(ps) != 1:
                return False
            found[:] = ps
            return all(self.follows(i, ps[0]) for i in self.data()
                       if i != ps[0])
        wait_until(settled, timeout, 0.05,
                   lambda: "one primary, the others synced (%s)" %
                   self.describe())
        return found[0]

    def digests(self, among=None):
        among = self.data() if among is None else among
        return {i: self.nodes[i].cmd("digest") for i in among}

    def describe(self):
        out = []
        for i in range(self.n):
            if not self.nodes[i].alive():
                out.append("%d:dead" % i)
            elif i in self.stopped:
                out.append("%d:stopped" % i)
            else:
                try:
                    c = self.cluster(i)
                    out.append("%d:%s e%s p%s" % (i, c["role"],
                                                  c["config_epoch"],
                                                  c["primary"]))
                except AssertionError:
                    out.append("%d:?" % i)
        return ", ".join(out)

    def index_of_port(self, port):
        for i, p in enumerate(self.proxies):
            if p.port == port:
                return i
        return None

    def close(self):
        """Ends every process and removes their directories (unless
        RKV_KEEP_LOGS). Returns the sanitizer reports found in their logs
        once they exited (leaks are reported at exit): a list of
        (pid, the report's first lines)."""
        keep = bool(os.environ.get("RKV_KEEP_LOGS"))
        reports = []
        for n in self.nodes + self.old:
            if n is None:
                continue
            n.close(True)
            with open(n.log_path, errors="replace") as f:
                lines = f.read().splitlines()
            for k, line in enumerate(lines):
                if "Sanitizer" in line or "runtime error:" in line:
                    reports.append((n.p.pid, "\n".join(lines[k:k + 12])))
                    break
            if not keep:
                shutil.rmtree(n.dir, ignore_errors=True)
        for p in self.proxies:
            p.close()
        if not keep:
            for d in self.dirs.values():
                shutil.rmtree(d, ignore_errors=True)
        return reports

    def logs(self, i):
        return self.nodes[i].logs()

    def dump_logs(self, limit=60):
        """The last lines of every node's log, for a failure message."""
        out = []
        for i, n in enumerate(self.nodes):
            if n is None:
                continue
            lines = n.logs().splitlines()[-limit:]
            out.append("---- node %d (%s)\n%s" % (i, self.src[i],
                                                 "\n".join(lines)))
        return "\n".join(out)


def now():
    return time.monotonic()
