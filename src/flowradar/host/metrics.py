"""Host metrics: interface counters and rates, CPU, memory, disk usage and I/O, the process table.

Sources: /proc/net/dev (interfaces of this network namespace) and /sys/class/net/IF/operstate;
/proc/stat (CPU); /proc/meminfo; /proc/mounts + os.statvfs (disk usage, pseudo filesystems
skipped); /proc/diskstats (I/O of whole block devices); /proc/PID/{stat,io} (processes); sock_diag
(TCP bytes per process). Rates are deltas between two samples divided by the time between them.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from flowradar.capture.sockets import SocketPoller
from flowradar.config import HostConfig
from flowradar.host.procs import ProcessTable
from flowradar.model.host import DiskIO, DiskUsage, HostMetrics, InterfaceMetrics

PSEUDO_FS = frozenset(
    {
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "tmpfs",
        "ramfs",
        "cgroup",
        "cgroup2",
        "pstore",
        "bpf",
        "tracefs",
        "debugfs",
        "securityfs",
        "configfs",
        "fusectl",
        "mqueue",
        "hugetlbfs",
        "autofs",
        "binfmt_misc",
        "rpc_pipefs",
        "nsfs",
        "efivarfs",
        "selinuxfs",
        "squashfs",
        "overlay",
        "fuse.lxcfs",
        "fuse.gvfsd-fuse",
        "fuse.portal",
        "nfsd",
    }
)
"""Filesystem types that hold no user data (or only a read-only image): left out of disk usage."""
SECTOR = 512
_CPU_IDLE, _CPU_IOWAIT = 3, 4


@dataclass(slots=True)
class RawSample:
    """Cumulative counters of one moment (the input to rates)."""

    mono: float
    cpu: list[int] = field(default_factory=list)
    nets: dict[str, list[int]] = field(default_factory=dict)
    disks: dict[str, list[int]] = field(default_factory=dict)


def read_cpu(proc: Path) -> list[int]:
    """Aggregate jiffies of /proc/stat's first line: user nice system idle iowait irq softirq steal."""
    with open(proc / "stat") as fh:
        first = fh.readline().split()
    return [int(x) for x in first[1:9]]


def read_net_dev(proc: Path) -> dict[str, list[int]]:
    """Interface -> the 16 counters of /proc/net/dev (rx bytes packets errs drop ..., tx ...)."""
    out: dict[str, list[int]] = {}
    try:
        lines = (proc / "net" / "dev").read_text().splitlines()[2:]
    except OSError:
        return out
    for line in lines:
        name, _, values = line.partition(":")
        try:
            out[name.strip()] = [int(v) for v in values.split()[:16]]
        except ValueError:
            continue
    return out


def read_diskstats(proc: Path, sys_root: Path) -> dict[str, list[int]]:
    """Whole block device -> [reads, sectors read, writes, sectors written, ms doing I/O]."""
    out: dict[str, list[int]] = {}
    try:
        lines = (proc / "diskstats").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        f = line.split()
        if len(f) < 14 or not (sys_root / "block" / f[2]).exists():
            continue
        values = [int(f[3]), int(f[5]), int(f[7]), int(f[9]), int(f[12])]
        if any(values) or not f[2].startswith(("loop", "ram", "zram")):
            out[f[2]] = values
    return out


def read_meminfo(proc: Path) -> dict[str, int]:
    """/proc/meminfo in bytes."""
    out: dict[str, int] = {}
    for line in (proc / "meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return out


def disk_usage(proc: Path) -> list[DiskUsage]:
    """Usage of every real mounted filesystem (one entry per device: bind mounts are not repeated)."""
    out: list[DiskUsage] = []
    seen: set[str] = set()
    try:
        mounts = (proc / "mounts").read_text().splitlines()
    except OSError:
        return out
    for line in mounts:
        f = line.split()
        if len(f) < 3 or f[2] in PSEUDO_FS or f[0] in seen:
            continue
        mount = f[1].replace("\\040", " ")
        try:
            st = os.statvfs(mount)
        except OSError:
            continue
        if st.f_blocks == 0:
            continue
        seen.add(f[0])
        total, free, avail = st.f_blocks * st.f_frsize, st.f_bfree * st.f_frsize, st.f_bavail * st.f_frsize
        used = total - free
        percent = used / (used + avail) * 100 if used + avail else 0.0
        out.append(DiskUsage(mount, f[0], f[2], total, used, avail, round(percent, 1)))
    return out


def _rate(now: int, before: int | None, dt: float) -> float:
    if before is None or dt <= 0 or now < before:
        return 0.0
    return round((now - before) / dt, 2)


def _rates(now: list[int], before: list[int] | None, dt: float) -> list[float]:
    """Per-second rate of each counter (0.0 without a previous reading or after a counter reset)."""
    return [_rate(v, before[i] if before else None, dt) for i, v in enumerate(now)]


def interfaces(raw: RawSample, prev: RawSample | None, sys_root: Path) -> list[InterfaceMetrics]:
    """Counters and rates of each interface."""
    dt = raw.mono - prev.mono if prev else 0.0
    out: list[InterfaceMetrics] = []
    for name, v in sorted(raw.nets.items()):
        r = _rates(v, prev.nets.get(name) if prev else None, dt)
        try:
            state = (sys_root / "class" / "net" / name / "operstate").read_text().strip()
        except OSError:
            state = "unknown"
        out.append(
            InterfaceMetrics(
                name=name,
                up=state in ("up", "unknown"),
                rx_bytes=v[0],
                rx_packets=v[1],
                rx_errors=v[2],
                rx_drops=v[3],
                tx_bytes=v[8],
                tx_packets=v[9],
                tx_errors=v[10],
                tx_drops=v[11],
                rx_bytes_s=r[0],
                tx_bytes_s=r[8],
                rx_packets_s=r[1],
                tx_packets_s=r[9],
                errors_s=round(r[2] + r[10], 2),
                drops_s=round(r[3] + r[11], 2),
            )
        )
    return out


def disk_io(raw: RawSample, prev: RawSample | None) -> list[DiskIO]:
    """I/O counters and rates of each block device."""
    dt = raw.mono - prev.mono if prev else 0.0
    out: list[DiskIO] = []
    for name, v in sorted(raw.disks.items()):
        p = prev.disks.get(name) if prev else None
        busy = _rate(v[4], p[4] if p else None, dt) / 10  # ms per second -> percent
        out.append(
            DiskIO(
                device=name,
                reads=v[0],
                writes=v[2],
                read_bytes=v[1] * SECTOR,
                write_bytes=v[3] * SECTOR,
                read_bytes_s=_rate(v[1] * SECTOR, p[1] * SECTOR if p else None, dt),
                write_bytes_s=_rate(v[3] * SECTOR, p[3] * SECTOR if p else None, dt),
                reads_s=_rate(v[0], p[0] if p else None, dt),
                writes_s=_rate(v[2], p[2] if p else None, dt),
                busy_percent=round(min(busy, 100.0), 1),
            )
        )
    return out


def cpu_percents(now: list[int], before: list[int] | None) -> tuple[float, float]:
    """(busy percent, iowait percent) over the interval between two /proc/stat readings."""
    if not before:
        return 0.0, 0.0
    delta = [a - b for a, b in zip(now, before, strict=False)]
    total = sum(delta)
    if total <= 0:
        return 0.0, 0.0
    busy = total - delta[_CPU_IDLE] - delta[_CPU_IOWAIT]
    return round(busy / total * 100, 2), round(delta[_CPU_IOWAIT] / total * 100, 2)


class HostSampler:
    """Takes HostMetrics samples; each sample's rates are relative to the previous one."""

    def __init__(
        self,
        cfg: HostConfig,
        proc: Path = Path("/proc"),
        sys_root: Path = Path("/sys"),
        net_bytes: bool = True,
    ) -> None:
        self.cfg = cfg
        self.proc = proc
        self.sys_root = sys_root
        self._prev: RawSample | None = None
        self._procs = ProcessTable(proc)
        self._poller = SocketPoller(proc) if net_bytes else None

    def _net_by_pid(self) -> dict[int, tuple[int, int]] | None:
        if self._poller is None or self._poller.backend != "sock_diag":
            return None
        raws = self._poller.raw(info=True, protos=(socket.IPPROTO_TCP,))
        owners = self._poller.owners_of(raws)
        out: dict[int, tuple[int, int]] = {}
        for r in raws:
            info = owners.get(r.inode)
            if info is not None and r.rx_bytes is not None and r.tx_bytes is not None:
                rx, tx = out.get(info.pid, (0, 0))
                out[info.pid] = (rx + r.rx_bytes, tx + r.tx_bytes)
        return out

    def sample(self) -> HostMetrics:
        """Read everything now."""
        raw = RawSample(
            time.monotonic(),
            read_cpu(self.proc),
            read_net_dev(self.proc),
            read_diskstats(self.proc, self.sys_root),
        )
        prev, self._prev = self._prev, raw
        dt = raw.mono - prev.mono if prev else 0.0
        mem = read_meminfo(self.proc)
        cpu, iowait = cpu_percents(raw.cpu, prev.cpu if prev else None)
        total, avail = mem.get("MemTotal", 0), mem.get("MemAvailable", mem.get("MemFree", 0))
        load = os.getloadavg()
        with open(self.proc / "uptime") as fh:
            uptime = float(fh.read().split()[0])
        return HostMetrics(
            ts=time.time(),
            hostname=socket.gethostname(),
            interval_s=round(dt, 3),
            uptime_s=uptime,
            cpu_count=os.cpu_count() or 1,
            cpu_percent=cpu,
            cpu_iowait_percent=iowait,
            load1=round(load[0], 2),
            load5=round(load[1], 2),
            load15=round(load[2], 2),
            mem_total_bytes=total,
            mem_available_bytes=avail,
            mem_used_bytes=total - avail,
            mem_percent=round((total - avail) / total * 100, 1) if total else 0.0,
            swap_total_bytes=mem.get("SwapTotal", 0),
            swap_used_bytes=mem.get("SwapTotal", 0) - mem.get("SwapFree", 0),
            interfaces=interfaces(raw, prev, self.sys_root),
            disks=disk_usage(self.proc),
            disk_io=disk_io(raw, prev),
            processes=self._procs.sample(dt, total, self.cfg.processes, self._net_by_pid()),
        )

    def close(self) -> None:
        """Release the socket poller."""
        if self._poller is not None:
            self._poller.close()


class HostMonitor:
    """Samples every ``cfg.interval_s`` in a background thread; keeps a bounded rolling history."""

    def __init__(self, cfg: HostConfig, sampler: HostSampler | None = None) -> None:
        self.cfg = cfg
        self._sampler = sampler or HostSampler(cfg)
        self._history: deque[HostMetrics] = deque(maxlen=max(1, cfg.history))
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        """Why sampling stopped, if it did."""
        self._taken = 0

    def start(self) -> None:
        """Take a first sample now, then keep sampling in the background."""
        self._record(self._sampler.sample())
        self._thread = threading.Thread(target=self._run, name="flowradar-host", daemon=True)
        self._thread.start()

    def _record(self, m: HostMetrics) -> None:
        with self._lock:
            self._history.append(m)
            self._taken += 1
            self._lock.notify_all()

    def wait_for(self, samples: int, timeout: float) -> bool:
        """Block until ``samples`` samples were taken since start (True), or the timeout passes."""
        with self._lock:
            return self._lock.wait_for(lambda: self._taken >= samples or self.error is not None, timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.cfg.interval_s):
            try:
                self._record(self._sampler.sample())
            except OSError as exc:
                with self._lock:
                    self.error = f"host metrics stopped: {exc}"
                    self._lock.notify_all()
                return

    def latest(self) -> HostMetrics | None:
        """The newest sample."""
        with self._lock:
            return self._history[-1] if self._history else None

    def history(self) -> list[HostMetrics]:
        """Every sample kept, oldest first."""
        with self._lock:
            return list(self._history)

    def stop(self) -> None:
        """Stop sampling and release resources."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sampler.close()
