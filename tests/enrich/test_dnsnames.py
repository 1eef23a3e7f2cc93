"""DNS correlation: names from answers (CNAME chains, TTL + grace, per host), SNI/Host, corpus flows."""

from __future__ import annotations

from pathlib import Path

from tests.enrich.helpers import dns_record, record

from flowradar.capture.files import open_capture
from flowradar.config import EngineConfig
from flowradar.engine.pipeline import Engine
from flowradar.enrich.classify import ClassifyEnricher, DomainNames
from flowradar.enrich.dnsnames import NameEnricher, NameTable, clean_name
from flowradar.enrich.pipeline import EnrichmentPipeline
from flowradar.model.flow import FlowRecord

T0 = 1_700_000_000.0


def _names(grace: float = 300.0, max_names: int = 20000) -> NameEnricher:
    return NameEnricher(NameTable(grace, 16, max_names), DomainNames(1000))


def _classified(*recs: FlowRecord) -> list[FlowRecord]:
    ClassifyEnricher().enrich_many(list(recs))
    return list(recs)


def test_clean_name() -> None:
    assert clean_name("WWW.Example.COM.") == "www.example.com"
    assert clean_name("example.com:8080") == "example.com"
    assert clean_name("[2001:db8::1]:443") is None
    assert clean_name("bad name") is None and clean_name("") is None and clean_name(None) is None


def test_cname_chain_names_the_asked_name_with_ttl_and_grace() -> None:
    names = _names(grace=300)
    answers = [
        ("www.example.com", "CNAME", "edge.cdn.example.net", 300, "www.example.com"),
        ("www.example.com", "A", "93.184.216.34", 60, "edge.cdn.example.net"),
    ]
    dns = dns_record("192.168.1.10", "192.168.1.1", answers, T0)
    names.learn([dns])
    ok, late = _classified(record(ts=T0 + 1), record(ts=T0 + 60 + 300 + 1))
    ok.dst_ip = late.dst_ip = ok.enrich.remote_ip = late.enrich.remote_ip = "93.184.216.34"
    names.enrich_many([ok, late])
    assert (ok.enrich.name, ok.enrich.name_source, ok.enrich.domain) == (
        "www.example.com",
        "dns",
        "example.com",
    )
    assert late.enrich.name is None  # TTL (60 s) + grace (300 s) have passed


def test_names_are_per_host_with_a_global_fallback() -> None:
    names = _names()
    a = dns_record(
        "10.0.0.1", "10.0.0.254", [("a.example.com", "A", "198.51.100.1", 300, "a.example.com")], T0
    )
    b = dns_record(
        "10.0.0.2", "10.0.0.254", [("b.example.org", "A", "198.51.100.1", 300, "b.example.org")], T0
    )
    names.learn([a, b])
    from_a = record("10.0.0.1", "198.51.100.1", ts=T0 + 5)
    from_b = record("10.0.0.2", "198.51.100.1", ts=T0 + 5)
    other = record("10.0.0.3", "198.51.100.1", ts=T0 + 5)
    names.enrich_many(_classified(from_a, from_b, other))
    assert from_a.enrich.name == "a.example.com" and from_b.enrich.name == "b.example.org"
    assert other.enrich.name == "b.example.org"  # the last answer any host saw


def test_sni_and_host_win_and_teach() -> None:
    names = _names()
    tls = record(ts=T0, app_proto="tls", tls_sni="api.example.com")
    http = record(dst="203.0.113.80", dport=80, ts=T0, app_proto="http", http_host="Example.org:8080")
    quic_later = record(transport="udp", ts=T0 + 10)
    names.enrich_many(_classified(tls, http, quic_later))
    assert (tls.enrich.name, tls.enrich.name_source) == ("api.example.com", "sni")
    assert (http.enrich.name, http.enrich.name_source) == ("example.org", "http")
    assert (quic_later.enrich.name, quic_later.enrich.name_source) == ("api.example.com", "sni")


def test_tables_are_bounded() -> None:
    table = NameTable(300, max_hosts=2, max_names=10)
    for i in range(100):
        table.put(f"10.0.0.{i % 5}", f"198.51.100.{i}", f"n{i}.example.com", T0 + 1000, "dns")
    assert len(table._clients) == 2
    assert all(len(t) <= 10 for t in table._clients._data.values())
    assert table.cache_info().size <= table.cache_info().max_size


def _corpus_records(path: Path) -> list[FlowRecord]:
    return [r for b in Engine(EngineConfig()).run(open_capture(str(path))) for r in b.records()]


def test_corpus_1kxun_flows_get_the_names_their_dns_answers_gave(corpus: Path) -> None:
    recs = _corpus_records(corpus / "pcaps" / "1kxun.pcap")
    answered: dict[str, set[str]] = {}
    for r in recs:
        for a in r.l7.dns_answers:
            if a.type == "A":
                answered.setdefault(a.value, set()).add(a.query)
    assert any(a.owner != a.query for r in recs for a in r.l7.dns_answers if a.type == "A"), (
        "1kxun has CNAME chains"
    )
    # Hide the flows' own server names, as with ECH or QUIC without SNI: only DNS can name them.
    for r in recs:
        if not r.l7.dns_answers:
            r.l7.http_host = r.l7.tls_sni = None
            r.l7.http_hosts = []
    names = _names()
    EnrichmentPipeline([ClassifyEnricher(), names], names).enrich(recs)
    to_answered = [r for r in recs if r.dst_ip in answered and r.dst_port in (80, 443)]
    assert len(to_answered) >= 10
    for r in to_answered:
        assert r.enrich.name_source == "dns"
        assert r.enrich.name in answered[r.dst_ip]  # the asked name, not the CNAME target
    assert {r.enrich.name for r in to_answered} >= {"pic.1kxun.com", "dl-obs.official.line.naver.jp"}


def test_hold_back_names_flows_whose_dns_flow_is_exported_later() -> None:
    conn = record("10.0.0.9", "198.51.100.77", ts=T0 + 1)
    dns = dns_record(
        "10.0.0.9", "10.0.0.1", [("late.example.com", "A", "198.51.100.77", 30, "late.example.com")], T0
    )
    names = _names()
    pipeline = EnrichmentPipeline([ClassifyEnricher(), names], names, hold_s=125.0)
    first = pipeline.process([conn])  # the connection ends first: held
    assert first == []
    second = pipeline.process([dns])  # its DNS flow, exported when idle, 2 s later in capture time
    assert second == []
    rest = pipeline.flush()
    assert conn in rest and conn.enrich.name == "late.example.com"
    no_hold = EnrichmentPipeline([ClassifyEnricher(), _names()], hold_s=0)
    again = record("10.0.0.9", "198.51.100.78", ts=T0 + 1)
    assert no_hold.process([again]) == [again] and again.enrich.name is None
