"""The spool: durable, ordered, bounded (oldest dropped and counted), recovered after a restart."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flowradar.agent.spool import Spool


def test_batches_leave_in_order_and_survive_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 10_000)
    for i in range(3):
        spool.put(f"b{i}", f"payload {i}".encode())
    (tmp_path / "0000000000000099-half.batch.tmp").write_bytes(b"half")  # a write cut short
    again = Spool(tmp_path, 10_000)
    assert len(again) == 3 and again.size_bytes == 3 * len(b"payload 0")
    assert not list(tmp_path.glob("*.tmp"))
    first = again.oldest()
    assert first is not None and first.batch_id == "b0" and first.read() == b"payload 0"
    again.remove(first)
    again.put("b3", b"payload 3")
    assert [again.oldest().batch_id for _ in range(1)] == ["b1"]  # type: ignore[union-attr]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[-1].endswith("-b3.batch") and len(names) == 3


def test_over_the_limit_the_oldest_are_dropped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path, 250)
    with caplog.at_level(logging.WARNING, "flowradar.agent"):
        for i in range(5):
            spool.put(f"b{i}", bytes(100))
    assert len(spool) == 2 and spool.dropped == 3 and spool.dropped_bytes == 300
    assert spool.oldest().batch_id == "b3"  # type: ignore[union-attr]
    assert "3 dropped so far" in caplog.text
    big = Spool(tmp_path / "one", 10)
    big.put("huge", bytes(100))  # a single batch larger than the limit is kept (nothing else to drop)
    assert len(big) == 1 and big.dropped == 0


def test_bad_batch_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Spool(tmp_path, 100).put("../escape", b"x")


def test_waiting_for_a_batch_times_out_empty(tmp_path: Path) -> None:
    assert Spool(tmp_path, 100).oldest(wait_s=0.05) is None
