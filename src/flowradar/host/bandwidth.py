"""Per-process and per-remote-host bandwidth for `flowradar top`, in the manner of bandwhich.

Byte counts come from sock_diag's tcp_info (bytes_received, bytes_acked) of every TCP socket,
differenced between polls by socket cookie. UDP sockets carry no byte counters there and are not
counted. Without sock_diag, /proc/PID/io (rchar, wchar: all of a process's I/O, not only the
network) of the processes holding sockets is used instead and the remote-host view stays empty.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from flowradar.capture.sockets import SocketPoller
from flowradar.model.connection import Connection

MAX_KEYS = 4096
"""Rows kept in the running totals (the smallest totals are dropped beyond this)."""


@dataclass(slots=True)
class Rate:
    """Traffic of one process or one remote host."""

    key: str
    """'name (pid)' for a process, the address for a remote host."""
    rx_s: float = 0.0
    """Bytes received per second over the last interval."""
    tx_s: float = 0.0
    """Bytes sent per second over the last interval."""
    rx_total: int = 0
    """Bytes received since the meter started."""
    tx_total: int = 0
    """Bytes sent since the meter started."""
    connections: int = 0
    """Sockets counted in the last interval."""


@dataclass(slots=True)
class BandwidthSnapshot:
    """One refresh of the meter."""

    interval_s: float
    processes: list[Rate] = field(default_factory=list)
    remotes: list[Rate] = field(default_factory=list)
    source: str = "tcp_info"
    """'tcp_info' (per-socket TCP counters) or 'proc_io' (all I/O of socket-owning processes)."""


def _proc_io(proc: Path, pid: int) -> tuple[int, int] | None:
    try:
        text = (proc / str(pid) / "io").read_text()
    except OSError:
        return None
    values = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        return int(values["rchar"]), int(values["wchar"])
    except (KeyError, ValueError):
        return None


def _bounded(totals: dict[str, Rate]) -> None:
    if len(totals) > MAX_KEYS:
        keep = sorted(totals.values(), key=lambda r: r.rx_total + r.tx_total, reverse=True)[: MAX_KEYS // 2]
        totals.clear()
        totals.update((r.key, r) for r in keep)


class BandwidthMeter:
    """Call :meth:`update` periodically; each call returns rates over the time since the last one."""

    def __init__(self, poller: SocketPoller) -> None:
        self._poller = poller
        self._prev: dict[int, tuple[int, int]] = {}
        self._at: float | None = None
        self._procs: dict[str, Rate] = {}
        self._remotes: dict[str, Rate] = {}

    def _deltas(self, conns: list[Connection], first: bool) -> list[tuple[Connection, int, int]]:
        """(connection, received, sent) since the last poll; a socket seen in the first poll starts at 0."""
        seen: dict[int, tuple[int, int]] = {}
        out: list[tuple[Connection, int, int]] = []
        for c in conns:
            if c.rx_bytes is None or c.tx_bytes is None:
                continue
            key = c.cookie or c.inode
            seen[key] = (c.rx_bytes, c.tx_bytes)
            before = self._prev.get(key, (c.rx_bytes, c.tx_bytes) if first else (0, 0))
            out.append((c, max(0, c.rx_bytes - before[0]), max(0, c.tx_bytes - before[1])))
        self._prev = seen
        return out

    def _io_deltas(self, conns: list[Connection], first: bool) -> list[tuple[Connection, int, int]]:
        """Fallback: per-process /proc/PID/io deltas, attributed to one socket of each process."""
        seen: dict[int, tuple[int, int]] = {}
        out: list[tuple[Connection, int, int]] = []
        for c in {c.pid: c for c in conns if c.pid}.values():
            assert c.pid is not None
            io = _proc_io(self._poller.proc, c.pid)
            if io is None:
                continue
            seen[c.pid] = io
            before = self._prev.get(c.pid, io if first else (0, 0))
            out.append((c, max(0, io[0] - before[0]), max(0, io[1] - before[1])))
        self._prev = seen
        return out

    @staticmethod
    def _add(table: dict[str, Rate], key: str, rx: int, tx: int, dt: float) -> None:
        row = table.get(key)
        if row is None:
            row = table[key] = Rate(key)
        row.rx_total += rx
        row.tx_total += tx
        row.rx_s += rx / dt if dt > 0 else 0.0
        row.tx_s += tx / dt if dt > 0 else 0.0
        row.connections += 1

    def update(self) -> BandwidthSnapshot:
        """Poll the sockets and return the rates since the previous call."""
        now = time.monotonic()
        dt = now - self._at if self._at is not None else 0.0
        first = self._at is None
        self._at = now
        tcp_info = self._poller.backend == "sock_diag"
        conns = self._poller.connections(
            self._poller.raw(info=tcp_info, protos=(6,) if tcp_info else (6, 17))
        )
        deltas = self._deltas(conns, first) if tcp_info else self._io_deltas(conns, first)
        for table in (self._procs, self._remotes):
            for row in table.values():
                row.rx_s = row.tx_s = 0.0
                row.connections = 0
        for c, rx, tx in deltas:
            name = f"{c.process or '?'} ({c.pid})" if c.pid else "(no process)"
            self._add(self._procs, name, rx, tx, dt)
            if tcp_info and c.remote_port:
                self._add(self._remotes, c.remote_ip, rx, tx, dt)
        _bounded(self._procs)
        _bounded(self._remotes)

        def order(rows: dict[str, Rate]) -> list[Rate]:
            """Busiest now first, then by total."""
            return sorted(
                rows.values(), key=lambda r: (r.rx_s + r.tx_s, r.rx_total + r.tx_total), reverse=True
            )

        return BandwidthSnapshot(
            round(dt, 3), order(self._procs), order(self._remotes), "tcp_info" if tcp_info else "proc_io"
        )
