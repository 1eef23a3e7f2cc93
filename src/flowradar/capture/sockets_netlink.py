"""NETLINK_SOCK_DIAG on the stdlib: dump every TCP/UDP socket, or look one up by its exact 5-tuple.

Requests are ``struct inet_diag_req_v2`` (family, protocol, extensions, state mask, socket id);
answers are ``struct inet_diag_msg`` (family, state, ports, addresses, uid, inode, cookie) followed by
attributes, of which only ``INET_DIAG_INFO`` (``struct tcp_info``) is read: bytes acknowledged and
received, and the smoothed RTT. See linux/inet_diag.h and linux/tcp.h.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Iterator
from typing import NamedTuple

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
TCPDIAG_GETSOCK = 18
NLM_F_REQUEST = 0x01
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
INET_DIAG_INFO = 2
INET_DIAG_NOCOOKIE = 0xFFFFFFFF
ALL_STATES = 0xFFFFFFFF
TCP_LISTEN_STATES = 1 << 10
UDP_UNCONNECTED_STATES = 1 << 7  # a UDP socket not connected is in CLOSE (7)

_NLH = struct.Struct("=IHHII")
_REQ = struct.Struct("=BBBxI")
_REQ_V1 = struct.Struct("=BBBB")
_MSG = struct.Struct("=BB2xHH16s16sIQ4x4x4xII")
_NLA = struct.Struct("=HH")
_TCP_INFO_RTT = struct.Struct("=I")
_TCP_INFO_BYTES = struct.Struct("=QQ")
_TCP_INFO_RTT_AT, _TCP_INFO_BYTES_AT = 68, 120
_RECV_BYTES = 1 << 20

_V4_MAPPED = b"\0" * 10 + b"\xff\xff"


class RawSocket(NamedTuple):
    """One socket as sock_diag (or /proc/net) reports it; addresses are 16 bytes, IPv4 mapped."""

    proto: int
    """6 (TCP) or 17 (UDP)."""
    state: int
    """Kernel TCP state number (1 ESTABLISHED ... 10 LISTEN; UDP: 7 unconnected, 1 connected)."""
    src: bytes
    sport: int
    dst: bytes
    dport: int
    uid: int
    inode: int
    cookie: int
    rx_bytes: int | None
    tx_bytes: int | None
    rtt_us: int | None


class SockDiagError(OSError):
    """sock_diag is not usable here (no netlink, a kernel without inet_diag, a seccomp filter)."""


def to16(family: int, raw: bytes) -> bytes:
    """A 16-byte address: IPv6 as is, IPv4 (first 4 bytes of raw) as ::ffff:a.b.c.d."""
    return raw if family == socket.AF_INET6 else _V4_MAPPED + raw[:4]


def address16(ip: str) -> bytes:
    """Text address to the 16-byte form used for every key."""
    if ":" in ip:
        return socket.inet_pton(socket.AF_INET6, ip)
    return _V4_MAPPED + socket.inet_pton(socket.AF_INET, ip)


def _request(family: int, proto: int, ext: int, states: int, sockid: bytes, flags: int, seq: int) -> bytes:
    body = _REQ.pack(family, proto, ext, states) + sockid
    return _NLH.pack(_NLH.size + len(body), SOCK_DIAG_BY_FAMILY, flags, seq, 0) + body


def _sockid(family: int, src: bytes, sport: int, dst: bytes, dport: int) -> bytes:
    if family == socket.AF_INET:
        src, dst = src[12:].ljust(16, b"\0"), dst[12:].ljust(16, b"\0")
    cookie = struct.pack("=II", INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE)
    return struct.pack("!HH", sport, dport) + src + dst + struct.pack("=I", 0) + cookie


def _tcp_info(buf: bytes | memoryview, start: int, end: int) -> tuple[int | None, int | None, int | None]:
    """(bytes_received, bytes_acked, rtt_us) from the INET_DIAG_INFO attribute, when present."""
    pos = start
    while pos + 4 <= end:
        length, kind = _NLA.unpack_from(buf, pos)
        if length < 4:
            break
        if kind == INET_DIAG_INFO and length - 4 >= _TCP_INFO_BYTES_AT + 16:
            (rtt,) = _TCP_INFO_RTT.unpack_from(buf, pos + 4 + _TCP_INFO_RTT_AT)
            acked, received = _TCP_INFO_BYTES.unpack_from(buf, pos + 4 + _TCP_INFO_BYTES_AT)
            return received, acked, rtt
        pos += (length + 3) & ~3
    return None, None, None


def _parse(buf: memoryview, proto: int, info: bool) -> Iterator[RawSocket | int]:
    """Yield sockets of one recv buffer; an int means the dump ended (0) or failed (-errno)."""
    if not info:
        fast = _parse_uniform(buf, proto)
        if fast is not None:
            yield from fast
            return
    pos, n = 0, len(buf)
    ntohs = socket.ntohs
    while pos + _NLH.size <= n:
        length, kind, _flags, _seq, _pid = _NLH.unpack_from(buf, pos)
        if length < _NLH.size:
            yield -errno.EPROTO
            return
        if kind == NLMSG_DONE:
            yield 0
            return
        if kind == NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", buf, pos + _NLH.size)
            yield code if code < 0 else 0
            return
        at = pos + _NLH.size
        family, state, sport, dport, src, dst, _if, cookie, uid, inode = _MSG.unpack_from(buf, at)
        rx = tx = rtt = None
        if info and proto == socket.IPPROTO_TCP:
            rx, tx, rtt = _tcp_info(buf, at + _MSG.size, pos + length)
        if family == socket.AF_INET:
            src, dst = _V4_MAPPED + src[:4], _V4_MAPPED + dst[:4]
        yield RawSocket(proto, state, src, ntohs(sport), dst, ntohs(dport), uid, inode, cookie, rx, tx, rtt)
        pos += (length + 3) & ~3


def _parse_uniform(buf: memoryview, proto: int) -> list[RawSocket] | None:
    """Fast path: a buffer of same-length socket messages (the usual dump) parsed in one C loop.

    None when the buffer is not uniform (the caller then walks it message by message).
    """
    if len(buf) < _NLH.size:
        return None
    length = _NLH.unpack_from(buf, 0)[0]
    step = (length + 3) & ~3
    if length < _NLH.size + _MSG.size or len(buf) % step:
        return None
    layout = struct.Struct(f"=IH10x{_MSG.format[1:]}{step - _NLH.size - _MSG.size}x")
    rows = list(layout.iter_unpack(buf))
    if any(r[0] != length or r[1] not in (SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK) for r in rows):
        return None
    ntohs, mapped = socket.ntohs, _V4_MAPPED
    return [
        RawSocket(
            proto,
            state,
            mapped + src[:4] if family == socket.AF_INET else src,
            ntohs(sport),
            mapped + dst[:4] if family == socket.AF_INET else dst,
            ntohs(dport),
            uid,
            inode,
            cookie,
            None,
            None,
            None,
        )
        for _len, _kind, family, state, sport, dport, src, dst, _if, cookie, uid, inode in rows
    ]


class SockDiag:
    """One NETLINK_SOCK_DIAG socket. Not thread-safe: one per thread."""

    def __init__(self) -> None:
        try:
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
            self._sock.bind((0, 0))
        except (OSError, AttributeError) as exc:
            raise SockDiagError(f"sock_diag netlink is not available: {exc}") from None
        self._buf = bytearray(_RECV_BYTES)
        self._seq = 0

    def _exchange(self, request: bytes, proto: int, info: bool) -> Iterator[RawSocket]:
        self._sock.send(request)
        view = memoryview(self._buf)
        while True:
            got = self._sock.recv_into(self._buf)
            for item in _parse(view[:got], proto, info):
                if isinstance(item, int):
                    if item < 0 and -item != errno.ENOENT:
                        raise SockDiagError(-item, f"sock_diag: {errno.errorcode.get(-item, -item)}")
                    return
                yield item

    def dump(
        self, family: int, proto: int, states: int = ALL_STATES, info: bool = False
    ) -> Iterator[RawSocket]:
        """Every socket of one family (AF_INET, AF_INET6) and protocol (IPPROTO_TCP, IPPROTO_UDP)."""
        self._seq += 1
        ext = 1 << (INET_DIAG_INFO - 1) if info else 0
        sockid = _sockid(family, bytes(16), 0, bytes(16), 0)
        yield from self._exchange(
            _request(family, proto, ext, states, sockid, NLM_F_REQUEST | NLM_F_DUMP, self._seq), proto, info
        )

    def dump_tcp(self, states: int = ALL_STATES, info: bool = False) -> list[RawSocket]:
        """Every TCP socket, IPv4 and IPv6, in one walk of the kernel's hash tables.

        The legacy TCPDIAG_GETSOCK request (struct inet_diag_req) dumps both families at once,
        where inet_diag_req_v2 needs one request, and one walk of the whole established-socket hash
        table (sized by memory, not by use), per family. Falls back to two v2 dumps.
        """
        self._seq += 1
        ext = 1 << (INET_DIAG_INFO - 1) if info else 0
        body = _REQ_V1.pack(0, 0, 0, ext) + _sockid(socket.AF_INET, bytes(16), 0, bytes(16), 0)
        body += struct.pack("=II", states, 0)
        head = _NLH.pack(_NLH.size + len(body), TCPDIAG_GETSOCK, NLM_F_REQUEST | NLM_F_DUMP, self._seq, 0)
        try:
            return list(self._exchange(head + body, socket.IPPROTO_TCP, info))
        except SockDiagError:
            families = (socket.AF_INET, socket.AF_INET6)
            return [s for family in families for s in self.dump(family, socket.IPPROTO_TCP, states, info)]

    def dump_all(self, states: int = ALL_STATES, info: bool = False) -> Iterator[RawSocket]:
        """Every TCP and UDP socket, IPv4 and IPv6."""
        yield from self.dump_tcp(states, info)
        for family in (socket.AF_INET, socket.AF_INET6):
            yield from self.dump(family, socket.IPPROTO_UDP, states, info)

    def lookup(self, proto: int, src: bytes, sport: int, dst: bytes, dport: int) -> RawSocket | None:
        """The socket with exactly this local (src) and remote (dst) end, if it still exists."""
        self._seq += 1
        v4 = src.startswith(_V4_MAPPED) and dst.startswith(_V4_MAPPED)
        families = (socket.AF_INET, socket.AF_INET6) if v4 else (socket.AF_INET6,)
        for family in families:  # an IPv4 peer may also be held by a dual-stack IPv6 socket
            sockid = _sockid(family, src, sport, dst, dport)
            try:
                for item in self._exchange(
                    _request(family, proto, 0, ALL_STATES, sockid, NLM_F_REQUEST, self._seq), proto, False
                ):
                    return item
            except SockDiagError:
                continue
        return None

    def close(self) -> None:
        """Close the netlink socket."""
        self._sock.close()

    def __enter__(self) -> SockDiag:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
