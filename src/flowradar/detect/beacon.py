"""Beaconing: RITA v5 scoring per source and destination, and per source and server name.

Every answered connection that ended is one point (start time, bytes the client sent) of its pair:
(source, destination address) and, when the flow named its server (TLS SNI, HTTP Host), (source,
server name). Over a sliding window of ``beacon_window_s`` (24 hours, in 24 bins), a pair with at
least ``beacon_min_connections`` points is scored (see :mod:`flowradar.detect.beacon_score`) at most
once per bin. Severity from RITA's thresholds: low from 0.7 (``beacon_min_score``), medium from
0.9, high at 1.0. Pairs of two internal hosts are skipped unless ``beacon_internal_pairs``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from flowradar.detect import beacon_score
from flowradar.detect import rows as R
from flowradar.detect.base import batch_now, completed, cumulative
from flowradar.detect.settings import DetectConfig
from flowradar.engine.records import FlowBatch
from flowradar.model.alert import Alert, severity_rank

_DAY = 86400.0


@dataclass(slots=True)
class Series:
    """The points of one pair in the window."""

    src: str
    peer: str
    by_name: bool
    times: list[float] = field(default_factory=list)
    sizes: list[float] = field(default_factory=list)
    recent: list[np.void] = field(default_factory=list)
    """The latest rows (evidence)."""
    scored_at: float = float("-inf")
    dirty: bool = False


def severity_of(score: float) -> str:
    """RITA's beacon thresholds: high at 1.0, medium from 0.9, low below."""
    return "high" if score >= 1.0 else "medium" if score >= 0.9 else "low"


class BeaconDetector:
    """Collects connection times per pair and scores them with RITA v5's method."""

    name = "beacon"

    def __init__(self, cfg: DetectConfig, internal: R.Networks) -> None:
        """Window, thresholds and pair limit from ``cfg``."""
        self._cfg = cfg
        self._internal = internal
        self._pairs: OrderedDict[tuple[str, str], Series] = OrderedDict()
        self._bin = cfg.beacon_window_s / beacon_score.BINS
        self._alerted: dict[tuple[str, str], tuple[float, str]] = {}

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """Add the batch's answered, ended connections; score pairs that are due."""
        rows = cumulative(batch)
        if not len(rows):
            return []
        h = R.history(rows)
        answered = (rows["pkts"][:, 1] > 0) & np.isin(rows["proto"], (R.TCP, R.UDP))
        answered &= (rows["proto"] != R.TCP) | (R.has(h, "S") & R.has(h, "h"))
        idx = np.flatnonzero(completed(batch) & answered)
        sub = rows[idx]
        keep = ~R.MULTICAST.contains(sub["dst"], sub["ver"])
        if not self._cfg.beacon_internal_pairs:
            keep &= ~(
                self._internal.contains(sub["src"], sub["ver"])
                & self._internal.contains(sub["dst"], sub["ver"])
            )
        m = np.zeros(len(rows), dtype=bool)
        m[idx[keep]] = True
        for i in np.flatnonzero(m).tolist():
            self._add(rows[i], batch)
        return self._score_due(batch_now(batch))

    def _add(self, row: np.void, batch: FlowBatch) -> None:
        ver = int(row["ver"])
        src, dst = R.ip_text(bytes(row["src"]), ver), R.ip_text(bytes(row["dst"]), ver)
        t, size = int(row["first"]) / 1e9, float(row["bytes"][0])
        self._point((src, dst), False, t, size, row)
        facts = batch.facts.get(int(row["id"]))
        name = facts and (facts.tls_sni or facts.http_host)
        if name:
            self._point((src, name.lower()), True, t, size, row)

    def _point(self, key: tuple[str, str], by_name: bool, t: float, size: float, row: np.void) -> None:
        s = self._pairs.get(key)
        if s is None:
            s = self._pairs[key] = Series(key[0], key[1], by_name)
            if len(self._pairs) > self._cfg.beacon_max_pairs:
                self._pairs.popitem(last=False)
        else:
            self._pairs.move_to_end(key)
        s.times.append(t)
        s.sizes.append(size)
        s.recent = [*s.recent[-9:], row]
        s.dirty = True

    def _score_due(self, now: float) -> list[Alert]:
        out = []
        start = now - self._cfg.beacon_window_s
        for key, s in list(self._pairs.items()):
            if not s.dirty or now - s.scored_at < self._bin:
                continue
            keep = [i for i, t in enumerate(s.times) if t >= start]
            s.times, s.sizes = [s.times[i] for i in keep], [s.sizes[i] for i in keep]
            s.dirty = False
            if len(s.times) < self._cfg.beacon_min_connections:
                continue
            s.scored_at = now
            result = beacon_score.score(
                np.array(s.times), np.array(s.sizes), start, now, _DAY / self._cfg.beacon_window_s
            )
            if result.score >= self._cfg.beacon_min_score and self._due(key, now, severity_of(result.score)):
                out.append(self._alert(s, result))
        return out

    def _due(self, key: tuple[str, str], now: float, severity: str) -> bool:
        """Once per window, or again when the severity rose."""
        last = self._alerted.get(key)
        recent = last is not None and now - last[0] < self._cfg.beacon_window_s
        if recent and last is not None and severity_rank(severity) <= severity_rank(last[1]):
            return False
        self._alerted[key] = (now, severity)
        return True

    def _alert(self, s: Series, r: beacon_score.BeaconScore) -> Alert:
        what = "server name" if s.by_name else "address"
        return Alert(
            kind="beacon",
            type="sni" if s.by_name else "ip",
            severity=severity_of(r.score),
            score=round(r.score * 100),
            subject_ip=s.src,
            subject_host=s.peer if s.by_name else None,
            peer_ip=None if s.by_name else s.peer,
            identifier=f"beacon:{s.src}:{s.peer}",
            message=f"{s.src} beacons to {what} {s.peer}: score {r.score:.2f} "
            f"over {len(s.times)} connections",
            evidence=[R.uid_of(row) for row in s.recent],
            first_seen=s.times[0],
            last_seen=s.times[-1],
            trigger_ts=s.times[-1],
            raised_at=time.time(),
            details={
                "score": r.score,
                "timestamp_score": r.timestamp,
                "datasize_score": r.datasize,
                "histogram_score": r.histogram,
                "duration_score": r.duration,
                "connections": len(s.times),
                "window_s": self._cfg.beacon_window_s,
            },
        )

    def tick(self, now: float) -> list[Alert]:
        """Score pairs that are due at ``now``; forget old alerts."""
        self._alerted = {k: v for k, v in self._alerted.items() if now - v[0] < self._cfg.beacon_window_s}
        return self._score_due(now)
