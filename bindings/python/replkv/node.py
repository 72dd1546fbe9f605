"""replkv.Node: one libreplkv node, opened in this process.

Thread safety: ctypes releases the GIL for every call into the library, and
the library lets any thread use a node at any time, so many Python threads
may share one Node. close() waits for the calls in flight on other threads
to return before it frees the node, so a close racing with other threads'
calls gives them ClosedError, never a crash.

Hot paths (get, set) are written out by hand, without helper layers: each
Python-level call costs time, and the binding is benchmarked against
redis-py.
"""

from __future__ import annotations

import ctypes
import datetime
import fnmatch
import os
import threading
import time
import weakref
from ctypes import byref, c_int64, c_size_t, c_uint64, c_void_p, string_at
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from . import _callbacks, _config, _lib
from ._failover import FailoverMethods
from ._replication import ReplicationMethods
from ._convert import (
    Key,
    Seconds,
    Value,
    cstr as _cstr,
    int64 as _int64,
    key_bytes as _key,
    ms_int as _ms,
    parse_info,
    seconds_to_ms as _seconds_to_ms,
    ttl_arg as _ttl_arg,
    unix_ms as _unix_ms,
    value_bytes as _value,
)
from .errors import (
    BusyError,
    ClosedError,
    InvalidArgument,
    OutOfMemoryError,
    ReplkvError,
)

__all__ = ["Node", "Key", "Value", "Seconds"]

_L = _lib.L
_error = _lib.error
_ENOTFOUND = _lib.ENOTFOUND
_ERANGE = _lib.ERANGE

_GET_BUF = _callbacks.GET_BUF

_c_get = _L.replkv_get
_c_set = _L.replkv_set
_c_del = _L.replkv_del
_c_exists = _L.replkv_exists
_c_free = _L.replkv_free

_bufs = _callbacks.scratch


# ------------------------------------------------------------ lifetime


class _NodeState:
    """What the finalizer needs, without a reference back to the Node (so
    that an unreferenced Node is collected and closed)."""

    __slots__ = ("handle", "active", "keep", "lock", "__weakref__")

    def __init__(self) -> None:
        self.handle: Optional[int] = None
        # One entry per call in flight; list.append/pop are atomic.
        self.active: List[None] = []
        # ctypes callback objects that C holds pointers to.
        self.keep: List[Any] = []
        self.lock = threading.Lock()


def _release(state: _NodeState, wait_limit: Optional[float] = None) -> None:
    """Waits for calls in flight, then closes the C node. The caller has
    already taken state.handle out of use (set the Node's copy to None)."""
    h = state.handle
    if h is None:
        return
    deadline = None if wait_limit is None else time.monotonic() + wait_limit
    while state.active:
        if deadline is not None and time.monotonic() > deadline:
            return  # leak the node rather than free it under a caller
        time.sleep(0.0005)
    state.handle = None
    _L.replkv_close(h)
    state.keep.clear()


def _finalize(state: _NodeState) -> None:
    """Runs when a Node is garbage-collected unclosed, or at exit."""
    if _callbacks.in_callback(state):
        # Collected inside one of its own callbacks, maybe on its own I/O
        # thread: closing here would join the running thread.
        threading.Thread(
            target=_release, args=(state, 5.0), daemon=True
        ).start()
        return
    _release(state, 5.0)


# ------------------------------------------------------------ the node


class Node(ReplicationMethods, FailoverMethods):
    """A libreplkv node in this process.

    ``Node()`` with no arguments is a standalone in-process store. Options
    use the ``redis.conf`` directive names, from a dict and/or keyword
    arguments (``_`` stands for ``-``; keyword arguments win)::

        node = replkv.Node({"maxmemory": "100mb"},
                           maxmemory_policy="allkeys-lru",
                           on_log=print)

    Values are converted with str(); True/False become yes/no. An unknown
    option or a bad value raises InvalidArgument naming the option.

    on_log: ``callable(level: int, message: str)``, called for each log
    line at or above the ``loglevel`` option, on the library's thread (or
    inside a call on the calling thread). It must be quick and thread-safe;
    an exception in it is logged on the ``replkv`` logger and never
    propagates. It must not close this node (BusyError).

    on_role_change: ``callable(old_role: str, new_role: str,
    primary: tuple | None)``, called on the node's I/O thread when its role
    changes (replicaof(), replicaof_none(), a failover); roles are
    "primary", "replica" and "witness", primary is the new primary's
    ``(host, port)`` when the node became a replica, else None. A callable
    with a parameter named ``epoch`` also gets the configuration epoch
    (0 with failover off). It may use the data methods; wait*(),
    replicaof*() and close() on this node raise BusyError there.
    Exceptions are reported as for on_log.

    Failover callbacks (node's I/O thread, same limits and error reporting
    as on_role_change): on_peer_state ``callable(node_id, (host, port),
    state: PeerState)``; on_failover_decision ``callable(epoch,
    candidates) -> accept() | pick(candidate) | veto(reason)``, asked on
    the node that leads a failover (an exception or a bad answer is
    reported and counts as accept); on_divergence
    ``callable(Divergence)``, the writes this node lost when it rejoined
    as a replica. See failover(), cluster_info() and ``sentinel_*``
    options (``sentinel_monitor=("name", host, port, quorum)``).

    Replication (see the methods' docs): ``Node(port=0)`` is standalone;
    ``Node(port=7000)`` accepts replicas; ``Node(replicaof="host 7000")``
    or ``node.replicaof("host", 7000)`` follows a primary.

    Keys are bytes or str (UTF-8); values are bytes, str, bytearray,
    memoryview, int or float. Results are bytes. Missing keys read as None.

    A Node is a context manager that closes it. Once closed, every method
    raises ClosedError. Any number of threads may use one Node.
    """

    # Callbacks: keyword argument -> (trampoline factory, C setter). A
    # setter missing from an older library raises NotSupportedError when
    # its callback is given.
    _CALLBACKS: Dict[str, Tuple[Callable[..., Any], str]] = {
        "on_log": (_callbacks.make_log_trampoline, "replkv_opts_set_log"),
        "on_role_change": (
            _callbacks.make_role_trampoline,
            "replkv_opts_set_role_cb",
        ),
        "on_peer_state": (
            _callbacks.make_peer_trampoline,
            "replkv_opts_set_peer_cb",
        ),
        "on_failover_decision": (
            _callbacks.make_decision_trampoline,
            "replkv_opts_set_decision_cb",
        ),
        "on_divergence": (
            _callbacks.make_divergence_trampoline,
            "replkv_opts_set_divergence_cb",
        ),
    }

    def __init__(
        self,
        options: Optional[Mapping[str, Any]] = None,
        *,
        on_log: Optional[Callable[[int, str], Any]] = None,
        on_role_change: Optional[_callbacks.RoleCallback] = None,
        on_peer_state: Optional[_callbacks.PeerCallback] = None,
        on_failover_decision: Optional[_callbacks.DecisionCallback] = None,
        on_divergence: Optional[_callbacks.DivergenceCallback] = None,
        **kwargs: Any,
    ) -> None:
        self._h: Optional[int] = None
        settings: List[Tuple[str, str, str]] = []
        for source in (options or {}, kwargs):
            for name, value in source.items():
                settings.append(
                    (_config.option_name(name), _config.option_value(value), "")
                )
        self._open(settings, _callback_args(locals()))

    @classmethod
    def from_config(
        cls,
        path: Union[str, "os.PathLike[str]"],
        *,
        on_log: Optional[Callable[[int, str], Any]] = None,
        on_role_change: Optional[_callbacks.RoleCallback] = None,
        on_peer_state: Optional[_callbacks.PeerCallback] = None,
        on_failover_decision: Optional[_callbacks.DecisionCallback] = None,
        on_divergence: Optional[_callbacks.DivergenceCallback] = None,
        **kwargs: Any,
    ) -> "Node":
        """Opens a node configured by a redis.conf-style file.

        Each directive goes through replkv_opts_set() (several arguments
        are joined by single spaces); keyword arguments are applied after
        the file and win. A line that cannot be parsed, an unknown directive
        or a bad value raises InvalidArgument whose message starts with
        ``path:line:``. A missing file raises FileNotFoundError.
        """
        name = os.fspath(path)
        settings = [
            (_config.option_name(directive), value, f"{name}:{lineno}")
            for lineno, directive, value in _config.read_config(name)
        ]
        for opt, value in kwargs.items():
            settings.append(
                (_config.option_name(opt), _config.option_value(value), "")
            )
        node = cls.__new__(cls)
        node._h = None
        node._open(settings, _callback_args(locals()))
        return node

    def _open(
        self,
        settings: Iterable[Tuple[str, str, str]],
        callbacks: Mapping[str, Any],
    ) -> None:
        state = _NodeState()
        opts = _L.replkv_opts_new()
        if not opts:
            raise OutOfMemoryError("replkv_opts_new: out of memory")
        try:
            for name, value, where in settings:
                rc = _L.replkv_opts_set(
                    opts, _cstr(name, "option"), _cstr(value, f"{name} value")
                )
                if rc < 0:
                    raise _error(rc, where)
            for kw, fn in callbacks.items():
                if fn is None:
                    continue
                if not callable(fn):
                    raise TypeError(f"{kw} must be callable")
                factory, setter = self._CALLBACKS[kw]
                thunk = factory(fn, state)
                state.keep.append(thunk)
                rc = getattr(_L, setter)(opts, thunk, None)
                if rc < 0:
                    raise _error(rc, kw)
            out = c_void_p()
            rc = _L.replkv_open(opts, byref(out))
            if rc < 0:
                raise _error(rc)
        finally:
            _L.replkv_opts_free(opts)
        state.handle = out.value
        self._state = state
        self._active = state.active
        self._h = out.value
        self._finalizer = weakref.finalize(self, _finalize, state)

    # -------------------------------------------------------- lifetime

    def close(self) -> None:
        """Closes the node: waits for other threads' calls in flight, stops
        the node's thread and frees it. Idempotent. Raises BusyError when
        called from inside one of this node's callbacks."""
        state: Optional[_NodeState] = getattr(self, "_state", None)
        if state is None:
            return
        with state.lock:
            if self._h is None:
                return
            if _callbacks.in_callback(state):
                raise BusyError(
                    "Node.close() called from inside one of its callbacks"
                )
            self._h = None  # new calls now raise ClosedError
            self._finalizer.detach()
            _release(state)

    @property
    def closed(self) -> bool:
        """True once close() has been called."""
        return self._h is None

    def __enter__(self) -> "Node":
        self._handle()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._h is None:
            return "<replkv.Node closed>"
        return f"<replkv.Node at 0x{self._h:x}>"

    def __bool__(self) -> bool:
        # A node is truthy even when empty (len() would say otherwise).
        return True

    def _handle(self) -> int:
        h = self._h
        if h is None:
            raise _closed()
        return h

    def _call(self, fn: Callable[..., int], *args: Any) -> int:
        """Calls fn(handle, *args) guarded against close; raises on < 0."""
        active = self._active
        active.append(None)
        try:
            h = self._h
            if h is None:
                raise _closed()
            rc = fn(h, *args)
            if rc < 0:
                raise _error(rc)
            return rc
        finally:
            active.pop()

    def _call_alloc(
        self, fn: Callable[..., int], key: Any, *extra: Any
    ) -> Optional[bytes]:
        """Calls an allocating getter fn(h, key, klen, &val, &vlen, *extra):
        returns the bytes (freeing the C copy), or None for a missing key."""
        k = _key(key)
        ptr = c_void_p()
        n = c_size_t()
        active = self._active
        active.append(None)
        try:
            h = self._h
            if h is None:
                raise _closed()
            rc = fn(h, k, len(k), byref(ptr), byref(n), *extra)
            if rc == _ENOTFOUND:
                return None
            if rc < 0:
                raise _error(rc)
        finally:
            active.pop()
        return _take(ptr, n.value)

    # -------------------------------------------------------- strings

    def get(self, key: Key) -> Optional[bytes]:
        """The value of key, or None if it does not exist (or expired)."""
        k = key if type(key) is bytes else _key(key)
        b = _bufs
        try:
            buf = b.buf
        except AttributeError:  # this thread's first get()
            buf = _callbacks.init_scratch()
        active = self._active
        active.append(None)
        try:
            h = self._h
            if h is None:
                raise _closed()
            rc = _c_get(h, k, len(k), buf, _GET_BUF, b.vlen_ref)
            if rc == 0:
                return b.view[: b.vlen.value].tobytes()
            if rc == _ENOTFOUND:
                return None
            while rc == _ERANGE:
                # Larger than the buffer: once more with the exact size
                # (again if the value grew in between).
                need = b.vlen.value
                big = ctypes.create_string_buffer(need)
                n = c_size_t()
                rc = _c_get(h, k, len(k), big, need, byref(n))
                if rc == 0:
                    return string_at(big, n.value)
                if rc == _ENOTFOUND:
                    return None
                b.vlen.value = n.value
            raise _error(rc)
        finally:
            active.pop()

    def set(
        self,
        key: Key,
        value: Value,
        ttl: Optional[Seconds] = None,
        *,
        px: Optional[int] = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
    ) -> bool:
        """Stores key = value (Redis SET).

        ttl: time to live in seconds (int, float or timedelta); px: the same
        in milliseconds. nx: only if the key does not exist; xx: only if it
        does; keepttl: keep the key's current TTL. Returns True if stored,
        False if nx/xx prevented it. Raises InvalidArgument (nx with xx,
        keepttl with a TTL, a TTL <= 0), TooBigError, MaxMemoryError.
        """
        k = key if type(key) is bytes else _key(key)
        v = value if type(value) is bytes else _value(value)
        if ttl is None and px is None and not (nx or xx or keepttl):
            ms = 0
            flags = 0
        else:
            ms = _ttl_arg(ttl, px)
            flags = (
                (_lib.NX if nx else 0)
                | (_lib.XX if xx else 0)
                | (_lib.KEEPTTL if keepttl else 0)
            )
        active = self._active
        active.append(None)
        try:
            h = self._h
            if h is None:
                raise _closed()
            rc = _c_set(h, k, len(k), v, len(v), ms, flags)
            if rc < 0:
                raise _error(rc)
        finally:
            active.pop()
        return rc == 1

    def getset(
        self,
        key: Key,
        value: Value,
        ttl: Optional[Seconds] = None,
        *,
        px: Optional[int] = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
    ) -> Optional[bytes]:
        """set() that returns the key's previous value (None if it had
        none), atomically (Redis SET ... GET). Arguments as set()."""
        k = _key(key)
        v = _value(value)
        ms = _ttl_arg(ttl, px)
        flags = (
            (_lib.NX if nx else 0)
            | (_lib.XX if xx else 0)
            | (_lib.KEEPTTL if keepttl else 0)
        )
        old = c_void_p()
        n = c_size_t()
        self._call(
            _L.replkv_set_get,
            k, len(k), v, len(v), ms, flags, byref(old), byref(n),
        )
        if not old.value:
            return None
        return _take(old, n.value)

    def getdel(self, key: Key) -> Optional[bytes]:
        """Gets key's value and deletes the key (Redis GETDEL); None if
        missing."""
        return self._call_alloc(_L.replkv_getdel, key)

    def getex(
        self,
        key: Key,
        ttl: Optional[Seconds] = None,
        *,
        px: Optional[int] = None,
        persist: bool = False,
    ) -> Optional[bytes]:
        """Gets key's value and changes its TTL in the same step (Redis
        GETEX): ttl (seconds) / px (ms) set it, persist=True removes it,
        neither leaves it. None if the key is missing."""
        ms = _ttl_arg(ttl, px)
        if persist and ms:
            raise InvalidArgument("persist=True cannot be combined with a TTL")
        flags = _lib.PERSIST if persist else 0
        return self._call_alloc(_L.replkv_getex, key, ms, flags)

    def append(self, key: Key, value: Value) -> int:
        """Appends value to key's value (creating it); returns the new
        length (Redis APPEND)."""
        k = _key(key)
        v = _value(value)
        n = c_size_t()
        self._call(_L.replkv_append, k, len(k), v, len(v), byref(n))
        return n.value

    def incr(self, key: Key, amount: int = 1) -> int:
        """Adds amount to the 64-bit integer at key (a missing key counts as
        0; the TTL is kept) and returns the new value (Redis INCRBY).
        Raises NotIntegerError if the value is not an integer (unchanged),
        IntegerOverflowError if the sum overflows."""
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError("amount must be an int")
        k = _key(key)
        out = c_int64()
        self._call(
            _L.replkv_incrby, k, len(k), _int64(amount, "amount"), byref(out)
        )
        return out.value

    def decr(self, key: Key, amount: int = 1) -> int:
        """incr(key, -amount) (Redis DECRBY)."""
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError("amount must be an int")
        return self.incr(key, -amount)

    # -------------------------------------------------------- keys

    def delete(self, *keys: Key) -> int:
        """Deletes the keys; returns how many existed (Redis DEL)."""
        ks = [k if type(k) is bytes else _key(k) for k in keys]
        n = 0
        active = self._active
        active.append(None)
        try:
            h = self._h
            if h is None:
                raise _closed()
            for k in ks:
                rc = _c_del(h, k, len(k))
                if rc < 0:
                    raise _error(rc)
                n += rc
        finally:
            active.pop()
        return n

    def exists(self, key: Key) -> bool:
        """True if key exists and has not expired."""
        k = key if type(key) is bytes else _key(key)
        active = self._active
        active.append(None)
        try:
            h = self._h
            if h is None:
                raise _closed()
            rc = _c_exists(h, k, len(k))
            if rc < 0:
                raise _error(rc)
        finally:
            active.pop()
        return rc == 1

    def _expire(self, key: Key, ms: int, flags: int) -> bool:
        k = _key(key)
        rc = self._call(
            _L.replkv_expire, k, len(k), _int64(ms, "time"), flags
        )
        return rc == 1

    @staticmethod
    def _expire_flags(nx: bool, xx: bool, gt: bool, lt: bool) -> int:
        return (
            (_lib.NX if nx else 0)
            | (_lib.XX if xx else 0)
            | (_lib.GT if gt else 0)
            | (_lib.LT if lt else 0)
        )

    def expire(
        self,
        key: Key,
        seconds: Seconds,
        *,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Sets key's time to live in seconds (int, float, timedelta).
        A TTL <= 0 deletes the key, as Redis EXPIRE. nx: only if it has no
        TTL; xx: only if it has one; gt/lt: only if later/earlier than the
        current one. Returns True if set (or deleted), False if the key is
        missing or a condition prevented it."""
        return self._expire(
            key, _seconds_to_ms(seconds, "seconds"),
            self._expire_flags(nx, xx, gt, lt),
        )

    def pexpire(
        self,
        key: Key,
        ms: int,
        *,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """expire() with the time to live in milliseconds."""
        return self._expire(
            key, _ms(ms, "ms"), self._expire_flags(nx, xx, gt, lt)
        )

    def expireat(
        self,
        key: Key,
        when: Union[int, float, datetime.datetime],
        *,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """expire() at an absolute time: Unix seconds or a datetime (naive
        datetimes are local time). A time already past deletes the key."""
        return self._expire(
            key, _unix_ms(when),
            self._expire_flags(nx, xx, gt, lt) | _lib.ABSTIME,
        )

    def persist(self, key: Key) -> bool:
        """Removes key's TTL. True if it had one; False if the key is
        missing or has none."""
        k = _key(key)
        return self._call(_L.replkv_persist, k, len(k)) == 1

    def pttl(self, key: Key) -> Optional[int]:
        """key's remaining time to live in ms; None if the key is missing
        or has no TTL (use exists() to tell the two apart)."""
        k = _key(key)
        out = c_int64()
        active = self._active
        active.append(None)
        try:
            h = self._h
            if h is None:
                raise _closed()
            rc = _L.replkv_ttl(h, k, len(k), byref(out))
            if rc == _ENOTFOUND:
                return None
            if rc < 0:
                raise _error(rc)
        finally:
            active.pop()
        return None if out.value < 0 else out.value

    def ttl(self, key: Key) -> Optional[float]:
        """key's remaining time to live in seconds (a float, ms precision);
        None if the key is missing or has no TTL."""
        ms = self.pttl(key)
        return None if ms is None else ms / 1000.0

    def scan(
        self, count: int = 100, match: Optional[Union[str, bytes]] = None
    ) -> Iterator[bytes]:
        """Iterates over the keys (Redis SCAN), count keys per call into the
        library. Every key present for the whole iteration is yielded at
        least once; a key may be yielded twice if the table is resized
        meanwhile; keys added or deleted meanwhile may or may not appear.
        match: an fnmatch-style pattern (``user:*``) filtered here."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidArgument("count must be a positive int")
        pattern: Optional[bytes] = None
        if match is not None:
            pattern = _key(match)
        return self._scan(count, pattern)

    def _scan(self, count: int, pattern: Optional[bytes]) -> Iterator[bytes]:
        cursor = c_uint64(0)
        while True:
            batch: List[bytes] = []
            rc = self._call(
                _L.replkv_scan, byref(cursor), count, _scan_cb, batch
            )
            if rc != 0:  # _scan_collect failed and reported why
                raise ReplkvError("scan: collecting a key failed")
            if pattern is None:
                yield from batch
            else:
                for k in batch:
                    if fnmatch.fnmatchcase(k, pattern):
                        yield k
            if cursor.value == 0:
                return

    def count(self) -> int:
        """The number of keys (like Redis DBSIZE: keys that expired but are
        not yet reclaimed are included)."""
        out = c_uint64()
        self._call(_L.replkv_count, byref(out))
        return out.value

    def flush(self) -> None:
        """Deletes every key (Redis FLUSHALL)."""
        self._call(_L.replkv_flush)

    def digest(self) -> bytes:
        """A 16-byte order-independent hash of the whole keyspace (keys,
        values, expiry times). Equal data gives equal digests; an empty
        keyspace gives 16 zero bytes. ``node.digest().hex()`` for text."""
        out = ctypes.create_string_buffer(16)
        self._call(_L.replkv_digest, out)
        return out.raw

    # ---------------------------------------------------------- persistence

    def snapshot(self) -> None:
        """Writes a snapshot to the node's dir and trims its append-only
        file; returns once the snapshot is durable. Needs ``appendonly`` and
        ``dir``; raises otherwise (ESTATE)."""
        self._call(_L.replkv_snapshot)

    # -------------------------------------------------------- introspection

    def info_text(self, section: Optional[str] = None) -> str:
        """The raw INFO text (``# Section`` headers, ``field:value``
        lines) for section (None for all)."""
        sec = None if section is None else _cstr(section, "section")
        out = c_void_p()
        self._call(_L.replkv_info, sec, byref(out))
        return _take(out, None).decode("utf-8", "replace")

    def info(self, section: Optional[str] = None) -> Dict[str, Any]:
        """INFO as one flat dict (as redis-py returns it): every
        ``field: value`` of the section (None, "all" or "default" for all;
        else "server", "memory", "stats", "replication", "keyspace"), with
        Redis's field names (role:master / role:slave), numbers as int or
        float, keyspace lines (``db0``) as dicts. Field names are unique
        across sections. Raises InvalidArgument for an unknown section."""
        return parse_info(self.info_text(section))

    def config_get(self, name: str) -> str:
        """A running node's option, spelled as config_set() accepts it."""
        n = _cstr(_config.option_name(name), "option")
        cap = 128
        while True:
            buf = ctypes.create_string_buffer(cap)
            need = c_size_t()
            active = self._active
            active.append(None)
            try:
                h = self._h
                if h is None:
                    raise _closed()
                rc = _L.replkv_config_get(h, n, buf, cap, byref(need))
                if rc < 0 and rc != _ERANGE:
                    raise _error(rc)
            finally:
                active.pop()
            if rc == 0:
                return buf.value.decode("utf-8", "replace")
            cap = max(need.value, cap * 2)

    def config_set(self, name: str, value: Any) -> None:
        """Changes a runtime option (maxmemory, maxmemory-policy, ...).
        value goes through str() (True/False -> yes/no). Raises
        InvalidArgument for an unknown option or bad value,
        NotSupportedError for an option settable only before opening."""
        n = _cstr(_config.option_name(name), "option")
        v = _cstr(_config.option_value(value), "value")
        self._call(_L.replkv_config_set, n, v)

    # -------------------------------------------------------- mapping

    def __getitem__(self, key: Key) -> bytes:
        v = self.get(key)
        if v is None:
            raise KeyError(key)
        return v

    def __setitem__(self, key: Key, value: Value) -> None:
        self.set(key, value)

    def __delitem__(self, key: Key) -> None:
        if self.delete(key) == 0:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self.exists(key)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[bytes]:
        return self.scan()


# ------------------------------------------------------------ helpers


def _callback_args(args: Mapping[str, Any]) -> Dict[str, Any]:
    """The callback keyword arguments of Node() / from_config(), from
    their locals()."""
    return {kw: args[kw] for kw in Node._CALLBACKS}


def _closed() -> ClosedError:
    return ClosedError("the node is closed")


def _take(ptr: c_void_p, n: Optional[int]) -> bytes:
    """Copies library-allocated memory into bytes and frees it (n None: a
    NUL-terminated string)."""
    try:
        if n is None:
            return string_at(ptr.value)  # type: ignore[arg-type]
        return string_at(ptr.value, n)  # type: ignore[arg-type]
    finally:
        _c_free(ptr)


def _scan_collect(key: Optional[int], klen: int, batch: List[bytes]) -> int:
    try:
        batch.append(string_at(key, klen))  # type: ignore[arg-type]
        return 0
    except BaseException:  # noqa: BLE001 - nothing may escape into C
        _callbacks.report_error("scan", _scan_collect)
        return 1


# One callback object for every scan: the batch list travels as ud.
_scan_cb = _lib.SCAN_CB(_scan_collect)
