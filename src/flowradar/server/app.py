"""The ASGI app: one factory, one configuration and one store in, one FastAPI app out.

Routes: ``/health`` (the only public one), ``/metrics`` (Prometheus), ``/api/v1/...`` (query API,
ingest, auth, tokens, users), ``/api/v1/live`` (WebSocket feed), ``/api/v1/docs`` and
``/api/v1/openapi.json``. Every route but /health and login needs a session or a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from flowradar import __version__
from flowradar.server import ingest, routes_auth, routes_query
from flowradar.server.context import Ctx, ServerContext, Viewer
from flowradar.server.ingest import IngestService
from flowradar.server.middleware import AuthMiddleware, BodyLimitMiddleware, MetricsMiddleware
from flowradar.server.schemas import Credentials, IngestBatch, document_schemas
from flowradar.store.base import StoreConflict, StoreError, StoreInputError, StoreUnavailable
from flowradar.ui.webassets import DashboardAssets

log = logging.getLogger("flowradar.server")
API = "/api/v1"
ROLLUP_EVERY_S = 60.0
RETAIN_EVERY_S = 3600.0


def _errors(app: FastAPI) -> None:
    def one_line(exc: RequestValidationError) -> str:
        errs = exc.errors()
        first = errs[0] if errs else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "request"
        return f"{where}: {first.get('msg', 'invalid')}" + (
            f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        )

    async def invalid(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": one_line(exc), "errors": exc.errors()}, 422)

    def status_for(code: int) -> Callable[[Request, Exception], Any]:
        async def handler(_: Request, exc: Exception) -> Response:
            headers = {"Retry-After": "5"} if code == 503 else None
            return JSONResponse({"detail": str(exc)}, code, headers=headers)

        return handler

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StoreInputError, status_for(422))
    app.add_exception_handler(StoreConflict, status_for(409))
    app.add_exception_handler(StoreUnavailable, status_for(503))


async def _maintain(ctx: ServerContext) -> None:
    """Compact rollups every minute and apply retention every hour (errors logged, never fatal)."""
    last_retain = 0.0
    while True:
        await asyncio.sleep(ROLLUP_EVERY_S)
        now = time.time()
        try:
            await run_in_threadpool(ctx.store.rollup, now)
            if now - last_retain >= RETAIN_EVERY_S:
                await run_in_threadpool(ctx.store.retain, now)
                last_retain = now
        except StoreError as exc:
            log.warning("store maintenance failed: %s", exc)


def _system_router(app: FastAPI) -> APIRouter:
    router = APIRouter()

    @router.get("/health", tags=["system"], summary="Liveness (no authentication)")
    def health() -> dict[str, str]:
        """'ok' while the server runs."""
        return {"status": "ok", "version": __version__}

    @router.get("/metrics", tags=["system"], summary="Prometheus metrics", response_class=Response)
    def metrics(ctx: Ctx, _: Viewer) -> Response:
        """Requests, ingest, live feed and stored rows, in the Prometheus text format."""
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get(f"{API}/openapi.json", include_in_schema=False)
    def openapi(_: Viewer) -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get(f"{API}/docs", include_in_schema=False)
    def docs(_: Viewer) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=f"{API}/openapi.json", title="flowradar API")

    return router


async def _live(websocket: WebSocket) -> None:
    """The live feed: first the state of every host, then flows, alerts and rates as they come."""
    ctx: ServerContext = websocket.app.state.ctx
    await websocket.accept()
    sub = ctx.hub.subscribe()
    try:
        await websocket.send_json({"type": "state", "hosts": await ctx.broadcaster.state()})
        while True:
            event = await sub.queue.get()
            if sub.dropped:
                await websocket.send_json({"type": "dropped", "count": sub.dropped})
                sub.dropped = 0
            await websocket.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        ctx.hub.unsubscribe(sub)


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title="flowradar",
                version=__version__,
                description="Flows, hosts, processes, geography and alerts of the hosts reporting here.",
                routes=app.routes,
            )
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (IngestBatch, Credentials):
                defs = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
                comps.update(defs.pop("$defs", {}))
                comps[model.__name__] = defs
            schema["components"]["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "flowradar_session"},
            }
            schema["security"] = [{"bearer": []}, {"session": []}]
            app.openapi_schema = document_schemas(schema)
        return app.openapi_schema

    return build


def create_app(ctx: ServerContext) -> FastAPI:
    """The server app for one context (configuration, store, live feed); nothing global."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ctx.broadcaster.start()
        task = asyncio.create_task(_maintain(ctx), name="flowradar-maintenance")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await ctx.broadcaster.stop()

    app = FastAPI(
        title="flowradar",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.ingest = IngestService(ctx)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    _errors(app)
    app.include_router(_system_router(app))
    for module in (routes_query, routes_auth, ingest):
        app.include_router(module.router, prefix=API)
    app.add_api_websocket_route(f"{API}/live", _live, name="live")
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=ctx.cfg.server.max_body_bytes,
        ingest_max_bytes=ctx.cfg.server.ingest_max_bytes,
    )
    app.add_middleware(AuthMiddleware, ctx=ctx)
    app.add_middleware(MetricsMiddleware, ctx=ctx)
    app.add_middleware(DashboardAssets)  # outermost: the web dashboard at / (public files, no data)
    return app
