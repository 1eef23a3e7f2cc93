"""The dashboard's built files are served before authentication, with security headers, and never
shadow the server's own paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.responses import JSONResponse
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from flowradar.ui.webassets import CSP, DashboardAssets


async def server(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands for the API behind the dashboard: refuses everything (as unauthenticated)."""
    await JSONResponse({"detail": "authentication required"}, 401)(scope, receive, send)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>flowradar</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    return tmp_path


def test_index_and_assets_are_public_with_headers(built: Path) -> None:
    client = TestClient(DashboardAssets(server, built))
    index = client.get("/")
    assert index.status_code == 200 and "<title>flowradar</title>" in index.text
    assert index.headers["content-security-policy"] == CSP
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["x-frame-options"] == "DENY"
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert client.head("/index.html").status_code == 200


def test_server_paths_and_other_methods_go_to_the_server(built: Path) -> None:
    client = TestClient(DashboardAssets(server, built))
    for path in ("/api/v1/flows", "/api/v1/", "/health", "/metrics"):
        assert client.get(path).status_code == 401, path
    assert client.post("/", json={}).status_code == 401
    assert client.get("/nonexistent.js").status_code == 404


def test_not_built_says_how_to_build(tmp_path: Path) -> None:
    client = TestClient(DashboardAssets(server, tmp_path / "missing"))
    page = client.get("/")
    assert page.status_code == 503 and "make web" in page.text
    assert client.get("/assets/x.js").status_code == 401  # nothing to serve: the server answers
