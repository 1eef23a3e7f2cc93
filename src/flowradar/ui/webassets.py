"""The web dashboard's built assets, served by `flowradar serve` at ``/``.

Sources live in ``web/`` (TypeScript, Vite); ``make web`` builds them into ``flowradar/ui/web/``,
which the Python package ships. The assets hold no data (the dashboard logs in and reads everything
through the API), so they are public: :class:`DashboardAssets` answers GET and HEAD for every path
outside the API, ``/health`` and ``/metrics`` before authentication, and passes everything else on.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB_DIR = Path(__file__).with_name("web")
"""Where ``make web`` puts the built dashboard (index.html and assets/)."""

SERVER_PATHS = ("/api/", "/health", "/metrics")
"""Paths that belong to the server, never to the dashboard."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>flowradar</title>
<body style="font:15px system-ui;background:#0b1120;color:#e6edf7;display:grid;place-items:center;
height:100vh;margin:0">
<div><h1 style="font-size:20px">flowradar</h1><p>The web dashboard is not built in this install.</p>
<p>From a checkout: <code>make web</code> (needs Node.js and npm). The API is served at
<a style="color:#38bdf8" href="api/v1/docs">/api/v1/docs</a>.</p></div></body>"""


class DashboardAssets:
    """Pure ASGI: the dashboard's files for GET/HEAD outside the server's paths, with security headers.

    ``/assets/*`` names carry a content hash and are cached for a year; everything else (index.html)
    is revalidated on every load, so a new build shows at once.
    """

    def __init__(self, app: ASGIApp, directory: Path = WEB_DIR) -> None:
        self.app = app
        self.directory = directory
        self.files = StaticFiles(directory=directory, html=True, check_dir=False)

    def _ours(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return False
        path: str = scope.get("path", "/")
        return not any(path == p.rstrip("/") or path.startswith(p) for p in SERVER_PATHS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._ours(scope):
            await self.app(scope, receive, send)
            return
        if not (self.directory / "index.html").is_file():
            if scope.get("path") in ("/", "/index.html"):
                await HTMLResponse(NOT_BUILT, status_code=503)(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        immutable = scope.get("path", "").startswith("/assets/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                cache = b"public, max-age=31536000, immutable" if immutable else b"no-cache"
                headers += [
                    (b"cache-control", cache),
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.files(scope, receive, with_headers)
        except HTTPException as exc:  # no such file (this layer sits outside the app's error handlers)
            await PlainTextResponse(exc.detail, status_code=exc.status_code)(scope, receive, send)
