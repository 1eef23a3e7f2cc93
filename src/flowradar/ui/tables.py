"""Readable terminal tables of a capture summary (rendering only: the data comes from the summary)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table

from flowradar.engine.pipeline import EngineStats
from flowradar.engine.summary import CaptureSummary
from flowradar.enrich.datafiles import DBIP_ATTRIBUTION
from flowradar.enrich.summary import EnrichSummary


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
        alerts_table(s.alerts, top),
    ):
        if t is not None:
            parts.append(t)
    return Group(*parts)


def alerts_table(alerts: list[Any], top: int = 10) -> Table | None:
    """Alerts, most severe first, at most ``top`` of each kind: severity, kind, subject, what, count."""
    if not alerts:
        return None
    from flowradar.model.alert import severity_rank

    t = _table(f"Alerts ({len(alerts)})", "severity", "kind", "subject", "what", "count")
    ranked = sorted(alerts, key=lambda a: (-severity_rank(a.severity), -a.score, a.first_seen))
    shown: Counter[str] = Counter()
    for a in ranked:
        shown[a.kind] += 1
        if shown[a.kind] <= top:
            t.add_row(
                a.severity,
                f"{a.kind}/{a.type}",
                a.subject_ip or a.subject_host or "",
                a.message,
                str(a.count),
            )
    return t


def _geo_text(country: str | None, city: str | None) -> str:
    return ", ".join(x for x in (city, country) if x)


def _asn_text(asn: int | None, org: str | None) -> str:
    if asn is None:
        return ""
    return f"AS{asn} {org or ''}".strip()[:32]


def enrich_tables(e: EnrichSummary, top: int = 10) -> Group:
    """Remote endpoints (name, domain, place, ASN, tracker, intel, privacy), trackers, intel hits."""
    parts: list[Table | str] = []
    ends = _table(
        "Remote endpoints",
        "remote",
        "name",
        "domain",
        "where",
        "ASN",
        "tracker",
        "intel",
        "privacy",
        "flows",
        "bytes",
    )
    for ep in e.top_endpoints(top):
        tracker = f"{ep.tracker} ({ep.tracker_category})" if ep.tracker else ""
        intel = ", ".join(sorted(ep.intel)) or (
            "benign: " + ", ".join(sorted(ep.benign)) if ep.benign else ""
        )
        ends.add_row(
            ep.ip,
            (ep.name or "")[:40],
            ep.domain or "",
            _geo_text(ep.country, ep.city),
            _asn_text(ep.asn, ep.as_org),
            tracker,
            intel,
            str(ep.privacy_max),
            f"{ep.flows:,}",
            human_bytes(ep.bytes),
        )
    if e.geo_sources:
        ends.caption = f"Geography and ASN: {DBIP_ATTRIBUTION}"
        ends.caption_justify = "left"
    parts.append(ends)
    owners = e.tracker_owners(top)
    if owners:
        t = _table(
            "Trackers by host or process", "host / process", "trackers", "categories", "flows", "privacy"
        )
        for o in owners:
            names = ", ".join(f"{k} ({n})" for k, n in o.trackers.most_common(3))
            cats = ", ".join(k for k, _ in o.categories.most_common(3))
            t.add_row(
                o.owner,
                names,
                cats,
                f"{o.tracker_flows:,}/{o.flows:,}",
                f"{o.privacy_mean:.0f} (max {o.privacy_max})",
            )
        parts.append(t)
    if e.intel_hits:
        t = _table(f"Threat intel hits ({len(e.intel_hits)})", "list:category", "flows")
        for name, n in e.intel_hits.most_common(top):
            t.add_row(name, f"{n:,}")
        parts.append(t)
    levels = ", ".join(f"{k} {e.levels[k]:,}" for k in ("low", "medium", "high", "critical") if e.levels[k])
    parts.append(
        f"[bold]Privacy[/]: mean score {e.privacy_mean:.0f} ({e.privacy_level()}); flows by level: {levels}"
    )
    return Group(*parts)


def print_summary(
    console: Console,
    s: CaptureSummary,
    stats: EngineStats,
    top: int = 10,
    enriched: EnrichSummary | None = None,
) -> None:
    """Print the summary tables (and the enrichment tables when the flows were enriched)."""
    console.print(summary_tables(s, stats, top))
    if enriched is not None and enriched.flows:
        console.print(enrich_tables(enriched, top))
