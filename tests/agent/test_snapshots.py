"""Live snapshots of active flows: only what changed, the biggest first, named by DNS answers at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP
from scapy.packet import Packet, Raw

from flowradar.agent.feed import CaptureFeed
from flowradar.agent.snapshots import ChangedFlows, LiveSnapshots, top_grown
from flowradar.capture.base import LINKTYPE_RAW, PacketBatch, SourceStats, pack_index
from flowradar.config import EngineConfig
from flowradar.detect.runner import DetectionRunner
from flowradar.detect.settings import DetectConfig
from flowradar.engine.pipeline import Engine
from flowradar.engine.records import EXPORT_DTYPE
from flowradar.enrich.classify import DomainNames
from flowradar.enrich.dnsnames import NameEnricher, NameTable
from flowradar.enrich.pipeline import EnrichmentPipeline
from flowradar.enrich.summary import EnrichStage
from flowradar.model.flow import FlowRecord

CLIENT, RESOLVER, SERVER = "10.0.0.2", "10.0.0.53", "93.184.216.34"


def batch(packets: list[Packet], t0: float) -> PacketBatch:
    """Raw IP packets one millisecond apart from ``t0``."""
    data, entries = b"", []
    for i, p in enumerate(packets):
        raw = bytes(p)
        entries.append((len(data), int((t0 + i / 1000) * 1e9), len(raw), len(raw), LINKTYPE_RAW))
        data += raw
    return PacketBatch(data, pack_index(entries), len(packets))


def dns_exchange() -> list[Packet]:
    query = DNS(id=7, rd=1, qd=DNSQR(qname="named.example", qtype="A"))
    answer = DNS(
        id=7,
        qr=1,
        aa=1,
        qd=DNSQR(qname="named.example", qtype="A"),
        an=DNSRR(rrname="named.example", rdata=SERVER, ttl=60),
    )
    return [
        IP(src=CLIENT, dst=RESOLVER) / UDP(sport=40000, dport=53) / query,
        IP(src=RESOLVER, dst=CLIENT) / UDP(sport=53, dport=40000) / answer,
    ]


def tcp_open() -> list[Packet]:
    return [
        IP(src=CLIENT, dst=SERVER) / TCP(sport=50000, dport=7000, flags="S", seq=1),
        IP(src=SERVER, dst=CLIENT) / TCP(sport=7000, dport=50000, flags="SA", seq=100, ack=2),
        IP(src=CLIENT, dst=SERVER) / TCP(sport=50000, dport=7000, flags="A", seq=2, ack=101),
    ]


def tcp_data(n: int, size: int = 1000) -> list[Packet]:
    return [
        IP(src=SERVER, dst=CLIENT)
        / TCP(sport=7000, dport=50000, flags="PA", seq=101 + i * size, ack=2)
        / Raw(b"x" * size)
        for i in range(n)
    ]


def names_pipeline() -> EnrichmentPipeline:
    names = NameEnricher(NameTable(), DomainNames(1000))
    return EnrichmentPipeline([names], names, hold_s=125.0)


def test_changed_flows_and_the_biggest_growth_first() -> None:
    rows = np.zeros(3, dtype=EXPORT_DTYPE)
    rows["id"] = [5, 1, 9]
    rows["pkts"] = [[1, 0], [2, 2], [1, 1]]
    rows["bytes"] = [[100, 0], [200, 300], [60, 60]]
    tracker = ChangedFlows()
    changed, grown = tracker.update(rows)
    assert changed.tolist() == [0, 1, 2] and grown.tolist() == [100, 500, 120]
    assert top_grown(changed, grown, 2).tolist() == [1, 2]
    rows["pkts"][2] = [3, 1]
    rows["bytes"][2] = [1060, 60]
    changed, grown = tracker.update(rows)
    assert changed.tolist() == [2] and grown.tolist() == [1000]
    changed, _ = tracker.update(rows[:1])
    assert changed.tolist() == [] and len(tracker) == 1  # unchanged; gone flows forgotten


def test_a_snapshot_names_the_flow_from_a_dns_answer_and_sends_only_changes() -> None:
    engine = Engine(EngineConfig())
    published: list[list[FlowRecord]] = []
    snaps = LiveSnapshots(engine, names_pipeline(), published.append, max_flows=10)
    t0 = time.time()
    engine.feed(batch([*dns_exchange(), *tcp_open(), *tcp_data(2)], t0))
    first = snaps.take()
    by_port = {r.dst_port: r for r in first}
    assert set(by_port) == {53, 7000}
    conn = by_port[7000]
    assert (conn.enrich.name, conn.enrich.name_source) == ("named.example", "dns")
    assert conn.dst_bytes > 2000 and published == [first]
    assert snaps.take() == []  # nothing moved: nothing sent
    engine.feed(batch(tcp_data(3), t0 + 1))
    (again,) = snaps.take()
    assert again.uid == conn.uid and again.dst_bytes > conn.dst_bytes
    final = {r.uid: r for r in engine.finish().records()}
    assert conn.uid in final  # the exported record replaces the snapshot by uid


def test_at_most_max_flows_per_snapshot_the_biggest_first() -> None:
    engine = Engine(EngineConfig())
    snaps = LiveSnapshots(engine, None, lambda _: None, max_flows=1)
    engine.feed(batch([*dns_exchange(), *tcp_open(), *tcp_data(4)], time.time()))
    (only,) = snaps.take()
    assert only.dst_port == 7000 and snaps.stats.skipped == 1


class ListSource:
    """A stoppable packet source over prepared batches."""

    def __init__(self, batches: list[PacketBatch]) -> None:
        self._batches = batches
        self.stats = SourceStats()

    def batches(self) -> Iterator[PacketBatch]:
        yield from self._batches

    def close(self) -> None:
        pass

    def stop(self) -> None:
        pass


def test_capture_feed_publishes_snapshots_and_names_final_records_without_holding() -> None:
    t0 = time.time()
    source = ListSource(
        [
            batch(dns_exchange(), t0),
            batch([*tcp_open(), *tcp_data(2)], t0 + 0.1),
            batch(tcp_data(2), t0 + 0.2),
        ]
    )
    engine = Engine(EngineConfig())
    pipeline = names_pipeline()
    published: list[list[FlowRecord]] = []
    snaps = LiveSnapshots(engine, pipeline, published.append, interval_s=0.0)
    feed = CaptureFeed(
        source, engine, DetectionRunner(DetectConfig(detectors=())), EnrichStage(pipeline), snaps
    )
    assert pipeline.hold_s == 0.0
    final = [r for records in feed.records() for r in records]
    live = [r for records in published for r in records if r.dst_port == 7000]
    assert len(live) == 2 and live[0].dst_bytes < live[1].dst_bytes
    (conn,) = [r for r in final if r.dst_port == 7000]
    assert conn.uid == live[0].uid and conn.enrich.name == "named.example"
