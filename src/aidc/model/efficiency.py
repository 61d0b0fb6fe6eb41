"""Achieved compute efficiency as a function of shape, precision and device.

Two curves, whose parameters are data (``catalog/data/kernel_efficiency.yaml``, fitted to
measured kernel timings) and are gathered here into per-candidate arrays:

* a GEMM of ``m x k`` by ``k x n`` takes
  ``t = max(2 m n k / (P e(m,n,k)), B / W) + t_0`` with
  ``e(m, n, k) = e_max * m/(m + m_half) * n/(n + n_half) * k/(k + k_half)``,
  ``P`` the dense peak, ``B = (m k + k n + m n) x bytes`` the operand traffic, ``W`` the
  memory bandwidth and ``t_0`` a fixed per-call overhead (launch, tail wave). Small
  dimensions starve the tensor cores (tile quantisation, short main loops), which the
  saturating factors capture;
* fused (Flash) attention runs at ``e(s) = e_max * s / (s + s_half)`` of peak in the
  forward pass and ``backward_relative`` times that in the backward pass.

``scale`` multiplies both efficiencies: the fraction of kernel speed that a training
framework keeps between kernels (launch gaps, synchronisation, power-capped clocks); it
is a calibration value, not a kernel property.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from aidc.catalog.efficiency import KernelEfficiency
from aidc.catalog.schema import Precision
from aidc.units import MICROSECOND

ArrayLike = np.ndarray | float


@dataclass(frozen=True)
class KernelEfficiencyArrays:
    """Per-candidate curve parameters (aligned float arrays; ``architecture`` is the GPU
    architecture name the calibration's sustained-compute factor is looked up by)."""

    architecture: np.ndarray  # object
    gemm_max: np.ndarray
    gemm_m_half: np.ndarray
    gemm_n_half: np.ndarray
    gemm_k_half: np.ndarray
    gemm_overhead_s: np.ndarray
    attn_max: np.ndarray
    attn_seq_half: np.ndarray
    attn_backward_relative: np.ndarray

    def take(self, idx: np.ndarray) -> KernelEfficiencyArrays:
        return KernelEfficiencyArrays(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def kernel_efficiency_arrays(
    records: Sequence[KernelEfficiency], precision: Precision | Sequence[Precision]
) -> KernelEfficiencyArrays:
    """Gather the curve parameters for each candidate's device record and GEMM precision.

    Attention runs in 16-bit whatever the GEMM precision (FP8 training keeps attention in
    BF16, as Transformer Engine and torchao's Float8 do).
    """
    n = len(records)
    precs = [precision] * n if isinstance(precision, Precision | str) else list(precision)
    gem = [r.gemm_for(Precision(p)) for r, p in zip(records, precs, strict=True)]
    att = [r.attention_for(Precision.BF16) for r in records]

    def arr(values: list[float]) -> np.ndarray:
        return np.array(values, dtype=float)

    return KernelEfficiencyArrays(
        architecture=np.array([r.architecture for r in records], dtype=object),
        gemm_max=arr([g.max_efficiency for g in gem]),
        gemm_m_half=arr([g.m_half for g in gem]),
        gemm_n_half=arr([g.n_half for g in gem]),
        gemm_k_half=arr([g.k_half for g in gem]),
        gemm_overhead_s=arr([g.overhead_us * MICROSECOND for g in gem]),
        attn_max=arr([a.max_efficiency if a else np.nan for a in att]),
        attn_seq_half=arr([a.seq_half if a else np.nan for a in att]),
        attn_backward_relative=arr([a.backward_relative if a else np.nan for a in att]),
    )


def gemm_efficiency(
    m: ArrayLike, n: ArrayLike, k: ArrayLike, eff: KernelEfficiencyArrays, scale: ArrayLike = 1.0
) -> np.ndarray:
    """Fraction of dense peak a ``m x k @ k x n`` GEMM achieves (compute-bound part)."""
    m, n, k = (np.maximum(np.asarray(x, dtype=float), 1.0) for x in (m, n, k))
    return (
        eff.gemm_max
        * scale
        * m
        / (m + eff.gemm_m_half)
        * n
        / (n + eff.gemm_n_half)
        * k
        / (k + eff.gemm_k_half)
    )


def gemm_time_s(
    m: ArrayLike,
    n: ArrayLike,
    k: ArrayLike,
    *,
    peak_flops_per_s: ArrayLike,
    mem_bw_bytes_per_s: ArrayLike,
    bytes_per_element: ArrayLike,
    eff: KernelEfficiencyArrays,
    scale: ArrayLike = 1.0,
) -> np.ndarray:
    """Time of one GEMM: the slower of compute at the achieved efficiency and operand
    traffic at memory bandwidth, plus the per-call overhead. Zero-sized GEMMs take 0."""
    m_, n_, k_ = (np.asarray(x, dtype=float) for x in (m, n, k))
    flops = 2.0 * m_ * n_ * k_
    compute = flops / (np.asarray(peak_flops_per_s) * gemm_efficiency(m_, n_, k_, eff, scale))
    traffic = (m_ * k_ + k_ * n_ + m_ * n_) * bytes_per_element / mem_bw_bytes_per_s
    return np.where(flops > 0, np.maximum(compute, traffic) + eff.gemm_overhead_s, 0.0)


def attention_efficiency(
    seq_len: ArrayLike, eff: KernelEfficiencyArrays, scale: ArrayLike = 1.0
) -> np.ndarray:
    """Forward efficiency of fused attention at sequence length ``seq_len`` (keys seen)."""
    s = np.maximum(np.asarray(seq_len, dtype=float), 1.0)
    return eff.attn_max * scale * s / (s + eff.attn_seq_half)
