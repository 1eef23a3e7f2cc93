"""An agent's live updates: sent at once as live-only batches, never spooled, dropped when stale."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from tests.store.records import flow, metrics

from flowradar.agent.collect import Collector, split
from flowradar.agent.livesend import LiveOutbox, LiveSender
from flowradar.agent.settings import AgentConfig
from flowradar.agent.shipper import spool_sink
from flowradar.agent.spool import Spool
from flowradar.agent.wire import Batch, InterfaceRates, decompress, encode
from flowradar.model.host import InterfaceMetrics
from flowradar.server.schemas import IngestBatch

RATES = [InterfaceMetrics("eth0", True, rx_bytes_s=1000.0, tx_bytes_s=10.0)]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _spooled(spool: Spool) -> list[dict[str, object]]:
    docs = []
    while (item := spool.oldest()) is not None:
        docs.append(json.loads(decompress(item.read(), "zstd", 1 << 20)))
        spool.remove(item)
    return docs


def _sender(answers: list[int], seen: list[httpx.Request]) -> LiveSender:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        code = answers.pop(0) if answers else 200
        if code < 0:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(code, json={"duplicate": False})

    cfg = AgentConfig(server="http://radar.test", token="T", host_name="edge1")
    client = httpx.Client(base_url="http://radar.test", transport=httpx.MockTransport(handle))
    return LiveSender(cfg, client)


def test_live_parts_are_never_spooled(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1 << 20)
    sink = spool_sink(spool, "zstd")
    mixed = Batch(
        "edge1",
        flows=[flow(1)],
        metrics=[metrics(1.0)],
        live_flows=[flow(2)],
        interfaces=InterfaceRates(5.0, RATES),
    )
    sink(mixed)
    sink(Batch("edge1", live_flows=[flow(3)], interfaces=InterfaceRates(6.0, RATES)))  # live only
    docs = _spooled(spool)
    assert len(docs) == 1
    assert docs[0]["batch_id"] == mixed.batch_id  # same id: a retry is still recognised
    assert "live_flows" not in docs[0] and "interfaces" not in docs[0]
    assert [f["uid"] for f in docs[0]["flows"]] == [flow(1).uid]  # type: ignore[attr-defined]


def test_with_the_server_down_live_updates_are_dropped_and_only_durable_records_wait(
    tmp_path: Path,
) -> None:
    seen: list[httpx.Request] = []
    sender = _sender([-1, -1], seen)
    spool = Spool(tmp_path / "spool", 1 << 20)
    collector = Collector(
        AgentConfig(live_interval_s=1.0),
        spool_sink(spool, "zstd"),
        host="edge1",
        live=sender,
        interfaces=lambda: RATES,
    )
    collector.add_flows([flow(1)])
    sender.flows([flow(7)])  # a snapshot, from the capture thread
    collector.flush(now=10.0)
    collector.live_tick(now=10.0)
    batch = sender.outbox.take("edge1")
    assert batch is not None and len(batch) == 0 and batch.live
    assert sender.send(batch) is False  # server down: lost, never retried
    assert sender.outbox.take("edge1") is None and sender.stats.failed == 1
    assert "ConnectError" in (sender.stats.last_error or "")
    docs = _spooled(spool)
    assert len(docs) == 1 and "live_flows" not in docs[0] and "interfaces" not in docs[0]
    assert [f["uid"] for f in docs[0]["flows"]] == [flow(1).uid]  # type: ignore[attr-defined]
    sender.stop()


def test_a_live_batch_is_posted_as_a_valid_live_only_ingest_body() -> None:
    seen: list[httpx.Request] = []
    sender = _sender([], seen)
    sender.flows([flow(1), flow(2)])
    sender.interfaces(123.0, RATES)
    batch = sender.outbox.take(sender.cfg.host_name)
    assert batch is not None and sender.send(batch)
    body = IngestBatch.model_validate_json(decompress(seen[0].content, "zstd", 1 << 20))
    assert body.live_only() and body.host == "edge1"
    assert [f.uid for f in body.live_flows] == [flow(1).uid, flow(2).uid]
    assert body.interfaces is not None and body.interfaces.ts == 123.0
    assert body.interfaces.rates == RATES
    assert seen[0].headers["authorization"] == "Bearer T" and seen[0].headers["x-batch-id"] == batch.batch_id
    assert sender.stats.batches == 1 and sender.stats.flows == 2
    sender.stop()


def test_the_outbox_keeps_the_newest_snapshot_per_flow_within_bounds() -> None:
    clock = Clock()
    box = LiveOutbox(max_flows=3, max_age_s=2.0, clock=clock)
    box.flows([flow(1, 10.0), flow(2, 10.0)])
    newer = flow(1, 10.0, src_bytes=999)
    box.flows([newer])
    box.flows([flow(3, 10.0), flow(4, 10.0)])  # four flows: the oldest (2) is pushed out
    batch = box.take("h")
    assert batch is not None
    assert [f.uid for f in batch.live_flows] == [flow(1).uid, flow(3).uid, flow(4).uid]
    assert batch.live_flows[0].src_bytes == 999
    assert box.stats.replaced == 2 and box.take("h") is None


def test_stale_live_parts_are_dropped_not_sent() -> None:
    clock = Clock()
    box = LiveOutbox(max_flows=10, max_age_s=2.0, clock=clock)
    box.flows([flow(1)])
    box.interfaces(100.0, RATES)
    clock.now += 1.0
    box.flows([flow(2)])
    clock.now += 1.5  # flow 1 and the rates are 2.5 s old, flow 2 is 1.5 s old
    batch = box.take("h")
    assert batch is not None and [f.uid for f in batch.live_flows] == [flow(2).uid]
    assert batch.interfaces is None and box.stats.stale == 2


def test_wire_live_parts_round_trip_and_a_batch_without_them_is_the_old_document() -> None:
    batch = Batch("h1", live_flows=[flow(1)], interfaces=InterfaceRates(7.0, RATES))
    back = IngestBatch.model_validate_json(decompress(encode(batch), "zstd", 1 << 20))
    assert back.live_flows == batch.live_flows and back.interfaces is not None
    assert back.interfaces.rates == RATES and back.live_only()
    plain = Batch("h1", flows=[flow(1)]).to_dict()
    assert set(plain) == {
        "version",
        "batch_id",
        "host",
        "sent_at",
        "flows",
        "connections",
        "metrics",
        "alerts",
    }
    assert batch.durable().to_dict().keys() == plain.keys() and len(batch.durable()) == 0


def test_split_keeps_live_parts_with_the_first_part() -> None:
    batch = Batch("h1", flows=[flow(i) for i in range(5)], live_flows=[flow(9)])
    parts = list(split(batch, 2))
    assert [len(p) for p in parts] == [2, 2, 1]
    assert parts[0].live_flows == [flow(9)] and not parts[1].live_flows
    [only] = split(Batch("h1", live_flows=[flow(9)]), 2)  # live only: not an empty batch
    assert only.live
