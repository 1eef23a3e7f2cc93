"""PostgreSQL restarts in the middle of ingest: later writes reconnect, nothing is lost or doubled."""

from __future__ import annotations

import threading
import uuid

import pytest
from tests.store.pgcluster import PgCluster
from tests.store.records import T0, flows

from flowradar.store import open_store
from flowradar.store.base import TimeRange
from flowradar.store.settings import StoreConfig
from flowradar.store.sqlstore import SqlStore

BATCHES = 40
SIZE = 400


@pytest.fixture
def pg_store(pg_cluster: PgCluster) -> SqlStore:
    dsn = pg_cluster.create_database("r_" + uuid.uuid4().hex[:12])
    store = open_store(StoreConfig(backend="postgresql", dsn=dsn, reconnect_timeout_s=30.0))
    assert isinstance(store, SqlStore)
    return store


def _backend_pid(store: SqlStore) -> int:
    return int(store._run(lambda tx: tx.fetch("SELECT pg_backend_pid()")[1][0][0]))


def test_write_after_restart_reconnects(pg_cluster: PgCluster, pg_store: SqlStore) -> None:
    assert pg_store.write_flows(flows(50), "h1", "before") == 50
    pid = _backend_pid(pg_store)
    pg_cluster.restart()  # cuts the store's connection
    assert pg_store.write_flows(flows(50, start=50), "h1", "after") == 50
    assert _backend_pid(pg_store) != pid
    assert pg_store.stats()["flows"] == 100
    pg_store.close()


def test_restart_during_a_series_of_writes(pg_cluster: PgCluster, pg_store: SqlStore) -> None:
    batches = [flows(SIZE, start=b * SIZE, spacing=0.5) for b in range(BATCHES)]
    started = threading.Event()
    restarts: list[BaseException | None] = []

    def restart_twice() -> None:
        try:
            started.wait(30)
            pg_cluster.restart()
            pg_cluster.restart()
            restarts.append(None)
        except BaseException as exc:  # reported by the main thread
            restarts.append(exc)

    thread = threading.Thread(target=restart_twice)
    thread.start()
    pid = _backend_pid(pg_store)
    written = 0
    for b, batch in enumerate(batches):
        if b == 5:
            started.set()
        if b == BATCHES - 5:  # both restarts happened while batches 5 to 35 were being written
            thread.join(60)
            assert restarts == [None]
        written += pg_store.write_flows(batch, "h1", f"batch-{b}")
    assert _backend_pid(pg_store) != pid
    # an agent that never got an answer sends its batches again: all are known, none is stored twice
    replayed = sum(pg_store.write_flows(batch, "h1", f"batch-{b}") for b, batch in enumerate(batches))
    stats = pg_store.stats()
    assert (written, replayed, stats["flows"], stats["batches"]) == (
        BATCHES * SIZE,
        0,
        BATCHES * SIZE,
        BATCHES,
    )
    distinct = pg_store._run(lambda tx: tx.fetch("SELECT count(DISTINCT uid) FROM flows")[1][0][0])
    assert distinct == BATCHES * SIZE
    everything = TimeRange(T0 - 60, T0 + BATCHES * SIZE)
    assert sum(a.flows for a in pg_store.top_talkers(everything, by="host")) == BATCHES * SIZE
    pg_store.close()
