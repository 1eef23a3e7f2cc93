"""Brute force: short logins per source and service, HTTP authentication failures."""

from __future__ import annotations

from tests.detect.rowmaker import batch, flow

from flowradar.detect.bruteforce import BruteForceDetector
from flowradar.detect.rows import Networks
from flowradar.detect.settings import DetectConfig
from flowradar.model.flow import L7Facts

CFG = DetectConfig()


def detector() -> BruteForceDetector:
    return BruteForceDetector(CFG, Networks(CFG.internal_networks))


def login(i: int, port: int = 22, seconds: float = 2.0, server_bytes: int = 3000) -> dict[str, object]:
    t = 1000 + i * 3
    return flow(
        "203.0.113.7",
        "10.0.0.22",
        dport=port,
        sport=40000 + i,
        first=t,
        last=t + seconds,
        payload=(1500, server_bytes),
    )


def test_twenty_short_ssh_logins_alert_high() -> None:
    d = detector()
    assert d.observe(batch(*[login(i) for i in range(19)])) == []
    alerts = d.observe(batch(login(19)))
    assert [(a.kind, a.type, a.severity, a.subject_ip, a.peer_ip) for a in alerts] == [
        ("bruteforce", "ssh", "high", "203.0.113.7", "10.0.0.22")
    ]
    assert alerts[0].details["attempts"] == 20


def test_long_or_busy_sessions_are_not_attempts() -> None:
    long = [login(i, seconds=600) for i in range(30)]
    busy = [login(i, server_bytes=10_000_000) for i in range(30)]
    assert detector().observe(batch(*long, *busy)) == []


def test_rdp_is_named_and_http_401_counts() -> None:
    assert detector().observe(batch(*[login(i, 3389) for i in range(20)]))[0].type == "rdp"
    web = [
        flow("203.0.113.7", "10.0.0.80", dport=8080, sport=30000 + i, first=1000 + i, fid=5000 + i)
        for i in range(20)
    ]
    facts = {5000 + i: L7Facts(app_proto="http", http_status=401) for i in range(20)}
    alerts = detector().observe(batch(*web, facts=facts))
    assert [(a.type, a.peer_ip) for a in alerts] == [("http", "10.0.0.80")]
