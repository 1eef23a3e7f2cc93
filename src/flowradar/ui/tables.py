"""Readable terminal tables of a capture summary (rendering only: the data comes from the summary)."""

from __future__ import annotations

from collections import Counter

from rich import box
from rich.console import Console, Group
from rich.table import Table

from flowradar.engine.pipeline import EngineStats
from flowradar.engine.summary import CaptureSummary


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KB'."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _table(title: str, *columns: str) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, c in enumerate(columns):
        t.add_column(c, justify="right" if i and c in ("flows", "packets", "bytes", "count") else "left")
    return t


def _counter_table(title: str, label: str, counts: Counter[str], top: int) -> Table | None:
    if not counts:
        return None
    t = _table(f"{title} ({len(counts)})", label, "flows")
    for name, n in counts.most_common(top):
        t.add_row(name, str(n))
    return t


def summary_tables(s: CaptureSummary, stats: EngineStats, top: int = 10) -> Group:
    """Overview, top talkers, protocols, server names, DNS and HTTP tables."""
    overview = _table("Capture", "", "")
    overview.show_header = False
    flows = len(s.rows)
    overview.add_row("packets", f"{s.packets:,}")
    overview.add_row("flows", f"{flows:,}")
    overview.add_row("non-IP / truncated", f"{stats.non_ip:,} / {stats.truncated:,}")
    overview.add_row("IP fragments (reassembled)", f"{stats.fragments:,} ({stats.reassembled:,})")
    if stats.evicted:
        overview.add_row("flows evicted (table full)", f"{stats.evicted:,}")
    parts: list[Table] = [overview]
    talkers = _table("Top talkers", "host", "bytes", "packets", "flows")
    for host, nbytes, npk, nflows in s.top_talkers(top):
        talkers.add_row(host, human_bytes(nbytes), f"{npk:,}", f"{nflows:,}")
    parts.append(talkers)
    apps = _table("Protocols (? = by port only)", "application", "flows", "bytes")
    for name, n, nbytes in s.applications()[:top]:
        apps.add_row(name, f"{n:,}", human_bytes(nbytes))
    parts.append(apps)
    for t in (
        _counter_table("Server names (TLS/QUIC)", "server name", s.sni, top),
        _counter_table("DNS queries", "name", s.dns_queries, top),
        _counter_table("HTTP hosts", "host", s.http_hosts, top),
        _counter_table("HTTP user agents", "user agent", s.http_user_agents, top),
    ):
        if t is not None:
            parts.append(t)
    return Group(*parts)


def print_summary(console: Console, s: CaptureSummary, stats: EngineStats, top: int = 10) -> None:
    """Print the summary tables."""
    console.print(summary_tables(s, stats, top))
