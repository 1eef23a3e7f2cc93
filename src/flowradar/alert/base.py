"""The AlertSink seam: something that delivers alerts (a file, a webhook, syslog, mail)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from flowradar.model.alert import Alert


class SinkError(Exception):
    """A delivery failed (the alert is retried, then spilled to disk: never lost)."""


class AlertSink(Protocol):
    """Delivers alerts. ``send`` either delivers every alert given or raises :class:`SinkError`."""

    name: str
    """Short name, used for the spill file and in messages."""

    def send(self, alerts: Sequence[Alert]) -> None:
        """Deliver the alerts (blocking, bounded by the sink's timeout); SinkError on failure."""
        ...

    def close(self) -> None:
        """Release connections and files (idempotent)."""
        ...


def headline(alert: Alert) -> str:
    """'HIGH scan (port_scan): message' — one line for chat and mail subjects."""
    return f"{alert.severity.upper()} {alert.kind} ({alert.type}): {alert.message}"
