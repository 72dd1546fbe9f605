"""Options: Python names and values to redis.conf spelling, and a reader
for redis.conf-style files.

A file is read the way Redis reads redis.conf: one directive per line,
arguments split on whitespace, double-quoted arguments with C-like escapes
(``\\n \\r \\t \\b \\a \\\\ \\" \\xHH``), single-quoted arguments with only
``\\'``, and lines whose first non-blank character is ``#`` ignored.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, List, Tuple, Union

from .errors import InvalidArgument

PathLike = Union[str, "os.PathLike[str]"]


def option_name(name: str) -> str:
    """``maxmemory_policy`` -> ``maxmemory-policy``. Sentinel's
    directives are two words: ``sentinel_monitor`` -> ``sentinel monitor``,
    ``sentinel_down_after_milliseconds`` ->
    ``sentinel down-after-milliseconds`` (as written in a config file)."""
    if not isinstance(name, str):
        raise TypeError(f"option names are str, not {type(name).__name__}")
    name = name.replace("_", "-")
    if name.lower().startswith("sentinel-"):
        name = "sentinel " + name[len("sentinel-"):]
    return name


def option_value(value: Any) -> str:
    """The redis.conf spelling of a Python value: True/False -> yes/no,
    bytes decoded as UTF-8, a tuple or list as its items joined by spaces
    (``replicaof=("10.0.0.1", 7000)`` -> ``10.0.0.1 7000``), anything else
    through str()."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    if isinstance(value, (tuple, list)):
        return " ".join(option_value(v) for v in value)
    return str(value)


class ConfigSyntaxError(Exception):
    """A line that cannot be split into arguments (internal)."""


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}
_HEX = "0123456789abcdefABCDEF"


def split_args(line: str) -> List[str]:
    """Splits a line into arguments like Redis's sdssplitargs()."""
    args: List[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        cur: List[str] = []
        if line[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise ConfigSyntaxError("unbalanced double quotes")
                c = line[i]
                if (
                    c == "\\"
                    and i + 3 < n
                    and line[i + 1] == "x"
                    and line[i + 2] in _HEX
                    and line[i + 3] in _HEX
                ):
                    cur.append(chr(int(line[i + 2 : i + 4], 16)))
                    i += 4
                elif c == "\\" and i + 1 < n:
                    cur.append(_ESCAPES.get(line[i + 1], line[i + 1]))
                    i += 2
                elif c == '"':
                    i += 1
                    if i < n and not line[i].isspace():
                        raise ConfigSyntaxError(
                            "closing quote must be followed by a space"
                        )
                    break
                else:
                    cur.append(c)
                    i += 1
        elif line[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ConfigSyntaxError("unbalanced single quotes")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur.append("'")
                    i += 2
                elif c == "'":
                    i += 1
                    if i < n and not line[i].isspace():
                        raise ConfigSyntaxError(
                            "closing quote must be followed by a space"
                        )
                    break
                else:
                    cur.append(c)
                    i += 1
        else:
            while i < n and not line[i].isspace():
                cur.append(line[i])
                i += 1
        args.append("".join(cur))


def read_config(path: PathLike) -> Iterator[Tuple[int, str, str]]:
    """Yields (line number, directive, value) for each directive of a
    redis.conf-style file. A directive with several arguments gets them
    joined by single spaces; ``sentinel <word>`` is one two-word
    directive. Raises InvalidArgument naming ``file:line`` for a line that
    cannot be parsed."""
    name = os.fspath(path)
    with open(name, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                args = split_args(line)
            except ConfigSyntaxError as e:
                raise InvalidArgument(f"{name}:{lineno}: {e}") from None
            if len(args) < 2:
                raise InvalidArgument(
                    f"{name}:{lineno}: '{args[0]}' needs a value"
                )
            if args[0].lower() == "sentinel":
                # Sentinel's directives are two words: "sentinel monitor
                # <name> <host> <port> <quorum>".
                if len(args) < 3:
                    raise InvalidArgument(
                        f"{name}:{lineno}: 'sentinel {args[1]}' needs a value"
                    )
                yield lineno, f"sentinel {args[1]}", " ".join(args[2:])
                continue
            yield lineno, args[0], " ".join(args[1:])
