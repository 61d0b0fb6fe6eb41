"""Pareto front: nothing on it is dominated, everything off it is, and it is stable."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aidc.decide.pareto import dominates, pareto_mask, pareto_mask_points


def brute_force(points: np.ndarray) -> np.ndarray:
    n = len(points)
    return np.array(
        [not any(dominates(points[j], points[i]) for j in range(n) if j != i) for i in range(n)],
        dtype=bool,
    )


point_sets = st.integers(1, 4).flatmap(
    lambda k: arrays(
        np.float64,
        st.tuples(st.integers(1, 60), st.just(k)),
        # a small integer range makes ties and duplicates common
        elements=st.integers(-3, 3).map(float),
    )
)


@given(point_sets)
@settings(max_examples=200, deadline=None)
def test_front_matches_brute_force(points):
    assert np.array_equal(pareto_mask_points(points), brute_force(points))


@given(point_sets)
@settings(max_examples=100, deadline=None)
def test_no_front_point_is_dominated_and_filter_is_idempotent(points):
    mask = pareto_mask_points(points)
    front = points[mask]
    assert mask.any()
    for i in range(len(front)):
        assert not any(dominates(p, front[i]) for p in points)
    # every point off the front is dominated by a point on it
    for p in points[~mask]:
        assert any(dominates(f, p) for f in front)
    assert pareto_mask_points(front).all()


@given(point_sets, st.randoms(use_true_random=False))
@settings(max_examples=100, deadline=None)
def test_front_does_not_depend_on_order(points, rnd):
    perm = np.array(rnd.sample(range(len(points)), len(points)))
    assert np.array_equal(pareto_mask_points(points)[perm], pareto_mask_points(points[perm]))


def test_blocks_agree_with_brute_force_on_a_larger_set():
    rng = np.random.default_rng(7)
    pts = rng.integers(0, 40, size=(1500, 3)).astype(float)
    assert np.array_equal(pareto_mask_points(pts), brute_force(pts))


def test_scales_to_100k_points():
    rng = np.random.default_rng(1)
    pts = rng.random((100_000, 4))
    mask = pareto_mask_points(pts)
    front = pts[mask]
    # spot-check: sampled points off the front are dominated by a front point
    for p in pts[~mask][:200]:
        assert np.any(np.all(front >= p, axis=1) & np.any(front > p, axis=1))
    assert pareto_mask_points(front).all()


def test_directions_come_from_the_registry_and_nan_is_worst():
    cols = {
        "time_to_train_s": np.array([10.0, 20.0, 10.0, np.nan]),  # min
        "tokens_per_s": np.array([5.0, 9.0, 4.0, 100.0]),  # max
    }
    mask = pareto_mask(cols, ["time_to_train_s", "tokens_per_s"])
    # 0 beats 2 (same time, more tokens); 1 is fastest-throughput finite; 3 has unknown time
    # but the highest throughput, so nothing dominates it
    assert mask.tolist() == [True, True, False, True]


def test_duplicates_are_kept_together():
    pts = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    assert pareto_mask_points(pts).tolist() == [True, True, False]
