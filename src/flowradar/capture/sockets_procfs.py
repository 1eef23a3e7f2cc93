"""Fallback when sock_diag is unavailable: parse /proc/net/{tcp,tcp6,udp,udp6}.

Each line is ``sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout
inode ...`` with addresses as hexadecimal 32-bit words in host byte order and ports in hex.
No byte counters, RTT or cookie are available this way.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from flowradar.capture.sockets_netlink import RawSocket, to16

TABLES = (
    ("tcp", socket.IPPROTO_TCP, socket.AF_INET),
    ("tcp6", socket.IPPROTO_TCP, socket.AF_INET6),
    ("udp", socket.IPPROTO_UDP, socket.AF_INET),
    ("udp6", socket.IPPROTO_UDP, socket.AF_INET6),
)


def _address(text: str) -> tuple[bytes, int]:
    """'0100007F:1F90' -> (raw address bytes in network order, port)."""
    addr, _, port = text.partition(":")
    raw = bytes.fromhex(addr)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return raw, int(port, 16)


def parse_table(text: str, proto: int, family: int, states: int) -> Iterator[RawSocket]:
    """Sockets of one /proc/net table whose state bit is set in ``states``; malformed lines skipped."""
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10:
            continue
        try:
            state = int(parts[3], 16)
            if not states & (1 << state):
                continue
            src, sport = _address(parts[1])
            dst, dport = _address(parts[2])
            uid, inode = int(parts[7]), int(parts[9])
        except ValueError:
            continue
        yield RawSocket(
            proto, state, to16(family, src), sport, to16(family, dst), dport, uid, inode, 0, None, None, None
        )


def read_tables(
    states: int, root: Path = Path("/proc/net"), protos: tuple[int, ...] = (6, 17)
) -> Iterator[RawSocket]:
    """Every socket of the four tables (missing tables, e.g. IPv6 disabled, are skipped)."""
    for name, proto, family in TABLES:
        if proto not in protos:
            continue
        try:
            text = (root / name).read_text()
        except OSError:
            continue
        yield from parse_table(text, proto, family, states)
