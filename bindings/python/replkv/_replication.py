"""Replication: the Node methods that bind the replication part of replkv.h
(roles, REPLICAOF, WAIT, read-your-writes, replkv_repl_info_get) and the
dataclasses that repl_info() returns.

Node inherits these methods from :class:`ReplicationMethods`; they use the
Node's guarded call helpers, so a closed node raises ClosedError and close()
waits for them as for any other call.

Blocking calls (the waits) are made in slices of at most
:data:`WAIT_SLICE` seconds: between two slices no call is in flight, so a
close() from another thread never waits for more than one slice, and the
waiting thread then gets ClosedError. The C calls wake as soon as their
condition holds, so slicing adds no latency.
"""

from __future__ import annotations

import ctypes
import math
import time
from ctypes import byref, c_int, c_int64
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple

from . import _callbacks, _lib
from ._convert import Seconds, int64 as _int64, seconds_to_ms
from .errors import BusyError, ClosedError, InvalidArgument

__all__ = ["ReplInfo", "ReplicaInfo", "ReplicationMethods", "WAIT_SLICE"]

_L = _lib.L
_error = _lib.error

#: Longest single blocking call into the library, in seconds.
WAIT_SLICE = 0.1
_SLICE_MS = int(WAIT_SLICE * 1000)

_INT_MAX = 2**31 - 1

Address = Tuple[str, int]


@dataclass(frozen=True)
class ReplicaInfo:
    """One connected replica, as its primary sees it (replkv_replica_info).

    acked_offset and lag_ms are -1 before the replica's first ACK.
    """

    addr: str  #: its IP address
    port: int  #: the port it listens on (0 = none)
    state: str  #: "handshake", "wait_bgsave", "send_bulk" or "online"
    acked_offset: int
    lag_ms: int


@dataclass(frozen=True)
class ReplInfo:
    """A snapshot of a node's replication state (replkv_repl_info).

    The field names are the C struct's; the roles are "primary" /
    "replica". ``replicas`` holds every connected replica
    (replkv_repl_info_get_all).
    """

    role: str
    replid: str  #: current replication id (40 hex digits)
    replid2: str  #: the previous one, all "0" when none
    offset: int  #: the stream offset (INFO's master_repl_offset)
    second_offset: int  #: where replid2 ends; -1 when there is none
    primary_host: str  #: replicas: the primary; "" on a primary
    primary_port: int  #: 0 on a primary
    link_up: bool  #: replicas: the link to the primary is online
    sync_in_progress: bool  #: replicas: a full resync is loading
    connected_replicas: int
    sync_full: int
    sync_partial_ok: int
    sync_partial_err: int
    bytes_sent: int
    bytes_received: int
    replicas: List[ReplicaInfo] = field(default_factory=list)
    #: replicas: the link to the primary in Redis's words ("connect",
    #: "connecting", "handshake", "sync", "connected"); "none" on a primary
    link_state: str = "none"
    #: replicas: ms since the link went down; -1 while up and on a primary
    link_down_ms: int = -1
    #: replicas loading a full resync: bytes received so far
    sync_read_bytes: int = 0

    @property
    def primary_address(self) -> Optional[Address]:
        """(primary_host, primary_port), or None on a primary."""
        if not self.primary_host or self.primary_port <= 0:
            return None
        return self.primary_host, self.primary_port


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def repl_info_from_struct(s: _lib.ReplInfoStruct,
                          all_replicas: Any = None,
                          nall: int = -1) -> ReplInfo:
    """Copies a filled-in replkv_repl_info (and the array that
    replkv_repl_info_get_all filled, nall entries) into a ReplInfo."""
    if all_replicas is None:
        all_replicas = s.replicas
        nall = min(s.connected_replicas, s.replicas_cap,
                   _lib.REPL_INFO_REPLICAS)
    shown = max(0, nall)
    replicas = [
        ReplicaInfo(
            addr=_text(r.addr),
            port=int(r.port),
            state=_text(r.state) if r.state else "",
            acked_offset=int(r.acked_offset),
            lag_ms=int(r.lag_ms),
        )
        for r in all_replicas[:shown]
    ]
    return ReplInfo(
        role=str(_callbacks.role_name(s.role)),
        replid=_text(s.replid),
        replid2=_text(s.replid2),
        offset=int(s.offset),
        second_offset=int(s.second_offset),
        primary_host=_text(s.primary_host),
        primary_port=int(s.primary_port),
        link_up=bool(s.link_up),
        sync_in_progress=bool(s.sync_in_progress),
        connected_replicas=int(s.connected_replicas),
        sync_full=int(s.sync_full),
        sync_partial_ok=int(s.sync_partial_ok),
        sync_partial_err=int(s.sync_partial_err),
        bytes_sent=int(s.bytes_sent),
        bytes_received=int(s.bytes_received),
        replicas=replicas,
        link_state=_text(s.link_state_name) if s.link_state_name else "none",
        link_down_ms=int(s.link_down_ms),
        sync_read_bytes=int(s.sync_read_bytes),
    )


def _timeout_ms(timeout: Optional[Seconds]) -> int:
    """Seconds (int, float, timedelta) to ms; None means no limit (-1)."""
    if timeout is None:
        return -1
    ms = seconds_to_ms(timeout, "timeout")
    if ms < 0:
        raise InvalidArgument(
            f"timeout must be >= 0 seconds (None for no limit), not {timeout}"
        )
    return _int64(ms, "timeout")


def _count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("nreplicas must be an int")
    if not 0 <= n <= _INT_MAX:
        raise InvalidArgument(f"nreplicas must be 0..{_INT_MAX}, not {n}")
    return n


def _offset(off: Any) -> int:
    if isinstance(off, bool) or not isinstance(off, int):
        raise TypeError("offset must be an int (from last_offset)")
    return _int64(off, "offset")


class _Deadline:
    """The slices of one bounded (or unbounded, ms < 0) wait."""

    __slots__ = ("end",)

    def __init__(self, ms: int) -> None:
        self.end = None if ms < 0 else time.monotonic() + ms / 1000.0

    def next_slice(self) -> int:
        """ms for the next call: at most one slice, 0 once the time is up
        (the library then checks without waiting)."""
        if self.end is None:
            return _SLICE_MS
        left = self.end - time.monotonic()
        if left <= 0:
            return 0
        return min(_SLICE_MS, max(1, math.ceil(left * 1000)))


class ReplicationMethods:
    """The replication part of :class:`replkv.Node` (see replkv.h,
    "replication")."""

    # Provided by Node.
    _state: Any
    _active: List[None]
    _h: Optional[int]
    _call: Callable[..., int]

    # -------------------------------------------------------- roles

    def _not_in_callback(self, what: str) -> None:
        # The library refuses (REPLKV_EBUSY) blocking calls made on the
        # node's I/O thread; a callback can also run on an application
        # thread inside another call, where blocking could deadlock, so
        # the binding refuses them from every callback of this node.
        if _callbacks.in_callback(self._state):
            raise BusyError(
                f"Node.{what}() called from inside one of this node's "
                "callbacks; it would block the node's own thread"
            )

    def replicaof(self, host: str, port: int) -> None:
        """Makes this node a replica of the primary at host:port (Redis
        REPLICAOF). It drops its own replicas and any previous primary,
        connects (retrying with back-off, so the primary need not be up
        yet) and resynchronises, partially when its history allows.
        Returns once the role has changed, before the data arrives (see
        wait_applied()). Writes on the node then raise ReadOnlyError
        (unless replica-read-only is no). Raises InvalidArgument for a bad
        host or port, BusyError from one of this node's callbacks."""
        if not isinstance(host, str):
            raise TypeError(f"host must be a str, not {type(host).__name__}")
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"port must be an int, not {type(port).__name__}")
        if not 1 <= port <= 65535:
            raise InvalidArgument(f"replicaof: port must be 1..65535, not {port}")
        h = host.encode("utf-8")
        if not h or b"\0" in h:
            raise InvalidArgument(f"replicaof: bad host {host!r}")
        self._not_in_callback("replicaof")
        self._call(_L.replkv_replicaof, h, port)

    def replicaof_none(self) -> None:
        """Promotes a replica to a primary (Redis REPLICAOF NO ONE). A new
        replication id starts and the old one is kept as replid2, so the
        other replicas of the old primary, pointed here with replicaof(),
        continue with a partial resync. A no-op on a primary. Raises
        BusyError from one of this node's callbacks."""
        self._not_in_callback("replicaof_none")
        self._call(_L.replkv_replicaof_none)

    #: Alias of replicaof_none().
    promote = replicaof_none

    @property
    def role(self) -> str:
        """"primary" or "replica" (a standalone node is a "primary")."""
        return str(_callbacks.role_name(self._call(_L.replkv_role)))

    @property
    def primary_address(self) -> Optional[Address]:
        """The primary this replica follows, as (host, port); None on a
        primary."""
        cap = 256
        while True:
            buf = ctypes.create_string_buffer(cap)
            port = c_int()
            active = self._active
            active.append(None)
            try:
                h = self._h
                if h is None:
                    raise ClosedError("the node is closed")
                rc = _L.replkv_primary_addr(h, buf, cap, byref(port))
                if rc == _lib.ESTATE:
                    return None
                if rc < 0 and rc != _lib.ERANGE:
                    raise _error(rc)
            finally:
                active.pop()
            if rc == 0:
                return buf.value.decode("utf-8", "replace"), port.value
            if cap >= 1 << 16:
                raise _error(rc)
            cap *= 4

    # -------------------------------------------------------- offsets, WAIT

    @property
    def last_offset(self) -> int:
        """The replication offset just after the calling thread's last
        write on this node (the node's current offset if the thread has
        written to another node since). Pass it to wait_offset() here, or
        to wait_applied() on a replica, for read-your-writes."""
        out = c_int64()
        self._call(_L.replkv_last_offset, byref(out))
        return out.value

    def wait(self, nreplicas: int, timeout: Optional[Seconds]) -> int:
        """Redis WAIT: blocks until nreplicas replicas acknowledged every
        write made on this node before the call, or timeout seconds passed
        (0: just count; None: no limit). Returns how many replicas
        acknowledged them, fewer than nreplicas after a timeout (no
        exception). Raises StateError on a replica, BusyError from one of
        this node's callbacks."""
        n = _count(nreplicas)
        ms = _timeout_ms(timeout)
        self._not_in_callback("wait")
        # The node's offset now: what replkv_wait() would wait for. Read
        # once, so that later slices wait for the same writes.
        info = self._repl_info_struct()
        return self._wait_acks(info.offset, n, ms)

    def wait_offset(
        self, offset: int, nreplicas: int, timeout: Optional[Seconds]
    ) -> int:
        """wait() for the writes up to offset (from last_offset): returns
        how many replicas acknowledged them."""
        off = _offset(offset)
        n = _count(nreplicas)
        ms = _timeout_ms(timeout)
        self._not_in_callback("wait_offset")
        return self._wait_acks(off, n, ms)

    def _wait_acks(self, off: int, n: int, ms: int) -> int:
        deadline = _Deadline(ms)
        while True:
            step = deadline.next_slice()
            got = self._call(_L.replkv_wait_offset, off, n, step)
            if got >= n or step == 0:
                return got

    def wait_applied(self, offset: int, timeout: Optional[Seconds]) -> None:
        """On a replica, read-your-writes: blocks until it has applied its
        primary's stream up to offset (the primary's last_offset after the
        write), or raises replkv.TimeoutError after timeout seconds (None:
        no limit). On a primary, returns once its own offset reached
        offset. Raises BusyError from one of this node's callbacks."""
        off = _offset(offset)
        ms = _timeout_ms(timeout)
        self._not_in_callback("wait_applied")
        deadline = _Deadline(ms)
        fn = _L.replkv_wait_applied
        while True:
            step = deadline.next_slice()
            active = self._active
            active.append(None)
            try:
                h = self._h
                if h is None:
                    raise ClosedError("the node is closed")
                rc = fn(h, off, step)
                if rc == 0:
                    return
                if rc != _lib.ETIMEDOUT or step == 0:
                    raise _error(rc)
            finally:
                active.pop()

    # -------------------------------------------------------- introspection

    def _repl_info_struct(self) -> _lib.ReplInfoStruct:
        s = _lib.ReplInfoStruct()
        s.size = ctypes.sizeof(s)
        self._call(_L.replkv_repl_info_get, byref(s))
        return s

    def repl_info(self) -> ReplInfo:
        """The node's replication state (replkv_repl_info_get) as a
        ReplInfo: role, replid / replid2, offsets, the primary and its
        link, sync counters and the connected replicas. info("replication")
        gives the same as Redis's INFO fields."""
        if not _L.has("replkv_repl_info_get_all"):
            # An older library: the first 16 replicas only.
            return repl_info_from_struct(self._repl_info_struct())
        s = _lib.ReplInfoStruct()
        s.size = ctypes.sizeof(s)
        cap = 16
        while True:  # replicas come and go between two looks
            arr = (_lib.ReplicaInfoStruct * cap)()
            n = self._call(_L.replkv_repl_info_get_all, byref(s), arr, cap)
            if n >= s.connected_replicas:
                return repl_info_from_struct(s, arr, n)
            cap = s.connected_replicas * 2
