"""Collects what a host sees and hands it on in batches: flows, socket samples, metrics, alerts.

Three activities, each in its own thread so that none waits for another:

- the capture loop drives a packet source through the engine, the detectors and the enrichment
  pipeline (the same pieces `flowradar analyze -i` uses) and puts the released flow records and
  the alerts into a pending buffer;
- the flusher, every ``batch_interval_s``, takes what is pending, adds a socket-table sample and a
  host-metrics sample when they are due, and hands one :class:`~flowradar.agent.wire.Batch` (split
  at ``batch_max_records``) to the sink;
- the sink is the agent's spool (then the shipper), or the server's own ingest in single-host mode.

With a live sink (the server's live feed in single-host mode, the agent's
:class:`~flowradar.agent.livesend.LiveSender` otherwise), the flusher also hands it the interface
rates every ``live_interval_s``; the capture loop's live flow snapshots go to it directly
(agent/snapshots.py). Live updates never go through the batches handed to the sink.

A failure of one source is logged once and the others go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from flowradar.agent.live import LiveSink
from flowradar.agent.settings import AgentConfig
from flowradar.agent.wire import Batch
from flowradar.model.alert import Alert
from flowradar.model.connection import Connection
from flowradar.model.flow import FlowRecord
from flowradar.model.host import HostMetrics, InterfaceMetrics

log = logging.getLogger("flowradar.agent")

Sink = Callable[[Batch], None]


class FlowFeed(Protocol):
    """Yields lists of finished, enriched flow records until stopped (the capture pipeline)."""

    def records(self) -> Iterator[list[FlowRecord]]:
        """Lists of records, as they are released."""
        ...

    def stop(self) -> None:
        """Make :meth:`records` end soon (it then yields what is still held)."""
        ...


@dataclass(slots=True)
class Pending:
    """Records collected since the last batch (thread-safe through the collector's lock)."""

    flows: list[FlowRecord] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


@dataclass(slots=True)
class CollectorStats:
    """Counters of one collector."""

    flows: int = 0
    connections: int = 0
    metrics: int = 0
    alerts: int = 0
    batches: int = 0
    errors: dict[str, str] = field(default_factory=dict)


class Collector:
    """Gathers flows, alerts, connections and metrics; emits batches to ``sink`` every interval."""

    def __init__(
        self,
        cfg: AgentConfig,
        sink: Sink,
        connections: Callable[[], list[Connection]] | None = None,
        metrics: Callable[[], HostMetrics] | None = None,
        host: str | None = None,
        live: LiveSink | None = None,
        interfaces: Callable[[], list[InterfaceMetrics]] | None = None,
    ) -> None:
        self.cfg = cfg
        self.host = host
        """Host name put in the batches (None: the server names the host after the ingest token)."""
        self.stats = CollectorStats()
        self._sink = sink
        self._feed: FlowFeed | None = None
        self._poll_connections = connections
        self._sample_metrics = metrics
        self.live = live
        """Where live updates go (None: batches only)."""
        self._sample_interfaces = interfaces
        self._pending = Pending()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._due: dict[str, float] = {"connections": 0.0, "metrics": 0.0, "interfaces": 0.0}

    # ------------------------------------------------------------------ input

    def add_flows(self, records: list[FlowRecord]) -> None:
        """Queue finished flow records for the next batch."""
        if records:
            with self._lock:
                self._pending.flows.extend(records)

    def add_alert(self, alert: Alert) -> None:
        """Queue an alert (new or updated) for the next batch; usable as an AlertManager deliver hook."""
        with self._lock:
            self._pending.alerts.append(alert)

    # ------------------------------------------------------------------ output

    def flush(self, now: float | None = None) -> int:
        """Emit what is pending (and due samples) as batches now; return the records emitted."""
        now = time.time() if now is None else now
        with self._lock:
            pending, self._pending = self._pending, Pending()
        conns = self._sample("connections", now, self._poll_connections, self.cfg.connections_interval_s)
        metric = self._sample("metrics", now, self._sample_metrics, self.cfg.metrics_interval_s)
        batch = Batch(
            self.host,
            flows=pending.flows,
            connections=conns or [],
            metrics=[metric] if metric is not None else [],
            alerts=pending.alerts,
        )
        emitted = 0
        for part in split(batch, self.cfg.batch_max_records):
            self._sink(part)
            emitted += len(part)
            self.stats.batches += 1
        self.stats.flows += len(batch.flows)
        self.stats.connections += len(batch.connections)
        self.stats.metrics += len(batch.metrics)
        self.stats.alerts += len(batch.alerts)
        return emitted

    def live_tick(self, now: float | None = None) -> None:
        """Hand the interface rates to the live sink when due (every ``live_interval_s``)."""
        if self.live is None or self.cfg.live_interval_s <= 0:
            return
        now = time.time() if now is None else now
        rates = self._sample("interfaces", now, self._sample_interfaces, self.cfg.live_interval_s)
        if rates:
            self.live.interfaces(now, rates)

    def _sample(self, name: str, now: float, take: Callable[[], Any] | None, every: float) -> Any:
        if take is None or now < self._due[name]:
            return None
        self._due[name] = now + every
        try:
            return take()
        except Exception as exc:  # a broken source is reported, the others go on
            message = f"{type(exc).__name__}: {exc}"
            if self.stats.errors.get(name) != message:
                log.warning("%s sampling failed: %s", name, message)
            self.stats.errors[name] = message
            return None

    # ------------------------------------------------------------------ threads

    def start(self, feed: FlowFeed | None = None) -> None:
        """Start the capture loop over ``feed`` (when given) and the flusher."""
        self._feed = feed
        if feed is not None:
            self._spawn("flowradar-capture", self._capture)
        self._spawn("flowradar-flush", self._flusher)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _capture(self) -> None:
        assert self._feed is not None
        try:
            for records in self._feed.records():
                self.add_flows(records)
        except Exception as exc:
            self.stats.errors["capture"] = f"{type(exc).__name__}: {exc}"
            log.error("capture stopped: %s", self.stats.errors["capture"])

    def _flusher(self) -> None:
        while not self._stop.wait(self.cfg.batch_interval_s):
            self._flush_safely()

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception as exc:
            self.stats.errors["flush"] = f"{type(exc).__name__}: {exc}"
            log.error("cannot hand a batch on: %s", self.stats.errors["flush"])
        try:
            self.live_tick()
        except Exception as exc:
            self.stats.errors["live"] = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        """Stop the feed, wait for the threads, and emit what is left."""
        if self._feed is not None:
            self._feed.stop()
        for thread in self._threads:
            if thread.name == "flowradar-capture":
                thread.join(timeout=10)
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._flush_safely()


def split(batch: Batch, limit: int) -> Iterator[Batch]:
    """The batch itself when small enough, else parts of at most ``limit`` records (new batch ids).

    Live parts (not counted) stay with the first part. An empty batch yields nothing.
    """
    if not len(batch) and not batch.live:
        return
    if len(batch) <= max(limit, 1):
        yield batch
        return
    limit = max(limit, 1)
    part = Batch(batch.host, sent_at=batch.sent_at, live_flows=batch.live_flows, interfaces=batch.interfaces)
    for kind in ("metrics", "alerts", "connections", "flows"):
        items: list[Any] = getattr(batch, kind)
        for item in items:
            if len(part) >= limit:
                yield part
                part = Batch(batch.host, sent_at=batch.sent_at)
            getattr(part, kind).append(item)
    if len(part):
        yield part
