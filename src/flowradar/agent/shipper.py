"""Ships spooled batches to the server: one at a time, oldest first, retried with backoff.

Only the durable part of a batch is spooled (:func:`spool_sink`): live-only parts go straight to the
server (agent/livesend.py) and are never retried.

A batch leaves the spool only when the server answered 2xx (stored, or already stored: ingest is
idempotent by batch id) or refused it for good (a 4xx about the batch itself, counted and logged).
Network errors, 5xx, 408, 429 and authentication failures keep the batch and back off exponentially
(with jitter) up to ``backoff_max_s``. TLS is verified against the system CAs or ``ca_file``; it is
off only with an explicit ``insecure``.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from flowradar.agent.settings import AgentConfig
from flowradar.agent.spool import Spool, SpooledBatch
from flowradar.agent.wire import Batch, encode

log = logging.getLogger("flowradar.agent")

INGEST_PATH = "/api/v1/ingest"
_RETRY_STATUSES = frozenset({401, 403, 408, 425, 429})


@dataclass(slots=True)
class ShipperStats:
    """Counters of one shipper."""

    sent: int = 0
    """Batches the server stored."""
    duplicates: int = 0
    """Batches the server already had (a retry after a lost answer)."""
    rejected: int = 0
    """Batches refused for good (4xx about the batch itself)."""
    failures: int = 0
    """Attempts that failed and will be retried."""
    last_error: str | None = None


def spool_sink(spool: Spool, compression: str) -> Callable[[Batch], None]:
    """The collector's sink of an agent: each batch's durable part, encoded, into the spool.

    Live parts are left out (never written to disk); a batch with nothing durable is not spooled.
    """

    def sink(batch: Batch) -> None:
        durable = batch.durable()
        if len(durable):
            spool.put(durable.batch_id, encode(durable, compression))

    return sink


def ingest_headers(cfg: AgentConfig, batch_id: str) -> dict[str, str]:
    """The headers of a batch posted to the ingest endpoint."""
    return {
        "Authorization": f"Bearer {cfg.token}",
        "Content-Type": "application/json",
        "Content-Encoding": cfg.compression,
        "X-Batch-Id": batch_id,
    }


def tls_verify(cfg: AgentConfig) -> ssl.SSLContext | bool:
    """What httpx should verify the server with: a context for ``ca_file``, system CAs, or nothing."""
    if cfg.insecure:
        return False
    if cfg.ca_file:
        return ssl.create_default_context(cafile=cfg.ca_file)
    return True


class Backoff:
    """Exponential delays with full jitter: initial, x2 per failure, capped."""

    def __init__(self, initial_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.initial_s = max(initial_s, 0.01)
        self.max_s = max(max_s, self.initial_s)
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt (and count one more failure)."""
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(self.failures, 60))
        self.failures += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        """A success: start over from the initial delay."""
        self.failures = 0


class Shipper:
    """Drains a spool into the server's ingest endpoint (in a thread, or step by step)."""

    def __init__(self, cfg: AgentConfig, spool: Spool, client: httpx.Client | None = None) -> None:
        if not cfg.server or not cfg.token:
            raise ValueError("the agent needs a server URL and an ingest token")
        self.cfg = cfg
        self.spool = spool
        self.stats = ShipperStats()
        self.backoff = Backoff(cfg.backoff_initial_s, cfg.backoff_max_s)
        self._client = client or httpx.Client(
            base_url=cfg.server.rstrip("/"),
            verify=tls_verify(cfg),
            timeout=cfg.timeout_s,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send(self, item: SpooledBatch) -> bool:
        """Try one batch; True when it left the spool (accepted or refused for good)."""
        headers = ingest_headers(self.cfg, item.batch_id)
        try:
            answer = self._client.post(INGEST_PATH, content=item.read(), headers=headers)
        except (httpx.HTTPError, OSError) as exc:
            return self._failed(f"{type(exc).__name__}: {exc}")
        if answer.is_success:
            duplicate = bool(answer.headers.get("content-type", "").startswith("application/json")) and bool(
                answer.json().get("duplicate")
            )
            self.stats.duplicates += duplicate
            self.stats.sent += not duplicate
            self.spool.remove(item)
            self.backoff.reset()
            return True
        detail = answer.text[:200].strip()
        if answer.status_code >= 500 or answer.status_code in _RETRY_STATUSES:
            return self._failed(f"HTTP {answer.status_code}: {detail}")
        self.stats.rejected += 1
        log.warning("server refused batch %s for good: HTTP %d %s", item.batch_id, answer.status_code, detail)
        self.spool.remove(item)
        return True

    def _failed(self, error: str) -> bool:
        if self.stats.last_error != error:
            log.warning("cannot ship to %s: %s (retrying)", self.cfg.server, error)
        self.stats.failures += 1
        self.stats.last_error = error
        return False

    def drain(self, stop: threading.Event | None = None) -> None:
        """Send until the spool is empty; after a failure, wait out the backoff and try again."""
        stop = stop or self._stop
        while not stop.is_set():
            item = self.spool.oldest()
            if item is None:
                return
            if not self.send(item):
                stop.wait(self.backoff.next_delay())

    def run(self) -> None:
        """Ship until :meth:`stop`: wait for batches, drain, repeat."""
        while not self._stop.is_set():
            if self.spool.oldest(wait_s=0.5) is not None:
                self.drain()

    def start(self) -> None:
        """Run in a background thread."""
        self._thread = threading.Thread(target=self.run, name="flowradar-shipper", daemon=True)
        self._thread.start()

    def stop(self, flush_s: float = 0.0) -> None:
        """Stop shipping (after trying for up to ``flush_s`` to empty the spool)."""
        deadline = time.monotonic() + flush_s
        while self._thread is not None and len(self.spool) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        self.spool.wake()
        if self._thread is not None:
            self._thread.join(timeout=self.cfg.timeout_s + 1)
        self._client.close()
