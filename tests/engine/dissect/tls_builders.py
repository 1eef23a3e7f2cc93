"""Hand-built TLS handshake messages and records for the TLS and QUIC dissector tests."""

from __future__ import annotations

import hashlib

_GREASE = {0x0A0A + 0x1010 * i for i in range(16)}


def ext(ext_type: int, body: bytes) -> bytes:
    """One extension: type, length, body."""
    return ext_type.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def vec16(body: bytes) -> bytes:
    """A vector with a two-byte length prefix."""
    return len(body).to_bytes(2, "big") + body


def u16s(values: list[int]) -> bytes:
    """Two-byte big-endian values, concatenated."""
    return b"".join(v.to_bytes(2, "big") for v in values)


SPEC_CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014]
SPEC_CIPHERS += [0x009C, 0x009D, 0x002F, 0x0035]
SPEC_EXTS = [0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D, 0x000D, 0x0005, 0x0023, 0x0012]
SPEC_EXTS += [0x002B, 0xFF01, 0x000B, 0x000A, 0x0015]
SPEC_SIGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
"""The example ClientHello of the FoxIO JA4 specification (technical_details/JA4.md)."""


def build_client_hello(
    ciphers: list[int],
    ext_order: list[int],
    sigs: list[int],
    alpn: list[bytes] | None = None,
    sni: str = "example.com",
    versions: list[int] | None = None,
    bodies: dict[int, bytes] | None = None,
) -> bytes:
    """A ClientHello handshake message; extensions without a known or given body are empty."""
    known = {
        0x0000: vec16(b"\x00" + vec16(sni.encode())),
        0x0010: vec16(b"".join(bytes((len(p),)) + p for p in alpn or [b"h2"])),
        0x000D: vec16(u16s(sigs)),
        0x000A: vec16(u16s([0x001D, 0x0017])),
        0x000B: b"\x01\x00",
        0x002B: bytes((2 * len(versions or [0x0304]),)) + u16s(versions or [0x0304]),
        **(bodies or {}),
    }
    exts = b"".join(ext(e, known.get(e, b"")) for e in ext_order)
    body = b"\x03\x03" + bytes(32) + b"\x00" + vec16(u16s(ciphers)) + b"\x01\x00" + vec16(exts)
    return b"\x01" + len(body).to_bytes(3, "big") + body


def build_server_hello(cipher: int = 0x1301, selected: int | None = 0x0304) -> bytes:
    """A ServerHello handshake message (TLS 1.3 style when ``selected`` is given)."""
    exts = ext(0x002B, selected.to_bytes(2, "big")) if selected is not None else b""
    body = b"\x03\x03" + bytes(32) + b"\x00" + cipher.to_bytes(2, "big") + b"\x00" + vec16(exts)
    return b"\x02" + len(body).to_bytes(3, "big") + body


def records(msg: bytes, size: int = 16384) -> bytes:
    """The handshake message cut into TLS handshake records of at most ``size`` bytes."""
    return b"".join(
        b"\x16\x03\x01" + len(msg[i : i + size]).to_bytes(2, "big") + msg[i : i + size]
        for i in range(0, len(msg), size)
    )


def big_client_hello(sni: str = "split.example.org", key_share: int = 1300) -> bytes:
    """A ClientHello as large as Chrome's with a post-quantum key share (spans TCP segments, QUIC packets)."""
    exts = [*SPEC_EXTS, 0x0039]
    return build_client_hello(
        SPEC_CIPHERS, exts, SPEC_SIGS, sni=sni, bodies={0x0033: vec16(bytes(key_share)), 0x0039: b"\x01\x02"}
    )


def _is_grease(value: int) -> bool:
    return value in _GREASE


def signature_algorithms_from_tshark(exts: list[int], sigs: str, sig_lens: str) -> list[str]:
    """The signature_algorithms (13) part of tshark's sig_hash_alg, which also holds the lists of
    delegated_credentials (34) and signature_algorithms_cert (50); JA4 takes only extension 13's
    (FoxIO-LLC/ja4 issue #41)."""
    values = [s[2:] for s in sigs.split(",") if s]
    lists = [e for e in exts if e in (13, 34, 50)]
    pos = 0
    for ext, size in zip(lists, (int(n) // 2 for n in sig_lens.split(",") if n), strict=True):
        if ext == 13:
            return values[pos : pos + size]
        pos += size
    return []


def ja4_from_tshark_fields(
    ciphers: str, exts: str, sigs: str, sig_lens: str, versions: str, alpn: str, legacy: str
) -> str:
    """JA4 computed straight from tshark's fields, following the FoxIO spec (independent of tls_hello)."""
    hexes = [c[2:] for c in ciphers.split(",") if not _is_grease(int(c, 16))]
    ext_ids = [int(e) for e in exts.split(",") if e and not _is_grease(int(e))]
    sig_list = signature_algorithms_from_tshark(ext_ids, sigs, sig_lens)
    sig_text = ",".join(s for s in sig_list if not _is_grease(int(s, 16)))
    offered = [int(v, 16) for v in versions.split(",") if v and not _is_grease(int(v, 16))]
    version = max(offered) if offered else int(legacy, 16)
    code = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}.get(version, "00")
    first = alpn.split(",")[0]
    alpn_code = first[0] + first[-1] if first else "00"
    sni = "d" if 0 in ext_ids else "i"
    head = f"t{code}{sni}{len(hexes):02d}{len(ext_ids):02d}{alpn_code}"
    ext_text = ",".join(sorted(f"{e:04x}" for e in ext_ids if e not in (0, 16)))
    body = ext_text + ("_" + sig_text if sig_text else "")

    def h(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    return f"{head}_{h(','.join(sorted(hexes)))}_{h(body)}"
