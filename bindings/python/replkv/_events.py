"""Failover events as Python values: peer states, the candidates and the
verdict of a failover decision, and a divergence report.

The callbacks that receive them are set on :class:`replkv.Node`
(``on_peer_state``, ``on_failover_decision``, ``on_divergence``); the
trampolines that build them from the C events live in ``_callbacks``.

A decision callback answers with a verdict::

    def decide(epoch, candidates):
        if in_maintenance_window():
            return replkv.veto("maintenance window until 02:00")
        eu = [c for c in candidates if c.host.startswith("10.1.")]
        return replkv.pick(eu[0]) if eu else replkv.accept()

``replkv.accept()``, ``replkv.pick(candidate or index)`` and
``replkv.veto(reason)`` make a :class:`Verdict`; plain values work too
(see :func:`verdict_of`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, List, NamedTuple, Optional, Tuple, Union

__all__ = [
    "PeerState",
    "Candidate",
    "Verdict",
    "accept",
    "pick",
    "veto",
    "verdict_of",
    "Divergence",
]

Address = Tuple[str, int]


class PeerState(str, enum.Enum):
    """replkv_peer_state. A str, so ``state == "sdown"`` works too."""

    UP = "up"  #: heard within down-after-milliseconds
    SDOWN = "sdown"  #: this node has not heard it for that long
    ODOWN = "odown"  #: the primary, and quorum nodes agree it is down
    NEW = "new"  #: first heard of (directly or through gossip)
    FORGOTTEN = "forgotten"  #: removed for good (Node.forget())

    def __str__(self) -> str:
        return self.value


_PEER_STATES = {
    1: PeerState.UP,
    2: PeerState.SDOWN,
    3: PeerState.ODOWN,
    4: PeerState.NEW,
    5: PeerState.FORGOTTEN,
}


def peer_state(value: int) -> Union[PeerState, int]:
    """The PeerState for a replkv_peer_state (an unknown value, from a
    newer library, is passed on as its int)."""
    return _PEER_STATES.get(value, value)


@dataclass(frozen=True)
class Candidate:
    """A replica that a failover may promote (replkv_candidate).

    Candidates come ranked as Sentinel ranks them (lowest
    replica-priority, then highest offset, then smallest node id);
    ``index`` is the position in that ranking, 0 the best.
    """

    index: int
    node_id: str  #: 40 hex characters
    host: str  #: its peer address
    port: int
    priority: int  #: replica-priority
    offset: int  #: replication offset it reported

    @property
    def address(self) -> Address:
        """(host, port): its peer address."""
        return self.host, self.port


class Verdict(NamedTuple):
    """The answer to a failover decision: ``kind`` is "accept" (promote
    the best candidate), "pick" (promote candidates[index]) or "veto" (no
    failover now: the cluster retries in a new epoch). ``reason`` goes to
    the node's log with the verdict."""

    kind: str
    index: int = 0
    reason: str = ""


def accept(reason: str = "") -> Verdict:
    """Promote the best-ranked candidate (what happens without a decision
    callback)."""
    return Verdict("accept", 0, _reason(reason))


def pick(candidate: Union[Candidate, int], reason: str = "") -> Verdict:
    """Promote this candidate instead: a :class:`Candidate` of the list
    the callback got, or its index in that list."""
    if isinstance(candidate, Candidate):
        index = candidate.index
    elif isinstance(candidate, int) and not isinstance(candidate, bool):
        index = candidate
    else:
        raise TypeError(
            "pick() takes a Candidate or an index, not "
            f"{type(candidate).__name__}"
        )
    if index < 0:
        raise ValueError(f"pick(): index must be >= 0, not {index}")
    return Verdict("pick", index, _reason(reason))


def veto(reason: str = "") -> Verdict:
    """No failover now; the reason is logged by the node. The cluster
    retries in a new epoch (after failover-timeout)."""
    return Verdict("veto", 0, _reason(reason))


def _reason(reason: Any) -> str:
    if not isinstance(reason, str):
        raise TypeError(f"a reason is a str, not {type(reason).__name__}")
    return reason


#: What False means.
DECLINED = "declined by the application's decision callback"


def verdict_of(result: Any, ncandidates: int) -> Verdict:
    """The Verdict for what a decision callback returned:

    * ``None``, ``True``, ``"accept"``, :func:`accept` -> accept;
    * ``False`` -> veto (reason :data:`DECLINED`), ``"veto"`` or
      :func:`veto` -> veto;
    * a :class:`Candidate` or :func:`pick` -> pick it;
    * a tuple spelled like a Verdict: ``("accept",)``,
      ``("accept", reason)``, ``("pick", index)``,
      ``("pick", index, reason)``, ``("veto", reason)``.

    Raises TypeError or ValueError for anything else, or a pick outside
    the candidates (the trampoline then logs it and accepts).
    """
    if result is None or result is True:
        return accept()
    if result is False:
        return veto(DECLINED)
    if isinstance(result, Verdict):
        v = result
    elif isinstance(result, Candidate):
        v = pick(result)
    elif isinstance(result, str):
        if result not in ("accept", "veto"):
            raise ValueError(
                f"a decision callback returned {result!r}; expected "
                "accept(), pick(candidate) or veto(reason)"
            )
        v = Verdict(result)
    elif isinstance(result, tuple) and result and isinstance(result[0], str):
        v = _verdict_tuple(result)
    else:
        raise TypeError(
            "a decision callback returned "
            f"{type(result).__name__} {result!r}; expected accept(), "
            "pick(candidate) or veto(reason)"
        )
    if v.kind == "pick" and not 0 <= v.index < ncandidates:
        raise ValueError(
            f"a decision callback picked candidate {v.index} of "
            f"{ncandidates}"
        )
    return v


def _verdict_tuple(t: Tuple[Any, ...]) -> Verdict:
    kind, rest = t[0], t[1:]
    if kind == "accept" and len(rest) <= 1:
        return accept(*rest)
    if kind == "veto" and len(rest) <= 1:
        return veto(*rest)
    if kind == "pick" and 1 <= len(rest) <= 2:
        return pick(*rest)
    raise ValueError(
        f"a decision callback returned {t!r}; expected ('accept',), "
        "('pick', index) or ('veto', reason)"
    )


@dataclass(frozen=True)
class Divergence:
    """Writes this node took as a primary that the cluster's new primary
    never received (replkv_divergence_event): they were discarded when the
    node rejoined as a replica.

    ``keys`` are the keys those writes touched, as bytes: all of them when
    ``keys_complete``, else those this node's backlog still held.
    """

    epoch: int  #: the configuration epoch that replaced this node
    new_primary: str  #: node id of the new primary
    from_offset: int  #: the lost stream range is [from_offset, to_offset)
    to_offset: int
    nwrites: int  #: records in the range (0 when unknown)
    keys: List[bytes] = field(default_factory=list)
    keys_complete: bool = False

    @property
    def lost_bytes(self) -> int:
        """Bytes of replication stream lost (to_offset - from_offset)."""
        return max(0, self.to_offset - self.from_offset)


def optional_text(raw: Optional[bytes]) -> str:
    """A C string (NULL -> "") as str."""
    return raw.decode("utf-8", "replace") if raw else ""
