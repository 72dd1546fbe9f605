"""Finds and loads libreplkv.so, declares the C prototypes, checks versions.

Lookup order (the first that exists wins; REPLKV_LIBRARY is never silently
skipped):

1. the path in the environment variable ``REPLKV_LIBRARY``;
2. ``build/libreplkv.so`` of the source tree this package sits in
   (``<repo>/bindings/python/replkv`` -> ``<repo>/build``);
3. ``ctypes.util.find_library("replkv")``, then ``libreplkv.so.0`` through
   the dynamic loader's search path.

Each C function is one row of :data:`_PROTOTYPES`. Rows marked optional may
be absent from an older library: the binding then raises NotSupportedError
when that function is used, instead of failing at import. New functions
(replication, failover) are added as new rows.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint,
    c_uint32,
    c_uint64,
    c_void_p,
    py_object,
)
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

from . import _version
from .errors import NotSupportedError, ReplkvError, error_class

# ------------------------------------------------------------------ types


class LogEvent(Structure):
    """replkv_log_event: starts with its size so that it can grow."""

    _fields_ = [
        ("size", c_size_t),
        ("level", c_int),
        ("message", c_char_p),
    ]


#: void (*replkv_log_cb)(replkv_t *kv, const replkv_log_event *ev, void *ud)
LOG_CB = CFUNCTYPE(None, c_void_p, POINTER(LogEvent), c_void_p)

class RoleEvent(Structure):
    """replkv_role_event: starts with its size so that it can grow."""

    _fields_ = [
        ("size", c_size_t),
        ("old_role", c_int),
        ("new_role", c_int),
        ("primary_host", c_char_p),
        ("primary_port", c_int),
        ("epoch", c_uint64),  # failover: the configuration epoch; 0 off
    ]


#: void (*replkv_role_cb)(replkv_t *kv, const replkv_role_event *ev, void *ud)
ROLE_CB = CFUNCTYPE(None, c_void_p, POINTER(RoleEvent), c_void_p)

# replkv_node_role
ROLE_PRIMARY = 0
ROLE_REPLICA = 1
ROLE_WITNESS = 2

#: The fixed number of entries in replkv_repl_info.replicas.
REPL_INFO_REPLICAS = 16


class ReplicaInfoStruct(Structure):
    """replkv_replica_info: one replica as its primary sees it."""

    _fields_ = [
        ("addr", c_char * 64),
        ("port", c_int),
        ("state", c_char_p),  # a static string of the library
        ("acked_offset", c_int64),
        ("lag_ms", c_int64),
    ]


class ReplInfoStruct(Structure):
    """replkv_repl_info; the caller sets size to sizeof before the call."""

    _fields_ = [
        ("size", c_size_t),
        ("role", c_int),
        ("replid", c_char * 41),
        ("replid2", c_char * 41),
        ("offset", c_int64),
        ("second_offset", c_int64),
        ("primary_host", c_char * 256),
        ("primary_port", c_int),
        ("link_up", c_bool),
        ("sync_in_progress", c_bool),
        ("connected_replicas", c_int),
        ("sync_full", c_uint64),
        ("sync_partial_ok", c_uint64),
        ("sync_partial_err", c_uint64),
        ("bytes_sent", c_uint64),
        ("bytes_received", c_uint64),
        ("replicas", ReplicaInfoStruct * REPL_INFO_REPLICAS),
        ("replicas_cap", c_int),
        ("link_state", c_int),  # replkv_link_state
        ("link_state_name", c_char_p),  # a static string of the library
        ("link_down_ms", c_int64),
        ("sync_read_bytes", c_uint64),
    ]


# ------------------------------------------------------------ failover

# replkv_peer_state
PEER_UP = 1
PEER_SDOWN = 2
PEER_ODOWN = 3
PEER_NEW = 4
PEER_FORGOTTEN = 5

# replkv_verdict
VERDICT_ACCEPT = 1
VERDICT_PICK = 2
VERDICT_VETO = 3

#: The fixed number of entries in replkv_cluster_info.peers.
CLUSTER_INFO_PEERS = 32


class PeerEvent(Structure):
    """replkv_peer_event: starts with its size so that it can grow."""

    _fields_ = [
        ("size", c_size_t),
        ("node_id", c_char_p),  # 40 hex characters
        ("host", c_char_p),
        ("port", c_int),
        ("state", c_int),  # replkv_peer_state
    ]


#: void (*replkv_peer_cb)(replkv_t *kv, const replkv_peer_event *ev, void *ud)
PEER_CB = CFUNCTYPE(None, c_void_p, POINTER(PeerEvent), c_void_p)


class CandidateStruct(Structure):
    """replkv_candidate: a replica that a failover may promote."""

    _fields_ = [
        ("node_id", c_char * 41),
        ("host", c_char * 64),
        ("port", c_int),
        ("priority", c_uint32),
        ("offset", c_int64),
    ]


class DecisionEvent(Structure):
    """replkv_decision_event: starts with its size so that it can grow."""

    _fields_ = [
        ("size", c_size_t),
        ("epoch", c_uint64),
        ("candidates", POINTER(CandidateStruct)),
        ("ncandidates", c_size_t),
    ]


#: int (*replkv_decision_cb)(replkv_t *kv, const replkv_decision_event *ev,
#:                           size_t *pick, char *reason, size_t reason_cap,
#:                           void *ud)
#: reason is a c_void_p: the trampoline writes into the library's buffer.
DECISION_CB = CFUNCTYPE(c_int, c_void_p, POINTER(DecisionEvent),
                        POINTER(c_size_t), c_void_p, c_size_t, c_void_p)


class DivergenceEvent(Structure):
    """replkv_divergence_event: starts with its size so that it can grow."""

    _fields_ = [
        ("size", c_size_t),
        ("epoch", c_uint64),
        ("new_primary", c_char_p),  # node id
        ("from_offset", c_int64),
        ("to_offset", c_int64),
        ("nwrites", c_uint64),
        ("keys", POINTER(c_void_p)),  # const void *const *
        ("key_lens", POINTER(c_size_t)),
        ("nkeys", c_size_t),
        ("keys_complete", c_bool),
    ]


#: void (*replkv_divergence_cb)(replkv_t *kv,
#:                              const replkv_divergence_event *ev, void *ud)
DIVERGENCE_CB = CFUNCTYPE(None, c_void_p, POINTER(DivergenceEvent), c_void_p)


class PeerInfoStruct(Structure):
    """replkv_peer_info: one node of the cluster, as this node sees it."""

    _fields_ = [
        ("node_id", c_char * 41),
        ("host", c_char * 64),
        ("port", c_int),
        ("self", c_bool),
        ("witness", c_bool),
        ("state", c_int),  # replkv_peer_state: UP, SDOWN or ODOWN
        ("role", c_int),  # replkv_node_role as last reported; -1 unknown
        ("offset", c_int64),
        ("last_heard_ms", c_int64),  # -1 never; 0 self
        ("priority", c_uint32),  # replica-priority it reported
        ("link_up", c_bool),  # a replica: its link to its primary is up
        ("link_down_ms", c_int64),  # a replica: how long it has been down
    ]


class ClusterInfoStruct(Structure):
    """replkv_cluster_info; the caller sets size to sizeof before the call."""

    _fields_ = [
        ("size", c_size_t),
        ("enabled", c_bool),
        ("name", c_char * 64),
        ("node_id", c_char * 41),
        ("quorum", c_uint),
        ("down_after_ms", c_uint32),
        ("failover_timeout_ms", c_uint32),
        ("parallel_syncs", c_uint),
        ("current_epoch", c_uint64),
        ("config_epoch", c_uint64),
        ("primary_id", c_char * 41),
        ("primary_host", c_char * 64),
        ("primary_port", c_int),
        ("primary_sdown", c_bool),
        ("primary_odown", c_bool),
        ("leader_id", c_char * 41),
        ("leader_epoch", c_uint64),
        ("voters", c_uint),
        ("failover_running", c_bool),
        ("writes_paused", c_bool),
        ("fenced", c_bool),
        ("failovers", c_uint64),
        ("last_odown_ms", c_int64),
        ("last_elected_ms", c_int64),
        ("last_promoted_ms", c_int64),
        ("last_done_ms", c_int64),
        ("last_result", c_char * 128),
        ("npeers", c_int),
        ("peers", PeerInfoStruct * CLUSTER_INFO_PEERS),
    ]


#: int (*replkv_scan_cb)(const void *key, size_t klen, void *ud); ud is the
#: Python list that collects the keys, passed through as a py_object.
SCAN_CB = CFUNCTYPE(c_int, c_void_p, c_size_t, py_object)

# Flags, as replkv.h defines them.
NX = 0x1
XX = 0x2
KEEPTTL = 0x4
ABSTIME = 0x8
GT = 0x10
LT = 0x20
PERSIST = 0x40

# Error codes the binding handles itself.
ENOTFOUND = -3
ERANGE = -4
EREADONLY = -9
ETIMEDOUT = -12
EBUSY = -13
ENOTSUP = -21
ESTATE = -22

_p = c_void_p
_pp = POINTER(c_void_p)
_psize = POINTER(c_size_t)

# (name, restype, argtypes, required)
_PROTOTYPES: List[Tuple[str, Any, List[Any], bool]] = [
    # version, errors, memory
    ("replkv_version_number", c_uint, [], True),
    ("replkv_version_string", c_char_p, [], True),
    ("replkv_strerror", c_char_p, [c_int], True),
    ("replkv_err_name", c_char_p, [c_int], True),
    ("replkv_last_error", c_char_p, [], True),
    ("replkv_free", None, [_p], True),
    # options
    ("replkv_opts_new", _p, [], True),
    ("replkv_opts_free", None, [_p], True),
    ("replkv_opts_set", c_int, [_p, c_char_p, c_char_p], True),
    ("replkv_opts_get", c_int, [_p, c_char_p, _p, c_size_t, _psize], True),
    ("replkv_opts_set_log", c_int, [_p, LOG_CB, _p], True),
    # node
    ("replkv_open", c_int, [_p, _pp], True),
    ("replkv_close", None, [_p], True),
    ("replkv_config_set", c_int, [_p, c_char_p, c_char_p], False),
    ("replkv_config_get", c_int, [_p, c_char_p, _p, c_size_t, _psize], False),
    # data
    ("replkv_set", c_int,
     [_p, c_char_p, c_size_t, c_char_p, c_size_t, c_int64, c_uint], True),
    ("replkv_get", c_int, [_p, c_char_p, c_size_t, _p, c_size_t, _psize], True),
    ("replkv_get_alloc", c_int, [_p, c_char_p, c_size_t, _pp, _psize], False),
    ("replkv_del", c_int, [_p, c_char_p, c_size_t], True),
    ("replkv_set_get", c_int,
     [_p, c_char_p, c_size_t, c_char_p, c_size_t, c_int64, c_uint, _pp,
      _psize], False),
    ("replkv_getdel", c_int, [_p, c_char_p, c_size_t, _pp, _psize], False),
    ("replkv_getex", c_int,
     [_p, c_char_p, c_size_t, _pp, _psize, c_int64, c_uint], False),
    ("replkv_append", c_int,
     [_p, c_char_p, c_size_t, c_char_p, c_size_t, _psize], False),
    ("replkv_exists", c_int, [_p, c_char_p, c_size_t], True),
    ("replkv_expire", c_int, [_p, c_char_p, c_size_t, c_int64, c_uint], False),
    ("replkv_persist", c_int, [_p, c_char_p, c_size_t], False),
    ("replkv_ttl", c_int, [_p, c_char_p, c_size_t, POINTER(c_int64)], False),
    ("replkv_incrby", c_int,
     [_p, c_char_p, c_size_t, c_int64, POINTER(c_int64)], False),
    ("replkv_count", c_int, [_p, POINTER(c_uint64)], False),
    ("replkv_flush", c_int, [_p], False),
    ("replkv_scan", c_int,
     [_p, POINTER(c_uint64), c_size_t, SCAN_CB, py_object], False),
    ("replkv_digest", c_int, [_p, _p], False),
    # introspection
    ("replkv_info", c_int, [_p, c_char_p, _pp], False),
    # persistence
    ("replkv_snapshot", c_int, [_p], False),
    # replication
    ("replkv_opts_set_role_cb", c_int, [_p, ROLE_CB, _p], False),
    ("replkv_replicaof", c_int, [_p, c_char_p, c_int], False),
    ("replkv_replicaof_none", c_int, [_p], False),
    ("replkv_role", c_int, [_p], False),
    ("replkv_primary_addr", c_int, [_p, _p, c_size_t, POINTER(c_int)], False),
    ("replkv_last_offset", c_int, [_p, POINTER(c_int64)], False),
    ("replkv_wait", c_int, [_p, c_int, c_int64], False),
    ("replkv_wait_offset", c_int, [_p, c_int64, c_int, c_int64], False),
    ("replkv_wait_applied", c_int, [_p, c_int64, c_int64], False),
    ("replkv_repl_info_get", c_int, [_p, POINTER(ReplInfoStruct)], False),
    ("replkv_repl_info_get_all", c_int,
     [_p, POINTER(ReplInfoStruct), POINTER(ReplicaInfoStruct), c_size_t],
     False),
    # failover
    ("replkv_opts_set_peer_cb", c_int, [_p, PEER_CB, _p], False),
    ("replkv_opts_set_decision_cb", c_int, [_p, DECISION_CB, _p], False),
    ("replkv_opts_set_divergence_cb", c_int, [_p, DIVERGENCE_CB, _p], False),
    ("replkv_failover", c_int, [_p, c_char_p, c_int64], False),
    ("replkv_failover_abort", c_int, [_p], False),
    ("replkv_forget", c_int, [_p, c_char_p], False),
    ("replkv_cluster_info_get", c_int, [_p, POINTER(ClusterInfoStruct)],
     False),
]


class Library:
    """The loaded library: one attribute per C function, plus its path.

    A function missing from an older library is replaced by a function that
    raises NotSupportedError naming it.
    """

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.cdll = cdll
        self.path = path
        self.missing: List[str] = []
        for name, restype, argtypes, required in _PROTOTYPES:
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                if required:
                    raise ImportError(
                        f"replkv: {path} has no {name}(); it is not a "
                        "libreplkv this binding can use"
                    ) from None
                self.missing.append(name)
                setattr(self, name, _unsupported(name, path))
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not set in __init__; declares to type
        # checkers that the C functions are dynamic attributes.
        raise AttributeError(f"libreplkv binding has no function {name}")

    def has(self, name: str) -> bool:
        """True if the library exports the C function ``name``."""
        return name not in self.missing

    def version(self) -> Tuple[int, int, int]:
        """The linked library's (major, minor, patch)."""
        n = int(self.replkv_version_number())
        return n // 10000, (n // 100) % 100, n % 100


def _unsupported(name: str, path: str) -> Callable[..., int]:
    def unsupported(*args: Any) -> int:
        raise NotSupportedError(
            f"{name}() is not in {path}; this libreplkv is older than the "
            "binding (rebuild or upgrade the library)"
        )

    unsupported.__name__ = name
    return unsupported


# ------------------------------------------------------------------ lookup


def _source_tree_library() -> Optional[Path]:
    """build/libreplkv.so of the repository this package sits in, if any."""
    pkg = Path(__file__).resolve().parent
    if len(pkg.parents) < 3:
        return None
    repo = pkg.parents[2]
    # Only trust the layout when it really is the libreplkv tree.
    if not (repo / "include" / "replkv.h").is_file():
        return None
    lib = repo / "build" / "libreplkv.so"
    return lib if lib.exists() else None


def candidates() -> List[Tuple[str, str]]:
    """The (path or soname, where it came from) pairs to try, in order."""
    env = os.environ.get("REPLKV_LIBRARY")
    if env:
        return [(env, "REPLKV_LIBRARY")]
    out: List[Tuple[str, str]] = []
    tree = _source_tree_library()
    if tree is not None:
        out.append((str(tree), "source tree"))
    found = ctypes.util.find_library("replkv")
    if found:
        out.append((found, 'find_library("replkv")'))
    out.append(("libreplkv.so.0", "dynamic loader"))
    return out


def load() -> Library:
    """Loads the first library of :func:`candidates` and checks its version."""
    tried = []
    for path, origin in candidates():
        try:
            cdll = ctypes.CDLL(path)
        except OSError as e:
            if origin == "REPLKV_LIBRARY":
                raise ImportError(
                    f"replkv: cannot load REPLKV_LIBRARY={path}: {e}"
                ) from e
            tried.append(f"{path} ({origin}): {e}")
            continue
        lib = Library(cdll, path)
        check_version(lib)
        return lib
    raise ImportError(
        "replkv: cannot find libreplkv.so; build it (make lib), install it "
        "(make install), or set REPLKV_LIBRARY to its path. Tried: "
        + "; ".join(tried)
    )


def check_version(lib: Library) -> None:
    """Raises ImportError unless the library's major and minor version are
    the ones this binding was written for (:data:`_version.LIBRARY_VERSION`).
    """
    major, minor, patch = lib.version()
    want = tuple(_version.LIBRARY_VERSION)
    if (major, minor) != want:
        raise ImportError(
            f"replkv: the Python binding {_version.__version__} needs "
            f"libreplkv {want[0]}.{want[1]}.x, but {lib.path} is "
            f"{major}.{minor}.{patch}; install a matching binding or point "
            "REPLKV_LIBRARY at a matching library"
        )


# ------------------------------------------------------------------ errors

L: Library = load()

_last_error = L.replkv_last_error
_err_name = L.replkv_err_name
_strerror = L.replkv_strerror


def error(rc: int, context: str = "") -> ReplkvError:
    """The exception for a failed call's code ``rc``.

    Must be called right after the failing call, on the same thread (before
    any other call into the library from this thread): the detail comes from
    the per-thread replkv_last_error().
    """
    detail = _last_error()
    message = detail.decode("utf-8", "replace") if detail else ""
    if not message:
        message = _strerror(rc).decode("utf-8", "replace")
    if context:
        message = f"{context}: {message}"
    cls = error_class(rc)
    name = _err_name(rc).decode("ascii", "replace")
    if rc == EREADONLY:
        return cls(  # type: ignore[call-arg]
            message, rc, name,
            primary_address=parse_address(detail.decode("utf-8", "replace")
                                          if detail else ""),
        )
    return cls(message, rc, name)


def parse_address(text: str) -> Optional[Tuple[str, int]]:
    """The ``host:port`` that ends text, as (host, port), or None.

    replkv.h promises that a REPLKV_EREADONLY detail names the primary as
    "host:port"; the words before it are not part of the contract, so only
    the last word is read. ``[::1]:7000`` and ``::1:7000`` both give
    ("::1", 7000). Port 0 (no primary known) gives None.
    """
    words = text.split()
    if not words:
        return None
    word = words[-1].rstrip(".,;)'\"").lstrip("('\"")
    host, sep, port = word.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    n = int(port)
    if not 0 < n <= 65535 or not host:
        return None
    return host, n
