"""Scan detection on synthetic flows: thresholds, classes, probe kinds, suppression."""

from __future__ import annotations

from tests.detect.rowmaker import batch, flow

from flowradar.detect.rows import Networks
from flowradar.detect.scan import ScanDetector, classify
from flowradar.detect.settings import DetectConfig

CFG = DetectConfig()
EXTERNAL, INTERNAL, VICTIM = "203.0.113.9", "10.0.0.9", "10.0.0.1"


def detector(cfg: DetectConfig = CFG) -> ScanDetector:
    return ScanDetector(cfg, Networks(cfg.internal_networks))


def rejected(src: str, dst: str, port: int, t: float = 1000.0) -> dict[str, object]:
    return flow(src, dst, dport=port, hist="Sr", pkts=(1, 1), first=t)


def test_external_scanner_at_25_targets() -> None:
    d = detector()
    assert d.observe(batch(*[rejected(EXTERNAL, VICTIM, p) for p in range(1, 25)])) == []
    alerts = d.observe(batch(rejected(EXTERNAL, VICTIM, 25)))
    assert len(alerts) == 1
    a = alerts[0]
    assert (a.kind, a.type, a.severity, a.subject_ip) == ("scan", "port_scan", "medium", EXTERNAL)
    assert a.details["distinct_ports"] == 25 and a.details["distinct_hosts"] == 1
    assert a.identifier == f"scan:{EXTERNAL}" and a.evidence


def test_internal_scanner_needs_250() -> None:
    d = detector()
    assert d.observe(batch(*[rejected(INTERNAL, VICTIM, p) for p in range(1, 250)])) == []
    a = d.observe(batch(rejected(INTERNAL, VICTIM, 250)))
    assert len(a) == 1 and a[0].severity == "high"


def test_sweep_is_an_address_scan() -> None:
    probes = [
        flow(EXTERNAL, f"10.0.1.{h}", dport=0, proto=1, sport=8, hist="", pkts=(1, 0)) for h in range(1, 31)
    ]
    a = detector().observe(batch(*probes))
    assert len(a) == 1 and a[0].type == "address_scan"


def test_invalid_flag_probes_are_a_scan_on_their_own() -> None:
    fins = [flow(EXTERNAL, VICTIM, dport=p, hist="Fr", flags0="F", pkts=(1, 1)) for p in (1, 2, 3)]
    a = detector().observe(batch(*fins))
    assert len(a) == 1 and a[0].subject_ip == EXTERNAL


def test_answered_connections_and_single_target_floods_are_not_scans() -> None:
    ok = [flow(EXTERNAL, VICTIM, dport=p) for p in range(1, 100)]
    flood = [flow(EXTERNAL, VICTIM, dport=80, sport=1000 + i, hist="S", pkts=(1, 0)) for i in range(500)]
    assert detector().observe(batch(*ok, *flood)) == []


def test_udp_without_reply_counts_multicast_does_not() -> None:
    udp = [flow(EXTERNAL, VICTIM, dport=p, proto=17, hist="D", pkts=(1, 0)) for p in range(1, 30)]
    assert len(detector().observe(batch(*udp))) == 1
    answered = [flow(EXTERNAL, VICTIM, dport=p, proto=17, hist="Dd", pkts=(1, 1)) for p in range(1, 30)]
    mcast = [flow(EXTERNAL, "239.1.2.3", dport=p, proto=17, hist="D", pkts=(1, 0)) for p in range(1, 30)]
    assert detector().observe(batch(*answered, *mcast)) == []


def test_suppressed_then_refreshed_by_tick() -> None:
    d = detector()
    assert len(d.observe(batch(*[rejected(EXTERNAL, VICTIM, p, 1000) for p in range(1, 30)]))) == 1
    assert d.observe(batch(*[rejected(EXTERNAL, VICTIM, p, 1010) for p in range(30, 60)])) == []
    refreshed = d.tick(1020.0)
    assert len(refreshed) == 1 and refreshed[0].details["distinct_ports"] == 59


def test_thresholds_come_from_the_configuration() -> None:
    d = detector(DetectConfig(scan_external_threshold=5))
    assert len(d.observe(batch(*[rejected(EXTERNAL, VICTIM, p) for p in range(1, 6)]))) == 1


def test_classify() -> None:
    assert classify(1, 500) == "port_scan"
    assert classify(300, 2) == "address_scan"
    assert classify(40, 30) == "random_scan"
