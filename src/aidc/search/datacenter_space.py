"""Enumerate data-center compositions: one design per workload, dedicated or shared pools.

A composition picks, for every workload, one of its candidate designs (each design
carries its accelerator, device count and on-prem or cloud deployment, so the mix of
deployments is part of the choice). Workloads whose designs use the same accelerator
and deployment may share one pool instead of running dedicated ones. Everything is
built as integer index arrays (``compositions x workloads``) so that metrics are sums
and gathers over numpy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_COMPOSITIONS = 200_000
"""Cap on the product of per-workload option counts (the lowest-ranked options of the
workload with most options are dropped first)."""


def trim_options(ranked_counts: Sequence[int], cap: int = MAX_COMPOSITIONS) -> list[int]:
    """Per-workload option counts whose product is at most ``cap`` (each keeps >= 1).

    Options are assumed ordered best first; the workload with the most options loses
    its last one until the product fits.
    """
    counts = [max(1, int(c)) for c in ranked_counts]
    while math.prod(counts) > cap:
        k = int(np.argmax(counts))
        if counts[k] == 1:
            break
        counts[k] -= 1
    return counts


def enumerate_compositions(counts: Sequence[int]) -> np.ndarray:
    """Every combination of one option per workload: ``C x W`` option indices, in
    row-major order (the last workload varies fastest), C = prod(counts)."""
    if not counts:
        return np.zeros((1, 0), dtype=np.int64)
    grids = np.indices(tuple(int(c) for c in counts), dtype=np.int64)
    return grids.reshape(len(counts), -1).T


@dataclass(frozen=True)
class PoolSharing:
    """For shared pools: which workloads land in one pool, and who keeps the spares.

    ``pool_of[c, w]`` numbers the pools of composition c (0..); ``keeps_spares[c, w]`` is
    true for the workload whose spare capacity covers its pool (the largest spare
    count, first workload on ties); the others' spares are pooled away.
    """

    pool_of: np.ndarray  # C x W int
    n_pools: np.ndarray  # C int
    keeps_spares: np.ndarray  # C x W bool


def share_pools(pool_key: np.ndarray, spares: np.ndarray) -> PoolSharing:
    """Group workloads by pool key per composition (``C x W`` ints and spare counts).

    Workload w joins the pool of the first workload with the same key; within a pool the
    spare devices needed are the largest single workload's spares (one failure at a
    time, covered by a spare that can load any of the pool's models).
    """
    c, w = pool_key.shape
    pool_of = np.zeros((c, w), dtype=np.int64)
    first_of = np.zeros((c, w), dtype=np.int64)  # first workload index with the same key
    n_pools = np.zeros(c, dtype=np.int64)
    for j in range(w):
        same = pool_key[:, :j] == pool_key[:, j : j + 1]
        has = same.any(axis=1) if j else np.zeros(c, dtype=bool)
        first = np.where(has, same.argmax(axis=1) if j else 0, j)
        first_of[:, j] = first
        pool_of[:, j] = np.where(has, pool_of[np.arange(c), first], n_pools)
        n_pools = n_pools + (~has)
    keeps = np.ones((c, w), dtype=bool)
    for j in range(w):
        for k in range(w):
            if k == j:
                continue
            same = pool_of[:, k] == pool_of[:, j]
            beats = (spares[:, k] > spares[:, j]) | ((spares[:, k] == spares[:, j]) & (k < j))
            keeps[:, j] &= ~(same & beats)
    return PoolSharing(pool_of=pool_of, n_pools=n_pools, keeps_spares=keeps)
