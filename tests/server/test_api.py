"""Ingest -> query round trip through the HTTP API, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import time

from tests.server.conftest import Api, flows
from tests.store.records import alert, connection, metrics

from flowradar.agent.wire import Batch


def _batch(api: Api, n: int = 40) -> Batch:
    now = time.time()
    return Batch(
        api.host,
        flows=flows(n, t=now - 120),
        connections=[connection(443, now), connection(22, now, "LISTEN"), connection(5432, now, "LISTEN")],
        metrics=[metrics(now - 1, api.host)],
        alerts=[alert("a1", now - 5)],
    )


def test_ingest_then_query_every_view(api_any: Api) -> None:
    api, c = api_any, api_any.client
    batch = _batch(api)
    r = api.send(batch)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "batch_id": batch.batch_id,
        "host": "agent1",
        "duplicate": False,
        "flows": 40,
        "connections": 3,
        "metrics": 1,
        "alerts": 1,
    }
    h = api.viewer
    got = c.get("/api/v1/flows", headers=h, params={"limit": 15})
    page = got.json()
    assert got.status_code == 200 and len(page["items"]) == 15 and page["next_cursor"]
    uids = {i["uid"] for i in page["items"]}
    while page["next_cursor"]:
        page = c.get("/api/v1/flows", headers=h, params={"limit": 15, "cursor": page["next_cursor"]}).json()
        uids |= {i["uid"] for i in page["items"]}
    assert uids == {f.uid for f in batch.flows}
    first = c.get("/api/v1/flows", headers=h, params={"limit": 1}).json()["items"][0]
    assert first["host"] == "agent1" and "community_id" in first and "tls_sni" in first
    tls = c.get("/api/v1/flows", headers=h, params={"app": "tls", "limit": 100}).json()["items"]
    assert tls and all(i["app_proto"] == "tls" for i in tls)
    assert [x["name"] for x in c.get("/api/v1/hosts", headers=h).json()] == ["agent1"]
    assert c.get("/api/v1/hosts/agent1/metrics", headers=h).json()[0]["cpu_percent"] == 12.5
    assert len(c.get("/api/v1/connections", headers=h, params={"host": "agent1"}).json()) == 3
    ports = c.get("/api/v1/ports", headers=h).json()
    assert {p["port"]: p["risk"] for p in ports} == {22: "medium", 5432: "high"}
    for view in ("processes", "top-talkers", "protocols", "countries", "asns", "domains", "geo", "bandwidth"):
        answer = c.get(f"/api/v1/{view}", headers=h, params={"start": time.time() - 3600})
        assert answer.status_code == 200 and answer.json(), view
    alerts = c.get("/api/v1/alerts", headers=h).json()["items"]
    assert [a["uid"] for a in alerts] == ["a1"] and alerts[0]["host"] == "agent1"


def test_batch_sent_twice_is_stored_once(api_any: Api) -> None:
    api = api_any
    batch = _batch(api, 10)
    assert api.send(batch).json()["duplicate"] is False
    again = api.send(batch, encoding="gzip")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert api.store.stats()["flows"] == 10


def test_alerts_acknowledged_and_resolved_by_admins_only(api_any: Api) -> None:
    api, c = api_any, api_any.client
    api.send(_batch(api, 1))
    assert c.post("/api/v1/alerts/a1/acknowledge", headers=api.viewer).status_code == 403
    assert c.post("/api/v1/alerts/a1/acknowledge", headers=api.admin).json() == {"status": "acknowledged"}
    assert c.get("/api/v1/alerts", headers=api.viewer, params={"status": "acknowledged"}).json()["items"]
    assert c.post("/api/v1/alerts/a1/resolve", headers=api.admin).status_code == 200
    assert c.post("/api/v1/alerts/nope/resolve", headers=api.admin).status_code == 404
    assert c.get("/api/v1/alerts", headers=api.viewer).json()["items"][0]["status"] == "resolved"


def test_query_arguments_are_validated(api: Api) -> None:
    c, h = api.client, api.viewer
    assert c.get("/api/v1/flows", headers=h, params={"port": 70000}).status_code == 422
    assert c.get("/api/v1/flows", headers=h, params={"sort": "bogus"}).status_code == 422
    bad = c.get("/api/v1/flows", headers=h, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["detail"]
    empty = c.get("/api/v1/protocols", headers=h, params={"start": 10, "end": 5})
    assert empty.status_code == 422 and "before" in empty.json()["detail"]
    assert c.get("/api/v1/bandwidth", headers=h, params={"step": 61}).status_code == 422


def test_live_feed_delivers_new_flows_within_a_second(api: Api) -> None:
    with api.client.websocket_connect("/api/v1/live", headers=api.viewer) as ws:
        assert ws.receive_json()["type"] == "state"
        sent = time.monotonic()
        api.send(Batch(api.host, flows=flows(3)))
        event = ws.receive_json()
        assert event["type"] == "flows" and event["count"] == 3
        assert time.monotonic() - sent < 1.0
        rates = ws.receive_json()
        assert rates["type"] == "rates" and rates["host"] == "agent1"
    with api.client.websocket_connect("/api/v1/live", headers=api.viewer) as ws:
        assert "agent1" in ws.receive_json()["hosts"]  # the latest state comes first


def test_metrics_and_docs(api: Api) -> None:
    api.send(Batch(api.host, flows=flows(2)))
    text = api.client.get("/metrics", headers=api.viewer).text
    assert 'flowradar_ingest_records_total{kind="flows"} 2.0' in text
    assert 'flowradar_store_rows{table="flows"} 2.0' in text
    spec = api.client.get("/api/v1/openapi.json", headers=api.viewer).json()
    assert "/api/v1/flows" in spec["paths"] and "IngestBatch" in spec["components"]["schemas"]
    flow_row = spec["components"]["schemas"]["FlowRow"]["properties"]
    assert flow_row["community_id"]["description"].startswith("Community ID")
    assert "text/html" in api.client.get("/api/v1/docs", headers=api.viewer).headers["content-type"]
