"""The batch side of the Enricher seam, and the bounded lookup cache every enricher here owns.

:class:`flowradar.enrich.base.Enricher` enriches one record at a time. The enrichers of this
package also take a whole batch (:meth:`BatchEnricher.enrich_many`), which lets them look up each
distinct address or name once per batch, and report their cache through :meth:`cache_info`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

from flowradar.model.flow import FlowRecord

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """Counters of one bounded cache."""

    size: int
    max_size: int
    hits: int
    misses: int
    evicted: int


class Lru(Generic[K, V]):
    """A least-recently-used mapping of at most ``max_size`` entries, with hit/miss counters."""

    __slots__ = ("_data", "_max", "evicted", "hits", "misses")

    def __init__(self, max_size: int) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._max = max(1, max_size)
        self.hits = 0
        self.misses = 0
        self.evicted = 0

    def get(self, key: K) -> V | None:
        """The cached value (and it becomes the most recent), or None."""
        try:
            value = self._data[key]
        except KeyError:
            self.misses += 1
            return None
        self.hits += 1
        self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Store a value; the least recently used entry goes when the cache is full."""
        data = self._data
        data[key] = value
        data.move_to_end(key)
        if len(data) > self._max:
            data.popitem(last=False)
            self.evicted += 1

    def pop(self, key: K) -> V | None:
        """Remove and return an entry."""
        return self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def info(self) -> CacheInfo:
        """Size and counters."""
        return CacheInfo(len(self._data), self._max, self.hits, self.misses, self.evicted)


@runtime_checkable
class BatchEnricher(Protocol):
    """An :class:`~flowradar.enrich.base.Enricher` that also enriches a batch at once."""

    name: str

    def enrich(self, record: FlowRecord) -> bool:
        """Enrich one record; True when something was added."""
        ...

    def enrich_many(self, records: list[FlowRecord]) -> None:
        """Enrich every record of a batch (same result as :meth:`enrich` on each)."""
        ...

    def cache_info(self) -> CacheInfo:
        """The enricher's bounded lookup cache."""
        ...

    def close(self) -> None:
        """Release files and resources."""
        ...
