"""The windowed counters every detector builds on."""

from __future__ import annotations

import numpy as np

from flowradar.detect.window import WindowedDistinct, WindowedSum

U8 = np.uint64


def test_sum_within_window_and_crossing_time() -> None:
    w = WindowedSum(10.0)
    keys = np.array([7] * 30, dtype=U8)
    t = np.arange(30, dtype=float)  # one per second
    touched = w.add(keys, t, t, np.ones(30))
    cr = w.crossing(touched, 10)
    assert cr.keys.tolist() == [7]
    assert cr.values[0] == 10  # never more than ten in any ten seconds
    assert cr.times[0] == 9.0  # the tenth event's second
    assert len(w.crossing(touched, 11).keys) == 0


def test_sum_keys_are_independent() -> None:
    w = WindowedSum(10.0)
    k = np.array([1] * 6 + [2] * 6, dtype=U8)
    t = np.array([0, 1, 2, 20, 21, 22] * 2, dtype=float)
    best, _ = w.peak(w.add(k, t, t, np.ones(12)))
    assert best.tolist() == [3, 3]


def test_sum_spreads_a_span_and_counts_a_long_one_as_a_rate() -> None:
    w = WindowedSum(10.0)
    w.add(np.array([1], dtype=U8), np.array([0.0]), np.array([4.99]), np.array([500.0]))
    assert w.peak(np.array([1], dtype=U8))[0][0] == 500
    w2 = WindowedSum(10.0)
    w2.add(np.array([1], dtype=U8), np.array([0.0]), np.array([3599.99]), np.array([3600.0]))
    assert w2.peak(np.array([1], dtype=U8))[0][0] == 10  # a ping a second for an hour is no flood


def test_sum_expires_old_buckets() -> None:
    w = WindowedSum(10.0, retention_s=20)
    w.add(np.array([1], dtype=U8), np.array([0.0]), np.array([0.0]), np.array([5.0]))
    w.expire(100.0)
    assert len(w) == 0


def test_distinct_counts_each_item_once_and_reports_the_crossing_item() -> None:
    d = WindowedDistinct(300.0)
    keys = np.full(40, 3, dtype=U8)
    hosts = np.zeros(40, dtype=U8)
    ports = np.array(list(range(20)) * 2, dtype=U8)  # 20 distinct, each twice
    t = np.arange(40, dtype=float)
    up = d.add(keys, hosts, ports, t)
    assert d.counts(np.array([3], dtype=U8)).tolist() == [20]
    cr = d.crossing(up, 20)
    assert cr.keys.tolist() == [3] and cr.times[0] == 19.0
    more = d.add(np.array([3], dtype=U8), np.zeros(1, dtype=U8), np.array([5], dtype=U8), np.array([50.0]))
    assert len(d.crossing(more, 20).keys) == 0  # a known item adds nothing


def test_distinct_describe_and_expire() -> None:
    d = WindowedDistinct(60.0)
    d.add(
        np.full(6, 9, dtype=U8),
        np.array([1, 2, 3, 1, 2, 3], dtype=U8),
        np.array([80] * 3 + [443] * 3, dtype=U8),
        np.arange(6.0),
    )
    hosts, ports, first, last = d.describe(9)
    assert (hosts, ports, first, last) == (3, 2, 0.0, 5.0)
    d.expire(1000.0)
    assert d.counts(np.array([9], dtype=U8)).tolist() == [0] and len(d) == 0
