"""Run a whole capture file through the engine into a summary (shared by the CLI and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flowradar.config import EngineConfig
from flowradar.detect.settings import DetectConfig
from flowradar.engine.pipeline import Engine, EngineStats
from flowradar.engine.summary import CaptureSummary

if TYPE_CHECKING:
    from flowradar.capture.base import PacketSource
    from flowradar.detect.runner import DetectionRunner


def analyze_capture(
    path: str | Path, cfg: EngineConfig | None = None, detect: DetectConfig | None = None
) -> tuple[CaptureSummary, EngineStats]:
    """Read a pcap/pcapng file to the end; return its summary (report, tables, the detectors' scans,
    floods and alerts) and engine counters."""
    from flowradar.capture.files import open_capture
    from flowradar.detect.runner import DetectionRunner, detect_flows

    source = open_capture(str(path))
    engine = Engine(cfg or EngineConfig())
    summary = CaptureSummary()
    runner = DetectionRunner(detect or DetectConfig())
    try:
        for flows in detect_flows(engine, source, runner):
            summary.add(flows)
    finally:
        source.close()
    conclude(summary, source, runner)
    return summary, engine.stats()


def conclude(summary: CaptureSummary, source: PacketSource, runner: DetectionRunner) -> None:
    """Fill the summary's totals once the input is read: packets, warnings, scans, floods, alerts."""
    summary.packets = source.stats.packets
    summary.warnings = list(source.stats.warnings)
    summary.scans, summary.floods, summary.alerts = runner.scans(), runner.floods(), runner.alerts
