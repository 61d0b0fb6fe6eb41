"""Pareto front over declared objectives, vectorised to scale to 10^5 candidates.

A candidate *a* dominates *b* when *a* is at least as good as *b* on every objective and
strictly better on one (each objective's direction comes from the metric registry, never
guessed). The front is the set of candidates no other candidate dominates.

Algorithm (a sort-first block-nested-loop, Godfrey, Shipley & Gryz 2005, "Maximal
vector computation in large data sets"): every column is replaced by its dense rank
(dominance is purely ordinal, so this is exact and removes floating-point ties and
scale), points are sorted by the sum of their ranks, best first. If *a* dominates *b*
then ``rank_sum(a) > rank_sum(b)``, so a point can only be dominated by points before
it, and — by transitivity — by one of the front points found before it. Blocks of
points are tested at once against the front so far and against each other with numpy
broadcasting. Cost is O(n log n + n·f·k) for front size f and k objectives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from aidc.decide.metrics import METRICS

BLOCK = 256
"""Points tested per vectorised block."""
FRONT_CHUNK = 512
"""Front points compared with a block at a time (memory ~ BLOCK x FRONT_CHUNK x k)."""


def oriented_matrix(columns: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """``n x k`` matrix turned so that larger is better; NaN (unknown) becomes -inf."""
    if not names:
        raise ValueError("needs at least one metric")
    cols = []
    for name in names:
        v = np.asarray(columns[name], dtype=float)
        v = v if METRICS[name].direction == "max" else -v
        cols.append(np.where(np.isnan(v), -np.inf, v))
    return np.column_stack(cols)


def _dense_ranks(points: np.ndarray) -> np.ndarray:
    """Each column replaced by its dense rank (0 = worst); order-preserving and exact."""
    ranks = np.empty(points.shape, dtype=np.int32)
    for j in range(points.shape[1]):
        _, inv = np.unique(points[:, j], return_inverse=True)
        ranks[:, j] = inv.ravel()
    return ranks


def _ge_all(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``out[i, j] = all(a[i] >= b[j])``, column by column (numpy's ``all`` over a short
    last axis is several times slower than this loop)."""
    out = a[:, None, 0] >= b[None, :, 0]
    for j in range(1, a.shape[1]):
        out &= a[:, None, j] >= b[None, :, j]
    return out


def pareto_mask_points(points: np.ndarray) -> np.ndarray:
    """True for rows of ``points`` (larger is better in every column) on the Pareto front.

    Equal points do not dominate each other: duplicates on the front are all kept.
    """
    pts = np.asarray(points)
    if pts.ndim != 2:
        raise ValueError("points must be a 2-D array (candidates x objectives)")
    n = pts.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    ranks = _dense_ranks(pts)
    sums = ranks.sum(axis=1, dtype=np.int64)
    order = np.argsort(-sums, kind="stable")
    r_sorted = ranks[order]
    s_sorted = sums[order]
    on_front_sorted = np.zeros(n, dtype=bool)
    k = pts.shape[1]
    front = np.empty((n, k), dtype=r_sorted.dtype)  # filled up to n_front
    front_sums = np.empty(n, dtype=s_sorted.dtype)
    n_front = 0
    for start in range(0, n, BLOCK):
        blk = r_sorted[start : start + BLOCK]
        blk_sums = s_sorted[start : start + BLOCK]
        # dominated by another point of the same block
        ge_in = _ge_all(blk, blk)
        alive = ~np.any(ge_in & (blk_sums[:, None] > blk_sums[None, :]), axis=0)
        # dominated by a front point found so far: >= everywhere and a larger rank sum.
        # The front is in rank-sum order, strongest first, so most dominated points die
        # in the first chunks and the rest are compared with fewer points.
        for f0 in range(0, n_front, FRONT_CHUNK):
            live = np.flatnonzero(alive)
            if not len(live):
                break
            fr = front[f0 : min(f0 + FRONT_CHUNK, n_front)]
            fs = front_sums[f0 : min(f0 + FRONT_CHUNK, n_front)]
            sub = blk[live]
            ge = _ge_all(fr, sub)
            dead = np.any(ge & (fs[:, None] > blk_sums[live][None, :]), axis=0)
            alive[live[dead]] = False
        on_front_sorted[start : start + len(blk)] = alive
        m = int(alive.sum())
        front[n_front : n_front + m] = blk[alive]
        front_sums[n_front : n_front + m] = blk_sums[alive]
        n_front += m
    mask = np.zeros(n, dtype=bool)
    mask[order] = on_front_sorted
    return mask


def pareto_mask(columns: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """True for candidates on the Pareto front of the metrics ``names``.

    Directions come from :mod:`aidc.decide.metrics`; NaN counts as the worst value.
    """
    return pareto_mask_points(oriented_matrix(columns, names))


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether oriented point ``a`` dominates ``b`` (larger is better)."""
    return bool(np.all(a >= b) and np.any(a > b))
