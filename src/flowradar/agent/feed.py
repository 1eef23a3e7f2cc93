"""The capture feed of an agent (or of the server in single-host mode): packets to enriched flows.

It chains the pieces `flowradar analyze -i` uses: a live packet source, the engine, the detection
runner (live mode: idle flows expire against the clock, active flows are watched every second) and
the enrichment stage (process owner, names, geography, trackers, intel, privacy). With live
snapshots (:mod:`flowradar.agent.snapshots`) the changed active flows also go to the live feed every
second, and DNS answers are learnt as they are dissected: exported flows are then not held back
waiting for DNS flows to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from flowradar.agent.snapshots import LiveSnapshots
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
        snapshots: LiveSnapshots | None = None,
    ) -> None:
        self.source = source
        self.engine = engine
        self.runner = runner
        self.stage = stage
        self.snapshots = snapshots
        if snapshots is not None and stage is not None:
            stage.pipeline.hold_s = 0.0  # answers are learnt live: nothing waits for DNS flows to end

    def records(self) -> Iterator[list[FlowRecord]]:
        """Released records as flows end; at the end, every flow still active and every held record."""
        source: PacketSource = self.source if self.snapshots is None else self.snapshots.tap(self.source)
        try:
            for flows in detect_flows(self.engine, source, self.runner, live=True):
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
