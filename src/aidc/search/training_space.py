"""Enumerate training candidates: accelerator x device count x parallel plan.

The plan space for one (model, accelerator, device count) is every
``tp x pp x dp = n`` with ``tp`` within the scale-up domain, ``pp`` dividing the
layers sensibly, ZeRO stage, recompute mode and micro-batch; the global batch fixes the
gradient accumulation. Everything is built as flat numpy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aidc.model.training import RECOMPUTE_CODES, TrainingPlanArrays

TP_CHOICES = (1, 2, 4, 8, 16, 32, 64, 72)
PP_CHOICES = (1, 2, 4, 8, 16, 32, 64)
ZERO_CHOICES = (1, 3)
MICRO_BATCH_CHOICES = (1, 2, 4, 8)


def device_counts(max_devices: int, devices_per_node: int) -> list[int]:
    """Powers of two below a node, then whole nodes doubling, up to ``max_devices``."""
    out = [n for n in (1, 2, 4) if n < devices_per_node and n <= max_devices]
    n = devices_per_node
    while n <= max_devices:
        out.append(n)
        n *= 2
    return out


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
) -> TrainingSpace:
    """All valid plans for every accelerator (given by its scale-up domain and node size)."""
    rec_modes = (
        list(RECOMPUTE_CODES.values()) if recompute == "auto" else [RECOMPUTE_CODES[recompute]]
    )
    rows: list[tuple[int, int, int, int, int, int, int, int, int]] = []
    for ai, (domain, per_node) in enumerate(zip(accel_domain, accel_devices_per_node, strict=True)):
        for n in device_counts(max_devices, per_node):
            for tp in TP_CHOICES:
                if tp > n or tp > max(domain, 1) or n_heads % tp:
                    continue
                for pp in PP_CHOICES:
                    if tp * pp > n or n % (tp * pp) or pp > n_layers:
                        continue
                    dp = n // (tp * pp)
                    for mb in MICRO_BATCH_CHOICES:
                        per_step = mb * dp
                        if per_step > global_batch_seqs:
                            continue
                        ga = max(1, round(global_batch_seqs / per_step))
                        for zero in ZERO_CHOICES:
                            for rc in rec_modes:
                                rows.append((ai, n, tp, pp, dp, mb, ga, zero, rc))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 9)
    plan = TrainingPlanArrays(
        n_devices=arr[:, 1],
        tp=arr[:, 2],
        pp=arr[:, 3],
        dp=arr[:, 4],
        micro_batch=arr[:, 5],
        grad_accum=arr[:, 6],
        zero_stage=arr[:, 7],
        recompute=arr[:, 8],
    )
    return TrainingSpace(accel_index=arr[:, 0], plan=plan)
