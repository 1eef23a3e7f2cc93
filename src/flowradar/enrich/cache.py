"""A bounded least-recently-used cache whose entries also expire after a time to live."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlLru(Generic[K, V]):
    """At most ``max_size`` entries; an entry not written for ``ttl_s`` seconds is gone."""

    def __init__(self, max_size: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max(1, max_size)
        self._ttl = ttl_s
        self._clock = clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self.evicted = 0
        """Entries dropped because the cache was full."""
        self.hits = 0
        self.misses = 0

    def put(self, key: K, value: V) -> None:
        """Insert or refresh an entry (it becomes the most recent)."""
        self._data[key] = (self._clock(), value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)
            self.evicted += 1

    def get(self, key: K) -> V | None:
        """The value, unless absent or expired."""
        hit = self._data.get(key)
        if hit is not None and self._clock() - hit[0] > self._ttl:
            del self._data[key]
            hit = None
        if hit is None:
            self.misses += 1
            return None
        self.hits += 1
        return hit[1]

    def expire(self) -> int:
        """Drop expired entries (oldest first); returns how many."""
        limit, dropped = self._clock() - self._ttl, 0
        while self._data:
            key, (stamp, _) = next(iter(self._data.items()))
            if stamp >= limit:
                break
            del self._data[key]
            dropped += 1
        return dropped

    def __len__(self) -> int:
        return len(self._data)

    @property
    def max_size(self) -> int:
        """Capacity."""
        return self._max
