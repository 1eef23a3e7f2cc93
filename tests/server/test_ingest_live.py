"""Live-only parts of agent batches: published on the feed for the token's host, validated, never
stored, not republished by a retried batch."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession
from tests.server.conftest import Api, flows, make_api, server_config, store_env

from flowradar.agent.wire import Batch, InterfaceRates, compress
from flowradar.model.host import InterfaceMetrics

RATES = [
    InterfaceMetrics("lo", True, rx_bytes_s=1e6),
    InterfaceMetrics("eth0", True, rx_bytes_s=2000.0, tx_bytes_s=500.0),
]


def _marker(api: Api, ws: WebSocketTestSession) -> dict[str, Any]:
    """Send a live-only batch and return the next event (so nothing was published in between)."""
    assert api.send(Batch(None, interfaces=InterfaceRates(42.0, RATES))).status_code == 200
    return dict(ws.receive_json())


def test_a_live_only_batch_is_published_for_the_tokens_host_and_never_stored(api: Api) -> None:
    active = flows(3, t=time.time())
    active[0].enrich.country = "GB"
    with api.client.websocket_connect("/api/v1/live", headers=api.viewer) as ws:
        assert ws.receive_json()["type"] == "state"
        answer = api.send(Batch(None, live_flows=active, interfaces=InterfaceRates(123.0, RATES)))
        assert answer.status_code == 200, answer.text
        assert answer.json()["duplicate"] is False and answer.json()["flows"] == 0
        updates = ws.receive_json()
        assert updates["type"] == "flow_updates" and updates["host"] == "agent1" and updates["count"] == 3
        assert [f["uid"] for f in updates["flows"]] == [f.uid for f in active]
        assert updates["flows"][0]["active"] is True and updates["flows"][0]["country"] == "GB"
        rates = ws.receive_json()
        assert rates["type"] == "interfaces" and rates["host"] == "agent1" and rates["ts"] == 123.0
        assert rates["interfaces"] == [
            {"name": "eth0", "up": True, "rx_bytes_s": 2000.0, "tx_bytes_s": 500.0}
        ]
        assert api.store.stats()["flows"] == 0
        assert api.client.get("/api/v1/hosts", headers=api.viewer).json() == []  # nothing written


def test_live_parts_go_before_the_stored_flows_and_a_retry_does_not_republish_them(api: Api) -> None:
    ended = flows(2, t=time.time() - 10)
    batch = Batch("agent1", flows=ended, live_flows=flows(1, start=5, t=time.time()))
    with api.client.websocket_connect("/api/v1/live", headers=api.viewer) as ws:
        assert ws.receive_json()["type"] == "state"
        assert api.send(batch).json()["flows"] == 2
        kinds = [ws.receive_json()["type"] for _ in range(3)]
        assert kinds == ["flow_updates", "flows", "rates"]
        retry = api.send(batch)
        assert retry.status_code == 200 and retry.json()["duplicate"] is True
        assert _marker(api, ws)["ts"] == 42.0  # the retry published nothing
    assert api.store.stats()["flows"] == 2


def test_an_old_batch_without_live_parts_still_ingests(api: Api) -> None:
    doc = Batch("agent1", flows=flows(2)).to_dict()
    assert "live_flows" not in doc and "interfaces" not in doc
    answer = api.client.post(
        "/api/v1/ingest",
        content=compress(json.dumps(doc).encode(), "gzip"),
        headers={**api.ingest, "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 200 and answer.json()["flows"] == 2


def _post(api: Api, doc: dict[str, Any]) -> Any:
    return api.client.post("/api/v1/ingest", content=json.dumps(doc).encode(), headers=api.ingest)


def test_invalid_live_parts_are_refused_in_one_line_and_nothing_is_half_written(api: Api) -> None:
    good = Batch("agent1", flows=flows(2), live_flows=flows(1, start=9)).to_dict()
    bad_port = json.loads(json.dumps(good))
    bad_port["live_flows"][0]["src_port"] = "http"
    bad_ts = {**good, "interfaces": {"ts": -1, "rates": []}}
    bad_rate = {**good, "interfaces": {"ts": 1.0, "rates": [{"name": "eth0", "rx_bytes_s": "fast"}]}}
    extra = {**good, "interfaces": {"ts": 1.0, "rates": [], "cpu": 3}}
    with api.client.websocket_connect("/api/v1/live", headers=api.viewer) as ws:
        assert ws.receive_json()["type"] == "state"
        for doc, where in (
            (bad_port, "live_flows.0.src_port"),
            (bad_ts, "interfaces.ts"),
            (bad_rate, "interfaces.rates.0.rx_bytes_s"),
            (extra, "interfaces.cpu"),
        ):
            answer = _post(api, doc)
            assert answer.status_code == 422, answer.text
            detail = answer.json()["detail"]
            assert detail.startswith(where) and "\n" not in detail, detail
        assert _marker(api, ws)["ts"] == 42.0  # nothing was published
    assert api.store.stats()["flows"] == 0


def test_live_flows_count_against_the_record_limit(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    env = {**store_env("duckdb", tmp_path, request), "FLOWRADAR_SERVER_INGEST_MAX_RECORDS": "5"}
    for small in make_api(server_config(env)):
        doc = Batch("agent1", flows=flows(2), live_flows=flows(4, start=10)).to_dict()
        answer = _post(small, doc)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == "too many records in one batch: 6 (at most 5)"
        assert small.store.stats()["flows"] == 0


def test_a_live_batch_for_another_host_is_refused(api: Api) -> None:
    answer = api.send(Batch("agent2", live_flows=flows(1)))
    assert answer.status_code == 403 and "agent2" in answer.json()["detail"]


def test_flows_without_their_identity_or_counters_are_refused_naming_the_field(api: Api) -> None:
    """A record must name itself, its endpoints and counters: 422 naming the field, nothing published."""
    for part in ("live_flows", "flows"):
        body = {"batch_id": "z", part: [{"uid": "Cbare", "transport": "tcp"}]}
        answer = api.client.post(
            "/api/v1/ingest",
            content=json.dumps(body),
            headers={**api.ingest, "Content-Type": "application/json"},
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"].startswith(f"{part}: Value error, record 0: ts_first is required")
    assert api.store.stats()["flows"] == 0
