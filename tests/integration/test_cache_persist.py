#!/usr/bin/python3
"""test_cache_persist.py - replkv-cache with appendonly: data written
through redis-py survives SIGKILL and restart; SAVE, BGSAVE, BGREWRITEAOF,
LASTSAVE and INFO persistence answer as Redis's do; with persistence off
the save commands say why. Servers listen on 127.0.0.1 on free ports, are
ended by PID, and every wait is bounded."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
BUILD = os.environ.get("BUILD", "build")
BIN = os.path.join(BUILD if os.path.isabs(BUILD) else
                   os.path.join(ROOT, BUILD), "replkv-cache")
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   - " + name)
    else:
        failed += 1
        print("FAIL - %s %s" % (name, detail))


def port_free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A port free itself and at +10000 (the peer port)."""
    for _ in range(200):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p + 10000 < 65536 and port_free(p) and port_free(p + 10000):
            return p
    raise RuntimeError("no free port")


def start(port, d, *extra):
    args = [BIN, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
            "--logfile", os.path.join(d, "log")] + list(extra)
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    deadline = time.time() + 10
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError("replkv-cache exited: see %s/log" % d)
        try:
            r.ping()
            return p, r
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    p.kill()
    raise RuntimeError("replkv-cache did not answer")


def stop(p):
    if p.poll() is None:
        p.kill()
        p.wait(10)


def main():
    d = tempfile.mkdtemp(prefix="rkv-cache-persist-")
    procs = []
    try:
        port = free_port()
        p, r = start(port, d, "--appendonly", "yes",
                     "--appendfsync", "always")
        procs.append(p)
        check("CONFIG GET appendonly",
              r.config_get("appendonly").get("appendonly") == "yes")
        for i in range(2000):
            r.set("k:%d" % i, "v%d" % i)
        r.incrby("counter", 42)
        r.set("ttl", "x", ex=3600)
        info = r.info("persistence")
        check("INFO persistence aof_enabled:1", info.get("aof_enabled") == 1,
              str(info))
        before = r.lastsave()
        check("SAVE", r.save() is True)
        check("LASTSAVE moves", r.lastsave() >= before)
        # redis-py turns "+Background saving started" into True.
        check("BGSAVE started", r.bgsave() is True)
        deadline = time.time() + 10
        while time.time() < deadline and \
                r.info("persistence").get("rdb_bgsave_in_progress") == 1:
            time.sleep(0.05)
        check("BGSAVE finished",
              r.info("persistence").get("rdb_bgsave_in_progress") == 0)
        check("BGREWRITEAOF started", r.bgrewriteaof() is True)
        time.sleep(0.3)
        for i in range(2000, 2500):
            r.set("k:%d" % i, "v%d" % i)
        r.delete("k:0")
        digest = r.execute_command("DEBUG", "DIGEST")

        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        p, r = start(port, d, "--appendonly", "yes",
                     "--appendfsync", "always")
        procs.append(p)
        check("restart keeps the keys", r.dbsize() == 2499 + 2,
              "dbsize=%d" % r.dbsize())
        check("restart keeps values", r.get("k:2499") == b"v2499" and
              r.get("k:0") is None and r.get("counter") == b"42")
        check("restart keeps TTLs", 0 < r.ttl("ttl") <= 3600)
        check("digest equal after SIGKILL + restart",
              r.execute_command("DEBUG", "DIGEST") == digest)
        stop(p)

        # Persistence off: the save commands refuse with the reason.
        d2 = tempfile.mkdtemp(prefix="rkv-cache-nopersist-")
        try:
            p2, r2 = start(free_port(), d2)
            procs.append(p2)
            for cmd in ("SAVE", "BGSAVE", "BGREWRITEAOF"):
                try:
                    r2.execute_command(cmd)
                    check(cmd + " without appendonly refused", False)
                except redis.exceptions.ResponseError as e:
                    check(cmd + " without appendonly refused",
                          "persistence is off" in str(e), str(e))
            check("INFO persistence aof_enabled:0",
                  r2.info("persistence").get("aof_enabled") == 0)
            stop(p2)
        finally:
            shutil.rmtree(d2, ignore_errors=True)

        # A bad directive value stops the start with the reason.
        out = subprocess.run([BIN, "--port", str(free_port()), "--dir", d,
                              "--appendfsync", "sometimes"],
                             capture_output=True, text=True, timeout=10)
        check("bad appendfsync refused at start",
              out.returncode != 0 and "appendfsync" in out.stdout + out.stderr,
              out.stdout + out.stderr)
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(d, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
