"""Ranking: hand-computed cases, invariance to candidate order and to units."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidc.decide.metrics import PRINCIPLES, RANKING_METRICS
from aidc.decide.rank import normalise, rank_candidates, score_matrix, topsis, weighted_sum

# Three candidates, two principles (performance via time, cost via TCO), weights 2:1.
# Both metrics are ratio-scale, normalised on ln x. By hand:
#   time (min) 10/20/15 -> 1, 0, ln(20/15)/ln(2) = 0.415
#   TCO (min) 300/100/200 -> 0, 1, ln(300/200)/ln(3) = 0.369
THREE = {
    "time_to_train_s": np.array([10.0, 20.0, 15.0]),
    "tco_3y_usd": np.array([300.0, 100.0, 200.0]),
}
KEYS = ["A", "B", "C"]
W = {"performance": 2.0, "cost_effectiveness": 1.0}
PERF_C = np.log(20 / 15) / np.log(2)
COST_C = np.log(300 / 200) / np.log(3)


def test_three_candidates_weighted_sum_by_hand():
    r = rank_candidates(THREE, list(THREE), W, "weighted-sum", KEYS)
    assert r.metric_scores["time_to_train_s"] == pytest.approx([1, 0, PERF_C])
    assert r.metric_scores["tco_3y_usd"] == pytest.approx([0, 1, COST_C])
    # S = 2/3 * perf + 1/3 * cost: A 0.667, B 0.333, C 0.2767 + 0.1230 = 0.3996
    assert r.score == pytest.approx([2 / 3, 1 / 3, 2 / 3 * PERF_C + 1 / 3 * COST_C])
    assert [KEYS[i] for i in r.order] == ["A", "C", "B"]
    assert r.rank.tolist() == [1, 3, 2]
    assert r.pareto.tolist() == [True, True, True]


def test_three_candidates_topsis_by_hand():
    r = rank_candidates(THREE, list(THREE), W, "topsis", KEYS)
    # v = (2/3 * perf, 1/3 * cost); ideal (2/3, 1/3), anti-ideal (0, 0)
    # A: d+ = 1/3, d- = 2/3 -> 2/3; B: d+ = 2/3, d- = 1/3 -> 1/3
    vc = np.array([2 / 3 * PERF_C, 1 / 3 * COST_C])
    d_plus = np.hypot(2 / 3 - vc[0], 1 / 3 - vc[1])
    d_minus = np.hypot(*vc)
    assert r.score == pytest.approx([2 / 3, 1 / 3, d_minus / (d_plus + d_minus)])
    assert [KEYS[i] for i in r.order] == ["A", "C", "B"]


def test_linear_metrics_by_hand():
    # scores and fractions are normalised linearly
    cols = {
        "security_score": np.array([1.0, 0.5, 0.0]),
        "deadline_slack": np.array([0.1, 0.4, 0.7]),
    }
    w = {"security": 1.0, "scalability": 3.0}
    r = rank_candidates(cols, list(cols), w, "weighted-sum", KEYS)
    # S = 1/4 * (1, 0.5, 0) + 3/4 * (0, 0.5, 1) = (0.25, 0.5, 0.75)
    assert r.score == pytest.approx([0.25, 0.5, 0.75])
    assert [KEYS[i] for i in r.order] == ["C", "B", "A"]


def test_topsis_prefers_the_balanced_design_where_weighted_sum_ties():
    # principle scores (perf, cost); the two extremes fix the ideal (1, 1) and anti (0, 0)
    p = np.array([[0.9, 0.2], [0.55, 0.55], [1.0, 0.0], [0.0, 1.0]])
    full = np.column_stack([p, np.ones((4, 3))])
    w = np.array([1, 1, 0, 0, 0.0])
    ws = score_matrix(full, w, "weighted-sum")
    tp = score_matrix(full, w, "topsis")
    assert ws[:2] == pytest.approx([0.55, 0.55])
    # by hand: X d+ = 0.5*sqrt(0.1^2 + 0.8^2), d- = 0.5*sqrt(0.9^2 + 0.2^2)
    dp, dm = 0.5 * np.hypot(0.1, 0.8), 0.5 * np.hypot(0.9, 0.2)
    assert tp[0] == pytest.approx(dm / (dp + dm))
    assert tp[1] == pytest.approx(0.55)
    assert tp[1] > tp[0]


def test_compat_helpers_match_rank_candidates():
    r = rank_candidates(THREE, list(THREE), W, "weighted-sum", KEYS)
    assert weighted_sum(r.principle_scores, W) == pytest.approx(r.score)
    assert topsis(r.principle_scores, W) == pytest.approx(
        rank_candidates(THREE, list(THREE), W, "topsis", KEYS).score
    )


def test_normalise_is_direction_and_scale_aware_and_safe():
    # log scale: 2 sits halfway between 1 and 4
    assert normalise(np.array([1.0, 4.0, 2.0]), "time_to_train_s") == pytest.approx([1, 0, 0.5])
    assert normalise(np.array([1.0, 4.0, 2.0]), "tokens_per_s") == pytest.approx([0, 1, 0.5])
    # linear scale
    assert normalise(np.array([0.0, 1.0, 0.5]), "security_score").tolist() == [0.0, 1.0, 0.5]
    assert normalise(np.array([4.0, 4.0]), "tokens_per_s").tolist() == [1.0, 1.0]
    assert normalise(np.array([np.nan, 1.0, 2.0]), "tokens_per_s").tolist() == [0.0, 0.0, 1.0]
    # a log metric with a zero falls back to linear rather than failing
    assert normalise(np.array([0.0, 2.0, 1.0]), "capex_usd").tolist() == [1.0, 0.0, 0.5]


NAMES = list(RANKING_METRICS["training"])


def random_columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    cols = {m: rng.lognormal(0, 1, n) for m in NAMES}
    # coarse values in a few columns make ties (the tie-break must not depend on order)
    cols["security_score"] = rng.integers(0, 3, n) / 2
    cols["support_status"] = rng.integers(0, 2, n).astype(float)
    return cols


@given(st.integers(0, 10_000), st.integers(2, 40), st.sampled_from(["weighted-sum", "topsis"]))
@settings(max_examples=60, deadline=None)
def test_ranking_does_not_depend_on_candidate_order(seed, n, method):
    rng = np.random.default_rng(seed)
    cols = random_columns(rng, n)
    keys = [f"d{i:03d}" for i in range(n)]
    w = dict(zip(PRINCIPLES, rng.random(5) + 0.01, strict=True))
    base = rank_candidates(cols, NAMES, w, method, keys)
    perm = rng.permutation(n)
    shuffled = rank_candidates(
        {m: v[perm] for m, v in cols.items()}, NAMES, w, method, [keys[i] for i in perm]
    )
    assert [keys[i] for i in base.order] == [keys[perm[i]] for i in shuffled.order]
    assert shuffled.score == pytest.approx(base.score[perm])
    assert np.array_equal(shuffled.pareto, base.pareto[perm])


@given(
    st.integers(0, 10_000),
    st.sampled_from(["weighted-sum", "topsis"]),
    st.sampled_from([1 / 3600, 1 / 86400, 1e3, 7.0]),
)
@settings(max_examples=60, deadline=None)
def test_ranking_does_not_depend_on_units(seed, method, scale):
    """Seconds vs hours (or USD vs kUSD): a positive scale on any column changes nothing."""
    rng = np.random.default_rng(seed)
    n = 25
    cols = random_columns(rng, n)
    keys = [f"d{i:03d}" for i in range(n)]
    w = dict(zip(PRINCIPLES, rng.random(5) + 0.01, strict=True))
    base = rank_candidates(cols, NAMES, w, method, keys)
    scaled = dict(cols)
    scaled["time_to_train_s"] = cols["time_to_train_s"] * scale
    scaled["tco_3y_usd"] = cols["tco_3y_usd"] * scale
    other = rank_candidates(scaled, NAMES, w, method, keys)
    assert other.order.tolist() == base.order.tolist()
    assert other.score == pytest.approx(base.score)
    assert np.array_equal(other.pareto, base.pareto)


def test_score_matrix_many_weights_matches_one_at_a_time():
    rng = np.random.default_rng(3)
    p = rng.random((30, 5))
    ws = rng.random((8, 5))
    for method in ("weighted-sum", "topsis"):
        many = score_matrix(p, ws, method)
        for k in range(8):
            assert many[k] == pytest.approx(score_matrix(p, ws[k], method))
