"""Failover: the Node methods that bind the failover part of replkv.h
(replkv_failover, replkv_forget, replkv_cluster_info_get) and the
dataclasses that cluster_info() returns.

Failover is Redis Sentinel embedded in every node. It is configured with
Sentinel's directives as options (``sentinel monitor`` and friends; see
``_config.option_name`` for their Python spelling) and followed with the
callbacks ``on_role_change`` (its ``epoch``), ``on_peer_state``,
``on_failover_decision`` and ``on_divergence`` (see ``_events``).

Node inherits these methods from :class:`FailoverMethods`; like the
replication ones they use the Node's guarded call helper, so a closed node
raises ClosedError.
"""

from __future__ import annotations

import ctypes
import datetime
from ctypes import byref
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple, Union

from . import _callbacks, _events, _lib
from ._convert import int64 as _int64, ms_int
from .errors import InvalidArgument

__all__ = ["ClusterInfo", "PeerInfo", "FailoverMethods"]

_L = _lib.L

Address = Tuple[str, int]


@dataclass(frozen=True)
class PeerInfo:
    """One node of the cluster, as the node asked sees it
    (replkv_peer_info). ``is_self`` is the C field ``self``."""

    node_id: str  #: 40 hex characters
    host: str  #: its peer address
    port: int
    is_self: bool  #: the node cluster_info() was called on
    witness: bool  #: votes and monitors, holds no data
    state: Union[_events.PeerState, int]  #: UP, SDOWN or ODOWN
    role: Optional[str]  #: "primary", "replica", "witness"; None unknown
    offset: int  #: replication offset as last reported
    last_heard_ms: int  #: ms since its last message; -1 never; 0 self
    priority: int = 100  #: replica-priority it reported
    link_up: bool = False  #: a replica: its link to its primary is up
    link_down_ms: int = 0  #: a replica: how long that link has been down

    @property
    def address(self) -> Address:
        """(host, port): its peer address."""
        return self.host, self.port


@dataclass(frozen=True)
class ClusterInfo:
    """A node's view of its failover cluster (replkv_cluster_info); the
    field names are the C struct's. With failover off, ``enabled`` is
    False and the rest is empty or zero.

    The ``last_*_ms`` times are of the last failover this node led, in ms
    since the node started (0: not reached); ``last_result`` is
    "running", "done" or "aborted: <reason>" ("" if it led none).
    """

    enabled: bool  #: sentinel monitor is set
    name: str  #: sentinel monitor <name>
    node_id: str  #: this node
    quorum: int
    down_after_ms: int
    failover_timeout_ms: int
    parallel_syncs: int
    current_epoch: int  #: highest epoch seen
    config_epoch: int  #: epoch of the configuration held
    primary_id: str  #: its primary ("" while not known)
    primary_host: str
    primary_port: int  #: 0 while not known
    primary_sdown: bool
    primary_odown: bool
    leader_id: str  #: leader of the last election known
    leader_epoch: int
    voters: int  #: known voting nodes, this one included
    failover_running: bool  #: this node leads a failover now
    writes_paused: bool  #: a manual failover paused writes here
    fenced: bool  #: self-fence: no majority in reach
    failovers: int  #: failovers this node led to the end
    last_odown_ms: int
    last_elected_ms: int
    last_promoted_ms: int
    last_done_ms: int
    last_result: str
    peers: List[PeerInfo] = field(default_factory=list)  #: this node first

    @property
    def primary_address(self) -> Optional[Address]:
        """(primary_host, primary_port), or None while no primary is
        known."""
        if not self.primary_host or self.primary_port <= 0:
            return None
        return self.primary_host, self.primary_port

    def peer(self, node_id: str) -> Optional[PeerInfo]:
        """The entry of peers with this node id, or None."""
        for p in self.peers:
            if p.node_id == node_id:
                return p
        return None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _peer_role(role: int) -> Optional[str]:
    if role < 0:
        return None
    return str(_callbacks.role_name(role))


def cluster_info_from_struct(s: _lib.ClusterInfoStruct) -> ClusterInfo:
    """Copies a filled-in replkv_cluster_info into a ClusterInfo."""
    n = max(0, min(int(s.npeers), _lib.CLUSTER_INFO_PEERS))
    peers = [
        PeerInfo(
            node_id=_text(p.node_id),
            host=_text(p.host),
            port=int(p.port),
            is_self=bool(p.self),
            witness=bool(p.witness),
            state=_events.peer_state(int(p.state)),
            role=_peer_role(int(p.role)),
            offset=int(p.offset),
            last_heard_ms=int(p.last_heard_ms),
            priority=int(p.priority),
            link_up=bool(p.link_up),
            link_down_ms=int(p.link_down_ms),
        )
        for p in s.peers[:n]
    ]
    return ClusterInfo(
        enabled=bool(s.enabled),
        name=_text(s.name),
        node_id=_text(s.node_id),
        quorum=int(s.quorum),
        down_after_ms=int(s.down_after_ms),
        failover_timeout_ms=int(s.failover_timeout_ms),
        parallel_syncs=int(s.parallel_syncs),
        current_epoch=int(s.current_epoch),
        config_epoch=int(s.config_epoch),
        primary_id=_text(s.primary_id),
        primary_host=_text(s.primary_host),
        primary_port=int(s.primary_port),
        primary_sdown=bool(s.primary_sdown),
        primary_odown=bool(s.primary_odown),
        leader_id=_text(s.leader_id),
        leader_epoch=int(s.leader_epoch),
        voters=int(s.voters),
        failover_running=bool(s.failover_running),
        writes_paused=bool(s.writes_paused),
        fenced=bool(s.fenced),
        failovers=int(s.failovers),
        last_odown_ms=int(s.last_odown_ms),
        last_elected_ms=int(s.last_elected_ms),
        last_promoted_ms=int(s.last_promoted_ms),
        last_done_ms=int(s.last_done_ms),
        last_result=_text(s.last_result),
        peers=peers,
    )


def _id_arg(node: Any, what: str) -> bytes:
    """A node id argument: a str, or anything with a node_id (a PeerInfo,
    a Candidate), as NUL-free bytes; the library checks its form."""
    if not isinstance(node, str):
        node_id = getattr(node, "node_id", None)
        if not isinstance(node_id, str):
            raise TypeError(
                f"{what} must be a node id (str) or have a node_id, not "
                f"{type(node).__name__}"
            )
        node = node_id
    raw = node.encode("utf-8")
    if b"\0" in raw:
        raise InvalidArgument(f"{what}: a node id has no NUL character")
    return raw


def _target_arg(target: Any) -> Optional[bytes]:
    """failover()'s target: None, a node id, "host:port", (host, port), or
    anything with a node_id."""
    if target is None:
        return None
    if isinstance(target, tuple):
        if len(target) != 2 or not isinstance(target[0], str) or \
                isinstance(target[1], bool) or not isinstance(target[1], int):
            raise TypeError("a target address is (host: str, port: int)")
        host, port = target
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        target = f"{host}:{port}"
    return _id_arg(target, "target")


class FailoverMethods:
    """The failover part of :class:`replkv.Node` (see replkv.h,
    "failover")."""

    # Provided by Node.
    _call: Callable[..., int]

    def failover(
        self,
        target: Any = None,
        timeout_ms: Union[int, datetime.timedelta] = 0,
    ) -> None:
        """Manual failover (Redis FAILOVER / SENTINEL FAILOVER), from any
        node of the cluster: the primary pauses writes, waits until the
        target has every write it took, gets elected in a new epoch,
        promotes the target and becomes its replica. No acknowledged write
        is lost; writes meanwhile raise ReadOnlyError.

        target: None for the best replica, a node id, "host:port" or
        (host, port) of its peer address, or a PeerInfo / Candidate.
        timeout_ms: give up (writes resume on the old primary) after this
        long; 0 for the failover-timeout option.

        Returns once the request is under way: follow it with
        on_role_change or cluster_info(). Raises NotSupportedError
        (failover off), InvalidArgument (an unknown target, a witness, ""),
        BusyError (a failover is running, or from one of this node's
        callbacks), NotFoundError (no primary known yet).
        """
        t = _target_arg(target)
        if t == b"":
            raise InvalidArgument(
                "failover: empty target (None for the best replica)"
            )
        ms = ms_int(timeout_ms, "timeout_ms")
        if ms < 0:
            raise InvalidArgument(
                f"timeout_ms must be >= 0 (0: failover-timeout), not {ms}"
            )
        self._call(_L.replkv_failover, t, _int64(ms, "timeout_ms"))

    def failover_abort(self) -> None:
        """Redis FAILOVER ABORT: cancels the manual failover this primary
        runs while it still waits for its target to catch up; writes resume
        at once. Raises StateError (none running here), BusyError (its
        election has started: too late), NotSupportedError (failover
        off)."""
        self._call(_L.replkv_failover_abort)

    def forget(self, node_id: Any) -> None:
        """Removes a node from the cluster for good (Sentinel's RESET done
        right): every node drops it and ignores it, and any gossip about
        it, from then on; a node that must come back needs a new id.
        node_id: its 40-hex id, or a PeerInfo. Raises InvalidArgument (a
        bad id, this node itself), NotSupportedError (failover off),
        BusyError from one of this node's callbacks."""
        self._call(_L.replkv_forget, _id_arg(node_id, "node_id"))

    def cluster_info(self) -> ClusterInfo:
        """This node's view of its failover cluster
        (replkv_cluster_info_get) as a ClusterInfo: configuration, epochs,
        the primary and whether it is seen down, the last election and
        failover, and every known node (``peers``, this one first).
        info("sentinel") gives the same as INFO text."""
        s = _lib.ClusterInfoStruct()
        s.size = ctypes.sizeof(s)
        self._call(_L.replkv_cluster_info_get, byref(s))
        return cluster_info_from_struct(s)
