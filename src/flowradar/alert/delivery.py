"""Delivery that never blocks the pipeline and never loses an alert.

Each sink gets a :class:`SinkWorker`: a bounded queue and a thread. :meth:`SinkWorker.submit` only
ever puts an alert on the queue (or, when the queue is full, appends it to the sink's spill file),
so a slow or dead sink costs the pipeline nothing. The thread sends in small batches, retrying with
exponential backoff; after ``retries`` failures the batch goes to the spill file. Spilled alerts are
sent again once the sink works (checked at least every ``backoff_max_s``), and what is still
queued when the worker is closed is spilled too.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from flowradar.alert.base import AlertSink, SinkError
from flowradar.alert.settings import AlertConfig
from flowradar.model.alert import Alert

BATCH = 50


def default_spill_dir() -> Path:
    """$FLOWRADAR_DATA_DIR/spool, else ~/.cache/flowradar/spool."""
    base = os.environ.get("FLOWRADAR_DATA_DIR")
    return Path(base) / "spool" if base else Path.home() / ".cache" / "flowradar" / "spool"


class Spill:
    """A JSON-lines file of alerts waiting for one sink."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, alerts: Sequence[Alert]) -> None:
        """Append alerts (the last resort: an error here is raised, never swallowed)."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("".join(a.to_json() + "\n" for a in alerts))
                fh.flush()
                os.fsync(fh.fileno())

    def take(self) -> list[Alert]:
        """Remove and return every spilled alert (unreadable lines are kept aside in a .bad file)."""
        with self._lock:
            try:
                lines = self.path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
            self.path.unlink()
        out, bad = [], []
        for line in lines:
            try:
                out.append(Alert.from_dict(json.loads(line)))
            except (ValueError, TypeError):
                bad.append(line)
        if bad:
            with open(self.path.with_suffix(".bad"), "a", encoding="utf-8") as fh:
                fh.write("\n".join(bad) + "\n")
        return out

    def __len__(self) -> int:
        try:
            with open(self.path, encoding="utf-8") as fh:
                return sum(1 for _ in fh)
        except FileNotFoundError:
            return 0


class SinkWorker:
    """One sink's queue, thread, retries and spill file."""

    def __init__(self, sink: AlertSink, cfg: AlertConfig, spill_dir: Path | None = None) -> None:
        """Start the worker thread."""
        self.sink = sink
        self._cfg = cfg
        self.spill = Spill((spill_dir or default_spill_dir()) / f"{sink.name}.jsonl")
        self._queue: queue.Queue[Alert] = queue.Queue(maxsize=max(1, cfg.queue_size))
        self._stop = threading.Event()
        self._closing = False
        self.delivered = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name=f"flowradar-sink-{sink.name}", daemon=True)
        self._thread.start()

    def submit(self, alert: Alert) -> None:
        """Queue an alert without blocking; spill it when the queue is full."""
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.spill.add([alert])

    def _run(self) -> None:
        next_spill_check = 0.0
        while not (self._stop.is_set() and self._queue.empty()):
            batch = self._take(0.2)
            if batch:
                self._deliver(batch)
                for _ in batch:
                    self._queue.task_done()
            if not self._closing and time.monotonic() >= next_spill_check:
                next_spill_check = time.monotonic() + self._cfg.backoff_max_s
                self._resend_spilled()

    def _take(self, wait: float) -> list[Alert]:
        try:
            batch = [self._queue.get(timeout=wait)]
        except queue.Empty:
            return []
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _deliver(self, batch: list[Alert]) -> bool:
        """Send with retries; spill on final failure. True when delivered."""
        delay = self._cfg.backoff_s
        for attempt in range(max(1, self._cfg.retries)):
            try:
                self.sink.send(batch)
                self.delivered += len(batch)
                return True
            except SinkError:
                self.failures += 1
            except Exception:  # a sink bug must not kill the worker nor lose the alerts
                self.failures += 1
            if self._closing or attempt + 1 >= self._cfg.retries:
                break
            self._stop.wait(delay)  # returns at once while closing: no backoff then
            delay = min(delay * 2, self._cfg.backoff_max_s)
        self.spill.add(batch)
        return False

    def _resend_spilled(self) -> None:
        waiting = self.spill.take()
        for i in range(0, len(waiting), BATCH):
            if not self._deliver(waiting[i : i + BATCH]):
                if waiting[i + BATCH :]:
                    self.spill.add(waiting[i + BATCH :])
                return

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued alert was handled (delivered or spilled); True when done in time."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what is queued within ``timeout_s``, spill the rest, stop the thread, close the sink."""
        self._stop.set()
        self._thread.join(timeout_s)
        self._closing = True
        self._thread.join(max(1.0, self._cfg.timeout_s * 2))
        rest = []
        while True:
            try:
                rest.append(self._queue.get_nowait())
                self._queue.task_done()
            except queue.Empty:
                break
        if rest:
            self.spill.add(rest)
        self.sink.close()


class Dispatcher:
    """Fans alerts out to every sink's worker."""

    def __init__(self, sinks: Sequence[AlertSink], cfg: AlertConfig, spill_dir: Path | None = None) -> None:
        """One worker per sink."""
        self.workers = [SinkWorker(s, cfg, spill_dir) for s in sinks]

    def __call__(self, alert: Alert) -> None:
        """Hand an alert to every sink (never blocks)."""
        for w in self.workers:
            w.submit(alert)

    def close(self, timeout_s: float = 5.0) -> None:
        """Close every worker."""
        for w in self.workers:
            w.close(timeout_s)


def build_sinks(cfg: AlertConfig) -> list[AlertSink]:
    """The sinks the configuration names (ValueError on an invalid setting)."""
    from flowradar.alert.jsonl import JsonlSink
    from flowradar.alert.smtp import EmailSink
    from flowradar.alert.syslog import SyslogSink
    from flowradar.alert.webhook import WebhookSink

    sinks: list[AlertSink] = []
    if cfg.jsonl_path:
        sinks.append(JsonlSink(cfg.jsonl_path))
    if cfg.webhook_url:
        sinks.append(WebhookSink(cfg.webhook_url, cfg.webhook_format, cfg.timeout_s, cfg.webhook_ca_file))
    if cfg.syslog_host:
        sinks.append(
            SyslogSink(
                cfg.syslog_host, cfg.syslog_port, cfg.syslog_protocol, cfg.syslog_format, cfg.timeout_s
            )
        )
    if cfg.smtp_host:
        sinks.append(
            EmailSink(
                cfg.smtp_host,
                cfg.smtp_port,
                cfg.smtp_sender,
                cfg.smtp_recipients,
                cfg.smtp_starttls,
                cfg.smtp_username,
                cfg.smtp_password,
                cfg.timeout_s,
            )
        )
    return sinks
