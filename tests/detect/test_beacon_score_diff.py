"""The pure-Python scoring path against the vectorised reference: bit-identical scores for every input."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.detect import beacon_score_ref as REF

from flowradar.detect import beacon_score as B

DAY = 86400.0


def bits(s: B.BeaconScore | REF.BeaconScore) -> list[str]:
    return [float(v).hex() for v in (s.score, s.timestamp, s.datasize, s.histogram, s.duration)]


def check(times: list[float], sizes: list[float], start: float, end: float, scale: float) -> None:
    ref = REF.score(np.array(times, dtype=np.float64), np.array(sizes, dtype=np.float64), start, end, scale)
    got = B.score(np.array(times, dtype=np.float64), np.array(sizes, dtype=np.float64), start, end, scale)
    assert bits(got) == bits(ref), (times, sizes, start, end, scale)
    assert bits(B.score_lists(times, sizes, start, end, scale)) == bits(ref)


def series(rng: random.Random) -> tuple[list[float], list[float], float, float, float]:
    """A random pair: varied sizes, windows, offsets, periodic or clustered times, ties and edges."""
    window = rng.choice([DAY, DAY, 24.0, 3600.0, 1.0, 1e-3, 7 * DAY, rng.uniform(1e-6, 1e7)])
    start = rng.choice([0.0, 1.6e9, -5.0, rng.uniform(-1e9, 2e9), 1.6e9 + rng.random()])
    end = start + window
    n = rng.choice([0, 1, 2, 3, 4, 5, rng.randint(3, 60), rng.randint(3, 60), rng.randint(60, 400)])
    kind = rng.randrange(5)
    span = end - start
    if kind == 0:  # periodic with jitter
        period = span / rng.choice([24, 48, 12, 100, 7, n or 1])
        times = [
            start + (i * period + rng.uniform(-1, 1) * period * rng.choice([0, 0.01, 0.2])) for i in range(n)
        ]
    elif kind == 1:  # uniform
        times = [rng.uniform(start, end) for _ in range(n)]
    elif kind == 2:  # on bin edges, window ends, and beyond
        step = span / 24
        times = [
            rng.choice([start + rng.randrange(25) * step, start, end, start - 1, end + 1]) for _ in range(n)
        ]
    elif kind == 3:  # few distinct values (duplicates, a single bin)
        pool = [rng.uniform(start, end) for _ in range(rng.randint(1, 3))]
        times = [rng.choice(pool) for _ in range(n)]
    else:  # whole seconds
        times = [float(math.floor(rng.uniform(start, end))) for _ in range(n)]
    sk = rng.randrange(4)
    if sk == 0:
        sizes = [rng.choice([0.0, 512.0, 513.0, 1024.0]) for _ in range(n)]
    elif sk == 1:
        sizes = [float(rng.randint(0, 100000)) for _ in range(n)]
    elif sk == 2:
        sizes = [rng.uniform(0, 5) for _ in range(n)]
    else:
        sizes = [0.0] * n
    scale = rng.choice([1.0, 1.0, DAY / window, 3600.0, 0.5, 0.0, -1.0])
    return times, sizes, start, end, scale


def test_seeded_sweep_is_bit_identical() -> None:
    rng = random.Random(20240611)
    for _ in range(20000):
        check(*series(rng))


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # NaN times
def test_unusual_input_falls_back_to_the_reference() -> None:
    for args in [
        ([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0], 5.0, 5.0, 1.0),  # empty window
        ([1.0, float("nan"), 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], 0.0, 10.0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], [1.0, float("inf"), 3.0, 4.0], 0.0, 10.0, 1.0),
        ([1e15 + i for i in range(10)], [1.0] * 10, 1e15, 1e15 + 1e-3, 1.0),  # window tiny against start
        ([i * 1e300 for i in range(5)], [1.0] * 5, 0.0, 5e300, 1.0),
        ([float(i) for i in range(5)], [1.0] * 5, 0.0, 5.0, 1e300),  # seconds beyond 2**52
    ]:
        t, s = np.array(args[0]), np.array(args[1])
        try:
            ref = REF.score(t, s, *args[2:])
        except (ValueError, IndexError) as e:  # the reference fails on NaN times or an empty window
            with pytest.raises(type(e)):
                B.score(t, s, *args[2:])
            continue
        assert bits(B.score(t, s, *args[2:])) == bits(ref)


def test_large_pairs_use_numpy_and_agree() -> None:
    rng = random.Random(5)
    n = B.FAST_MAX_POINTS + 10
    check(
        sorted(rng.uniform(0, DAY) for _ in range(n)),
        [float(rng.randint(0, 999)) for _ in range(n)],
        0.0,
        DAY,
        1.0,
    )


def test_histogram_std_in_numpys_summation_order() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        hist = np.array([rng.choice([0, 1, 2, rng.randint(0, 10 ** rng.randint(1, 9))]) for _ in range(24)])
        if hist.sum() == 0:
            continue
        times = (
            [float(i) + 0.5 for i, c in enumerate(hist.tolist()) for _ in range(c)]
            if hist.sum() < 3000
            else []
        )
        if times:
            check(times, [1.0] * len(times), 0.0, 24.0, 1.0)
        mean = int(hist.sum()) / 24
        sq = [(c - mean) * (c - mean) for c in hist.tolist()]
        r = [(sq[j] + sq[j + 8]) + sq[j + 16] for j in range(8)]
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        assert math.sqrt(total / 24) == float(hist.std()) and mean == float(hist.mean())


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(finite, st.floats(min_value=0, max_value=1e9) | st.sampled_from([0.0, 100.0])), max_size=80
    ),
    finite,
    st.floats(min_value=1e-6, max_value=1e9) | st.sampled_from([DAY, 24.0]),
    st.sampled_from([1.0, 3600.0, 0.25, -2.0, 0.0]),
    st.booleans(),
)
def test_hypothesis_bit_identical(
    points: list[tuple[float, float]], start: float, window: float, scale: float, snap: bool
) -> None:
    end = start + window
    times = [start + (p[0] % window if snap else p[0]) for p in points]
    check(times, [p[1] for p in points], start, end, scale)


def test_edges_as_numpy_linspace() -> None:
    for start, end in [(0.0, DAY), (1.6e9, 1.6e9 + DAY), (-3.3, 7.1), (1.6e9 + 0.123, 1.6e9 + 24.123)]:
        step = (end - start) / 24
        assert [i * step + start for i in range(24)] == np.linspace(start, end, 25)[:24].tolist()
