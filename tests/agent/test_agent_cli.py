"""`flowradar agent` end to end: live capture on loopback, shipped over TLS verified with --ca."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.agent.producer import agent_tokens
from tests.server.conftest import ROOT, ServerProcess, store_env, subprocess_env
from tests.tlscert import write_ca

from flowradar.agent.settings import AgentConfig
from flowradar.agent.shipper import Shipper
from flowradar.agent.spool import Spool

AGENT_S = 8.0


TlsServer = tuple[ServerProcess, Path, dict[str, str]]


@pytest.fixture
def tls_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TlsServer]:
    """A server speaking HTTPS with a certificate of a CA of our own; an ingest and a viewer token."""
    ca = write_ca(tmp_path)
    env = {
        **store_env("duckdb", tmp_path, request),
        "FLOWRADAR_SERVER_TLS_CERT": str(tmp_path / "server.pem"),
        "FLOWRADAR_SERVER_TLS_KEY": str(tmp_path / "server.key"),
    }
    ingest, viewer = agent_tokens(env, "edge1")
    tokens = {"ingest": ingest, "viewer": viewer}
    server = ServerProcess(env, log=tmp_path / "server.log", ca=ca)
    server.start()
    yield server, ca, tokens
    server.stop()


def test_without_the_ca_the_server_is_not_trusted(tls_server: TlsServer, tmp_path: Path) -> None:
    server, _ca, tokens = tls_server
    spool = Spool(tmp_path / "spool", 1 << 20)
    spool.put("b1", b"{}")
    shipper = Shipper(AgentConfig(server=server.url, token=tokens["ingest"]), spool)
    item = spool.oldest()
    assert item is not None and shipper.send(item) is False
    assert "CERTIFICATE_VERIFY_FAILED" in (shipper.stats.last_error or "")
    assert len(spool) == 1
    shipper.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root")
def test_agent_captures_and_ships_over_verified_tls(tls_server: TlsServer, tmp_path: Path) -> None:
    server, ca, tokens = tls_server
    env = subprocess_env({"FLOWRADAR_AGENT_TOKEN": tokens["ingest"], "FLOWRADAR_ENRICH_DNS_HOLD_S": "0"})
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flowradar",
            "agent",
            "--server",
            server.url,
            "--ca",
            str(ca),
            "-i",
            "lo",
            "--spool",
            str(tmp_path / "spool"),
            "--duration",
            str(AGENT_S),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    with httpx.Client(verify=str(ca)) as client:
        for _ in range(int(AGENT_S * 2)):
            client.get(server.url + "/health")  # traffic on loopback for the agent to see
            time.sleep(0.5)
    out, _ = agent.communicate(timeout=60)
    assert agent.returncode == 0, out.decode()
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    with httpx.Client(base_url=server.url, verify=str(ca), headers=headers) as client:
        hosts = client.get("/api/v1/hosts").json()
        assert [h["name"] for h in hosts] == ["edge1"], out.decode()
        assert hosts[0]["metrics"]["cpu_count"] >= 1
        flows = client.get(
            "/api/v1/flows", params={"host": "edge1", "port": server.port, "limit": 1000}
        ).json()
        assert flows["items"], out.decode()
        assert client.get("/api/v1/connections", params={"host": "edge1"}).json()
    assert not list((tmp_path / "spool").glob("*.batch"))
