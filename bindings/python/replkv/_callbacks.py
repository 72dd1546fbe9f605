"""C -> Python callbacks: trampolines, error reporting, the re-entry guard.

The library calls callbacks on its own I/O thread (or on an application
thread inside a replkv_* call). A trampoline:

* converts the C event into Python values (reading only the fields that the
  event's ``size`` says the library filled in);
* records, for the running thread, which node's callback it is in, so that
  closing that node from there is refused (the C API forbids it: close
  joins the very thread the callback may run on);
* catches every exception, so none is ever lost and none reaches C: it is
  logged on the ``replkv`` logger and, when the application has installed
  its own ``sys.unraisablehook``, passed to it as well.

Each callback is one ``make_*_trampoline`` function here plus one row in
node._CALLBACKS. The failover ones (peer state, decision, divergence) build
the values of ``_events``.
"""

from __future__ import annotations

import ctypes
import enum
import inspect
import logging
import sys
import threading
import types
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from . import _events, _lib

logger = logging.getLogger("replkv")

__all__ = [
    "LogLevel",
    "log_to_logging",
    "in_callback",
    "report_error",
    "role_name",
]


class LogLevel(enum.IntEnum):
    """replkv_log_level: Redis's loglevel names."""

    DEBUG = 0
    VERBOSE = 1
    NOTICE = 2
    WARNING = 3


_LOGGING_LEVELS = {
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.VERBOSE: logging.DEBUG + 5,
    LogLevel.NOTICE: logging.INFO,
    LogLevel.WARNING: logging.WARNING,
}


def log_to_logging(level: int, message: str) -> None:
    """An ``on_log`` callback that forwards lines to the ``replkv`` logger
    (debug -> DEBUG, verbose -> 15, notice -> INFO, warning -> WARNING)::

        replkv.Node(on_log=replkv.log_to_logging)
    """
    logger.log(_LOGGING_LEVELS.get(level, logging.INFO), "%s", message)


# The first replkv_get() of a thread goes into that thread's scratch buffer
# of this size; larger values take a second call with the exact size.
GET_BUF = 16 * 1024


class Scratch(threading.local):
    """Per-thread scratch space for replkv_get(): the GIL is released during
    the call, so threads cannot share one buffer. Filled in on a thread's
    first get() (init_scratch), so that threads that never read, like the
    library's own, carry none. A callback that runs inside a call on a
    thread gets fresh scratch, so that a Node.get() made from the callback
    cannot overwrite the buffer that the outer call is filling."""

    buf: Any
    view: memoryview
    vlen: ctypes.c_size_t
    vlen_ref: Any


scratch = Scratch()


def init_scratch() -> Any:
    """Fills in this thread's scratch space; returns its buffer."""
    s = scratch
    s.buf = ctypes.create_string_buffer(GET_BUF)
    s.view = memoryview(s.buf).cast("B")
    s.vlen = ctypes.c_size_t()
    s.vlen_ref = ctypes.byref(s.vlen)
    return s.buf


def _fresh_scratch() -> Optional[Dict[str, Any]]:
    """Sets aside this thread's scratch space if it has any; returns what to
    give back to _restore_scratch()."""
    d = scratch.__dict__
    if not d:
        return None
    saved = dict(d)
    d.clear()
    return saved


def _restore_scratch(saved: Optional[Dict[str, Any]]) -> None:
    if saved is not None:
        d = scratch.__dict__
        d.clear()
        d.update(saved)


class _State(threading.local):
    def __init__(self) -> None:
        self.owners: List[Any] = []  # node states whose callbacks run here


_tls = _State()


def in_callback(owner: Optional[Any] = None) -> bool:
    """True while the calling thread runs a callback of ``owner`` (a node's
    internal state object), or of any node when ``owner`` is None."""
    owners = _tls.owners
    if owner is None:
        return bool(owners)
    return any(o is owner for o in owners)


def report_error(where: str, callback: Any) -> None:
    """Reports the exception being handled, raised by a user callback.

    Never raises: a failure while reporting is dropped rather than sent into
    C. Must be called from inside an ``except`` block.
    """
    exc_type, exc, tb = sys.exc_info()
    try:
        logger.error(
            "exception in replkv %s callback %r",
            where,
            callback,
            exc_info=(exc_type, exc, tb),  # type: ignore[arg-type]
        )
        hook = getattr(sys, "unraisablehook", None)
        # The default hook would print the same traceback to stderr that
        # the logger's last-resort handler already printed; only a hook the
        # application installed (test harnesses, monitoring) gets a call.
        if hook is not None and hook is not getattr(
            sys, "__unraisablehook__", None
        ):
            hook(
                types.SimpleNamespace(
                    exc_type=exc_type,
                    exc_value=exc,
                    exc_traceback=tb,
                    err_msg=f"Exception ignored in replkv {where} callback",
                    object=callback,
                )
            )
    except BaseException:  # noqa: BLE001 - nothing may escape into C
        pass
    finally:
        del exc, tb


_LOG_EVENT_MIN_SIZE = _lib.LogEvent.message.offset + _lib.LogEvent.message.size


def make_log_trampoline(fn: Callable[[int, str], Any], owner: Any) -> Any:
    """A LOG_CB that calls ``fn(level, message)``.

    The caller keeps the returned object alive for as long as the library
    may call it (the node's lifetime): ctypes frees the C thunk with it.
    """

    def trampoline(kv: Optional[int], ev: Any, ud: Optional[int]) -> None:
        owners = _tls.owners
        owners.append(owner)
        saved = _fresh_scratch()
        try:
            e = ev.contents
            if e.size < _LOG_EVENT_MIN_SIZE:
                return
            try:
                level: int = LogLevel(e.level)
            except ValueError:
                level = int(e.level)
            raw = e.message
            fn(level, raw.decode("utf-8", "replace") if raw else "")
        except BaseException:  # noqa: BLE001 - nothing may escape into C
            report_error("on_log", fn)
        finally:
            _restore_scratch(saved)
            owners.pop()

    return _lib.LOG_CB(trampoline)


_ROLE_NAMES = {
    _lib.ROLE_PRIMARY: "primary",
    _lib.ROLE_REPLICA: "replica",
    _lib.ROLE_WITNESS: "witness",
}


def role_name(role: int) -> Union[str, int]:
    """"primary" / "replica" / "witness" for a replkv_node_role (an
    unknown value, from a newer library, is passed on as its int)."""
    return _ROLE_NAMES.get(role, role)


def _size_covers(e: Any, cls: Any, name: str) -> bool:
    """True when the event's size field covers the field name of cls."""
    f = getattr(cls, name)
    return bool(e.size >= f.offset + f.size)


_ROLE_EVENT_MIN_SIZE = (
    _lib.RoleEvent.primary_port.offset + _lib.RoleEvent.primary_port.size
)

RoleCallback = Callable[..., Any]


def wants_keyword(fn: Callable[..., Any], name: str) -> bool:
    """True if fn has a parameter called name (or takes **kwargs): such a
    callback is passed that newer value as a keyword argument."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            return True
        if p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                         p.KEYWORD_ONLY):
            return True
    return False


def make_role_trampoline(fn: RoleCallback, owner: Any) -> Any:
    """A ROLE_CB that calls ``fn(old_role, new_role, primary)``: the roles
    as "primary" / "replica" / "witness", primary as ``(host, port)`` when
    the node became a replica, else None. When fn has a parameter named
    ``epoch`` (or ``**kwargs``) it is also passed ``epoch=`` the
    configuration epoch (failover; 0 when failover is off), so callbacks
    written before failover keep working.

    It runs on the node's I/O thread. As for the log trampoline, the caller
    keeps the returned object alive for the node's lifetime.
    """
    with_epoch = wants_keyword(fn, "epoch")

    def trampoline(kv: Optional[int], ev: Any, ud: Optional[int]) -> None:
        owners = _tls.owners
        owners.append(owner)
        saved = _fresh_scratch()
        try:
            e = ev.contents
            if e.size < _ROLE_EVENT_MIN_SIZE:
                return
            new = role_name(e.new_role)
            primary: Optional[Tuple[str, int]] = None
            raw = e.primary_host
            if e.new_role == _lib.ROLE_REPLICA and raw and e.primary_port > 0:
                primary = (raw.decode("utf-8", "replace"), int(e.primary_port))
            if with_epoch:
                epoch = (int(e.epoch)
                         if _size_covers(e, _lib.RoleEvent, "epoch") else 0)
                fn(role_name(e.old_role), new, primary, epoch=epoch)
            else:
                fn(role_name(e.old_role), new, primary)
        except BaseException:  # noqa: BLE001 - nothing may escape into C
            report_error("on_role_change", fn)
        finally:
            _restore_scratch(saved)
            owners.pop()

    return _lib.ROLE_CB(trampoline)


# ------------------------------------------------------------ failover


def _guarded(owner: Any, where: str, fn: Any, body: Callable[[], Any],
             default: Any = None) -> Any:
    """Runs body() as a callback of owner: marks the thread as inside
    owner's callback, gives it fresh scratch space, and reports (never
    raises) an exception, returning default then."""
    owners = _tls.owners
    owners.append(owner)
    saved = _fresh_scratch()
    try:
        return body()
    except BaseException:  # noqa: BLE001 - nothing may escape into C
        report_error(where, fn)
        return default
    finally:
        _restore_scratch(saved)
        owners.pop()


PeerCallback = Callable[[str, Tuple[str, int], _events.PeerState], Any]


def make_peer_trampoline(fn: PeerCallback, owner: Any) -> Any:
    """A PEER_CB that calls ``fn(node_id, (host, port), state)``, state a
    :class:`PeerState` ("up", "sdown", "odown", "new", "forgotten")."""

    def body(ev: Any) -> None:
        e = ev.contents
        if not _size_covers(e, _lib.PeerEvent, "state"):
            return
        fn(_events.optional_text(e.node_id),
           (_events.optional_text(e.host), int(e.port)),
           _events.peer_state(e.state))

    def trampoline(kv: Optional[int], ev: Any, ud: Optional[int]) -> None:
        _guarded(owner, "on_peer_state", fn, lambda: body(ev))

    return _lib.PEER_CB(trampoline)


DecisionCallback = Callable[[int, List[_events.Candidate]], Any]


def candidates_of(e: Any) -> List[_events.Candidate]:
    """The candidates of a replkv_decision_event, copied."""
    n = int(e.ncandidates) if e.candidates else 0
    out = []
    for i in range(n):
        c = e.candidates[i]
        out.append(_events.Candidate(
            index=i,
            node_id=c.node_id.decode("ascii", "replace"),
            host=c.host.decode("utf-8", "replace"),
            port=int(c.port),
            priority=int(c.priority),
            offset=int(c.offset),
        ))
    return out


def write_reason(buf: Optional[int], cap: int, reason: str) -> None:
    """Copies reason into the library's buffer, NUL-terminated, cut to
    cap - 1 bytes at a character boundary."""
    if not buf or cap <= 0:
        return
    raw = reason.encode("utf-8", "replace")[: cap - 1]
    raw = raw.decode("utf-8", "ignore").encode("utf-8") + b"\0"
    ctypes.memmove(buf, raw, len(raw))


_VERDICT_CODES = {
    "accept": _lib.VERDICT_ACCEPT,
    "pick": _lib.VERDICT_PICK,
    "veto": _lib.VERDICT_VETO,
}


def make_decision_trampoline(fn: DecisionCallback, owner: Any) -> Any:
    """A DECISION_CB that calls ``fn(epoch, candidates)`` (a list of
    :class:`Candidate`, best first) and turns what it returns into the C
    verdict (see :func:`_events.verdict_of`).

    An exception in fn, or an answer that is not a verdict (a pick outside
    the list, say), is reported like any callback error and counts as
    accept: the failover goes on as without a callback, and the reason the
    node logs says why.
    """

    def body(ev: Any, pick: Any, reason: Optional[int], cap: int) -> int:
        e = ev.contents
        if not _size_covers(e, _lib.DecisionEvent, "ncandidates"):
            return _lib.VERDICT_ACCEPT
        candidates = candidates_of(e)
        try:
            v = _events.verdict_of(fn(int(e.epoch), candidates),
                                   len(candidates))
        except BaseException as exc:  # noqa: BLE001 - reported, accepted
            report_error("on_failover_decision", fn)
            write_reason(reason, cap,
                         f"accepted: on_failover_decision failed "
                         f"({type(exc).__name__}: {exc})")
            return _lib.VERDICT_ACCEPT
        if v.kind == "pick" and pick:
            pick[0] = v.index
        write_reason(reason, cap, v.reason)
        return _VERDICT_CODES[v.kind]

    def trampoline(kv: Optional[int], ev: Any, pick: Any,
                   reason: Optional[int], cap: int,
                   ud: Optional[int]) -> int:
        rc = _guarded(owner, "on_failover_decision", fn,
                      lambda: body(ev, pick, reason, cap),
                      _lib.VERDICT_ACCEPT)
        return int(rc)

    return _lib.DECISION_CB(trampoline)


DivergenceCallback = Callable[[_events.Divergence], Any]


def divergence_of(e: Any) -> _events.Divergence:
    """A replkv_divergence_event, copied (keys as bytes)."""
    keys: List[bytes] = []
    if e.keys and e.key_lens:
        for i in range(int(e.nkeys)):
            p = e.keys[i]
            n = int(e.key_lens[i])
            keys.append(ctypes.string_at(p, n) if p and n else b"")
    complete = (bool(e.keys_complete)
                if _size_covers(e, _lib.DivergenceEvent, "keys_complete")
                else False)
    return _events.Divergence(
        epoch=int(e.epoch),
        new_primary=_events.optional_text(e.new_primary),
        from_offset=int(e.from_offset),
        to_offset=int(e.to_offset),
        nwrites=int(e.nwrites),
        keys=keys,
        keys_complete=complete,
    )


def make_divergence_trampoline(fn: DivergenceCallback, owner: Any) -> Any:
    """A DIVERGENCE_CB that calls ``fn(divergence)`` with a
    :class:`Divergence`."""

    def body(ev: Any) -> None:
        e = ev.contents
        if not _size_covers(e, _lib.DivergenceEvent, "nkeys"):
            return
        fn(divergence_of(e))

    def trampoline(kv: Optional[int], ev: Any, ud: Optional[int]) -> None:
        _guarded(owner, "on_divergence", fn, lambda: body(ev))

    return _lib.DIVERGENCE_CB(trampoline)
