"""Running a server: build the app from a configuration and a store, then serve it with uvicorn."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from flowradar.agent.wire import Batch
from flowradar.config import Config
from flowradar.model.flow import FlowRecord
from flowradar.model.host import InterfaceMetrics
from flowradar.server.app import create_app
from flowradar.server.context import build_context
from flowradar.server.ingest import IngestService, LiveParts
from flowradar.store.base import Store


def build_app(cfg: Config, store: Store) -> tuple[FastAPI, str | None]:
    """The app, and the first admin's password when this start created it (None otherwise)."""
    ctx = build_context(cfg, store)
    password = ctx.auth.ensure_admin()
    return create_app(ctx), password


def base_url(cfg: Config) -> str:
    """The URL the server answers on."""
    scheme = "https" if cfg.server.tls_cert else "http"
    host = cfg.server.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)
    return f"{scheme}://{shown}:{cfg.server.port}"


def local_sink(app: FastAPI) -> Callable[[Batch], None]:
    """Where this host's own batches go in single-host mode: straight into ingest (no HTTP)."""
    service: IngestService = app.state.ingest

    def sink(batch: Batch) -> None:
        host = batch.host or socket.gethostname()
        rates = batch.interfaces
        live = LiveParts(batch.live_flows, (rates.ts, rates.rates) if rates else None) if batch.live else None
        if live is not None and not len(batch):
            service.publish_live(host, live)
            return
        service.store(
            host, batch.batch_id, batch.flows, batch.connections, batch.metrics, batch.alerts, live=live
        )

    return sink


class LocalLive:
    """This host's live updates in single-host mode: straight onto the live feed (never stored)."""

    def __init__(self, app: FastAPI, host: str) -> None:
        service: IngestService = app.state.ingest
        self.announcer = service.announcer
        self.host = host

    def flows(self, records: list[FlowRecord]) -> None:
        """Snapshots of active flows, as ``flow_updates`` events."""
        self.announcer.active_flows(self.host, records)

    def interfaces(self, ts: float, rates: list[InterfaceMetrics]) -> None:
        """Interface rates, as ``interfaces`` events."""
        self.announcer.interfaces(self.host, ts, rates)


def serve(app: FastAPI, cfg: Config) -> None:
    """Serve until SIGINT or SIGTERM (uvicorn handles both)."""
    if (cfg.server.tls_cert is None) != (cfg.server.tls_key is None):
        raise ValueError("server: give both tls_cert and tls_key, or neither")
    config = uvicorn.Config(
        app,
        host=cfg.server.host,
        port=cfg.server.port,
        ssl_certfile=cfg.server.tls_cert,
        ssl_keyfile=cfg.server.tls_key,
        log_level=logging.WARNING,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
        ws="websockets-sansio",
    )
    uvicorn.Server(config).run()
