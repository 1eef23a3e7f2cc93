"""Build protected QUIC Initial packets for tests, independently of flowradar's own key schedule.

Keys come from ``cryptography``'s HKDFExpand with the salts and labels of RFC 9001 / RFC 9369 and the
gQUIC salts published in Wireshark's packet-quic.c; the RFC test vectors in test_quic.py check them.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

SALTS = {
    0x00000001: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    0x6B3343CF: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
    0xFF00001D: bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899"),
    0xFF00001B: bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502"),
    0x51303530: bytes.fromhex("504574efd066fe2f9d945cfcdbd3a7f0d3b56b45"),
    0x54303531: bytes.fromhex("7a4edef4e7ccee5fa4506c19124fc8ccda6e033d"),
}
V2 = 0x6B3343CF


def varint(value: int) -> bytes:
    """QUIC variable-length integer (the shortest encoding)."""
    for size, prefix in ((1, 0), (2, 0x40), (4, 0x80), (8, 0xC0)):
        if value < 1 << (8 * size - 2):
            raw = bytearray(value.to_bytes(size, "big"))
            raw[0] |= prefix
            return bytes(raw)
    raise ValueError(value)


def expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand-Label with an empty context, via cryptography's HKDFExpand."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes((len(full),)) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def client_keys(version: int, dcid: bytes) -> tuple[bytes, bytes, bytes]:
    """(key, iv, hp) of the client's Initial packets."""
    prefix = b"quicv2 " if version == V2 else b"quic "
    client = expand_label(hmac.digest(SALTS[version], dcid, hashlib.sha256), b"client in", 32)
    return (
        expand_label(client, prefix + b"key", 16),
        expand_label(client, prefix + b"iv", 12),
        expand_label(client, prefix + b"hp", 16),
    )


def crypto_frame(offset: int, data: bytes, frame_type: int = 0x06) -> bytes:
    """A CRYPTO frame (0x06 in IETF QUIC, 0x08 in Google QUIC Q050/T05x)."""
    return bytes((frame_type,)) + varint(offset) + varint(len(data)) + data


def initial_packet(
    version: int,
    dcid: bytes,
    frames: bytes,
    pn: int = 0,
    scid: bytes = b"\x01\x02\x03\x04",
    token: bytes = b"",
    size: int = 1200,
) -> bytes:
    """A client Initial packet padded to ``size`` bytes, with packet and header protection applied."""
    key, iv, hp = client_keys(version, dcid)
    pn_len = 2
    type_bits = 1 if version == V2 else 0
    first = 0xC0 | (type_bits << 4) | (pn_len - 1)
    head = (
        bytes((first,)) + version.to_bytes(4, "big") + bytes((len(dcid),)) + dcid + bytes((len(scid),)) + scid
    )
    head += varint(len(token)) + token
    overhead = len(head) + 2 + pn_len + 16
    payload = frames + bytes(max(size - overhead - len(frames), 4))
    header = head + (0x4000 | (pn_len + len(payload) + 16)).to_bytes(2, "big") + pn.to_bytes(pn_len, "big")
    nonce = (int.from_bytes(iv, "big") ^ pn).to_bytes(12, "big")
    sealed = AESGCM(key).encrypt(nonce, payload, header)
    mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor().update(sealed[4 - pn_len : 20 - pn_len])
    out = bytearray(header + sealed)
    out[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        out[len(header) - pn_len + i] ^= mask[1 + i]
    return bytes(out)


def chlo(tags: dict[bytes, bytes]) -> bytes:
    """A gQUIC CHLO handshake message with the given tags (sorted, little-endian end offsets)."""
    table = b""
    values = b""
    for tag in sorted(tags, key=lambda t: int.from_bytes(t, "little")):
        values += tags[tag]
        table += tag + len(values).to_bytes(4, "little")
    return b"CHLO" + len(tags).to_bytes(2, "little") + b"\x00\x00" + table + values
