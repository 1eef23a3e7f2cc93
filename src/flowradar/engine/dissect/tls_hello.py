"""Parse TLS ClientHello / ServerHello handshake messages and fingerprint them (JA3, JA3S, JA4).

The parsers take one whole handshake message, starting at its type byte (1 or 2), as found in a TLS
record over TCP or in QUIC CRYPTO frames. Malformed input raises
:class:`~flowradar.engine.dissect.base.DissectError` and nothing else; every loop is bounded by the
input length. The parsers index the message directly, checking each vector against the one holding
it; on the first defect they hand the message to :func:`~.tls_wire.diagnose_hello`, whose checked
reads name it.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from flowradar.engine.dissect.base import DissectError
from flowradar.engine.dissect.tls_wire import Buffer, diagnose_hello

CLIENT_HELLO = 1
SERVER_HELLO = 2

EXT_SERVER_NAME = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_EC_POINT_FORMATS = 0x000B
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_ALPN = 0x0010
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_ECH = 0xFE0D
EXT_ESNI = 0xFFCE

_VERSION_NAMES = {
    0x0002: "SSLv2",
    0x0300: "SSLv3",
    0x0301: "TLSv1.0",
    0x0302: "TLSv1.1",
    0x0303: "TLSv1.2",
    0x0304: "TLSv1.3",
    0xFEFF: "DTLSv1.0",
    0xFEFD: "DTLSv1.2",
    0xFEFC: "DTLSv1.3",
}
_JA4_VERSIONS = {
    0x0002: "s2",
    0x0300: "s3",
    0x0301: "10",
    0x0302: "11",
    0x0303: "12",
    0x0304: "13",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}
_GREASE = frozenset(range(0x0A0A, 0x10000, 0x1010))  # 0x0a0a, 0x1a1a, ... 0xfafa


def is_grease(value: int) -> bool:
    """True for the RFC 8701 GREASE code points 0x0a0a, 0x1a1a, ... 0xfafa."""
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


def version_name(version: int) -> str:
    """'TLSv1.3', 'TLSv1.2', ... for a wire version; draft and unknown versions as text or hex."""
    name = _VERSION_NAMES.get(version)
    if name is not None:
        return name
    if version >> 8 == 0x7F:
        return f"TLSv1.3-draft-{version & 0xFF}"
    return f"0x{version:04x}"


@dataclass(slots=True)
class ClientHello:
    """The fields of a ClientHello that flowradar reports or fingerprints."""

    legacy_version: int
    """client_version of the hello body (0x0303 for TLS 1.2 and 1.3)."""
    cipher_suites: list[int] = field(default_factory=list)
    """Cipher suites in offered order, GREASE included."""
    extensions: list[int] = field(default_factory=list)
    """Extension types in order, GREASE included."""
    sni: str | None = None
    """First host_name of the server_name extension, lower case."""
    alpn: list[str] = field(default_factory=list)
    """ALPN protocol names in offered order."""
    alpn_raw: list[bytes] = field(default_factory=list)
    """ALPN protocol names as sent (JA4 needs the bytes)."""
    supported_versions: list[int] = field(default_factory=list)
    """supported_versions extension values, GREASE included."""
    supported_groups: list[int] = field(default_factory=list)
    """supported_groups (elliptic curves) values, GREASE included."""
    ec_point_formats: list[int] = field(default_factory=list)
    """ec_point_formats values."""
    signature_algorithms: list[int] = field(default_factory=list)
    """signature_algorithms values in offered order."""
    ech: bool = False
    """encrypted_client_hello (0xfe0d) or encrypted_server_name (0xffce) is present."""

    def versions_offered(self) -> list[str]:
        """Names of the versions offered: supported_versions without GREASE, else the legacy version."""
        offered = [version_name(v) for v in self.supported_versions if v not in _GREASE]
        return offered or [version_name(self.legacy_version)]


@dataclass(slots=True)
class ServerHello:
    """The fields of a ServerHello that flowradar reports or fingerprints."""

    legacy_version: int
    """server_version of the hello body."""
    cipher_suite: int
    """The chosen cipher suite."""
    extensions: list[int] = field(default_factory=list)
    """Extension types in order."""
    selected_version: int | None = None
    """Version from the supported_versions extension (TLS 1.3), if present."""

    @property
    def version(self) -> int:
        """The negotiated version: supported_versions when present, else the legacy version."""
        return self.legacy_version if self.selected_version is None else self.selected_version


class _Bad(Exception):
    """A fast parser met a defect; :func:`diagnose_hello` then names it."""


_U16S = tuple(struct.Struct(f">{n}H") for n in range(257))  # up to 256 values, prepared once


def _u16s(b: bytes, p: int, q: int) -> list[int]:
    """The two-byte values of ``b[p:q]`` (``q - p`` even, checked by the caller)."""
    n = (q - p) >> 1
    s = _U16S[n] if n < len(_U16S) else struct.Struct(f">{n}H")
    return list(s.unpack_from(b, p))


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _hello_start(b: bytes, expected_type: int) -> tuple[int, int]:
    """Check the handshake header, version, random and session id: (offset after them, body end)."""
    if b[0] != expected_type:
        raise _Bad
    end = 4 + ((b[1] << 16) | (b[2] << 8) | b[3])
    if end > len(b) or end < 39 or b[38] > 32:
        raise _Bad
    return 39 + b[38], end


def _extensions(b: bytes, p: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(type, data start, data end) of each extension of the vector at ``p`` (lengths checked)."""
    if p + 2 > end or p + 2 + ((b[p] << 8) | b[p + 1]) > end:
        raise _Bad
    p, ext_end = p + 2, p + 2 + ((b[p] << 8) | b[p + 1])
    while p < ext_end:
        if p + 4 > ext_end:
            raise _Bad
        q = p + 4 + ((b[p + 2] << 8) | b[p + 3])
        if q > ext_end:
            raise _Bad
        yield (b[p] << 8) | b[p + 1], p + 4, q
        p = q


def _server_name(b: bytes, p: int, e: int) -> str | None:
    """The first host_name of the server_name extension data ``b[p:e]`` (non-empty)."""
    if p + 2 > e:
        raise _Bad
    end = p + 2 + ((b[p] << 8) | b[p + 1])
    if end > e:
        raise _Bad
    p += 2
    while p < end:
        if p + 3 > end:
            raise _Bad
        q = p + 3 + ((b[p + 1] << 8) | b[p + 2])
        if q > end:
            raise _Bad
        if b[p] == 0:
            return _decode(b[p + 3 : q]).lower()
        p = q
    return None


def _alpn(b: bytes, p: int, e: int) -> list[bytes]:
    if p + 2 > e:
        raise _Bad
    end = p + 2 + ((b[p] << 8) | b[p + 1])
    if end > e:
        raise _Bad
    p += 2
    out: list[bytes] = []
    while p < end:
        q = p + 1 + b[p]
        if q > end:
            raise _Bad
        out.append(b[p + 1 : q])
        p = q
    return out


def _list16(b: bytes, p: int, e: int, wide: bool) -> list[int]:
    """A vector of two-byte values at ``b[p:e]`` with a two-byte (``wide``) or one-byte length."""
    if wide:
        if p + 2 > e:
            raise _Bad
        p, q = p + 2, p + 2 + ((b[p] << 8) | b[p + 1])
    else:
        if p >= e:
            raise _Bad
        p, q = p + 1, p + 1 + b[p]
    if q > e or (q - p) & 1:
        raise _Bad
    return _u16s(b, p, q)


_CLIENT_EXTENSIONS = frozenset({0x0000, 0x000A, 0x000B, 0x000D, 0x0010, 0x002B, EXT_ECH, EXT_ESNI})


def _client_hello(b: bytes) -> ClientHello:
    p, end = _hello_start(b, CLIENT_HELLO)
    if p + 2 > end:
        raise _Bad
    q = p + 2 + ((b[p] << 8) | b[p + 1])
    if q > end or (q - p) & 1:
        raise _Bad
    ciphers = _u16s(b, p + 2, q)
    if q >= end or q + 1 + b[q] > end:  # compression methods
        raise _Bad
    p = q + 1 + b[q]
    if p == end:
        return ClientHello((b[4] << 8) | b[5], ciphers)
    extensions: list[int] = []
    sni: str | None = None
    alpn_raw: list[bytes] = []
    versions: list[int] = []
    groups: list[int] = []
    formats: list[int] = []
    signatures: list[int] = []
    ech = False
    for ext_type, d, q in _extensions(b, p, end):
        extensions.append(ext_type)
        if ext_type in _CLIENT_EXTENSIONS:
            if ext_type == EXT_SERVER_NAME:
                if sni is None and d < q:
                    sni = _server_name(b, d, q)
            elif ext_type == EXT_ALPN:
                alpn_raw = _alpn(b, d, q)
            elif ext_type == EXT_SUPPORTED_VERSIONS:
                versions = _list16(b, d, q, False)
            elif ext_type == EXT_SUPPORTED_GROUPS:
                groups = _list16(b, d, q, True)
            elif ext_type == EXT_EC_POINT_FORMATS:
                if d >= q or d + 1 + b[d] > q:
                    raise _Bad
                formats = list(b[d + 1 : d + 1 + b[d]])
            elif ext_type == EXT_SIGNATURE_ALGORITHMS:
                signatures = _list16(b, d, q, True)
            else:  # ECH or ESNI
                ech = True
    alpn = [_decode(name) for name in alpn_raw]
    version = (b[4] << 8) | b[5]
    return ClientHello(
        version, ciphers, extensions, sni, alpn, alpn_raw, versions, groups, formats, signatures, ech
    )


def _server_hello(b: bytes) -> ServerHello:
    p, end = _hello_start(b, SERVER_HELLO)
    if p + 3 > end:
        raise _Bad
    sh = ServerHello((b[4] << 8) | b[5], (b[p] << 8) | b[p + 1])
    p += 3
    if p == end:
        return sh
    for ext_type, d, q in _extensions(b, p, end):
        sh.extensions.append(ext_type)
        if ext_type == EXT_SUPPORTED_VERSIONS:
            if q - d < 2:
                raise _Bad
            sh.selected_version = (b[d] << 8) | b[d + 1]
    return sh


def _defect(b: bytes, expected_type: int) -> DissectError:
    diagnose_hello(b, expected_type)  # raises the DissectError naming the defect
    return DissectError("malformed TLS hello")  # not reached


def parse_client_hello(msg: Buffer) -> ClientHello:
    """Parse a whole ClientHello handshake message (type byte, 3-byte length, body)."""
    b = msg if type(msg) is bytes else bytes(msg)
    try:
        return _client_hello(b)
    except (_Bad, IndexError):
        pass
    raise _defect(b, CLIENT_HELLO)


def parse_server_hello(msg: Buffer) -> ServerHello:
    """Parse a whole ServerHello handshake message (HelloRetryRequest parses as one too)."""
    b = msg if type(msg) is bytes else bytes(msg)
    try:
        return _server_hello(b)
    except (_Bad, IndexError):
        pass
    raise _defect(b, SERVER_HELLO)


class _Text(dict[int, str]):
    """Memoized renderings of two-byte values (at most 65,536 entries)."""

    __slots__ = ("_fmt",)

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self._fmt = fmt

    def __missing__(self, value: int) -> str:
        text = format(value, self._fmt)
        if 0 <= value <= 0xFFFF:
            self[value] = text
        return text


_dec = _Text("d").__getitem__
_hex = _Text("04x").__getitem__
_JA4_NOT_HASHED = (EXT_SERVER_NAME, EXT_ALPN)


def _no_grease(values: list[int]) -> list[int]:
    return values if _GREASE.isdisjoint(values) else [v for v in values if v not in _GREASE]


def _dashed(values: list[int]) -> str:
    return "-".join(map(_dec, _no_grease(values)))


def ja3(ch: ClientHello) -> tuple[str, str]:
    """JA3 string and its MD5: version,ciphers,extensions,groups,point formats (GREASE removed)."""
    text = ",".join(
        (
            _dec(ch.legacy_version),
            _dashed(ch.cipher_suites),
            _dashed(ch.extensions),
            _dashed(ch.supported_groups),
            "-".join(map(_dec, ch.ec_point_formats)),
        )
    )
    return text, hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def ja3s(sh: ServerHello) -> tuple[str, str]:
    """JA3S string and its MD5: version,cipher,extensions (GREASE removed)."""
    text = f"{sh.legacy_version},{sh.cipher_suite},{_dashed(sh.extensions)}"
    return text, hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _ja4_version(ch: ClientHello) -> str:
    offered = _no_grease(ch.supported_versions)
    version = max(offered) if offered else ch.legacy_version
    return _JA4_VERSIONS.get(version, "00")


def _ja4_alpn(ch: ClientHello) -> str:
    if not ch.alpn_raw or not ch.alpn_raw[0]:
        return "00"
    first = ch.alpn_raw[0]
    head, tail = first[:1], first[-1:]
    if head.isalnum() and tail.isalnum():  # bytes.isalnum is ASCII-only
        return (head + tail).decode("ascii")
    hexed = first.hex()
    return hexed[0] + hexed[-1]


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def ja4(ch: ClientHello, transport: str = "t") -> str:
    """FoxIO JA4 fingerprint; ``transport`` is 't' (TLS over TCP), 'q' (QUIC) or 'd' (DTLS)."""
    ciphers = sorted(map(_hex, _no_grease(ch.cipher_suites)))
    exts = _no_grease(ch.extensions)
    a = (
        f"{transport}{_ja4_version(ch)}{'d' if EXT_SERVER_NAME in exts else 'i'}"
        f"{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{_ja4_alpn(ch)}"
    )
    b = _hash12(",".join(ciphers)) if ciphers else "000000000000"
    hashed = sorted(map(_hex, [e for e in exts if e not in _JA4_NOT_HASHED]))
    if not hashed:
        return f"{a}_{b}_000000000000"
    c_text = ",".join(hashed)
    sigs = _no_grease(ch.signature_algorithms)
    if sigs:
        c_text += "_" + ",".join(map(_hex, sigs))
    return f"{a}_{b}_{_hash12(c_text)}"
