"""RITA v5 beacon scoring, as pure functions over one pair's connection times and sizes.

score = mean of four sub-scores in [0, 1] (RITA's default weights, 0.25 each):

- timestamp score: intervals between unique connection times (whole seconds); mean of the Bowley
  skewness score 1 - |(Q1 + Q3 - 2 Q2) / (Q3 - Q1)| (skew counted only when Q3 - Q1 >= 10 and the
  median differs from both quartiles) and the MAD score (median - MAD) / median (1 when median < 1);
- data size score: the same over the bytes of each connection (MAD score 0 when the median < 1);
- histogram score: connections in 24 bins over the window; the larger of the coefficient-of-variation
  score 1 - sd/mean and the bimodal fit (share of bars in the two most common bar heights, bars
  grouped by 5 % of the tallest, one outlier dropped, from 11 bars on);
- duration score: from 6 bars on, the larger of coverage (span of the connections over the window)
  and consistency (longest run of consecutive bars, wrapping, over 12).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

BINS = 24
MODE_SENSITIVITY = 0.05
OUTLIER_REMOVAL = 1
BIMODAL_MIN_BARS = 11
DURATION_MIN_BARS = 6
IDEAL_CONSISTENT_BARS = 12
FAST_MAX_POINTS = 2000
"""Pairs up to this many points are scored in pure Python (numpy's per-call cost dominates below)."""
_EDGE_RATIO = 2.0**40  # |start|, |end| up to this many windows: bins by bisection are numpy's bins
_INT_EXACT = 2.0**52  # whole seconds below this: integer intervals equal numpy's float intervals


@dataclass(frozen=True, slots=True)
class BeaconScore:
    """The overall score and its four parts."""

    score: float
    timestamp: float
    datasize: float
    histogram: float
    duration: float


def _median(x: np.ndarray) -> float:
    """Median as numpy computes it (mean of the two middle values), without numpy's per-call cost."""
    n = len(x)
    if not n:
        return 0.0
    v = sorted(x.tolist())
    m = n // 2
    return float(v[m]) if n % 2 else (v[m - 1] + v[m]) / 2


def quartiles(data: np.ndarray) -> tuple[float, float, float]:
    """Q1, Q2, Q3 as RITA computes them (medians of the lower and upper halves, median excluded)."""
    x = np.sort(np.asarray(data, dtype=np.float64))
    n = len(x)
    c1, c2 = (n // 2, n // 2) if n % 2 == 0 else ((n - 1) // 2, (n - 1) // 2 + 1)
    return _median(x[:c1]), _median(x), _median(x[c2:])


def bowley_score(data: np.ndarray) -> float:
    """1 - |Bowley skewness| (skewness 0 when the spread is under 10 or the median hits a quartile)."""
    q1, q2, q3 = quartiles(data)
    den = q3 - q1
    skew = (q1 + q3 - 2 * q2) / den if den >= 10 and q2 != q1 and q2 != q3 else 0.0
    return 1.0 - abs(skew)


def mad_score(data: np.ndarray, default: float) -> float:
    """(median - MAD) / median, floored at 0; ``default`` when the median is under 1."""
    x = np.asarray(data, dtype=np.float64)
    med = _median(x)
    mad = _median(np.abs(x - med))
    score = default if med < 1 else (med - mad) / med
    return 0.0 if score < 0 or math.isnan(score) else score


def statistical_score(data: np.ndarray, default_mad: float) -> float:
    """Mean of the Bowley and MAD scores, rounded to 3 decimals."""
    return round((bowley_score(data) + mad_score(data, default_mad)) / 2, 3)


def timestamp_score(times: np.ndarray) -> float:
    """Score of the intervals between unique whole-second connection times (0 under 3 intervals)."""
    t = np.floor(np.asarray(times, dtype=np.float64))
    if len(t) > 1 and bool((t[1:] < t[:-1]).any()):
        t.sort()
    deltas = np.diff(t)
    deltas = deltas[deltas != 0]  # intervals between unique times
    return statistical_score(deltas, 1.0) if len(deltas) >= 3 else 0.0


def datasize_score(sizes: np.ndarray) -> float:
    """Score of the connection sizes (0 under 3 connections)."""
    return statistical_score(np.asarray(sizes, dtype=np.float64), 0.0) if len(sizes) >= 3 else 0.0


def histogram(times: np.ndarray, start: float, end: float, bins: int = BINS) -> np.ndarray:
    """Connections per bin over [start, end] (the last edge is inclusive).

    The counts of ``np.histogram(np.clip(times, start, end), bins, (start, end))``, computed the way
    numpy does for equal bins (index from the scaled offset, then corrected against the edges)
    without its per-call setup.
    """
    t = np.clip(np.asarray(times, dtype=np.float64), start, end)
    if end <= start:
        return np.histogram(t, bins=bins, range=(start, end))[0]
    edges = np.linspace(start, end, bins + 1)
    idx = ((t - start) / (end - start) * bins).astype(np.intp)
    idx[idx == bins] -= 1
    idx[t < edges[idx]] -= 1
    idx[(t >= edges[idx + 1]) & (idx != bins - 1)] += 1
    return np.bincount(idx, minlength=bins)


def _bars(hist: np.ndarray) -> tuple[Counter[int], int, int]:
    """Bar-height frequencies (grouped), bars seen, and the longest run of bars (wrapping)."""
    return _bars_of(hist.tolist())


def _bars_of(heights: list[int]) -> tuple[Counter[int], int, int]:
    size = math.ceil(max(heights) * MODE_SENSITIVITY) or 1
    freq: Counter[int] = Counter(h // size * size for h in heights if h > 0)
    longest = run = 0
    for h in heights + heights:
        run = run + 1 if h > 0 else 0
        longest = longest if run < longest else run
    return freq, sum(freq.values()), min(longest, len(heights))


def histogram_score(hist: np.ndarray, bars: tuple[Counter[int], int, int] | None = None) -> float:
    """max(coefficient-of-variation score, bimodal fit score) of a connection histogram."""
    if hist.sum() <= 0:
        return 0.0
    mean = float(hist.mean())
    cv = float(hist.std()) / mean
    cv_score = 0.0 if cv > 1 else round(1 - cv, 3)
    freq, total, _ = bars or _bars(hist)
    fit = 0.0
    if total >= BIMODAL_MIN_BARS:
        top = sorted(freq.values(), reverse=True)[:2]
        fit = sum(top) / max(total - OUTLIER_REMOVAL, 1)
    return min(1.0, max(cv_score, round(fit, 3)))


def duration_score(
    hist: np.ndarray,
    first: float,
    last: float,
    start: float,
    end: float,
    bars: tuple[Counter[int], int, int] | None = None,
) -> float:
    """max(coverage, consistency) once the histogram has ``DURATION_MIN_BARS`` bars, else 0."""
    _, total, longest = bars or _bars(hist)
    if total < DURATION_MIN_BARS or end <= start:
        return 0.0
    coverage = min(1.0, math.ceil((last - first) / (end - start) * 1000) / 1000)
    consistency = min(1.0, math.ceil(longest / IDEAL_CONSISTENT_BARS * 1000) / 1000)
    return max(coverage, consistency)


def score(times: np.ndarray, sizes: np.ndarray, start: float, end: float, scale: float = 1.0) -> BeaconScore:
    """Score one pair over the window [start, end]; ``scale`` stretches compressed time to real seconds."""
    if (
        len(times) <= FAST_MAX_POINTS
        and float(start) == start
        and float(end) == end
        and float(scale) == scale
    ):
        t = np.asarray(times, dtype=np.float64).tolist()
        s = np.asarray(sizes, dtype=np.float64).tolist()
        fast = _score_py(t, s, float(start), float(end), float(scale))
        if fast is not None:
            return fast
    return _score_numpy(times, sizes, start, end, scale)


def score_lists(
    times: list[float], sizes: list[float], start: float, end: float, scale: float = 1.0
) -> BeaconScore:
    """:func:`score` over lists of floats (no arrays built for the usual small pair)."""
    if len(times) <= FAST_MAX_POINTS:
        fast = _score_py(times, sizes, float(start), float(end), float(scale))
        if fast is not None:
            return fast
    return _score_numpy(
        np.array(times, dtype=np.float64), np.array(sizes, dtype=np.float64), start, end, scale
    )


def _score_numpy(times: np.ndarray, sizes: np.ndarray, start: float, end: float, scale: float) -> BeaconScore:
    """The vectorised scoring (the reference the pure-Python path reproduces bit for bit)."""
    t = np.sort(np.asarray(times, dtype=np.float64))
    hist = histogram(t, start, end)
    bars = _bars(hist) if len(t) else None
    ts = timestamp_score((t - start) * scale)
    ds = datasize_score(sizes)
    hs = histogram_score(hist, bars)
    dur = duration_score(hist, float(t[0]), float(t[-1]), start, end, bars) if len(t) else 0.0
    return BeaconScore(round((ts + ds + hs + dur) / 4, 3), ts, ds, hs, dur)


def _med(v: Sequence[float]) -> float:
    """Median of a sorted list, as :func:`_median`."""
    n = len(v)
    if not n:
        return 0.0
    m = n // 2
    return float(v[m]) if n % 2 else (v[m - 1] + v[m]) / 2


def _stat_py(v: Sequence[float], default_mad: float) -> float:
    """:func:`statistical_score` of a sorted list of at least 3 values, with the same float operations."""
    n = len(v)
    h = n // 2
    q1, q2, q3 = _med(v[:h]), _med(v), _med(v[h + n % 2 :])
    den = q3 - q1
    skew = (q1 + q3 - 2 * q2) / den if den >= 10 and q2 != q1 and q2 != q3 else 0.0
    mad = _med(sorted([abs(x - q2) for x in v]))
    m = default_mad if q2 < 1 else (q2 - mad) / q2
    m = 0.0 if m < 0 or math.isnan(m) else m
    return round((1.0 - abs(skew) + m) / 2, 3)


def _score_py(
    times: list[float], sizes: list[float], start: float, end: float, scale: float
) -> BeaconScore | None:
    """:func:`_score_numpy` in plain Python for finite input in an ordinary window, else None.

    Every float is computed by the same IEEE operations as the vectorised code. Bins: with the window
    normal and |start|, |end| under 2**40 windows, numpy's index estimate is within a bin of the bin
    bounded by its edges, so its one-step correction lands on exactly that bin and counting the sorted
    times below each edge gives the same histogram. Intervals: whole seconds under 2**52 subtract
    exactly as integers. The histogram's standard deviation sums the 24 squared deviations in numpy's
    pairwise order (eight running sums of elements j, j + 8, j + 16, then a tree).
    """
    delta = end - start
    t = sorted(times)
    n = len(t)
    if not (
        math.isfinite(sum(t) + sum(sizes) + start + end + scale)
        and 1e-280 <= delta <= 1e300
        and max(start, -start, end, -end) <= delta * _EDGE_RATIO
    ):
        return None
    step = delta / BINS
    hist = []
    below = 0
    for i in range(1, BINS):
        c = bisect_left(t, i * step + start)
        hist.append(c - below)
        below = c
    hist.append(n - below)
    ts = ds = hs = dur = 0.0
    if n:
        fl = math.floor
        secs = [fl((x - start) * scale) for x in t]
        if scale < 0:
            secs.reverse()
        if max(-secs[0], secs[-1]) >= _INT_EXACT:
            return None
        deltas = [b - a for a, b in pairwise(secs) if b != a]
        if len(deltas) >= 3:
            deltas.sort()
            ts = _stat_py(deltas, 1.0)
        mean = n / BINS
        sq = [(c - mean) * (c - mean) for c in hist]
        r = [(sq[j] + sq[j + 8]) + sq[j + 16] for j in range(8)]
        std = math.sqrt((((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))) / BINS)
        cv = std / mean
        cv_score = 0.0 if cv > 1 else round(1 - cv, 3)
        zeros = [i for i, c in enumerate(hist) if not c]
        total = BINS - len(zeros)
        fit = 0.0
        if total >= BIMODAL_MIN_BARS:
            size = math.ceil(max(hist) * MODE_SENSITIVITY) or 1
            top = sorted(Counter([c // size * size for c in hist if c]).values(), reverse=True)[:2]
            fit = sum(top) / max(total - OUTLIER_REMOVAL, 1)
        hs = min(1.0, max(cv_score, round(fit, 3)))
        if total >= DURATION_MIN_BARS:
            coverage = min(1.0, math.ceil((t[-1] - t[0]) / (end - start) * 1000) / 1000)
            longest = max([b - a - 1 for a, b in pairwise(zeros)], default=0) if zeros else BINS
            longest = max(longest, zeros[0] + BINS - zeros[-1] - 1) if zeros else longest
            dur = max(coverage, min(1.0, math.ceil(longest / IDEAL_CONSISTENT_BARS * 1000) / 1000))
    if len(sizes) >= 3:
        ds = _stat_py(sorted(sizes), 0.0)
    return BeaconScore(round((ts + ds + hs + dur) / 4, 3), ts, ds, hs, dur)
