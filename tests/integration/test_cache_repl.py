#!/usr/bin/python3
"""test_cache_repl.py - replkv-cache replication end to end, seen through
the real Redis tools: redis-py (ROLE, INFO, WAIT, error classes), redis-cli
and redis-benchmark.

A primary and two replicas of build/replkv-cache run on free 127.0.0.1
ports (client port and client port + 10000, the peers' port, both free) in
a temp dir. Covered: data flows, DEBUG DIGEST equal everywhere, READONLY,
WAIT (immediate, timeout, blocking without blocking the server, pipelined
requests behind it, UNBLOCKED on demotion), NOREPLICAS, ROLE and INFO
replication with client ports, ROLE's link states (connected, handshake
against a silent primary, connect for a host name that does not resolve,
a primary given by name), CONFIG GET/SET of the replication directives,
REPLICAOF errors, FAILOVER refused (failover off), shared
secret, then a kill -9 of the primary, promotion of replica 1, replica 2
re-pointed at it, and redis-benchmark on the new primary while the replica
follows.

Every process is ended by its PID, every wait is bounded. Prints
"N passed, M failed"; exits non-zero on any failure.
"""

import os
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

READONLY = "READONLY You can't write against a read only replica."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."

PROCS = []
SERVERS = []
TMP = tempfile.mkdtemp(prefix="test_cache_repl.")


class Server:
    def __init__(self, name, *args):
        self.name = name
        self.port = free_port()
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "log")
        with open(self.log, "w") as log:
            self.p = subprocess.Popen(
                [BIN, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--loglevel", "verbose"] + list(args),
                cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        PROCS.append(self.p)
        SERVERS.append(self)
        self.r = redis.Redis(port=self.port, socket_timeout=10,
                             decode_responses=True,
                             password=self._password(args))
        if not wait_until(lambda: self.r.ping(), 10):
            raise RuntimeError("%s did not start:\n%s" % (name, self.logs()))

    @staticmethod
    def _password(args):
        args = list(args)
        if "--requirepass" in args:
            return args[args.index("--requirepass") + 1]
        return None

    def logs(self):
        with open(self.log) as f:
            return f.read()[-3000:]

    def kill9(self):
        os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(10)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)

    def digest(self):
        return self.r.execute_command("DEBUG", "DIGEST")


def digests_equal(*servers):
    return len({s.digest() for s in servers}) == 1


def err_text(fn):
    try:
        fn()
    except redis.exceptions.ResponseError as e:
        return type(e).__name__, str(e)
    return None, None


def raw(port, payload, want_bytes, timeout=5.0):
    """Sends payload on a new socket and reads until want_bytes arrived."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(payload)
    buf = b""
    deadline = time.monotonic() + timeout
    while len(buf) < want_bytes and time.monotonic() < deadline:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf


def main():
    if not os.access(BIN, os.X_OK):
        print("missing %s (make)" % BIN)
        print("0 passed, 1 failed")
        return 1
    for tool in ("redis-cli", "redis-benchmark"):
        if shutil.which(tool) is None:
            print("missing %s (make deps)" % tool)
            print("0 passed, 1 failed")
            return 1

    # ------------------------------------------------ start and sync
    p = Server("primary")
    p.r.set("before", "sync")
    r1 = Server("replica1", "--replicaof", "127.0.0.1", str(p.port))
    r2 = Server("replica2", "--replicaof", "127.0.0.1", str(p.port))
    if wait_until(lambda: p.r.info("replication")["connected_slaves"] == 2
                  and all(r.r.info("replication")["master_link_status"] ==
                          "up" for r in (r1, r2))):
        ok("two replicas connected, links up")
    else:
        bad("two replicas connected, links up", p.logs() + r1.logs())

    pipe = p.r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set("key:%d" % i, "value:%d" % i)
    pipe.setex("ttl", 1000, "x")
    pipe.incrby("counter", 42)
    pipe.delete("key:0")
    pipe.execute()
    check("WAIT 2 after writes", 2, p.r.wait(2, 5000))
    check("replica serves the data", ["value:1", "42", None],
          [r1.r.get("key:1"), r2.r.get("counter"), r2.r.get("key:0")])
    check("replica sees keys written before it synced", "sync",
          r1.r.get("before"))
    if wait_until(lambda: digests_equal(p, r1, r2), 10):
        ok("DEBUG DIGEST equal on all three")
    else:
        bad("DEBUG DIGEST equal on all three",
            [s.digest() for s in (p, r1, r2)])
    check("DBSIZE equal", [p.r.dbsize()] * 2, [r1.r.dbsize(), r2.r.dbsize()])

    # ------------------------------------------------ READONLY
    check("write on a replica: exact READONLY",
          ("ReadOnlyError", READONLY[len("READONLY "):]),
          err_text(lambda: r1.r.set("k", "v")))
    out = subprocess.run(["redis-cli", "-p", str(r1.port), "del", "key:1"],
                         capture_output=True, text=True, timeout=10).stdout
    check("redis-cli sees READONLY", READONLY, out.strip())
    check("READONLY before syntax errors, as Redis",
          ("ReadOnlyError", READONLY[len("READONLY "):]),
          err_text(lambda: r1.r.execute_command("SET", "k", "v", "BOGUS")))
    check("WAIT on a replica is refused", True,
          "WAIT cannot be used with replica instances" in
          str(err_text(lambda: r1.r.wait(1, 0))[1]))

    # ------------------------------------------------ ROLE
    role = p.r.role()
    ports = sorted(int(x[1]) for x in role[2])
    check("ROLE on the primary", ["master", True, sorted([r1.port, r2.port]),
                                  True],
          [role[0], isinstance(role[1], int), ports,
           all(0 < int(x[2]) <= role[1] for x in role[2])])
    role1 = r1.r.role()
    check("ROLE on a replica", ["slave", "127.0.0.1", p.port, "connected",
                                True],
          role1[:4] + [isinstance(role1[4], int) and role1[4] > 0])
    rawrole = raw(r1.port, b"ROLE\r\n", 20)
    check("ROLE replica reply shape (port and offset integers)", True,
          rawrole.startswith(b"*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:%d"
                             b"\r\n$9\r\nconnected\r\n:" % p.port))

    # ------------------------------------------------ INFO replication
    pi = p.r.info("replication")
    ri = r2.r.info("replication")
    check("INFO on the primary", ["master", 2],
          [pi["role"], pi["connected_slaves"]])
    check("INFO slaveN ports are client ports", sorted([r1.port, r2.port]),
          sorted([pi["slave0"]["port"], pi["slave1"]["port"]]))
    check("INFO slaveN online", ["online", "online"],
          [pi["slave0"]["state"], pi["slave1"]["state"]])
    check("INFO on a replica",
          ["slave", "127.0.0.1", p.port, "up", 0, 1, 100],
          [ri["role"], ri["master_host"], ri["master_port"],
           ri["master_link_status"], ri["master_sync_in_progress"],
           ri["slave_read_only"], ri["slave_priority"]])
    check("replica offset equals primary offset after WAIT", True,
          wait_until(lambda: r2.r.info("replication")["slave_repl_offset"] ==
                     p.r.info("replication")["master_repl_offset"], 5))
    check("HELLO role", ["master", "replica"],
          [p.r.execute_command("HELLO", "2")[11],
           r1.r.execute_command("HELLO", "2")[11]])

    # ------------------------------------------------ WAIT
    t0 = time.monotonic()
    n = p.r.wait(3, 300)
    dt = time.monotonic() - t0
    check("WAIT 3 300 times out with 2", [2, True], [n, 0.25 <= dt < 3])
    check("WAIT with nothing written answers at once", 2,
          redis.Redis(port=p.port).wait(2, 0))
    check("WAIT negative timeout", "timeout is negative",
          err_text(lambda: p.r.wait(1, -1))[1])
    check("WAIT bad count", "value is not an integer or out of range",
          err_text(lambda: p.r.execute_command("WAIT", "x", "0"))[1])

    # WAIT 3 0 blocks forever; the server keeps serving others, and the
    # requests pipelined behind the WAIT run after its reply.
    blocker = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    blocker.sendall(b"SET w 1\r\nWAIT 3 0\r\nGET w\r\n")
    time.sleep(0.3)
    t0 = time.monotonic()
    pong = p.r.ping()
    check("server serves others while a client is blocked in WAIT",
          [True, True], [pong, time.monotonic() - t0 < 0.5])
    blocker.settimeout(0.3)
    try:
        early = blocker.recv(100)
    except socket.timeout:
        early = b""
    check("WAIT 3 0 still blocked, pipelined GET not run", b"+OK\r\n", early)
    check("INFO shows the primary's peers meanwhile", 2,
          p.r.info("replication")["connected_slaves"])
    # Demoting the primary answers blocked WAITs with UNBLOCKED, as Redis.
    blocker2 = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    blocker2.sendall(b"WAIT 5 0\r\n")
    time.sleep(0.2)
    blocker.close()  # a blocked client that goes away is forgotten
    time.sleep(0.2)
    check("server alive after a blocked client left", True, p.r.ping())
    tmp = Server("tmpprimary")
    p.r.execute_command("REPLICAOF", "127.0.0.1", str(tmp.port))
    blocker2.settimeout(5)
    got = b""
    try:
        while not got.endswith(b"\r\n"):
            chunk = blocker2.recv(200)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    check("blocked WAIT answered UNBLOCKED on demotion",
          b"-UNBLOCKED force unblock from blocking operation, instance state "
          b"changed (master -> replica?)\r\n", got)
    blocker2.close()
    check("REPLICAOF NO ONE", "OK",
          p.r.execute_command("REPLICAOF", "NO", "ONE"))
    tmp.stop()
    check("primary again: replicas reconnect", True,
          wait_until(lambda: p.r.info("replication")["connected_slaves"] == 2
                     and p.r.wait(2, 1000) == 2, 20))
    # The primary's own data was replaced by tmpprimary's (empty) keyspace
    # while it was a replica; write it back for what follows.
    pipe = p.r.pipeline(transaction=False)
    for i in range(1, 1000):
        pipe.set("key:%d" % i, "value:%d" % i)
    pipe.execute()
    check("WAIT 2 after rewrite", 2, p.r.wait(2, 5000))

    # Many pipelined WAITs from one client, each answered in order.
    buf = raw(p.port, b"SET a 1\r\nWAIT 2 1000\r\nSET b 2\r\nWAIT 2 1000\r\n"
              b"PING\r\n", 24)
    check("pipelined WAITs answered in order",
          b"+OK\r\n:2\r\n+OK\r\n:2\r\n+PONG\r\n", buf)

    # ------------------------------------------------ min-replicas
    check("CONFIG SET min-replicas-to-write 3", True,
          p.r.config_set("min-replicas-to-write", "3"))
    time.sleep(0.3)
    check("NOREPLICAS with 2 good replicas",
          ("ResponseError", NOREPLICAS),
          err_text(lambda: p.r.set("x", "1")))
    check("INFO min_slaves_good_slaves", 2,
          p.r.info("replication").get("min_slaves_good_slaves"))
    check("CONFIG SET min-slaves-to-write 2 (alias)", True,
          p.r.config_set("min-slaves-to-write", "2"))
    check("CONFIG GET both names", {"min-replicas-to-write": "2",
                                     "min-slaves-to-write": "2"},
          p.r.config_get("min-*-to-write"))
    time.sleep(0.3)
    check("write allowed with 2 good replicas", True, p.r.set("x", "1"))
    p.r.config_set("min-replicas-to-write", "0")

    # ------------------------------------------------ CONFIG, errors
    check("CONFIG GET replicaof on a replica (client port)",
          {"replicaof": "127.0.0.1 %d" % p.port},
          r1.r.config_get("replicaof"))
    check("CONFIG GET repl-port", {"repl-port": str(p.port + OFFSET)},
          p.r.config_get("repl-port"))
    check("CONFIG SET replicaof is immutable", True,
          "can't set immutable config" in
          str(err_text(lambda: p.r.config_set("replicaof", "h 1"))[1]))
    check("CONFIG SET repl-backlog-size / repl-timeout / "
          "repl-ping-replica-period",
          [True, True, True],
          [p.r.config_set("repl-backlog-size", "32mb"),
           p.r.config_set("repl-timeout", "30"),
           p.r.config_set("repl-ping-slave-period", "2")])
    check("CONFIG GET them back", {"repl-backlog-size": "33554432",
                                    "repl-timeout": "30",
                                    "repl-ping-replica-period": "2"},
          p.r.config_get("repl-[bt]*") | {
              k: v for k, v in p.r.config_get("repl-ping-replica-*").items()})
    check("CONFIG SET replica-priority refused (fixed at startup)", True,
          "can't set immutable config" in str(err_text(
              lambda: p.r.config_set("replica-priority", "10"))[1]))
    check("REPLICAOF bad port", "Invalid master port",
          err_text(lambda: p.r.execute_command("REPLICAOF", "h", "x"))[1])
    check("REPLICAOF port whose peer port is over 65535", True,
          "Invalid master port" in str(err_text(
              lambda: p.r.execute_command("REPLICAOF", "h", "60000"))[1]))
    check("REPLICAOF same primary", "OK Already connected to specified master",
          raw(r1.port, b"REPLICAOF 127.0.0.1 %d\r\n" % p.port, 10)
          .decode().strip()[1:])
    check("FAILOVER refused with failover off",
          "FAILOVER needs failover on: set 'sentinel monitor' in the "
          "configuration (see the README's Sentinel section)",
          err_text(lambda: p.r.execute_command("FAILOVER"))[1])
    check("slave-read-only no on a replica allows local writes",
          [True, "1"],
          [r2.r.config_set("slave-read-only", "no"),
           r2.r.set("local", "1") and r2.r.get("local")])
    r2.r.delete("local")  # never replicated: it would differ the digests
    r2.r.config_set("replica-read-only", "yes")
    check("replica-read-only yes again", ("ReadOnlyError",
                                          READONLY[len("READONLY "):]),
          err_text(lambda: r2.r.set("local", "2")))

    # ------------------------------------------------ link states (ROLE)
    check("ROLE of a linked replica: connected", ["slave", "connected"],
          [r1.r.role()[0], r1.r.role()[3]])
    # A "primary" that accepts connections and never says a word.
    mute_port = free_port()
    mute = socket.socket()
    mute.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    mute.bind(("127.0.0.1", mute_port + OFFSET))
    mute.listen(8)
    r3 = Server("replica3", "--replicaof", "127.0.0.1", str(mute_port))
    check("ROLE against a primary that never answers: handshake", True,
          wait_until(lambda: r3.r.role()[3] == "handshake", 10))
    info3 = r3.r.info("replication")
    check("INFO while in the handshake: link down, down since",
          ["down", True, 0],
          [info3["master_link_status"],
           "master_link_down_since_seconds" in info3,
           info3["master_sync_in_progress"]])
    check("REPLICAOF a host name that does not resolve", "OK",
          r3.r.execute_command("REPLICAOF", "no-such-host.invalid",
                               str(mute_port)))
    check("unresolvable: ROLE connect, the reason logged, retried", True,
          wait_until(lambda: r3.r.role()[3] == "connect" and
                     r3.logs().count("cannot resolve 'no-such-host.invalid'")
                     >= 2, 10))
    check("the server answers meanwhile", True, r3.r.ping())
    check("REPLICAOF localhost (a name): syncs", True,
          r3.r.replicaof("localhost", p.port) and
          wait_until(lambda: r3.r.role()[3] == "connected" and
                     r3.r.get("before") == "sync", 15))
    check("INFO of the primary lists 3 replicas, ROLE too", [3, 3],
          [p.r.info("replication")["connected_slaves"], len(p.r.role()[2])])
    r3.stop()
    mute.close()
    check("back to 2 replicas", True,
          wait_until(lambda: p.r.info("replication")["connected_slaves"] ==
                     2, 10))

    # ------------------------------------------------ shared secret
    sp = Server("secret_primary", "--requirepass", "s3cret pw",
                "--masterauth", "s3cret pw")
    sr = Server("secret_replica", "--requirepass", "s3cret pw",
                "--masterauth", "s3cret pw", "--replicaof", "127.0.0.1",
                str(sp.port))
    sw = Server("wrong_replica", "--masterauth", "wrong",
                "--replicaof", "127.0.0.1", str(sp.port))
    sp.r.set("s", "1")
    check("same secret: replica syncs", "1",
          sr.r.get("s") if wait_until(lambda: sr.r.get("s") == "1", 10)
          else None)
    time.sleep(0.5)
    check("wrong masterauth: link stays down", ["down", None],
          [sw.r.info("replication")["master_link_status"], sw.r.get("s")])
    check("wrong masterauth: primary logs the failed auth", True,
          "auth" in sp.logs().lower())
    check("CONFIG SET masterauth: the replica links up", [True, True],
          [sw.r.config_set("masterauth", "s3cret pw"),
           wait_until(lambda: sw.r.get("s") == "1", 15)])
    sn = Server("new_secret_replica", "--masterauth", "new pw",
                "--replicaof", "127.0.0.1", str(sp.port))
    time.sleep(0.5)
    check("replica with another secret: link down", "down",
          sn.r.info("replication")["master_link_status"])
    check("CONFIG SET requirepass changes the peers' secret too",
          [True, True],
          [sp.r.config_set("requirepass", "new pw"),
           wait_until(lambda: sn.r.get("s") == "1", 15)])
    check("clients AUTH with the new password", True,
          redis.Redis(port=sp.port, password="new pw").ping())
    for s in (sp, sr, sw, sn):
        s.stop()

    # ------------------------------------------------ benchmark, 2 replicas
    bench = subprocess.run(
        ["redis-benchmark", "-p", str(p.port), "-t", "set", "-n", "20000",
         "-q"], capture_output=True, text=True, timeout=120)
    check("redis-benchmark on the primary", [0, True],
          [bench.returncode, "SET:" in bench.stdout])
    if wait_until(lambda: digests_equal(p, r1, r2), 15):
        ok("DEBUG DIGEST equal on all three after the benchmark")
    else:
        bad("DEBUG DIGEST equal on all three after the benchmark",
            [s.digest() for s in (p, r1, r2)])

    # ------------------------------------------------ failover by hand
    p.r.set("last-before-crash", "yes")
    check("WAIT before the crash", 2, p.r.wait(2, 5000))
    p.kill9()
    check("replicas see the link down", True,
          wait_until(lambda: r1.r.info("replication")["master_link_status"] ==
                     "down", 10))
    check("link down: ROLE state connect(ing), INFO down_since", True,
          r1.r.role()[3] in ("connect", "connecting") and
          "master_link_down_since_seconds" in r1.r.info("replication"))
    check("REPLICAOF NO ONE on replica 1", "OK",
          r1.r.execute_command("REPLICAOF", "NO", "ONE"))
    check("replica 1 is a master", "master", r1.r.role()[0])
    check("REPLICAOF replica1 on replica 2", "OK",
          r2.r.replicaof("127.0.0.1", r1.port))
    check("replica 2 follows replica 1", True,
          wait_until(lambda: r2.r.info("replication")["master_link_status"] ==
                     "up" and r1.r.info("replication")["connected_slaves"] ==
                     1, 15))
    check("data kept after promotion", ["yes", "value:999"],
          [r2.r.get("last-before-crash"), r1.r.get("key:999")])
    r1.r.set("after-failover", "new")
    check("new writes flow", [1, "new"],
          [r1.r.wait(1, 5000), r2.r.get("after-failover")])
    info2 = r2.r.info("replication")
    i1 = r1.r.info("replication")
    check("replica 2 continued with a partial resync (no full sync)",
          [0, 1], [i1["sync_full"], i1["sync_partial_ok"]])
    check("INFO master_port on replica 2 is replica 1's client port",
          r1.port, info2["master_port"])
    check("DEBUG DIGEST equal after failover", True,
          wait_until(lambda: digests_equal(r1, r2), 10))

    # ------------------------------------------------ benchmark
    bench = subprocess.run(
        ["redis-benchmark", "-p", str(r1.port), "-t", "set", "-n", "20000",
         "-q"], capture_output=True, text=True, timeout=120)
    check("redis-benchmark -t set -n 20000", [0, True],
          [bench.returncode, "SET:" in bench.stdout])
    check("WAIT 1 after the benchmark", 1, r1.r.wait(1, 10000))
    if wait_until(lambda: digests_equal(r1, r2), 15):
        ok("DEBUG DIGEST equal after the benchmark")
    else:
        bad("DEBUG DIGEST equal after the benchmark",
            [r1.digest(), r2.digest()])
    check("DBSIZE equal after the benchmark", r1.r.dbsize(), r2.r.dbsize())

    # Every server but the one killed exits 0 on SIGTERM (a sanitizer build
    # exits non-zero on a leak) and logged no sanitizer report.
    for s in SERVERS:
        s.stop()
    check("servers exit cleanly on SIGTERM",
          {s.name: 0 for s in SERVERS if s is not p},
          {s.name: s.p.returncode for s in SERVERS if s is not p})
    reports = [s.name for s in SERVERS
               if "Sanitizer" in s.logs() or "runtime error" in s.logs()]
    check("no sanitizer reports in the logs", [], reports)
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash counts as a failure, not a pass
        import traceback
        bad("unexpected exception", traceback.format_exc())
        del e
    finally:
        for proc in PROCS:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        shutil.rmtree(TMP, ignore_errors=True)
    finish()
