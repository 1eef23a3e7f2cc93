"""A bounded big-endian reader for TLS and QUIC wire formats, and the hello diagnosis built on it.

Every read is checked against the reader's window; running past it raises
:class:`~flowradar.engine.dissect.base.DissectError`, never ``IndexError`` or ``struct.error``.
Sub-windows share the underlying buffer, so nested vectors are parsed without copies. The hello
parsers of :mod:`~flowradar.engine.dissect.tls_hello` index their input directly for speed and call
:func:`diagnose_hello` only for a malformed hello, to raise the error that names its defect.
"""

from __future__ import annotations

from flowradar.engine.dissect.base import DissectError

Buffer = bytes | bytearray | memoryview


class Reader:
    """Reads fixed-size integers, vectors and QUIC varints from ``buf[pos:end]``."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: Buffer, pos: int = 0, end: int | None = None) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else min(end, len(buf))

    def remaining(self) -> int:
        """Bytes left in the window."""
        return self.end - self.pos

    def _take(self, n: int, what: str) -> int:
        start = self.pos
        if n < 0 or start + n > self.end:
            raise DissectError(f"truncated {what}")
        self.pos = start + n
        return start

    def u8(self, what: str = "u8") -> int:
        """One unsigned byte."""
        return self.buf[self._take(1, what)]

    def u16(self, what: str = "u16") -> int:
        """Two bytes, big-endian."""
        i = self._take(2, what)
        return (self.buf[i] << 8) | self.buf[i + 1]

    def u24(self, what: str = "u24") -> int:
        """Three bytes, big-endian."""
        i = self._take(3, what)
        return (self.buf[i] << 16) | (self.buf[i + 1] << 8) | self.buf[i + 2]

    def u32(self, what: str = "u32") -> int:
        """Four bytes, big-endian."""
        i = self._take(4, what)
        return int.from_bytes(self.buf[i : i + 4], "big")

    def take(self, n: int, what: str = "field") -> bytes:
        """``n`` raw bytes (copied)."""
        i = self._take(n, what)
        return bytes(self.buf[i : i + n])

    def skip(self, n: int, what: str = "field") -> None:
        """Skip ``n`` bytes."""
        self._take(n, what)

    def sub(self, n: int, what: str = "vector") -> Reader:
        """A reader over the next ``n`` bytes (no copy); this reader moves past them."""
        i = self._take(n, what)
        return Reader(self.buf, i, i + n)

    def vec8(self, what: str = "vector") -> Reader:
        """A vector with a one-byte length prefix."""
        return self.sub(self.u8(what), what)

    def vec16(self, what: str = "vector") -> Reader:
        """A vector with a two-byte length prefix."""
        return self.sub(self.u16(what), what)

    def varint(self, what: str = "varint") -> int:
        """A QUIC variable-length integer (RFC 9000 section 16)."""
        first = self.u8(what)
        extra = (1 << (first >> 6)) - 1
        value = first & 0x3F
        i = self._take(extra, what)
        for k in range(i, i + extra):
            value = (value << 8) | self.buf[k]
        return value

    def u16_list(self, what: str = "list") -> list[int]:
        """Consume the whole window as a list of two-byte values."""
        if self.remaining() % 2:
            raise DissectError(f"odd length {what}")
        buf, start, end = self.buf, self.pos, self.end
        self.pos = end
        return [(buf[i] << 8) | buf[i + 1] for i in range(start, end, 2)]


def diagnose_hello(msg: Buffer, expected_type: int) -> None:
    """Walk a ClientHello (1) or ServerHello (2) with checked reads, raising the DissectError that
    names its first defect (the fast parsers in ``tls_hello`` call this once they found one)."""
    r = Reader(msg)
    msg_type = r.u8("handshake type")
    if msg_type != expected_type:
        raise DissectError(f"handshake type {msg_type} is not {expected_type}")
    r = r.sub(r.u24("handshake length"), "handshake body")
    r.u16("hello version")
    r.skip(32, "hello random")
    session = r.u8("session id length")
    if session > 32:
        raise DissectError("session id longer than 32 bytes")
    r.skip(session, "session id")
    if expected_type == 1:
        r.vec16("cipher suites").u16_list("cipher suites")
        r.vec8("compression methods")
    else:
        r.u16("cipher suite")
        r.u8("compression method")
    if not r.remaining():
        return
    exts = r.vec16("extensions")
    sni = False
    while exts.remaining():
        ext_type = exts.u16("extension type")
        data = exts.vec16("extension data")
        if expected_type == 2:
            if ext_type == 0x002B:
                data.u16("selected version")
        elif ext_type == 0x0000:
            if not sni and data.remaining():
                sni = _check_server_name(data)
        else:
            _check_client_extension(ext_type, data)


def _check_server_name(r: Reader) -> bool:
    names = r.vec16("server name list")
    while names.remaining():
        name_type = names.u8("server name type")
        names.vec16("server name")
        if name_type == 0:
            return True
    return False


def _check_client_extension(ext_type: int, data: Reader) -> None:
    if ext_type == 0x0010:
        protocols = data.vec16("alpn list")
        while protocols.remaining():
            protocols.vec8("alpn protocol")
    elif ext_type == 0x002B:
        data.vec8("supported versions").u16_list("supported versions")
    elif ext_type == 0x000A:
        data.vec16("supported groups").u16_list("supported groups")
    elif ext_type == 0x000B:
        data.vec8("ec point formats")
    elif ext_type == 0x000D:
        data.vec16("signature algorithms").u16_list("signature algorithms")
