"""Record -> Arrow conversion shortcuts give exactly what the general path gives."""

from __future__ import annotations

import json

import pyarrow as pa
from tests.store.records import flows

from flowradar.model.flow import DnsAnswer
from flowradar.store.rows import _answers_json, flows_table


def test_dns_answers_json_equals_json_dumps() -> None:
    answers = [DnsAnswer('a.é"x\\', "A", "192.0.2.1", 60, "o\x01\n"), DnsAnswer("b", "CNAME", "c", 0, "")]
    plain = [{f: getattr(a, f) for f in ("query", "type", "value", "ttl", "owner")} for a in answers]
    assert _answers_json(answers) == json.dumps(plain, separators=(",", ":"))
    assert _answers_json([DnsAnswer("a", "A", "x", True, "")]) is None  # odd types: the general path
    assert _answers_json(({"query": "a"},)) is None


def test_a_column_of_none_only_is_typed_nulls() -> None:
    table = flows_table(flows(5), "h1")  # no record sets exe or tls_ja3s
    for name in ("exe", "tls_ja3s", "http_referer"):
        assert table[name].type == pa.string() and table[name].null_count == 5
