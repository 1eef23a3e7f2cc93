"""A remote agent's live updates, end to end: an agent capturing in a namespace ships to a real
`flowradar serve`; an open connection shows on the server's WebSocket as a ``flow_updates`` event
within 2 s of its first packet, and its final record is stored exactly once after it ends.

Layout (everything created by the test): namespaces A (10.201.0.1, agent and curl) and B
(10.201.0.2, a slow web server) joined by a veth pair; a second veth joins A (10.202.0.2) to this
namespace (10.202.0.1), where the server listens. Every agent setting is the default (TCP close
5 s, idle 120 s, DNS hold 125 s): only live snapshots can show the flow while it is open, and the
final record is stored soon only because the agent holds nothing back for DNS.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.agent.producer import agent_tokens
from tests.scenarios.netns import sh, veth_pair
from tests.server.conftest import ROOT, ServerProcess, store_env, subprocess_env
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.scenario

SERVER_IP, AGENT_IP, WEB_IP = "10.202.0.1", "10.202.0.2", "10.201.0.2"
LATENCY_S = 2.0


@contextmanager
def uplink(ns: str) -> Iterator[None]:
    """A veth from this namespace (SERVER_IP) into ``ns`` (AGENT_IP), removed afterwards."""
    here = f"frr{os.getpid() % 100000}"
    sh("ip", "link", "add", here, "type", "veth", "peer", "name", "vr", "netns", ns)
    try:
        sh("ip", "addr", "add", f"{SERVER_IP}/30", "dev", here)
        sh("ip", "link", "set", here, "up")
        sh("ip", "addr", "add", f"{AGENT_IP}/30", "dev", "vr", ns=ns)
        sh("ip", "link", "set", "vr", "up", ns=ns)
        yield
    finally:
        sh("ip", "link", "del", here, check=False)


class Feed:
    """The server's live feed, read in a thread: (time received, event) pairs in a queue."""

    def __init__(self, ws: ClientConnection) -> None:
        self.events: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self._ws = ws
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self._ws:
                self.events.put((time.time(), json.loads(message)))
        except Exception:  # closed
            return

    def next(self, deadline: float) -> tuple[float, dict[str, Any]] | None:
        """The next event, or None at the deadline (time.monotonic)."""
        try:
            return self.events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None


@contextmanager
def live_feed(url: str, token: str) -> Iterator[Feed]:
    """The server's live feed with a viewer token, for the duration of the block."""
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        yield Feed(ws)


def _is_download(flow: dict[str, Any]) -> bool:
    return bool(flow["dst_ip"] == WEB_IP and flow["dst_port"] == 8080)


def _wait_line(log: Path, text: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while text not in (log.read_text() if log.exists() else ""):
        assert proc.poll() is None, f"exited early: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"no '{text}' in {log}: {log.read_text()[-2000:]}"
        time.sleep(0.1)


@pytest.mark.timeout(180)
def test_an_agents_open_connection_is_on_the_servers_feed_within_2s_and_stored_once(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = store_env("duckdb", tmp_path, request)
    ingest, viewer = agent_tokens(env, "edge1")
    with veth_pair("frla") as (a, b), uplink(a):
        server = ServerProcess(env, log=tmp_path / "server.log", bind=SERVER_IP)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            server.start()
            web_log, agent_log = tmp_path / "web.log", tmp_path / "agent.log"
            web_cmd = [sys.executable, str(ROOT / "tests/agent/slowhttp.py"), WEB_IP, "8080"]
            with open(web_log, "wb") as out:
                procs.append(subprocess.Popen(["ip", "netns", "exec", b, *web_cmd], stdout=out))
            agent_env = subprocess_env({"FLOWRADAR_AGENT_TOKEN": ingest})
            agent_env = {k: v for k, v in agent_env.items() if not k.startswith("FLOWRADAR_") or "TOKEN" in k}
            agent_cmd = [sys.executable, "-m", "flowradar", "agent", "--server", server.url, "-i", "va"]
            agent_cmd += ["--spool", str(tmp_path / "spool"), "--duration", "120"]
            with open(agent_log, "wb") as out:
                agent = subprocess.Popen(
                    ["ip", "netns", "exec", a, *agent_cmd],
                    env=agent_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            procs.append(agent)
            _wait_line(web_log, "READY", 20, procs[0])
            _wait_line(agent_log, "shipping to", 60, agent)
            with live_feed(f"ws://{SERVER_IP}:{server.port}/api/v1/live", viewer) as feed:
                time.sleep(1.5)  # the capture is open; the first snapshot has gone
                seen = _watch_download(a, feed)
                _check_stored_once(server.url, viewer, seen["uid"], feed)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            server.stop()
    latency = {
        "feed_after_first_packet_s": round(seen["received"] - seen["ts_first"], 3),
        "feed_after_curl_start_s": round(seen["received"] - seen["started"], 3),
        "server_publish_after_first_packet_s": round(seen["published"] - seen["ts_first"], 3),
    }
    print("\nagent live latency:", json.dumps(latency))
    assert latency["feed_after_first_packet_s"] <= LATENCY_S, latency


def _watch_download(ns: str, feed: Feed) -> dict[str, Any]:
    """Start a slow download in ``ns``; wait for its first ``flow_updates`` event while it is open."""
    started = time.time()
    curl = subprocess.Popen(
        ["ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", f"http://{WEB_IP}:8080/slow"]
    )
    try:
        deadline = time.monotonic() + 10
        while (got := feed.next(deadline)) is not None:
            received, event = got
            if event["type"] != "flow_updates" or event["host"] != "edge1":
                continue
            flow = next((f for f in event["flows"] if _is_download(f)), None)
            if flow is None:
                continue
            still_open = curl.poll() is None
            assert still_open and flow["active"] is True and flow["end_reason"] is None
            assert flow["bytes"] > 0 and flow["app_proto"] == "http", flow
            seen = {"received": received, "published": event["ts"], "started": started}
            seen |= {"ts_first": flow["ts_first"], "uid": flow["uid"]}
            assert curl.wait(timeout=30) == 0
            return seen
        pytest.fail("no flow_updates event for the open download within 10 s")
    finally:
        if curl.poll() is None:
            curl.kill()


def _check_stored_once(url: str, viewer: str, uid: str, feed: Feed) -> None:
    """The final record comes on the feed (``flows``, not active) and is stored exactly once."""
    deadline = time.monotonic() + 30
    final = None
    while final is None and (got := feed.next(deadline)) is not None:
        _, event = got
        if event["type"] == "flows" and event["host"] == "edge1":
            final = next((f for f in event["flows"] if f["uid"] == uid), None)
    assert final is not None and final["active"] is False, "no final record within 30 s of the end"
    time.sleep(2.0)  # any duplicate would be stored by now
    headers = {"Authorization": f"Bearer {viewer}"}
    rows = httpx.get(
        url + "/api/v1/flows", params={"host": "edge1", "port": 8080, "limit": 100}, headers=headers
    ).json()["items"]
    mine = [r for r in rows if r["uid"] == uid]
    assert len(mine) == 1, rows
    assert mine[0]["dst_bytes"] >= 24 * 4096 and mine[0]["end_reason"] is not None
