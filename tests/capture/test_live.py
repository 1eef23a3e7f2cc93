"""Live capture: real traffic between two network namespaces the test creates, and on loopback.

Traffic goes only to 10.199.X.0/30 addresses that exist inside this test's own namespaces, or to
127.0.0.1. The capture runs in a thread that has joined the capturing namespace (setns).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from flowradar.capture.base import INDEX_ENTRY, INDEX_SIZE, SourceError, SourceStats
from flowradar.capture.live import LiveSource, compile_filter, default_interface

CLONE_NEWNET = 0x40000000
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="live capture needs root")
needs_netns = pytest.mark.skipif(
    not IS_ROOT or shutil.which("ip") is None, reason="needs root and the ip command"
)


@dataclass
class Pair:
    """Two namespaces joined by a veth pair: ``a`` captures, ``b`` sends."""

    ns_a: str
    ns_b: str
    veth_a: str
    addr_a: str
    addr_b: str


@dataclass
class Captured:
    """What one capture run saw."""

    frames: list[tuple[int, int, int, int, bytes]] = field(default_factory=list)
    stats: SourceStats = field(default_factory=SourceStats)
    linktype: int = -1
    batches: int = 0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def pair() -> Iterator[Pair]:
    pid = os.getpid()
    net = f"10.199.{pid % 256}"
    p = Pair(f"fr-test-{pid}a", f"fr-test-{pid}b", f"fra{pid}", f"{net}.1", f"{net}.2")
    veth_b = f"frb{pid}"
    try:
        _ip("netns", "add", p.ns_a)
        _ip("netns", "add", p.ns_b)
        _ip("link", "add", p.veth_a, "netns", p.ns_a, "type", "veth", "peer", "name", veth_b, "netns", p.ns_b)
        _ip("-n", p.ns_a, "addr", "add", f"{p.addr_a}/30", "dev", p.veth_a)
        _ip("-n", p.ns_b, "addr", "add", f"{p.addr_b}/30", "dev", veth_b)
        for ns, dev in ((p.ns_a, p.veth_a), (p.ns_b, veth_b), (p.ns_a, "lo"), (p.ns_b, "lo")):
            _ip("-n", ns, "link", "set", dev, "up")
        yield p
    finally:
        for ns in (p.ns_a, p.ns_b):  # deleting a namespace deletes its end of the veth pair
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False, timeout=30)


@pytest.fixture
def tun_ns() -> Iterator[tuple[str, str, str]]:
    """A namespace holding a persistent tun device: (namespace, device, peer address)."""
    pid = os.getpid()
    ns, dev, net = f"fr-test-{pid}t", f"frt{pid}", f"10.199.{pid % 256}"
    try:
        _ip("netns", "add", ns)
        _ip("-n", ns, "tuntap", "add", "dev", dev, "mode", "tun")
        _ip("-n", ns, "addr", "add", f"{net}.5", "peer", f"{net}.6", "dev", dev)
        _ip("-n", ns, "link", "set", dev, "up")
        yield ns, dev, f"{net}.6"
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False, timeout=30)


def _enter_netns(name: str) -> None:
    """Move the calling thread into a named network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")
    finally:
        os.close(fd)


def capture_while(ns: str | None, interface: str, bpf: str | None, traffic: Callable[[], object]) -> Captured:
    """Capture on ``interface`` (inside namespace ``ns``) while ``traffic`` runs, then stop."""
    seen = Captured()
    ready = threading.Event()
    errors: list[BaseException] = []
    holder: list[LiveSource] = []

    def run() -> None:
        try:
            if ns is not None:
                _enter_netns(ns)
            source = LiveSource(interface, bpf=bpf, duration_s=20)
            holder.append(source)
            ready.set()
            with source:
                for batch in source.batches():
                    seen.batches += 1
                    for i in range(batch.count):
                        off, ts, cap, wire, lt, _ = INDEX_ENTRY.unpack_from(batch.index, i * INDEX_SIZE)
                        seen.frames.append((ts, cap, wire, lt, batch.data[off : off + cap]))
            seen.stats, seen.linktype = source.stats, source.linktype
        except BaseException as exc:
            errors.append(exc)
            ready.set()

    worker = threading.Thread(target=run)
    worker.start()
    assert ready.wait(10)
    if not errors:
        traffic()
        time.sleep(0.5)
        holder[0].stop()
    worker.join(15)
    assert not worker.is_alive()
    if errors:
        raise errors[0]
    return seen


def send_udp_from(ns: str, host: str, port: int, count: int) -> None:
    """Send ``count`` UDP datagrams from namespace ``ns`` with a real client (python in ip netns exec)."""
    code = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"for i in range({count}): s.sendto(b'flowradar-%d' % i, ({host!r}, {port}))\n"
    )
    subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], check=True, timeout=30)


TUN_SENDER = """
import fcntl, os, socket, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)  # attach to the tun device so that it has a carrier
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", sys.argv[1].encode(), 0x0001 | 0x1000))
time.sleep(0.2)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in (9998, 9999, 9999, 9999, 9998):
    s.sendto(b"tun", (sys.argv[2], port))
time.sleep(0.2)
"""


def connect_tcp_from(ns: str, host: str, port: int) -> None:
    """Try a TCP connection from namespace ``ns`` (refused: nothing listens)."""
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(({host!r}, {port}), timeout=5)\n"
        "except ConnectionRefusedError:\n"
        "    pass\n"
    )
    subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], check=True, timeout=30)


def udp_ports(frames: list[tuple[int, int, int, int, bytes]]) -> list[int]:
    """Destination ports of the IPv4 UDP frames among Ethernet frames."""
    ports = []
    for _ts, _cap, _wire, _lt, frame in frames:
        if frame[12:14] == b"\x08\x00" and frame[23] == 17:
            ihl = (frame[14] & 0x0F) * 4
            ports.append(struct.unpack_from(">H", frame, 14 + ihl + 2)[0])
    return ports


# ---------------------------------------------------------------- scenarios


@pytest.mark.scenario
@needs_netns
def test_filter_keeps_only_matching_datagrams(pair: Pair) -> None:
    def traffic() -> None:
        send_udp_from(pair.ns_b, pair.addr_a, 9998, 5)
        send_udp_from(pair.ns_b, pair.addr_a, 9999, 20)
        send_udp_from(pair.ns_b, pair.addr_a, 9998, 5)

    seen = capture_while(pair.ns_a, pair.veth_a, "udp port 9999", traffic)
    assert udp_ports(seen.frames) == [9999] * 20
    assert len(seen.frames) == 20
    assert all(b"flowradar-" in frame for *_, frame in seen.frames)
    assert seen.stats.packets == 20 and seen.stats.kernel_drops == 0
    assert seen.stats.bytes == sum(f[1] for f in seen.frames)


@pytest.mark.scenario
@needs_netns
def test_unfiltered_capture_sees_everything_with_sane_metadata(pair: Pair) -> None:
    start = time.time_ns()

    def traffic() -> None:
        send_udp_from(pair.ns_b, pair.addr_a, 9999, 20)
        connect_tcp_from(pair.ns_b, pair.addr_a, 9997)

    seen = capture_while(pair.ns_a, pair.veth_a, None, traffic)
    end = time.time_ns()
    assert seen.linktype == 1
    assert udp_ports(seen.frames).count(9999) == 20
    tcp = [f for *_, f in seen.frames if f[12:14] == b"\x08\x00" and f[23] == 6]
    assert [f[34 + 13] & 0x16 for f in tcp] == [0x02, 0x14]  # SYN, then RST+ACK (nothing listens)
    assert any(f[23] == 1 for *_, f in seen.frames)  # ICMP port unreachable for the datagrams
    assert any(f[12:14] == b"\x08\x06" for *_, f in seen.frames)  # ARP
    assert all(
        start <= ts <= end and cap == wire == len(f) and lt == 1 for ts, cap, wire, lt, f in seen.frames
    )
    assert [ts for ts, *_ in seen.frames] == sorted(ts for ts, *_ in seen.frames)
    assert seen.stats.packets == len(seen.frames) and seen.stats.kernel_drops == 0
    assert seen.batches >= 2  # quiet periods give (empty) batches at least every timeout


@pytest.mark.scenario
@needs_netns
def test_tun_device_gives_raw_ip_packets(tun_ns: tuple[str, str, str]) -> None:
    ns, dev, peer = tun_ns
    cmd = ["ip", "netns", "exec", ns, sys.executable, "-c", TUN_SENDER, dev, peer]
    seen = capture_while(ns, dev, "udp dst port 9999", lambda: subprocess.run(cmd, check=True, timeout=30))
    assert seen.linktype == 101
    assert len(seen.frames) == 3
    for _ts, cap, _wire, lt, packet in seen.frames:
        assert lt == 101 and packet[0] >> 4 == 4 and packet[9] == 17 and cap == len(packet) == 31
        assert struct.unpack_from(">H", packet, 22)[0] == 9999


@pytest.mark.scenario
@needs_root
def test_loopback_sees_each_datagram_once_and_honours_max_packets() -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    port = receiver.getsockname()[1]
    source = LiveSource("lo", bpf=f"udp port {port}", max_packets=10, duration_s=10)

    def traffic() -> None:
        time.sleep(0.2)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(15):
            sender.sendto(b"x%d" % i, ("127.0.0.1", port))
        sender.close()

    thread = threading.Thread(target=traffic)
    thread.start()
    with source:
        counts = [batch.count for batch in source.batches()]
    thread.join()
    receiver.close()
    assert sum(counts) == 10 == source.stats.packets
    # without max_packets, every datagram is seen once, not once going out and once coming in
    seen = capture_while(None, "lo", f"udp port {port}", lambda: _send_local(port, 15))
    assert len(seen.frames) == 15


def _send_local(port: int, count: int) -> None:
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(count):
        sender.sendto(b"y%d" % i, ("127.0.0.1", port))
    sender.close()


@pytest.mark.scenario
@needs_root
def test_duration_and_stop_end_the_capture() -> None:
    started = time.monotonic()
    with LiveSource("lo", bpf="udp port 9", duration_s=0.5, timeout_ms=50) as source:
        batches = list(source.batches())
    assert 0.4 < time.monotonic() - started < 3 and all(b.count == 0 for b in batches)
    with LiveSource("lo", bpf="udp port 9", timeout_ms=50) as source:
        threading.Timer(0.3, source.stop).start()
        list(source.batches())
    assert time.monotonic() - started < 5


@needs_root
def test_invalid_filter_is_a_source_error() -> None:
    with pytest.raises(SourceError, match=r"invalid capture filter 'udp port': .*syntax error"):
        LiveSource("lo", bpf="udp port")


# ---------------------------------------------------------------- without privileges


def test_unknown_interface_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="cannot capture on fr-nope0: no such interface"):
        LiveSource("fr-nope0")


def test_missing_privilege_is_a_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def deny(*args: object) -> socket.socket:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(socket, "socket", deny)
    with pytest.raises(SourceError) as err:
        LiveSource("lo")
    assert str(err.value) == "cannot capture on lo: permission denied (run as root or grant CAP_NET_RAW)"


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_libpcap_fallback_compiles_like_tcpdump(monkeypatch: pytest.MonkeyPatch) -> None:
    expressions = ["udp port 9999", "tcp and not port 22", "icmp or arp"]
    with_tcpdump = [compile_filter(e, 1) for e in expressions] + [compile_filter("udp", 101)]
    monkeypatch.setattr(shutil, "which", lambda name: None)
    try:
        without = [compile_filter(e, 1) for e in expressions] + [compile_filter("udp", 101)]
    except SourceError as exc:
        pytest.skip(str(exc))
    assert without == with_tcpdump
    with pytest.raises(SourceError, match="invalid capture filter 'udp port'"):
        compile_filter("udp port", 1)


def test_default_interface_exists() -> None:
    name = default_interface()
    assert name == "lo" or name in {n for _, n in socket.if_nameindex()}
