"""Privacy score examples with the documented default weights, and configured weights."""

from __future__ import annotations

import pytest
from tests.enrich.helpers import dns_record, record

from flowradar.enrich.privacy import DEFAULT_WEIGHTS, PrivacyEnricher, level, parse_weights, score
from flowradar.model.flow import FlowRecord


def _enriched(rec: FlowRecord, **fields: object) -> FlowRecord:
    rec.enrich.remote_ip = rec.dst_ip
    for k, v in fields.items():
        setattr(rec.enrich, k, v)
    return rec


def test_levels() -> None:
    assert [level(s) for s in (0, 20, 21, 50, 51, 80, 81, 100)] == [
        "low", "low", "medium", "medium", "high", "high", "critical", "critical"
    ]  # fmt: skip


def test_examples() -> None:
    w = DEFAULT_WEIGHTS
    plain = _enriched(record(dport=5000, transport="udp"))
    assert score(plain, w) == 5  # base only
    https13 = _enriched(record(app_proto="tls", tls_version="TLSv1.3"))
    assert score(https13, w) == 5 + 5
    http_ads = _enriched(record(dport=80, app_proto="http"), tracker="Google", tracker_category="advertising")
    assert score(http_ads, w) == 5 + 60 + 15
    ssl = _enriched(record(app_proto="tls", tls_version="SSLv3"))
    assert score(ssl, w) == 5 + 5 + 30
    big_upload = _enriched(record(app_proto="tls", nbytes=(11 * 1024 * 1024, 1000), tls_version="TLSv1.2"))
    assert score(big_upload, w) == 5 + 5 + 10 + 10
    bad = _enriched(
        record(dport=80, app_proto="http"), tracker_category="cryptomining", threat_level=50, tracker="x"
    )
    assert score(bad, w) == 100  # 5 + 80 + 50 + 15 clamped
    sinkholed = dns_record(
        "10.0.0.2", "10.0.0.1", [("ads.example.com", "A", "0.0.0.0", 60, "ads.example.com")]
    )
    assert score(_enriched(sinkholed), w) == 5 + 30


def test_refused_connection_counts_as_blocked() -> None:
    rec = _enriched(record(dport=8443, nbytes=(60, 40)), tracker="t", tracker_category="analytics")
    rec.history, rec.src_payload, rec.dst_payload = "Sr", 0, 0
    assert score(rec, DEFAULT_WEIGHTS) == 5 + 40 + 30


def test_configured_weights() -> None:
    w = parse_weights(["http=40", "cat.advertising=20", "CAT.newcat=7"])
    assert w["http"] == 40 and w["cat.advertising"] == 20 and w["cat.newcat"] == 7
    rec = _enriched(record(dport=80, app_proto="http"), tracker="t", tracker_category="advertising")
    e = PrivacyEnricher(w)
    assert e.enrich(rec) and rec.enrich.privacy_score == 5 + 20 + 40 and rec.enrich.privacy_level == "high"
    with pytest.raises(ValueError, match="NAME=POINTS"):
        parse_weights(["nonsense=3"])
    with pytest.raises(ValueError, match="integer"):
        parse_weights(["http=lots"])
