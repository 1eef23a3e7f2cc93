"""In-order reassembly of one direction of a TCP stream, bounded in memory.

Dissectors that parse messages spanning segments (TLS records, HTTP headers, DNS over TCP) keep one
:class:`TcpStream` per direction. Segments may arrive out of order or repeated; bytes are released in
sequence order. Only the first ``limit`` bytes of a stream are ever kept.
"""

from __future__ import annotations

_MOD = 1 << 32


class TcpStream:
    """Reassembles the payload of one TCP direction, starting at the first segment's sequence number."""

    __slots__ = ("_base", "_buf", "_limit", "_next", "_pending", "overflow")

    def __init__(self, limit: int = 65536) -> None:
        self._base: int | None = None
        self._next = 0  # relative sequence number of the next byte expected
        self._buf = bytearray()
        self._pending: dict[int, bytes] = {}
        self._limit = limit
        self.overflow = False
        """True once the stream went past ``limit`` bytes (later bytes are dropped)."""

    def add(self, seq: int, payload: bytes) -> None:
        """Add a segment; in-sequence bytes become readable via :attr:`data`."""
        if not payload:
            return
        if self._base is None:
            self._base = seq
        rel = (seq - self._base) % _MOD
        if rel > _MOD // 2:  # before the first byte we saw: keep only the new part
            cut = _MOD - rel
            if cut >= len(payload):
                return
            payload, rel = payload[cut:], 0
        if rel > self._next:
            if len(self._pending) < 64 and rel - self._next < self._limit:
                self._pending[rel] = payload
            return
        self._append(payload[self._next - rel :])
        while self._pending:
            ready = [r for r in self._pending if r <= self._next]
            if not ready:
                break
            for r in ready:
                chunk = self._pending.pop(r)
                if r + len(chunk) > self._next:
                    self._append(chunk[self._next - r :])

    def _append(self, chunk: bytes) -> None:
        room = self._limit - len(self._buf)
        if len(chunk) > room:
            chunk = chunk[:room]
            self.overflow = True
        self._buf += chunk
        self._next += len(chunk)

    @property
    def data(self) -> bytearray:
        """Bytes reassembled so far that have not been consumed."""
        return self._buf

    def consume(self, n: int) -> None:
        """Drop the first ``n`` readable bytes (a parsed message)."""
        del self._buf[:n]
        self._limit -= n  # the limit bounds the whole stream, not just what is buffered
