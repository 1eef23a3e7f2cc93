"""DNS tunnelling and generated domains."""

from __future__ import annotations

import random

from tests.detect.rowmaker import batch, flow

from flowradar.detect.dns import DnsDetector, entropy, registered_domain
from flowradar.detect.rows import Networks
from flowradar.detect.settings import DetectConfig
from flowradar.model.flow import L7Facts

CFG = DetectConfig()


def questions(names: list[str], qtype: str = "A", rcode: str = "NOERROR", start: int = 70000) -> object:
    flows, facts = [], {}
    for i, n in enumerate(names):
        fid = start + i
        flows.append(flow("10.0.0.5", "10.0.0.53", dport=53, proto=17, hist="Dd", first=1000 + i, fid=fid))
        facts[fid] = L7Facts(app_proto="dns", dns_queries=[n], dns_qtypes=[qtype], dns_rcode=rcode)
    return batch(*flows, facts=facts)


def detector() -> DnsDetector:
    return DnsDetector(CFG, Networks(CFG.internal_networks))


def test_registered_domain_and_entropy() -> None:
    assert registered_domain("a.b.example.com") == "example.com"
    assert registered_domain("x.news.bbc.co.uk") == "bbc.co.uk"
    assert entropy("aaaa") == 0.0 and entropy("abcd") == 2.0


def test_random_subdomains_raise_a_tunnel_alert() -> None:
    rng = random.Random(3)
    names = ["".join(rng.choice("abcdef0123456789") for _ in range(40)) + ".t.evil.test" for _ in range(120)]
    alerts = detector().observe(questions(names, "TXT"))  # type: ignore[arg-type]
    assert [(a.kind, a.severity, a.subject_ip, a.subject_host) for a in alerts] == [
        ("dns_tunnel", "medium", "10.0.0.5", "evil.test")
    ]
    assert alerts[0].details["unique_subdomains"] >= 100


def test_few_names_and_reverse_lookups_are_quiet() -> None:
    names = [f"host{i}.example.test" for i in range(60)]
    names += [f"{i}.0.0.10.in-addr.arpa" for i in range(200)]
    assert detector().observe(questions(names)) == []  # type: ignore[arg-type]


def test_plain_names_under_one_domain_stay_low() -> None:
    names = [f"server{i}.corp.test" for i in range(100)]
    assert [a.severity for a in detector().observe(questions(names))] == ["low"]  # type: ignore[arg-type]


def test_generated_domains_answered_nxdomain() -> None:
    rng = random.Random(4)
    names = ["".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(14)) + ".com" for _ in range(30)]
    alerts = detector().observe(questions(names, rcode="NXDOMAIN"))  # type: ignore[arg-type]
    assert [(a.kind, a.subject_ip) for a in alerts] == [("dga", "10.0.0.5")]
