"""Multi-criteria ranking over declared metrics: normalisation, principles, methods.

The decision matrix has one row per candidate and one column per metric. Ranking is
three explicit steps, each recorded in the plan output:

1. **Normalisation** (min-max, direction-aware): ``s = (g(x) - g(worst)) / (g(best) -
   g(worst))`` over the candidates being ranked, so 1 is the best candidate on that
   metric and 0 the worst. ``g`` is the metric's declared scale: ``ln`` for ratio-scale
   quantities (times, rates, costs — a design twice as expensive as the best loses the
   same at any price level, and one 50x as expensive is not "almost as good" because a
   still worse one exists), the identity for scores, fractions and counts. A metric
   equal for all candidates scores 1 for all (it cannot discriminate); an unknown value
   (NaN) scores 0. Both scales are invariant to the metric's unit (a positive scale
   factor; linear also to an offset), so seconds and hours rank alike.
2. **Principles**: each of the five principles scores the mean of its sub-metrics'
   normalised scores (equal weights within a principle; :mod:`aidc.decide.metrics`
   says which metric informs which principle).
3. **Aggregation** with the principle weights ``w`` (normalised to sum 1):

   * weighted sum: ``S_i = sum_p w_p s_ip``;
   * TOPSIS (Hwang & Yoon 1981, *Multiple Attribute Decision Making*, ch. 3.4): with
     weighted scores ``v_ip = w_p s_ip``, ideal ``v+_p = max_i v_ip`` and anti-ideal
     ``v-_p = min_i v_ip``, ``d+_i = ||v_i - v+||``, ``d-_i = ||v_i - v-||`` and
     closeness ``C_i = d-_i / (d+_i + d-_i)``. Step 1 is TOPSIS's normalisation step
     (min-max rather than the textbook vector norm, so that both methods share one
     unit-free scale);
   * AHP (Saaty 1980): weights from pairwise judgements (:mod:`aidc.decide.ahp`), then
     the weighted sum — AHP's additive synthesis.

Scores are compared at 12 decimal places and ties broken by the candidate's key, so the
ranking does not depend on the order candidates arrive in, nor on rounding noise.
Weak point shared by every normalise-then-aggregate method: adding or removing a
candidate can change min and max and so reorder others (rank reversal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from aidc.decide.metrics import METRICS, PRINCIPLES
from aidc.decide.pareto import pareto_mask

__all__ = [
    "Ranking",
    "normalise",
    "order_best_first",
    "pareto_mask",
    "principle_matrix",
    "principle_scores",
    "rank_candidates",
    "score_matrix",
    "topsis",
    "weighted_sum",
]

METHODS = ("weighted-sum", "topsis", "ahp")
SCORE_DECIMALS = 12
"""Scores equal to this many decimals are ties (broken by candidate key)."""


def scaled(values: np.ndarray, name: str) -> np.ndarray:
    """Values on the metric's normalisation scale, oriented so that larger is better.

    Log-scale metrics use ``ln x`` when every finite value is positive (otherwise the
    linear values); non-finite values pass through as NaN.
    """
    v = np.asarray(values, dtype=float)
    spec = METRICS[name]
    if spec.scale == "log":
        finite = np.isfinite(v)
        if finite.any() and np.all(v[finite] > 0):
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(finite, np.log(np.where(finite, v, 1.0)), np.nan)
    return v if spec.direction == "max" else -v


def normalise(values: np.ndarray, name: str) -> np.ndarray:
    """Min-max to [0, 1] on the metric's scale, 1 = best. NaN (unknown) scores 0; a
    column equal for all candidates scores 1."""
    if METRICS[name].scale == "identity":
        v = np.asarray(values, dtype=float)
        return np.where(np.isfinite(v), np.clip(v, 0.0, 1.0), 0.0)
    v = scaled(values, name)
    finite = np.isfinite(v)
    if not finite.any():
        return np.zeros_like(v)
    lo, hi = v[finite].min(), v[finite].max()
    out = np.ones_like(v) if hi == lo else (v - lo) / (hi - lo)
    return np.where(finite, np.clip(out, 0.0, 1.0), 0.0)


def metric_scores(
    columns: Mapping[str, np.ndarray], metric_names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Each metric's normalised score per candidate (step 1)."""
    return {m: normalise(columns[m], m) for m in metric_names}


def principle_scores(
    columns: Mapping[str, np.ndarray], metric_names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Per principle, the mean normalised score of the metrics that inform it (step 2).

    A principle no metric informs scores 1 for every candidate (it cannot discriminate).
    """
    n = len(np.asarray(columns[metric_names[0]])) if metric_names else 0
    by_principle: dict[str, list[np.ndarray]] = {p: [] for p in PRINCIPLES}
    for name in metric_names:
        by_principle[METRICS[name].principle].append(normalise(columns[name], name))
    return {
        p: (np.mean(np.vstack(v), axis=0) if v else np.ones(n)) for p, v in by_principle.items()
    }


def principle_matrix(scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """``n x 5`` matrix of principle scores in :data:`PRINCIPLES` order."""
    return np.column_stack([np.asarray(scores[p], dtype=float) for p in PRINCIPLES])


def weight_vector(weights: Mapping[str, float]) -> np.ndarray:
    """Weights in :data:`PRINCIPLES` order, normalised to sum 1 (missing = 0)."""
    w = np.array([float(weights.get(p, 0.0)) for p in PRINCIPLES])
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return w / w.sum()


def score_matrix(p_scores: np.ndarray, weights: np.ndarray, method: str) -> np.ndarray:
    """Aggregate scores for many weight vectors at once (step 3).

    ``p_scores`` is ``n x P`` (principle scores), ``weights`` is ``m x P`` or ``P``
    (rows normalised to sum 1 here). Returns ``m x n`` (or ``n``) scores in [0, 1].
    """
    single = np.ndim(weights) == 1
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    w = w / w.sum(axis=1, keepdims=True)
    s = np.asarray(p_scores, dtype=float)
    if method in ("weighted-sum", "ahp"):
        out = w @ s.T
    elif method == "topsis":
        # v = s * w with w >= 0, so the ideal per criterion is w * max(s), the anti-ideal
        # w * min(s); the squared distances are then matrix products with w^2.
        gap_best = (s.max(axis=0) - s) ** 2
        gap_worst = (s - s.min(axis=0)) ** 2
        w2 = w**2
        d_plus = np.sqrt(w2 @ gap_best.T)
        d_minus = np.sqrt(w2 @ gap_worst.T)
        denom = d_plus + d_minus
        out = np.where(denom > 0, d_minus / np.where(denom > 0, denom, 1.0), 1.0)
    else:
        raise ValueError(f"unknown ranking method {method!r}; allowed: {', '.join(METHODS)}")
    return out[0] if single else out


def weighted_sum(scores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """``S_i = sum_p w_p s_ip`` with ``w`` normalised to sum 1."""
    return score_matrix(principle_matrix(_complete(scores)), weight_vector(weights), "weighted-sum")


def topsis(scores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """TOPSIS closeness in [0, 1] (1 = the ideal) over benefit criteria ``scores``."""
    return score_matrix(principle_matrix(_complete(scores)), weight_vector(weights), "topsis")


def _complete(scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    n = len(next(iter(scores.values())))
    return {p: np.asarray(scores[p], float) if p in scores else np.ones(n) for p in PRINCIPLES}


def key_ranks(keys: Sequence[str] | np.ndarray) -> np.ndarray:
    """Position of each key in sorted order (ties share a position); strings sort as
    text, an integer array numerically."""
    arr = np.asarray(keys)
    if arr.dtype.kind not in "iu":
        arr = np.asarray(list(keys), dtype=object).astype(str)
    _, inv = np.unique(arr, return_inverse=True)
    return inv.ravel()


def order_best_first(score: np.ndarray, keys: Sequence[str]) -> np.ndarray:
    """Indices best first: higher score (to 12 decimals), then the smaller key."""
    s = np.round(np.asarray(score, dtype=float), SCORE_DECIMALS)
    return np.lexsort((key_ranks(keys), -s))


@dataclass(frozen=True)
class Ranking:
    """The outcome of ranking n candidates (arrays aligned with the input order)."""

    method: str
    weights: dict[str, float]  # normalised, in PRINCIPLES order
    metric_names: tuple[str, ...]
    metric_scores: dict[str, np.ndarray]
    principle_scores: dict[str, np.ndarray]
    score: np.ndarray
    order: np.ndarray  # indices best first
    rank: np.ndarray  # 1 = best, aligned with input
    pareto: np.ndarray  # on the Pareto front of metric_names


def rank_candidates(
    columns: Mapping[str, np.ndarray],
    metric_names: Sequence[str],
    weights: Mapping[str, float],
    method: str,
    keys: Sequence[str],
) -> Ranking:
    """Normalise, score principles, aggregate, order and mark the Pareto front."""
    names = tuple(metric_names)
    if not names:
        raise ValueError("ranking needs at least one metric")
    m_scores = metric_scores(columns, names)
    p_scores = principle_scores(columns, names)
    w = weight_vector(weights)
    score = score_matrix(principle_matrix(p_scores), w, method)
    order = order_best_first(score, keys)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return Ranking(
        method=method,
        weights=dict(zip(PRINCIPLES, (float(x) for x in w), strict=True)),
        metric_names=names,
        metric_scores=m_scores,
        principle_scores=p_scores,
        score=score,
        order=order,
        rank=rank,
        pareto=pareto_mask(columns, names),
    )
