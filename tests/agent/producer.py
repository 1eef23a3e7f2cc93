"""Test helpers for agents: tokens in a server's store, a steady producer of numbered flows, an
agent pipeline (collector -> spool -> shipper) around it, and counting what a server stored."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from tests.store.records import flow

from flowradar.agent.collect import Collector
from flowradar.agent.settings import AgentConfig
from flowradar.agent.shipper import Shipper
from flowradar.agent.spool import Spool
from flowradar.agent.wire import encode
from flowradar.config import load_config
from flowradar.server.auth import create_token
from flowradar.store import open_store

FLOWS_PER_TICK = 10
TICK_S = 0.05


class Producer:
    """Adds uniquely numbered flows to a collector at a steady pace until stopped."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.made = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            now = time.time()
            self.collector.add_flows([flow(self.made + i, now - 3) for i in range(FLOWS_PER_TICK)])
            self.made += FLOWS_PER_TICK

    def start(self) -> None:
        """Start producing in a thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop producing (idempotent)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def agent_tokens(env: dict[str, str], host: str) -> tuple[str, str]:
    """(ingest token for ``host``, viewer API token), made in the store ``env`` configures."""
    store = open_store(load_config(env=env).store)
    try:
        ingest = create_token(store, "ingest", None, host=host)[0]
        viewer = create_token(store, "api", None, role="viewer")[0]
    finally:
        store.close()
    return ingest, viewer


class SpooledAgent:
    """What an agent runs without capture: numbered flows -> collector -> spool on disk -> shipper."""

    def __init__(self, cfg: AgentConfig, spool_dir: Path, host: str = "agent1") -> None:
        self.spool = Spool(spool_dir, cfg.spool_max_bytes)
        self.shipper = Shipper(cfg, self.spool)
        self.collector = Collector(cfg, lambda b: self.spool.put(b.batch_id, encode(b)), host=host)
        self.producer = Producer(self.collector)

    def start(self) -> None:
        """Start shipping, collecting and producing."""
        self.shipper.start()
        self.collector.start()
        self.producer.start()

    def finish(self, timeout_s: float = 60.0) -> None:
        """Stop producing, flush the collector, and wait (up to ``timeout_s``) for the spool to empty."""
        self.producer.stop()
        self.collector.stop()
        deadline = time.monotonic() + timeout_s
        while len(self.spool) and time.monotonic() < deadline:
            time.sleep(0.1)

    def close(self) -> None:
        """Stop everything (idempotent)."""
        self.producer.stop()
        self.shipper.stop()


def all_uids(url: str, token: str) -> list[str]:
    """The uid of every flow the server has (every page, oldest first)."""
    uids: list[str] = []
    cursor: str | None = None
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while True:
            params: dict[str, str | int] = {"limit": 1000, "sort": "ts_first"}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/api/v1/flows", params=params).json()
            uids += [item["uid"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return uids
