"""A tiny DNS responder for scenario tests: answers every question NXDOMAIN (run inside a namespace).

usage: python dnsd.py ADDRESS [PORT]   (stops after 120 s)
"""

from __future__ import annotations

import socket
import sys
import time


def answer(query: bytes) -> bytes | None:
    """The NXDOMAIN response to one query (None for something that is not a query)."""
    if len(query) < 12 or query[2] & 0x80:
        return None
    end = 12
    while end < len(query) and query[end]:
        end += 1 + query[end]
    end += 5
    if end > len(query):
        return None
    header = query[:2] + bytes([0x81 | (query[2] & 0x01), 0x83]) + b"\x00\x01\x00\x00\x00\x00\x00\x00"
    return header + query[12:end]


def main() -> None:
    addr, port = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 53
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, port))
    sock.settimeout(0.5)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            data, peer = sock.recvfrom(4096)
        except TimeoutError:
            continue
        reply = answer(data)
        if reply is not None:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
