"""One contract, run against every enricher the configuration builds."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.enrich.helpers import dns_record, record

from flowradar.capture.files import open_capture
from flowradar.config import EngineConfig, EnrichConfig
from flowradar.engine.pipeline import Engine
from flowradar.enrich.base import Enricher
from flowradar.enrich.lru import BatchEnricher, Lru
from flowradar.enrich.pipeline import EnrichmentPipeline
from flowradar.model.flow import FlowRecord

CACHE = 300


@pytest.fixture(scope="module")
def pipeline() -> Iterator[EnrichmentPipeline]:
    p = EnrichmentPipeline.from_config(EnrichConfig(cache_size=CACHE, dns_max_names=CACHE, dns_max_hosts=8))
    yield p
    p.close()


def _names(p: EnrichmentPipeline) -> list[str]:
    return [e.name for e in p.enrichers]


def test_every_enricher_is_built(pipeline: EnrichmentPipeline) -> None:
    assert _names(pipeline) == ["classify", "names", "geo", "trackers", "intel", "privacy"]
    assert pipeline.messages == []


def _variety(n: int) -> list[FlowRecord]:
    recs = []
    for i in range(n):
        a, b = divmod(i, 250)
        recs.append(record("192.168.1.7", f"81.{a}.{b}.9", 40000 + i % 1000, 443, ts=1.7e9 + i))
        recs.append(
            record(
                "10.0.0.3", f"2a00:1450:{a:x}::{b:x}", 5000, 80, app_proto="http", http_host=f"h{i}.ex.com"
            )
        )
    recs.append(
        dns_record("10.0.0.3", "10.0.0.1", [("a.example.com", "A", "93.184.216.34", 60, "a.example.com")])
    )
    recs.append(record("0.0.0.0", "255.255.255.255", 68, 67, "udp"))
    recs.append(record("::", "ff02::1", 0, 0, "icmpv6"))
    return recs


def test_contract(pipeline: EnrichmentPipeline) -> None:
    for enricher in pipeline.enrichers:
        typed: Enricher = enricher  # the base protocol, statically
        assert isinstance(typed, BatchEnricher), enricher.name
        # enrich_many gives the same fields as enrich on each record, in pipeline order
        one, many = _variety(40), _variety(40)
        for e in pipeline.enrichers:
            assert isinstance(e, BatchEnricher)
            for rec in one:
                e.enrich(rec)
            e.enrich_many(many)
            if e is enricher:
                break
        assert [dataclasses.asdict(r.enrich) for r in one] == [dataclasses.asdict(r.enrich) for r in many]


def test_caches_are_bounded(pipeline: EnrichmentPipeline) -> None:
    recs = _variety(2000)
    pipeline.enrich(recs)
    for e in pipeline.enrichers:
        assert isinstance(e, BatchEnricher)
        info = e.cache_info()
        assert info.size <= info.max_size or info.max_size == 0, e.name
        assert info.hits + info.misses > 0 or e.name == "classify", e.name
    assert all(r.enrich.privacy_score is not None and r.enrich.remote_ip for r in recs)


def test_enrichers_never_raise_on_odd_records(pipeline: EnrichmentPipeline) -> None:
    odd = [record("not-an-ip", "also-bad", 0, 0, "ip-99"), record("1.2.3.4", "::ffff:1.2.3.4")]
    odd[0].l7.tls_sni = "\x00weird name\xff"
    pipeline.enrich(copy.deepcopy(odd))


def test_lru() -> None:
    lru: Lru[str, int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # 'a' becomes the most recent
    lru.put("c", 3)
    assert "b" not in lru and "a" in lru and lru.info().evicted == 1 and lru.get("zz") is None
    assert (lru.info().hits, lru.info().misses) == (1, 1)


def test_corpus_flows_are_all_enriched(corpus: Path, pipeline: EnrichmentPipeline) -> None:
    recs: list[FlowRecord] = []
    for name in ("sites.pcapng", "1kxun.pcap", "ipv6.pcap"):
        recs += [
            r
            for b in Engine(EngineConfig()).run(open_capture(str(corpus / "pcaps" / name)))
            for r in b.records()
        ]
    pipeline.enrich(recs)
    assert all(r.enrich.privacy_level and r.enrich.direction for r in recs)
    public = [r for r in recs if r.enrich.direction == "outbound"]
    assert public and sum(1 for r in public if r.enrich.asn) / len(public) > 0.9
    assert sum(1 for r in public if r.enrich.name) / len(public) > 0.8
