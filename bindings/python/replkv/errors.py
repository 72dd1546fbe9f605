"""The exception tree: one class per ``REPLKV_E*`` code in ``replkv.h``.

Every error the library reports is raised as a subclass of
:class:`ReplkvError`, with the numeric ``code``, the C ``name``
(``"REPLKV_EINVAL"``) and the detail message that ``replkv_last_error()``
gave on the thread that made the failing call.

:data:`ERRORS` mirrors the header's ``REPLKV_ERRNO_MAP`` X-macro, row for
row; ``tests/python/test_errors.py`` parses the header and fails when the two
drift apart. To add a code: append a row here with a new class.
"""

from __future__ import annotations

import builtins
from typing import Dict, Optional, Tuple, Type

__all__ = [
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
    "ERRORS",
    "error_class",
]


class ReplkvError(Exception):
    """Base class of every error the library reports.

    Attributes:
        code: the negative ``REPLKV_E*`` value (an ``int``).
        name: the C name of the code, for example ``"REPLKV_EINVAL"``.
        message: the detail, from ``replkv_last_error()`` when the library
            gave one, else the code's generic text (``replkv_strerror()``).
    """

    code: int = 0
    name: str = "REPLKV_UNKNOWN"

    def __init__(
        self,
        message: str = "",
        code: Optional[int] = None,
        name: Optional[str] = None,
    ) -> None:
        # Only the message goes to the base classes: OSError (the base of
        # TimeoutError, ReplkvIOError, NetworkError) would read a second
        # positional argument as errno/strerror.
        super().__init__(message)
        if code is not None:
            self.code = code
        if name is not None:
            self.name = name
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keep pickling (multiprocessing) working
        return (type(self), (self.message, self.code, self.name))


class InvalidArgument(ReplkvError, ValueError):
    """REPLKV_EINVAL: a bad argument, an unknown option or a bad value."""


class OutOfMemoryError(ReplkvError, MemoryError):
    """REPLKV_ENOMEM: the library could not allocate memory."""


class NotFoundError(ReplkvError, LookupError):
    """REPLKV_ENOTFOUND: no such key (the binding usually returns None)."""


class BufferTooSmallError(ReplkvError):
    """REPLKV_ERANGE: a buffer was too small (handled inside the binding)."""


class NotIntegerError(ReplkvError, ValueError):
    """REPLKV_ENOTINT: the value is not a 64-bit decimal integer."""


class IntegerOverflowError(ReplkvError, builtins.OverflowError):
    """REPLKV_EOVERFLOW: an increment or decrement would overflow."""


class TooBigError(ReplkvError):
    """REPLKV_ETOOBIG: a key or value is longer than proto-max-bulk-len."""


class MaxMemoryError(ReplkvError):
    """REPLKV_EMAXMEMORY: over maxmemory and the policy cannot free enough."""


class ReadOnlyError(ReplkvError):
    """REPLKV_EREADONLY: the node is a replica; writes go to the primary.

    Attributes:
        primary_address: the primary as ``(host, port)``, read from the
            "host:port" that the library's detail message names, or None
            when the message names none.
    """

    def __init__(
        self,
        message: str = "",
        code: Optional[int] = None,
        name: Optional[str] = None,
        primary_address: Optional[Tuple[str, int]] = None,
    ) -> None:
        super().__init__(message, code, name)
        self.primary_address = (
            None if primary_address is None else tuple(primary_address)
        )

    def __reduce__(self):
        return (
            type(self),
            (self.message, self.code, self.name, self.primary_address),
        )


class NoReplicasError(ReplkvError):
    """REPLKV_ENOREPLICAS: not enough good replicas to accept the write."""


class NoQuorumError(ReplkvError):
    """REPLKV_ENOQUORUM: the primary cannot reach a majority of voters."""


class TimeoutError(ReplkvError, builtins.TimeoutError):  # noqa: A001
    """REPLKV_ETIMEDOUT: the operation timed out."""


class BusyError(ReplkvError):
    """REPLKV_EBUSY: the call would block the node's own thread (for
    example a blocking call, or close(), made from inside a callback)."""


class ClosedError(ReplkvError):
    """REPLKV_ECLOSED: the node is closing or closed."""


class ReplkvIOError(ReplkvError, OSError):
    """REPLKV_EIO: an input/output error (files of a persistent node)."""


class CorruptError(ReplkvError):
    """REPLKV_ECORRUPT: data on disk or on the wire is corrupt."""


class ProtocolError(ReplkvError):
    """REPLKV_EPROTO: a peer broke the replication protocol."""


class AuthError(ReplkvError):
    """REPLKV_EAUTH: authentication with a peer failed."""


class NetworkError(ReplkvError, ConnectionError):
    """REPLKV_ENET: a network error (listen, connect)."""


class VersionError(ReplkvError):
    """REPLKV_EVERSION: a peer or a file has an unsupported version."""


class NotSupportedError(ReplkvError):
    """REPLKV_ENOTSUP: not supported by this node (or this library build)."""


class StateError(ReplkvError):
    """REPLKV_ESTATE: not valid in the node's current state."""


#: (C name without the REPLKV_ prefix, value, class): the header's
#: REPLKV_ERRNO_MAP, in its order.
ERRORS: Tuple[Tuple[str, int, Type[ReplkvError]], ...] = (
    ("EINVAL", -1, InvalidArgument),
    ("ENOMEM", -2, OutOfMemoryError),
    ("ENOTFOUND", -3, NotFoundError),
    ("ERANGE", -4, BufferTooSmallError),
    ("ENOTINT", -5, NotIntegerError),
    ("EOVERFLOW", -6, IntegerOverflowError),
    ("ETOOBIG", -7, TooBigError),
    ("EMAXMEMORY", -8, MaxMemoryError),
    ("EREADONLY", -9, ReadOnlyError),
    ("ENOREPLICAS", -10, NoReplicasError),
    ("ENOQUORUM", -11, NoQuorumError),
    ("ETIMEDOUT", -12, TimeoutError),
    ("EBUSY", -13, BusyError),
    ("ECLOSED", -14, ClosedError),
    ("EIO", -15, ReplkvIOError),
    ("ECORRUPT", -16, CorruptError),
    ("EPROTO", -17, ProtocolError),
    ("EAUTH", -18, AuthError),
    ("ENET", -19, NetworkError),
    ("EVERSION", -20, VersionError),
    ("ENOTSUP", -21, NotSupportedError),
    ("ESTATE", -22, StateError),
)

_BY_CODE: Dict[int, Type[ReplkvError]] = {}
for _short, _value, _cls in ERRORS:
    _cls.code = _value
    _cls.name = "REPLKV_" + _short
    _BY_CODE[_value] = _cls
del _short, _value, _cls


def error_class(code: int) -> Type[ReplkvError]:
    """The exception class for a ``REPLKV_E*`` code (ReplkvError if unknown)."""
    return _BY_CODE.get(code, ReplkvError)
