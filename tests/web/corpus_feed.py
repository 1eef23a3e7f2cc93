"""Real flows and alerts from corpus captures, enriched and detected as `flowradar analyze` does,
shifted in time so they look recent, as one ingest batch for a dashboard test."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

from flowradar.capture.files import open_capture
from flowradar.config import load_config
from flowradar.detect.runner import DetectionRunner
from flowradar.engine.pipeline import Engine
from flowradar.enrich.pipeline import EnrichmentPipeline
from flowradar.model.alert import Alert
from flowradar.model.flow import FlowRecord


def capture_records(path: Path) -> tuple[list[FlowRecord], list[Alert]]:
    """Enriched flow records and the detectors' alerts of one capture file."""
    cfg = load_config(env={"FLOWRADAR_ENRICH_DNS_HOLD_S": "0"})
    engine = Engine(cfg.engine)
    runner = DetectionRunner(cfg.detect)
    pipeline = EnrichmentPipeline.from_config(cfg.enrich)
    source = open_capture(str(path))
    records: list[FlowRecord] = []
    try:
        for flows in engine.run(source):
            runner.observe(flows)
            records += pipeline.process(list(flows.records()))
    finally:
        source.close()
    records += pipeline.flush()
    runner.finish()
    pipeline.close()
    return records, list(runner.alerts)


def shifted(records: list[FlowRecord], alerts: list[Alert], end: float) -> None:
    """Move flows and alerts in time so that the latest flow ends at ``end`` (order kept)."""
    last = max((r.ts_last for r in records), default=end)
    delta = end - last
    for r in records:
        r.ts_first += delta
        r.ts_last += delta
    for a in alerts:
        a.first_seen += delta
        a.last_seen += delta
        a.trigger_ts += delta
        a.raised_at = end
        if not a.uid:
            a.uid = uuid.uuid4().hex[:16]


def batch_body(host: str, records: list[FlowRecord], alerts: list[Alert]) -> dict[str, Any]:
    """An IngestBatch document (JSON)."""
    return {
        "version": 1,
        "batch_id": uuid.uuid4().hex,
        "host": host,
        "flows": [dataclasses.asdict(r) for r in records],
        "alerts": [dataclasses.asdict(a) for a in alerts],
    }
