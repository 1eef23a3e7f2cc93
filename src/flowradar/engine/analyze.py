"""Run a whole capture file through the engine into a summary (shared by the CLI and the tests)."""

from __future__ import annotations

from pathlib import Path

from flowradar.config import EngineConfig
from flowradar.engine.pipeline import Engine, EngineStats
from flowradar.engine.summary import CaptureSummary


def analyze_capture(path: str | Path, cfg: EngineConfig | None = None) -> tuple[CaptureSummary, EngineStats]:
    """Read a pcap/pcapng file to the end; return its summary (report, tables) and engine counters."""
    from flowradar.capture.files import open_capture

    source = open_capture(str(path))
    engine = Engine(cfg or EngineConfig())
    summary = CaptureSummary()
    try:
        for flows in engine.run(source):
            summary.add(flows)
    finally:
        source.close()
    summary.packets = source.stats.packets
    summary.warnings = list(source.stats.warnings)
    return summary, engine.stats()
