"""Live snapshots of the active flows: every second, the flows that changed, enriched, for the feed.

The engine exports a flow only when it ends, so on its own the live feed would show a connection
5 s after its close, or two minutes after it went idle. Between two packet batches, at most every
``live_interval_s``, :class:`LiveSnapshots` reads the flow table (``Engine.snapshot()``, no export)
and:

1. keeps the flows whose packet count moved since the previous snapshot (:class:`ChangedFlows`);
2. teaches the name table every DNS answer found so far in those flows (so a connection to a name
   resolved a moment ago is named at once, and its final record too, without holding it back);
3. enriches the ``live_max_flows`` that grew the most (bytes) and hands them to the live sink.

It runs in the capture thread (through :class:`SnapshotTap`, a wrapper of the packet source), so
the engine and the enrichment pipeline are never used by two threads at once. Cost per snapshot:
numpy over the table snapshot, and Python objects only for the flows sent and the DNS flows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from flowradar.capture.base import PacketBatch, PacketSource, SourceStats
from flowradar.engine.pipeline import Engine
from flowradar.engine.records import FlowBatch, to_record
from flowradar.enrich.dnsnames import DNS_PORTS
from flowradar.enrich.pipeline import EnrichmentPipeline
from flowradar.model.flow import FlowRecord, L7Facts

log = logging.getLogger("flowradar.agent")

SCAN_LIMIT = 100_000
"""Flows read per snapshot at most (the most recently seen first, so every changed flow is in)."""
_DNS_PORTS = np.array(sorted(DNS_PORTS), dtype=np.uint16)


class ChangedFlows:
    """Remembers each active flow's counters, to tell which ones changed since the last look."""

    def __init__(self) -> None:
        self._ids = np.zeros(0, dtype=np.uint64)
        self._pkts = np.zeros(0, dtype=np.uint64)
        self._bytes = np.zeros(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._ids)

    def update(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (in ``rows``) of the flows that changed, and how many bytes each one grew.

        A flow not seen before counts as changed by all its bytes. What is remembered afterwards is
        exactly ``rows``: flows no longer in the snapshot are forgotten.
        """
        ids = np.asarray(rows["id"], dtype=np.uint64)
        pkts = rows["pkts"].sum(axis=1, dtype=np.uint64)
        nbytes = rows["bytes"].sum(axis=1, dtype=np.uint64)
        pos = np.searchsorted(self._ids, ids)
        found = np.zeros(len(ids), dtype=bool)
        inside = pos < len(self._ids)
        found[inside] = self._ids[pos[inside]] == ids[inside]
        before_pkts = np.zeros(len(ids), dtype=np.uint64)
        before_bytes = np.zeros(len(ids), dtype=np.uint64)
        before_pkts[found] = self._pkts[pos[found]]
        before_bytes[found] = self._bytes[pos[found]]
        changed = np.flatnonzero(pkts != before_pkts)
        grown = np.where(nbytes >= before_bytes, nbytes - before_bytes, 0)[changed]
        order = np.argsort(ids, kind="stable")
        self._ids, self._pkts, self._bytes = ids[order], pkts[order], nbytes[order]
        return changed, grown


def top_grown(changed: np.ndarray, grown: np.ndarray, limit: int) -> np.ndarray:
    """The ``limit`` positions of ``changed`` that grew the most, largest first."""
    if len(changed) > limit:
        keep = np.argpartition(-grown.astype(np.int64), limit - 1)[:limit]
        changed, grown = changed[keep], grown[keep]
    return changed[np.argsort(-grown.astype(np.int64), kind="stable")]


@dataclass(slots=True)
class SnapshotStats:
    """Counters of the live snapshots."""

    snapshots: int = 0
    flows: int = 0
    """Flow updates handed to the sink."""
    skipped: int = 0
    """Changed flows left out because a snapshot already had ``max_flows``."""
    dns_flows: int = 0
    """DNS flows whose answers were learnt before they ended."""
    seconds: float = 0.0


class LiveSnapshots:
    """Takes a snapshot when due; hands the enriched changed flows to ``publish``."""

    def __init__(
        self,
        engine: Engine,
        pipeline: EnrichmentPipeline | None,
        publish: Callable[[list[FlowRecord]], None],
        interval_s: float = 1.0,
        max_flows: int = 200,
    ) -> None:
        self.engine = engine
        self.pipeline = pipeline
        self.publish = publish
        self.interval_s = interval_s
        self.max_flows = max(1, max_flows)
        self.stats = SnapshotStats()
        self._changed = ChangedFlows()
        self._due = 0.0

    def due(self, now: float) -> bool:
        """Whether a snapshot is due at monotonic time ``now`` (and, if so, schedule the next)."""
        if now < self._due:
            return False
        self._due = now + self.interval_s
        return True

    def take(self) -> list[FlowRecord]:
        """Read the table now: learn DNS answers, enrich and publish the flows that grew the most."""
        t0 = time.perf_counter()
        rows = self.engine.snapshot(SCAN_LIMIT)
        changed, grown = self._changed.update(rows)
        self.stats.snapshots += 1
        if not len(changed):
            return []
        self._learn_dns(rows[changed])
        picked = top_grown(changed, grown, self.max_flows)
        self.stats.skipped += len(changed) - len(picked)
        records = list(FlowBatch(rows[picked], self._facts(rows["id"][picked])).records())
        if self.pipeline is not None:
            self.pipeline.enrich(records)
        self.stats.flows += len(records)
        self.stats.seconds += time.perf_counter() - t0
        if records:
            self.publish(records)
        return records

    def _facts(self, ids: np.ndarray) -> dict[int, L7Facts]:
        peek = self.engine.facts_of
        return {fid: f for fid in ids.tolist() if (f := peek(fid)) is not None and f.app_proto is not None}

    def _learn_dns(self, rows: np.ndarray) -> None:
        if self.pipeline is None:
            return
        dns = rows[
            np.isin(rows["proto"], (6, 17))
            & (np.isin(rows["sport"], _DNS_PORTS) | np.isin(rows["dport"], _DNS_PORTS))
        ]
        peek = self.engine.facts_of
        found: list[FlowRecord] = []
        for row in dns:
            facts = peek(int(row["id"]))
            if facts is not None and facts.dns_answers:
                found.append(to_record(row, facts))
        if found:
            self.pipeline.learn(found)
            self.stats.dns_flows += len(found)

    def tap(self, source: PacketSource) -> SnapshotTap:
        """``source``, with a snapshot taken between two of its batches whenever one is due."""
        return SnapshotTap(source, self)


class SnapshotTap:
    """A packet source wrapper: between two batches (the engine idle), take the snapshot when due.

    Live sources yield a batch at least every 200 ms, empty when nothing arrived, so snapshots keep
    their pace on a quiet link.
    """

    def __init__(self, source: PacketSource, snapshots: LiveSnapshots) -> None:
        self.source = source
        self.snapshots = snapshots
        self.stats: SourceStats = source.stats
        self.error: str | None = None
        """The last snapshot failure (logged once per distinct message; capture goes on)."""

    def batches(self) -> Iterator[PacketBatch]:
        """The source's batches; the consumer has fed each one to the engine when the next is asked."""
        snaps = self.snapshots
        for batch in self.source.batches():
            yield batch
            if snaps.due(time.monotonic()):
                self._take()

    def _take(self) -> None:
        try:
            self.snapshots.take()
        except Exception as exc:  # a live update lost is no reason to stop capturing
            message = f"{type(exc).__name__}: {exc}"
            if message != self.error:
                log.warning("live flow snapshot failed: %s", message)
            self.error = message

    def close(self) -> None:
        """Close the wrapped source."""
        self.source.close()
