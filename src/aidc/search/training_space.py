"""Enumerate training candidates: accelerator x device count x parallel plan.

For one cluster (``n`` devices of one accelerator) the valid plans are every
``tp x cp x pp x dp = n`` with

* ``tp`` a power of two within the scale-up domain that divides the attention heads;
* ``pp`` at most the number of layers, with ``vp`` (interleaved virtual stages) only when
  ``pp > 1`` and every one of the ``pp x vp`` chunks holds at least one layer (chunks
  differ by at most one layer; the busiest device sets the pace,
  :func:`aidc.model.memory.layers_per_stage`);
* ``cp`` (context parallelism) only for sequences of at least ``CP_MIN_SEQ_LEN`` tokens,
  keeping at least ``CP_MIN_TOKENS_PER_RANK`` tokens per rank;
* ``ep`` (expert parallelism, MoE only) dividing both the experts and ``dp``;
* a micro-batch that fits the global batch, which then fixes gradient accumulation; the
  global batch is the workload's, or, when it names none, :func:`default_global_batch_tokens`
  of the cluster (it grows with the device count, as large runs' batches do);
* ZeRO stage 1 or 3 and each allowed recompute mode.

Everything is built with numpy broadcasting: a whole cluster's plan space is a few
array operations (``benchmarks/training_plans_speed.py`` reports plans/s).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from aidc.model.training import RECOMPUTE_CODES, TrainingPlanArrays

TP_CHOICES = (1, 2, 4, 8, 16, 32, 64, 72)
PP_CHOICES = (1, 2, 4, 8, 16, 32, 64)
CP_CHOICES = (1, 2, 4, 8)
VP_CHOICES = (1, 2, 4)
EP_CHOICES = (1, 2, 4, 8, 16, 32, 64)
ZERO_CHOICES = (1, 3)
MICRO_BATCH_CHOICES = (1, 2, 4, 8)
CP_MIN_SEQ_LEN = 16384
CP_MIN_TOKENS_PER_RANK = 4096

DEFAULT_GLOBAL_BATCH_TOKENS = 4e6
"""Global batch when the workload names none, on clusters of up to ~4k devices: ~4 M
tokens, as GPT-3, Llama 2 and the first stage of Llama 3 used."""
MIN_BATCH_TOKENS_PER_DEVICE = 1024.0
"""Large clusters train with a batch that grows with the device count, so that each
data-parallel replica keeps enough micro-batches to fill its pipeline: Megatron-LM's
scaling runs use about one 2048-token sequence per GPU (Narayanan et al. 2021,
arXiv 2104.04473, Table 1: 1T parameters, 3072 GPUs, batch 3072), Llama 3 405B 16 M
tokens on 8192 and on 16384 H100s (Dubey et al. 2024, arXiv 2407.21783, Table 4: 2048 and
1024 tokens per GPU). The default batch is at least this many tokens per device, the
lower of those shares."""


def interleaving_fits(pp: np.ndarray, vp: np.ndarray, n_layers: int) -> np.ndarray:
    """``vp`` interleaved chunks per device are possible: no interleaving, or a pipeline
    whose ``pp x vp`` chunks each hold at least one layer."""
    return (vp == 1) | ((pp > 1) & (pp * vp <= n_layers))


def default_global_batch_tokens(n_devices: float) -> float:
    """Global batch (tokens) for a cluster of ``n_devices`` when the workload names none:
    :data:`DEFAULT_GLOBAL_BATCH_TOKENS`, or :data:`MIN_BATCH_TOKENS_PER_DEVICE` per device
    on clusters large enough for that to be more."""
    return max(DEFAULT_GLOBAL_BATCH_TOKENS, MIN_BATCH_TOKENS_PER_DEVICE * float(n_devices))


def global_batch_rule(stated_tokens: float | None) -> tuple[float, float]:
    """``(global batch tokens, min_batch_tokens_per_device)`` for
    :func:`enumerate_training_space`: a stated batch as is, otherwise the default rule of
    :func:`default_global_batch_tokens` (it grows with the cluster)."""
    if stated_tokens:
        return stated_tokens, 0.0
    return DEFAULT_GLOBAL_BATCH_TOKENS, MIN_BATCH_TOKENS_PER_DEVICE


PLAN_FIELDS = ("tp", "pp", "dp", "cp", "ep", "vp", "micro_batch", "zero_stage", "recompute")


def device_counts(max_devices: int, devices_per_node: int) -> list[int]:
    """Powers of two below a node, then whole nodes doubling, up to ``max_devices``."""
    out = [n for n in (1, 2, 4) if n < devices_per_node and n <= max_devices]
    n = devices_per_node
    while n <= max_devices:
        out.append(n)
        n *= 2
    return out


def enumerate_plans(
    n_devices: int,
    *,
    n_layers: int,
    n_heads: int,
    seq_len: int,
    global_batch_seqs: int,
    scaleup_domain: int,
    n_experts: int = 1,
    recompute: str = "auto",
    fixed: Mapping[str, int | str] | None = None,
) -> TrainingPlanArrays:
    """Every valid plan for one cluster of ``n_devices``; ``fixed`` pins plan fields
    (``tp``, ``pp``, ``dp``, ``cp``, ``ep``, ``vp``, ``micro_batch``, ``zero_stage``,
    ``recompute``) to given values. An empty result means no plan satisfies them."""
    fixed = dict(fixed or {})
    rec = fixed.pop("recompute", recompute)
    rec_codes = list(RECOMPUTE_CODES.values()) if rec == "auto" else [RECOMPUTE_CODES[str(rec)]]

    def choices(name: str, default: Sequence[int]) -> np.ndarray:
        return np.array([int(fixed[name])] if name in fixed else default, dtype=np.int64)

    tp = choices("tp", TP_CHOICES)
    pp = choices("pp", PP_CHOICES)
    cp = choices("cp", CP_CHOICES if seq_len >= CP_MIN_SEQ_LEN else (1,))
    vp = choices("vp", VP_CHOICES)
    ep = choices("ep", EP_CHOICES if n_experts > 1 else (1,))
    mb = choices("micro_batch", MICRO_BATCH_CHOICES)
    zero = choices("zero_stage", ZERO_CHOICES)
    rc = np.array(rec_codes, dtype=np.int64)
    grids = np.meshgrid(tp, pp, cp, vp, ep, mb, zero, rc, indexing="ij")
    tp_, pp_, cp_, vp_, ep_, mb_, z_, rc_ = (g.ravel() for g in grids)
    model_par = tp_ * pp_ * cp_
    dp_ = n_devices // np.maximum(model_par, 1)
    ok = (model_par * dp_ == n_devices) & (dp_ >= 1)
    if "dp" in fixed:
        ok &= dp_ == int(fixed["dp"])
    ok &= (tp_ <= max(scaleup_domain, 1)) & (n_heads % tp_ == 0)
    ok &= pp_ <= n_layers
    ok &= interleaving_fits(pp_, vp_, n_layers)
    ok &= (cp_ == 1) | ((seq_len % (2 * cp_) == 0) & (seq_len // cp_ >= CP_MIN_TOKENS_PER_RANK))
    ok &= (ep_ == 1) | ((n_experts % ep_ == 0) & (dp_ % ep_ == 0))
    ok &= mb_ * dp_ <= max(global_batch_seqs, 1)
    idx = np.nonzero(ok)[0]
    dp_ok = dp_[idx]
    ga = np.maximum(1, np.rint(global_batch_seqs / (mb_[idx] * dp_ok))).astype(np.int64)
    return TrainingPlanArrays(
        n_devices=np.full(len(idx), n_devices, dtype=np.int64),
        tp=tp_[idx],
        pp=pp_[idx],
        dp=dp_ok,
        micro_batch=mb_[idx],
        grad_accum=ga,
        zero_stage=z_[idx],
        recompute=rc_[idx],
        cp=cp_[idx],
        ep=ep_[idx],
        vp=vp_[idx],
    )


@dataclass(frozen=True)
class TrainingSpace:
    accel_index: np.ndarray  # index into the accelerator list given to enumerate
    plan: TrainingPlanArrays

    def __len__(self) -> int:
        return len(self.accel_index)


def enumerate_training_space(
    *,
    n_layers: int,
    n_heads: int,
    seq_len: int,
    global_batch_seqs: int,
    accel_domain: Sequence[int],
    accel_devices_per_node: Sequence[int],
    max_devices: int,
    recompute: str,
    n_experts: int = 1,
    min_batch_tokens_per_device: float = 0.0,
) -> TrainingSpace:
    """All valid plans for every accelerator (given by its scale-up domain and node
    size) and every device count :func:`device_counts` proposes.

    ``global_batch_seqs`` is the global batch; with ``min_batch_tokens_per_device`` a
    cluster of ``n`` devices trains with at least ``n x`` that many tokens a step (the
    default batch rule, :func:`default_global_batch_tokens`)."""
    plans: list[TrainingPlanArrays] = []
    accel: list[np.ndarray] = []
    # accelerators with the same scale-up domain share their plan spaces: build each once
    seen: dict[tuple[int, int], TrainingPlanArrays] = {}
    for ai, (domain, per_node) in enumerate(zip(accel_domain, accel_devices_per_node, strict=True)):
        for n in device_counts(max_devices, per_node):
            p = seen.get((domain, n))
            if p is None:
                gbs = max(
                    global_batch_seqs,
                    math.ceil(min_batch_tokens_per_device * n / max(seq_len, 1) - 1e-9),
                )
                p = seen[(domain, n)] = enumerate_plans(
                    n,
                    n_layers=n_layers,
                    n_heads=n_heads,
                    seq_len=seq_len,
                    global_batch_seqs=gbs,
                    scaleup_domain=domain,
                    n_experts=n_experts,
                    recompute=recompute,
                )
            plans.append(p)
            accel.append(np.full(len(p), ai, dtype=np.int64))
    return TrainingSpace(accel_index=np.concatenate(accel), plan=concat_plans(plans))


def concat_plans(plans: Sequence[TrainingPlanArrays]) -> TrainingPlanArrays:
    names = [f.name for f in fields(TrainingPlanArrays)]
    return TrainingPlanArrays(
        **{k: np.concatenate([np.asarray(getattr(p, k)) for p in plans]) for k in names}
    )
