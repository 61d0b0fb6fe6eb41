"""Training step time, memory and energy for many candidate plans at once.

First-cut analytical model (the seam the calibrated model fills):

* step time = compute / (devices x peak x efficiency) x (1 + pipeline bubble)
  + exposed tensor-parallel and data-parallel communication;
* memory per device = weights + gradients + optimizer states (sharded by ZeRO stage
  and divided by TP x PP) + activations (Korthikanti et al. 2022, eq. 2, by recompute mode).

Every function takes numpy arrays (one element per candidate) and returns arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aidc.catalog.schema import ModelArch
from aidc.model.hardware import HardwareArrays
from aidc.model.transformer import forward_flops_per_token, param_counts

RECOMPUTE_CODES = {"none": 0, "selective": 1, "full": 2}

# Bytes per parameter of optimizer state (fp32 unless stated), per optimizer.
# Derivations: SGD keeps nothing; momentum one buffer; RMSprop one square-average buffer;
# Adam/AdamW two moments; Adafactor factored second moment (~0 per param for matrices);
# 8-bit Adam two 1-byte moments (+ small per-block scales, ignored).
OPTIMIZER_STATE_BYTES_PER_PARAM: dict[str, float] = {
    "sgd": 0.0,
    "momentum": 4.0,
    "rmsprop": 4.0,
    "adam": 8.0,
    "adamw": 8.0,
    "adafactor": 0.0,
    "adam8bit": 2.0,
}


@dataclass(frozen=True)
class TrainingPlanArrays:
    """Parallel plan per candidate (all int arrays of one length)."""

    n_devices: np.ndarray
    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    micro_batch: np.ndarray
    grad_accum: np.ndarray
    zero_stage: np.ndarray
    recompute: np.ndarray  # RECOMPUTE_CODES


@dataclass(frozen=True)
class TrainingEstimate:
    """Outputs per candidate, SI units."""

    step_time_s: np.ndarray
    compute_time_s: np.ndarray
    comm_exposed_s: np.ndarray
    bubble_fraction: np.ndarray
    tokens_per_s: np.ndarray
    model_flops_per_step: np.ndarray
    hardware_flops_per_step: np.ndarray
    mfu: np.ndarray
    memory_weights_bytes: np.ndarray
    memory_grads_bytes: np.ndarray
    memory_optimizer_bytes: np.ndarray
    memory_activations_bytes: np.ndarray
    memory_total_bytes: np.ndarray
    fits: np.ndarray


def optimizer_state_bytes_per_param(optimizer: str, precision_bytes: float) -> float:
    """Optimizer states plus fp32 master weights when training in 16/8-bit precision."""
    master = 4.0 if precision_bytes < 4 else 0.0
    return OPTIMIZER_STATE_BYTES_PER_PARAM[optimizer] + master


def activation_bytes_per_layer(
    arch: ModelArch,
    seq_len: float,
    micro_batch: np.ndarray,
    tp: np.ndarray,
    recompute: np.ndarray,
) -> np.ndarray:
    """Korthikanti et al. 2022 (arXiv 2205.05198) eq. 2 with sequence parallelism.

    Without recompute: ``s b h (34 + 5 a s / h) / t`` bytes per layer (16-bit
    activations); selective recompute drops the ``5 a s / h`` attention term; full
    recompute keeps only the layer input, ``2 s b h`` bytes.
    """
    s, h, a = seq_len, arch.hidden_size, arch.n_heads
    sbh = s * micro_batch * h
    full_store = sbh * (34.0 + 5.0 * a * s / h) / tp
    selective = sbh * 34.0 / tp
    only_input = 2.0 * sbh / tp
    return np.where(recompute == 2, only_input, np.where(recompute == 1, selective, full_store))


def estimate_training(
    arch: ModelArch,
    hw: HardwareArrays,
    plan: TrainingPlanArrays,
    *,
    seq_len: float,
    optimizer: str,
    precision_bytes: float,
    efficiency: np.ndarray | float,
    framework_overhead_bytes: float,
) -> TrainingEstimate:
    """Step time and memory for each candidate.

    ``efficiency`` is the achieved fraction of dense peak on the step's matrix work
    (data, not a constant in code: it comes from the calibration file).
    """
    pc = param_counts(arch)
    tokens_per_step = plan.micro_batch * plan.grad_accum * plan.dp * seq_len
    model_flops_per_token = 3.0 * forward_flops_per_token(arch, seq_len)
    model_flops = model_flops_per_token * tokens_per_step
    # full recompute repeats the forward pass: 4 passes instead of 3
    recompute_extra = np.where(plan.recompute == 2, 1.0 / 3.0, 0.0)
    hw_flops = model_flops * (1.0 + recompute_extra)
    compute_s = hw_flops / (plan.n_devices * hw.peak_flops_per_s * efficiency)

    microbatches = plan.grad_accum
    bubble = (plan.pp - 1) / np.maximum(microbatches, 1)

    # Tensor parallel: 4 all-reduces of (b s h) activations per layer per micro-batch
    # (2 forward, 2 backward), ring cost 2 (t-1)/t x bytes / link bandwidth.
    act_bytes = plan.micro_batch * seq_len * arch.hidden_size * precision_bytes
    tp_in_domain = plan.tp <= hw.scaleup_domain_devices
    tp_bw = np.where(tp_in_domain, hw.scaleup_bw_bytes_per_s, hw.scaleout_bw_bytes_per_s)
    tp_bw = np.where(tp_bw > 0, tp_bw, hw.scaleout_bw_bytes_per_s)
    layers_per_stage = arch.n_layers / plan.pp
    tp_time = np.where(
        plan.tp > 1,
        4.0 * layers_per_stage * microbatches * 2.0 * (plan.tp - 1) / plan.tp * act_bytes / tp_bw,
        0.0,
    )
    # Data parallel: gradient all-reduce (or reduce-scatter + all-gather) of this
    # device's parameter shard once per step, overlapped with backward except the tail.
    grad_bytes = pc.total / (plan.tp * plan.pp) * precision_bytes
    dp_crosses_nodes = plan.n_devices > hw.devices_per_node
    dp_bw = np.where(dp_crosses_nodes, hw.scaleout_bw_bytes_per_s, hw.scaleup_bw_bytes_per_s)
    dp_bw = np.where(dp_bw > 0, dp_bw, hw.scaleout_bw_bytes_per_s)
    dp_time = np.where(plan.dp > 1, 2.0 * (plan.dp - 1) / plan.dp * grad_bytes / dp_bw, 0.0)
    dp_exposed = np.maximum(dp_time - 0.5 * compute_s, 0.0)
    comm_exposed = tp_time + dp_exposed
    step = compute_s * (1.0 + bubble) + comm_exposed

    # Memory per device
    shard_model = plan.tp * plan.pp
    params_dev = pc.total / shard_model
    weights = params_dev * precision_bytes
    grads = params_dev * precision_bytes
    opt = params_dev * optimizer_state_bytes_per_param(optimizer, precision_bytes)
    weights = np.where(plan.zero_stage >= 3, weights / plan.dp, weights)
    grads = np.where(plan.zero_stage >= 2, grads / plan.dp, grads)
    opt = np.where(plan.zero_stage >= 1, opt / plan.dp, opt)
    per_layer = activation_bytes_per_layer(arch, seq_len, plan.micro_batch, plan.tp, plan.recompute)
    in_flight = np.minimum(plan.pp, np.maximum(microbatches, 1))
    activations = per_layer * layers_per_stage * in_flight
    total = weights + grads + opt + activations + framework_overhead_bytes
    tokens_per_s = tokens_per_step / step
    mfu = model_flops / step / (plan.n_devices * hw.peak_flops_per_s)
    return TrainingEstimate(
        step_time_s=step,
        compute_time_s=compute_s,
        comm_exposed_s=comm_exposed,
        bubble_fraction=bubble,
        tokens_per_s=tokens_per_s,
        model_flops_per_step=model_flops,
        hardware_flops_per_step=hw_flops,
        mfu=mfu,
        memory_weights_bytes=weights,
        memory_grads_bytes=grads,
        memory_optimizer_bytes=opt,
        memory_activations_bytes=activations,
        memory_total_bytes=total,
        fits=total <= hw.memory_bytes,
    )
