"""Vectorised views of flow rows for the detectors: address words, hashes, history letters, networks.

Everything here works on whole ``EXPORT_DTYPE`` arrays at once; nothing builds a Python object per row.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import numpy as np

from flowradar.engine.records import flow_uid, row_uid
from flowradar.engine.records import ip_text as ip_text

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)

TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
SYN, ACK, RST, FIN = 0x02, 0x10, 0x04, 0x01


def addr_words(col: np.ndarray) -> np.ndarray:
    """A V16 address column as (N, 2) big-endian uint64 words (IPv4 in the top 32 bits of word 0)."""
    raw = np.ascontiguousarray(col).view(np.uint8).reshape(-1, 16)
    return raw.view(">u8").astype(np.uint64)


def addr_bytes(col: np.ndarray) -> np.ndarray:
    """A V16 address column as an (N, 16) uint8 array."""
    return np.ascontiguousarray(col).view(np.uint8).reshape(-1, 16)


def pick(use_src: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row the source address where ``use_src`` is set, else the destination (a V16 column)."""
    both = np.where(use_src[:, None], addr_bytes(rows["src"]), addr_bytes(rows["dst"]))
    return np.ascontiguousarray(both).view("V16").ravel()


def mix(*parts: np.ndarray) -> np.ndarray:
    """A 64-bit hash of equally long integer columns (splitmix64 over their combination)."""
    h = np.zeros(len(parts[0]) if len(parts) else 0, dtype=np.uint64)
    for p in parts:
        h = (h ^ np.asarray(p).astype(np.uint64)) * _M1
        h ^= h >> _S30
    h = (h ^ (h >> _S30)) * _M2
    h = (h ^ (h >> _S27)) * _M3
    return h ^ (h >> _S31)


def addr_hash(col: np.ndarray, *extra: np.ndarray) -> np.ndarray:
    """Hash of an address column, optionally combined with more integer columns (ports, ...)."""
    w = addr_words(col)
    return mix(w[:, 0], w[:, 1], *extra)


def _letter_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint64)
    for i, c in enumerate(sorted(set("SHAFRDIQWhafrdiqws^"))):
        table[ord(c)] = np.uint64(1) << np.uint64(i)
    return table


_LUT = _letter_table()
_BIT = {chr(c): _LUT[c] for c in range(256) if _LUT[c]}


def history(rows: np.ndarray) -> np.ndarray:
    """The history column as one bit set per row (one pass over the letters of every row)."""
    raw = np.ascontiguousarray(rows["hist"]).view(np.uint8).reshape(-1, 16)
    return np.bitwise_or.reduce(_LUT[raw], axis=1) if len(raw) else np.zeros(0, dtype=np.uint64)


def has(bits: np.ndarray, letter: str) -> np.ndarray:
    """Per row: the Zeek-style history contains ``letter`` (upper: originator, lower: responder)."""
    return np.asarray((bits & _BIT[letter]) != 0)


class Networks:
    """A set of IPv4/IPv6 networks, tested against address columns in bulk."""

    def __init__(self, cidrs: Iterable[str]) -> None:
        """Parse the CIDRs (ValueError on an invalid one)."""
        self._nets: list[tuple[int, int, int, int, int]] = []
        self.cidrs = tuple(cidrs)
        self._parsed = [ipaddress.ip_network(text.strip(), strict=False) for text in self.cidrs]
        for net in self._parsed:
            bits = 128 if net.version == 6 else 32
            value = int(net.network_address) << (128 - bits)
            mask = ((1 << net.prefixlen) - 1) << (128 - net.prefixlen)
            self._nets.append((net.version, value >> 64, value & (2**64 - 1), mask >> 64, mask & (2**64 - 1)))

    def contains(self, addr: np.ndarray, ver: np.ndarray) -> np.ndarray:
        """Per row: the address (V16 column, with its IP version column) is in one of the networks."""
        out = np.zeros(len(addr), dtype=bool)
        if not self._nets or not len(addr):
            return out
        w = addr_words(addr)
        for version, hi, lo, mhi, mlo in self._nets:
            hit = (ver == version) & ((w[:, 0] & np.uint64(mhi)) == np.uint64(hi))
            out |= hit & ((w[:, 1] & np.uint64(mlo)) == np.uint64(lo))
        return out

    def contains_ip(self, ip: str) -> bool:
        """One address in text form is in one of the networks."""
        try:
            a = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(a in net for net in self._parsed)


MULTICAST = Networks(["224.0.0.0/4", "255.255.255.255/32", "ff00::/8", "0.0.0.0/32", "::/128"])
"""Multicast, broadcast and unspecified destinations: never a scan target nor a flood victim."""


def text_of(addr: np.ndarray, ver: np.ndarray, index: int) -> str:
    """Text form of row ``index`` of an address column."""
    return ip_text(bytes(addr[index]), int(ver[index]))


def uids(rows: np.ndarray, limit: int = 10) -> list[str]:
    """Flow uids of the first ``limit`` rows (the ids FlowRecords carry)."""
    return [row_uid(rows[i]) for i in range(min(limit, len(rows)))]


UidKey = tuple[int, int, int, bytes, bytes]
"""What a flow's uid is made of (id, first packet ns, protocol, source, destination): plain values
that, unlike a row of a batch, do not keep the whole batch alive."""


def uid_keys(rows: np.ndarray) -> list[UidKey]:
    """The :data:`UidKey` of each row."""
    cols = (rows["id"], rows["first"], rows["proto"], rows["src"], rows["dst"])
    return list(zip(*(c.tolist() for c in cols), strict=True))


def uid_from(key: UidKey) -> str:
    """Flow uid of a :data:`UidKey`."""
    return flow_uid(*key)


def uid_of(row: np.void) -> str:
    """Flow uid of one row."""
    return row_uid(row)


def seconds(ns: np.ndarray) -> np.ndarray:
    """Nanosecond timestamps as float seconds."""
    return np.asarray(ns, dtype=np.float64) / 1e9
