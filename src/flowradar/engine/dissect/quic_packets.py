"""QUIC long headers, Initial frames and CRYPTO stream reassembly (RFC 9000 sections 17 and 19).

Everything here is bounded: every read of a header or frame is checked against the end of its
packet, and the CRYPTO stream keeps at most ``limit`` bytes and a fixed number of out-of-order
fragments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from flowradar.engine.dissect.base import DissectError
from flowradar.engine.dissect.quic_crypto import QuicVersion

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
    if start + 5 > len(data):
        raise DissectError("truncated QUIC version")
    return int.from_bytes(data[start + 1 : start + 5], "big")


def _varint(buf: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """The QUIC variable-length integer at ``buf[pos]`` (RFC 9000 section 16) and the offset after it."""
    if pos >= end:
        raise DissectError(f"truncated {what}")
    first = buf[pos]
    if first < 0x40:
        return first, pos + 1
    size = 1 << (first >> 6)
    if pos + size > end:
        raise DissectError(f"truncated {what}")
    return int.from_bytes(buf[pos : pos + size], "big") & ((1 << (8 * size - 2)) - 1), pos + size


def parse_long_header(data: bytes, start: int, version: QuicVersion) -> LongHeader:
    """Parse the long header at ``start``; for 0-RTT/Initial/Handshake packets find their end.

    Retry packets (no Length field) take the rest of the datagram.
    """
    n = len(data)
    if start >= n:
        raise DissectError("truncated first byte")
    if start + 5 > n:
        raise DissectError("truncated version")
    if start + 6 > n:
        raise DissectError("truncated DCID length")
    pos = start + 6 + data[start + 5]
    if pos > n:
        raise DissectError("truncated DCID")
    dcid = bytes(data[start + 6 : pos])
    if pos >= n:
        raise DissectError("truncated SCID length")
    pos += 1 + data[pos]
    if pos > n:
        raise DissectError("truncated SCID")
    packet_type = (data[start] >> 4) & 0x03
    retry = (version.initial_type + 3) & 0x03  # Retry is the type just before Initial
    if packet_type == retry:
        return LongHeader(start, packet_type, dcid, n, n)
    if packet_type == version.initial_type:
        token, pos = _varint(data, pos, n, "token length")
        if pos + token > n:
            raise DissectError("truncated token")
        pos += token
    length, pos = _varint(data, pos, n, "packet length")
    if length > n - pos:
        raise DissectError("QUIC packet length past the datagram")
    return LongHeader(start, packet_type, dcid, pos, pos + length)


def _skip_ack(buf: bytes, pos: int, end: int, ecn: bool) -> int:
    _, pos = _varint(buf, pos, end, "ACK largest")
    _, pos = _varint(buf, pos, end, "ACK delay")
    ranges, pos = _varint(buf, pos, end, "ACK range count")
    _, pos = _varint(buf, pos, end, "ACK first range")
    for _ in range(min(ranges, end - pos)):  # each range takes at least two bytes
        _, pos = _varint(buf, pos, end, "ACK gap")
        _, pos = _varint(buf, pos, end, "ACK range")
    if ecn:
        for _ in range(3):
            _, pos = _varint(buf, pos, end, "ACK ECN count")
    return pos


def _crypto_frame(buf: bytes, pos: int, end: int) -> tuple[int, bytes, int]:
    """(offset, data, offset after the frame) of the CRYPTO frame body at ``pos``."""
    offset, pos = _varint(buf, pos, end, "CRYPTO offset")
    size, pos = _varint(buf, pos, end, "CRYPTO length")
    if pos + size > end:
        raise DissectError("truncated CRYPTO data")
    return offset, bytes(buf[pos : pos + size]), pos + size


def _ietf_frames(buf: bytes) -> Iterator[tuple[int, bytes]]:
    pos, end = 0, len(buf)
    while pos < end:
        frame, pos = _varint(buf, pos, end, "frame type")
        if frame == 0x00:  # PADDING: jump over the whole run of zero bytes
            m = _NONZERO.search(buf, pos, end)
            pos = m.start() if m else end
        elif frame == 0x01:  # PING
            continue
        elif frame in (0x02, 0x03):
            pos = _skip_ack(buf, pos, end, frame == 0x03)
        elif frame == 0x06:
            offset, chunk, pos = _crypto_frame(buf, pos, end)
            yield offset, chunk
        elif frame in (0x1C, 0x1D):  # CONNECTION_CLOSE ends the packet's useful content
            return
        else:
            raise DissectError(f"frame type 0x{frame:x} not allowed in an Initial packet")


def _google_frames(buf: bytes) -> Iterator[tuple[int, bytes]]:
    pos, end = 0, len(buf)
    while pos < end:
        frame = buf[pos]
        pos += 1
        if frame == 0x00:
            m = _NONZERO.search(buf, pos, end)
            pos = m.start() if m else end
        elif frame == 0x07:  # PING
            continue
        elif frame == 0x08:
            offset, chunk, pos = _crypto_frame(buf, pos, end)
            yield offset, chunk
        else:  # ACK, STOP_WAITING, ...: nothing after them matters for the CHLO
            return


def crypto_fragments(plain: bytes, google_frames: bool) -> Iterator[tuple[int, bytes]]:
    """(offset, data) of every CRYPTO frame in a decrypted Initial payload, in packet order."""
    return _google_frames(plain) if google_frames else _ietf_frames(plain)


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
