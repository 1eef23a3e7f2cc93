"""The capture feed of an agent (or of the server in single-host mode): packets to enriched flows.

It chains the pieces `flowradar analyze -i` uses: a live packet source, the engine, the detection
runner (live mode: idle flows expire against the clock, active flows are watched every second) and
the enrichment stage (process owner, names, geography, trackers, intel, privacy).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from flowradar.capture.base import PacketSource
from flowradar.detect.runner import DetectionRunner, detect_flows
from flowradar.engine.pipeline import Engine
from flowradar.enrich.summary import EnrichStage
from flowradar.model.flow import FlowRecord


class StoppableSource(PacketSource, Protocol):
    """A packet source that another thread can stop (LiveSource)."""

    def stop(self) -> None:
        """Make ``batches()`` return soon."""
        ...


class CaptureFeed:
    """Enriched flow records from a live source, list by list, until stopped."""

    def __init__(
        self,
        source: StoppableSource,
        engine: Engine,
        runner: DetectionRunner,
        stage: EnrichStage | None = None,
    ) -> None:
        self.source = source
        self.engine = engine
        self.runner = runner
        self.stage = stage

    def records(self) -> Iterator[list[FlowRecord]]:
        """Released records as flows end; at the end, every flow still active and every held record."""
        try:
            for flows in detect_flows(self.engine, self.source, self.runner, live=True):
                out = self.stage.feed(flows) if self.stage is not None else list(flows.records())
                if out:
                    yield out
            if self.stage is not None:
                rest = self.stage.finish()
                if rest:
                    yield rest
        finally:
            self.source.close()

    def stop(self) -> None:
        """Stop the source (the engine then exports what is active)."""
        self.source.stop()
