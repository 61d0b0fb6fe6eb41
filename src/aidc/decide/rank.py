"""Pareto front and multi-criteria ranking over declared metrics.

* :func:`pareto_mask` — candidates no other candidate dominates (all metrics at least as
  good, one strictly better), using each metric's declared direction.
* :func:`principle_scores` — each principle's score in [0, 1] per candidate, the mean
  of its sub-metrics after min-max normalisation (direction-aware; a metric that is
  equal for all candidates scores 1 for all).
* :func:`topsis` and :func:`weighted_sum` — closeness to the ideal over the principle
  scores (Hwang & Yoon 1981) or their weighted mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from aidc.decide.metrics import METRICS, PRINCIPLES


def _oriented(values: np.ndarray, name: str) -> np.ndarray:
    """Values turned so that larger is better."""
    return values if METRICS[name].direction == "max" else -values


def pareto_mask(columns: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """True for candidates on the Pareto front of ``names`` (NaN counts as worst)."""
    if not names:
        raise ValueError("pareto_mask needs at least one metric")
    pts = np.column_stack([_oriented(np.asarray(columns[n], float), n) for n in names])
    pts = np.where(np.isnan(pts), -np.inf, pts)
    n = len(pts)
    keep = np.ones(n, dtype=bool)
    order = np.argsort(-pts[:, 0], kind="stable")
    for i in order:
        if not keep[i]:
            continue
        dominated = np.all(pts >= pts[i], axis=1) & np.any(pts > pts[i], axis=1)
        if dominated.any():
            keep[i] = False
            continue
        # i dominates these: drop them early
        beaten = np.all(pts[i] >= pts, axis=1) & np.any(pts[i] > pts, axis=1)
        keep &= ~beaten
    return keep


def normalise(values: np.ndarray, name: str) -> np.ndarray:
    """Min-max to [0, 1], 1 = best. NaN (unknown) scores 0; constant columns score 1."""
    v = _oriented(np.asarray(values, float), name)
    finite = np.isfinite(v)
    if not finite.any():
        return np.zeros_like(v)
    lo, hi = v[finite].min(), v[finite].max()
    out = np.ones_like(v) if hi == lo else (v - lo) / (hi - lo)
    return np.where(finite, out, 0.0)


def principle_scores(
    columns: Mapping[str, np.ndarray], metric_names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Per principle, the mean normalised score of the metrics that inform it."""
    n = len(next(iter(columns.values())))
    by_principle: dict[str, list[np.ndarray]] = {p: [] for p in PRINCIPLES}
    for name in metric_names:
        by_principle[METRICS[name].principle].append(normalise(columns[name], name))
    return {
        p: (np.mean(np.vstack(v), axis=0) if v else np.ones(n)) for p, v in by_principle.items()
    }


def weighted_sum(scores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    total = sum(weights.values())
    return sum(weights[p] / total * scores[p] for p in weights)  # type: ignore[return-value]


def topsis(scores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """TOPSIS closeness in [0, 1] (1 = ideal) over benefit criteria ``scores``.

    Vector normalisation per criterion, weighting, then distance to the ideal and anti-
    ideal points: ``C = d- / (d+ + d-)``.
    """
    names = [p for p in weights if weights[p] > 0]
    m = np.column_stack([np.asarray(scores[p], float) for p in names])
    norms = np.linalg.norm(m, axis=0)
    norms[norms == 0] = 1.0
    w = np.array([weights[p] for p in names], float)
    v = m / norms * (w / w.sum())
    ideal, anti = v.max(axis=0), v.min(axis=0)
    d_plus = np.linalg.norm(v - ideal, axis=1)
    d_minus = np.linalg.norm(v - anti, axis=1)
    denom = d_plus + d_minus
    return np.where(denom > 0, d_minus / np.where(denom > 0, denom, 1.0), 1.0)
