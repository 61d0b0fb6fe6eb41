"""Time of collective operations on a link: the alpha-beta (latency-bandwidth) model.

For ``p`` ranks exchanging a message of ``n`` bytes over links of bandwidth ``B`` per
direction and per-hop latency ``a`` (Thakur, Rabenseifner & Gropp 2005, "Optimization of
collective communication operations in MPICH", IJHPCA 19(1); NCCL's bus-bandwidth
convention, https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md):

* ring all-reduce: ``2 (p-1) a + 2 (p-1)/p * n / B``
* tree all-reduce (double binary tree): ``2 log2(p) a + 2 n / B`` (pipelined, large n)
* all-gather / reduce-scatter (ring): ``(p-1) a + (p-1)/p * n / B`` (``n`` = full output)
* all-to-all (pairwise): ``(p-1) a + (p-1)/p * n / B`` (``n`` = bytes each rank sends in total)
* point-to-point: ``a + n / B``

``bus_efficiency`` is the achieved fraction of link bandwidth (data, calibrated against
measured NCCL results). All arguments broadcast as numpy arrays.
"""

from __future__ import annotations

import numpy as np

ArrayLike = np.ndarray | float


def _check(p: ArrayLike) -> np.ndarray:
    return np.maximum(np.asarray(p, dtype=float), 1.0)


def allreduce_time_s(
    n_bytes: ArrayLike,
    n_ranks: ArrayLike,
    bw_bytes_per_s: ArrayLike,
    latency_s: ArrayLike,
    *,
    algorithm: str = "ring",
    bus_efficiency: ArrayLike = 1.0,
) -> np.ndarray:
    p = _check(n_ranks)
    bw = np.asarray(bw_bytes_per_s, dtype=float) * bus_efficiency
    if algorithm == "ring":
        t = 2.0 * (p - 1) * latency_s + 2.0 * (p - 1) / p * np.asarray(n_bytes, float) / bw
    elif algorithm == "tree":
        t = 2.0 * np.log2(p) * latency_s + 2.0 * np.asarray(n_bytes, float) / bw
    else:
        raise ValueError(f"unknown all-reduce algorithm {algorithm!r}")
    return np.where(p > 1, t, 0.0)


def allgather_time_s(
    n_bytes: ArrayLike,
    n_ranks: ArrayLike,
    bw_bytes_per_s: ArrayLike,
    latency_s: ArrayLike,
    *,
    bus_efficiency: ArrayLike = 1.0,
) -> np.ndarray:
    """``n_bytes`` is the gathered (output) size on each rank."""
    p = _check(n_ranks)
    bw = np.asarray(bw_bytes_per_s, dtype=float) * bus_efficiency
    t = (p - 1) * latency_s + (p - 1) / p * np.asarray(n_bytes, float) / bw
    return np.where(p > 1, t, 0.0)


def reduce_scatter_time_s(
    n_bytes: ArrayLike,
    n_ranks: ArrayLike,
    bw_bytes_per_s: ArrayLike,
    latency_s: ArrayLike,
    *,
    bus_efficiency: ArrayLike = 1.0,
) -> np.ndarray:
    """``n_bytes`` is the input size on each rank (it leaves with ``n/p``)."""
    return allgather_time_s(
        n_bytes, n_ranks, bw_bytes_per_s, latency_s, bus_efficiency=bus_efficiency
    )


def alltoall_time_s(
    n_bytes: ArrayLike,
    n_ranks: ArrayLike,
    bw_bytes_per_s: ArrayLike,
    latency_s: ArrayLike,
    *,
    bus_efficiency: ArrayLike = 1.0,
) -> np.ndarray:
    """``n_bytes`` is what each rank sends in total (a ``1/p`` share stays local)."""
    return allgather_time_s(
        n_bytes, n_ranks, bw_bytes_per_s, latency_s, bus_efficiency=bus_efficiency
    )


def p2p_time_s(
    n_bytes: ArrayLike,
    bw_bytes_per_s: ArrayLike,
    latency_s: ArrayLike,
    *,
    bus_efficiency: ArrayLike = 1.0,
) -> np.ndarray:
    bw = np.asarray(bw_bytes_per_s, dtype=float) * bus_efficiency
    return np.asarray(latency_s, float) + np.asarray(n_bytes, float) / bw
