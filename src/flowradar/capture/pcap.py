"""Classic pcap: file header parsing and record indexing (the compiled fast path plus its edge cases).

Also holds what pcap and pcapng share: the result of indexing one chunk (:class:`Indexed`), the
largest plausible captured length per link type and the warning for link types the engine does not
decode.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

import flowradar.engine._fastpath as _fastpath
from flowradar.capture.base import (
    INDEX_ENTRY,
    INDEX_SIZE,
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)

PCAP_USEC_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}
"""First four bytes of a microsecond pcap, by byte order of the file."""
PCAP_NSEC_MAGICS = {b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
"""First four bytes of a nanosecond pcap, by byte order of the file."""
PCAP_HEADER_SIZE = 24
RECORD_HEADER_SIZE = 16

SUPPORTED_LINKTYPES = frozenset(
    {
        LINKTYPE_NULL,
        LINKTYPE_ETHERNET,
        LINKTYPE_RAW,
        12,
        14,
        LINKTYPE_LOOP,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
        LINKTYPE_LINUX_SLL2,
    }
)
"""Link types the engine decodes (12 and 14 are raw IP under their BSD DLT numbers)."""

MAX_CAPLEN = 262144
"""Largest captured length accepted for ordinary link types (Wireshark's and libpcap's limit)."""
MAX_CAPLEN_LARGE = 0x4000000
"""Largest captured length for the link types that allow huge packets (USB, D-Bus, EBHSCR)."""
_LARGE_LINKTYPES = frozenset({186, 189, 220, 231, 249, 266, 279})

Warn = Callable[[str], None]


@dataclass(slots=True, frozen=True)
class Indexed:
    """The outcome of indexing one chunk of a capture."""

    index: bytes
    """Packed INDEX_FORMAT entries, offsets relative to the chunk."""
    count: int
    """Packets indexed."""
    payload: int
    """Captured bytes of those packets."""
    end: int
    """Offset in the chunk where indexing stopped (the unconsumed tail starts here)."""
    need: int
    """Bytes from ``end`` needed before the next packet or block can be indexed."""
    problem: str | None = None
    """Why reading must stop at ``end`` (corrupt input), or None."""


def max_caplen(linktype: int) -> int:
    """The largest captured length that is plausible for a link type."""
    return MAX_CAPLEN_LARGE if linktype in _LARGE_LINKTYPES else MAX_CAPLEN


class LinktypeWarnings:
    """Warns once per link type that the engine does not decode."""

    def __init__(self, warn: Warn) -> None:
        self._warn = warn
        self._seen: set[int] = set()

    def check(self, linktype: int) -> None:
        """Record ``linktype`` as used; warn the first time if it is not decoded."""
        if linktype in SUPPORTED_LINKTYPES or linktype in self._seen:
            return
        self._seen.add(linktype)
        self._warn(f"link type {linktype} is not decoded: its packets are counted as non-IP")


def _first_oversized(index: bytes, limit: int) -> int | None:
    """Position of the first index entry whose captured length exceeds ``limit``."""
    caplens = np.frombuffer(index, dtype="<u4")[4 :: INDEX_SIZE // 4]
    hits = np.flatnonzero(caplens > limit)
    return int(hits[0]) if hits.size else None


class PcapIndexer:
    """Indexes the packet records of a classic pcap file, chunk by chunk."""

    unit = "packet record"

    def __init__(self, header: bytes, warn: Warn) -> None:
        """Parse the 24-byte file header; raise ValueError if it is not usable."""
        magic = header[:4]
        self.nsec = magic in PCAP_NSEC_MAGICS
        order = PCAP_NSEC_MAGICS.get(magic) or PCAP_USEC_MAGICS.get(magic)
        if order is None or len(header) < PCAP_HEADER_SIZE:
            raise ValueError("not a pcap file header")
        major, minor, _zone, _sigfigs, _snaplen, network = struct.unpack_from(order + "HHiIII", header, 4)
        if major < 2:
            raise ValueError(f"unsupported pcap version {major}.{minor}")
        self.swapped = order == ">"
        self.linktype = network & 0xFFFF
        self._limit = max_caplen(self.linktype)
        self._record = struct.Struct(order + "IIII")
        self._frac_ns = 1 if self.nsec else 1000
        # Versions before 2.3 wrote captured and original length the other way round; 2.3 files
        # may have either order (libpcap and Wireshark read them the same way).
        self._legacy = major == 2 and minor <= 3
        self._swap_always = major == 2 and minor < 3
        LinktypeWarnings(warn).check(self.linktype)

    def index(self, buf: bytes | bytearray) -> Indexed:
        """Index the complete records in ``buf``, which starts at a record boundary."""
        parts: list[bytes] = []
        count = payload = pos = 0
        while True:
            if not self._legacy:
                pos, n, size = self._fast(buf, pos, parts)
                count += n
                payload += size
            step = self._one(buf, pos)
            if isinstance(step, Indexed):
                return replace(step, index=b"".join(parts), count=count, payload=payload)
            entry, size = step
            parts.append(entry)
            count += 1
            payload += size
            pos += RECORD_HEADER_SIZE + size

    def _fast(self, buf: bytes | bytearray, pos: int, parts: list[bytes]) -> tuple[int, int, int]:
        """Index with the compiled loop from ``pos``; return (stop offset, packets, captured bytes)."""
        index, n, end, _bad = _fastpath.index_pcap(buf, pos, self.swapped, self.nsec, self.linktype)
        if n:
            cut = _first_oversized(index, self._limit)
            if cut is not None:
                (end,) = struct.unpack_from("<q", index, cut * INDEX_SIZE)
                end -= RECORD_HEADER_SIZE
                index, n = index[: cut * INDEX_SIZE], cut
            parts.append(index)
        return end, n, end - pos - RECORD_HEADER_SIZE * n

    def _one(self, buf: bytes | bytearray, pos: int) -> tuple[bytes, int] | Indexed:
        """Index the one record at ``pos`` in Python: its (entry, caplen), or where and why to stop.

        The compiled loop stops at records it finds implausible; Wireshark still reads a record whose
        fraction of a second is out of range, so only the captured length decides here.
        """
        avail = len(buf) - pos
        if avail < RECORD_HEADER_SIZE:
            return Indexed(b"", 0, 0, pos, RECORD_HEADER_SIZE)
        sec, frac, caplen, wirelen = self._record.unpack_from(buf, pos)
        if self._swap_always or (self._legacy and caplen > wirelen):
            caplen, wirelen = wirelen, caplen
        if caplen > self._limit:
            why = f"bogus packet record length {caplen}"
            return Indexed(b"", 0, 0, pos, RECORD_HEADER_SIZE, why)
        if avail < RECORD_HEADER_SIZE + caplen:
            return Indexed(b"", 0, 0, pos, RECORD_HEADER_SIZE + caplen)
        ts = sec * 1_000_000_000 + frac * self._frac_ns
        entry = INDEX_ENTRY.pack(pos + RECORD_HEADER_SIZE, ts, caplen, wirelen, self.linktype, 0)
        return entry, caplen
