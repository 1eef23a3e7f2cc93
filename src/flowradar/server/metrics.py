"""Prometheus metrics of one server (its own registry: no process-wide state)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from flowradar.server.live import LiveHub
    from flowradar.store.base import Store


class _StateCollector(Collector):
    """Gauges read at scrape time: rows per table, live clients and drops."""

    def __init__(self, store: Store, hub: LiveHub) -> None:
        self.store = store
        self.hub = hub

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows = GaugeMetricFamily("flowradar_store_rows", "Rows per stored table", labels=["table"])
        try:
            for table, count in sorted(self.store.stats().items()):
                rows.add_metric([table], count)
        except Exception:  # the store is away: no row gauges this scrape
            pass
        yield rows
        yield GaugeMetricFamily(
            "flowradar_live_clients", "Live-feed clients of this process", self.hub.clients
        )
        yield GaugeMetricFamily(
            "flowradar_live_dropped_events", "Live events dropped for slow clients", self.hub.stats.dropped
        )


class ServerMetrics:
    """Request, ingest and live-feed metrics in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "flowradar_http_requests",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "flowradar_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
        )
        self.batches = Counter(
            "flowradar_ingest_batches",
            "Ingest batches by result (stored, duplicate, rejected, live: live-only, never stored)",
            ["result"],
            registry=self.registry,
        )
        self.records = Counter(
            "flowradar_ingest_records", "Records stored by kind", ["kind"], registry=self.registry
        )

    def watch(self, store: Store, hub: LiveHub) -> None:
        """Also export the store's row counts and the live feed's state at every scrape."""
        self.registry.register(_StateCollector(store, hub))
