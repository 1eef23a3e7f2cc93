"""Test helpers for agents: a steady producer of numbered flows, and counting what a server stored."""

from __future__ import annotations

import threading
import time

import httpx
from tests.store.records import flow

from flowradar.agent.collect import Collector

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
