#!/usr/bin/python3
"""test_cache_sentinel.py - replkv-cache's automatic failover seen through
Redis Sentinel's clients: redis-py's Sentinel (master_for, slave_for,
sentinel_masters, discover_master, discover_slaves) and redis-cli.

Every node runs build/replkv-cache from a config file in its own temp dir,
on free 127.0.0.1 ports: client port P, peer port P + 10000, Sentinel port
P + 20000 (a witness: Sentinel port S, peer port S + 10000), with
down-after-milliseconds 1000. Covered:

  1. Bad sentinel lines stop the start with file:line and the reason.
  2. Three data nodes: roles settle; the SENTINEL commands (MASTERS,
     MASTER, SLAVES, SENTINELS, GET-MASTER-ADDR-BY-NAME, CKQUORUM, MYID,
     RESET, errors), INFO sentinel on both ports, ROLE, AUTH, redis-cli,
     metrics; replicaof beside sentinel monitor is ignored and logged.
  3. SIGKILL of the primary: a master_for client keeps writing (bounded
     retries) and follows the failover; slave_for reads.
  4. The old primary restarted empty rejoins as a replica without wiping
     the cluster's data; SENTINEL RESET forgets its dead identity.
  5. FAILOVER on the data port while a writer runs: no acknowledged write
     lost, ROLE and INFO replication right on both nodes; FAILOVER's
     errors; SENTINEL FAILOVER.
  6. SIGSTOP of the primary past down-after, then SIGCONT: it comes back
     as a replica and a client writing to it gets READONLY.
  7. Two data nodes and one --sentinel witness survive losing the primary.

Every wait is bounded, every process is ended by its PID. Prints
"N passed, M failed"; exits non-zero on any failure.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import redis
from redis.sentinel import Sentinel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cache_harness import (BIN, SENTINEL_OFFSET, bad, check,  # noqa: E402
                           finish, free_port, missing_tools, ok, stop_process,
                           wait_until)

PASS = "s3cret-sentinel-test"
NAME = "mymaster"
DOWN_AFTER = 1000
FO_TIMEOUT = 5000
TMP = tempfile.mkdtemp(prefix="test_cache_sentinel.")
NODES = []
BAD_EXITS = []


class Node:
    """A data node (client port P) or a witness (Sentinel port S)."""

    def __init__(self, name, monitor_port, witness=False, quorum=2,
                 extra="", port=None):
        self.name = name
        self.witness = witness
        self.port = port or free_port(sentinel=not witness)
        self.sport = self.port if witness else self.port + SENTINEL_OFFSET
        self.monitor_port = monitor_port or self.port
        self.quorum = quorum
        self.extra = extra
        self.runs = 0
        self.p = None
        NODES.append(self)
        self.start()

    def start(self, empty=False):
        """Starts the node; empty: in a new, empty dir (a lost disk)."""
        self.runs += 1
        if empty or self.runs == 1:
            self.dir = os.path.join(TMP, "%s.%d" % (self.name, self.runs))
            os.makedirs(self.dir)
        conf = os.path.join(self.dir, "node.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\nloglevel verbose\n"
                    "requirepass %s\nmasterauth %s\n"
                    "sentinel monitor %s 127.0.0.1 %d %d\n"
                    "sentinel down-after-milliseconds %s %d\n"
                    "sentinel failover-timeout %s %d\n"
                    "sentinel parallel-syncs %s 1\n%s"
                    % (self.port, self.dir, PASS, PASS, NAME,
                       self.monitor_port, self.quorum, NAME, DOWN_AFTER,
                       NAME, FO_TIMEOUT, NAME, self.extra))
        self.log = os.path.join(self.dir, "log")
        args = [BIN] + (["--sentinel"] if self.witness else []) + [conf]
        with open(self.log, "a") as log:
            self.p = subprocess.Popen(args, cwd=self.dir, stdout=log,
                                      stderr=subprocess.STDOUT)
        self.s = redis.Redis(port=self.sport, password=PASS,
                             socket_timeout=5, decode_responses=True)
        self.r = None if self.witness else redis.Redis(
            port=self.port, password=PASS, socket_timeout=5,
            decode_responses=True)
        if not wait_until(lambda: self.s.ping(), 10):
            raise RuntimeError("%s did not start:\n%s" % (self.name,
                                                          self.logs()))

    def logs(self, n=3000):
        with open(self.log) as f:
            return f.read()[-n:]

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def kill9(self):
        if self.alive():
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait(10)

    def stop(self):
        rc = stop_process(self.p)
        if rc not in (None, 0):  # a crash or a sanitizer's report at exit
            BAD_EXITS.append("%s exited %d:\n%s" % (self.name, rc,
                                                    self.logs(1500)))

    def role(self):
        return self.r.execute_command("ROLE")[0]

    def repl(self):
        return self.r.info("replication")


def sentinel_client(nodes):
    return Sentinel([("127.0.0.1", n.sport) for n in nodes],
                    sentinel_kwargs={"password": PASS, "socket_timeout": 2},
                    socket_timeout=2)


def master_port(nodes):
    """The primary's client port as the Sentinels tell it, or None."""
    try:
        return sentinel_client(nodes).discover_master(NAME)[1]
    except (redis.exceptions.RedisError, OSError):
        return None


def primary_of(nodes):
    """The data node that is primary, replicas linked, or None."""
    for n in nodes:
        if n.witness or not n.alive():
            continue
        try:
            if n.role() == "master":
                return n
        except (redis.exceptions.RedisError, OSError):
            pass
    return None


def settled(nodes, primary):
    """primary is the master and every other live data node its linked
    replica."""
    if primary.role() != "master":
        return False
    for n in nodes:
        if n is primary or n.witness or not n.alive():
            continue
        i = n.repl()
        if i.get("role") != "slave" or i.get("master_port") != primary.port \
                or i.get("master_link_status") != "up":
            return False
    return True


def err_text(fn):
    """The error fn raised: a ResponseError's text (redis-py drops "ERR "),
    or "<class>: <text>" for another RedisError; None when it did not."""
    try:
        fn()
    except redis.exceptions.ResponseError as e:
        return str(e)
    except redis.exceptions.RedisError as e:
        return "%s: %s" % (type(e).__name__, e)
    return None


class Writer(threading.Thread):
    """Writes prefix:i = i in order through a Sentinel-managed client,
    retrying each write until it is acknowledged; stops when asked, after
    limit_s seconds, or at max_n writes."""

    def __init__(self, nodes, prefix, limit_s=60.0, max_n=200000):
        super().__init__(daemon=True)
        self.nodes, self.prefix = nodes, prefix
        self.limit_s, self.max_n = limit_s, max_n
        self.acked = 0
        self.errors = 0
        self.last_error = None
        self.halt = threading.Event()

    def run(self):
        m = sentinel_client(self.nodes).master_for(
            NAME, password=PASS, socket_timeout=2, decode_responses=True)
        deadline = time.monotonic() + self.limit_s
        while not self.halt.is_set() and time.monotonic() < deadline \
                and self.acked < self.max_n:
            try:
                m.set("%s:%d" % (self.prefix, self.acked), self.acked)
                self.acked += 1
            except (redis.exceptions.RedisError, OSError) as e:
                self.errors += 1
                self.last_error = repr(e)
                time.sleep(0.05)

    def wait_more(self, n, timeout=30.0):
        start = self.acked
        return wait_until(lambda: self.acked >= start + n, timeout)

    def finish(self):
        self.halt.set()
        self.join(15)


def missing_keys(r, prefix, n):
    """The indices in 0..n-1 whose key r does not hold with its value."""
    missing = []
    for lo in range(0, n, 500):
        hi = min(n, lo + 500)
        vals = r.mget(["%s:%d" % (prefix, i) for i in range(lo, hi)])
        missing += [lo + k for k, v in enumerate(vals) if v != str(lo + k)]
    return missing


# ---------------------------------------------------------------- tests

def test_bad_configs():
    d = os.path.join(TMP, "bad")
    os.makedirs(d)
    cases = [
        ("name mismatch",
         "port 0\nsentinel monitor mymaster 127.0.0.1 6379 2\n"
         "sentinel down-after-milliseconds other 1000\n",
         [], ":3: 'sentinel down-after-milliseconds other': No such master "
             "with specified name (sentinel monitor names 'mymaster')"),
        ("unknown statement",
         "port 0\nsentinel monitor mymaster 127.0.0.1 6379 2\n"
         "sentinel notification-script mymaster /bin/true\n",
         [], ":3: 'sentinel notification-script': Unrecognized sentinel "
             "configuration statement"),
        ("quorum 0", "port 0\nsentinel monitor mymaster 127.0.0.1 6379 0\n",
         [], ":2: 'sentinel monitor': Quorum must be 1 or greater"),
        ("--sentinel without monitor", "port %d\n" % free_port(),
         ["--sentinel"], "--sentinel needs a 'sentinel monitor"),
    ]
    for i, (what, text, flags, want) in enumerate(cases):
        path = os.path.join(d, "bad%d.conf" % i)
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([BIN] + flags + [path], capture_output=True,
                           text=True, timeout=10)
        out = p.stdout + p.stderr
        if p.returncode == 1 and want in out and \
                (want.startswith("--") or path + want.split(" ")[0] in out):
            ok("bad sentinel config refused with file:line: " + what)
        else:
            bad("bad sentinel config refused with file:line: " + what,
                "rc=%d\n%s" % (p.returncode, out))


def test_commands(nodes):
    n1, n2, n3 = nodes
    s = n2.s
    masters = s.sentinel_masters()
    m = masters.get(NAME, {})
    check("SENTINEL MASTERS (redis-py)",
          [NAME, "127.0.0.1", n1.port, True, False, False, 2, 2, 2],
          [m.get("name"), m.get("ip"), m.get("port"), m.get("is_master"),
           m.get("is_sdown"), m.get("is_odown"), m.get("num-slaves"),
           m.get("num-other-sentinels"), m.get("quorum")])
    check("SENTINEL MASTER times", [DOWN_AFTER, FO_TIMEOUT, 1, "master"],
          [m.get("down-after-milliseconds"), m.get("failover-timeout"),
           m.get("parallel-syncs"), m.get("role-reported")])
    check("runid is the primary's SENTINEL MYID", n1.s.execute_command(
        "SENTINEL", "MYID"), m.get("runid"))
    slaves = s.sentinel_slaves(NAME)
    check("SENTINEL SLAVES: both replicas, linked",
          sorted([(n2.port, "ok", True), (n3.port, "ok", True)]),
          sorted([(x["port"], x.get("master-link-status"), x["is_slave"])
                  for x in slaves]))
    check("SENTINEL SLAVES fields", True, all(
        x.get("master-port") == n1.port and x.get("slave-priority") == 100
        and isinstance(x.get("slave-repl-offset"), int) and
        x.get("role-reported") == "slave" for x in slaves))
    check("SENTINEL REPLICAS = SLAVES", len(slaves),
          len(s.execute_command("SENTINEL", "REPLICAS", NAME)))
    sents = s.sentinel_sentinels(NAME)
    check("SENTINEL SENTINELS: the other nodes at their Sentinel ports",
          sorted([n1.sport, n3.sport]), sorted(x["port"] for x in sents))
    check("SENTINEL SENTINELS flags", [True, True],
          [x["is_sentinel"] for x in sents])
    sc = sentinel_client(nodes)
    check("discover_master", ("127.0.0.1", n1.port), sc.discover_master(NAME))
    check("discover_slaves", sorted([("127.0.0.1", n2.port),
                                     ("127.0.0.1", n3.port)]),
          sorted(sc.discover_slaves(NAME)))
    check("GET-MASTER-ADDR-BY-NAME", ("127.0.0.1", n1.port),
          s.sentinel_get_master_addr_by_name(NAME))
    check("GET-MASTER-ADDR-BY-NAME unknown name: nil", None,
          s.sentinel_get_master_addr_by_name("nope"))
    check("SENTINEL MASTER unknown name", "No such master with that name",
          err_text(lambda: s.sentinel_master("nope")))
    check("SENTINEL CKQUORUM", "OK 3 usable Sentinels. Quorum and failover "
          "authorization can be reached",
          s.execute_command("SENTINEL", "CKQUORUM", NAME))
    myid = s.execute_command("SENTINEL", "MYID")
    check("SENTINEL MYID: 40 hex", True, len(myid) == 40 and
          all(ch in "0123456789abcdef" for ch in myid))
    check("unknown SENTINEL subcommand", True, "unknown subcommand" in
          str(err_text(lambda: s.execute_command("SENTINEL", "FOO"))))
    check("ROLE on a Sentinel port", ["sentinel", [NAME]],
          s.execute_command("ROLE"))
    check("a data command on a Sentinel port is unknown", True,
          "unknown command" in str(err_text(lambda: s.get("k"))))
    noauth = redis.Redis(port=n2.sport, socket_timeout=5)
    check("Sentinel port asks for AUTH (requirepass)",
          "AuthenticationError: Authentication required.",
          err_text(lambda: noauth.execute_command("SENTINEL", "MASTERS")))
    info = s.info("sentinel")
    check("INFO sentinel (Sentinel port)",
          [1, {"name": NAME, "status": "ok",
               "address": "127.0.0.1:%d" % n1.port, "slaves": 2,
               "sentinels": 3}],
          [info.get("sentinel_masters"), info.get("master0")])
    check("INFO sentinel on the data port", info.get("master0"),
          n1.r.info("sentinel").get("master0"))
    cli = subprocess.run(
        ["redis-cli", "-p", str(n3.sport), "-a", PASS, "--no-auth-warning",
         "SENTINEL", "get-master-addr-by-name", NAME],
        capture_output=True, text=True, timeout=10)
    check("redis-cli -p <sentinelport> SENTINEL get-master-addr-by-name",
          "127.0.0.1\n%d" % n1.port, cli.stdout.strip())
    check("REPLICAOF refused with failover on", True,
          "not allowed while failover is on" in
          str(err_text(lambda: n2.r.replicaof("127.0.0.1", n3.port))))
    check("replicaof beside sentinel monitor: ignored and logged", True,
          "ignored for the role" in n2.logs(200000))
    check("INFO replication slave_priority", 100,
          n2.repl().get("slave_priority"))


def test_metrics(n):
    import urllib.request
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % n.mport,
                                  timeout=5).read().decode()
    want = ["replkv_sentinel_current_epoch ", "replkv_sentinel_config_epoch ",
            "replkv_sentinel_failovers_total ",
            'replkv_sentinel_peer_state{node_id="',
            'replkv_role{role="primary"} ']
    check("metrics: epoch, failovers, peer states", [],
          [w for w in want if w not in body])


def test_kill_primary(nodes, primary):
    w = Writer(nodes, "kill")
    w.start()
    if not w.wait_more(200, 15):
        bad("writer started", w.last_error)
    before = w.acked
    primary.kill9()
    others = [n for n in nodes if n is not primary]
    moved = wait_until(lambda: master_port(others) not in
                       (None, primary.port), 30, 0.2)
    check("SIGKILL of the primary: the Sentinels name a new one", True, moved)
    went_on = w.wait_more(200, 30)
    w.finish()
    check("master_for kept writing through the failover", True,
          went_on and w.acked > before)
    newp = primary_of(others)
    check("the new primary is the one the Sentinels name", True,
          newp is not None and master_port(others) == newp.port)
    if newp is None:
        return None
    slave = sentinel_client(others).slave_for(
        NAME, password=PASS, socket_timeout=2, decode_responses=True)
    key = "kill:%d" % (w.acked - 1)
    check("slave_for reads the last write", True, wait_until(
        lambda: slave.get(key) == str(w.acked - 1), 15))
    check("old primary: SDOWN in SENTINEL SLAVES or gone", True, wait_until(
        lambda: all(x["is_sdown"] for x in newp.s.sentinel_slaves(NAME)
                    if x["port"] == primary.port), 10))
    return newp


def test_empty_rejoin(nodes, old, newp):
    keys = newp.r.dbsize()
    old_ids = {x["runid"] for x in newp.s.sentinel_slaves(NAME)
               if x["port"] == old.port}
    old.start(empty=True)
    check("empty restart of the old primary: rejoins as a replica", True,
          wait_until(lambda: old.repl().get("role") == "slave" and
                     old.repl().get("master_port") == newp.port and
                     old.repl().get("master_link_status") == "up", 30, 0.2))
    check("... without wiping the cluster's data", True,
          newp.role() == "master" and newp.r.dbsize() >= keys and
          wait_until(lambda: old.r.dbsize() == newp.r.dbsize(), 20))
    # Its old identity is dead: SENTINEL RESET forgets it everywhere.
    check("SENTINEL RESET <pattern>", 1,
          newp.s.execute_command("SENTINEL", "RESET", "my*"))
    check("RESET forgot the dead identity", True, wait_until(
        lambda: not old_ids & {x["runid"] for x in
                               newp.s.sentinel_slaves(NAME)} and
        not old_ids & {x["runid"] for x in newp.s.sentinel_sentinels(NAME)},
        15))
    check("RESET of another name", 0,
          newp.s.execute_command("SENTINEL", "RESET", "other*"))


def known_up(primary, port):
    """primary's failover core knows the data node at port, up and linked
    (its membership may lag its replication links a little)."""
    return any(x["port"] == port and not x["is_sdown"] and
               x.get("master-link-status") == "ok"
               for x in primary.s.sentinel_slaves(NAME))


def test_manual_failover(nodes, primary):
    replica = [n for n in nodes if n is not primary and n.alive()][0]
    check("the FAILOVER target is a known replica", True,
          wait_until(lambda: known_up(primary, replica.port), 15))
    check("FAILOVER on a replica", "FAILOVER is not valid when server is "
          "a replica.", err_text(lambda: replica.r.execute_command(
              "FAILOVER")))
    check("FAILOVER ABORT without one", "No failover in progress.",
          err_text(lambda: primary.r.execute_command("FAILOVER", "ABORT")))
    check("FAILOVER FORCE without TO and TIMEOUT", "FAILOVER with force "
          "option requires both a timeout and target HOST and IP.",
          err_text(lambda: primary.r.execute_command("FAILOVER", "FORCE")))
    check("FAILOVER TO a non-replica", "FAILOVER target HOST and PORT is "
          "not a replica.", err_text(lambda: primary.r.execute_command(
              "FAILOVER", "TO", "127.0.0.1", "1")))
    check("FAILOVER TIMEOUT 0", "FAILOVER timeout must be greater than 0",
          err_text(lambda: primary.r.execute_command("FAILOVER", "TIMEOUT",
                                                     "0")))
    w = Writer(nodes, "manual")
    w.start()
    w.wait_more(300, 15)
    rc = primary.r.execute_command("FAILOVER", "TO", "127.0.0.1",
                                   str(replica.port), "TIMEOUT", "10000")
    check("FAILOVER TO host port TIMEOUT ms: OK", True, rc in (True, "OK"))
    moved = wait_until(lambda: replica.role() == "master" and
                       primary.role() == "slave", 20, 0.1)
    check("FAILOVER: the target is primary, the old one its replica", True,
          moved)
    w.wait_more(300, 30)
    w.finish()
    check("writer went on after FAILOVER", True, w.acked > 600)
    check("FAILOVER: no acknowledged write lost", [],
          missing_keys(replica.r, "manual", w.acked)[:10])
    check("ROLE on the new primary", "master", replica.role())
    check("INFO replication on the old primary", ["slave", replica.port],
          [primary.repl().get("role"), primary.repl().get("master_port")])
    check("the old primary follows", True, wait_until(
        lambda: primary.repl().get("master_link_status") == "up" and
        primary.r.execute_command("DEBUG", "DIGEST") ==
        replica.r.execute_command("DEBUG", "DIGEST"), 20))
    check("Sentinels name the new primary", replica.port,
          master_port(nodes))
    # SENTINEL FAILOVER, from a Sentinel port, switches again.
    s = primary.s
    # The leader of the last failover keeps it running until the replicas
    # are reconfigured (-INPROG meanwhile, as Redis's Sentinel).
    check("SENTINEL FAILOVER", True,
          wait_until(lambda: s.sentinel_failover(NAME), 20, 0.2))
    check("SENTINEL FAILOVER moved the primary", True, wait_until(
        lambda: primary_of(nodes) not in (None, replica) and
        settled(nodes, primary_of(nodes)), 30, 0.2))
    return primary_of(nodes)


def test_sigstop(nodes, primary):
    direct = redis.Redis(port=primary.port, password=PASS, socket_timeout=2)
    os.kill(primary.p.pid, signal.SIGSTOP)
    others = [n for n in nodes if n is not primary]
    moved = wait_until(lambda: primary_of(others) is not None, 30, 0.2)
    check("SIGSTOP past down-after: another node is promoted", True, moved)
    newp = primary_of(others)
    os.kill(primary.p.pid, signal.SIGCONT)
    check("SIGCONT: the old primary comes back as a replica", True,
          wait_until(lambda: primary.role() == "slave", 20, 0.1))
    got = None
    try:
        direct.set("stale-write", "1")
    except redis.exceptions.ReadOnlyError as e:
        got = "READONLY " + str(e)
    except redis.exceptions.RedisError as e:
        got = repr(e)
    check("a client writing to it gets READONLY", True,
          got is not None and got.startswith("READONLY"))
    m = sentinel_client(nodes).master_for(NAME, password=PASS,
                                          socket_timeout=2)
    wrote = wait_until(lambda: m.set("after-stop", "1"), 15, 0.1)
    check("master_for writes to the new primary", True,
          wrote and newp is not None and newp.r.get("after-stop") == "1")
    check("the old primary follows the new one", True, wait_until(
        lambda: settled(nodes, newp), 20, 0.2) if newp else False)


def test_witness():
    d1 = Node("w-d1", None)
    d2 = Node("w-d2", d1.port, extra="replica-priority 10\n")
    w = Node("w-witness", d1.port, witness=True)
    nodes = [d1, d2, w]
    check("witness cluster settles", True, wait_until(
        lambda: settled(nodes, d1) and master_port([w]) == d1.port, 30,
        0.2))
    m = w.s.sentinel_master(NAME)
    check("witness: SENTINEL MASTER", [d1.port, 1, 2],
          [m.get("port"), m.get("num-slaves"), m.get("num-other-sentinels")])
    check("witness: SENTINEL SENTINELS lists the data nodes", sorted(
        [d1.sport, d2.sport]), sorted(x["port"] for x in
                                      w.s.sentinel_sentinels(NAME)))
    check("data node: SENTINEL SENTINELS lists the witness", True,
          w.sport in [x["port"] for x in d1.s.sentinel_sentinels(NAME)])
    check("witness: no data commands", True, "unknown command" in str(
        err_text(lambda: w.s.set("k", "v"))))
    check("witness: INFO server says sentinel mode", "sentinel",
          w.s.info("server").get("redis_mode"))
    check("witness logs with the X role mark", True, ":X " in w.logs())
    d1.r.set("witnessed", "1")
    check("WAIT: the replica has it before the kill", 1, d1.r.wait(1, 5000))
    d1.kill9()
    check("2 data nodes + witness survive losing the primary", True,
          wait_until(lambda: d2.role() == "master" and
                     master_port([w]) == d2.port, 30, 0.2))
    check("the survivor has the data", "1", d2.r.get("witnessed"))
    for n in nodes:
        n.stop()


def main():
    if missing_tools("redis-cli"):
        sys.exit(1)

    test_bad_configs()

    mport = free_port(pair=False)
    n1 = Node("n1", None, extra="metrics-port %d\n" % mport)
    n1.mport = mport
    n2 = Node("n2", n1.port, extra="replicaof 127.0.0.1 %d\n" % n1.port)
    n3 = Node("n3", n1.port)
    nodes = [n1, n2, n3]
    if not wait_until(lambda: settled(nodes, n1) and
                      master_port(nodes) == n1.port, 30, 0.2):
        bad("three data nodes settle: n1 primary, n2 and n3 linked",
            "\n".join(n.name + ":\n" + n.logs(1500) for n in nodes))
        return
    ok("three data nodes settle: n1 primary, n2 and n3 linked")
    n1.r.set("before", "failover")
    test_commands(nodes)
    test_metrics(n1)
    newp = test_kill_primary(nodes, n1)
    if newp is None:
        return
    test_empty_rejoin(nodes, n1, newp)
    if not wait_until(lambda: settled(nodes, newp), 30, 0.2):
        bad("cluster settled before FAILOVER",
            "\n".join(n.name + ":\n" + n.logs(1500) for n in nodes))
        return
    p = test_manual_failover(nodes, newp)
    if p is not None:
        test_sigstop(nodes, p)
    for n in nodes:
        n.stop()
    test_witness()
    check("every node exited 0 on SIGTERM", [], BAD_EXITS)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure, not a silent exit
        import traceback
        bad("test crashed: %r" % e, traceback.format_exc())
        for n in NODES:
            if n.p is not None:
                bad("log of " + n.name, n.logs(2000))
    finally:
        for n in NODES:
            n.stop()
        shutil.rmtree(TMP, ignore_errors=True)
    finish()
