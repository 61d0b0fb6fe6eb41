"""Sensitivity: seeded Monte Carlo and the runner-up flip, on hand-built cases."""

from __future__ import annotations

import numpy as np
import pytest

from aidc.decide.rank import principle_matrix, rank_candidates
from aidc.decide.sensitivity import flip_analysis, uncertainty_stability, weight_stability

# A is fast and dear, B slow and cheap, C balanced: on the log scale (range 4x in both
# metrics) C scores 0.7 on both principles, A (1, 0) and B (0, 1).
C_FACTOR = 4**0.7
COLS = {
    "time_to_train_s": np.array([10.0, 40.0, 40.0 / C_FACTOR]),
    "tco_3y_usd": np.array([400.0, 100.0, 400.0 / C_FACTOR]),
}
NAMES = tuple(COLS)
KEYS = ["A", "B", "C"]


def ranked(weights):
    r = rank_candidates(COLS, NAMES, weights, "weighted-sum", KEYS)
    return r, principle_matrix(r.principle_scores), np.array(list(r.weights.values()))


def test_weight_stability_is_seeded_and_counts_the_winner():
    r, p, w = ranked({"performance": 3, "cost_effectiveness": 1})
    a = weight_stability(p, w, "weighted-sum", KEYS, np.random.default_rng(5), samples=400)
    b = weight_stability(p, w, "weighted-sum", KEYS, np.random.default_rng(5), samples=400)
    assert a == b
    assert KEYS[r.order[0]] == "A"
    assert 0 < a.winner_share <= 1
    assert a.shares[0].design == "A" and sum(s.share for s in a.shares) == pytest.approx(1.0)


def test_a_dominant_design_is_always_stable():
    cols = {"time_to_train_s": np.array([1.0, 2.0]), "tco_3y_usd": np.array([1.0, 2.0])}
    r = rank_candidates(
        cols, tuple(cols), {"performance": 1, "cost_effectiveness": 1}, "topsis", ["x", "y"]
    )
    p = principle_matrix(r.principle_scores)
    st = weight_stability(
        p, np.array(list(r.weights.values())), "topsis", ["x", "y"], np.random.default_rng(0)
    )
    assert st.winner_share == 1.0 and st.stable


def test_weight_flip_matches_the_hand_computed_threshold():
    # Weights t (performance) and 1 - t (cost). Weighted sums: A = t, B = 1 - t, C = 0.7.
    # At t = 0.75 the order is A, C, B; C leads for 0.3 < t < 0.7, so the nearest
    # weight to 0.75 at which C ranks first is 0.7 (just below).
    r, p, w = ranked({"performance": 3, "cost_effectiveness": 1})
    assert r.score == pytest.approx([0.75, 0.25, 0.7])
    assert [KEYS[i] for i in r.order] == ["A", "C", "B"]
    f = flip_analysis(COLS, NAMES, p, w, "weighted-sum", KEYS, r.order)
    assert f.runner_up == "C"
    perf = next(x for x in f.weight_flips if x.principle == "performance")
    assert perf.weight_now == pytest.approx(0.75)
    assert perf.weight_needed == pytest.approx(0.7, abs=1e-3)
    assert perf.weight_needed < 0.7
    cost = next(x for x in f.weight_flips if x.principle == "cost_effectiveness")
    assert cost.weight_needed == pytest.approx(0.3, abs=1e-3)
    assert f.smallest_weight_flip.change == pytest.approx(-0.05, abs=1e-3)
    # A is already the dearest: raising its cost only widens the TCO range; C's cost
    # score ln(400 f / 151.6) / ln(4 f) passes the 0.9 it needs only beyond f = 16 > 10
    assert f.winner_cost_rise_fraction is None
    assert f.winner_time_rise_fraction is not None
    assert f.sentences[0].startswith("C would overtake the winner if performance weighed 0.70")


def test_time_flip_by_hand():
    # A's time x f (f < 1.516 keeps A fastest): C's performance score is
    # ln(40 / 15.16) / ln(4 / f) and C leads once 0.75 * that + 0.25 * 0.7 > 0.75,
    # i.e. ln(4 / f) < 0.970 / 0.7667 -> f > 1.1288
    r, p, w = ranked({"performance": 3, "cost_effectiveness": 1})
    f = flip_analysis(COLS, NAMES, p, w, "weighted-sum", KEYS, r.order)
    expected = 4 / np.exp(np.log(C_FACTOR) / ((0.75 - 0.25 * 0.7) / 0.75)) - 1
    assert f.winner_time_rise_fraction == pytest.approx(expected, abs=1e-3)
    x = f.winner_time_rise_fraction
    for factor, leader in ((1 + x * 1.01, "C"), (1 + x * 0.99, "A")):
        cols = dict(COLS)
        cols["time_to_train_s"] = COLS["time_to_train_s"] * np.array([factor, 1, 1])
        rr = rank_candidates(
            cols, NAMES, {"performance": 3, "cost_effectiveness": 1}, "weighted-sum", KEYS
        )
        assert KEYS[rr.order[0]] == leader


def test_uncertainty_without_error_keeps_the_winner():
    _, _, w = ranked({"performance": 1, "cost_effectiveness": 1})
    st = uncertainty_stability(
        COLS,
        NAMES,
        w,
        "weighted-sum",
        KEYS,
        np.random.default_rng(1),
        perf_group=np.arange(3),
        perf_band=np.zeros(3),
        price_group=np.arange(3),
        price_low=np.ones(3),
        price_high=np.ones(3),
        samples=50,
    )
    assert st.winner_share == 1.0


def test_uncertainty_with_wide_price_range_can_unseat_the_winner():
    r, _, w = ranked({"performance": 1, "cost_effectiveness": 3})
    winner = KEYS[r.order[0]]
    st = uncertainty_stability(
        COLS,
        NAMES,
        w,
        "weighted-sum",
        KEYS,
        np.random.default_rng(1),
        perf_group=np.arange(3),
        perf_band=np.zeros(3),
        price_group=np.arange(3),
        price_low=np.full(3, 0.2),
        price_high=np.full(3, 5.0),
        samples=300,
    )
    assert st.winner_share < 1.0
    assert {s.design for s in st.shares} - {winner}
