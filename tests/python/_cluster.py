"""A failover cluster of nodes in this process, for the failover tests.

Every node sets ``sentinel monitor <name> <host> <port0> <quorum>`` with
the first node's address, short timings (down-after 300 ms, pings every
50 ms), and records what its callbacks see: role changes (with the epoch),
peer states, failover decisions, divergences and log lines. Every wait is
bounded; every node is closed by the test's cleanup.
"""

from __future__ import annotations

import threading
import time
import unittest
from typing import Any, Callable, Dict, List, Optional, Tuple

import replkv
from replkv import _lib

from _support import free_port, wait_until

HOST = "127.0.0.1"
TIMEOUT = 20.0  # seconds: the bound on every wait that should succeed
DOWN_AFTER_MS = 300
PING_MS = 50
FAILOVER_TIMEOUT_MS = 2000

HAS_FAILOVER = _lib.L.has("replkv_failover")
NEEDS_FAILOVER = unittest.skipUnless(
    HAS_FAILOVER,
    "the loaded libreplkv has no replkv_failover() (failover not built)",
)


def announced(opts: Dict[str, Any]) -> str:
    """The host a node's peers reach it at."""
    return str(opts.get("replica_announce_ip", opts["bind"]))


class Member:
    """One node of a Cluster and what its callbacks recorded."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.node: Optional[replkv.Node] = None
        self.port = 0
        self.host = HOST
        self.lock = threading.Lock()
        self.roles: List[Tuple[str, str, Any, int, float]] = []
        self.peers: List[Tuple[str, Tuple[str, int], Any]] = []
        self.decisions: List[Tuple[int, List[replkv.Candidate]]] = []
        self.divergences: List[replkv.Divergence] = []
        self.logs: List[Tuple[int, str]] = []
        self.node_id = ""

    # Callbacks (the node's I/O thread).
    def on_role_change(self, old: str, new: str, primary: Any,
                       epoch: int) -> None:
        with self.lock:
            self.roles.append((old, new, primary, epoch, time.monotonic()))

    def on_peer_state(self, node_id: str, addr: Tuple[str, int],
                      state: Any) -> None:
        with self.lock:
            self.peers.append((node_id, addr, state))

    def on_divergence(self, d: replkv.Divergence) -> None:
        with self.lock:
            self.divergences.append(d)

    def on_log(self, level: int, message: str) -> None:
        with self.lock:
            self.logs.append((level, message))

    # Reading what was recorded.
    def became_primary(self) -> Optional[Tuple[str, str, Any, int, float]]:
        """The first role event that made this node a primary."""
        with self.lock:
            for ev in self.roles:
                if ev[1] == "primary":
                    return ev
        return None

    def peer_states(self, node_id: str) -> List[Any]:
        with self.lock:
            return [s for i, _, s in self.peers if i == node_id]

    def log_has(self, text: str) -> bool:
        with self.lock:
            return any(text in m for _, m in self.logs)

    @property
    def address(self) -> Tuple[str, int]:
        return self.host, self.port


class Cluster:
    """n nodes with failover on, opened in order; members[0] is the node
    at the monitor address (the first primary). Extra options per node go
    in options[i]; decide is the on_failover_decision of every node."""

    def __init__(self, case: unittest.TestCase, n: int = 3, *,
                 quorum: int = 2, name: str = "pytest",
                 decide: Optional[Callable[..., Any]] = None,
                 options: Optional[Dict[int, Dict[str, Any]]] = None,
                 common: Optional[Dict[str, Any]] = None) -> None:
        self.case = case
        self.name = name
        self.quorum = quorum
        self.decide = decide
        self.options = options or {}
        self.common = common or {}
        self.members = [Member(i) for i in range(n)]
        self.monitor: Tuple[str, int] = (HOST, 0)
        for m in self.members:
            self.open(m)

    def settings(self, m: Member, port: int) -> Dict[str, Any]:
        opts: Dict[str, Any] = {
            "bind": HOST,
            "port": port,
            "sentinel_down_after_milliseconds": DOWN_AFTER_MS,
            "sentinel_ping_interval": PING_MS,
            "sentinel_failover_timeout": FAILOVER_TIMEOUT_MS,
        }
        opts.update(self.common)
        opts.update(self.options.get(m.index, {}))
        # The first node monitors itself, at the address it announces.
        monitor = self.monitor if self.monitor[1] else (announced(opts), port)
        opts["sentinel_monitor"] = (self.name, monitor[0], monitor[1],
                                    self.quorum)
        return opts

    def open(self, m: Member) -> replkv.Node:
        """Opens m on a free port (a few tries: another process may take
        the port between free_port() and the bind)."""
        for attempt in range(20):
            port = free_port()
            opts = self.settings(m, port)
            try:
                self.prepare(m, port)
                node = replkv.Node(
                    opts,
                    on_log=m.on_log,
                    on_role_change=m.on_role_change,
                    on_peer_state=m.on_peer_state,
                    on_failover_decision=self._decider(m),
                    on_divergence=m.on_divergence,
                )
            except OSError:  # replkv.NetworkError is one: port taken
                if attempt == 19:
                    raise
                continue
            self.case.addCleanup(node.close)
            m.node = node
            m.port = int(opts["port"])
            m.host = announced(opts)
            if self.monitor[1] == 0:
                self.monitor = (m.host, m.port)
            m.node_id = node.cluster_info().node_id
            return node
        raise AssertionError("unreachable")

    def prepare(self, m: Member, port: int) -> None:
        """Called before m is opened on port (a subclass starts a proxy);
        an OSError makes open() try another port."""

    def _decider(self, m: Member) -> Optional[Callable[..., Any]]:
        decide = self.decide
        if decide is None:
            return None

        def on_decision(epoch: int, candidates: List[Any]) -> Any:
            with m.lock:
                m.decisions.append((epoch, list(candidates)))
            return decide(epoch, candidates)

        return on_decision

    # ------------------------------------------------------------ waits

    def live(self) -> List[Member]:
        return [m for m in self.members
                if m.node is not None and not m.node.closed]

    def primary(self) -> Optional[Member]:
        """The one live data node that says it is primary, or None."""
        found = [m for m in self.live() if m.node.role == "primary"]
        return found[0] if len(found) == 1 else None

    def wait_ready(self, timeout: float = TIMEOUT) -> Member:
        """Waits until one live node is primary, every other live data
        node replicates it with its link up, and every live node knows
        every live node; returns the primary."""
        live = self.live()

        def ready() -> bool:
            p = self.primary()
            if p is None:
                return False
            for m in live:
                info = m.node.cluster_info()
                if info.primary_id != p.node_id:
                    return False
                known = {x.node_id for x in info.peers}
                if any(x.node_id not in known for x in live):
                    return False
                # Roles travel in pings: known a ping or two later.
                if any(x.role is None for x in info.peers
                       if x.node_id in {y.node_id for y in live}):
                    return False
                if m is p or m.node.role == "witness":
                    continue
                r = m.node.repl_info()
                if not r.link_up or r.primary_port != p.port:
                    return False
            return True

        self.case.assertTrue(wait_until(ready, timeout, 0.02),
                             self.describe())
        p = self.primary()
        assert p is not None
        return p

    def wait_new_primary(self, old: Member,
                         timeout: float = TIMEOUT) -> Member:
        """Waits until a live node other than old became primary through
        a role event; returns it."""
        def promoted() -> bool:
            return any(m is not old and m.became_primary()
                       for m in self.live())

        self.case.assertTrue(wait_until(promoted, timeout, 0.02),
                             self.describe())
        return [m for m in self.live()
                if m is not old and m.became_primary()][0]

    def describe(self) -> str:
        """Every live node's view, for assertion messages."""
        lines = []
        for m in self.live():
            try:
                i = m.node.cluster_info()
                lines.append(
                    f"node {m.index} :{m.port} {m.node.role} "
                    f"epoch {i.current_epoch}/{i.config_epoch} "
                    f"primary {i.primary_host}:{i.primary_port} "
                    f"sdown {i.primary_sdown} odown {i.primary_odown} "
                    f"peers {[(p.port, str(p.state)) for p in i.peers]} "
                    f"last {i.last_result!r} roles {m.roles}")
            except replkv.ReplkvError as e:
                lines.append(f"node {m.index}: {e}")
            with m.lock:
                lines += [f"   log {msg}" for _, msg in m.logs[-15:]]
        return "\n".join(lines)
