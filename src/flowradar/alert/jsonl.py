"""JSON-lines alert log: one alert per line, appended and flushed on every delivery."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from flowradar.alert.base import SinkError
from flowradar.model.alert import Alert


class JsonlSink:
    """Appends alerts to a file as JSON lines (the file and its folder are created when missing)."""

    name = "jsonl"

    def __init__(self, path: str | Path, fsync: bool = False) -> None:
        """``fsync`` forces every write to disk (slower, survives a power cut)."""
        self.path = Path(path)
        self._fsync = fsync
        self._lock = threading.Lock()

    def send(self, alerts: Sequence[Alert]) -> None:
        """Append one line per alert."""
        data = "".join(a.to_json() + "\n" for a in alerts)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, open(self.path, "a", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                if self._fsync:
                    os.fsync(fh.fileno())
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        """Nothing is held open between deliveries."""
