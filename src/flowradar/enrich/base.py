"""The Enricher seam: adds fields to FlowRecords, with its own bounded cache."""

from __future__ import annotations

from typing import Protocol

from flowradar.model.flow import FlowRecord


class Enricher(Protocol):
    """Fills some of a FlowRecord's ``enrich`` fields; never raises on a record it cannot enrich."""

    name: str
    """Short name, used in messages and statistics."""

    def enrich(self, record: FlowRecord) -> bool:
        """Add what is known about this flow; True when something was added."""
        ...

    def close(self) -> None:
        """Stop background work and release resources."""
        ...
