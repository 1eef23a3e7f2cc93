"""Parse TLS ClientHello / ServerHello handshake messages and fingerprint them (JA3, JA3S, JA4).

The parsers take one whole handshake message, starting at its type byte (1 or 2), as found in a TLS
record over TCP or in QUIC CRYPTO frames. Malformed input raises
:class:`~flowradar.engine.dissect.base.DissectError` and nothing else; every loop is bounded by the
input length.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from flowradar.engine.dissect.base import DissectError
from flowradar.engine.dissect.tls_wire import Buffer, Reader

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
        offered = [version_name(v) for v in self.supported_versions if not is_grease(v)]
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


def _body(msg: Buffer, expected_type: int) -> Reader:
    r = Reader(msg)
    msg_type = r.u8("handshake type")
    if msg_type != expected_type:
        raise DissectError(f"handshake type {msg_type} is not {expected_type}")
    return r.sub(r.u24("handshake length"), "handshake body")


def _hello_prefix(r: Reader) -> int:
    """Read version, random and session id; return the version."""
    version = r.u16("hello version")
    r.skip(32, "hello random")
    session = r.u8("session id length")
    if session > 32:
        raise DissectError("session id longer than 32 bytes")
    r.skip(session, "session id")
    return version


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _server_name(r: Reader) -> str | None:
    names = r.vec16("server name list")
    while names.remaining():
        name_type = names.u8("server name type")
        name = names.vec16("server name")
        if name_type == 0:
            return _decode(name.take(name.remaining())).lower()
    return None


def _alpn(r: Reader) -> list[bytes]:
    protocols = r.vec16("alpn list")
    out: list[bytes] = []
    while protocols.remaining():
        entry = protocols.vec8("alpn protocol")
        out.append(entry.take(entry.remaining()))
    return out


def _client_extension(ch: ClientHello, ext_type: int, data: Reader) -> None:
    if ext_type == EXT_SERVER_NAME:
        if ch.sni is None and data.remaining():
            ch.sni = _server_name(data)
    elif ext_type == EXT_ALPN:
        ch.alpn_raw = _alpn(data)
        ch.alpn = [_decode(p) for p in ch.alpn_raw]
    elif ext_type == EXT_SUPPORTED_VERSIONS:
        ch.supported_versions = data.vec8("supported versions").u16_list("supported versions")
    elif ext_type == EXT_SUPPORTED_GROUPS:
        ch.supported_groups = data.vec16("supported groups").u16_list("supported groups")
    elif ext_type == EXT_EC_POINT_FORMATS:
        formats = data.vec8("ec point formats")
        ch.ec_point_formats = list(formats.take(formats.remaining()))
    elif ext_type == EXT_SIGNATURE_ALGORITHMS:
        ch.signature_algorithms = data.vec16("signature algorithms").u16_list("signature algorithms")
    elif ext_type in (EXT_ECH, EXT_ESNI):
        ch.ech = True


def parse_client_hello(msg: Buffer) -> ClientHello:
    """Parse a whole ClientHello handshake message (type byte, 3-byte length, body)."""
    r = _body(msg, CLIENT_HELLO)
    ch = ClientHello(legacy_version=_hello_prefix(r))
    ch.cipher_suites = r.vec16("cipher suites").u16_list("cipher suites")
    r.vec8("compression methods")
    if not r.remaining():
        return ch
    exts = r.vec16("extensions")
    while exts.remaining():
        ext_type = exts.u16("extension type")
        data = exts.vec16("extension data")
        ch.extensions.append(ext_type)
        _client_extension(ch, ext_type, data)
    return ch


def parse_server_hello(msg: Buffer) -> ServerHello:
    """Parse a whole ServerHello handshake message (HelloRetryRequest parses as one too)."""
    r = _body(msg, SERVER_HELLO)
    version = _hello_prefix(r)
    sh = ServerHello(legacy_version=version, cipher_suite=r.u16("cipher suite"))
    r.u8("compression method")
    if not r.remaining():
        return sh
    exts = r.vec16("extensions")
    while exts.remaining():
        ext_type = exts.u16("extension type")
        data = exts.vec16("extension data")
        sh.extensions.append(ext_type)
        if ext_type == EXT_SUPPORTED_VERSIONS:
            sh.selected_version = data.u16("selected version")
    return sh


def _dashed(values: list[int]) -> str:
    return "-".join(str(v) for v in values if not is_grease(v))


def ja3(ch: ClientHello) -> tuple[str, str]:
    """JA3 string and its MD5: version,ciphers,extensions,groups,point formats (GREASE removed)."""
    text = ",".join(
        (
            str(ch.legacy_version),
            _dashed(ch.cipher_suites),
            _dashed(ch.extensions),
            _dashed(ch.supported_groups),
            "-".join(str(v) for v in ch.ec_point_formats),
        )
    )
    return text, hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def ja3s(sh: ServerHello) -> tuple[str, str]:
    """JA3S string and its MD5: version,cipher,extensions (GREASE removed)."""
    text = f"{sh.legacy_version},{sh.cipher_suite},{_dashed(sh.extensions)}"
    return text, hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _ja4_version(ch: ClientHello) -> str:
    offered = [v for v in ch.supported_versions if not is_grease(v)]
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
    ciphers = sorted(f"{c:04x}" for c in ch.cipher_suites if not is_grease(c))
    exts = [e for e in ch.extensions if not is_grease(e)]
    a = (
        f"{transport}{_ja4_version(ch)}{'d' if EXT_SERVER_NAME in exts else 'i'}"
        f"{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{_ja4_alpn(ch)}"
    )
    b = _hash12(",".join(ciphers)) if ciphers else "000000000000"
    ext_hex = sorted(f"{e:04x}" for e in exts if e not in (EXT_SERVER_NAME, EXT_ALPN))
    if not ext_hex:
        return f"{a}_{b}_000000000000"
    c_text = ",".join(ext_hex)
    sigs = [f"{s:04x}" for s in ch.signature_algorithms if not is_grease(s)]
    if sigs:
        c_text += "_" + ",".join(sigs)
    return f"{a}_{b}_{_hash12(c_text)}"
