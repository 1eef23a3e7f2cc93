"""Building FlowRecords for enrichment tests (real records, no mocks)."""

from __future__ import annotations

from typing import Any

from flowradar.model.flow import DnsAnswer, FlowRecord, L7Facts


def record(
    src: str = "192.168.1.10",
    dst: str = "8.8.8.8",
    sport: int = 40000,
    dport: int = 443,
    transport: str = "tcp",
    ts: float = 1_700_000_000.0,
    nbytes: tuple[int, int] = (1000, 5000),
    **l7: Any,
) -> FlowRecord:
    """A flow record with the given endpoints, times, byte counts and L7 facts."""
    return FlowRecord(
        uid="Ctest",
        community_id="1:test",
        ts_first=ts,
        ts_last=ts + 1.0,
        transport=transport,
        ip_version=6 if ":" in src else 4,
        src_ip=src,
        src_port=sport,
        dst_ip=dst,
        dst_port=dport,
        src_packets=10,
        dst_packets=10,
        src_bytes=nbytes[0],
        dst_bytes=nbytes[1],
        src_payload=max(0, nbytes[0] - 400),
        dst_payload=max(0, nbytes[1] - 400),
        tcp_flags="SAF/SAF" if transport == "tcp" else "",
        history="ShADadFf" if transport == "tcp" else "Dd",
        end_reason="fin",
        l7=L7Facts(**l7),
    )


def dns_record(
    client: str, resolver: str, answers: list[tuple[str, str, str, int, str]], ts: float = 1_700_000_000.0
) -> FlowRecord:
    """A DNS flow whose responses carried (query, type, value, ttl, owner) records."""
    return record(
        client,
        resolver,
        50000,
        53,
        "udp",
        ts,
        (80, 200),
        app_proto="dns",
        dns_queries=sorted({a[0] for a in answers}),
        dns_answers=[DnsAnswer(q, t, v, ttl, o) for q, t, v, ttl, o in answers],
    )
