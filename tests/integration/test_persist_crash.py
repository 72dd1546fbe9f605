#!/usr/bin/env python3
"""Crash test for persistence: a node (tests/tools/rkv_node) with
appendonly yes and appendfsync always, then everysec (where a write is
acknowledged once it is in the page cache, through the file's shared
mapping, and must survive a crash of the process all the same), writes
sequential keys and prints each acknowledged one; it is killed with SIGKILL at random moments (seeded, seed
printed) and restarted on the same dir. After every restart every
acknowledged key must be there with its value, and the keyspace must be
exactly keys 0..N-1 with N the acknowledged count or one more (the write in
flight when the process died may or may not have reached the disk).
Automatic snapshots run meanwhile (auto-aof-rewrite-min-size is small), so
kills also land inside snapshots and AOF rewrites.

Only this test's own processes are signalled, by PID; everything lives in a
temporary directory that is removed at the end; every wait is bounded.
"""
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("BUILD", "build")
NODE_BIN = os.path.join(BUILD, "tests", "rkv_node")
ROUNDS = 20
DEADLINE_S = 55.0


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


class Node:
    def __init__(self, dirpath, log, policy):
        self.p = subprocess.Popen(
            [NODE_BIN, "--dir", dirpath, "--appendonly", "yes",
             "--appendfsync", policy,
             "--auto-aof-rewrite-min-size", "16kb",
             "--auto-aof-rewrite-percentage", "20"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            text=True, bufsize=1)
        line = self.readline(10.0)
        if line != "ready":
            self.kill()
            fail("node did not start: %r" % line)

    def readline(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return None
        line = self.p.stdout.readline()
        return line.rstrip("\n") if line else None

    def cmd(self, line, timeout=10.0):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        ans = self.readline(timeout)
        if ans is None:
            self.kill()
            fail("no answer to %r" % line)
        return ans

    def kill(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=10)

    def quit(self):
        try:
            self.cmd("quit")
        finally:
            self.p.wait(timeout=10)


def crash_rounds(policy, rng, tmp):
    """ROUNDS kills and restarts with appendfsync policy, in a data dir of
    its own under tmp."""
    start = time.monotonic()
    logpath = os.path.join(tmp, "node-%s.log" % policy)
    data = os.path.join(tmp, "data-" + policy)
    os.mkdir(data)
    acked = 0  # keys 0..acked-1 were acknowledged
    try:
        with open(logpath, "w") as log:
            for rnd in range(ROUNDS):
                if time.monotonic() - start > DEADLINE_S:
                    fail("%s: over the time budget after %d rounds"
                         % (policy, rnd))
                n = Node(data, log, policy)
                # 1. Everything acknowledged before is there, and nothing else.
                count = int(n.cmd("count"))
                if count not in (acked, acked + 1):
                    n.kill()
                    fail("%s round %d: %d keys after restart, %d acknowledged"
                         % (policy, rnd, count, acked))
                ans = n.cmd("check %d key" % count)
                if ans != "OK":
                    n.kill()
                    fail("%s round %d: %s (acknowledged %d)"
                         % (policy, rnd, ans, acked))
                acked = count
                # 2. Write until killed at a random moment.
                n.p.stdin.write("seqwrite %d key\n" % acked)
                n.p.stdin.flush()
                until = time.monotonic() + rng.uniform(0.02, 0.6)
                while time.monotonic() < until:
                    line = n.readline(max(0.0, until - time.monotonic()))
                    if line is None:
                        if n.p.poll() is not None:
                            fail("%s round %d: node exited" % (policy, rnd))
                        continue
                    if not line.startswith("ack "):
                        n.kill()
                        fail("%s round %d: writer said %r" % (policy, rnd, line))
                    i = int(line[4:])
                    if i != acked:
                        n.kill()
                        fail("%s round %d: ack %d, expected %d"
                             % (policy, rnd, i, acked))
                    acked = i + 1
                n.kill()
                # Acks printed before the kill but not read yet count too.
                for line in n.p.stdout.read().splitlines():
                    if line.startswith("ack "):
                        acked = int(line[4:]) + 1
                print("%s round %d: %d keys acknowledged" % (policy, rnd, acked),
                      flush=True)
            n = Node(data, log, policy)
            count = int(n.cmd("count"))
            ans = n.cmd("check %d key" % count)
            n.quit()
            if count not in (acked, acked + 1) or ans != "OK":
                fail("%s final: %d keys, %s, acknowledged %d"
                     % (policy, count, ans, acked))
        with open(logpath) as f:
            text = f.read()
        print("OK %s: %d rounds, %d keys, %.1f s; %d snapshots (%d started), "
              "%d torn tails cut, %d restarts cut unused reserved space"
              % (policy, ROUNDS, acked, time.monotonic() - start,
                 text.count("persistence: snapshot of"),
                 text.count("starting a snapshot"),
                 text.count("a torn last write"),
                 text.count("unused space")), flush=True)
    except SystemExit:
        print("node log (last lines):")
        with open(logpath) as f:
            print("".join(f.readlines()[-30:]))
        raise


def main():
    if not os.path.exists(NODE_BIN):
        fail("%s not built" % NODE_BIN)
    seed = int(os.environ.get("RKV_SEED", str(int(time.time() * 1000) % 1000000)))
    print("seed %d (RKV_SEED=%d to repeat)" % (seed, seed), flush=True)
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="rkv_crash_")
    try:
        for policy in ("always", "everysec"):
            crash_rounds(policy, rng, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
