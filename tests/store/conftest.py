"""Store fixtures: every contract test runs once on DuckDB and once on a throwaway PostgreSQL."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.store.pgcluster import PgCluster

from flowradar.store import open_store
from flowradar.store.settings import StoreConfig
from flowradar.store.sqlstore import SqlStore

StoreFactory = Callable[..., SqlStore]


@pytest.fixture(params=["duckdb", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


@pytest.fixture
def store_config(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreConfig:
    """A configuration pointing at a fresh, empty database of the backend under test."""
    if backend == "duckdb":
        return StoreConfig(path=str(tmp_path / "flowradar.duckdb"))
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    dsn = cluster.create_database("t_" + uuid.uuid4().hex[:12])
    return StoreConfig(backend="postgresql", dsn=dsn, reconnect_timeout_s=20.0)


@pytest.fixture
def make_store(store_config: StoreConfig) -> Iterator[StoreFactory]:
    """Opens (and at teardown closes) stores on the test's database; keyword args override config."""
    opened: list[SqlStore] = []

    def make(**over: Any) -> SqlStore:
        cfg = dataclasses.replace(store_config, **over)
        store = open_store(cfg)
        assert isinstance(store, SqlStore)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> SqlStore:
    """A migrated, empty store of the backend under test."""
    return make_store()
