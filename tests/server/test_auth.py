"""Authentication: every route but /health refuses the unauthenticated; roles, sessions, CSRF,
tokens, rate limits; the first admin is created once."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect
from tests.server.conftest import Api, bearer, flows

from flowradar.agent.wire import Batch
from flowradar.server.auth import CSRF_COOKIE, create_token
from flowradar.server.ratelimit import RateLimiter
from flowradar.server.runner import build_app


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def iter_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str] | None]]:
    """(path, methods) of every route, included routers expanded (methods None: a WebSocket)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from iter_routes(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, WebSocketRoute):
            yield prefix + route.path, None
        elif isinstance(route, Route):
            yield prefix + route.path, set(route.methods or ()) - {"HEAD"}


def test_every_route_but_health_refuses_the_unauthenticated(api: Api) -> None:
    c = api.client
    checked = 0
    for path, methods in iter_routes(api.app.routes):
        if methods is None:
            with (
                pytest.raises((WebSocketDisconnect, WebSocketDenialResponse)),
                c.websocket_connect(path) as ws,
            ):
                ws.receive_json()
            checked += 1
            continue
        for method in sorted(methods):
            answer = c.request(method, _concrete(path), json={})
            if path == "/health":
                assert answer.status_code == 200
            else:
                assert answer.status_code == 401, (method, path, answer.text)
                assert answer.json()["detail"]
            checked += 1
    assert checked >= 28
    # A wrong token, a revoked one, or another scheme are refused the same way.
    assert c.get("/api/v1/flows", headers=bearer("fra_nope")).status_code == 401
    assert c.get("/api/v1/flows", headers={"Authorization": "Basic eDp5"}).status_code == 401
    assert c.get("/api/v1/unknown").status_code == 401


def test_roles_separate_viewers_admins_and_agents(api: Api) -> None:
    c = api.client
    assert c.get("/api/v1/flows", headers=api.ingest).status_code == 403
    assert c.get("/api/v1/tokens", headers=api.viewer).status_code == 403
    assert c.get("/api/v1/tokens", headers=api.admin).status_code == 200
    refused = api.client.post("/api/v1/ingest", headers=api.admin, content=b"{}")
    assert refused.status_code == 403
    other = api.send(Batch("someone-else", flows=flows(1)))
    assert other.status_code == 403 and "someone-else" in other.json()["detail"]
    assert api.store.stats()["flows"] == 0


def test_session_login_csrf_and_logout(api: Api) -> None:
    c = api.client
    assert c.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong"}).status_code == 401
    ok = c.post("/api/v1/auth/login", json={"username": "admin", "password": api.admin_password})
    assert ok.status_code == 200 and ok.json()["role"] == "admin"
    csrf = c.cookies[CSRF_COOKIE]
    assert ok.json()["csrf_token"] == csrf
    assert "httponly" in ok.headers.get_list("set-cookie")[0].lower()
    assert c.get("/api/v1/flows").status_code == 200  # reading needs no CSRF token
    body = {"kind": "ingest", "host": "web1"}
    assert c.post("/api/v1/tokens", json=body).status_code == 403
    assert c.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    made = c.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201 and made.json()["token"].startswith("fri_")
    assert c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    c.cookies.clear()
    c.cookies.set("flowradar_session", ok.cookies["flowradar_session"])
    assert c.get("/api/v1/flows").status_code == 401  # the session is over, even with the old cookie


def test_tokens_are_hashed_and_revocable(api: Api) -> None:
    secret, token_id = create_token(api.store, "ingest", None, host="web2")
    stored = next(t for t in api.store.list_tokens() if t.id == token_id)
    assert secret not in stored.token_hash and len(stored.token_hash) == 64
    assert api.client.get("/api/v1/auth/me", headers=bearer(secret)).json()["role"] == "ingest"
    assert api.client.delete(f"/api/v1/tokens/{token_id}", headers=api.admin).status_code == 204
    time.sleep(2.1)  # token lookups are cached two seconds
    assert api.client.get("/api/v1/auth/me", headers=bearer(secret)).status_code == 401
    listed = api.client.get("/api/v1/tokens", headers=api.admin).json()
    assert all(not t["name"].startswith("session:") for t in listed)
    assert [t["revoked"] is not None for t in listed if t["id"] == token_id] == [True]


def test_login_is_rate_limited_per_client(api: Api) -> None:
    codes = [
        api.client.post("/api/v1/auth/login", json={"username": "admin", "password": "x"}).status_code
        for _ in range(8)
    ]
    assert codes[:5] == [401] * 5 and codes[-1] == 429


def test_ingest_is_rate_limited_per_agent() -> None:
    ticks = iter([0.0] * 3 + [0.5] * 2)
    limiter = RateLimiter(rate_per_s=2.0, burst=2, clock=lambda: next(ticks))
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("a")] == [True, True, False]
    assert limiter.allow("a") is True  # half a second refilled one token
    assert limiter.allow("b") is True


def test_first_admin_is_created_once(api: Api) -> None:
    _app, again = build_app(api.app.state.ctx.cfg, api.store)
    assert again is None
    assert [u.name for u in api.store.list_users()] == ["admin"]


def test_users_need_long_passwords(api: Api) -> None:
    c = api.client
    short = c.post("/api/v1/users", headers=api.admin, json={"name": "bob", "password": "short"})
    assert short.status_code == 422 and "too short" in short.json()["detail"]
    made = c.post("/api/v1/users", headers=api.admin, json={"name": "bob", "password": "a-long-password"})
    assert made.status_code == 201 and made.json()["role"] == "viewer"
    assert (
        c.post(
            "/api/v1/users", headers=api.admin, json={"name": "bob", "password": "a-long-password"}
        ).status_code
        == 409
    )
    login = c.post("/api/v1/auth/login", json={"username": "bob", "password": "a-long-password"})
    assert login.json()["role"] == "viewer"
