"""Delivery: a slow or dead sink never blocks the pipeline and never loses an alert."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tests.alert.test_sink_contract import make_alert

from flowradar.alert.base import SinkError
from flowradar.alert.delivery import Dispatcher, SinkWorker, build_sinks
from flowradar.alert.settings import AlertConfig
from flowradar.model.alert import Alert

FAST = AlertConfig(retries=3, backoff_s=0.01, backoff_max_s=0.2, queue_size=1000)


class FakeSink:
    """A sink that can be slow or down."""

    name = "fake"

    def __init__(self, delay_s: float = 0.0, down: bool = False) -> None:
        self.delay_s, self.down = delay_s, down
        self.got: list[str] = []
        self.calls = 0
        self.lock = threading.Lock()

    def send(self, alerts: Sequence[Alert]) -> None:
        self.calls += 1
        time.sleep(self.delay_s)
        if self.down:
            raise SinkError("down")
        with self.lock:
            self.got.extend(a.uid for a in alerts)

    def close(self) -> None:
        pass


def test_a_slow_sink_does_not_block_submit(tmp_path: Path) -> None:
    sink = FakeSink(delay_s=0.5)
    w = SinkWorker(sink, FAST, tmp_path)
    start = time.monotonic()
    for n in range(200):
        w.submit(make_alert(n))
    assert time.monotonic() - start < 0.5  # 200 alerts handed over at once
    w.close(timeout_s=10)
    assert sorted(sink.got + [a.uid for a in w.spill.take()]) == sorted(f"Auid{n}" for n in range(200))


def test_a_dead_sink_spills_then_delivers_when_back(tmp_path: Path) -> None:
    sink = FakeSink(down=True)
    w = SinkWorker(sink, FAST, tmp_path)
    for n in range(5):
        w.submit(make_alert(n))
    assert w.flush(10)
    deadline = time.monotonic() + 10
    while len(w.spill) < 5 and time.monotonic() < deadline:  # re-sent from the spill every 0.2 s
        time.sleep(0.02)
    assert sink.calls >= FAST.retries and len(w.spill) == 5 and not sink.got
    sink.down = False
    deadline = time.monotonic() + 10
    while len(sink.got) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    w.close()
    assert sorted(sink.got) == [f"Auid{n}" for n in range(5)] and len(w.spill) == 0


def test_a_full_queue_spills_instead_of_blocking(tmp_path: Path) -> None:
    sink = FakeSink(delay_s=1.0)
    w = SinkWorker(sink, AlertConfig(queue_size=2, retries=1), tmp_path)
    start = time.monotonic()
    for n in range(20):
        w.submit(make_alert(n))
    assert time.monotonic() - start < 0.5
    w.close(timeout_s=0.1)
    spilled = {a.uid for a in w.spill.take()}
    assert spilled | set(sink.got) == {f"Auid{n}" for n in range(20)}


def test_a_broken_sink_cannot_kill_the_worker(tmp_path: Path) -> None:
    class Broken(FakeSink):
        def send(self, alerts: Sequence[Alert]) -> None:
            raise RuntimeError("bug")

    w = SinkWorker(Broken(), FAST, tmp_path)
    w.submit(make_alert(1))
    assert w.flush(10)
    w.close()
    assert [a.uid for a in w.spill.take()] == ["Auid1"]


def test_dispatcher_and_configured_sinks(tmp_path: Path) -> None:
    cfg = AlertConfig(jsonl_path=str(tmp_path / "a.jsonl"), syslog_host="127.0.0.1", syslog_port=5514)
    assert [s.name for s in build_sinks(cfg)] == ["jsonl", "syslog"]
    d = Dispatcher(build_sinks(AlertConfig(jsonl_path=str(tmp_path / "a.jsonl"))), FAST, tmp_path)
    d(make_alert(3))
    d.close()
    assert "Auid3" in (tmp_path / "a.jsonl").read_text()
