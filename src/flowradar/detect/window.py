"""Windowed counters shared by the detectors, in bulk over numpy columns.

- :class:`WindowedSum` sums amounts per key over a sliding time window (packets to a victim, login
  attempts to a service). Amounts are kept per time bucket (one second by default); an amount that
  covers a span of time (a flow's packets between two observations) is spread evenly over it.
- :class:`WindowedDistinct` counts distinct items per key over a sliding window (the (host, port)
  targets of a scanner, the subdomains a client asked under one domain).

Keys and items are 64-bit hashes (see :mod:`flowradar.detect.rows`). Nothing loops over rows in
Python: the work per batch is a few sorts and searches over the touched keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_U8 = np.uint64


@dataclass(slots=True)
class Crossing:
    """Keys whose windowed value reached a threshold in the latest update."""

    keys: np.ndarray
    """The keys (uint64), in ascending order."""
    values: np.ndarray
    """Their windowed value (sum or distinct count) after the update."""
    times: np.ndarray
    """When each reached the threshold (seconds): the time of the item or bucket that did it."""


def _empty(dtype: type) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


class WindowedSum:
    """Sum of amounts per key over a sliding window of ``window_s`` seconds."""

    def __init__(self, window_s: float, resolution_s: float = 1.0, retention_s: float | None = None) -> None:
        """Buckets of ``resolution_s`` (at most 600 per window); entries older than ``retention_s``
        (default three windows) behind the newest bucket are dropped."""
        self.window_s = float(window_s)
        self._n = int(min(600, max(1, np.ceil(self.window_s / max(resolution_s, 1e-3)))))
        self._width = self.window_s / self._n
        self._retention = int(np.ceil((retention_s or 3 * self.window_s) / self._width))
        self._key, self._bucket, self._amount = _empty(_U8), _empty(np.int64), _empty(np.float64)
        self._compacted = 0
        self._newest = np.iinfo(np.int64).min

    def __len__(self) -> int:
        return len(self._key)

    def add(self, keys: np.ndarray, start: np.ndarray, end: np.ndarray, amounts: np.ndarray) -> np.ndarray:
        """Add ``amounts`` spread over [start, end] (seconds) per key; return the touched keys."""
        if not len(keys):
            return _empty(_U8)
        b1 = np.floor(np.asarray(end, dtype=np.float64) / self._width).astype(np.int64)
        b0 = np.minimum(np.floor(np.asarray(start, dtype=np.float64) / self._width).astype(np.int64), b1)
        full = b1 - b0 + 1
        span = np.minimum(full, self._n)  # a long span contributes its rate to the last window only
        share = np.asarray(amounts, dtype=np.float64) / full
        b0 = b1 - span + 1
        idx = np.repeat(np.arange(len(keys)), span)
        offset = np.arange(len(idx)) - np.repeat(np.cumsum(span) - span, span)
        self._key = np.concatenate([self._key, np.asarray(keys, dtype=_U8)[idx]])
        self._bucket = np.concatenate([self._bucket, b0[idx] + offset])
        self._amount = np.concatenate([self._amount, share[idx]])
        self._newest = max(self._newest, int(b1.max()))
        if len(self._key) > 2 * self._compacted + 4096:
            self._compact()
        return np.unique(np.asarray(keys, dtype=_U8))

    def crossing(self, keys: np.ndarray, threshold: float) -> Crossing:
        """Among ``keys``, those whose largest window sum is at least ``threshold``, and when."""
        keys = np.asarray(keys, dtype=_U8)
        best, when = self.peak(keys, threshold)
        hit = best >= threshold
        return Crossing(keys[hit], best[hit], when[hit])

    def peak(self, keys: np.ndarray, threshold: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Per key: the largest sum over any window, and when the sum first reached ``threshold``."""
        keys = np.asarray(keys, dtype=_U8)
        best = np.zeros(len(keys))
        when = np.full(len(keys), np.nan)
        if not len(keys) or not len(self._key):
            return best, when
        sel = np.isin(self._key, keys)
        k, b, a = self._key[sel], self._bucket[sel], self._amount[sel]
        rank = np.searchsorted(keys, k) if np.all(keys[:-1] <= keys[1:]) else None
        if rank is None:
            order_keys = np.argsort(keys)
            rank = order_keys[np.searchsorted(keys[order_keys], k)]
        base = int(b.min())
        comp = rank.astype(np.int64) * (1 << 40) + (b - base)
        uc, inv = np.unique(comp, return_inverse=True)
        sums = np.bincount(inv.ravel(), weights=a)
        cs = np.concatenate([[0.0], np.cumsum(sums)])
        own = np.searchsorted(uc, (uc >> 40) << 40, side="left")  # first entry of the same key
        lo = np.maximum(np.searchsorted(uc, uc - self._n + 1, side="left"), own)
        window = cs[1:] - cs[lo]
        owner = (uc >> 40).astype(np.int64)
        np.maximum.at(best, owner, window)
        reached = window >= threshold
        if reached.any():
            first = np.full(len(keys), np.iinfo(np.int64).max)
            np.minimum.at(first, owner[reached], (uc[reached] & ((1 << 40) - 1)))
            ok = first != np.iinfo(np.int64).max
            when[ok] = (first[ok] + base) * self._width  # start of the bucket: never late
        return best, when

    def expire(self, now: float) -> None:
        """Drop buckets older than the retention before ``now`` (seconds)."""
        self._newest = max(self._newest, int(np.floor(now / self._width)))
        self._compact()

    def _compact(self) -> None:
        keep = self._bucket > self._newest - self._retention
        k, b, a = self._key[keep], self._bucket[keep], self._amount[keep]
        if len(k):
            rec = np.zeros(len(k), dtype=[("k", "<u8"), ("b", "<i8")])
            rec["k"], rec["b"] = k, b
            uniq, inv = np.unique(rec, return_inverse=True)
            self._key, self._bucket = uniq["k"].copy(), uniq["b"].copy()
            self._amount = np.bincount(inv.ravel(), weights=a)
        else:
            self._key, self._bucket, self._amount = k, b, a
        self._compacted = len(self._key)


class WindowedDistinct:
    """Distinct items per key over a sliding window of ``window_s`` seconds.

    An item is two integer attributes (a, b), e.g. a target's host hash and port; they are kept so that
    :meth:`describe` can tell how many distinct a and b a key has.
    """

    def __init__(self, window_s: float, max_items: int = 4_000_000) -> None:
        """Items older than the window (behind the newest time seen) are dropped; at most ``max_items``."""
        self.window_s = float(window_s)
        self._max = max_items
        self._pair, self._key = _empty(_U8), _empty(_U8)
        self._a, self._b, self._ts = _empty(_U8), _empty(_U8), _empty(np.float64)
        self._ckeys, self._counts = _empty(_U8), _empty(np.int64)
        self._newest = -np.inf
        self._expired_at = -np.inf
        self._last_new: tuple[np.ndarray, np.ndarray] = (_empty(_U8), _empty(np.float64))

    def __len__(self) -> int:
        return len(self._pair)

    def add(self, keys: np.ndarray, a: np.ndarray, b: np.ndarray, ts: np.ndarray) -> Crossing:
        """Add items; return every key whose count grew (values: count after, times: unset)."""
        from flowradar.detect.rows import mix

        if not len(keys):
            return Crossing(_empty(_U8), _empty(np.int64), _empty(np.float64))
        keys, a, b = (np.asarray(x).astype(_U8) for x in (keys, a, b))
        ts = np.asarray(ts, dtype=np.float64)
        self._newest = max(self._newest, float(ts.max()))
        fresh = ts >= self._newest - self.window_s
        pair = mix(keys, a, b)[fresh]
        keys, a, b, ts = keys[fresh], a[fresh], b[fresh], ts[fresh]
        pair, first = np.unique(pair, return_index=True)
        keys, a, b, ts = keys[first], a[first], b[first], ts[first]
        pos = np.searchsorted(self._pair, pair)
        found = np.zeros(len(pair), dtype=bool)
        inside = pos < len(self._pair)
        found[inside] = self._pair[pos[inside]] == pair[inside]
        self._ts[pos[found]] = np.maximum(self._ts[pos[found]], ts[found])
        new = ~found
        at = pos[new]
        self._pair = np.insert(self._pair, at, pair[new])
        self._key = np.insert(self._key, at, keys[new])
        self._a = np.insert(self._a, at, a[new])
        self._b = np.insert(self._b, at, b[new])
        self._ts = np.insert(self._ts, at, ts[new])
        self._last_new = (keys[new], ts[new])
        touched = self._count(keys[new])
        if len(self._pair) > self._max or self._newest - self._expired_at > self.window_s / 10:
            self.expire(self._newest)
        return touched

    def _count(self, new_keys: np.ndarray) -> Crossing:
        uk, n = np.unique(new_keys, return_counts=True)
        pos = np.searchsorted(self._ckeys, uk)
        found = np.zeros(len(uk), dtype=bool)
        inside = pos < len(self._ckeys)
        found[inside] = self._ckeys[pos[inside]] == uk[inside]
        self._counts[pos[found]] += n[found]
        self._ckeys = np.insert(self._ckeys, pos[~found], uk[~found])
        self._counts = np.insert(self._counts, pos[~found], n[~found])
        return Crossing(uk, self.counts(uk), np.full(len(uk), np.nan))

    def counts(self, keys: np.ndarray) -> np.ndarray:
        """Current distinct-item count per key (0 for an unknown key)."""
        keys = np.asarray(keys, dtype=_U8)
        pos = np.minimum(np.searchsorted(self._ckeys, keys), max(len(self._ckeys) - 1, 0))
        if not len(self._ckeys):
            return np.zeros(len(keys), dtype=np.int64)
        return np.where(self._ckeys[pos] == keys, self._counts[pos], 0)

    def crossing(self, update: Crossing, thresholds: np.ndarray | int) -> Crossing:
        """The keys of an :meth:`add` result that reached their threshold in that add, and when."""
        thr = np.broadcast_to(np.asarray(thresholds, dtype=np.int64), update.keys.shape)
        nk, nt = self._last_new
        order = np.lexsort((nt, nk))
        sk, st = nk[order], nt[order]
        start = np.searchsorted(sk, update.keys, side="left")
        before = update.values - (np.searchsorted(sk, update.keys, side="right") - start)
        hit = (update.values >= thr) & (before < thr)
        keys, need = update.keys[hit], (thr - before)[hit]
        first = start[hit]
        times = st[np.minimum(first + need - 1, len(st) - 1)] if len(st) else np.zeros(len(keys))
        return Crossing(keys, update.values[hit], times)

    def describe(self, key: int) -> tuple[int, int, float, float]:
        """Distinct a, distinct b, first and last time of one key's items in the window."""
        sel = self._key == _U8(key)
        if not sel.any():
            return 0, 0, 0.0, 0.0
        ts = self._ts[sel]
        return len(np.unique(self._a[sel])), len(np.unique(self._b[sel])), float(ts.min()), float(ts.max())

    def expire(self, now: float) -> None:
        """Drop items older than the window before ``now`` (or the oldest past ``max_items``)."""
        self._newest = max(self._newest, now)
        self._expired_at = self._newest
        keep = self._ts >= self._newest - self.window_s
        if len(self._pair) and keep.sum() > self._max:
            keep &= self._ts >= np.sort(self._ts)[len(self._ts) - self._max]
        if keep.all():
            return
        self._pair, self._key, self._a, self._b, self._ts = (
            x[keep] for x in (self._pair, self._key, self._a, self._b, self._ts)
        )
        self._ckeys, counts = np.unique(self._key, return_counts=True)
        self._counts = counts.astype(np.int64)
