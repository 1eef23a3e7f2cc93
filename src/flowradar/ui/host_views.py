"""Terminal rendering of host visibility: connections, ports, host metrics, bandwidth (no collection)."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from flowradar.host.bandwidth import BandwidthSnapshot, Rate
from flowradar.model.connection import Connection, ListeningPort, endpoint
from flowradar.model.host import HostMetrics
from flowradar.ui.tables import human_bytes

RISK_STYLE = {"high": "bold red", "medium": "yellow", "low": "green"}
_RIGHT = frozenset(
    (
        "pid",
        "rx",
        "tx",
        "rtt ms",
        "port",
        "in/s",
        "out/s",
        "in",
        "out",
        "conns",
        "cpu %",
        "mem %",
        "rss",
        "threads",
        "use %",
        "size",
        "used",
        "free",
        "read/s",
        "write/s",
        "busy %",
        "errors/s",
        "drops/s",
        "pkts in/s",
        "pkts out/s",
    )
)


def _table(title: str, *columns: str) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for c in columns:  # the last column folds, the others keep to one line
        last = c == columns[-1]
        t.add_column(
            c,
            justify="right" if c in _RIGHT else "left",
            no_wrap=not last,
            overflow="fold" if last else "ellipsis",
            min_width=16 if last and c not in _RIGHT else None,
        )
    return t


def rate(n: float) -> str:
    """Bytes per second as text ('1.5 KB/s')."""
    return human_bytes(n) + "/s"


def _opt(n: int | None) -> str:
    return human_bytes(n) if n is not None else ""


def connections_table(conns: list[Connection], title: str) -> Table:
    """One row per socket."""
    t = _table(
        title,
        "proto",
        "local",
        "remote",
        "state",
        "pid",
        "process",
        "user",
        "container",
        "rx",
        "tx",
        "rtt ms",
    )
    for c in conns:
        t.add_row(
            c.transport + ("6" if c.ip_version == 6 else ""),
            c.local(),
            c.remote(),
            c.state,
            str(c.pid) if c.pid else "",
            c.process or "",
            c.user or "",
            c.container or "",
            _opt(c.rx_bytes) if c.state != "LISTEN" else "",
            _opt(c.tx_bytes) if c.state != "LISTEN" else "",
            f"{c.rtt_ms:.1f}" if c.rtt_ms else "",
        )
    return t


def ports_table(ports: list[ListeningPort], title: str) -> Table:
    """One row per listening socket, risk coloured."""
    t = _table(title, "risk", "proto", "listen", "service", "scope", "process", "user", "why")
    for p in ports:
        owner = f"{p.process or '?'} ({p.pid})" if p.pid else ""
        t.add_row(
            Text(p.risk, style=RISK_STYLE.get(p.risk, "")),
            p.transport + ("6" if p.ip_version == 6 else ""),
            endpoint(p.address, p.port),
            p.service or "",
            p.scope,
            owner,
            p.user or "",
            p.risk_reason,
        )
    return t


def _summary(m: HostMetrics) -> Text:
    parts = [
        f"[bold]{m.hostname}[/]",
        f"up {m.uptime_s / 86400:.1f} d",
        f"CPU {m.cpu_percent:.1f}% of {m.cpu_count} (iowait {m.cpu_iowait_percent:.1f}%)",
        f"load {m.load1:.2f} {m.load5:.2f} {m.load15:.2f}",
        f"memory {human_bytes(m.mem_used_bytes)} of {human_bytes(m.mem_total_bytes)} ({m.mem_percent:.0f}%)",
        f"swap {human_bytes(m.swap_used_bytes)} of {human_bytes(m.swap_total_bytes)}",
    ]
    return Text.from_markup("   ".join(parts))


def _spark(values: list[float]) -> str:
    bars = " ▁▂▃▄▅▆▇█"
    top = max(values, default=0.0)
    if top <= 0:
        return ""
    return "".join(bars[min(8, int(v / top * 8 + 0.5))] for v in values)


def host_view(m: HostMetrics, history: list[HostMetrics] | None = None) -> Group:
    """Summary line, interfaces, disks, disk I/O and the busiest processes."""
    nets = _table(
        "interfaces",
        "name",
        "up",
        "in/s",
        "out/s",
        "pkts in/s",
        "pkts out/s",
        "errors/s",
        "drops/s",
        "history",
    )
    past = history[-20:] if history else []
    for i in m.interfaces:
        trend = [sum(x.rx_bytes_s + x.tx_bytes_s for x in h.interfaces if x.name == i.name) for h in past]
        nets.add_row(
            i.name,
            "up" if i.up else "down",
            rate(i.rx_bytes_s),
            rate(i.tx_bytes_s),
            f"{i.rx_packets_s:,.0f}",
            f"{i.tx_packets_s:,.0f}",
            f"{i.errors_s:g}",
            f"{i.drops_s:g}",
            _spark(trend),
        )
    disks = _table("filesystems", "mount", "device", "type", "size", "used", "free", "use %")
    for d in m.disks:
        disks.add_row(
            d.mount,
            d.device,
            d.fstype,
            human_bytes(d.total_bytes),
            human_bytes(d.used_bytes),
            human_bytes(d.free_bytes),
            f"{d.percent:.0f}",
        )
    io = _table("disk I/O", "device", "read/s", "write/s", "busy %")
    for dev in m.disk_io:
        io.add_row(dev.device, rate(dev.read_bytes_s), rate(dev.write_bytes_s), f"{dev.busy_percent:.0f}")
    procs = _table("processes", "pid", "name", "user", "cpu %", "mem %", "rss", "threads", "in", "out")
    for p in m.processes:
        procs.add_row(
            str(p.pid),
            p.name,
            p.user or "",
            f"{p.cpu_percent:.1f}",
            f"{p.mem_percent:.1f}",
            human_bytes(p.rss_bytes),
            str(p.threads),
            _opt(p.net_rx_bytes),
            _opt(p.net_tx_bytes),
        )
    return Group(_summary(m), nets, disks, io, procs)


def _rates(title: str, label: str, rows: list[Rate], top: int) -> Table:
    t = _table(title, label, "in/s", "out/s", "in", "out", "conns")
    for r in rows[:top]:
        t.add_row(
            r.key,
            rate(r.rx_s),
            rate(r.tx_s),
            human_bytes(r.rx_total),
            human_bytes(r.tx_total),
            str(r.connections),
        )
    return t


def top_view(snap: BandwidthSnapshot, top: int) -> Group:
    """Per-process and per-remote-host rates."""
    note = (
        "TCP bytes from tcp_info" if snap.source == "tcp_info" else "all I/O of socket owners (/proc/PID/io)"
    )
    head = Text.from_markup(f"[bold]flowradar top[/]  interval {snap.interval_s:.1f} s  ({note})")
    return Group(
        head,
        _rates("processes", "process", snap.processes, top),
        _rates("remote hosts", "remote", snap.remotes, top),
    )
