"""IPv4 and IPv6 fragment reassembly, bounded in datagrams, fragments, bytes and time.

The compiled decoder hands every fragment here; a complete datagram is rebuilt as one unfragmented
IP packet and fed back to the flow table (``process_ip``), so the flow is keyed and dissected on the
reassembled datagram, as tshark does. Fragments that never complete create no flow.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

_MAX_DATAGRAM = 65535
_MAX_PIECES = 128
_TIMEOUT_NS = 30_000_000_000
_EXT_HEADERS = frozenset((0, 43, 60, 135, 139, 140))


@dataclass(slots=True)
class _Pending:
    header: bytes  # header of the rebuilt datagram (fragment fields cleared later)
    version: int
    next_header: int
    first_ts: int
    vlan: int
    pieces: dict[int, bytes] = field(default_factory=dict)
    total: int | None = None  # length of the payload once the last fragment is seen
    wire: int = 0
    count: int = 0


@dataclass(slots=True)
class Reassembled:
    """A complete datagram ready for the flow table."""

    packet: bytes
    ts_ns: int
    wire_bytes: int
    fragments: int
    vlan: int


class Reassembler:
    """Collects fragments by (version, source, destination, id, protocol)."""

    def __init__(self, max_datagrams: int = 4096) -> None:
        self._pending: dict[tuple[int, bytes, bytes, int, int], _Pending] = {}
        self._max = max_datagrams
        self.dropped = 0
        """Datagrams given up (timeout, overflow, inconsistent fragments)."""

    def add(self, ts_ns: int, packet: bytes, wire_len: int, vlan: int) -> Reassembled | None:
        """Add one fragment (an IP packet starting at its header); return the datagram when complete."""
        self._expire(ts_ns)
        parsed = _parse_v4(packet) if packet[:1] and packet[0] >> 4 == 4 else _parse_v6(packet)
        if parsed is None:
            self.dropped += 1
            return None
        key, header, next_header, offset, more, data = parsed
        entry = self._pending.get(key)
        if entry is None:
            if len(self._pending) >= self._max:
                self._pending.pop(next(iter(self._pending)))
                self.dropped += 1
            entry = _Pending(header, key[0], next_header, ts_ns, vlan)
            self._pending[key] = entry
        if offset == 0:
            entry.header, entry.next_header = header, next_header
        entry.count += 1
        entry.wire += wire_len
        if len(entry.pieces) >= _MAX_PIECES or offset + len(data) > _MAX_DATAGRAM:
            del self._pending[key]
            self.dropped += 1
            return None
        entry.pieces.setdefault(offset, data)
        if not more:
            entry.total = offset + len(data)
        return self._complete(key, entry, ts_ns)

    def _complete(
        self, key: tuple[int, bytes, bytes, int, int], e: _Pending, ts_ns: int
    ) -> Reassembled | None:
        if e.total is None or 0 not in e.pieces:
            return None
        buf = bytearray(e.total)
        covered = 0
        for off in sorted(e.pieces):
            piece = e.pieces[off]
            if off > covered:
                return None
            end = min(off + len(piece), e.total)
            buf[off:end] = piece[: end - off]
            covered = max(covered, end)
        if covered < e.total:
            return None
        del self._pending[key]
        return Reassembled(_rebuild(e, bytes(buf)), ts_ns, e.wire, e.count, e.vlan)

    def _expire(self, now: int) -> None:
        while self._pending:
            key = next(iter(self._pending))
            if now - self._pending[key].first_ts <= _TIMEOUT_NS:
                break
            del self._pending[key]
            self.dropped += 1


def _rebuild(e: _Pending, payload: bytes) -> bytes:
    if e.version == 4:
        h = bytearray(e.header)
        struct.pack_into("!H", h, 2, len(h) + len(payload))
        struct.pack_into("!H", h, 6, 0)
        return bytes(h) + payload
    h = bytearray(e.header[:40])
    h[6] = e.next_header
    struct.pack_into("!H", h, 4, len(payload))
    return bytes(h) + payload


def _parse_v4(p: bytes) -> tuple[tuple[int, bytes, bytes, int, int], bytes, int, int, bool, bytes] | None:
    if len(p) < 20:
        return None
    ihl = (p[0] & 15) * 4
    total = int.from_bytes(p[2:4], "big")
    if ihl < 20 or len(p) < ihl:
        return None
    end = min(total, len(p)) if total >= ihl else len(p)
    fo = int.from_bytes(p[6:8], "big")
    key = (4, p[12:16], p[16:20], int.from_bytes(p[4:6], "big"), p[9])
    return key, p[:ihl], p[9], (fo & 0x1FFF) * 8, bool(fo & 0x2000), p[ihl:end]


def _parse_v6(p: bytes) -> tuple[tuple[int, bytes, bytes, int, int], bytes, int, int, bool, bytes] | None:
    if len(p) < 48 or p[0] >> 4 != 6:
        return None
    end = min(40 + int.from_bytes(p[4:6], "big"), len(p))
    nh, o = p[6], 40
    for _ in range(12):
        if nh == 44:
            if o + 8 > end:
                return None
            frag = p[o : o + 8]
            off = int.from_bytes(frag[2:4], "big")
            key = (6, p[8:24], p[24:40], int.from_bytes(frag[4:8], "big"), frag[0])
            return key, p[:40], frag[0], off & 0xFFF8, bool(off & 1), p[o + 8 : end]
        if nh not in _EXT_HEADERS or o + 8 > end:
            return None
        nh, o = p[o], o + (p[o + 1] + 1) * 8
    return None
