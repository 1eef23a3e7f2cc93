"""What the tracer saw, kept for a while: connection events by 5-tuple and program starts by pid.

A flow is matched to the latest event of its tuple that is not later than the flow's first packet
(plus a small slack for clock conversion): the connect() of the flow itself, not a later reuse of
the same tuple, nor a reply the kernel sent for it in another process's context.
"""

from __future__ import annotations

import os
import time
from collections.abc import Hashable
from pathlib import Path
from typing import TypeVar

from flowradar.capture.sockets_owners import ProcessCache
from flowradar.enrich.cache import TtlLru
from flowradar.enrich.process_trace import ExecInfo, TraceOwner, TupleKey

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
EVENTS_PER_TUPLE = 4
EXECS_PER_PID = 4
SLACK_S = 0.5
"""An event may appear this much after the flow's first packet (clock conversion, batching)."""


def boot_time(proc: Path) -> float:
    """Wall-clock time of boot (btime in /proc/stat), or now minus uptime."""
    try:
        for line in (proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return time.time() - time.monotonic()


def _append(cache: TtlLru[K, list[V]], key: K, item: V, keep: int) -> None:
    items = cache.get(key) or []
    items.append(item)
    cache.put(key, items[-keep:])


class TraceEvents:
    """Bounded, expiring history of connection events and program starts."""

    def __init__(self, size: int, ttl_s: float, processes: ProcessCache) -> None:
        self._events: TtlLru[TupleKey, list[TraceOwner]] = TtlLru(size, ttl_s)
        self._execs: TtlLru[int, list[ExecInfo]] = TtlLru(max(1024, size // 4), ttl_s)
        self._processes = processes
        self._boot = boot_time(processes.proc)
        self._tick = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0

    def add(self, events: list[tuple[TupleKey, TraceOwner]], execs: list[ExecInfo]) -> None:
        """Record one drain of the tracer."""
        for e in execs:
            _append(self._execs, e.pid, e, EXECS_PER_PID)
        for key, owner in events:
            _append(self._events, key, owner, EVENTS_PER_TUPLE)

    def expire(self) -> None:
        """Drop what is older than the time to live."""
        self._events.expire()
        self._execs.expire()

    def event(self, key: TupleKey, ts: float | None) -> TraceOwner | None:
        """The latest event of this tuple at or before ``ts`` (+ slack); the latest at all if ts is None."""
        events = self._events.get(key)
        if not events:
            return None
        if ts is None:
            return events[-1]
        fitting = [e for e in events if e.ts <= ts + SLACK_S]
        return fitting[-1] if fitting else None

    def program(self, owner: TraceOwner) -> tuple[str, str | None]:
        """(process name, executable) of the process behind an event.

        The program the process had exec'd before the event, when the tracer saw that exec; else
        /proc when the process still runs and started before the event; else the thread's name.
        """
        execs = [e for e in self._execs.get(owner.pid) or [] if e.ts <= owner.ts + SLACK_S]
        if execs:
            return execs[-1].comm, execs[-1].exe or None
        info = self._processes.get(owner.pid)
        if info is not None and self._boot + info.start / self._tick <= owner.ts + 1.0:
            return info.name or owner.comm, info.exe
        return owner.comm, None

    def __len__(self) -> int:
        return len(self._events)
