"""Record factories for the store tests: flows with every part filled, sockets, metrics, alerts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowradar.model.alert import Alert
from flowradar.model.connection import Connection
from flowradar.model.flow import DnsAnswer, Enrichment, FlowRecord, L7Facts
from flowradar.model.host import DiskIO, DiskUsage, HostMetrics, InterfaceMetrics, ProcessMetrics

T0 = 1_700_000_000.0
SORT_KEYS: dict[str, Callable[[FlowRecord], float]] = {
    "bytes": lambda r: r.src_bytes + r.dst_bytes,
    "packets": lambda r: r.src_packets + r.dst_packets,
    "duration": lambda r: r.ts_last - r.ts_first,
}
"""The non-time sort keys of Store.flows, computed from a record."""
APPS = ("tls", "dns", "http", None, "ssh")
PLACES = (
    ("US", "Los Angeles", 34.05, -118.24, 15133, "Edgecast"),
    ("DE", "Frankfurt", 50.11, 8.68, 3320, "Deutsche Telekom"),
    ("FR", None, 48.85, 2.35, 16276, "OVH"),
    (None, None, None, None, None, None),
)


def flow(i: int, t: float = T0, **over: Any) -> FlowRecord:
    """Flow number i starting at t: varied apps, places, processes, one in five over two minutes."""
    app = APPS[i % len(APPS)]
    country, city, lat, lon, asn, org = PLACES[i % len(PLACES)]
    remote = f"203.0.113.{i % 7}" if country else f"10.1.0.{i % 3}"
    name = f"svc{i % 4}.example.org" if country else None
    duration = 150.0 if i % 5 == 0 else 2.5
    fields: dict[str, Any] = {
        "uid": f"Cflow{i:06d}",
        "community_id": f"1:cid{i}=",
        "ts_first": t,
        "ts_last": t + duration,
        "transport": "udp" if app == "dns" else "tcp",
        "ip_version": 4,
        "src_ip": "192.168.1.10",
        "src_port": 40000 + i,
        "dst_ip": remote,
        "dst_port": {"tls": 443, "dns": 53, "http": 80, "ssh": 22}.get(app or "", 8081),
        "src_packets": 3 + i % 11,
        "dst_packets": 5 + i % 13,
        "src_bytes": 200 + 17 * i,
        "dst_bytes": 1500 + 31 * i,
        "src_payload": 100 + i,
        "dst_payload": 1000 + i,
        "tcp_flags": "SA/SA",
        "history": "ShADadFf",
        "end_reason": "fin",
        "vlan": i % 2,
        "l7": L7Facts(
            app_proto=app,
            app_by="payload" if app else None,
            tls_sni=name if app == "tls" else None,
            tls_alpn=["h2", "http/1.1"] if app == "tls" else [],
            dns_queries=[f"q{i}.example.org"] if app == "dns" else [],
            dns_qtypes=["A"] if app == "dns" else [],
            dns_answers=[DnsAnswer(f"q{i}.example.org", "A", "203.0.113.9", 60, f"q{i}.example.org")]
            if app == "dns"
            else [],
            http_method="GET" if app == "http" else None,
            http_host=name if app == "http" else None,
            http_status=200 if app == "http" else None,
        ),
        "enrich": Enrichment(
            pid=1000 + i % 3 if i % 6 else None,
            process=("curl", "firefox", "sshd")[i % 3] if i % 6 else None,
            country=country,
            asn=asn,
            as_org=org,
            domain="example.org" if name else None,
            remote_ip=remote,
            name=name,
            name_source="sni" if name else None,
            city=city,
            latitude=lat,
            longitude=lon,
            direction="outbound" if country else "local",
            intel=["firehol:attacks"] if i % 9 == 0 else [],
            threat_level=5 if i % 9 == 0 else 0,
        ),
    }
    fields.update(over)
    return FlowRecord(**fields)


def flows(n: int, t: float = T0, spacing: float = 7.0, start: int = 0) -> list[FlowRecord]:
    """n flows, one every ``spacing`` seconds from t."""
    return [flow(start + i, t + i * spacing) for i in range(n)]


def connection(port: int, ts: float, state: str = "ESTABLISHED", transport: str = "tcp") -> Connection:
    """A socket of the local host at poll time ts."""
    return Connection(
        transport=transport,
        ip_version=4,
        local_ip="0.0.0.0" if state in ("LISTEN", "UNCONN") else "192.168.1.10",
        local_port=port,
        remote_ip="0.0.0.0" if state in ("LISTEN", "UNCONN") else "203.0.113.5",
        remote_port=0 if state in ("LISTEN", "UNCONN") else 443,
        state=state,
        uid=1000,
        user="alice",
        pid=4242,
        process="nginx",
        rtt_ms=1.5 if transport == "tcp" else None,
        ts=ts,
    )


def metrics(ts: float, host: str = "h1", cpu: float = 12.5) -> HostMetrics:
    """A host metrics sample with one of every nested part."""
    return HostMetrics(
        ts=ts,
        hostname=host,
        interval_s=1.0,
        cpu_count=4,
        cpu_percent=cpu,
        mem_total_bytes=8 << 30,
        interfaces=[InterfaceMetrics("eth0", True, rx_bytes=100, tx_bytes=200, rx_bytes_s=10.5)],
        disks=[DiskUsage("/", "/dev/sda1", "ext4", 100, 40, 60, 40.0)],
        disk_io=[DiskIO("sda", reads=5, writes=6)],
        processes=[ProcessMetrics(1, "init", "root", read_bytes=None, write_bytes=None)],
    )


def alert(uid: str, seen: float, severity: str = "high", **over: Any) -> Alert:
    """A scan alert about 198.51.100.7."""
    fields: dict[str, Any] = {
        "kind": "scan",
        "type": "port_scan",
        "severity": severity,
        "score": 70,
        "subject_ip": "198.51.100.7",
        "subject_host": None,
        "subject_process": None,
        "peer_ip": None,
        "identifier": f"scan:{uid}",
        "message": "port scan",
        "evidence": ["Cflow000001"],
        "first_seen": seen - 10,
        "last_seen": seen,
        "uid": uid,
        "details": {"ports": 120, "window_s": 60},
    }
    fields.update(over)
    return Alert(**fields)
