"""Python values to what the C API takes, and INFO text to a dict.

Keys: bytes or str (UTF-8), bytearray and memoryview too. Values: the same
plus int and float (their decimal text, as redis-py sends them). Times:
seconds as int, float or timedelta, milliseconds as int.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any, Dict, Optional, Union

from .errors import InvalidArgument

#: A key: bytes, or str (encoded as UTF-8); bytearray and memoryview too.
Key = Union[bytes, str, bytearray, memoryview]
#: A value: as a key, plus int and float (stored as their decimal text).
Value = Union[bytes, str, bytearray, memoryview, int, float]
#: A duration in seconds: int, float or datetime.timedelta.
Seconds = Union[int, float, datetime.timedelta]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def key_bytes(k: Any) -> bytes:
    if isinstance(k, str):
        return k.encode("utf-8")
    if isinstance(k, (bytes, bytearray, memoryview)):
        return bytes(k)
    raise TypeError(f"a key must be bytes or str, not {type(k).__name__}")


def value_bytes(v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, bool):  # before int: bool is an int
        raise TypeError("a value must be bytes, str, int or float, not bool")
    if isinstance(v, int):
        return str(v).encode("ascii")
    if isinstance(v, float):
        return repr(v).encode("ascii")
    raise TypeError(
        f"a value must be bytes, str, int or float, not {type(v).__name__}"
    )


def seconds_to_ms(s: Seconds, what: str) -> int:
    """Seconds (int, float, timedelta) to whole ms, rounding a positive
    duration up so that a tiny TTL is never 0 (= no TTL)."""
    if isinstance(s, datetime.timedelta):
        s = s.total_seconds()
    if isinstance(s, bool) or not isinstance(s, (int, float)):
        raise TypeError(f"{what} must be a number of seconds or a timedelta")
    if isinstance(s, float) and not math.isfinite(s):
        raise InvalidArgument(f"{what} must be finite")
    ms = s * 1000
    return math.ceil(ms) if ms > 0 else int(ms)


def ms_int(ms: Any, what: str) -> int:
    if isinstance(ms, datetime.timedelta):
        return seconds_to_ms(ms, what)
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise TypeError(f"{what} must be an int of milliseconds")
    return ms


def int64(n: int, what: str) -> int:
    if not INT64_MIN <= n <= INT64_MAX:
        raise InvalidArgument(f"{what} {n} is outside the signed 64-bit range")
    return n


def ttl_arg(ttl: Optional[Seconds], px: Optional[int]) -> int:
    """A positive TTL in ms from ttl (seconds) or px (ms), or 0 for none."""
    if ttl is not None and px is not None:
        raise InvalidArgument("give ttl (seconds) or px (milliseconds), not both")
    if ttl is not None:
        ms = seconds_to_ms(ttl, "ttl")
    elif px is not None:
        ms = ms_int(px, "px")
    else:
        return 0
    if ms <= 0:
        raise InvalidArgument(f"invalid expire time {ms} ms (must be > 0)")
    return int64(ms, "TTL")


def unix_ms(when: Union[int, float, datetime.datetime]) -> int:
    """Unix seconds (or a datetime) to Unix ms, rounded down."""
    if isinstance(when, datetime.datetime):
        when = when.timestamp()
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise TypeError("when must be Unix seconds or a datetime")
    if isinstance(when, float) and not math.isfinite(when):
        raise InvalidArgument("when must be finite")
    return int64(math.floor(when * 1000), "time")


def cstr(s: str, what: str) -> bytes:
    b = s.encode("utf-8")
    if b"\0" in b:
        raise InvalidArgument(f"{what} {s!r} contains a NUL character")
    return b


_INT_RE = re.compile(r"[-+]?\d+\Z")
_FLOAT_RE = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?\Z")


def _info_value(v: str) -> Union[int, float, str]:
    if _INT_RE.match(v):
        return int(v)
    if _FLOAT_RE.match(v):
        return float(v)
    return v


def parse_info(text: str) -> Dict[str, Any]:
    """Parses INFO text into one flat dict, as redis-py does.

    ``field:value`` lines become items; numbers become int or float;
    ``# Section`` headers and blank lines are skipped; a keyspace line
    ``db0:keys=1,expires=0,avg_ttl=0`` becomes
    ``{"db0": {"keys": 1, "expires": 0, "avg_ttl": 0}}``.
    """
    out: Dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        field, sep, value = line.partition(":")
        if not sep:
            continue
        if field.startswith("db") and field[2:].isdigit() and "=" in value:
            sub: Dict[str, Any] = {}
            for part in value.split(","):
                k, _, v = part.partition("=")
                sub[k] = _info_value(v)
            out[field] = sub
        else:
            out[field] = _info_value(value)
    return out
