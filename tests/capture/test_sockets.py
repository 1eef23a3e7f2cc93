"""Socket polling: real sockets opened here are found with the right state, pid and process name."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowradar.capture import sockets_procfs
from flowradar.capture.sockets import SocketPoller
from flowradar.capture.sockets_netlink import ALL_STATES, address16
from flowradar.capture.sockets_owners import OwnerIndex, cgroup_of
from flowradar.model.connection import Connection

MY_COMM = Path("/proc/self/comm").read_text().strip()
MY_EXE = os.readlink("/proc/self/exe")


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket, socket.socket]]:
    """A listener on 127.0.0.1 and one connection to it (client, accepted)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    yield listener, client, server
    for s in (client, server, listener):
        s.close()


def find(conns: list[Connection], transport: str, port: int, remote_port: int = 0) -> Connection:
    hits = [
        c for c in conns if c.transport == transport and c.local_port == port and c.remote_port == remote_port
    ]
    assert len(hits) == 1, hits
    return hits[0]


@pytest.mark.parametrize("netlink", [True, False], ids=["sock_diag", "procfs"])
def test_tcp_sockets_with_owner_and_state(tcp_pair: tuple[socket.socket, ...], netlink: bool) -> None:
    listener, client, _server = tcp_pair
    lport, cport = listener.getsockname()[1], client.getsockname()[1]
    with SocketPoller(netlink=netlink) as poller:
        assert poller.backend == ("sock_diag" if netlink else "procfs")
        conns = poller.poll()
    lst = find(conns, "tcp", lport)
    assert (lst.state, lst.local_ip, lst.remote(), lst.ip_version) == ("LISTEN", "127.0.0.1", "*", 4)
    out = find(conns, "tcp", cport, lport)
    inbound = find(conns, "tcp", lport, cport)
    for c in (lst, out, inbound):
        assert c.pid == os.getpid()
        assert c.process == MY_COMM
        assert c.exe == MY_EXE
        assert c.uid == os.geteuid() and c.user
        assert c.inode > 0
    assert out.state == inbound.state == "ESTABLISHED"
    assert out.remote() == f"127.0.0.1:{lport}"


def test_udp_and_ipv6_sockets() -> None:
    bound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bound.bind(("127.0.0.1", 0))
    connected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    connected.connect(bound.getsockname())
    try:
        six = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        six.bind(("::1", 0))
        six.listen()
    except OSError:
        six = None
    try:
        with SocketPoller() as poller:
            conns = poller.poll()
        assert find(conns, "udp", bound.getsockname()[1]).state == "UNCONN"
        c = find(conns, "udp", connected.getsockname()[1], bound.getsockname()[1])
        assert c.state == "ESTABLISHED" and c.pid == os.getpid()
        if six is not None:
            v6 = find(conns, "tcp", six.getsockname()[1])
            assert (v6.ip_version, v6.local_ip, v6.local(), v6.state) == (
                6,
                "::1",
                f"[::1]:{v6.local_port}",
                "LISTEN",
            )
    finally:
        for s in (bound, connected, six):
            if s is not None:
                s.close()


def test_owner_is_another_process_by_name(tmp_path: Path) -> None:
    """A child started under its own program name holds a socket: its pid and name are found."""
    exe = tmp_path / "frsockowner"
    exe.symlink_to(os.path.realpath(sys.executable))
    code = (
        "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); "
        "print(s.getsockname()[1], flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen([str(exe), "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        with SocketPoller() as poller:
            c = find(poller.poll(), "tcp", port)
        assert (c.pid, c.process, c.state) == (child.pid, "frsockowner", "LISTEN")
        assert c.exe == os.path.realpath(sys.executable)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)


def test_tcp_info_byte_counters_and_exact_lookup(tcp_pair: tuple[socket.socket, ...]) -> None:
    listener, client, server = tcp_pair
    client.sendall(b"x" * 50_000)
    got = 0
    while got < 50_000:
        got += len(server.recv(65536))
    cport, lport = client.getsockname()[1], listener.getsockname()[1]
    with SocketPoller() as poller:
        conns = poller.poll(info=True)
        raw = poller.lookup(6, address16("127.0.0.1"), cport, address16("127.0.0.1"), lport)
        gone = poller.lookup(6, address16("127.0.0.1"), 1, address16("127.0.0.1"), 2)
    out, inbound = find(conns, "tcp", cport, lport), find(conns, "tcp", lport, cport)
    assert out.tx_bytes is not None and out.tx_bytes >= 50_000
    assert inbound.rx_bytes is not None and inbound.rx_bytes >= 50_000
    assert out.rtt_ms is not None and out.rtt_ms >= 0
    assert raw is not None and raw.sport == cport and raw.dport == lport and raw.inode == out.inode
    assert gone is None


def test_sock_diag_and_procfs_agree(tcp_pair: tuple[socket.socket, ...]) -> None:
    ours = {s.getsockname()[1] for s in tcp_pair}

    def keys(netlink: bool) -> set[tuple[str, str, int, str, int, str]]:
        with SocketPoller(netlink=netlink) as poller:
            return {
                (c.transport, c.local_ip, c.local_port, c.remote_ip, c.remote_port, c.state)
                for c in poller.poll(owners=False)
                if c.local_port in ours
            }

    assert keys(True) == keys(False) and len(keys(True)) == 3


def test_procfs_table_parsing() -> None:
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1\n"
        "   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 12346 1\n"
        "   2: garbage\n"
    )
    rows = list(sockets_procfs.parse_table(text, 6, socket.AF_INET, ALL_STATES))
    assert [(r.sport, r.dport, r.state, r.uid, r.inode) for r in rows] == [
        (8080, 0, 10, 0, 12345),
        (54321, 8080, 1, 1000, 12346),
    ]
    assert rows[0].src == address16("127.0.0.1")
    six = "h\n   0: " + "0" * 24 + "01000000:0016 " + "0" * 32 + ":0000 0A 0:0 0:0 0 0 0 7 1\n"
    (row,) = sockets_procfs.parse_table(six, 6, socket.AF_INET6, ALL_STATES)
    assert (row.src, row.sport) == (address16("::1"), 22)


def test_cgroup_and_container() -> None:
    docker = "0::/system.slice/docker-" + "ab" * 32 + ".scope\n"
    assert cgroup_of(docker) == ("/system.slice/docker-" + "ab" * 32 + ".scope", "ab" * 6)
    v1 = "12:pids:/docker/" + "cd" * 32 + "\n1:name=systemd:/docker/" + "cd" * 32 + "\n0::/\n"
    assert cgroup_of(v1) == ("/docker/" + "cd" * 32, "cd" * 6)
    assert cgroup_of("0::/user.slice/session-1.scope\n") == ("/user.slice/session-1.scope", None)
    assert cgroup_of("") == (None, None)


def test_owner_index_does_not_rescan_for_unowned_sockets(tcp_pair: tuple[socket.socket, ...]) -> None:
    index = OwnerIndex()
    nobody = 2**31 - 7  # an inode no process holds
    assert index.resolve({nobody}) == {} and index.scans == 1
    assert index.resolve({nobody}) == {} and index.scans == 1  # remembered as unowned for a while
    with SocketPoller() as poller:
        mine = {c.inode for c in poller.poll(owners=False) if c.local_port == tcp_pair[0].getsockname()[1]}
    assert set(index.resolve(mine).values()) == {os.getpid()}
    assert index.scans == 1  # the first (whole) scan placed every socket it passed
    index.retain(set())
    assert index.resolve(mine) and index.scans == 2  # forgotten, so looked for again
