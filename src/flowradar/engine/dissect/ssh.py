"""SSH: the identification strings ('SSH-2.0-OpenSSH_9.6') both sides send first (RFC 4253 4.2).

A server may send other lines before its identification; up to 8 lines are skipped per direction.
Each direction is reassembled with :class:`TcpStream` (the first 8 KiB only), and a banner is cut
at 255 characters.
"""

from __future__ import annotations

import re

from flowradar.engine.dissect.base import ORIG, L7Packet
from flowradar.engine.dissect.tcpstream import TcpStream
from flowradar.model.flow import L7Facts

MAX_BANNER = 255
"""Longest identification string kept (RFC 4253 allows 255 characters with CR LF)."""
_MAX_LINES = 8
_LIMIT = 8192
_BANNER_START = re.compile(rb"SSH-\d+\.\d+-")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def looks_like_ssh(payload: bytes) -> bool:
    """True when the payload starts with an SSH identification string ('SSH-<version>-')."""
    return _BANNER_START.match(payload) is not None


class _Side:
    """One direction: its stream, the lines looked at so far, and whether it is finished."""

    __slots__ = ("done", "lines", "stream")

    def __init__(self) -> None:
        self.stream = TcpStream(_LIMIT)
        self.lines = 0
        self.done = False

    def banner(self) -> str | None:
        """The identification string once its line is complete; marks the side done when found
        or when it is clearly not coming."""
        data = self.stream.data
        for _ in range(_MAX_LINES):
            eol = data.find(b"\n")
            if eol < 0:
                if len(data) > MAX_BANNER + 2 and data.startswith(b"SSH-"):
                    eol = len(data)  # an over-long identification: keep its start
                else:
                    self.done = self.stream.overflow
                    return None
            line = bytes(data[:eol])
            self.stream.consume(min(eol + 1, len(data)))
            self.lines += 1
            if line.startswith(b"SSH-"):
                self.done = True
                text = line.rstrip(b"\r").decode("utf-8", "replace")[:MAX_BANNER]
                return _CONTROL.sub("?", text)
            if self.lines >= _MAX_LINES:
                self.done = True
                return None
        return None


class SshDissector:
    """Reads the client's and the server's identification strings into ssh_client and ssh_server."""

    __slots__ = ("_sides",)

    def __init__(self) -> None:
        self._sides = (_Side(), _Side())

    def feed(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """Read the banner this segment completes; True until both are known or given up."""
        if pkt.transport != "tcp":
            return False
        side = self._sides[0 if pkt.direction == ORIG else 1]
        if not side.done:
            side.stream.add(pkt.seq, pkt.payload)
            banner = side.banner()
            if banner is not None:
                if pkt.direction == ORIG:
                    facts.ssh_client = banner
                else:
                    facts.ssh_server = banner
        return not (self._sides[0].done and self._sides[1].done)


def create() -> SshDissector:
    """A fresh SSH dissector for one flow (the engine's DissectorFactory)."""
    return SshDissector()
