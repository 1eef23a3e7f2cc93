"""Server fixtures: an app on each store backend (in-process), server processes, tokens, records."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.store.pgcluster import PgCluster
from tests.store.records import flow

from flowradar.agent.wire import Batch, encode
from flowradar.config import Config, load_config
from flowradar.server.auth import create_token
from flowradar.server.runner import build_app
from flowradar.store import open_store
from flowradar.store.base import Store

ROOT = Path(__file__).resolve().parents[2]


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a flowradar subprocess: this checkout's sources first on the path."""
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, **(extra or {}), "PYTHONPATH": path}


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def store_env(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """FLOWRADAR_STORE_* settings of a fresh database of ``backend``."""
    if backend == "duckdb":
        return {"FLOWRADAR_STORE_PATH": str(tmp_path / f"{uuid.uuid4().hex[:8]}.duckdb")}
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    dsn = cluster.create_database("s_" + uuid.uuid4().hex[:12])
    return {"FLOWRADAR_STORE_BACKEND": "postgresql", "FLOWRADAR_STORE_DSN": dsn}


def server_config(env: dict[str, str], **over: Any) -> Config:
    """A configuration from these variables only (no local capture), plus overrides."""
    return load_config(env={**env, "FLOWRADAR_SERVER_LOCAL_SOURCES": "0"}, **over)


@dataclass
class Api:
    """An app under test with a client and tokens of every kind."""

    app: FastAPI
    client: TestClient
    store: Store
    admin_password: str
    admin: dict[str, str]
    viewer: dict[str, str]
    ingest: dict[str, str]
    host: str = "agent1"
    extra: dict[str, Any] = field(default_factory=dict)

    def send(
        self, batch: Batch, encoding: str = "zstd", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST a batch to the ingest endpoint with the ingest token."""
        h = {
            **self.ingest,
            "Content-Encoding": encoding,
            "Content-Type": "application/json",
            **(headers or {}),
        }
        return self.client.post("/api/v1/ingest", content=encode(batch, encoding), headers=h)


def bearer(token: str) -> dict[str, str]:
    """Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def make_api(cfg: Config) -> Iterator[Api]:
    """An app with tokens, inside a running TestClient; the store is closed at the end."""
    store = open_store(cfg.store)
    try:
        app, password = build_app(cfg, store)
        assert password is not None
        tokens = {
            "admin": create_token(store, "api", "admin test", role="admin")[0],
            "viewer": create_token(store, "api", "viewer test", role="viewer")[0],
            "ingest": create_token(store, "ingest", None, host="agent1")[0],
        }
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield Api(
                app,
                client,
                store,
                password,
                bearer(tokens["admin"]),
                bearer(tokens["viewer"]),
                bearer(tokens["ingest"]),
            )
    finally:
        store.close()


@pytest.fixture(params=["duckdb", "postgresql"])
def api_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The app on each store backend."""
    yield from make_api(server_config(store_env(str(request.param), tmp_path, request)))


@pytest.fixture
def api(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Api]:
    """The app on DuckDB."""
    yield from make_api(server_config(store_env("duckdb", tmp_path, request)))


def flows(n: int, start: int = 0, t: float | None = None) -> list[Any]:
    """n varied flow records (uids unique per index), starting at ``t`` (default: a minute ago)."""
    at = time.time() - 60 if t is None else t
    return [flow(i, at) for i in range(start, start + n)]


class ServerProcess:
    """`flowradar serve --no-local` in a subprocess on 127.0.0.1 or ``bind`` (killable, restartable)."""

    def __init__(
        self,
        env: dict[str, str],
        port: int | None = None,
        log: Path | None = None,
        ca: Path | None = None,
        args: tuple[str, ...] = ("--no-local",),
        bind: str = "127.0.0.1",
    ) -> None:
        self.port = port or free_port()
        self.ca = ca
        """CA of the server's TLS certificate (the server then speaks HTTPS)."""
        self.args = args
        self.env = subprocess_env({**env, "FLOWRADAR_SERVER_PORT": str(self.port)})
        self.env["FLOWRADAR_SERVER_HOST"] = bind
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"{'https' if ca else 'http'}://{bind}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start and wait until /health answers."""
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flowradar", "serve", *self.args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text()[-2000:] if self.log else ""
                raise RuntimeError(f"server exited with {self.proc.returncode}: {tail}")
            try:
                verify = str(self.ca) if self.ca else True
                if httpx.get(self.url + "/health", timeout=1.0, verify=verify).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not answer /health in time")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
