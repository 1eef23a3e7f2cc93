"""The Store contract on both backends: migrations, idempotent batches, atomic writes, rollups, retention."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from tests.store.conftest import StoreFactory
from tests.store.records import SORT_KEYS, T0, alert, connection, flow, flows, metrics

from flowradar.config import load_config
from flowradar.store import open_store, rows
from flowradar.store.base import FlowQuery, StoreError, StoreInputError, TimeRange
from flowradar.store.schema import MIGRATIONS
from flowradar.store.settings import StoreConfig, default_duckdb_path
from flowradar.store.sqlstore import SqlStore
from flowradar.store.tx import Tx

LATEST = MIGRATIONS[-1][0]
EMPTY = {
    t: 0
    for t in (
        "flows",
        "connections",
        "host_metrics",
        "alerts",
        "hosts",
        "users",
        "tokens",
        "batches",
        "rollup_1m",
        "rollup_1h",
    )
}


def test_migrations_from_empty_and_rerun(make_store: StoreFactory) -> None:
    store = make_store()
    assert store.schema_version() == LATEST
    assert store.stats() == EMPTY
    assert store.migrate() == LATEST  # a second run changes nothing
    store.write_flows(flows(3), "h1")
    store.close()
    again = make_store()  # reopening migrates again: data kept
    assert again.schema_version() == LATEST
    assert again.stats()["flows"] == 3
    rows = again._run(lambda tx: tx.fetch("SELECT version FROM schema_version ORDER BY version")[1])
    assert [r[0] for r in rows] == [v for v, _ in MIGRATIONS]


def test_a_new_record_field_becomes_a_column(make_store: StoreFactory) -> None:
    store = make_store()
    store._run(lambda tx: tx.execute('ALTER TABLE flows DROP COLUMN "privacy_level"'))  # an older schema
    store.migrate()
    store.write_flows([flow(1)], "h1")
    assert store.flows(FlowQuery()).items[0]["privacy_level"] is None


def test_sort_keys_are_filled_for_flows_stored_before_them(make_store: StoreFactory) -> None:
    store = make_store()
    store.write_flows(flows(12), "h1")

    def older_schema(tx: Tx) -> None:  # flows written before migration 3
        for col in ("sort_bytes", "sort_packets", "sort_duration"):
            tx.execute(f"ALTER TABLE flows DROP COLUMN {col}")
        tx.execute("DELETE FROM schema_version WHERE version = 3")

    store._run(older_schema)
    assert store.migrate() == LATEST
    for sort in ("-bytes", "packets", "-duration"):
        key = SORT_KEYS[sort.lstrip("-")]
        items = store.flows(FlowQuery(sort=sort, limit=5)).items
        want = sorted(flows(12), key=lambda r: (key(r), r.uid), reverse=sort.startswith("-"))
        assert [i["uid"] for i in items] == [r.uid for r in want[:5]], sort


def test_same_batch_twice_is_stored_once(store: SqlStore) -> None:
    batch = flows(20)
    assert store.write_flows(batch, "h1", "batch-1") == 20
    assert store.write_flows(batch, "h1", "batch-1") == 0
    assert store.write_flows(batch, "h2", "batch-1") == 20  # batch ids are per host
    assert store.write_connections([connection(22, T0, "LISTEN")], "h1", "batch-1") == 1  # and per kind
    assert store.write_connections([connection(22, T0, "LISTEN")], "h1", "batch-1") == 0
    counts = store.write_batch(
        "h1",
        "batch-2",
        flows=flows(5, start=100),
        connections=[connection(80, T0, "LISTEN")],
        metrics=[metrics(T0)],
    )
    assert (counts.flows, counts.connections, counts.metrics, counts.skipped) == (5, 1, 1, [])
    again = store.write_batch("h1", "batch-2", flows=flows(5, start=100), metrics=[metrics(T0)])
    assert (again.flows, again.metrics, sorted(again.skipped)) == (0, 0, ["flows", "host_metrics"])
    stats = store.stats()
    assert (stats["flows"], stats["connections"], stats["host_metrics"], stats["batches"]) == (45, 2, 1, 6)
    rng = TimeRange(T0 - 3600, T0 + 3600)
    assert sum(a.flows for a in store.protocols(rng)) == 45
    assert sum(a.flows for a in store.top_talkers(rng, by="host", n=10)) == 45


BAD_FIELDS = [
    {"src_port": "http"},
    {"src_bytes": None},
    {"uid": None},
    {"ts_first": float("nan")},
    {"ts_last": T0 - 10},
    {"ts_last": T0 + 40 * 86400},
    {"src_bytes": 1 << 64},
]


@pytest.mark.parametrize(
    "bad", BAD_FIELDS, ids=[next(iter(b)) + "=" + repr(next(iter(b.values()))) for b in BAD_FIELDS]
)
def test_a_bad_record_leaves_nothing_written(store: SqlStore, bad: dict[str, object]) -> None:
    batch = flows(10)
    batch[7] = dataclasses.replace(batch[7], **bad)  # type: ignore[arg-type]
    with pytest.raises(StoreInputError):
        store.write_flows(batch, "h1", "b1")
    assert store.stats() == EMPTY
    assert store.write_flows(flows(10), "h1", "b1") == 10  # the batch id was not taken


def test_flows_streamed_in_parts_are_written_whole_or_not_at_all(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "FLOW_PART", 4)  # parts of 4 flows: 4 + 4 + 2
    monkeypatch.setattr(store, "stream_flows", True)
    batch = flows(10)
    batch[9] = dataclasses.replace(batch[9], ts_last=T0 - 10)  # in the last part
    with pytest.raises(StoreInputError, match="impossible timestamps"):
        store.write_flows(batch, "h1", "b1")
    assert store.stats() == EMPTY
    assert store.write_flows(flows(10), "h1", "b1") == 10
    assert store.write_flows(flows(10), "h1", "b1") == 0
    rng = TimeRange(T0 - 3600, T0 + 3600)
    assert sum(a.flows for a in store.protocols(rng)) == 10
    assert {i["uid"] for i in store.flows(FlowQuery(limit=20)).items} == {r.uid for r in flows(10)}


@pytest.mark.parametrize("alpn", ["h2", ["h2", None], [1]])
def test_a_bad_list_field_is_refused(store: SqlStore, alpn: object) -> None:
    batch = flows(3)
    batch[1] = dataclasses.replace(batch[1], l7=dataclasses.replace(batch[1].l7, tls_alpn=alpn))
    with pytest.raises(StoreInputError, match="tls_alpn"):
        store.write_flows(batch, "h1", "b1")
    assert store.stats() == EMPTY


def test_a_bad_part_of_a_mixed_batch_leaves_nothing_written(store: SqlStore) -> None:
    bad_sock = dataclasses.replace(connection(22, T0), local_port="ssh")  # type: ignore[arg-type]
    with pytest.raises(StoreInputError):
        store.write_batch("h1", "b1", flows=flows(10), connections=[bad_sock])
    with pytest.raises(StoreInputError):
        store.write_batch("h1", "b1", flows=flows(10), metrics=[dataclasses.replace(metrics(T0), ts=None)])  # type: ignore[arg-type]
    with pytest.raises(StoreInputError):
        store.write_flows([{"uid": "x"}], "h1")  # type: ignore[list-item]
    with pytest.raises(StoreInputError):
        store.write_flows(flows(2), "")
    with pytest.raises(StoreInputError, match="status"):
        store.write_alerts([alert("a1", T0, status="closed")], "h1")
    assert store.stats() == EMPTY


def test_rollup_compaction_keeps_the_answers(store: SqlStore) -> None:
    base = T0 // 3600 * 3600 + 3600
    for k in range(4):  # four batches of the same flows' keys, in the same minutes
        batch = [dataclasses.replace(flow(i, base + 5 * i), uid=f"C{k}-{i}") for i in range(12)]
        store.write_flows(batch, "h1", f"b{k}")
    rng = TimeRange(base - 60, base + 3600)
    before = (store.top_talkers(rng, n=50), store.protocols(rng), store.bandwidth(rng, 60, "remote", n=50))
    stats = store.stats()
    merged = store.rollup(now=base + 7200)
    after_stats = store.stats()
    assert merged > 0
    assert (
        after_stats["rollup_1m"] + after_stats["rollup_1h"]
        == stats["rollup_1m"] + stats["rollup_1h"] - merged
    )
    assert after_stats["rollup_1m"] == stats["rollup_1m"] // 4  # four batches, same keys: one row each
    assert store.rollup(now=base + 7200) == 0
    after = (store.top_talkers(rng, n=50), store.protocols(rng), store.bandwidth(rng, 60, "remote", n=50))
    assert after == before
    hourly = TimeRange(base - 86400, base + 86400)
    assert sum(a.flows for a in store.protocols(hourly)) == 48


def test_rollup_leaves_open_buckets_partial(store: SqlStore) -> None:
    base = T0 // 60 * 60
    store.write_flows([flow(1, base + 1)], "h1", "a")
    store.write_flows([dataclasses.replace(flow(1, base + 2), uid="Cother")], "h1", "b")
    assert store.rollup(now=base + 30) == 0  # the minute is not over yet
    assert store.rollup(now=base + 3600) > 0  # the hour bucket is over only at base+3600 or later
    assert store.protocols(TimeRange(base - 60, base + 60))[0].flows == 2


def test_retention_per_table(make_store: StoreFactory) -> None:
    store = make_store(
        retain_flows_days=1, retain_connections_days=1, retain_host_metrics_days=1, retain_alerts_days=1
    )
    now = T0 + 10 * 86400
    store.write_flows(flows(5, t=T0), "h1", "old")
    store.write_flows(flows(3, t=now - 3600, start=50), "h1", "new")
    store.write_connections([connection(22, T0), connection(22, now)], "h1")
    store.write_host_metrics([metrics(T0), metrics(now)], "h1")
    store.write_alerts(
        [alert("a1", T0), alert("a2", T0, status="resolved"), alert("a3", now, status="resolved")], "h1"
    )
    deleted = store.retain(now)
    assert deleted["flows"] == 5 and deleted["connections"] == 1 and deleted["host_metrics"] == 1
    assert deleted["alerts"] == 1  # old and resolved; the old open one stays
    assert deleted["rollup_1m"] == 0 and deleted["batches"] == 0
    stats = store.stats()
    assert (stats["flows"], stats["connections"], stats["host_metrics"], stats["alerts"]) == (3, 1, 1, 2)
    deleted = store.retain(now + 30 * 86400)
    assert deleted["rollup_1m"] > 0 and deleted["rollup_1h"] == 0 and deleted["batches"] == 0
    deleted = store.retain(time.time() + 31 * 86400)  # batch ids are kept by the wall clock
    assert deleted["batches"] == 2 and deleted["rollup_1h"] > 0
    assert store.write_flows(flows(5, t=T0), "h1", "old") == 5  # a forgotten batch id is new again


def test_open_store_is_chosen_by_configuration(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unknown store backend"):
        open_store(StoreConfig(backend="sqlite"))
    with pytest.raises(StoreError, match="dsn"):
        open_store(StoreConfig(backend="postgresql"))
    cfg = load_config(
        env={"FLOWRADAR_STORE_PATH": str(tmp_path / "x.duckdb"), "FLOWRADAR_STORE_RETAIN_FLOWS_DAYS": "3"}
    )
    assert cfg.store.backend == "duckdb" and cfg.store.retain_flows_days == 3.0
    store = open_store(cfg.store)
    assert (tmp_path / "x.duckdb").exists()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.stats()
    assert default_duckdb_path({"FLOWRADAR_DATA_DIR": "/srv/fr"}) == Path("/srv/fr/flowradar.duckdb")
    assert default_duckdb_path({}).parts[-3:] == ("share", "flowradar", "flowradar.duckdb")


def test_concurrent_writers(store: SqlStore) -> None:
    import threading

    def writer(k: int) -> None:
        for b in range(5):
            store.write_flows(flows(20, start=1000 * k + 20 * b), f"h{k}", f"b{b}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.stats()["flows"] == 400
