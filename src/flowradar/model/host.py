"""HostMetrics: one sample of this host's interfaces, CPU, memory, disks and busiest processes.

Counters are cumulative as the kernel reports them; ``*_s`` fields are per-second rates over the
interval since the previous sample (0.0 in the first sample).
"""

from __future__ import annotations

from dataclasses import dataclass

from flowradar.model.schema import doc


@dataclass(slots=True)
class InterfaceMetrics:
    """Counters and rates of one network interface (/sys/class/net/IF/statistics or /proc/net/dev)."""

    name: str = doc("interface name")
    up: bool = doc("operational state is up (or unknown, as for loopback)", False)
    rx_bytes: int = doc("bytes received", 0)
    tx_bytes: int = doc("bytes sent", 0)
    rx_packets: int = doc("packets received", 0)
    tx_packets: int = doc("packets sent", 0)
    rx_errors: int = doc("receive errors", 0)
    tx_errors: int = doc("transmit errors", 0)
    rx_drops: int = doc("received packets dropped", 0)
    tx_drops: int = doc("packets dropped on transmit", 0)
    rx_bytes_s: float = doc("bytes received per second", 0.0)
    tx_bytes_s: float = doc("bytes sent per second", 0.0)
    rx_packets_s: float = doc("packets received per second", 0.0)
    tx_packets_s: float = doc("packets sent per second", 0.0)
    errors_s: float = doc("receive and transmit errors per second", 0.0)
    drops_s: float = doc("receive and transmit drops per second", 0.0)


@dataclass(slots=True)
class DiskUsage:
    """Space on one mounted filesystem (os.statvfs), pseudo filesystems skipped."""

    mount: str = doc("mount point")
    device: str = doc("mounted device or source")
    fstype: str = doc("filesystem type")
    total_bytes: int = doc("size of the filesystem", 0)
    used_bytes: int = doc("bytes in use", 0)
    free_bytes: int = doc("bytes available to unprivileged users", 0)
    percent: float = doc("used / (used + available), percent, as df shows it", 0.0)


@dataclass(slots=True)
class DiskIO:
    """I/O counters and rates of one whole block device (/proc/diskstats; partitions not repeated)."""

    device: str = doc("block device name")
    reads: int = doc("reads completed", 0)
    writes: int = doc("writes completed", 0)
    read_bytes: int = doc("bytes read", 0)
    write_bytes: int = doc("bytes written", 0)
    read_bytes_s: float = doc("bytes read per second", 0.0)
    write_bytes_s: float = doc("bytes written per second", 0.0)
    reads_s: float = doc("reads per second", 0.0)
    writes_s: float = doc("writes per second", 0.0)
    busy_percent: float = doc("share of the interval with I/O in flight, percent", 0.0)


@dataclass(slots=True)
class ProcessMetrics:
    """One process: CPU, memory, I/O and TCP bytes of its sockets."""

    pid: int = doc("process id")
    name: str = doc("process name (/proc/PID/comm)")
    user: str | None = doc("user name of the real uid")
    state: str = doc("scheduler state letter (R, S, D, Z, ...)", "")
    threads: int = doc("number of threads", 0)
    cpu_percent: float = doc("CPU use over the interval, percent of one core (can exceed 100)", 0.0)
    rss_bytes: int = doc("resident memory", 0)
    mem_percent: float = doc("resident memory, percent of total memory", 0.0)
    read_bytes: int | None = doc("bytes read from storage (/proc/PID/io; None without permission)")
    write_bytes: int | None = doc("bytes written to storage")
    net_rx_bytes: int | None = doc("bytes received on the process's TCP sockets now open (tcp_info)")
    net_tx_bytes: int | None = doc("bytes sent (acknowledged) on the process's TCP sockets now open")


@dataclass(slots=True)
class HostMetrics:
    """One sample of the host: interfaces, CPU, memory, disks and processes."""

    ts: float = doc("time of the sample, seconds since the epoch")
    hostname: str = doc("host name")
    interval_s: float = doc("seconds since the previous sample (0.0 for the first)", 0.0)
    uptime_s: float = doc("seconds since boot", 0.0)
    cpu_count: int = doc("logical CPUs", 0)
    cpu_percent: float = doc("busy share of all CPUs over the interval, percent", 0.0)
    cpu_iowait_percent: float = doc("share of CPU time waiting for I/O over the interval, percent", 0.0)
    load1: float = doc("load average, 1 minute", 0.0)
    load5: float = doc("load average, 5 minutes", 0.0)
    load15: float = doc("load average, 15 minutes", 0.0)
    mem_total_bytes: int = doc("total memory (MemTotal)", 0)
    mem_available_bytes: int = doc("memory available for new work (MemAvailable)", 0)
    mem_used_bytes: int = doc("total minus available", 0)
    mem_percent: float = doc("used / total, percent", 0.0)
    swap_total_bytes: int = doc("total swap", 0)
    swap_used_bytes: int = doc("swap in use", 0)
    interfaces: list[InterfaceMetrics] = doc("network interfaces", factory=list)
    disks: list[DiskUsage] = doc("mounted filesystems (pseudo filesystems skipped)", factory=list)
    disk_io: list[DiskIO] = doc("block devices with I/O counters", factory=list)
    processes: list[ProcessMetrics] = doc(
        "busiest processes (by CPU, then memory), at most [host] processes", factory=list
    )
