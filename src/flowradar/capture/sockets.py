"""Socket polling: every TCP and UDP socket of this host (its network namespace) with its owner.

sock_diag netlink is used when available (fast, with TCP byte counters); otherwise the /proc/net
tables. Owners come from /proc (see :mod:`flowradar.capture.sockets_owners`). A poller keeps its
caches between polls, so that a watch loop only scans /proc for sockets it has not placed yet.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from pathlib import Path

from flowradar.capture import sockets_procfs
from flowradar.capture.sockets_netlink import (
    ALL_STATES,
    TCP_LISTEN_STATES,
    UDP_UNCONNECTED_STATES,
    RawSocket,
    SockDiag,
    SockDiagError,
)
from flowradar.capture.sockets_owners import OwnerIndex, ProcessCache, ProcessInfo, user_name
from flowradar.model.connection import Connection

TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
}
UDP_STATES = {1: "ESTABLISHED", 7: "UNCONN"}
STATE_NAMES = frozenset(TCP_STATES.values()) | frozenset(UDP_STATES.values())
_V4_PREFIX = b"\0" * 10 + b"\xff\xff"
_NO_OWNER = ProcessInfo(0, None, None, None, None, None, None, 0)


def state_name(proto: int, state: int) -> str:
    """Text name of a kernel socket state (UDP: UNCONN or ESTABLISHED)."""
    table = TCP_STATES if proto == socket.IPPROTO_TCP else UDP_STATES
    return table.get(state, f"STATE_{state}")


class AddressText:
    """16-byte address -> text, memoised for one poll (hosts repeat the same few addresses)."""

    def __init__(self) -> None:
        self._memo: dict[bytes, tuple[str, int]] = {}

    def __call__(self, raw: bytes) -> tuple[str, int]:
        """(text, IP version)."""
        hit = self._memo.get(raw)
        if hit is None:
            if raw.startswith(_V4_PREFIX):
                hit = (socket.inet_ntop(socket.AF_INET, raw[12:]), 4)
            else:
                hit = (socket.inet_ntop(socket.AF_INET6, raw), 6)
            self._memo[raw] = hit
        return hit


class SocketPoller:
    """Reads the socket table and names the owner of each socket.

    ``netlink=False`` forces the /proc/net fallback. The poller is not thread-safe; use one per thread.
    """

    def __init__(self, proc: Path = Path("/proc"), netlink: bool = True) -> None:
        self.proc = proc
        self.warnings: list[str] = []
        self._diag: SockDiag | None = None
        if netlink:
            try:
                self._diag = SockDiag()
            except SockDiagError as exc:
                self.warnings.append(f"{exc}; reading /proc/net instead (no byte counters)")
        self.owners = OwnerIndex(proc)
        self.processes = ProcessCache(proc)

    @property
    def backend(self) -> str:
        """'sock_diag' or 'procfs'."""
        return "sock_diag" if self._diag is not None else "procfs"

    def raw(
        self, states: int = ALL_STATES, info: bool = False, protos: tuple[int, ...] = (6, 17)
    ) -> list[RawSocket]:
        """Every socket (of these protocols) whose state bit is set in ``states``."""
        if self._diag is not None:
            try:
                out: list[RawSocket] = []
                for proto in protos:
                    if proto == socket.IPPROTO_TCP:
                        out.extend(self._diag.dump_tcp(states, info))
                        continue
                    for family in (socket.AF_INET, socket.AF_INET6):
                        out.extend(self._diag.dump(family, proto, states, info))
                return out
            except SockDiagError as exc:
                self.warnings.append(f"{exc}; reading /proc/net instead (no byte counters)")
                self._diag.close()
                self._diag = None
        return list(sockets_procfs.read_tables(states, self.proc / "net", protos))

    def listening(self) -> list[RawSocket]:
        """Listening TCP sockets and unconnected (bound) UDP sockets."""
        return self.raw(TCP_LISTEN_STATES, protos=(6,)) + self.raw(UDP_UNCONNECTED_STATES, protos=(17,))

    def owners_of(self, raws: Iterable[RawSocket], prune: bool = True) -> dict[int, ProcessInfo]:
        """inode -> process details, for every socket that a live process holds.

        ``prune`` tells the caches that ``raws`` are all the sockets there are (a full poll), so that
        what they know of other sockets and processes can be forgotten.
        """
        inodes = {r.inode for r in raws if r.inode}
        pids = self.owners.resolve(inodes)
        out: dict[int, ProcessInfo] = {}
        infos: dict[int, ProcessInfo | None] = {}
        for inode, pid in pids.items():
            if pid not in infos:
                infos[pid] = self.processes.get(pid)
                if infos[pid] is None:
                    self.owners.forget_pid(pid)
            info = infos[pid]
            if info is not None:
                out[inode] = info
        if prune:
            self.owners.retain(inodes)
            self.processes.retain(set(pids.values()))
        return out

    def lookup(self, proto: int, src: bytes, sport: int, dst: bytes, dport: int) -> RawSocket | None:
        """The live socket with this exact local and remote end (sock_diag only; None otherwise)."""
        if self._diag is None:
            return None
        try:
            return self._diag.lookup(proto, src, sport, dst, dport)
        except (SockDiagError, OSError):
            return None

    def connections(
        self, raws: list[RawSocket], owners: bool = True, now: float | None = None
    ) -> list[Connection]:
        """Connection records for raw sockets, with owners when asked."""
        procs = self.owners_of(raws) if owners else {}
        text = AddressText()
        users = self.processes.users
        ts = time.time() if now is None else now
        nobody = _NO_OWNER
        out: list[Connection] = []
        append = out.append
        for r in raws:
            (lip, ver), (rip, _) = text(r.src), text(r.dst)
            p = procs.get(r.inode, nobody)
            # Positional arguments, in Connection's field order (ten times faster than keywords).
            append(
                Connection(
                    "tcp" if r.proto == socket.IPPROTO_TCP else "udp",
                    ver,
                    lip,
                    r.sport,
                    rip,
                    r.dport,
                    state_name(r.proto, r.state),
                    r.uid,
                    user_name(r.uid, users),
                    r.inode,
                    r.cookie,
                    p.pid or None,
                    p.name,
                    p.exe,
                    p.cgroup,
                    p.container,
                    r.rx_bytes,
                    r.tx_bytes,
                    r.rtt_us / 1000 if r.rtt_us else None,
                    ts,
                )
            )
        return out

    def poll(self, states: int = ALL_STATES, info: bool = False, owners: bool = True) -> list[Connection]:
        """One poll: every socket as a Connection record."""
        return self.connections(self.raw(states, info), owners)

    def close(self) -> None:
        """Release the netlink socket."""
        if self._diag is not None:
            self._diag.close()
            self._diag = None

    def __enter__(self) -> SocketPoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
