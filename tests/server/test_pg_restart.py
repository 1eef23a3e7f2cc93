"""PostgreSQL restarts in the middle of ingest: the server answers 503 meanwhile, the agent retries,
and every record is stored exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.agent.producer import Producer, all_uids
from tests.server.conftest import ServerProcess, store_env
from tests.store.pgcluster import PgCluster

from flowradar.agent.collect import Collector
from flowradar.agent.settings import AgentConfig
from flowradar.agent.shipper import Shipper
from flowradar.agent.spool import Spool
from flowradar.agent.wire import encode
from flowradar.config import load_config
from flowradar.server.auth import create_token
from flowradar.store import open_store


def test_ingest_survives_a_postgresql_restart(
    tmp_path: Path, request: pytest.FixtureRequest, pg_cluster: PgCluster
) -> None:
    env = {**store_env("postgresql", tmp_path, request), "FLOWRADAR_STORE_RECONNECT_TIMEOUT_S": "2"}
    store = open_store(load_config(env=env).store)
    ingest = create_token(store, "ingest", None, host="agent1")[0]
    viewer = create_token(store, "api", None, role="viewer")[0]
    store.close()
    server = ServerProcess(env, log=tmp_path / "server.log")
    server.start()
    cfg = AgentConfig(
        server=server.url, token=ingest, batch_interval_s=0.1, backoff_initial_s=0.1, backoff_max_s=1
    )
    spool = Spool(tmp_path / "spool", cfg.spool_max_bytes)
    shipper = Shipper(cfg, spool)
    collector = Collector(cfg, lambda b: spool.put(b.batch_id, encode(b)), host="agent1")
    producer = Producer(collector)
    shipper.start()
    collector.start()
    producer.start()
    try:
        time.sleep(1.5)
        pg_cluster.restart()
        time.sleep(2.0)
        producer.stop()
        collector.stop()
        deadline = time.monotonic() + 60
        while len(spool) and time.monotonic() < deadline:
            time.sleep(0.1)
        uids = all_uids(server.url, viewer)
        assert len(spool) == 0
        assert len(uids) == producer.made and len(set(uids)) == producer.made
    finally:
        producer.stop()
        shipper.stop()
        server.stop()
