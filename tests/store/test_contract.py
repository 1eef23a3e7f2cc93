"""The Store contract, run against DuckDB and PostgreSQL: ingest -> query round trip for every query."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from tests.store.records import SORT_KEYS, T0, connection, flows

from flowradar.model.flow import FlowRecord
from flowradar.store.base import FlowQuery, StoreInputError, TimeRange
from flowradar.store.rows import to_record
from flowradar.store.sqlstore import SqlStore

N = 60
RANGE = TimeRange(T0 - 3600, T0 + 3600)


@pytest.fixture
def loaded(store: SqlStore) -> tuple[SqlStore, list[FlowRecord]]:
    """A store holding N flows of host h1 and N/2 of host h2 (written in three batches)."""
    one, two = flows(N), flows(N // 2, start=N)
    assert store.write_flows(one[:25], "h1", "b1") == 25
    assert store.write_flows(one[25:], "h1", "b2") == N - 25
    assert store.write_flows(two, "h2", "b1") == N // 2
    return store, [*one, *two]


def _host(rec: FlowRecord) -> str:
    return "h2" if int(rec.uid[5:]) >= N else "h1"


def _all(store: SqlStore, **filters: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = store.flows(FlowQuery(limit=7, cursor=cursor, **filters))
        out += page.items
        cursor = page.next_cursor
        if cursor is None:
            return out


def test_flows_round_trip_every_field(loaded: tuple[SqlStore, list[FlowRecord]]) -> None:
    store, recs = loaded
    items = _all(store, sort="ts_first")
    assert len(items) == len(recs)
    by_uid = {r.uid: r for r in recs}
    for item in items:
        assert item["host"] == _host(by_uid[item["uid"]])
        back = to_record(FlowRecord, {k: v for k, v in item.items() if k != "host"})
        assert back == by_uid[item["uid"]]


@pytest.mark.parametrize(
    "sort", ["ts_first", "-ts_first", "-ts_last", "bytes", "-bytes", "packets", "-duration"]
)
def test_flow_pages_follow_the_sort(loaded: tuple[SqlStore, list[FlowRecord]], sort: str) -> None:
    store, recs = loaded
    items = _all(store, sort=sort)
    assert len({(i["uid"], i["host"]) for i in items}) == len(recs)
    key = {
        "ts_first": lambda i: i["ts_first"],
        "ts_last": lambda i: i["ts_last"],
        "bytes": lambda i: i["src_bytes"] + i["dst_bytes"],
        "packets": lambda i: i["src_packets"] + i["dst_packets"],
        "duration": lambda i: i["ts_last"] - i["ts_first"],
    }[sort.lstrip("-")]
    values = [key(i) for i in items]
    assert values == sorted(values, reverse=sort.startswith("-"))


def _expect(recs: list[FlowRecord], pred: Any) -> set[str]:
    return {r.uid for r in recs if pred(r)}


FILTERS: list[tuple[dict[str, Any], Any]] = [
    ({"host": "h2"}, lambda r: _host(r) == "h2"),
    ({"ip": "203.0.113.3"}, lambda r: "203.0.113.3" in (r.src_ip, r.dst_ip)),
    ({"port": 53}, lambda r: 53 in (r.src_port, r.dst_port)),
    ({"transport": "udp"}, lambda r: r.transport == "udp"),
    ({"app": "tls"}, lambda r: r.l7.app_proto == "tls"),
    ({"country": "DE"}, lambda r: r.enrich.country == "DE"),
    ({"domain": "example.org"}, lambda r: r.enrich.domain == "example.org"),
    ({"domain": "svc1.example.org"}, lambda r: r.enrich.name == "svc1.example.org"),
    ({"process": "sshd"}, lambda r: r.enrich.process == "sshd"),
    ({"text": "SVC2.example"}, lambda r: "svc2.example" in (r.enrich.name or "")),
    ({"text": "Cflow00001"}, lambda r: r.uid.startswith("Cflow00001")),
    ({"text": "100%_"}, lambda r: False),
    ({"start": T0 + 100, "end": T0 + 200}, lambda r: r.ts_last >= T0 + 100 and r.ts_first < T0 + 200),
    (
        {"host": "h1", "app": "dns", "country": "US"},
        lambda r: _host(r) == "h1" and r.l7.app_proto == "dns" and r.enrich.country == "US",
    ),
    ({"host": "h2", "process": "no-such-process"}, lambda r: False),
    (
        {"host": "h1", "transport": "tcp", "process": "curl"},
        lambda r: _host(r) == "h1" and r.transport == "tcp" and r.enrich.process == "curl",
    ),
]


@pytest.mark.parametrize(("filters", "pred"), FILTERS, ids=[str(f[0]) for f in FILTERS])
def test_flow_filters(loaded: tuple[SqlStore, list[FlowRecord]], filters: dict[str, Any], pred: Any) -> None:
    store, recs = loaded
    want = _expect(recs, pred)
    got = [i["uid"] for i in _all(store, **filters)]
    assert len(got) == len(set(got))
    assert set(got) == want


def test_bad_queries_are_refused(loaded: tuple[SqlStore, list[FlowRecord]]) -> None:
    store, _ = loaded
    for bad in (
        FlowQuery(sort="src_ip"),
        FlowQuery(sort="--bytes"),
        FlowQuery(limit=0),
        FlowQuery(limit=10_001),
        FlowQuery(cursor="not-a-cursor"),
        FlowQuery(cursor="WzEsIDJd"),  # [1, 2]: ours in form, not in content
    ):
        with pytest.raises(StoreInputError):
            store.flows(bad)
    with pytest.raises(StoreInputError):
        store.top_talkers(TimeRange(T0, T0 - 1))
    with pytest.raises(StoreInputError):
        store.bandwidth(RANGE, step=90)
    with pytest.raises(StoreInputError):
        store.bandwidth(RANGE, by="port")  # type: ignore[arg-type]


def _sums(recs: list[FlowRecord], key: Any) -> dict[Any, list[int]]:
    """key -> [flows, bytes, packets, bytes_in, bytes_out] computed from the records."""
    out: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for r in recs:
        k = key(r)
        if k is None:
            continue
        to_dst = (r.enrich.remote_ip or r.dst_ip) == r.dst_ip
        b_out, b_in = (r.src_bytes, r.dst_bytes) if to_dst else (r.dst_bytes, r.src_bytes)
        row = out[k]
        row[0] += 1
        row[1] += r.src_bytes + r.dst_bytes
        row[2] += r.src_packets + r.dst_packets
        row[3] += b_in
        row[4] += b_out
    return out


def _check(aggs: list[Any], want: dict[Any, list[int]]) -> None:
    got = {a.key: [a.flows, a.bytes, a.packets, a.bytes_in, a.bytes_out] for a in aggs}
    assert got == {str(k): v for k, v in want.items()}
    byte_order = [a.bytes for a in aggs]
    assert byte_order == sorted(byte_order, reverse=True)


@pytest.mark.parametrize("hours", [2, 24])  # 1-minute and 1-hour rollups
def test_aggregates_match_the_records(loaded: tuple[SqlStore, list[FlowRecord]], hours: int) -> None:
    store, recs = loaded
    rng = TimeRange(T0 - 1800, T0 - 1800 + hours * 3600)
    _check(store.top_talkers(rng, n=100), _sums(recs, lambda r: r.enrich.remote_ip))
    _check(store.top_talkers(rng, n=100, by="host"), _sums(recs, _host))
    _check(store.protocols(rng), _sums(recs, lambda r: r.l7.app_proto or r.transport))
    _check(store.countries(rng), _sums(recs, lambda r: r.enrich.country))
    _check(store.asns(rng), _sums(recs, lambda r: r.enrich.asn))
    _check(store.domains(rng), _sums(recs, lambda r: r.enrich.domain))
    _check(
        store.countries(rng, host="h2"),
        _sums([r for r in recs if _host(r) == "h2"], lambda r: r.enrich.country),
    )
    procs = store.processes(rng)
    want = _sums(recs, lambda r: (_host(r), r.enrich.process) if r.enrich.process else None)
    assert {(a.host, a.key): [a.flows, a.bytes, a.packets, a.bytes_in, a.bytes_out] for a in procs} == want
    top = store.top_talkers(rng, n=2)
    assert (len(top) == 2 and top[0].label is None) or top[0].label.endswith("example.org")  # type: ignore[union-attr]
    asn = {a.key: a.label for a in store.asns(rng)}
    assert asn["3320"] == "Deutsche Telekom"
    geo = {(g.country, g.city): g for g in store.geo(rng)}
    want_geo = _sums(recs, lambda r: (r.enrich.country, r.enrich.city) if r.enrich.country else None)
    assert {k: [g.flows, g.bytes, g.packets] for k, g in geo.items()} == {
        k: v[:3] for k, v in want_geo.items()
    }
    assert geo[("DE", "Frankfurt")].latitude == pytest.approx(50.11)
    assert geo[("FR", None)].longitude == pytest.approx(2.35)


def test_aggregates_outside_the_range_are_empty(loaded: tuple[SqlStore, list[FlowRecord]]) -> None:
    store, _ = loaded
    later = TimeRange(T0 + 86400, T0 + 90000)
    assert store.top_talkers(later) == [] and store.protocols(later) == [] and store.geo(later) == []
    assert store.bandwidth(later) == []


def test_bandwidth_series(loaded: tuple[SqlStore, list[FlowRecord]]) -> None:
    store, recs = loaded
    total = sum(r.src_bytes + r.dst_bytes for r in recs)
    for by in ("host", "process", "remote", "app"):
        points = store.bandwidth(RANGE, step=60, by=by, n=2)  # type: ignore[arg-type]
        assert abs(sum(p.bytes_in + p.bytes_out for p in points) - total) <= len(points)
        assert sum(p.flows for p in points) == len(recs)
        assert len({p.key for p in points} - {"other"}) <= 2
        assert [(p.ts, p.key) for p in points] == sorted((p.ts, p.key) for p in points)
        assert all(p.ts % 60 == 0 for p in points)
    per_host = store.bandwidth(RANGE, step=300, by="host")
    assert {p.key for p in per_host} == {"h1", "h2"}
    assert sum(p.flows for p in per_host if p.key == "h2") == N // 2
    h2 = store.bandwidth(RANGE, step=300, by="app", host="h2")
    assert sum(p.flows for p in h2) == N // 2
    hourly = store.bandwidth(TimeRange(T0 - 86400, T0 + 86400), step=3600, by="host")
    assert sum(p.flows for p in hourly) == len(recs) and all(p.ts % 3600 == 0 for p in hourly)


def test_bandwidth_spreads_a_long_flow(store: SqlStore) -> None:
    base = T0 // 60 * 60 + 60  # a minute boundary
    rec = dataclasses.replace(
        flows(1)[0], ts_first=base + 30, ts_last=base + 150, src_bytes=1200, dst_bytes=2400
    )
    store.write_flows([rec], "h1")
    points = store.bandwidth(TimeRange(base - 600, base + 600), step=60)
    assert [(p.ts - base, p.bytes_out, p.bytes_in, p.flows) for p in points] == [
        (0.0, 300, 600, 1),
        (60.0, 600, 1200, 0),
        (120.0, 300, 600, 0),
    ]


def test_connections_and_listening_ports(store: SqlStore) -> None:
    old = [connection(5000, T0, "LISTEN")]
    latest = [
        connection(22, T0 + 5, "LISTEN"),
        connection(53, T0 + 5, "UNCONN", "udp"),
        connection(45000, T0 + 5),
        connection(45001, T0 + 5, "TIME_WAIT"),
    ]
    assert store.write_connections(old, "h1", "p1") == 1
    assert store.write_connections(latest, "h1", "p2") == 4
    assert store.write_connections([connection(80, T0 + 9, "LISTEN")], "h2") == 1
    got = store.connections("h1")
    assert sorted(c.local_port for c in got) == [22, 53, 45000, 45001]
    assert {(c.local_port, c.rtt_ms, c.process) for c in got} >= {(22, 1.5, "nginx"), (53, None, "nginx")}
    assert sorted(c.local_port for c in store.listening_ports("h1")) == [22, 53]
    assert [c.local_port for c in store.listening_ports("h2")] == [80]
    assert store.connections("nobody") == []


@pytest.mark.parametrize("sort", ["ts_first", "-ts_first", "ts_last", "-ts_last"])
def test_time_sorted_pages_over_sparse_days(store: SqlStore, sort: str) -> None:
    """Time windows widen over gaps, and a long flow that began before the range still comes first."""
    sparse = flows(30, spacing=8 * 3600.0)
    start = T0 + 5 * 8 * 3600.0 - 60
    early = dataclasses.replace(flows(1, start=99)[0], ts_first=start - 1000, ts_last=start + 1000)
    store.write_flows([*sparse, early], "h1")
    for rng in ({}, {"start": start}, {"start": start, "end": T0 + 20 * 8 * 3600.0}, {"end": T0 + 3600}):
        got = [i["uid"] for i in _all(store, sort=sort, **rng)]
        recs = [
            r
            for r in [*sparse, early]
            if ("start" not in rng or r.ts_last >= rng["start"])
            and ("end" not in rng or r.ts_first < rng["end"])
        ]
        key = sort.lstrip("-")
        want = sorted(recs, key=lambda r: (getattr(r, key), r.uid), reverse=sort.startswith("-"))
        assert got == [r.uid for r in want], rng
    first = store.flows(FlowQuery(start=start, sort="ts_first", limit=1)).items[0]
    assert first["uid"] == early.uid


@pytest.mark.parametrize("values", [['q"uote', "back\\slash", "ünïcödé", "x,y"], ["tab\tand\nnewline", "é"]])
def test_list_values_survive_the_round_trip(store: SqlStore, values: list[str]) -> None:
    rec = flows(1)[0]
    rec = dataclasses.replace(rec, l7=dataclasses.replace(rec.l7, tls_alpn=values, http_hosts=["a", "b"]))
    store.write_flows([rec, *flows(2, start=1)], "h1")
    item = store.flows(FlowQuery(text=rec.uid)).items[0]
    assert (item["tls_alpn"], item["http_hosts"], item["intel"]) == (values, ["a", "b"], ["firehol:attacks"])


@pytest.mark.parametrize("sort", ["bytes", "-bytes", "packets", "-packets", "duration", "-duration"])
def test_ranked_pages_equal_the_full_ordering(store: SqlStore, sort: str) -> None:
    """Pages sorted by a non-time key (read up to a key bound found first) are exactly the rows of
    the full ordering (key, uid, host), many ties included, whatever the page size and filters."""
    recs = [
        dataclasses.replace(
            r, src_bytes=100 * (i % 4), dst_bytes=7, src_packets=i % 3, ts_last=r.ts_first + i % 5
        )
        for i, r in enumerate(flows(40))
    ]
    store.write_flows(recs, "h1")
    store.write_flows(recs[::2], "h2")  # same uids on another host: ties broken by host
    key = SORT_KEYS[sort.lstrip("-")]
    rows = [(r, "h1") for r in recs] + [(r, "h2") for r in recs[::2]]
    cases: list[tuple[dict[str, Any], Callable[[FlowRecord], bool]]] = [
        ({}, lambda r: True),
        ({"app": "tls"}, lambda r: r.l7.app_proto == "tls"),
    ]
    for filters, pred in cases:
        want = sorted(((key(r), r.uid, h) for r, h in rows if pred(r)), reverse=sort.startswith("-"))
        for limit in (1, 3, 7, 100):
            got: list[tuple[str, str]] = []
            cursor = None
            while True:
                page = store.flows(FlowQuery(limit=limit, cursor=cursor, sort=sort, **filters))
                got += [(i["uid"], i["host"]) for i in page.items]
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert got == [(uid, h) for _, uid, h in want], (filters, limit)
