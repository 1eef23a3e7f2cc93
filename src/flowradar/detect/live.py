"""Live observation of still-active flows: snapshots of the flow table turned into increments.

A scan's probes or a flood's packets sit in the flow table until their flows time out (two minutes
by default). Live, the runner therefore also looks at a snapshot of the active flows about once a
second. :class:`ActiveFlows` remembers what was already counted of each flow, so that a flow seen in
several snapshots and then exported is counted once: every row handed on carries only its increment.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowradar.detect.base import ACTIVE, LiveBatch
from flowradar.engine.records import FlowBatch
from flowradar.model.flow import L7Facts

_COUNTERS = ("pkts", "bytes", "payload")
_CLOSED = (3, 4)
"""Flow-table states of a TCP connection that saw a FIN or a RST (ST_FIN, ST_RST in _fastpath.c)."""


class ActiveFlows:
    """What was counted so far of each flow seen active (by flow id)."""

    def __init__(self) -> None:
        self._ids = np.zeros(0, dtype=np.uint64)
        self._seen = np.zeros((0, 6), dtype=np.uint64)
        self._last = np.zeros(0, dtype=np.int64)
        self._closed = np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        return len(self._ids)

    def snapshot(
        self, rows: np.ndarray, now: float, peek: Callable[[int], L7Facts | None] | None = None
    ) -> LiveBatch:
        """Increments of the active flows in a table snapshot (marked ``end_reason`` ACTIVE)."""
        batch = self._delta(rows, now, keep=True)
        batch.rows["end_reason"] = ACTIVE
        if batch.totals is not None:
            batch.totals["end_reason"] = ACTIVE
        if peek is not None:
            batch.facts = {fid: f for fid in batch.rows["id"].tolist() if (f := peek(fid)) is not None}
        return batch

    def exported(self, batch: FlowBatch, now: float) -> LiveBatch:
        """Increments of exported flows (which are then forgotten)."""
        out = self._delta(batch.rows, now, keep=False)
        out.facts = batch.facts
        return out

    def _delta(self, original: np.ndarray, now: float, keep: bool) -> LiveBatch:
        rows = original.copy()
        ids = rows["id"]
        pos = np.searchsorted(self._ids, ids)
        found = np.zeros(len(ids), dtype=bool)
        inside = pos < len(self._ids)
        found[inside] = self._ids[pos[inside]] == ids[inside]
        current = np.concatenate([rows[c] for c in _COUNTERS], axis=1).astype(np.uint64)
        before = np.zeros_like(current)
        before[found] = self._seen[pos[found]]
        delta = np.where(current >= before, current - before, 0)
        for i, c in enumerate(_COUNTERS):
            rows[c] = delta[:, 2 * i : 2 * i + 2]
        since = np.asarray(rows["first"], dtype=np.int64).copy()
        since[found] = self._last[pos[found]]
        was_closed = np.zeros(len(ids), dtype=bool)
        was_closed[found] = self._closed[pos[found]]
        closed = (
            (rows["proto"] == 6) & np.isin(rows["state"], _CLOSED) if keep else np.ones(len(ids), dtype=bool)
        )
        if keep:
            self._remember(ids, pos, found, current, np.asarray(rows["last"], dtype=np.int64), closed)
        else:
            self._forget(pos[found])
        totals = original.copy() if keep else original
        done = closed & ~was_closed
        return LiveBatch(rows=rows, new=~found, since=since, now=now, totals=totals, done=done)

    def _remember(
        self,
        ids: np.ndarray,
        pos: np.ndarray,
        found: np.ndarray,
        current: np.ndarray,
        last: np.ndarray,
        closed: np.ndarray,
    ) -> None:
        self._seen[pos[found]] = current[found]
        self._last[pos[found]] = last[found]
        self._closed[pos[found]] = closed[found]
        new = ~found
        order = np.argsort(ids[new], kind="stable")
        at = pos[new][order]
        self._ids = np.insert(self._ids, at, ids[new][order])
        self._seen = np.insert(self._seen, at, current[new][order], axis=0)
        self._last = np.insert(self._last, at, last[new][order])
        self._closed = np.insert(self._closed, at, closed[new][order])

    def _forget(self, positions: np.ndarray) -> None:
        if len(positions):
            keep = np.ones(len(self._ids), dtype=bool)
            keep[positions] = False
            self._keep(keep)

    def _keep(self, keep: np.ndarray) -> None:
        self._ids, self._seen = self._ids[keep], self._seen[keep]
        self._last, self._closed = self._last[keep], self._closed[keep]

    def prune(self, active_ids: np.ndarray) -> None:
        """Forget flows no longer in the table (evicted or exported unseen)."""
        self._keep(np.isin(self._ids, active_ids))
