"""QUIC long headers, Initial frames and CRYPTO stream reassembly (RFC 9000 sections 17 and 19).

Everything here is bounded: headers and frames are read through
:class:`~flowradar.engine.dissect.tls_wire.Reader`, and the CRYPTO stream keeps at most ``limit``
bytes and a fixed number of out-of-order fragments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from flowradar.engine.dissect.base import DissectError
from flowradar.engine.dissect.quic_crypto import QuicVersion
from flowradar.engine.dissect.tls_wire import Reader

_NONZERO = re.compile(rb"[^\x00]")
_MAX_PENDING = 64


@dataclass(slots=True)
class LongHeader:
    """One IETF-style long-header packet inside a datagram."""

    start: int
    """Offset of the packet's first byte in the datagram."""
    packet_type: int
    """Long packet type bits (meaning depends on the version)."""
    dcid: bytes
    """Destination Connection ID."""
    pn_offset: int
    """Offset of the (protected) packet number in the datagram."""
    end: int
    """Offset just past the packet (start of the next coalesced packet)."""


def read_version(data: bytes, start: int) -> int:
    """Version field of the long-header packet at ``start``."""
    return Reader(data, start + 1).u32("QUIC version")


def parse_long_header(data: bytes, start: int, version: QuicVersion) -> LongHeader:
    """Parse the long header at ``start``; for 0-RTT/Initial/Handshake packets find their end.

    Retry packets (no Length field) take the rest of the datagram.
    """
    r = Reader(data, start)
    first = r.u8("first byte")
    r.skip(4, "version")
    dcid = r.take(r.u8("DCID length"), "DCID")
    r.skip(r.u8("SCID length"), "SCID")
    packet_type = (first >> 4) & 0x03
    retry = (version.initial_type + 3) & 0x03  # Retry is the type just before Initial
    if packet_type == retry:
        return LongHeader(start, packet_type, dcid, len(data), len(data))
    if packet_type == version.initial_type:
        r.skip(r.varint("token length"), "token")
    length = r.varint("packet length")
    if length > r.remaining():
        raise DissectError("QUIC packet length past the datagram")
    return LongHeader(start, packet_type, dcid, r.pos, r.pos + length)


def _skip_ack(r: Reader, ecn: bool) -> None:
    r.varint("ACK largest")
    r.varint("ACK delay")
    ranges = r.varint("ACK range count")
    r.varint("ACK first range")
    for _ in range(min(ranges, r.remaining())):  # each range takes at least two bytes
        r.varint("ACK gap")
        r.varint("ACK range")
    if ecn:
        for _ in range(3):
            r.varint("ACK ECN count")


def _ietf_frames(r: Reader) -> Iterator[tuple[int, bytes]]:
    buf = r.buf
    while r.remaining():
        frame = r.varint("frame type")
        if frame == 0x00:  # PADDING: jump over the whole run of zero bytes
            m = _NONZERO.search(buf, r.pos, r.end)
            r.pos = m.start() if m else r.end
        elif frame == 0x01:  # PING
            continue
        elif frame in (0x02, 0x03):
            _skip_ack(r, frame == 0x03)
        elif frame == 0x06:
            offset = r.varint("CRYPTO offset")
            yield offset, r.take(r.varint("CRYPTO length"), "CRYPTO data")
        elif frame in (0x1C, 0x1D):  # CONNECTION_CLOSE ends the packet's useful content
            return
        else:
            raise DissectError(f"frame type 0x{frame:x} not allowed in an Initial packet")


def _google_frames(r: Reader) -> Iterator[tuple[int, bytes]]:
    buf = r.buf
    while r.remaining():
        frame = r.u8("frame type")
        if frame == 0x00:
            m = _NONZERO.search(buf, r.pos, r.end)
            r.pos = m.start() if m else r.end
        elif frame == 0x07:  # PING
            continue
        elif frame == 0x08:
            offset = r.varint("CRYPTO offset")
            yield offset, r.take(r.varint("CRYPTO length"), "CRYPTO data")
        else:  # ACK, STOP_WAITING, ...: nothing after them matters for the CHLO
            return


def crypto_fragments(plain: bytes, google_frames: bool) -> Iterator[tuple[int, bytes]]:
    """(offset, data) of every CRYPTO frame in a decrypted Initial payload, in packet order."""
    r = Reader(plain)
    return _google_frames(r) if google_frames else _ietf_frames(r)


class CryptoStream:
    """Reassembles the start of a CRYPTO stream by offset; holds at most ``limit`` bytes."""

    __slots__ = ("_limit", "_pending", "data")

    def __init__(self, limit: int = 32768) -> None:
        self.data = bytearray()
        """Contiguous bytes from offset 0."""
        self._pending: dict[int, bytes] = {}
        self._limit = limit

    def add(self, offset: int, chunk: bytes) -> None:
        """Add one CRYPTO fragment (duplicates and overlaps are fine)."""
        if not chunk:
            return
        if offset + len(chunk) > self._limit:
            raise DissectError("CRYPTO stream longer than the reassembly limit")
        if offset > len(self.data):
            if len(self._pending) >= _MAX_PENDING:
                raise DissectError("too many out-of-order CRYPTO fragments")
            if len(chunk) > len(self._pending.get(offset, b"")):
                self._pending[offset] = chunk
            return
        self._append(offset, chunk)
        while self._pending:
            ready = [o for o in self._pending if o <= len(self.data)]
            if not ready:
                break
            for o in ready:
                self._append(o, self._pending.pop(o))

    def _append(self, offset: int, chunk: bytes) -> None:
        have = len(self.data)
        if offset + len(chunk) > have:
            self.data += chunk[have - offset :]

    def first_message(self) -> bytes | None:
        """The first handshake message once it is complete, else None."""
        data = self.data
        if len(data) < 4:
            return None
        size = 4 + ((data[1] << 16) | (data[2] << 8) | data[3])
        if size > self._limit:
            raise DissectError("handshake message longer than the reassembly limit")
        return bytes(data[:size]) if len(data) >= size else None
