"""The process table for host metrics: CPU (from tick deltas), memory, storage I/O, TCP bytes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flowradar.capture.sockets_owners import user_name
from flowradar.model.host import ProcessMetrics

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of /proc/PID/stat and /proc/PID/io that the table uses."""

    pid: int
    name: str
    state: str
    ticks: int
    """utime + stime, clock ticks."""
    start: int
    threads: int
    rss_bytes: int
    uid: int | None
    read_bytes: int | None
    write_bytes: int | None


def _io(proc: Path, pid: int) -> tuple[int | None, int | None]:
    try:
        text = (proc / str(pid) / "io").read_text()
    except OSError:
        return None, None
    values = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        return int(values["read_bytes"]), int(values["write_bytes"])
    except (KeyError, ValueError):
        return None, None


def read_proc(proc: Path, pid: int) -> ProcStat | None:
    """One process, or None when it vanished or the line does not parse."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
        uid: int | None = os.stat(proc / str(pid)).st_uid
    except OSError:
        return None
    head, _, tail = stat.rpartition(")")
    name = head.partition("(")[2]
    f = tail.split()
    try:
        ticks, threads, start, rss = int(f[11]) + int(f[12]), int(f[17]), int(f[19]), int(f[21])
    except (IndexError, ValueError):
        return None
    read_bytes, write_bytes = _io(proc, pid)
    return ProcStat(pid, name, f[0], ticks, start, threads, rss * PAGE_SIZE, uid, read_bytes, write_bytes)


class ProcessTable:
    """Samples every process; CPU percent is relative to the previous sample of the same process."""

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self.proc = proc
        self._prev: dict[int, tuple[int, int]] = {}
        self._users: dict[int, str | None] = {}

    def sample(
        self, dt: float, mem_total: int, limit: int, net: dict[int, tuple[int, int]] | None = None
    ) -> list[ProcessMetrics]:
        """The ``limit`` busiest processes (CPU, then resident memory).

        ``net`` maps pid -> (bytes received, bytes sent) of its TCP sockets, when known.
        """
        rows: list[ProcessMetrics] = []
        seen: dict[int, tuple[int, int]] = {}
        for entry in os.listdir(self.proc):
            if not entry.isdigit():
                continue
            st = read_proc(self.proc, int(entry))
            if st is None:
                continue
            seen[st.pid] = (st.start, st.ticks)
            prev = self._prev.get(st.pid)
            cpu = 0.0
            if prev is not None and prev[0] == st.start and dt > 0:
                cpu = max(0, st.ticks - prev[1]) / CLK_TCK / dt * 100
            rx_tx = net.get(st.pid) if net is not None else None
            rows.append(
                ProcessMetrics(
                    pid=st.pid,
                    name=st.name,
                    user=user_name(st.uid, self._users) if st.uid is not None else None,
                    state=st.state,
                    threads=st.threads,
                    cpu_percent=round(cpu, 2),
                    rss_bytes=st.rss_bytes,
                    mem_percent=round(st.rss_bytes / mem_total * 100, 2) if mem_total else 0.0,
                    read_bytes=st.read_bytes,
                    write_bytes=st.write_bytes,
                    net_rx_bytes=rx_tx[0] if rx_tx else None,
                    net_tx_bytes=rx_tx[1] if rx_tx else None,
                )
            )
        self._prev = seen
        rows.sort(key=lambda p: (-p.cpu_percent, -p.rss_bytes, p.pid))
        return rows[:limit]
