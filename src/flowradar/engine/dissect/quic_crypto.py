"""QUIC versions and Initial packet protection (RFC 9001 section 5, RFC 9369 section 3).

Initial packets are protected with keys every observer can derive from the client's Destination
Connection ID and a per-version salt, so a passive observer can read the ClientHello. This module
knows the salts of QUIC v1, v2, the IETF drafts, Facebook's mvfst and Google's Q050/T050/T051, and
removes header and payload protection from one long-header packet.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from flowradar.engine.dissect.base import DissectError

V1 = 0x00000001
V2 = 0x6B3343CF

_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
_SALT_V2 = bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")
_SALT_DRAFT_22 = bytes.fromhex("7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a")
_SALT_DRAFT_23 = bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502")
_SALT_DRAFT_29 = bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")
_SALT_Q050 = bytes.fromhex("504574efd066fe2f9d945cfcdbd3a7f0d3b56b45")
_SALT_T050 = bytes.fromhex("7ff579e5acd072915580304c43a2367c60488310")
_SALT_T051 = bytes.fromhex("7a4edef4e7ccee5fa4506c19124fc8ccda6e033d")


@dataclass(frozen=True, slots=True)
class QuicVersion:
    """How to read the client Initial packets of one QUIC version."""

    name: str
    """Short name reported in ``quic_version``: v1, v2, draft-29, Q050, T051, mvfst-27, ..."""
    salt: bytes | None
    """Initial salt; None for Google QUIC versions whose handshake travels in the clear."""
    label: str = "quic "
    """Prefix of the key, iv and hp labels ('quicv2 ' for QUIC v2)."""
    initial_type: int = 0
    """Long-header packet type bits that mark an Initial packet."""
    google_frames: bool = False
    """Frames use Google QUIC numbering (CRYPTO is 0x08) rather than the IETF one (0x06)."""
    tls: bool = True
    """CRYPTO data is a TLS ClientHello; False for a Google QUIC CHLO."""


def _ietf_draft(draft: int) -> QuicVersion:
    if draft <= 22:
        salt = _SALT_DRAFT_22
    elif draft <= 28:
        salt = _SALT_DRAFT_23
    elif draft <= 32:
        salt = _SALT_DRAFT_29
    else:
        salt = _SALT_V1
    return QuicVersion(f"draft-{draft}", salt)


_FIXED = {
    V1: QuicVersion("v1", _SALT_V1),
    V2: QuicVersion("v2", _SALT_V2, label="quicv2 ", initial_type=1),
    0xFACEB001: QuicVersion("mvfst-22", _SALT_DRAFT_22),
    0xFACEB002: QuicVersion("mvfst-27", _SALT_DRAFT_23),
    0xFACEB00E: QuicVersion("mvfst-exp", _SALT_DRAFT_23),
    0x51303530: QuicVersion("Q050", _SALT_Q050, google_frames=True, tls=False),
    0x54303530: QuicVersion("T050", _SALT_T050, google_frames=True),
    0x54303531: QuicVersion("T051", _SALT_T051, google_frames=True),
}


def is_gquic_tag(version: int) -> bool:
    """True for Google QUIC version tags 'Q0dd' and 'T0dd'."""
    raw = version.to_bytes(4, "big")
    return raw[:2] in (b"Q0", b"T0") and raw[2:].isdigit()


def lookup_version(version: int) -> QuicVersion | None:
    """What flowradar knows about a version number; None for unknown versions."""
    known = _FIXED.get(version)
    if known is not None:
        return known
    if version >> 8 == 0xFF0000:
        return _ietf_draft(version & 0xFF)
    if is_gquic_tag(version) and version < 0x51303530:
        return QuicVersion(version.to_bytes(4, "big").decode("ascii"), None, tls=False)
    return None


def version_name(version: int) -> str:
    """Name of a QUIC version for ``quic_version`` (hex for unknown versions)."""
    known = lookup_version(version)
    return known.name if known is not None else f"0x{version:08x}"


@functools.lru_cache(maxsize=64)
def _label_info(label: str, length: int) -> bytes:
    """The HkdfLabel structure for ``label`` and ``length`` with an empty context."""
    full = b"tls13 " + label.encode("ascii")
    return length.to_bytes(2, "big") + bytes((len(full),)) + full + b"\x00"


def _expand_label(secret: bytes, label: str, length: int) -> bytes:
    """TLS 1.3 HKDF-Expand-Label with an empty context (RFC 8446 section 7.1)."""
    info = _label_info(label, length)
    out = b""
    block = b""
    counter = 1
    while len(out) < length:  # one round for the 12- to 32-byte outputs QUIC needs
        block = hmac.digest(secret, block + info + bytes((counter,)), hashlib.sha256)
        out += block
        counter += 1
    return out[:length]


class InitialKeys:
    """Client Initial packet protection keys for one (version, Destination Connection ID)."""

    __slots__ = ("_aead", "_hp", "_iv")

    def __init__(self, version: QuicVersion, dcid: bytes) -> None:
        if version.salt is None:
            raise DissectError(f"{version.name} Initial packets are not encrypted")
        initial = hmac.digest(version.salt, dcid, hashlib.sha256)  # HKDF-Extract
        client = _expand_label(initial, "client in", 32)
        self._aead = AESGCM(_expand_label(client, version.label + "key", 16))
        self._iv = _expand_label(client, version.label + "iv", 12)
        hp_key = _expand_label(client, version.label + "hp", 16)
        self._hp: CipherContext = Cipher(algorithms.AES(hp_key), modes.ECB()).encryptor()

    def unprotect(self, data: bytes, start: int, pn_offset: int, end: int) -> bytes | None:
        """Decrypt the long-header packet ``data[start:end]`` whose packet number is at ``pn_offset``.

        Returns the plaintext frames, or None when the packet does not authenticate with these keys
        (a server Initial, a Retry-changed connection ID, or corruption).
        """
        if pn_offset + 20 > end or end > len(data):
            raise DissectError("Initial packet too short for header protection sample")
        mask = self._hp.update(data[pn_offset + 4 : pn_offset + 20])
        first = data[start] ^ (mask[0] & 0x0F)
        pn_len = (first & 0x03) + 1
        header = bytearray(data[start : pn_offset + pn_len])
        header[0] = first
        pn_start = pn_offset - start
        pn = 0
        for k in range(pn_len):
            header[pn_start + k] ^= mask[1 + k]
            pn = (pn << 8) | header[pn_start + k]
        nonce = (int.from_bytes(self._iv, "big") ^ pn).to_bytes(12, "big")
        try:
            return self._aead.decrypt(nonce, data[pn_offset + pn_len : end], bytes(header))
        except InvalidTag:
            return None
