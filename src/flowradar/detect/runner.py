"""The detection stage: runs every configured detector over the flow batches of one input.

Offline (a capture file) each exported batch goes to every detector. Live, :meth:`observe_active`
also hands over a snapshot of the still-active flows about once a second, turned into increments
so that nothing is counted twice. Alerts go through the :class:`AlertManager` (allowlists,
de-duplication, delivery); :meth:`scans` and :meth:`floods` give the capture report's entries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flowradar.alert.manager import AlertManager
from flowradar.alert.settings import AlertConfig
from flowradar.detect.base import Detector
from flowradar.detect.live import ActiveFlows
from flowradar.detect.rows import Networks
from flowradar.detect.settings import DetectConfig
from flowradar.engine.gcpolicy import bulk_gc
from flowradar.engine.records import FlowBatch
from flowradar.model.alert import Alert
from flowradar.model.flow import FlowRecord, L7Facts

if TYPE_CHECKING:
    from flowradar.alert.delivery import Dispatcher
    from flowradar.capture.base import PacketSource
    from flowradar.engine.pipeline import Engine


def build_detectors(cfg: DetectConfig) -> list[Detector]:
    """The detectors named in ``cfg.detectors`` (plus custom rules when ``rules_file`` is set)."""
    from flowradar.detect.beacon import BeaconDetector
    from flowradar.detect.bruteforce import BruteForceDetector
    from flowradar.detect.dns import DnsDetector
    from flowradar.detect.flood import FloodDetector
    from flowradar.detect.intel import IntelDetector
    from flowradar.detect.ports import CleartextDetector, SuspiciousPortDetector
    from flowradar.detect.scan import ScanDetector

    internal = Networks(cfg.internal_networks)
    factories: dict[str, Callable[[], Detector]] = {
        "scan": lambda: ScanDetector(cfg, internal),
        "flood": lambda: FloodDetector(cfg, internal),
        "bruteforce": lambda: BruteForceDetector(cfg, internal),
        "beacon": lambda: BeaconDetector(cfg, internal),
        "dns": lambda: DnsDetector(cfg, internal),
        "ports": lambda: SuspiciousPortDetector(cfg, internal),
        "cleartext": lambda: CleartextDetector(cfg, internal),
        "intel": lambda: IntelDetector(cfg, internal),
    }
    unknown = [n for n in cfg.detectors if n not in factories]
    if unknown:
        raise ValueError(f"unknown detector(s): {', '.join(unknown)} (known: {', '.join(factories)})")
    out = [factories[n]() for n in cfg.detectors]
    if cfg.rules_file:
        from flowradar.detect.rules import RuleDetector, load_rules

        out.append(RuleDetector(load_rules(cfg.rules_file)))
    return out


class DetectionRunner:
    """Every detector of one run, the alert manager, and the live bookkeeping."""

    def __init__(
        self,
        cfg: DetectConfig | None = None,
        manager: AlertManager | None = None,
        detectors: list[Detector] | None = None,
    ) -> None:
        """Build the configured detectors (or use ``detectors``); alerts go to ``manager``."""
        self.cfg = cfg or DetectConfig()
        self.manager = manager or AlertManager(AlertConfig())
        enabled = self.cfg.enabled
        self.detectors = (
            detectors if detectors is not None else (build_detectors(self.cfg) if enabled else [])
        )
        self._active: ActiveFlows | None = None
        self._latest = 0.0

    def observe(self, batch: FlowBatch, grouped: bool | None = None) -> list[Alert]:
        """Exported flows (offline or live); return the alerts delivered.

        ``grouped`` (offline grouping, see :data:`DETECT_GROUP_ROWS`): True shows the batch only to
        the detectors that take groups of batches, False only to those that look at ``every_batch``,
        None to every detector.
        """
        if not self.detectors or not len(batch.rows):
            return []
        self._latest = max(self._latest, float(batch.rows["last"].max()) / 1e9)
        if self._active is not None:
            batch = self._active.exported(batch, time.time())
        if grouped is None:
            return self._run(lambda d: d.observe(batch))
        return self._run(lambda d: d.observe(batch) if grouped != _every_batch(d) else [])

    def observe_records(self, records: Sequence[FlowRecord]) -> list[Alert]:
        """Enriched records, for the detectors that read enrichment (threat intel, trackers, places)."""
        hooks = [d for d in self.detectors if hasattr(d, "observe_records")]
        if not hooks or not records:
            return []
        return self._run(lambda d: d.observe_records(records) if d in hooks else [])  # type: ignore[attr-defined]

    def observe_active(
        self, rows: np.ndarray, now: float, peek: Callable[[int], L7Facts | None] | None = None
    ) -> list[Alert]:
        """Live: a snapshot of the active flows (``Engine.snapshot()``) at wall-clock ``now``."""
        if not self.detectors:
            return []
        if self._active is None:
            self._active = ActiveFlows()
        batch = self._active.snapshot(rows, now, peek)
        self._active.prune(rows["id"])
        out = self._run(lambda d: d.observe(batch)) if len(batch.rows) else []
        return out + self.tick(now)

    def tick(self, now: float) -> list[Alert]:
        """Time-based checks of every detector, and idle resolution of alerts."""
        self._latest = max(self._latest, now)
        out = self._run(lambda d: d.tick(now))
        self.manager.resolve_idle(now)
        return out

    def finish(self, now: float | None = None) -> list[Alert]:
        """End of input: a last tick at the latest traffic time (or ``now``)."""
        if not self.detectors:
            return []
        at = now if now is not None else self._latest
        return self._run(lambda d: d.tick(at))

    def _run(self, step: Callable[[Detector], list[Alert]]) -> list[Alert]:
        found: list[Alert] = []
        for d in self.detectors:
            found.extend(step(d))
        return self.manager.submit(found) if found else []

    @property
    def alerts(self) -> list[Alert]:
        """Every alert of the run (from the manager)."""
        return self.manager.alerts

    def scans(self) -> list[dict[str, Any]]:
        """Report entries, one per scanner: scanner, distinct ports and hosts (the largest seen), type."""
        best: dict[str, dict[str, Any]] = {}
        for a in self.alerts:
            if a.kind != "scan" or not a.subject_ip:
                continue
            ports, hosts = int(a.details.get("distinct_ports", 0)), int(a.details.get("distinct_hosts", 0))
            kept = best.get(a.subject_ip)
            if kept is None or ports + hosts > kept["distinct_ports"] + kept["distinct_hosts"]:
                best[a.subject_ip] = {
                    "scanner": a.subject_ip,
                    "distinct_ports": ports,
                    "distinct_hosts": hosts,
                    "type": a.type,
                }
        return list(best.values())

    def floods(self) -> list[dict[str, Any]]:
        """Report entries, one per victim and flood type: victim, type, packets in the window."""
        best: dict[tuple[str, str], dict[str, Any]] = {}
        for a in self.alerts:
            if a.kind == "flood" and a.type != "request_rate" and a.subject_ip:
                value = a.details.get("window_value") or 0
                kept = best.get((a.subject_ip, a.type))
                if kept is None or value > kept["packets_in_window"]:
                    best[(a.subject_ip, a.type)] = {
                        "victim": a.subject_ip,
                        "type": a.type,
                        "packets_in_window": value,
                    }
        return list(best.values())


DETECT_GROUP_ROWS = 8_192
"""Offline, exported flows reach the detectors in groups of at least this many rows (a detector's
cost is mostly per call: numpy over the group). Alerts carry the flows' own times, so grouping
changes when they are computed, not what they say; a detector whose findings depend on how often it
looks sets ``every_batch`` and sees each engine batch as before."""


def detect_flows(
    engine: Engine, source: PacketSource, runner: DetectionRunner | None, live: bool = False
) -> Iterator[FlowBatch]:
    """Like ``engine.run(source)``, with every flow batch also shown to ``runner``.

    With ``live``, about every ``live_interval_s`` the engine expires idle flows against the clock and
    the runner looks at a snapshot of the active flows (with the L7 facts found so far), so that a
    scan or a flood is reported within seconds, not when its flows time out. The cycle collector runs
    rarely meanwhile (:func:`~flowradar.engine.gcpolicy.bulk_gc`).
    """
    with bulk_gc():
        if runner is None or not live:
            yield from _run_batch(engine, source, runner)
        else:
            yield from _run_live(engine, source, runner)


def _run_batch(engine: Engine, source: PacketSource, runner: DetectionRunner | None) -> Iterator[FlowBatch]:
    """Offline: the detectors see the flows in groups of at least :data:`DETECT_GROUP_ROWS`."""
    pending: list[FlowBatch] = []
    rows = 0
    for flows in engine.run(source):
        if runner is not None:
            runner.observe(flows, grouped=False)
            pending.append(flows)
            rows += len(flows)
            if rows >= DETECT_GROUP_ROWS:
                runner.observe(_merged(pending), grouped=True)
                pending, rows = [], 0
        yield flows
    if runner is not None:
        if pending:
            runner.observe(_merged(pending), grouped=True)
        runner.finish()


def _every_batch(d: Detector) -> bool:
    return bool(getattr(d, "every_batch", False))


def _merged(batches: list[FlowBatch]) -> FlowBatch:
    if len(batches) == 1:
        return batches[0]
    facts: dict[int, L7Facts] = {}
    for b in batches:
        facts.update(b.facts)
    return FlowBatch(np.concatenate([b.rows for b in batches]), facts)


def _run_live(engine: Engine, source: PacketSource, runner: DetectionRunner) -> Iterator[FlowBatch]:
    peek = engine.facts_of  # facts of active flows
    last = 0.0
    for batch in source.batches():
        flows = engine.feed(batch)
        now = time.time()
        if now - last >= runner.cfg.live_interval_s:
            last = now
            expired = engine.tick(time.time_ns())
            if len(expired):
                flows = FlowBatch(
                    np.concatenate([flows.rows, expired.rows]), {**flows.facts, **expired.facts}
                )
            runner.observe(flows)
            runner.observe_active(engine.snapshot(), now, peek)
        else:
            runner.observe(flows)
        if len(flows):
            yield flows
    flows = engine.finish()
    runner.observe(flows)
    if len(flows):
        yield flows
    runner.finish(time.time())


def build_runner(detect: DetectConfig, alert: AlertConfig) -> tuple[DetectionRunner, Dispatcher]:
    """A runner whose alerts go to the configured sinks (ValueError on an invalid setting or rule)."""
    from flowradar.alert.delivery import Dispatcher, build_sinks

    dispatcher = Dispatcher(build_sinks(alert), alert, Path(alert.spill_dir) if alert.spill_dir else None)
    try:
        runner = DetectionRunner(detect, AlertManager(alert, dispatcher))
    except Exception:
        dispatcher.close(0.1)
        raise
    return runner, dispatcher
