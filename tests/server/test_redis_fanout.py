"""Two server processes sharing one Redis (and one PostgreSQL): a flow ingested through one appears
on the other's WebSocket feed, and the latest state is kept in Redis with an expiry."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from tests.server.conftest import ServerProcess, flows, free_port, store_env
from websockets.sync.client import connect

from flowradar.agent.wire import Batch, encode
from flowradar.config import load_config
from flowradar.server.auth import create_token
from flowradar.store import open_store


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of our own on a free loopback port, stopped at the end."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def test_a_flow_ingested_by_one_server_reaches_the_other_feed(
    redis_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {**store_env("postgresql", tmp_path, request), "FLOWRADAR_SERVER_REDIS_URL": redis_url}
    store = open_store(load_config(env=env).store)
    viewer = create_token(store, "api", None, role="viewer")[0]
    ingest = create_token(store, "ingest", None, host="agent1")[0]
    store.close()
    one, two = ServerProcess(env, log=tmp_path / "one.log"), ServerProcess(env, log=tmp_path / "two.log")
    one.start()
    two.start()
    try:
        ws_url = two.url.replace("http", "ws") + "/api/v1/live"
        with connect(ws_url, additional_headers={"Authorization": f"Bearer {viewer}"}, open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "state"
            batch = Batch("agent1", flows=flows(3))
            sent = time.monotonic()
            answer = httpx.post(
                one.url + "/api/v1/ingest",
                content=encode(batch),
                headers={"Authorization": f"Bearer {ingest}", "Content-Encoding": "zstd"},
            )
            assert answer.status_code == 200, answer.text
            event = json.loads(ws.recv(timeout=5))
            latency = time.monotonic() - sent
            assert event["type"] == "flows" and [f["uid"] for f in event["flows"]] == [
                f.uid for f in batch.flows
            ]
            assert latency < 1.0, latency
            assert json.loads(ws.recv(timeout=5))["type"] == "rates"
        state = redis.Redis.from_url(redis_url).get("flowradar:live:state:agent1")
        assert state is not None and json.loads(state)["host"] == "agent1"
        assert 0 < redis.Redis.from_url(redis_url).ttl("flowradar:live:state:agent1") <= 30
        # The second server answers queries on the shared store, and its feed shows the state first.
        got = httpx.get(two.url + "/api/v1/flows", headers={"Authorization": f"Bearer {viewer}"}).json()
        assert len(got["items"]) == 3
        with connect(ws_url, additional_headers={"Authorization": f"Bearer {viewer}"}, open_timeout=5) as ws:
            assert "agent1" in json.loads(ws.recv(timeout=5))["hosts"]
    finally:
        one.stop()
        two.stop()
