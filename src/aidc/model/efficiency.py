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
* fused (Flash) attention runs at ``e(s, d) = e_max * s / (s + s_half) * g(d) / g(128)`` of
  peak in the forward pass and ``backward_relative`` times that in the backward pass, with
  ``g(d) = min(d, 128) / (min(d, 128) + d_half)`` the head-dimension factor
  (:data:`ATTENTION_HEAD_DIM_HALF`; the records are measured at head dim 128).

``scale`` multiplies an efficiency: the fraction of kernel-benchmark speed a training
run keeps (launch gaps, synchronisation, power-capped clocks); it is a calibration
value, not a kernel property. The training model gives GEMMs and attention separate
scales (see :func:`aidc.model.training.estimate_training`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from aidc.catalog.efficiency import KernelEfficiency
from aidc.catalog.schema import Precision
from aidc.units import MICROSECOND

ArrayLike = np.ndarray | float

ATTENTION_REFERENCE_HEAD_DIM = 128.0
"""Head dimension of the attention kernel records' measurements."""
ATTENTION_HEAD_DIM_HALF = 36.0
"""Head dimension at which a FlashAttention kernel's efficiency halves, saturating at 128.

Each tile of a flash-attention kernel does ``O(d)`` matmul work per score element against
``O(1)`` softmax work (exponentials, rescaling, row max/sum), so small heads spend a larger
share of time off the tensor cores. Measured: in aiconfigurator-core 0.12.0's H100 SXM
context-attention latencies of vLLM's FlashAttention kernel
(``h100_sxm/attention/vllm/0.14.0/context_attention_perf.parquet``, same batch, sequence
length and heads, sequence >= 1024) head dim 64 runs at 0.81-0.83 of head dim 128's
FLOP/s, giving ``d_half = 36``; head dims 192 and 256 run at 0.95-1.05 of head dim 128,
hence the cap at 128. FlashAttention-2 on A100 shows the same ordering (Dao 2023,
arXiv 2307.08691, Fig. 4: head dim 64 below head dim 128 at every sequence length)."""


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


def attention_head_dim_factor(head_dim: ArrayLike) -> np.ndarray:
    """``g(d) / g(128)``: attention efficiency at head dim ``d`` relative to the records'."""
    d = np.minimum(np.maximum(np.asarray(head_dim, dtype=float), 1.0), ATTENTION_REFERENCE_HEAD_DIM)
    ref = ATTENTION_REFERENCE_HEAD_DIM
    return (d / (d + ATTENTION_HEAD_DIM_HALF)) / (ref / (ref + ATTENTION_HEAD_DIM_HALF))


def attention_efficiency(
    seq_len: ArrayLike,
    eff: KernelEfficiencyArrays,
    scale: ArrayLike = 1.0,
    head_dim: ArrayLike = ATTENTION_REFERENCE_HEAD_DIM,
) -> np.ndarray:
    """Forward efficiency of fused attention at sequence length ``seq_len`` (keys seen)
    and head dimension ``head_dim``."""
    s = np.maximum(np.asarray(seq_len, dtype=float), 1.0)
    return eff.attn_max * scale * s / (s + eff.attn_seq_half) * attention_head_dim_factor(head_dim)
