"""An agent's live updates: active-flow snapshots and interface rates, sent at once, never spooled.

The capture thread (agent/snapshots.py) and the flusher (interface rates) hand their live updates to
a :class:`LiveSender` (a :class:`~flowradar.agent.live.LiveSink`). They wait in a small in-memory
:class:`LiveOutbox` (the newest snapshot of each flow, the latest rates) and a sender thread posts
them at once, as a live-only batch (wire fields ``live_flows`` and ``interfaces``, no durable
records), to the server's ingest endpoint, which publishes them on its live feed.

Live updates are worth something only now: they never touch the spool and are never retried. A
batch the server does not take (down, slow, refusing) is dropped, and a part that waited longer than
``max_age_s`` is dropped rather than sent (the next snapshot says the same, fresher). The durable
records (final flows, alerts, samples, metrics) still go through the spool and the
:class:`~flowradar.agent.shipper.Shipper`, exactly once; on the dashboard a final record replaces
the snapshots of its uid, and a snapshot arriving after it is ignored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from flowradar.agent.settings import AgentConfig
from flowradar.agent.shipper import INGEST_PATH, ingest_headers, tls_verify
from flowradar.agent.wire import Batch, InterfaceRates, encode
from flowradar.model.flow import FlowRecord
from flowradar.model.host import InterfaceMetrics

log = logging.getLogger("flowradar.agent")

LIVE_TIMEOUT_S = 5.0
"""Longest wait for the server's answer to a live batch (less when ``timeout_s`` is shorter)."""


@dataclass(slots=True)
class LiveStats:
    """Counters of the live updates of one agent."""

    batches: int = 0
    """Live batches the server took."""
    flows: int = 0
    """Flow snapshots in them."""
    failed: int = 0
    """Live batches lost (server down or refusing): never retried."""
    stale: int = 0
    """Parts dropped because they waited longer than ``max_age_s``."""
    replaced: int = 0
    """Snapshots replaced by a newer one of the same flow (or pushed out past the limit) before sending."""
    last_error: str | None = None


class LiveOutbox:
    """The live updates not sent yet, in memory (thread-safe): the newest snapshot of each flow (at
    most ``max_flows``, the oldest pushed out first) and the latest interface rates."""

    def __init__(
        self,
        max_flows: int,
        max_age_s: float,
        stats: LiveStats | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_flows = max(1, max_flows)
        self.max_age_s = max_age_s
        self.stats = stats or LiveStats()
        self._clock = clock
        self._flows: dict[str, tuple[float, FlowRecord]] = {}
        self._rates: tuple[float, InterfaceRates] | None = None
        self._ready = threading.Condition()

    def flows(self, records: list[FlowRecord]) -> None:
        """Add snapshots of active flows (a newer one of a flow replaces the older)."""
        now = self._clock()
        with self._ready:
            pending = self._flows
            for record in records:
                self.stats.replaced += pending.pop(record.uid, None) is not None
                pending[record.uid] = (now, record)
            while len(pending) > self.max_flows:
                del pending[next(iter(pending))]
                self.stats.replaced += 1
            self._ready.notify_all()

    def interfaces(self, ts: float, rates: list[InterfaceMetrics]) -> None:
        """Set the latest interface rates (read at wall-clock ``ts``)."""
        with self._ready:
            self._rates = (self._clock(), InterfaceRates(ts, list(rates)))
            self._ready.notify_all()

    def take(self, host: str | None, wait_s: float = 0.0) -> Batch | None:
        """A live-only batch of what is pending and fresh (None when nothing), waiting up to ``wait_s``."""
        with self._ready:
            if not self._flows and self._rates is None and wait_s > 0:
                self._ready.wait(wait_s)
            flows, self._flows = self._flows, {}
            rates, self._rates = self._rates, None
        oldest = self._clock() - self.max_age_s
        fresh = [record for at, record in flows.values() if at >= oldest]
        self.stats.stale += len(flows) - len(fresh)
        if rates is not None and rates[0] < oldest:
            self.stats.stale += 1
            rates = None
        if not fresh and rates is None:
            return None
        return Batch(host, live_flows=fresh, interfaces=rates[1] if rates is not None else None)

    def wake(self) -> None:
        """Wake a thread waiting in :meth:`take`."""
        with self._ready:
            self._ready.notify_all()


class LiveSender:
    """Posts an agent's live updates to its server as they come (a :class:`LiveSink`, with a thread)."""

    def __init__(self, cfg: AgentConfig, client: httpx.Client | None = None) -> None:
        if not cfg.server or not cfg.token:
            raise ValueError("the agent needs a server URL and an ingest token")
        self.cfg = cfg
        self.stats = LiveStats()
        self.outbox = LiveOutbox(cfg.live_max_flows, max(3 * cfg.live_interval_s, 2.0), self.stats)
        self._timeout_s = min(cfg.timeout_s, LIVE_TIMEOUT_S)
        self._client = client or httpx.Client(
            base_url=cfg.server.rstrip("/"), verify=tls_verify(cfg), timeout=self._timeout_s
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def flows(self, records: list[FlowRecord]) -> None:
        """Snapshots of active flows (from the capture thread): sent at once."""
        self.outbox.flows(records)

    def interfaces(self, ts: float, rates: list[InterfaceMetrics]) -> None:
        """Interface rates (from the flusher thread): sent at once."""
        self.outbox.interfaces(ts, rates)

    def send(self, batch: Batch) -> bool:
        """Post one live batch; True when the server took it (a failure is counted, never retried)."""
        body = encode(batch, self.cfg.compression)
        try:
            answer = self._client.post(
                INGEST_PATH, content=body, headers=ingest_headers(self.cfg, batch.batch_id)
            )
        except (httpx.HTTPError, OSError) as exc:
            return self._failed(f"{type(exc).__name__}: {exc}")
        if not answer.is_success:
            return self._failed(f"HTTP {answer.status_code}: {answer.text[:200].strip()}")
        self.stats.batches += 1
        self.stats.flows += len(batch.live_flows)
        self.stats.last_error = None
        return True

    def _failed(self, error: str) -> bool:
        if self.stats.last_error != error:
            log.warning("live update to %s lost: %s (live updates are not retried)", self.cfg.server, error)
        self.stats.failed += 1
        self.stats.last_error = error
        return False

    def run(self) -> None:
        """Send what comes until :meth:`stop`."""
        while not self._stop.is_set():
            batch = self.outbox.take(self.cfg.host_name, wait_s=0.5)
            if batch is not None and not self._stop.is_set():
                self.send(batch)

    def start(self) -> None:
        """Run in a background thread."""
        self._thread = threading.Thread(target=self.run, name="flowradar-live", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending (what is pending is dropped: it is stale by the next start)."""
        self._stop.set()
        self.outbox.wake()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout_s + 1)
        self._client.close()
