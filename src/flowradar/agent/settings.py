"""Settings of `flowradar agent`: the server, TLS, batching, the spool on disk and retries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """An agent ships this host's flows, connections, metrics and alerts to a server."""

    server: str | None = None
    """Base URL of the server (https://radar.example:8470)."""
    token: str | None = None
    """Ingest token (from `flowradar token create --kind ingest --host NAME`)."""
    ca_file: str | None = None
    """PEM file of the CA that signed the server's certificate (default: the system's CAs)."""
    insecure: bool = False
    """Skip TLS verification (only with an explicit --insecure)."""
    host_name: str | None = None
    """Name this host reports as (default: the system host name)."""
    spool_dir: str | None = None
    """Directory of batches not yet accepted (default: <data dir>/spool)."""
    spool_max_bytes: int = 512 << 20
    """Spool size limit; past it the oldest batches are dropped, counted and warned about."""
    batch_interval_s: float = 1.0
    """Seconds between batches."""
    batch_max_records: int = 20_000
    """Records per batch at most (a busier second is split)."""
    compression: str = "zstd"
    """Batch compression: zstd or gzip."""
    timeout_s: float = 10.0
    """Timeout of one request to the server."""
    backoff_initial_s: float = 0.5
    """First retry delay after a failure; doubled per failure (with jitter)."""
    backoff_max_s: float = 30.0
    """Longest retry delay."""
    connections_interval_s: float = 10.0
    """Seconds between two socket-table samples sent."""
    metrics_interval_s: float = 10.0
    """Seconds between two host-metrics samples sent."""
    live_interval_s: float = 1.0
    """Seconds between two live updates of the server's feed: snapshots of the active flows that
    changed and per-interface rates (0: none; flows then show when they end). An agent sends them
    at once as live-only batches, never spooled nor retried."""
    live_max_flows: int = 200
    """Active flows in one live update at most: those whose bytes grew the most since the last one."""
