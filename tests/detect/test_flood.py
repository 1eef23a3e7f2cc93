"""Flood detection on synthetic flows: each rule, its threshold and what it must not confuse."""

from __future__ import annotations

from tests.detect.rowmaker import batch, flow

from flowradar.detect.flood import FloodDetector
from flowradar.detect.rows import Networks
from flowradar.detect.settings import DetectConfig

CFG = DetectConfig()
VICTIM = "10.0.0.1"


def detector() -> FloodDetector:
    return FloodDetector(CFG, Networks(CFG.internal_networks))


def spoofed_syns(n: int, port: int = 25565) -> list[dict[str, object]]:
    return [
        flow(
            f"198.18.{i // 250}.{i % 250 + 1}",
            VICTIM,
            dport=port,
            hist="S",
            pkts=(1, 0),
            first=1000 + i / 100,
        )
        for i in range(n)
    ]


def test_syn_flood_above_threshold() -> None:
    alerts = detector().observe(batch(*spoofed_syns(600)))
    assert [(a.kind, a.type, a.subject_ip, a.severity) for a in alerts] == [
        ("flood", "tcp_syn_flood", VICTIM, "high")
    ]
    assert alerts[0].details["sources"] == 600 and 1000 <= alerts[0].trigger_ts <= 1006


def test_syn_flood_below_threshold_and_port_scan_are_not_floods() -> None:
    assert detector().observe(batch(*spoofed_syns(400))) == []
    scan = [
        flow("203.0.113.9", VICTIM, dport=p, hist="S", pkts=(1, 0), first=1000 + p / 1000)
        for p in range(1, 1001)
    ]
    assert detector().observe(batch(*scan)) == []


def test_udp_flood_one_sided_only() -> None:
    one_sided = [
        flow(
            "10.0.0.5",
            VICTIM,
            dport=7000,
            sport=1000 + i,
            proto=17,
            hist="D",
            pkts=(1, 0),
            first=1000 + i / 1000,
        )
        for i in range(2500)
    ]
    alerts = detector().observe(batch(*one_sided))
    assert [a.type for a in alerts] == ["udp_flood"]
    talk = [
        flow("10.0.0.5", VICTIM, dport=443, proto=17, hist="Dd", pkts=(3000, 1500), first=1000, last=1005)
    ]
    assert detector().observe(batch(*talk)) == []


def test_icmp_flood_is_a_rate_not_a_total() -> None:
    burst = flow(
        "10.0.0.5", VICTIM, dport=0, sport=8, proto=1, hist="D", pkts=(1500, 0), first=1000, last=1001
    )
    assert [a.type for a in detector().observe(batch(burst))] == ["icmp_flood"]
    ping = flow(
        "10.0.0.5", VICTIM, dport=0, sport=8, proto=1, hist="Dd", pkts=(3600, 3600), first=1000, last=4600
    )
    assert detector().observe(batch(ping)) == []


def test_smurf_to_multicast() -> None:
    smurf = flow(
        "ff02::1", "ff02::1", dport=0, sport=128, proto=58, hist="D", pkts=(1000, 0), first=1000, last=1000.01
    )
    alerts = detector().observe(batch(smurf))
    assert [(a.type, a.subject_ip) for a in alerts] == [("icmp_smurf", "ff02::1")]


def test_amplification_and_synack_reflection() -> None:
    ntp = [
        flow(
            f"198.18.0.{i % 250 + 1}",
            VICTIM,
            sport=123,
            dport=40000 + i,
            proto=17,
            hist="D",
            pkts=(1, 0),
            first=1000 + i / 100,
        )
        for i in range(600)
    ]
    assert [a.type for a in detector().observe(batch(*ntp))] == ["udp_amplification_srcport_123"]
    sa = [
        flow(
            VICTIM,
            f"198.18.1.{i % 250 + 1}",
            sport=40000 + i,
            dport=80,
            hist="^h",
            pkts=(0, 1),
            first=1000 + i / 100,
        )
        for i in range(600)
    ]
    assert [(a.type, a.subject_ip) for a in detector().observe(batch(*sa))] == [
        ("tcp_synack_reflection", VICTIM)
    ]


def test_request_rate_per_source_and_service() -> None:
    reqs = [
        flow("10.0.0.5", "10.0.0.80", dport=8080, sport=30000 + i, first=1000 + i / 3) for i in range(120)
    ]
    alerts = detector().observe(batch(*reqs))
    assert [(a.type, a.severity, a.subject_ip, a.peer_ip) for a in alerts] == [
        ("request_rate", "low", "10.0.0.5", "10.0.0.80")
    ]
    dns = [
        flow("10.0.0.5", "10.0.0.53", dport=53, proto=17, sport=30000 + i, hist="Dd", first=1000 + i / 3)
        for i in range(300)
    ]
    assert detector().observe(batch(*dns)) == []


def test_one_alert_per_victim_while_it_lasts() -> None:
    d = detector()
    assert len(d.observe(batch(*spoofed_syns(600)))) == 1
    assert d.observe(batch(*spoofed_syns(600))) == []
