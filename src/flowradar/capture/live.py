"""Live capture from a network interface with a raw AF_PACKET socket (Linux).

Packets are read straight into one buffer per batch; a batch ends at about 1 MiB, 4096 packets or
``timeout_ms``. A BPF filter is compiled to classic BPF by ``tcpdump -ddd`` (or by libpcap through
ctypes when tcpdump is absent) and attached to the socket, so the kernel drops what is not wanted.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import select
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from types import TracebackType

from flowradar.capture.base import (
    INDEX_ENTRY,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_RAW,
    PacketBatch,
    SourceError,
    SourceStats,
)

BATCH_BYTES = 1 << 20
BATCH_PACKETS = 4096
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SIOCGIFHWADDR = 0x8927
RCVBUF_BYTES = 8 << 20
SLL_HEADER = struct.Struct(">HHH8sH")
"""Linux cooked header (LINKTYPE_LINUX_SLL), built for interfaces without Ethernet or IP framing."""

_ETHERNET_HW = frozenset({1, 772})  # ARPHRD_ETHER, ARPHRD_LOOPBACK
_RAW_IP_HW = frozenset({65534, 519, 768, 769, 776, 778, 823})  # NONE (tun), RAWIP, IP tunnels
_DLT = {LINKTYPE_ETHERNET: ("EN10MB", 1), LINKTYPE_RAW: ("RAW", 12), LINKTYPE_LINUX_SLL: ("LINUX_SLL", 113)}
_DROP_OUTGOING = [(0x30, 0, 0, 0xFFFFF004), (0x15, 0, 1, PACKET_OUTGOING), (0x06, 0, 0, 0)]
"""ld pkttype; outgoing -> ret 0: on loopback every packet is seen going out and coming in."""
_ACCEPT_ALL = [(0x06, 0, 0, 0x40000)]

Insn = tuple[int, int, int, int]


def default_interface() -> str:
    """The interface of the default route, else the first up non-loopback interface, else 'lo'."""
    name = _default_route()
    if name is not None:
        return name
    for _index, name in socket.if_nameindex():
        if name != "lo" and _is_up(name):
            return name
    return "lo"


def _default_route() -> str | None:
    """Interface of the IPv4 default route with the lowest metric, else of the IPv6 one."""
    best: tuple[int, str] | None = None
    for fields in _table("/proc/net/route"):
        # Iface Destination Gateway Flags RefCnt Use Metric Mask ...
        if len(fields) < 8 or not fields[1] == fields[7] == "00000000" or not int(fields[3], 16) & 1:
            continue
        if best is None or int(fields[6]) < best[0]:
            best = (int(fields[6]), fields[0])
    if best is not None:
        return best[1]
    for fields in _table("/proc/net/ipv6_route"):
        # dest dest_len src src_len next_hop metric refcnt use flags iface
        if len(fields) == 10 and fields[0] == "0" * 32 and fields[1] == "00" and fields[9] != "lo":
            return fields[9]
    return None


def _table(path: str) -> list[list[str]]:
    try:
        with open(path) as fh:
            return [line.split() for line in fh if not line.startswith("Iface")]
    except OSError:
        return []


def _is_up(name: str) -> bool:
    try:
        with open(f"/sys/class/net/{name}/flags") as fh:
            flags = int(fh.read().strip(), 16)
    except (OSError, ValueError):
        return False
    return bool(flags & 0x1) and not flags & 0x8


def compile_filter(expression: str, linktype: int) -> list[Insn]:
    """Compile a tcpdump filter expression to classic BPF for ``linktype``; SourceError if invalid."""
    name, dlt = _DLT[linktype]
    if shutil.which("tcpdump"):
        return _compile_tcpdump(expression, name)
    return _compile_libpcap(expression, dlt)


def _compile_tcpdump(expression: str, dlt_name: str) -> list[Insn]:
    cmd = ["tcpdump", "-ddd", "-y", dlt_name, "--", expression]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SourceError(f"cannot compile capture filter {expression!r}: {exc}") from None
    if done.returncode != 0:
        lines = [line.removeprefix("tcpdump: ") for line in done.stderr.splitlines() if line.strip()]
        why = lines[-1] if lines else f"tcpdump exited with {done.returncode}"
        raise SourceError(f"invalid capture filter {expression!r}: {why}")
    rows = [line.split() for line in done.stdout.splitlines()[1:] if line.strip()]
    return [(int(c), int(jt), int(jf), int(k)) for c, jt, jf, k in rows]


class _BpfInsn(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint),
    ]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


def _compile_libpcap(expression: str, dlt: int) -> list[Insn]:
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("pcap") or "libpcap.so.0.8")
    except OSError:
        raise SourceError(
            "cannot compile capture filters: neither tcpdump nor libpcap is installed"
        ) from None
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_compile.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(_BpfProgram),
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_uint32,
    ]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    handle = lib.pcap_open_dead(dlt, 0x40000)
    if not handle:
        raise SourceError("cannot compile capture filters: libpcap failed")
    prog = _BpfProgram()
    try:
        if lib.pcap_compile(handle, ctypes.byref(prog), expression.encode(), 1, 0xFFFFFFFF) != 0:
            why = (lib.pcap_geterr(handle) or b"invalid filter").decode(errors="replace")
            raise SourceError(f"invalid capture filter {expression!r}: {why}")
        insns = [(i.code, i.jt, i.jf, i.k) for i in prog.bf_insns[: prog.bf_len]]
        lib.pcap_freecode(ctypes.byref(prog))
        return insns
    finally:
        lib.pcap_close(handle)


def _attach_filter(sock: socket.socket, program: list[Insn]) -> None:
    """Attach a classic BPF program (SO_ATTACH_FILTER with a struct sock_fprog)."""
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *insn) for insn in program))
    fprog = struct.pack("HP", len(program), ctypes.addressof(code))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def _linktype_for(hwtype: int) -> int:
    """Link type for an ARPHRD type: Ethernet (also loopback), raw IP (tun, tunnels) or Linux cooked."""
    if hwtype in _ETHERNET_HW:
        return LINKTYPE_ETHERNET
    return LINKTYPE_RAW if hwtype in _RAW_IP_HW else LINKTYPE_LINUX_SLL


class LiveSource:
    """Packets from one interface, in batches, until stopped or a limit is reached."""

    def __init__(
        self,
        interface: str,
        bpf: str | None = None,
        snaplen: int = 65535,
        timeout_ms: int = 200,
        promisc: bool = True,
        max_packets: int | None = None,
        duration_s: float | None = None,
    ) -> None:
        """Open and bind the socket now, so that a bad interface, filter or missing privilege raises
        :class:`SourceError` here rather than on the first batch."""
        self.interface = interface
        self.stats = SourceStats()
        self._snaplen = max(64, min(snaplen, 0x40000))
        self._timeout = max(timeout_ms, 1) / 1000
        self._max_packets = max_packets
        self._duration = duration_s
        self._stop = threading.Event()
        self.linktype = LINKTYPE_ETHERNET
        """Link type of the packets: Ethernet (also loopback), raw IP (tun) or Linux cooked."""
        self._sock = self._open(bpf, promisc)
        self._cooked = self.linktype == LINKTYPE_LINUX_SLL
        self._rx_dropped_at_start = _rx_dropped(self.interface)
        self._stats_at = 0.0

    def _open(self, bpf: str | None, promisc: bool) -> socket.socket:
        where = f"cannot capture on {self.interface}"
        try:
            ifindex = socket.if_nametoindex(self.interface)
        except (OSError, ValueError):
            raise SourceError(f"{where}: no such interface") from None
        sock = self._socket(socket.SOCK_RAW)
        try:
            hwtype = self._hardware_type(sock)
            self.linktype = _linktype_for(hwtype)
            if self.linktype == LINKTYPE_LINUX_SLL:
                sock.close()
                sock = self._socket(socket.SOCK_DGRAM)
            self._setup(sock, ifindex, hwtype, bpf, promisc)
        except OSError as exc:
            sock.close()
            raise SourceError(f"{where}: {exc.strerror or exc}") from None
        except BaseException:
            sock.close()
            raise
        return sock

    def _socket(self, kind: int) -> socket.socket:
        try:
            return socket.socket(socket.AF_PACKET, kind, 0)
        except PermissionError:
            raise SourceError(
                f"cannot capture on {self.interface}: permission denied (run as root or grant CAP_NET_RAW)"
            ) from None
        except OSError as exc:
            raise SourceError(f"cannot capture on {self.interface}: {exc.strerror or exc}") from None

    def _setup(self, sock: socket.socket, ifindex: int, hwtype: int, bpf: str | None, promisc: bool) -> None:
        """Attach the filter, join promiscuous mode, then bind (no packet is queued before that)."""
        # A cooked (SOCK_DGRAM) socket's filter sees the packet from its network header on.
        framing = LINKTYPE_RAW if self.linktype == LINKTYPE_LINUX_SLL else self.linktype
        program = compile_filter(bpf, framing) if bpf else list(_ACCEPT_ALL)
        if hwtype == 772:
            program = _DROP_OUTGOING + program
        _attach_filter(sock, program)
        if promisc and hwtype != 772:
            mreq = struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
        sock.bind((self.interface, ETH_P_ALL))
        sock.setblocking(False)

    def _hardware_type(self, sock: socket.socket) -> int:
        """The interface's ARPHRD type (as /sys/class/net/IF/type, but valid in any namespace)."""
        ifreq = struct.pack("16s16s", self.interface.encode(), b"")
        (family,) = struct.unpack_from("H", fcntl.ioctl(sock.fileno(), SIOCGIFHWADDR, ifreq), 16)
        return int(family)

    # ------------------------------------------------------------------ reading

    def batches(self) -> Iterator[PacketBatch]:
        """Yield batches until :meth:`stop`, ``max_packets`` or ``duration_s``.

        A batch is yielded at least every ``timeout_ms``, empty (count 0) when nothing arrived, so
        that a consumer can run its timers on a quiet link.
        """
        deadline = None if self._duration is None else time.monotonic() + self._duration
        try:
            while not self._stop.is_set():
                left = BATCH_PACKETS
                if self._max_packets is not None:
                    left = min(left, self._max_packets - self.stats.packets)
                    if left <= 0:
                        break
                until = time.monotonic() + self._timeout
                if deadline is not None:
                    until = min(until, deadline)
                batch = self._fill(left, until)
                self.stats.packets += batch.count
                self._refresh_stats(force=False)
                yield batch
                if deadline is not None and time.monotonic() >= deadline:
                    break
        finally:
            self._refresh_stats(force=True)

    def _fill(self, limit: int, until: float) -> PacketBatch:
        """Read up to ``limit`` packets (and about BATCH_BYTES) until the monotonic time ``until``."""
        buf = bytearray(BATCH_BYTES + self._snaplen + SLL_HEADER.size)
        view = memoryview(buf)
        index: list[bytes] = []
        pos = 0
        while len(index) < limit and pos < BATCH_BYTES:
            try:
                wirelen = self._recv(view, pos)
            except BlockingIOError:
                wait = until - time.monotonic()
                if wait <= 0 or self._stop.is_set():
                    break
                select.select([self._sock], [], [], wait)
                continue
            except OSError as exc:
                raise SourceError(f"capture on {self.interface} failed: {exc.strerror or exc}") from None
            caplen = min(wirelen, self._snaplen)
            index.append(INDEX_ENTRY.pack(pos, time.time_ns(), caplen, wirelen, self.linktype, 0))
            pos += caplen
        self.stats.bytes += pos
        return PacketBatch(bytes(view[:pos]), b"".join(index), len(index))

    def _recv(self, view: memoryview, pos: int) -> int:
        """Receive one packet at ``pos``; return its length on the wire (with any cooked header)."""
        if not self._cooked:
            return self._sock.recv_into(view[pos:], self._snaplen, socket.MSG_TRUNC)
        room = self._snaplen - SLL_HEADER.size
        size, addr = self._sock.recvfrom_into(view[pos + SLL_HEADER.size :], room, socket.MSG_TRUNC)
        _name, proto, pkttype, hatype, hwaddr = addr
        SLL_HEADER.pack_into(view, pos, pkttype, hatype, len(hwaddr), hwaddr, proto)
        return int(size) + SLL_HEADER.size

    # ------------------------------------------------------------------ control and counters

    def stop(self) -> None:
        """Make :meth:`batches` return within ``timeout_ms`` (safe to call from another thread)."""
        self._stop.set()

    def close(self) -> None:
        """Stop and release the socket."""
        self._stop.set()
        self._sock.close()

    def __enter__(self) -> LiveSource:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _refresh_stats(self, force: bool) -> None:
        """Add the kernel's drop count (PACKET_STATISTICS resets on read) and the interface's, at
        most twice a second unless ``force``."""
        now = time.monotonic()
        if not force and now - self._stats_at < 0.5:
            return
        self._stats_at = now
        try:
            _packets, drops = struct.unpack("II", self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        except OSError:
            return
        self.stats.kernel_drops += drops
        rx_dropped = _rx_dropped(self.interface)
        if rx_dropped is not None and self._rx_dropped_at_start is not None:
            self.stats.interface_drops = max(0, rx_dropped - self._rx_dropped_at_start)


def _rx_dropped(interface: str) -> int | None:
    """The interface's receive drop counter, from the calling thread's network namespace."""
    for fields in _table("/proc/thread-self/net/dev"):
        if fields and fields[0] == f"{interface}:" and len(fields) > 4:
            return int(fields[4])
    return None
