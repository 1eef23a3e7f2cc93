"""A bounded spool on disk: encoded batches wait here until the server has accepted them.

Each batch is one file, ``<sequence>-<batch id>.batch``, written to a temporary name, flushed to disk
and renamed, so a crash leaves either the whole batch or nothing. Batches leave in the order they
came. When the spool grows past its limit the oldest batches are dropped; every drop is counted and
logged as a warning, so data is lost only when the operator's limit says so.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("flowradar.agent")

_NAME = re.compile(r"^(\d{16})-([0-9A-Za-z_-]{1,64})\.batch$")


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    """One batch waiting in the spool."""

    path: Path
    seq: int
    batch_id: str
    size: int

    def read(self) -> bytes:
        """The encoded batch."""
        return self.path.read_bytes()


class Spool:
    """Batches on disk, oldest first, at most ``max_bytes`` in total (thread-safe)."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        """Open (or create) the spool directory and take up what a previous run left in it."""
        self.directory = directory
        self.max_bytes = max(1, max_bytes)
        self.dropped = 0
        """Batches dropped because the spool was over its limit."""
        self.dropped_bytes = 0
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._items: list[SpooledBatch] = []
        for path in sorted(directory.iterdir()):
            match = _NAME.match(path.name)
            if match is None:
                if path.name.endswith(".tmp"):
                    path.unlink(missing_ok=True)  # an interrupted write: never renamed, never whole
                continue
            self._items.append(SpooledBatch(path, int(match[1]), match[2], path.stat().st_size))
        self._seq = self._items[-1].seq + 1 if self._items else 0
        self._bytes = sum(i.size for i in self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def size_bytes(self) -> int:
        """Bytes spooled now."""
        with self._lock:
            return self._bytes

    def put(self, batch_id: str, payload: bytes) -> None:
        """Add one encoded batch (durably), then drop the oldest while over the limit."""
        if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", batch_id):
            raise ValueError(f"invalid batch id {batch_id!r}")
        with self._lock:
            seq = self._seq
            self._seq += 1
        path = self.directory / f"{seq:016d}-{batch_id}.batch"
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        with self._lock:
            self._items.append(SpooledBatch(path, seq, batch_id, len(payload)))
            self._bytes += len(payload)
            self._enforce_limit()
            self._ready.notify_all()

    def _enforce_limit(self) -> None:
        while self._bytes > self.max_bytes and len(self._items) > 1:
            old = self._items.pop(0)
            old.path.unlink(missing_ok=True)
            self._bytes -= old.size
            self.dropped += 1
            self.dropped_bytes += old.size
            log.warning(
                "spool over its limit of %d bytes: dropped batch %s (%d dropped so far)",
                self.max_bytes,
                old.batch_id,
                self.dropped,
            )

    def oldest(self, wait_s: float = 0.0) -> SpooledBatch | None:
        """The oldest batch, waiting up to ``wait_s`` for one to arrive."""
        with self._ready:
            if not self._items and wait_s > 0:
                self._ready.wait(wait_s)
            return self._items[0] if self._items else None

    def remove(self, item: SpooledBatch) -> None:
        """Forget a batch the server accepted (or refused for good)."""
        with self._lock:
            if item in self._items:
                self._items.remove(item)
                self._bytes -= item.size
        item.path.unlink(missing_ok=True)

    def wake(self) -> None:
        """Wake a thread waiting in :meth:`oldest`."""
        with self._ready:
            self._ready.notify_all()
