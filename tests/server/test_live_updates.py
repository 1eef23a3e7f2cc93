"""Live updates of the local host: active-flow snapshots and interface rates on the feed, never stored."""

from __future__ import annotations

import time

from tests.server.conftest import Api, flows
from tests.store.records import metrics

from flowradar.agent.wire import Batch
from flowradar.model.host import InterfaceMetrics
from flowradar.server.runner import LocalLive, local_sink


def test_snapshots_go_to_the_feed_only_and_the_final_record_follows_by_uid(api: Api) -> None:
    live = LocalLive(api.app, "agent1")
    active = flows(2, t=time.time())
    for f in active:
        f.enrich.country, f.enrich.asn, f.enrich.process = "GB", 64500, "curl"
    with api.client.websocket_connect("/api/v1/live", headers=api.viewer) as ws:
        assert ws.receive_json()["type"] == "state"
        live.flows(active)
        event = ws.receive_json()
        assert event["type"] == "flow_updates" and event["host"] == "agent1" and event["count"] == 2
        first = event["flows"][0]
        assert first["active"] is True and first["uid"] == active[0].uid and first["end_reason"] is None
        assert (first["country"], first["asn"], first["process"]) == ("GB", 64500, "curl")
        assert first["bytes"] == active[0].src_bytes + active[0].dst_bytes
        assert api.store.stats()["flows"] == 0  # snapshots are live-only
        local_sink(api.app)(Batch("agent1", flows=active))
        final = ws.receive_json()
        assert final["type"] == "flows" and final["flows"][0]["active"] is False
        assert final["flows"][0]["uid"] == active[0].uid
        assert api.store.stats()["flows"] == 2


def test_interface_rates_every_second_and_in_the_host_rates(api: Api) -> None:
    live = LocalLive(api.app, "agent1")
    rates = [
        InterfaceMetrics("lo", True, rx_bytes_s=1e6, tx_bytes_s=1e6),
        InterfaceMetrics("eth0", True, rx_bytes_s=1000.0, tx_bytes_s=250.0),
        InterfaceMetrics("wlan0", False, rx_bytes_s=10.0, tx_bytes_s=0.0),
    ]
    with api.client.websocket_connect("/api/v1/live", headers=api.viewer) as ws:
        assert ws.receive_json()["type"] == "state"
        live.interfaces(123.0, rates)
        event = ws.receive_json()
        assert event == {
            "type": "interfaces",
            "host": "agent1",
            "ts": 123.0,
            "interfaces": [
                {"name": "eth0", "up": True, "rx_bytes_s": 1000.0, "tx_bytes_s": 250.0},
                {"name": "wlan0", "up": False, "rx_bytes_s": 10.0, "tx_bytes_s": 0.0},
            ],
            "origin": event["origin"],
        }
        # a metrics sample's 10 s averages do not override the fresher live rates
        local_sink(api.app)(Batch("agent1", metrics=[metrics(time.time(), "agent1")]))
        host_rates = ws.receive_json()
        assert host_rates["type"] == "rates" and host_rates["rx_bytes_s"] == 1010.0
        assert host_rates["cpu_percent"] == 12.5


def test_an_agent_metrics_sample_announces_its_interfaces(api: Api) -> None:
    with api.client.websocket_connect("/api/v1/live", headers=api.viewer) as ws:
        assert ws.receive_json()["type"] == "state"
        api.send(Batch(api.host, metrics=[metrics(time.time(), api.host)]))
        event = ws.receive_json()
        assert event["type"] == "interfaces" and event["interfaces"][0]["name"] == "eth0"
        assert event["interfaces"][0]["rx_bytes_s"] == 10.5
        assert ws.receive_json()["type"] == "rates"
