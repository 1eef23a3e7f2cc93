"""The flows table's ``extra`` JSON column, on both backends: every field it holds round trips with
odd values, bad values are refused by field name, and a store made before it (migration 4) keeps its
flows' values."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from tests.store.records import T0, flow, flows

from flowradar.model.flow import DnsAnswer, FlowRecord
from flowradar.store.base import FlowQuery, StoreInputError
from flowradar.store.rows import records_table, to_record, with_sort_keys
from flowradar.store.schema import FLOW_EXTRA, FLOW_RECORD_COLUMNS, FLOW_SORT_KEYS, create_table, quote
from flowradar.store.sqlstore import SqlStore
from flowradar.store.tx import Tx

ODD = 'q"uote \\ ünï\tnl\n'


def _every_extra(i: int) -> FlowRecord:
    """A flow whose every extra field differs from its default (odd text, zero status, lists)."""
    rec = flow(i)
    l7 = dataclasses.replace(
        rec.l7,
        app_by="payload",
        tls_alpn=["h2", ODD],
        tls_versions_offered=["TLSv1.3"],
        tls_version="TLSv1.3",
        tls_cipher="0x1301",
        tls_ja3="ja3",
        tls_ja3s="ja3s",
        tls_ja4="t13d",
        tls_ech=True,
        quic_version="v1",
        dns_queries=["a.example"],
        dns_qtypes=["AAAA"],
        dns_answers=[DnsAnswer("a.example", "AAAA", "2001:db8::1", 30, ODD)],
        dns_rcode="NOERROR",
        http_method="GET",
        http_path="/" + ODD,
        http_user_agent="curl/8",
        http_referer="",
        http_status=0,
        http_content_type="text/html",
        http_requests=3,
        http_hosts=["a", "b"],
        http_user_agents=["curl/8"],
        ssh_client="SSH-2.0-a",
        ssh_server="SSH-2.0-b",
        dhcp_hostname="laptop",
        l7_error="bad \x01 byte",
    )
    enrich = dataclasses.replace(
        rec.enrich,
        name_source="sni",
        tracker="Tracker Inc",
        tracker_category="advertising",
        intel=["list:cat"],
        benign=["warninglist"],
    )
    return dataclasses.replace(rec, l7=l7, enrich=enrich)


def _back(store: SqlStore) -> dict[str, FlowRecord]:
    items = store.flows(FlowQuery(limit=100)).items
    return {i["uid"]: to_record(FlowRecord, {k: v for k, v in i.items() if k != "host"}) for i in items}


def test_every_extra_field_round_trips(store: SqlStore) -> None:
    recs = [_every_extra(1), *flows(4, start=2)]
    store.write_flows(recs, "h1", "b1")
    assert _back(store) == {r.uid: r for r in recs}
    item = store.flows(FlowQuery(text=recs[0].uid)).items[0]
    assert list(item) == ["host", *(c.name for c in FLOW_RECORD_COLUMNS[1:])]  # record field order
    assert (item["http_status"], item["http_referer"], item["tls_ech"]) == (0, "", True)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("http_status", "ok"),
        ("tls_ech", None),
        ("http_requests", 1 << 64),
        ("tls_alpn", "h2"),
        ("intel", [None]),
    ],
)
def test_a_bad_extra_value_is_refused_by_name(store: SqlStore, field: str, value: Any) -> None:
    rec = flow(3)
    part = "enrich" if field == "intel" else "l7"
    bad = dataclasses.replace(rec, **{part: dataclasses.replace(getattr(rec, part), **{field: value})})
    with pytest.raises(StoreInputError, match=f"'{field}'"):
        store.write_flows([*flows(3), bad], "h1", "b1")
    assert store.stats()["flows"] == 0


def test_a_store_from_before_the_extra_column_keeps_its_flows(store: SqlStore) -> None:
    """Flows written in the layout of migrations 1-3 (a column per field) are read back whole after
    migration 4 moved their rare fields into ``extra``; new writes land next to them."""
    old = [_every_extra(1), *flows(6, start=2)]

    def older_schema(tx: Tx) -> None:
        tx.execute("DROP TABLE flows")
        tx.execute(create_table(store.dialect, "flows_old", (*FLOW_RECORD_COLUMNS, *FLOW_SORT_KEYS)))
        tx.insert_arrow(
            "flows_old", with_sort_keys(records_table(old, "h1", FlowRecord, FLOW_RECORD_COLUMNS))
        )
        tx.execute("ALTER TABLE flows_old RENAME TO flows")
        tx.execute("DELETE FROM schema_version WHERE version = 4")

    store._run(older_schema)
    assert store.migrate() == 4
    cols = store._run(
        lambda tx: tx.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'flows' "
            "AND table_schema = current_schema()"
        )[1]
    )
    assert not {str(c[0]) for c in cols} & set(FLOW_EXTRA)
    new = flows(3, t=T0 + 600, start=50)
    store.write_flows(new, "h1", "b2")
    assert _back(store) == {r.uid: r for r in [*old, *new]}
    empty = store._run(lambda tx: tx.fetch(f"SELECT count(*) FROM flows WHERE {quote('extra')} IS NULL"))
    assert empty[1][0][0] > 0  # flows with only default extra fields store NULL
