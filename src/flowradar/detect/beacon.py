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
from collections import OrderedDict, deque
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
    recent: deque[R.UidKey] = field(default_factory=lambda: deque(maxlen=10))
    """The latest flows (evidence)."""
    scored_at: float = float("-inf")


def severity_of(score: float) -> str:
    """RITA's beacon thresholds: high at 1.0, medium from 0.9, low below."""
    return "high" if score >= 1.0 else "medium" if score >= 0.9 else "low"


class BeaconDetector:
    """Collects connection times per pair and scores them with RITA v5's method."""

    name = "beacon"
    every_batch = True
    """Scores the window as it stands at each batch: offline it sees every engine batch."""

    def __init__(self, cfg: DetectConfig, internal: R.Networks) -> None:
        """Window, thresholds and pair limit from ``cfg``."""
        self._cfg = cfg
        self._internal = internal
        self._pairs: OrderedDict[tuple[str, str], Series] = OrderedDict()
        self._bin = cfg.beacon_window_s / beacon_score.BINS
        self._alerted: dict[tuple[str, str], tuple[float, str]] = {}
        self._dirty: dict[tuple[str, str], None] = {}
        """Pairs with points not scored yet, in the order they got them."""
        self._texts: dict[tuple[bytes, int], str] = {}

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
        self._add(rows, np.sort(idx[keep]), batch)
        return self._score_due(batch_now(batch))

    def _add(self, rows: np.ndarray, idx: np.ndarray, batch: FlowBatch) -> None:
        """One point per selected row, to its address pair and (when named) its server-name pair."""
        sub = rows[idx]
        srcs, dsts = self._text(sub["src"], sub["ver"]), self._text(sub["dst"], sub["ver"])
        times = (sub["first"] / 1e9).tolist()
        sizes = sub["bytes"][:, 0].astype(np.float64).tolist()
        facts = batch.facts
        for i, key in enumerate(R.uid_keys(sub)):
            self._point((srcs[i], dsts[i]), False, times[i], sizes[i], key)
            f = facts.get(key[0])
            name = f and (f.tls_sni or f.http_host)
            if name:
                self._point((srcs[i], name.lower()), True, times[i], sizes[i], key)

    def _text(self, addr: np.ndarray, ver: np.ndarray) -> list[str]:
        """Text of each address of a column (memoised: a few hosts make most pairs)."""
        memo = self._texts
        if len(memo) > 4 * self._cfg.beacon_max_pairs:
            memo.clear()
        out = []
        for raw, v in zip(np.ascontiguousarray(addr).view("S16").tolist(), ver.tolist(), strict=True):
            text = memo.get((raw, v))
            if text is None:
                text = memo[(raw, v)] = R.ip_text(raw.ljust(16, b"\0"), v)
            out.append(text)
        return out

    def _point(self, key: tuple[str, str], by_name: bool, t: float, size: float, flow: R.UidKey) -> None:
        s = self._pairs.get(key)
        if s is None:
            s = self._pairs[key] = Series(key[0], key[1], by_name)
            if len(self._pairs) > self._cfg.beacon_max_pairs:
                self._dirty.pop(self._pairs.popitem(last=False)[0], None)
        else:
            self._pairs.move_to_end(key)
        s.times.append(t)
        s.sizes.append(size)
        s.recent.append(flow)
        self._dirty[key] = None

    def _score_due(self, now: float) -> list[Alert]:
        out = []
        start = now - self._cfg.beacon_window_s
        for key in [k for k in self._dirty if now - self._pairs[k].scored_at >= self._bin]:
            del self._dirty[key]
            s = self._pairs[key]
            if min(s.times) < start:
                keep = [i for i, t in enumerate(s.times) if t >= start]
                s.times, s.sizes = [s.times[i] for i in keep], [s.sizes[i] for i in keep]
            if len(s.times) < self._cfg.beacon_min_connections:
                continue
            s.scored_at = now
            result = beacon_score.score_lists(s.times, s.sizes, start, now, _DAY / self._cfg.beacon_window_s)
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
            evidence=[R.uid_from(k) for k in s.recent],
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
