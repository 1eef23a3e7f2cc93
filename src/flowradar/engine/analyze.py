"""Run a whole capture file through the engine into a summary (shared by the CLI and the tests)."""

from __future__ import annotations

from pathlib import Path

from flowradar.config import EngineConfig
from flowradar.detect.settings import DetectConfig
from flowradar.engine.pipeline import Engine, EngineStats
from flowradar.engine.summary import CaptureSummary


def analyze_capture(
    path: str | Path, cfg: EngineConfig | None = None, detect: DetectConfig | None = None
) -> tuple[CaptureSummary, EngineStats]:
    """Read a pcap/pcapng file to the end; return its summary (report, tables, the detectors' scans,
    floods and alerts) and engine counters."""
    from flowradar.capture.files import open_capture
    from flowradar.detect.runner import DetectionRunner

    source = open_capture(str(path))
    engine = Engine(cfg or EngineConfig())
    summary = CaptureSummary()
    runner = DetectionRunner(detect or DetectConfig())
    try:
        for flows in engine.run(source):
            summary.add(flows)
            runner.observe(flows)
    finally:
        source.close()
    runner.finish()
    summary.packets = source.stats.packets
    summary.warnings = list(source.stats.warnings)
    summary.scans, summary.floods, summary.alerts = runner.scans(), runner.floods(), runner.alerts
    return summary, engine.stats()
