"""RITA v5 beacon scoring, function by function."""

from __future__ import annotations

import random

import numpy as np
import pytest

from flowradar.detect import beacon_score as B

DAY = 86400.0


def test_quartiles_as_rita() -> None:
    assert B.quartiles(np.array([1, 2, 3, 4, 5, 6, 7])) == (2.0, 4.0, 6.0)
    assert B.quartiles(np.array([1, 2, 3, 4, 5, 6])) == (2.0, 3.5, 5.0)


def test_bowley_needs_a_spread_of_ten() -> None:
    assert B.bowley_score(np.array([1, 2, 3, 4, 5, 6, 7, 9.0])) == 1.0  # Q3 - Q1 < 10: skew counted as 0
    assert B.bowley_score(np.array([10, 10, 10, 50, 90.0])) == 1.0  # the median equals Q1
    skewed = np.array([10, 11, 12, 13, 100, 200, 300], dtype=float)
    assert B.bowley_score(skewed) < 0.5


def test_mad_score() -> None:
    assert B.mad_score(np.array([60, 60, 60, 60.0]), 1.0) == 1.0
    assert B.mad_score(np.array([0, 0, 0.0]), 1.0) == 1.0  # median under 1: the default
    assert B.mad_score(np.array([10, 100, 1000.0]), 0.0) == 0.1


def test_histogram_and_duration() -> None:
    hourly = np.arange(24) * 3600.0 + 60
    hist = B.histogram(hourly, 0, DAY)
    assert hist.tolist() == [1] * 24
    assert B.histogram_score(hist) == 1.0
    assert B.duration_score(hist, hourly[0], hourly[-1], 0, DAY) == 1.0
    few = B.histogram(hourly[:5], 0, DAY)
    assert B.duration_score(few, hourly[0], hourly[4], 0, DAY) == 0.0  # under 6 bars


def test_a_perfect_beacon_scores_one() -> None:
    t = np.arange(0, DAY, 300.0)
    s = B.score(t, np.full(len(t), 512.0), 0, DAY)
    assert (s.score, s.timestamp, s.datasize, s.histogram, s.duration) == (1.0, 1.0, 1.0, 1.0, 1.0)


def test_random_traffic_scores_low() -> None:
    rng = random.Random(1)
    t = np.sort(np.array([rng.uniform(0, 4 * 3600) for _ in range(40)]))
    sizes = np.array([rng.uniform(100, 100000) for _ in range(40)])
    assert B.score(t, sizes, 0, DAY).score < 0.5


@pytest.mark.parametrize("jitter", [0.0, 30.0])
def test_compressed_time_scores_like_real_time(jitter: float) -> None:
    rng = random.Random(2)
    real = np.cumsum([3600 + rng.uniform(-jitter, jitter) for _ in range(20)])
    compressed = real / 3600.0  # a 24 s 'day'
    a = B.score(real, np.full(20, 300.0), 0, DAY)
    b = B.score(compressed, np.full(20, 300.0), 0, 24.0, scale=3600.0)
    assert a.score == pytest.approx(b.score, abs=0.02)
