"""Invalid and oversized ingest bodies: a 4xx with a one-line reason, and nothing half-written."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard
from tests.server.conftest import Api, flows, make_api, server_config, store_env

from flowradar.agent.wire import Batch


@pytest.fixture
def small(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Api]:
    """An app with small ingest limits."""
    env = {
        **store_env("duckdb", tmp_path, request),
        "FLOWRADAR_SERVER_INGEST_MAX_BYTES": "20000",
        "FLOWRADAR_SERVER_INGEST_MAX_EXPANDED_BYTES": "400000",
        "FLOWRADAR_SERVER_INGEST_MAX_RECORDS": "50",
        "FLOWRADAR_SERVER_MAX_BODY_BYTES": "4096",
    }
    yield from make_api(server_config(env))


def _post(api: Api, body: bytes, encoding: str = "identity"):  # type: ignore[no-untyped-def]
    headers = {**api.ingest, "Content-Encoding": encoding, "Content-Type": "application/json"}
    return api.client.post("/api/v1/ingest", content=body, headers=headers)


def _doc(n: int) -> dict[str, object]:
    return Batch("agent1", flows=flows(n)).to_dict()


def _refused(answer, status: int, words: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and words in detail, detail


def test_bodies_past_the_limits_get_413(small: Api) -> None:
    big = json.dumps(_doc(45)).encode()
    assert len(big) > 20000
    _refused(_post(small, big), 413, "too large")
    bomb = zstandard.ZstdCompressor().compress(b" " * 1_000_000)  # tiny compressed, large expanded
    assert len(bomb) < 20000
    _refused(_post(small, bomb, "zstd"), 413, "expands past 400000 bytes")
    _refused(_post(small, gzip.compress(b" " * 1_000_000), "gzip"), 413, "expands past")
    form = small.client.post("/api/v1/users", headers=small.admin, content=b"x" * 5000)
    _refused(form, 413, "at most 4096 bytes")
    assert small.store.stats()["flows"] == 0


def test_unreadable_bodies_get_400(small: Api) -> None:
    _refused(_post(small, b"{not json"), 400, "not valid JSON")
    _refused(_post(small, b"\x28\xb5\x2f\xfd garbage", "zstd"), 400, "not valid zstd")
    _refused(_post(small, b"abc", "br"), 400, "unsupported Content-Encoding")
    _refused(_post(small, b"[1, 2]"), 422, "")


def test_records_off_the_schema_get_422_naming_the_field(small: Api) -> None:
    doc = _doc(5)
    doc["flows"][3]["src_port"] = "eighty"  # type: ignore[index]
    _refused(_post(small, json.dumps(doc).encode()), 422, "flows.3.src_port")
    doc = _doc(2)
    doc["flows"][0]["l7"]["surprise"] = 1  # type: ignore[index]
    _refused(_post(small, json.dumps(doc).encode()), 422, "flows.0.l7.surprise")
    doc = _doc(1)
    doc["batch_id"] = "../../etc"
    _refused(_post(small, json.dumps(doc).encode()), 422, "batch_id")
    _refused(_post(small, json.dumps(_doc(51)).encode(), "identity"), 413, "")  # 51 flows > 20000 bytes
    many = zstandard.ZstdCompressor().compress(json.dumps(_doc(51)).encode())
    _refused(_post(small, many, "zstd"), 422, "too many records")
    assert small.store.stats()["flows"] == 0


def test_a_bad_record_leaves_nothing_of_its_batch(api: Api) -> None:
    good = Batch("agent1", flows=flows(20))
    bad = dataclasses.replace(good.flows[7], ts_first=None)  # passes the schema, refused by the store
    batch = Batch("agent1", flows=[*good.flows[:7], bad, *good.flows[8:]])
    answer = api.send(batch)
    assert 400 <= answer.status_code < 500, answer.text
    assert api.store.stats()["flows"] == 0 and api.store.stats()["batches"] == 0
    fixed = api.send(Batch("agent1", batch_id=batch.batch_id, flows=good.flows))
    assert fixed.status_code == 200 and fixed.json()["flows"] == 20  # the id was not burnt
