"""Network partitions between nodes of one process, with TCP proxies.

Each node binds a back address (127.0.0.2:port) and announces a front one
(replica-announce-ip 127.0.0.3, same port), where a NodeProxy forwards to
it; so every link between two nodes goes through the proxy of the node
dialled. The proxy tells who dials by the first frame the dialer sends,
its HELLO (docs/PROTOCOL.md sections 1 and 5): ``[64, version, node_id,
nonce, listen_port, flags]``, listen_port being the dialer's port.

Partition.isolate(port) then cuts a node off from every other: the
connections to it and from it are closed, and new ones are refused, until
heal().
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import List, Optional, Set, Tuple

FRONT = "127.0.0.3"  # what nodes announce; the proxies listen here
BACK = "127.0.0.2"  # what nodes bind


def _uint(data: bytes, i: int) -> Tuple[int, int]:
    """A msgpack unsigned integer at data[i]: (value, next index)."""
    b = data[i]
    if b <= 0x7F:
        return b, i + 1
    sizes = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}
    n = sizes[b]
    return int.from_bytes(data[i + 1:i + 1 + n], "big"), i + 1 + n


def _skip(data: bytes, i: int) -> int:
    """The index after the msgpack int, str or bin at data[i]."""
    b = data[i]
    if b <= 0x7F or 0xE0 <= b:
        return i + 1
    if b in (0xCC, 0xCD, 0xCE, 0xCF, 0xD0, 0xD1, 0xD2, 0xD3):
        return i + 1 + (1 << ((b - 0xCC) % 4))
    if 0xA0 <= b <= 0xBF:
        return i + 1 + (b & 0x1F)
    lens = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}
    n = lens[b]
    size = int.from_bytes(data[i + 1:i + 1 + n], "big")
    return i + 1 + n + size


def hello_listen_port(payload: bytes) -> Optional[int]:
    """listen_port of a HELLO payload, or None if it is not one."""
    try:
        b = payload[0]
        if 0x90 <= b <= 0x9F:
            count, i = b & 0x0F, 1
        elif b == 0xDC:
            count, i = struct.unpack(">H", payload[1:3])[0], 3
        else:
            return None
        if count < 5:
            return None
        kind, i = _uint(payload, i)
        if kind != 64:
            return None
        for _ in range(3):  # version, node_id, nonce
            i = _skip(payload, i)
        port, _ = _uint(payload, i)
        return port
    except (IndexError, KeyError, struct.error):
        return None


def _recv_exact(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise OSError("closed")
        out += chunk
    return out


class Partition:
    """Which nodes (by port) are cut off, and the proxied connections."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.blocked: Set[int] = set()
        # (dialer's port or None, dialled port, [sockets])
        self.conns: List[Tuple[Optional[int], int, List[socket.socket]]] = []

    def allowed(self, dialer: Optional[int], target: int) -> bool:
        with self.lock:
            return target not in self.blocked and dialer not in self.blocked

    def add(self, dialer: Optional[int], target: int,
            socks: List[socket.socket]) -> bool:
        with self.lock:
            if target in self.blocked or dialer in self.blocked:
                return False
            self.conns.append((dialer, target, socks))
            return True

    def isolate(self, port: int) -> None:
        """Cuts the node listening on port off from every other node."""
        with self.lock:
            self.blocked.add(port)
            keep = []
            for dialer, target, socks in self.conns:
                if port in (dialer, target):
                    _close(socks)
                else:
                    keep.append((dialer, target, socks))
            self.conns = keep

    def heal(self) -> None:
        with self.lock:
            self.blocked.clear()

    def close(self) -> None:
        with self.lock:
            for _, _, socks in self.conns:
                _close(socks)
            self.conns = []


def _close(socks: List[socket.socket]) -> None:
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass


class NodeProxy:
    """Forwards FRONT:port to BACK:port under a Partition."""

    def __init__(self, partition: Partition, port: int) -> None:
        self.partition = partition
        self.port = port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((FRONT, port))
        self.sock.listen(64)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        up: Optional[socket.socket] = None
        try:
            c.settimeout(5.0)
            head = _recv_exact(c, 12)
            length = struct.unpack(">I", head[:4])[0]
            if length > 4096:
                raise OSError("first frame too long for a HELLO")
            payload = _recv_exact(c, length)
            c.settimeout(None)
            dialer = hello_listen_port(payload)
            if not self.partition.allowed(dialer, self.port):
                raise OSError("partitioned")
            up = socket.create_connection((BACK, self.port), 5)
            if not self.partition.add(dialer, self.port, [c, up]):
                raise OSError("partitioned")
            up.sendall(head + payload)
        except OSError:
            _close([c] + ([up] if up is not None else []))
            return
        threading.Thread(target=_pipe, args=(up, c), daemon=True).start()
        _pipe(c, up)

    def close(self) -> None:
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    _close([a, b])


def loopback_aliases_work() -> bool:
    """True if FRONT and BACK can be bound (Linux routes all of
    127.0.0.0/8 to lo; some sandboxes do not)."""
    for host in (FRONT, BACK):
        try:
            with socket.socket() as s:
                s.bind((host, 0))
        except OSError:
            return False
    return True
