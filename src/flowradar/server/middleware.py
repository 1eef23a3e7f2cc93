"""ASGI layers in front of the routes: metrics, authentication (before any body is read) and body
size limits. Pure ASGI, so WebSocket handshakes are authenticated the same way."""

from __future__ import annotations

import json
import time
from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowradar.server.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, AuthError, Principal
from flowradar.server.context import ServerContext
from flowradar.store.base import StoreError

PUBLIC_PATHS = frozenset({"/health", "/api/v1/auth/login"})
INGEST_PATH = "/api/v1/ingest"


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """Send a whole JSON response."""
    raw = json.dumps(body).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookies(header: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            out[name] = value
    return out


def authenticate(ctx: ServerContext, method: str, headers: dict[str, str]) -> Principal:
    """The caller of a request, from its Authorization header or its session cookie."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise AuthError(401, "use Authorization: Bearer TOKEN")
        return ctx.auth.bearer(credential.strip())
    cookies = _cookies(headers.get("cookie"))
    session = cookies.get(SESSION_COOKIE)
    if session:
        return ctx.auth.session(session, method, cookies.get(CSRF_COOKIE), headers.get(CSRF_HEADER))
    raise AuthError(401, "authentication required: log in, or send Authorization: Bearer TOKEN")


class AuthMiddleware:
    """Refuses every request but /health and login without valid credentials (401/403)."""

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        method = scope.get("method", "GET")
        try:
            principal = await to_thread.run_sync(authenticate, self.ctx, method, headers)
        except AuthError as exc:
            await self._refuse(scope, send, exc.status, str(exc))
            return
        except StoreError as exc:
            await self._refuse(scope, send, 503, f"store unavailable: {exc}")
            return
        if scope["type"] == "websocket" and principal.via == "session" and not _same_origin(headers):
            await self._refuse(scope, send, 403, "cross-origin WebSocket refused")
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send, status: int, message: str) -> None:
        if scope["type"] == "websocket":
            await send(
                {"type": "websocket.close", "code": 4401 if status == 401 else 4403, "reason": message}
            )
            return
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        await send_json(send, status, {"detail": message}, headers)


def _same_origin(headers: dict[str, str]) -> bool:
    origin = headers.get("origin")
    if origin is None:
        return True
    return origin.split("://", 1)[-1].rstrip("/") == headers.get("host", "")


class BodyTooLarge(Exception):
    """A request body went past its limit."""


class BodyLimitMiddleware:
    """413 for a body past the limit (ingest has its own): by Content-Length, or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int, ingest_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.ingest_max_bytes = ingest_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.ingest_max_bytes if scope["path"] == INGEST_PATH else self.max_bytes
        message = f"request body too large: at most {limit} bytes"
        length = _headers(scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await send_json(send, 413, {"detail": message})
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(message)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await send_json(send, 413, {"detail": message})


class MetricsMiddleware:
    """Counts requests by method, route template and status, and times them."""

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        began = time.perf_counter()

        async def capture(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = int(msg["status"])
            await send(msg)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics = self.ctx.metrics
            metrics.requests.labels(scope.get("method", ""), route, str(status)).inc()
            metrics.latency.labels(route).observe(time.perf_counter() - began)
