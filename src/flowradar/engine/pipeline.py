"""The engine: packet batches in, flow batches (counters + L7 facts) out.

Decoding, flow keying and counting run in the compiled table (_fastpath); Python handles only IP
fragments (reassembly) and the first payload packets of each flow (dissectors).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

import flowradar.engine._fastpath as _fastpath
from flowradar.capture.base import PacketBatch, PacketSource
from flowradar.config import EngineConfig
from flowradar.engine.fragments import Reassembler
from flowradar.engine.l7 import L7Dispatcher
from flowradar.engine.records import EXPORT_DTYPE, FlowBatch
from flowradar.model.flow import L7Facts


@dataclass(slots=True)
class EngineStats:
    """Counters of one engine run."""

    packets: int = 0
    ip_packets: int = 0
    non_ip: int = 0
    truncated: int = 0
    fragments: int = 0
    reassembled: int = 0
    fragments_dropped: int = 0
    flows: int = 0
    evicted: int = 0
    active_flows: int = 0
    l7_packets: int = 0
    l7_errors: int = 0
    table_bytes: int = 0


class Engine:
    """Turns packet batches into flow batches. Create one per input; call :meth:`finish` at the end."""

    def __init__(self, cfg: EngineConfig) -> None:
        self._cfg = cfg
        self._l7 = L7Dispatcher()
        self._table = _fastpath.FlowTable(
            max_flows=cfg.max_flows,
            idle_timeout_ns=int(cfg.idle_timeout_s * 1e9),
            active_timeout_ns=int(cfg.active_timeout_s * 1e9),
            l7_packets=cfg.l7_packets if cfg.dissect else 0,
            long_ports=cfg.dissect_all_ports,
            close_timeout_ns=int(cfg.tcp_close_timeout_s * 1e9),
            l7_handler=self._l7.on_packet if cfg.dissect else None,
        )
        self._frags = Reassembler(cfg.max_fragments)
        self._reassembled = 0

    def feed(self, batch: PacketBatch) -> FlowBatch:
        """Account one batch of packets; return the flows that ended meanwhile."""
        frags = self._table.process(batch.data, batch.index)
        for ts, packet, wire, vlan in frags:
            done = self._frags.add(ts, packet, wire, vlan)
            if done is not None:
                self._reassembled += 1
                self._table.process_ip(done.packet, done.ts_ns, done.wire_bytes, done.fragments, vlan)
        return self._drain()

    def tick(self, now_ns: int) -> FlowBatch:
        """Expire idle flows against wall-clock time (live capture with no traffic)."""
        self._table.expire(now_ns)
        return self._drain()

    def finish(self) -> FlowBatch:
        """End of input: export every remaining flow."""
        self._table.flush()
        return self._drain()

    def run(self, source: PacketSource) -> Iterator[FlowBatch]:
        """Feed every batch of a source; yield non-empty flow batches, the last one at the end."""
        for batch in source.batches():
            out = self.feed(batch)
            if len(out):
                yield out
        out = self.finish()
        if len(out):
            yield out

    def _drain(self) -> FlowBatch:
        rows = np.frombuffer(self._table.drain(), dtype=EXPORT_DTYPE)
        facts: dict[int, L7Facts] = {}
        if len(self._l7) and len(rows):
            ids = rows["id"]
            if len(self._l7) < len(ids):  # under churn most exported flows never had payload
                ids = ids[np.isin(ids, self._l7.flow_ids())]
            pop = self._l7.pop
            for fid in ids.tolist():
                f = pop(fid)
                if f is not None and f.app_proto is not None:
                    facts[fid] = f
        return FlowBatch(rows, facts)

    def stats(self) -> EngineStats:
        """Current counters."""
        s = self._table.stats()
        return EngineStats(
            packets=s["packets"],
            ip_packets=s["ip_packets"],
            non_ip=s["non_ip"],
            truncated=s["truncated"],
            fragments=s["fragments"],
            reassembled=self._reassembled,
            fragments_dropped=self._frags.dropped,
            flows=s["flows_created"],
            evicted=s["evicted"],
            active_flows=s["active_flows"],
            l7_packets=s["l7_packets"],
            l7_errors=self._l7.errors,
            table_bytes=s["table_bytes"],
        )

    def facts_of(self, flow_id: int) -> L7Facts | None:
        """L7 facts found so far for an active flow (None when it carried no payload yet)."""
        return self._l7.peek(flow_id)

    def snapshot(self, limit: int = 100_000) -> np.ndarray:
        """Counters of the flows still active (most recently seen first), without exporting them."""
        return np.frombuffer(self._table.snapshot(limit), dtype=EXPORT_DTYPE)
