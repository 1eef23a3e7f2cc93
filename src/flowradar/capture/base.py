"""The Source seam: sources yield batches of packets, never one Python object per packet.

A :class:`PacketBatch` is one buffer plus a packed index of the packets in it. Each index entry is
``INDEX_FORMAT`` (32 bytes, little endian): offset of the packet in ``data``, capture time in
nanoseconds, captured length, length on the wire, link type (pcap LINKTYPE_* value), padding.
The compiled engine reads the index directly.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

INDEX_FORMAT = "<qqIIiI"
"""offset, ts_ns, caplen, wirelen, linktype, pad."""
INDEX_ENTRY = struct.Struct(INDEX_FORMAT)
INDEX_SIZE = INDEX_ENTRY.size

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276


@dataclass(slots=True)
class PacketBatch:
    """A run of packets sharing one buffer."""

    data: bytes | bytearray
    """Buffer holding the packets' bytes."""
    index: bytes
    """Packed INDEX_FORMAT entries, one per packet."""
    count: int
    """Number of packets in the batch."""


@dataclass(slots=True)
class SourceStats:
    """What a source has read so far, and what went wrong."""

    packets: int = 0
    bytes: int = 0
    kernel_drops: int = 0
    interface_drops: int = 0
    warnings: list[str] = field(default_factory=list)


class PacketSource(Protocol):
    """Yields packet batches until the input ends (or the source is stopped)."""

    stats: SourceStats

    def batches(self) -> Iterator[PacketBatch]:
        """Yield batches in capture order."""
        ...

    def close(self) -> None:
        """Release the underlying file or socket."""
        ...


class SourceError(Exception):
    """The input cannot be read at all (one line, shown to the user as is)."""


def pack_index(entries: list[tuple[int, int, int, int, int]]) -> bytes:
    """Pack (offset, ts_ns, caplen, wirelen, linktype) tuples into an index buffer."""
    return b"".join(INDEX_ENTRY.pack(o, t, c, w, lt, 0) for o, t, c, w, lt in entries)
