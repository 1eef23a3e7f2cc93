"""The [store] configuration section: which database, where, and how long each table keeps rows."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BACKENDS = ("duckdb", "postgresql")
"""Store backends, chosen by ``[store] backend``."""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where flows, connections, host metrics, alerts, hosts, users and tokens are stored."""

    backend: str = "duckdb"
    """'duckdb' (embedded, one file, the default) or 'postgresql' (a server; several processes)."""
    path: str | None = None
    """DuckDB file; default $FLOWRADAR_DATA_DIR/flowradar.duckdb, else
    ~/.local/share/flowradar/flowradar.duckdb (':memory:' for a throwaway store)."""
    dsn: str | None = None
    """PostgreSQL connection string ('postgresql://user:pass@host:5432/db' or 'host=... dbname=...')."""
    threads: int = 0
    """DuckDB worker threads (0: DuckDB's default, one per core)."""
    checkpoint_mb: int = 256
    """DuckDB: write-ahead log size that triggers a checkpoint. Larger means fewer rewrites of
    half-filled row groups under steady ingest (much cheaper), and a longer log replay after a crash."""
    reconnect_timeout_s: float = 30.0
    """PostgreSQL: how long a call keeps reconnecting and retrying before it fails as unavailable."""
    retain_flows_days: float = 7.0
    """Flow records older than this (by last packet) are deleted by retention."""
    retain_connections_days: float = 2.0
    """Socket samples older than this are deleted."""
    retain_host_metrics_days: float = 7.0
    """Host metrics samples older than this are deleted."""
    retain_alerts_days: float = 90.0
    """Resolved alerts last seen before this are deleted (open ones are kept)."""
    retain_rollup_1m_days: float = 14.0
    """1-minute rollup buckets older than this are deleted."""
    retain_rollup_1h_days: float = 400.0
    """1-hour rollup buckets older than this are deleted."""
    retain_batches_days: float = 30.0
    """Ingested batch ids are remembered this long (a batch replayed later would be stored again)."""


def default_duckdb_path(env: dict[str, str] | None = None) -> Path:
    """$FLOWRADAR_DATA_DIR/flowradar.duckdb, else ~/.local/share/flowradar/flowradar.duckdb."""
    environ = env if env is not None else dict(os.environ)
    base = environ.get("FLOWRADAR_DATA_DIR")
    root = Path(base) if base else Path.home() / ".local" / "share" / "flowradar"
    return root / "flowradar.duckdb"
