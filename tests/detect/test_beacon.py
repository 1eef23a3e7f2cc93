"""The beacon detector over a day of connections."""

from __future__ import annotations

from tests.detect.rowmaker import batch, flow

from flowradar.detect.beacon import BeaconDetector, severity_of
from flowradar.detect.rows import Networks
from flowradar.detect.settings import DetectConfig
from flowradar.model.flow import L7Facts

CFG = DetectConfig()


def detector(cfg: DetectConfig = CFG) -> BeaconDetector:
    return BeaconDetector(cfg, Networks(cfg.internal_networks))


def test_hourly_beacon_to_an_external_server() -> None:
    d = detector()
    alerts = []
    for h in range(24):
        fid = 9000 + h
        f = flow("10.0.0.5", "198.51.100.20", dport=443, first=h * 3600.0 + 5, nbytes=(700, 900), fid=fid)
        alerts += d.observe(batch(f, facts={fid: L7Facts(app_proto="tls", tls_sni="c2.example.test")}))
    alerts += d.tick(24 * 3600.0)
    kinds = {(a.kind, a.type, a.subject_ip, a.severity) for a in alerts}  # raised low, escalated to high
    assert ("beacon", "ip", "10.0.0.5", "high") in kinds and ("beacon", "sni", "10.0.0.5", "high") in kinds
    assert len(alerts) <= 6
    by_name = [a for a in alerts if a.type == "sni"][-1]
    assert by_name.subject_host == "c2.example.test" and by_name.details["connections"] >= 12


def test_internal_pairs_and_irregular_traffic_are_quiet() -> None:
    d = detector()
    internal = [flow("10.0.0.5", "10.0.0.6", first=h * 3600.0) for h in range(24)]
    odd = [flow("10.0.0.5", "198.51.100.30", first=t) for t in (10, 50, 4000, 4100, 30000, 31000, 80000)]
    assert d.observe(batch(*internal, *odd)) + d.tick(86400.0) == []


def test_severity_thresholds() -> None:
    assert [severity_of(s) for s in (0.7, 0.9, 1.0)] == ["low", "medium", "high"]
