"""Google QUIC (gQUIC) client hellos: the public header of Q0xx packets and the CHLO message.

Up to Q046 the handshake travels in the clear: the client's first packet carries a CHLO crypto
handshake message (tag 'CHLO', a little-endian tag/offset table, then the values), which holds the
server name ('SNI') and the user agent ('UAID'). Q050 encrypts its Initial packets like IETF QUIC
(see :mod:`~flowradar.engine.dissect.quic_crypto`); its decrypted CRYPTO data is also a CHLO.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from flowradar.engine.dissect.base import DissectError
from flowradar.engine.dissect.quic_crypto import is_gquic_tag

_MAX_TAGS = 128
_SNI = int.from_bytes(b"SNI\x00", "little")
_UAID = int.from_bytes(b"UAID", "little")


@dataclass(slots=True)
class Chlo:
    """What flowradar reads from a gQUIC CHLO."""

    sni: str | None = None
    """Server name (tag 'SNI'), lower case."""
    uaid: str | None = None
    """User agent id (tag 'UAID')."""


def public_header_version(data: bytes) -> tuple[int, int] | None:
    """(version, offset after the version) of a Q0xx public-header packet carrying a version.

    Returns None when the datagram is not such a packet (short header, no version flag, no 'Q0dd').
    """
    if len(data) < 5:
        return None
    flags = data[0]
    if flags & 0x80 or not flags & 0x01:  # long header, or no version field
        return None
    pos = 9 if flags & 0x08 else 1  # 8-byte connection id
    if len(data) < pos + 4:
        return None
    version = int.from_bytes(data[pos : pos + 4], "big")
    return (version, pos + 4) if is_gquic_tag(version) else None


def parse_chlo(data: bytes, pos: int) -> Chlo:
    """Parse the CHLO message that starts at ``data[pos]`` (a truncated value table is tolerated)."""
    if data[pos : pos + 4] != b"CHLO":
        raise DissectError("not a CHLO message")
    if pos + 8 > len(data):
        raise DissectError("truncated CHLO header")
    count = data[pos + 4] | (data[pos + 5] << 8)
    if count > _MAX_TAGS:
        raise DissectError(f"CHLO with {count} tags")
    values = pos + 8 + 8 * count
    if values > len(data):
        raise DissectError("truncated CHLO tag table")
    table = struct.unpack_from(f"<{2 * count}I", data, pos + 8)  # tag, end offset, tag, ...
    chlo = Chlo()
    previous = 0
    for i in range(1, 2 * count, 2):
        end = table[i]
        if end < previous:
            raise DissectError("CHLO tag offsets go backwards")
        if values + end > len(data):
            break  # the rest of the values were cut off
        if table[i - 1] == _SNI:
            chlo.sni = data[values + previous : values + end].decode("utf-8", "backslashreplace").lower()
        elif table[i - 1] == _UAID:
            chlo.uaid = data[values + previous : values + end].decode("utf-8", "backslashreplace")
        previous = end
    return chlo


def find_chlo(data: bytes, start: int) -> Chlo | None:
    """Find and parse the CHLO in a cleartext gQUIC packet, searching from ``start``."""
    pos = data.find(b"CHLO", start)
    return parse_chlo(data, pos) if pos >= 0 else None


def chlo_size(data: bytes | bytearray) -> int | None:
    """Total size of the CHLO message at the start of ``data``, or None until its tag table is in."""
    if len(data) < 8:
        return None
    if data[:4] != b"CHLO":
        raise DissectError("CRYPTO stream does not start with a CHLO")
    count = data[4] | (data[5] << 8)
    if count > _MAX_TAGS:
        raise DissectError(f"CHLO with {count} tags")
    table_end = 8 + 8 * count
    if len(data) < table_end:
        return None
    return table_end + (int.from_bytes(data[table_end - 4 : table_end], "little") if count else 0)
