"""Live updates of this host between batches: what is happening now, not only what has ended.

Batches carry final records to the store: a flow when it ends (5 s after a TCP close, after two
idle minutes otherwise), host metrics every ``metrics_interval_s``. The live feed also shows what is
going on right now, every ``live_interval_s``:

- the active flows that changed, enriched, with their counters so far
  (:mod:`flowradar.agent.snapshots`); they are never stored: the final record replaces them;
- the rates of every network interface over the last interval (:class:`InterfaceMeter`).

A :class:`LiveSink` takes both: in single-host mode, the server's live feed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from flowradar.host.metrics import RawSample, interfaces, read_net_dev
from flowradar.model.flow import FlowRecord
from flowradar.model.host import InterfaceMetrics


class LiveSink(Protocol):
    """Where live updates go (thread-safe: called from the capture and the flusher threads)."""

    def flows(self, records: list[FlowRecord]) -> None:
        """Snapshots of active flows (enriched; counters since the flow began)."""
        ...

    def interfaces(self, ts: float, rates: list[InterfaceMetrics]) -> None:
        """Rates of every interface over the last interval, at wall-clock ``ts``."""
        ...


class InterfaceMeter:
    """Per-interface byte and packet rates from /proc/net/dev, relative to the previous reading."""

    def __init__(self, proc: Path = Path("/proc"), sys_root: Path = Path("/sys")) -> None:
        self.proc = proc
        self.sys_root = sys_root
        self._prev: RawSample | None = None

    def sample(self) -> list[InterfaceMetrics]:
        """Every interface with its rates since the last call (empty on the first call)."""
        raw = RawSample(time.monotonic(), nets=read_net_dev(self.proc))
        prev, self._prev = self._prev, raw
        if prev is None:
            return []
        return interfaces(raw, prev, self.sys_root)
