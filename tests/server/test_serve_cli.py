"""`flowradar serve` and `flowradar token`: URL and first admin printed once, single-host mode
collects this host's own traffic, tokens made, listed and revoked from the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import ROOT, ServerProcess, free_port, subprocess_env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowradar", *args],
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def _login(url: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url)
    answer = client.post("/api/v1/auth/login", json={"username": "admin", "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def test_first_start_prints_url_and_admin_once_then_tokens_from_the_cli(tmp_path: Path) -> None:
    env = {"FLOWRADAR_DATA_DIR": str(tmp_path), "FLOWRADAR_STORE_PATH": str(tmp_path / "radar.duckdb")}
    log = tmp_path / "serve.log"
    server = ServerProcess(env, log=log)
    server.start()
    server.stop()
    text = log.read_text()
    assert f"flowradar serving on http://127.0.0.1:{server.port}" in text
    found = re.search(r"first admin created: user admin password (\w+)", text)
    assert found is not None
    made = _cli(env, "token", "create", "--kind", "ingest", "--host", "web1")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("fri_") and "shown this once" in made.stderr
    assert _cli(env, "token", "create", "--kind", "ingest").returncode == 2
    listed = _cli(env, "token", "list")
    assert "web1" in listed.stdout and secret not in listed.stdout
    log.write_text("")
    server.start()
    try:
        assert "first admin" not in log.read_text()
        held = _cli(env, "token", "list")  # the running server holds the DuckDB file
        assert held.returncode == 1 and "--server" in held.stderr
        admin = _login(server.url, found[1])
        api = admin.post("/api/v1/tokens", json={"kind": "api", "role": "admin"}).json()["token"]
        admin.close()
        via = _cli({**env, "FLOWRADAR_API_TOKEN": api}, "token", "revoke", "1", "--server", server.url)
        assert via.returncode == 0, via.stderr
        listed = _cli({**env, "FLOWRADAR_API_TOKEN": api}, "token", "list", "--json", "--server", server.url)
        rows = {row["id"]: row for row in json.loads(listed.stdout)}
        assert rows[1]["host"] == "web1" and rows[1]["revoked"] is not None
        time.sleep(2.1)
        refused = httpx.post(server.url + "/api/v1/ingest", headers={"Authorization": f"Bearer {secret}"})
        assert refused.status_code == 401
    finally:
        server.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root")
def test_single_host_mode_collects_this_host(tmp_path: Path) -> None:
    env = {
        "FLOWRADAR_DATA_DIR": str(tmp_path),
        "FLOWRADAR_STORE_PATH": str(tmp_path / "radar.duckdb"),
        "FLOWRADAR_AGENT_BATCH_INTERVAL_S": "0.5",
        "FLOWRADAR_AGENT_METRICS_INTERVAL_S": "1",
        "FLOWRADAR_ENGINE_IDLE_TIMEOUT_S": "1",
        "FLOWRADAR_ENRICH_DNS_HOLD_S": "0",
    }
    log = tmp_path / "serve.log"
    server = ServerProcess(env, port=free_port(), log=log, args=("-i", "lo"))
    server.start(timeout=60)
    try:
        password = re.search(r"password (\w+)", log.read_text())
        assert password is not None
        client = _login(server.url, password[1])
        if True:
            deadline = time.monotonic() + 30
            items: list[dict[str, object]] = []
            while time.monotonic() < deadline and not items:
                client.get("/health")
                items = client.get("/api/v1/flows", params={"port": server.port}).json()["items"]
                time.sleep(0.5)
            assert items, log.read_text()
            hosts = client.get("/api/v1/hosts").json()
            assert len(hosts) == 1 and hosts[0]["metrics"] is not None
            assert any(p["port"] == server.port for p in client.get("/api/v1/ports").json())
            client.close()
    finally:
        server.stop()
