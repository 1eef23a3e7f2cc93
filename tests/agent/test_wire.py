"""The batch format: round trip through each encoding, bounded expansion, readable errors."""

from __future__ import annotations

import json

import pytest
from tests.store.records import alert, connection, flow, metrics

from flowradar.agent.wire import Batch, TooLarge, WireError, compress, decompress, encode, parse_json
from flowradar.server.schemas import IngestBatch


@pytest.mark.parametrize("encoding", ["zstd", "gzip", "identity"])
def test_a_batch_round_trips(encoding: str) -> None:
    batch = Batch("h1", flows=[flow(1), flow(2)], connections=[connection(22, 1.0)], metrics=[metrics(1.0)])
    batch.alerts.append(alert("a", 2.0))
    raw = decompress(encode(batch, encoding), encoding, 1 << 20)
    back = IngestBatch.model_validate_json(raw)
    assert back.batch_id == batch.batch_id and back.flows == batch.flows
    assert (
        back.connections == batch.connections
        and back.metrics == batch.metrics
        and back.alerts == batch.alerts
    )


def test_expansion_is_bounded() -> None:
    for encoding in ("zstd", "gzip"):
        with pytest.raises(TooLarge):
            decompress(compress(b"0" * 100_000, encoding), encoding, 1000)
    with pytest.raises(TooLarge):
        decompress(b"x" * 2000, "identity", 1000)


def test_errors_are_one_line() -> None:
    with pytest.raises(WireError, match="not valid gzip"):
        decompress(b"nope", "gzip", 100)
    with pytest.raises(WireError, match="unsupported"):
        decompress(b"nope", "lz4", 100)
    with pytest.raises(WireError, match="JSON object"):
        parse_json(json.dumps([1]).encode())
    with pytest.raises(WireError, match="unknown encoding"):
        compress(b"", "lz4")
