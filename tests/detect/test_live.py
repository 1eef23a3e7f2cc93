"""Live observation: active flows counted once across snapshots and the export, finished once."""

from __future__ import annotations

import numpy as np
from tests.detect.rowmaker import batch, flow, rows

from flowradar.detect.base import ACTIVE, completed, first_sight
from flowradar.detect.flood import FloodDetector
from flowradar.detect.live import ActiveFlows
from flowradar.detect.rows import Networks
from flowradar.detect.runner import DetectionRunner
from flowradar.detect.settings import DetectConfig


def test_snapshots_then_export_add_up_to_the_totals() -> None:
    act = ActiveFlows()
    f1 = flow("10.0.0.1", "10.0.0.2", pkts=(10, 5), hist="ShAD", fid=101)
    s1 = act.snapshot(rows(f1), 1.0)
    assert s1.rows["pkts"].tolist() == [[10, 5]] and s1.new.tolist() == [True]
    assert s1.rows["end_reason"].tolist() == [ACTIVE]
    f2 = dict(f1, pkts=(25, 9), last=int(1005e9))
    s2 = act.snapshot(rows(f2), 2.0)
    assert s2.rows["pkts"].tolist() == [[15, 4]] and first_sight(s2).tolist() == [False]
    assert s2.since.tolist() == [f1["last"]]
    done = act.exported(batch(dict(f2, pkts=(30, 9))), 3.0)
    assert done.rows["pkts"].tolist() == [[5, 0]] and done.totals is not None
    assert done.totals["pkts"].tolist() == [[30, 9]] and len(act) == 0


def test_a_closed_connection_is_completed_once() -> None:
    act = ActiveFlows()
    f = flow("10.0.0.1", "10.0.0.2", hist="ShADadFf", state=3, fid=202)
    assert completed(act.snapshot(rows(f), 1.0)).tolist() == [True]
    assert completed(act.snapshot(rows(f), 2.0)).tolist() == [False]
    assert completed(act.exported(batch(f), 3.0)).tolist() == [False]


def test_a_flood_seen_live_is_counted_once() -> None:
    cfg = DetectConfig(flood_icmp_threshold=1000)
    runner = DetectionRunner(cfg, detectors=[FloodDetector(cfg, Networks(cfg.internal_networks))])
    a = flow(
        "10.0.0.5", "10.0.0.1", dport=0, sport=8, proto=1, hist="D", pkts=(600, 0), first=1000, last=1001
    )
    assert runner.observe_active(rows(a), 1001.0) == []
    assert runner.observe(batch(a)) == []  # the same 600 packets, exported: still 600
    b = flow(
        "10.0.0.6", "10.0.0.1", dport=0, sport=8, proto=1, hist="D", pkts=(300, 0), first=1000, last=1001
    )
    assert runner.observe_active(rows(b), 1001.0) == []
    alerts = runner.observe_active(rows(dict(b, pkts=(700, 0), last=int(1001.5e9))), 1001.5)
    assert [a.type for a in alerts] == ["icmp_flood"]
    assert np.isclose(alerts[0].details["window_value"], 600 + 700, atol=1)
