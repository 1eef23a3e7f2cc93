"""An agent keeps collecting while its server is killed (SIGKILL) for OUTAGE_S seconds and restarted:
every record arrives exactly once (counted through the API)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from tests.agent.producer import SpooledAgent, agent_tokens, all_uids
from tests.server.conftest import ServerProcess, store_env
from tests.store.records import flow

from flowradar.agent.settings import AgentConfig
from flowradar.agent.shipper import Shipper
from flowradar.agent.spool import Spool
from flowradar.agent.wire import Batch, encode

OUTAGE_S = 60.0
"""How long the server stays down (the issue's figure)."""
BEFORE_S = 3.0
AFTER_S = 3.0


@pytest.mark.timeout(300)
def test_nothing_is_lost_or_doubled_across_a_server_outage(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = store_env("duckdb", tmp_path, request)
    ingest, viewer = agent_tokens(env, "agent1")
    server = ServerProcess(env, log=tmp_path / "server.log")
    server.start()
    cfg = AgentConfig(
        server=server.url,
        token=ingest,
        batch_interval_s=0.2,
        backoff_initial_s=0.2,
        backoff_max_s=2.0,
        timeout_s=5,
    )
    agent = SpooledAgent(cfg, tmp_path / "spool")
    spool, shipper, collector, producer = agent.spool, agent.shipper, agent.collector, agent.producer
    agent.start()
    try:
        time.sleep(BEFORE_S)
        server.kill()
        time.sleep(OUTAGE_S)
        waiting = len(spool)
        assert waiting > OUTAGE_S  # about five batches a second piled up on disk
        server.start()
        time.sleep(AFTER_S)
        agent.finish()
        assert len(spool) == 0 and spool.dropped == 0
        uids = all_uids(server.url, viewer)
        print(
            f"\noutage {OUTAGE_S:.0f} s: made {producer.made} flows in {collector.stats.batches} batches; "
            f"{waiting} batches spooled during the outage; server stored {len(uids)} flows, "
            f"{len(set(uids))} distinct; shipper sent {shipper.stats.sent}, "
            f"duplicates {shipper.stats.duplicates}, failed attempts {shipper.stats.failures}"
        )
        assert len(uids) == producer.made
        assert set(uids) == {f"Cflow{i:06d}" for i in range(producer.made)}
    finally:
        agent.close()
        server.stop()


def test_a_batch_whose_answer_was_lost_is_stored_once(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The server stored a batch but the agent never heard: the retry is recognised by its id."""
    env = store_env("duckdb", tmp_path, request)
    ingest, _viewer = agent_tokens(env, "agent1")
    server = ServerProcess(env, log=tmp_path / "server.log")
    server.start()
    try:
        batch = Batch("agent1", flows=[flow(i, time.time() - 5) for i in range(5)])
        headers = {"Authorization": f"Bearer {ingest}", "Content-Encoding": "zstd"}
        first = httpx.post(server.url + "/api/v1/ingest", content=encode(batch), headers=headers)
        spool = Spool(tmp_path / "spool", 1 << 20)
        spool.put(batch.batch_id, encode(batch))
        shipper = Shipper(AgentConfig(server=server.url, token=ingest), spool)
        shipper.drain()
        shipper.stop()
        assert first.json()["flows"] == 5 and shipper.stats.duplicates == 1 and len(spool) == 0
    finally:
        server.stop()
