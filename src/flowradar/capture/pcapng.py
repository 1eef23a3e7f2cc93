"""pcapng: block parsing and packet indexing, chunk by chunk, in either byte order.

Handles several sections, per-interface link types, ``if_tsresol`` (power of 10 or of 2) and
``if_tsoffset``, Enhanced, Simple and obsolete Packet Blocks; every other block is skipped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from flowradar.capture.base import INDEX_ENTRY
from flowradar.capture.pcap import Indexed, LinktypeWarnings, Warn, max_caplen

SHB_MAGIC = b"\x0a\x0d\x0d\x0a"
"""Block type of a Section Header Block, the first four bytes of a pcapng file."""
BYTE_ORDER = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
"""Byte-order magic of a section, as stored, to struct byte order."""
MIN_BLOCK = 12
"""Block type, total length and trailing total length."""
MIN_SHB = 28
MAX_BLOCK = 0x4000000 + 64
"""Longer blocks are taken as corrupt (the largest plausible packet plus its block fields)."""

_IDB, _PB, _SPB, _EPB, _SHB = 1, 2, 3, 6, 0x0A0D0D0A
_OPT_TSRESOL, _OPT_TSOFFSET = 9, 14
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


@dataclass(slots=True)
class _Interface:
    """What one Interface Description Block says about its packets."""

    linktype: int
    snaplen: int
    limit: int
    ts_mul: int = 1000
    ts_div: int = 1
    offset_ns: int = 0

    def ts_ns(self, ticks: int) -> int:
        """A timestamp in the interface's units as nanoseconds since the epoch (clamped to int64)."""
        ns = ticks * self.ts_mul // self.ts_div + self.offset_ns
        return min(max(ns, _INT64_MIN), _INT64_MAX)

    def set_resolution(self, code: int) -> None:
        """Apply an ``if_tsresol`` value: 10**-n seconds, or 2**-n when the top bit is set."""
        exp = code & 0x7F
        if code & 0x80:
            self.ts_mul, self.ts_div = 1_000_000_000, 1 << exp
        elif exp <= 9:
            self.ts_mul, self.ts_div = 10 ** (9 - exp), 1
        else:
            self.ts_mul, self.ts_div = 1, 10 ** (exp - 9)


class PcapngIndexer:
    """Indexes the packets of a pcapng stream; ``index`` is called on consecutive chunks."""

    unit = "block"

    def __init__(self, warn: Warn) -> None:
        self._order = "<"
        self._interfaces: list[_Interface] = []
        self._last_ts = 0
        self._payload = 0
        self._linktypes = LinktypeWarnings(warn)
        self._head_struct = struct.Struct("<II")
        self._word = struct.Struct("<I")
        self._epb = struct.Struct("<IIIII")
        self._epb_run = struct.Struct("<IIIIIII")

    def index(self, buf: bytes | bytearray) -> Indexed:
        """Index the complete blocks in ``buf``, which starts at a block boundary."""
        entries: list[bytes] = []
        self._payload = pos = 0
        while True:
            pos = self._packet_run(buf, pos, entries)
            avail = len(buf) - pos
            if avail < MIN_BLOCK:
                return self._result(entries, pos, MIN_BLOCK)
            if buf[pos : pos + 4] == SHB_MAGIC:
                problem = self._set_order(buf, pos)
                if problem is not None:
                    return self._result(entries, pos, MIN_BLOCK, problem)
            btype, length = self._head_struct.unpack_from(buf, pos)
            if length < MIN_BLOCK or length % 4 or length > MAX_BLOCK:
                return self._result(entries, pos, MIN_BLOCK, f"bad block length {length}")
            if avail < length:
                return self._result(entries, pos, length)
            problem = self._block(buf, pos, btype, length, entries)
            if problem is not None:
                return self._result(entries, pos, length, problem)
            pos += length

    def _result(self, entries: list[bytes], pos: int, need: int, problem: str | None = None) -> Indexed:
        return Indexed(b"".join(entries), len(entries), self._payload, pos, need, problem)

    def _set_order(self, buf: bytes | bytearray, pos: int) -> str | None:
        """Take the byte order of the section whose header block starts at ``pos``."""
        order = BYTE_ORDER.get(bytes(buf[pos + 8 : pos + 12]))
        if order is None:
            return "bad byte-order magic in a section header"
        self._order = order
        self._head_struct = struct.Struct(order + "II")
        self._word = struct.Struct(order + "I")
        self._epb = struct.Struct(order + "IIIII")
        self._epb_run = struct.Struct(order + "IIIIIII")
        return None

    def _packet_run(self, buf: bytes | bytearray, pos: int, entries: list[bytes]) -> int:
        """Index the run of ordinary Enhanced Packet Blocks starting at ``pos``; return where it ends.

        The common case, kept tight; any block that is not a plain, complete, valid EPB ends the run
        and goes through the general path (which also words the problem, if any).
        """
        head, word, interfaces, pack = self._epb_run, self._word, self._interfaces, INDEX_ENTRY.pack
        end, payload, last_ts = len(buf), 0, self._last_ts
        while pos + 28 <= end:
            btype, length, ifid, high, low, caplen, wirelen = head.unpack_from(buf, pos)
            if btype != _EPB or ifid >= len(interfaces) or caplen > length - 32 or length > end - pos:
                break
            iface = interfaces[ifid]
            if length % 4 or length > MAX_BLOCK or caplen > iface.limit:
                break
            if word.unpack_from(buf, pos + length - 4)[0] != length:
                break
            last_ts = iface.ts_ns((high << 32) | low)
            entries.append(pack(pos + 28, last_ts, caplen, wirelen, iface.linktype, 0))
            payload += caplen
            pos += length
        self._last_ts = last_ts
        self._payload += payload
        return pos

    def _block(
        self, buf: bytes | bytearray, pos: int, btype: int, length: int, entries: list[bytes]
    ) -> str | None:
        """Handle one complete block; return why reading must stop, or None."""
        (trailer,) = self._word.unpack_from(buf, pos + length - 4)
        if trailer != length:
            return f"block length {length} does not match its trailing copy {trailer}"
        if btype == _EPB:
            return self._enhanced(buf, pos, length, entries)
        if btype == _SPB:
            return self._simple(buf, pos, length, entries)
        if btype == _IDB:
            return self._interface(buf, pos, length)
        if btype == _SHB:
            return self._section(buf, pos, length)
        if btype == _PB:
            return self._obsolete(buf, pos, length, entries)
        return None

    # ------------------------------------------------------------------ block types

    def _section(self, buf: bytes | bytearray, pos: int, length: int) -> str | None:
        if length < MIN_SHB:
            return "section header block too short"
        major, minor = struct.unpack_from(self._order + "HH", buf, pos + 12)
        if major != 1:
            return f"unsupported pcapng version {major}.{minor}"
        self._interfaces = []
        return None

    def _interface(self, buf: bytes | bytearray, pos: int, length: int) -> str | None:
        if length < 20:
            return "interface description block too short"
        linktype, _reserved, snaplen = struct.unpack_from(self._order + "HHI", buf, pos + 8)
        iface = _Interface(linktype, snaplen, max_caplen(linktype))
        for code, off, size in self._options(buf, pos + 16, pos + length - 4):
            if code == _OPT_TSRESOL and size >= 1:
                iface.set_resolution(buf[off])
            elif code == _OPT_TSOFFSET and size >= 8:
                (seconds,) = struct.unpack_from(self._order + "q", buf, off)
                iface.offset_ns = seconds * 1_000_000_000
        self._interfaces.append(iface)
        self._linktypes.check(linktype)
        return None

    def _enhanced(self, buf: bytes | bytearray, pos: int, length: int, entries: list[bytes]) -> str | None:
        if length < 32:
            return "enhanced packet block too short"
        ifid, high, low, caplen, wirelen = self._epb.unpack_from(buf, pos + 8)
        return self._packet(entries, ifid, pos + 28, length - 32, (high << 32) | low, caplen, wirelen)

    def _obsolete(self, buf: bytes | bytearray, pos: int, length: int, entries: list[bytes]) -> str | None:
        if length < 32:
            return "packet block too short"
        ifid, _drops, high, low, caplen, wirelen = struct.unpack_from(self._order + "HHIIII", buf, pos + 8)
        return self._packet(entries, ifid, pos + 28, length - 32, (high << 32) | low, caplen, wirelen)

    def _simple(self, buf: bytes | bytearray, pos: int, length: int, entries: list[bytes]) -> str | None:
        if length < 16:
            return "simple packet block too short"
        if not self._interfaces:
            return "simple packet block before any interface description"
        (wirelen,) = struct.unpack_from(self._order + "I", buf, pos + 8)
        snaplen = self._interfaces[0].snaplen or wirelen
        caplen = min(wirelen, snaplen, length - 16)
        return self._packet(entries, 0, pos + 12, length - 16, None, caplen, wirelen)

    def _packet(
        self,
        entries: list[bytes],
        ifid: int,
        offset: int,
        room: int,
        ticks: int | None,
        caplen: int,
        wirelen: int,
    ) -> str | None:
        """Index one packet of interface ``ifid`` at ``offset`` (``room`` bytes available there);
        ``ticks`` None means no timestamp (the previous packet's is used)."""
        if ifid >= len(self._interfaces):
            return f"packet of undeclared interface {ifid}"
        iface = self._interfaces[ifid]
        if caplen > iface.limit:
            return f"bogus packet length {caplen}"
        if caplen > room:
            return f"packet length {caplen} overruns its block"
        if ticks is not None:
            self._last_ts = iface.ts_ns(ticks)
        entries.append(INDEX_ENTRY.pack(offset, self._last_ts, caplen, wirelen, iface.linktype, 0))
        self._payload += caplen
        return None

    def _options(self, buf: bytes | bytearray, start: int, end: int) -> list[tuple[int, int, int]]:
        """The (code, value offset, value length) of each option between ``start`` and ``end``."""
        found: list[tuple[int, int, int]] = []
        pos = start
        while pos + 4 <= end:
            code, size = struct.unpack_from(self._order + "HH", buf, pos)
            if code == 0 or pos + 4 + size > end:
                break
            found.append((code, pos + 4, size))
            pos += 4 + ((size + 3) & ~3)
        return found
