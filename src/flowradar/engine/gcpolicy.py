"""Cyclic garbage collection tuned for the engine's bulk work.

The engine allocates many short-lived containers (flow records, L7 facts, lists of names) that are
freed by reference counting, never by the cycle collector. With CPython's default young-generation
threshold (700 allocations) the collector runs thousands of times over one capture and walks the
live objects each time: about 15 % of the CPU of ``flowradar analyze`` on the benchmark capture.
:func:`bulk_gc` moves what exists at start (modules, tables, configuration) out of the collector's
sight and lets the young generation grow before a collection, then restores the previous settings.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BULK_YOUNG_THRESHOLD = 50_000
"""Allocations of container objects, net of frees, between two young-generation collections."""


@contextmanager
def bulk_gc(young: int = BULK_YOUNG_THRESHOLD) -> Iterator[None]:
    """Within the block: objects alive at entry are frozen, collections are rarer; restored after."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(young, before[0]), before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
