"""The collector: batches every interval, samples when due, splits big batches, survives failures."""

from __future__ import annotations

from pathlib import Path

from tests.store.records import alert, connection, flow, metrics

from flowradar.agent.collect import Collector, split
from flowradar.agent.live import InterfaceMeter
from flowradar.agent.settings import AgentConfig
from flowradar.agent.wire import Batch
from flowradar.model.flow import FlowRecord
from flowradar.model.host import InterfaceMetrics


def test_flush_takes_what_is_pending_and_samples_when_due() -> None:
    out: list[Batch] = []
    cfg = AgentConfig(connections_interval_s=10, metrics_interval_s=5)
    collector = Collector(cfg, out.append, lambda: [connection(22, 1.0)], lambda: metrics(1.0), host="h1")
    collector.add_flows([flow(1), flow(2)])
    collector.add_alert(alert("a", 1.0))
    assert collector.flush(now=100.0) == 5
    assert [len(out[0].flows), len(out[0].connections), len(out[0].metrics), len(out[0].alerts)] == [
        2,
        1,
        1,
        1,
    ]
    assert collector.flush(now=103.0) == 0 and len(out) == 1  # nothing pending, nothing due: no batch
    collector.flush(now=106.0)
    assert len(out[1].metrics) == 1 and not out[1].connections
    assert out[0].host == "h1" and out[0].batch_id != out[1].batch_id


def test_a_failing_sampler_does_not_stop_the_rest() -> None:
    out: list[Batch] = []

    def broken() -> list[object]:
        raise OSError("netlink gone")

    collector = Collector(AgentConfig(), out.append, broken, lambda: metrics(1.0), host="h1")  # type: ignore[arg-type]
    collector.add_flows([flow(1)])
    collector.flush(now=1.0)
    assert len(out[0].flows) == 1 and len(out[0].metrics) == 1
    assert "netlink gone" in collector.stats.errors["connections"]


def test_big_batches_are_split_with_their_own_ids() -> None:
    batch = Batch("h1", flows=[flow(i) for i in range(25)], metrics=[metrics(1.0)])
    parts = list(split(batch, 10))
    assert [len(p) for p in parts] == [10, 10, 6]
    assert len({p.batch_id for p in parts}) == 3
    assert sum(len(p.flows) for p in parts) == 25
    assert list(split(Batch("h1"), 10)) == []
    assert list(split(batch, 100)) == [batch]


class Live:
    """A live sink that keeps what it gets."""

    def __init__(self) -> None:
        self.interfaces_seen: list[tuple[float, list[InterfaceMetrics]]] = []

    def flows(self, records: list[FlowRecord]) -> None:
        pass

    def interfaces(self, ts: float, rates: list[InterfaceMetrics]) -> None:
        self.interfaces_seen.append((ts, rates))


def test_interface_rates_go_live_every_interval_without_a_batch() -> None:
    out: list[Batch] = []
    live = Live()
    rates = [InterfaceMetrics("eth0", True, rx_bytes_s=5.0)]
    collector = Collector(
        AgentConfig(live_interval_s=1.0), out.append, host="h1", live=live, interfaces=lambda: rates
    )
    collector.live_tick(now=10.0)
    collector.live_tick(now=10.5)  # not due yet
    collector.live_tick(now=11.0)
    assert [ts for ts, _ in live.interfaces_seen] == [10.0, 11.0] and live.interfaces_seen[0][1] == rates
    assert out == []  # live updates never make batches


def test_the_interface_meter_reads_rates_between_two_calls(tmp_path: Path) -> None:
    net = tmp_path / "net"
    net.mkdir()
    line = "  eth0: {rx} 10 0 0 0 0 0 0 {tx} 5 0 0 0 0 0 0\n"
    head = "Inter-|   Receive\n face |bytes\n"
    (net / "dev").write_text(head + line.format(rx=1000, tx=500))
    meter = InterfaceMeter(tmp_path, tmp_path)
    assert meter.sample() == []
    (net / "dev").write_text(head + line.format(rx=3000, tx=600))
    (eth0,) = meter.sample()
    assert eth0.name == "eth0" and eth0.rx_bytes_s > 0 and eth0.tx_bytes_s > 0
