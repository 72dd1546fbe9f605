"""replkv: Python binding for libreplkv, an embeddable replicated key-value
store (ctypes over libreplkv.so; nothing to compile).

    import replkv

    with replkv.Node(maxmemory="100mb", maxmemory_policy="allkeys-lru") as node:
        node.set("greeting", "hello", ttl=60)
        node.get("greeting")          # b'hello'
        node[b"k"] = b"v"; del node[b"k"]

    # Replication: a primary that listens, a replica that follows it.
    primary = replkv.Node(port=7000)
    replica = replkv.Node(replicaof="127.0.0.1 7000")
    primary.set("k", "v")
    replica.wait_applied(primary.last_offset, timeout=5)
    replica.get("k")                  # b'v'

    # Failover (Sentinel embedded): every node of the cluster sets
    # sentinel_monitor; the node at that address starts as the primary.
    node = replkv.Node(port=7001, sentinel_monitor=("c1", "127.0.0.1", 7000, 2),
                       sentinel_down_after_milliseconds=1000,
                       on_failover_decision=lambda epoch, cands: replkv.accept())
    node.cluster_info().primary_address   # ('127.0.0.1', 7000)
    node.failover()                       # manual failover to the best replica

The library is found through REPLKV_LIBRARY, the source tree's
build/libreplkv.so, then the system's dynamic loader; importing fails with
ImportError if its major.minor version is not the one this binding was
written for.
"""

from __future__ import annotations

from typing import Tuple

from . import _lib
from ._callbacks import LogLevel, log_to_logging
from ._version import LIBRARY_VERSION, __version__
from .errors import (
    AuthError,
    BufferTooSmallError,
    BusyError,
    ClosedError,
    CorruptError,
    IntegerOverflowError,
    InvalidArgument,
    MaxMemoryError,
    NetworkError,
    NoQuorumError,
    NoReplicasError,
    NotFoundError,
    NotIntegerError,
    NotSupportedError,
    OutOfMemoryError,
    ProtocolError,
    ReadOnlyError,
    ReplkvError,
    ReplkvIOError,
    StateError,
    TimeoutError,
    TooBigError,
    VersionError,
)
from ._convert import parse_info
from ._events import (
    Candidate,
    Divergence,
    PeerState,
    Verdict,
    accept,
    pick,
    veto,
)
from ._failover import ClusterInfo, PeerInfo
from ._replication import ReplicaInfo, ReplInfo
from .node import Node

#: The path (or soname) of the libreplkv that was loaded.
library_path: str = _lib.L.path


def library_version() -> str:
    """The linked library's version string, for example "0.1.0"."""
    return _lib.L.replkv_version_string().decode("ascii")


def library_version_info() -> Tuple[int, int, int]:
    """The linked library's (major, minor, patch)."""
    return _lib.L.version()


__all__ = [
    "Node",
    "ReplInfo",
    "ReplicaInfo",
    "ClusterInfo",
    "PeerInfo",
    "PeerState",
    "Candidate",
    "Verdict",
    "accept",
    "pick",
    "veto",
    "Divergence",
    "LogLevel",
    "log_to_logging",
    "parse_info",
    "library_path",
    "library_version",
    "library_version_info",
    "LIBRARY_VERSION",
    "__version__",
    "ReplkvError",
    "InvalidArgument",
    "OutOfMemoryError",
    "NotFoundError",
    "BufferTooSmallError",
    "NotIntegerError",
    "IntegerOverflowError",
    "TooBigError",
    "MaxMemoryError",
    "ReadOnlyError",
    "NoReplicasError",
    "NoQuorumError",
    "TimeoutError",
    "BusyError",
    "ClosedError",
    "ReplkvIOError",
    "CorruptError",
    "ProtocolError",
    "AuthError",
    "NetworkError",
    "VersionError",
    "NotSupportedError",
    "StateError",
]
