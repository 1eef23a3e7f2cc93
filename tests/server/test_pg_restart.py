"""PostgreSQL restarts in the middle of ingest: the server answers 503 meanwhile, the agent retries,
and every record is stored exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.agent.producer import SpooledAgent, agent_tokens, all_uids
from tests.server.conftest import ServerProcess, store_env
from tests.store.pgcluster import PgCluster

from flowradar.agent.settings import AgentConfig


def test_ingest_survives_a_postgresql_restart(
    tmp_path: Path, request: pytest.FixtureRequest, pg_cluster: PgCluster
) -> None:
    env = {**store_env("postgresql", tmp_path, request), "FLOWRADAR_STORE_RECONNECT_TIMEOUT_S": "2"}
    ingest, viewer = agent_tokens(env, "agent1")
    server = ServerProcess(env, log=tmp_path / "server.log")
    server.start()
    cfg = AgentConfig(
        server=server.url, token=ingest, batch_interval_s=0.1, backoff_initial_s=0.1, backoff_max_s=1
    )
    agent = SpooledAgent(cfg, tmp_path / "spool")
    agent.start()
    try:
        time.sleep(1.5)
        pg_cluster.restart()
        time.sleep(2.0)
        agent.finish()
        uids = all_uids(server.url, viewer)
        assert len(agent.spool) == 0
        assert len(uids) == agent.producer.made and len(set(uids)) == agent.producer.made
    finally:
        agent.close()
        server.stop()
