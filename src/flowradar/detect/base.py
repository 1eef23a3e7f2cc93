"""The Detector seam, and the batches detectors see.

A detector observes flow batches as they leave the engine and returns the alerts they complete;
``tick(now)`` runs its time-based checks. Offline a batch holds ended flows. Live, the runner also
hands over still-active flows (a :class:`LiveBatch`) so that a scan or a flood is seen while its
flows are open; their counters are then the *increments* since the flow was last observed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from flowradar.engine.records import FlowBatch
from flowradar.model.alert import Alert

ACTIVE = 255
"""``end_reason`` of a row that shows a flow still active (a snapshot, not an export)."""


@dataclass(slots=True)
class LiveBatch(FlowBatch):
    """A flow batch seen live: counters are increments since each flow was last observed."""

    new: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """Per row: True when this is the first time the flow is observed."""
    since: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Per row: start of the increment (ns): the flow's first packet, or the previous observation."""
    now: float = 0.0
    """Wall-clock time of the observation (seconds)."""
    totals: np.ndarray | None = None
    """The rows with their whole counters (not increments)."""
    done: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """Per row: the flow ended (exported, or a TCP connection closed by FIN or RST) and this is the
    first observation that shows it: count completed connections here, once."""


class Detector(Protocol):
    """Observes flow batches and emits alerts; ``tick`` runs time-based checks."""

    name: str
    """Short name (scan, flood, ...), as in ``DetectConfig.detectors``.

    A detector may also set ``every_batch = True`` when its findings depend on how often it looks
    (beaconing scores the window as it stands at each batch): offline, it then sees every engine
    batch, while the others see groups of batches (:data:`~flowradar.detect.runner.DETECT_GROUP_ROWS`).
    """

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """Account one batch; return the alerts it completes."""
        ...

    def tick(self, now: float) -> list[Alert]:
        """Time-based checks at ``now`` (seconds since the epoch); expire old state."""
        ...


def first_sight(batch: FlowBatch) -> np.ndarray:
    """Per row: True when the flow is observed for the first time (always, offline)."""
    if isinstance(batch, LiveBatch) and len(batch.new) == len(batch.rows):
        return batch.new
    return np.ones(len(batch.rows), dtype=bool)


def increment_start(batch: FlowBatch) -> np.ndarray:
    """Per row: start of the counted increment in ns (the flow's first packet, offline)."""
    if isinstance(batch, LiveBatch) and len(batch.since) == len(batch.rows):
        return batch.since
    return np.asarray(batch.rows["first"], dtype=np.int64)


def cumulative(batch: FlowBatch) -> np.ndarray:
    """The batch's rows with whole counters (live batches otherwise carry increments)."""
    if isinstance(batch, LiveBatch) and batch.totals is not None:
        return batch.totals
    return batch.rows


def completed(batch: FlowBatch) -> np.ndarray:
    """Per row: a finished flow shown for the first time as finished (every row, offline).

    Live, a TCP connection counts as finished once it saw a FIN or a RST, long before the flow
    table exports it (at its idle timeout); it is reported so once.
    """
    if isinstance(batch, LiveBatch) and len(batch.done) == len(batch.rows):
        return batch.done
    return np.asarray(batch.rows["end_reason"] != ACTIVE)


def ended(batch: FlowBatch) -> np.ndarray:
    """Per row: True when the flow has ended (it is an export, not a snapshot)."""
    return np.asarray(batch.rows["end_reason"] != ACTIVE)


def batch_now(batch: FlowBatch) -> float:
    """Time of a batch: its observation time live, else its latest packet (seconds)."""
    if isinstance(batch, LiveBatch) and batch.now:
        return batch.now
    return float(batch.rows["last"].max()) / 1e9 if len(batch.rows) else 0.0
