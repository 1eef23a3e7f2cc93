"""The agent side of the attribution scenario, run inside the client's network namespace.

Captures on one interface with flowradar's live source and engine, attributes every exported flow
with the process enricher, and on SIGTERM writes the flows as JSON lines:

    ip netns exec NS python tests/enrich/attribution_agent.py IFACE OUT.jsonl

Prints one JSON line once capture and attribution run ({"ready": true, ...}).
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
from pathlib import Path

from flowradar.capture.live import LiveSource
from flowradar.config import load_config
from flowradar.engine.pipeline import Engine
from flowradar.engine.records import FlowBatch
from flowradar.enrich.process import ProcessEnricher
from flowradar.model.flow import FlowRecord


def main(interface: str, out: Path) -> int:
    """Capture until SIGTERM, then write the attributed flows."""
    cfg = load_config(None)  # FLOWRADAR_PROCESS_* settings apply (e.g. TRACER=false for a baseline)
    enricher = ProcessEnricher(cfg.process)
    enricher.start()
    source = LiveSource(interface, timeout_ms=50)
    engine = Engine(cfg.engine)
    signal.signal(signal.SIGTERM, lambda *_: source.stop())
    ready = {"ready": True, "tracing": enricher.tracing, "message": enricher.message}
    print(json.dumps(ready), flush=True)
    flows: list[FlowRecord] = []

    def export(batch: FlowBatch) -> None:
        records = list(batch.records())
        enricher.enrich_many(records)  # at export, as a pipeline does: the sockets are long gone
        flows.extend(records)

    try:
        for packets in source.batches():
            export(engine.feed(packets))
        export(engine.finish())
    finally:
        source.close()
        enricher.close()
    with out.open("w") as fh:
        for f in flows:
            fh.write(json.dumps(dataclasses.asdict(f)) + "\n")
    print(json.dumps({"flows": len(flows), "stats": enricher.stats, "error": enricher.error}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
