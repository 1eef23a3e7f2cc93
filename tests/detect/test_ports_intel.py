"""Suspicious ports, cleartext logins towards the internet, reputation hooks and unusual uploads."""

from __future__ import annotations

from tests.detect.rowmaker import batch, flow

from flowradar.detect.intel import IntelDetector
from flowradar.detect.ports import CleartextDetector, SuspiciousPortDetector
from flowradar.detect.rows import Networks
from flowradar.detect.settings import DetectConfig
from flowradar.model.flow import Enrichment, FlowRecord

CFG = DetectConfig()
NETS = Networks(CFG.internal_networks)


def test_answered_suspicious_port_once_per_tuple() -> None:
    d = SuspiciousPortDetector(CFG, NETS)
    shell = flow("10.0.0.5", "198.51.100.66", dport=4444)
    alerts = d.observe(batch(shell, dict(shell, id=999_001)))
    assert [(a.kind, a.type, a.severity, a.peer_ip) for a in alerts] == [
        ("suspicious_port", "port-4444", "medium", "198.51.100.66")
    ]
    assert d.observe(batch(flow("10.0.0.5", "10.0.0.6", dport=8888)))[0].severity == "low"
    assert d.observe(batch(flow("10.0.0.5", "10.0.0.7", dport=31337, hist="S", pkts=(1, 0)))) == []


def test_cleartext_login_only_towards_the_internet() -> None:
    d = CleartextDetector(CFG, NETS)
    assert [a.kind for a in d.observe(batch(flow("10.0.0.5", "198.51.100.21", dport=21)))] == [
        "cleartext_credentials"
    ]
    assert d.observe(batch(flow("10.0.0.5", "10.0.0.21", dport=21))) == []


def record(**enrich: object) -> FlowRecord:
    fields: dict[str, object] = {"uid": "Cx", "community_id": "1:x", "ts_first": 5000.0, "ts_last": 5001.0}
    fields |= {"transport": "tcp", "ip_version": 4, "src_ip": "10.0.0.5", "src_port": 40000}
    fields |= {
        "dst_ip": "198.51.100.9",
        "dst_port": 443,
        "src_packets": 3,
        "dst_packets": 3,
        "src_bytes": 300,
    }
    fields |= {"dst_bytes": 400, "src_payload": 100, "dst_payload": 200, "tcp_flags": "SA/SA"}
    r = FlowRecord(**fields, history="ShADad", end_reason="fin")  # type: ignore[arg-type]
    for k, v in enrich.items():
        setattr(r.enrich, k, v)
    return r


class RichEnrichment(Enrichment):
    """What the enrichment engineer adds (read through getattr)."""

    __slots__ = ("threat", "tracker")


def test_threat_intel_and_tracker_hits_read_defensively() -> None:
    d = IntelDetector(CFG, NETS)
    assert d.observe_records([record()]) == []  # no enrichment fields: nothing, no error
    r = record()
    rich = RichEnrichment()
    rich.threat, rich.tracker = ["feodo"], "doubleclick"
    r.enrich = rich
    kinds = {(a.kind, a.severity) for a in d.observe_records([r])}
    assert kinds == {("threat_intel", "high"), ("tracker", "info")}


def test_new_country_after_the_baseline() -> None:
    d = IntelDetector(DetectConfig(baseline_s=100), NETS)
    assert d.observe_records([record(country="DE")]) == []  # learning
    later = record(country="KP")
    later.ts_first = 9000.0
    assert [(a.kind, a.type) for a in d.observe_records([later])] == [("new_country", "KP")]


def test_upload_far_above_the_hosts_baseline() -> None:
    d = IntelDetector(CFG, NETS)
    normal = [
        flow("10.0.0.5", "198.51.100.9", sport=30000 + i, nbytes=(20_000, 900_000), first=1000 + i)
        for i in range(30)
    ]
    assert d.observe(batch(*normal)) == []
    big = flow("10.0.0.5", "198.51.100.77", nbytes=(80_000_000, 10_000), first=2000, last=2100)
    alerts = d.observe(batch(big))
    assert [(a.kind, a.subject_ip, a.peer_ip) for a in alerts] == [
        ("exfiltration", "10.0.0.5", "198.51.100.77")
    ]
