"""What every request of one app shares (kept on ``app.state.ctx``), and the FastAPI dependencies
that check the caller's role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.requests import HTTPConnection

from flowradar.config import Config
from flowradar.server.auth import Authenticator, Principal
from flowradar.server.live import Broadcaster, LiveHub
from flowradar.server.metrics import ServerMetrics
from flowradar.server.ratelimit import RateLimiter
from flowradar.store.base import Store


@dataclass(slots=True)
class ServerContext:
    """One server's configuration, store, authenticator, live feed, limits and metrics."""

    cfg: Config
    store: Store
    auth: Authenticator
    hub: LiveHub
    broadcaster: Broadcaster
    metrics: ServerMetrics
    login_limiter: RateLimiter
    ingest_limiter: RateLimiter
    notes: list[str] = field(default_factory=list)
    """One-line notes shown at start (first admin, local capture problems)."""


def build_context(cfg: Config, store: Store) -> ServerContext:
    """Everything one app needs, from one configuration and one store."""
    hub = LiveHub(cfg.server.live_queue, cfg.server.live_state_ttl_s)
    metrics = ServerMetrics()
    metrics.watch(store, hub)
    return ServerContext(
        cfg=cfg,
        store=store,
        auth=Authenticator(store, cfg.auth),
        hub=hub,
        broadcaster=Broadcaster(
            hub, cfg.server.redis_url, cfg.server.redis_channel, cfg.server.live_state_ttl_s
        ),
        metrics=metrics,
        login_limiter=RateLimiter(cfg.auth.login_rate_per_min / 60.0, cfg.auth.login_burst),
        ingest_limiter=RateLimiter(cfg.server.ingest_rate_per_s, cfg.server.ingest_burst),
    )


def get_context(conn: HTTPConnection) -> ServerContext:
    """The app's context."""
    ctx: ServerContext = conn.app.state.ctx
    return ctx


def get_principal(conn: HTTPConnection) -> Principal:
    """The caller, authenticated by the auth middleware before routing."""
    principal = conn.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    return principal


def _require(role: str) -> object:
    def check(request: Request) -> Principal:
        principal = get_principal(request)
        if not principal.can(role):
            raise HTTPException(403, f"this needs the {role} role (you are {principal.role})")
        return principal

    return Depends(check)


Ctx = Annotated[ServerContext, Depends(get_context)]
Viewer = Annotated[Principal, _require("viewer")]
Admin = Annotated[Principal, _require("admin")]
Ingester = Annotated[Principal, _require("ingest")]
