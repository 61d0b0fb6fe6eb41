"""Training step time, throughput, utilisation and memory for many candidate plans at once.

One step of global batch ``B = b x m x dp`` sequences (micro-batch ``b``, ``m``
micro-batches of gradient accumulation per pipeline, ``dp`` data-parallel replicas) on
``n = tp x cp x pp x dp`` devices (expert parallelism ``ep`` reuses the data-parallel
ranks, as Megatron-Core does; ZeRO shards the routed experts' states over the ``dp / ep``
ranks that replicate them). Per device:

    t_mb   = ceil(L/pp) x (t_fwd + t_bwd + t_recompute + t_tp + t_cp + t_ep)  [+ LM head on the
             last stage] + t_fsdp_exposed + t_p2p                        (one micro-batch)
    t_step = (m + (pp - 1)/v) x t_mb  +  t_dp_exposed  +  t_optimizer

* ``(pp - 1)/v`` is the 1F1B pipeline bubble, shrunk ``v``-fold by interleaving
  (Narayanan et al. 2021, arXiv 2104.04473, sec. 2.2);
* layer times come from :mod:`aidc.model.training_step`, including what recompute
  repeats (``full``: the forward pass; ``selective``: see there);
* ZeRO-3/FSDP all-gathers each stage's weights forward and backward and reduce-scatters
  gradients every micro-batch; ZeRO-0/1/2 all-reduce (or reduce-scatter) gradients once a
  step. A calibrated ``comm_overlap`` share of that traffic hides behind compute
  (prefetch, bucketed backward overlap); ZeRO-1's parameter all-gather after the
  optimizer step is exposed. Hidden traffic is not free: for each second of it the
  computation it overlaps loses ``comm_interference`` seconds, the SMs and memory
  bandwidth the collective kernels take (Rashidi et al. 2021, "Enabling
  Compute-Communication Overlap in Distributed Deep Learning Training Platforms", ISCA),
  so ``t = t_exposed + kappa x t_hidden``;
* the optimizer step streams master weights, states and gradients once
  (``2 (master + state) + grad + weight`` bytes per local parameter) at memory bandwidth.

MFU = model FLOP (:func:`aidc.model.transformer.training_flops_per_token`) per second over
devices x peak; HFU counts recompute (:func:`~aidc.model.transformer.hardware_flops_per_token`).
Peak is the dense peak at the GEMM precision. Memory is :mod:`aidc.model.memory`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from aidc.catalog.calibration import Calibration
from aidc.catalog.efficiency import KernelEfficiency
from aidc.catalog.schema import BYTES_PER_ELEMENT, Accelerator, Link, ModelArch, Precision
from aidc.model.collectives import allgather_time_s, allreduce_time_s, p2p_time_s
from aidc.model.efficiency import KernelEfficiencyArrays, kernel_efficiency_arrays
from aidc.model.hardware import DEFAULT_SCALEOUT_LINK, HardwareArrays, hardware_arrays
from aidc.model.memory import (
    FP32_GRAD_ACCUMULATION_BYTES,
    LOGITS_BYTES_PER_ELEMENT,
    RECOMPUTE_CODES,
    ModelStateBytes,
    activation_bytes_per_layer,
    activation_bytes_per_token_layer,
    expert_params_per_device,
    layers_per_stage,
    logits_bytes,
    master_weight_bytes_per_param,
    model_state_bytes,
    optimizer_state_bytes_per_param,
    params_per_device,
    pipeline_in_flight_micro_batches,
)
from aidc.model.training_step import StepInputs, group_link, head_times, layer_times
from aidc.model.transformer import hardware_flops_per_token, training_flops_per_token
from aidc.units import GIGA, MILLISECOND

__all__ = [
    "RECOMPUTE_CODES",
    "TrainingCalibration",
    "TrainingDevices",
    "TrainingEstimate",
    "TrainingPlanArrays",
    "TrainingSettings",
    "estimate_training",
    "optimizer_state_bytes_per_param",
    "training_devices",
]

RECOMPUTE_NAMES = {v: k for k, v in RECOMPUTE_CODES.items()}


def _ones_like(x: np.ndarray) -> np.ndarray:
    return np.ones_like(np.asarray(x), dtype=np.int64)


@dataclass(frozen=True)
class TrainingPlanArrays:
    """Parallel plan per candidate (int arrays of one length).

    ``cp`` context parallelism, ``ep`` expert parallelism (within the data-parallel
    ranks), ``vp`` virtual pipeline stages per device (interleaving), ``sequence_parallel``
    (Megatron SP with TP) default to 1, 1, 1 and ``tp > 1``.
    """

    n_devices: np.ndarray
    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    micro_batch: np.ndarray
    grad_accum: np.ndarray
    zero_stage: np.ndarray
    recompute: np.ndarray  # RECOMPUTE_CODES
    cp: np.ndarray | None = None
    ep: np.ndarray | None = None
    vp: np.ndarray | None = None
    sequence_parallel: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("cp", "ep", "vp"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, _ones_like(self.tp))
        if self.sequence_parallel is None:
            object.__setattr__(self, "sequence_parallel", np.asarray(self.tp) > 1)

    def __len__(self) -> int:
        return len(np.asarray(self.tp))

    def settings(self, i: int) -> dict[str, int | str]:
        """Candidate ``i`` as plain settings (recompute by name), for plans and reports."""
        assert self.cp is not None and self.ep is not None and self.vp is not None
        assert self.sequence_parallel is not None
        return {
            "tp": int(self.tp[i]),
            "pp": int(self.pp[i]),
            "dp": int(self.dp[i]),
            "cp": int(self.cp[i]),
            "ep": int(self.ep[i]),
            "vp": int(self.vp[i]),
            "sequence_parallel": int(bool(self.sequence_parallel[i])),
            "micro_batch": int(self.micro_batch[i]),
            "grad_accum": int(self.grad_accum[i]),
            "zero_stage": int(self.zero_stage[i]),
            "recompute": RECOMPUTE_NAMES[int(self.recompute[i])],
        }

    def take(self, idx: np.ndarray) -> TrainingPlanArrays:
        return TrainingPlanArrays(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass(frozen=True)
class TrainingSettings:
    """What the run trains and how, shared by all candidates."""

    seq_len: float
    optimizer: str = "adamw"
    precision: Precision = Precision.BF16  # GEMM precision
    flash_attention: bool = True
    grad_bytes: float | None = None  # default: fp32 gradient accumulation (4 bytes)
    # (memory.FP32_GRAD_ACCUMULATION_BYTES; memory.SEPARATE_FP32_GRAD_BUFFER_BYTES when the
    # 16-bit gradients are kept besides an fp32 buffer)
    compiled: bool = False  # a graph compiler fuses element-wise chains (torch.compile, XLA)
    # bytes per logit at the loss (memory.LOGITS_BYTES_PER_ELEMENT: fused or vocabulary-
    # parallel cross-entropy; memory.UNFUSED_LOSS_BYTES_PER_ELEMENT: fp32 copy + log-softmax)
    loss_bytes_per_logit: float = LOGITS_BYTES_PER_ELEMENT

    @property
    def weight_bytes(self) -> float:
        """Bytes of the compute copy of the weights (FP8 training keeps 16-bit weights)."""
        return max(BYTES_PER_ELEMENT[self.precision], 2.0)

    @property
    def act_bytes(self) -> float:
        return max(BYTES_PER_ELEMENT[self.precision], 2.0)


COMPILED_TRAFFIC_RATIO = 0.5
"""Element-wise memory traffic with a fusing compiler relative to eager execution: a
fused chain reads its inputs and writes its outputs once instead of once per operation
(TorchInductor's pointwise fusion; ~2 passes instead of ~4 per stored tensor)."""

COMPUTE_SCALE_KEY = "training.compute_scale"
"""Default sustained-compute factor; ``training.compute_scale.<architecture>`` overrides it."""

CALIBRATION_KEYS: dict[str, tuple[str, float]] = {
    "compute_scale": (COMPUTE_SCALE_KEY, 1.0),
    "attention_scale": ("training.attention_efficiency_scale", 1.0),
    "elementwise_traffic_factor": ("training.elementwise_traffic_factor", 1.0),
    "comm_overlap": ("training.comm_overlap", 1.0),
    "comm_interference": ("training.comm_interference", 1.0),
    "fp8_gemm_scale": ("training.fp8_gemm_scale", 1.0),
    "memory_bw_efficiency": ("training.memory_bw_efficiency", 1.0),
    "scaleup_bus_efficiency": ("training.scaleup_bus_efficiency", 1.0),
    "scaleout_bus_efficiency": ("training.scaleout_bus_efficiency", 1.0),
    "step_overhead_s": ("training.step_overhead_ms", MILLISECOND),
    "framework_memory_bytes": ("training.framework_memory_gb", GIGA),
    "comm_buffer_bytes": ("training.comm_buffer_gb", GIGA),
    "memory_fragmentation": ("training.memory_fragmentation", 1.0),
    "throughput_log_band_low": ("training.throughput_log_residual_p10", 1.0),
    "throughput_log_band_high": ("training.throughput_log_residual_p90", 1.0),
}
"""Calibration key (and unit factor to SI) of each :class:`TrainingCalibration` field."""


@dataclass(frozen=True)
class TrainingCalibration:
    """Empirical constants of the training model (``training.*`` calibration values)."""

    compute_scale: float  # achieved / kernel-benchmark efficiency, architectures without their own
    attention_scale: float
    elementwise_traffic_factor: float
    comm_overlap: float
    memory_bw_efficiency: float
    scaleup_bus_efficiency: float
    scaleout_bus_efficiency: float
    step_overhead_s: float
    framework_memory_bytes: float
    comm_buffer_bytes: float
    memory_fragmentation: float
    comm_interference: float = 0.0  # compute seconds lost per second of overlapped communication
    fp8_gemm_scale: float = 1.0  # training FP8 GEMMs / the kernel records' FP8 GEMMs
    throughput_log_band_low: float = 0.0  # p10 of ln(predicted / measured), held-out
    throughput_log_band_high: float = 0.0  # p90 of ln(predicted / measured), held-out
    compute_scale_by_architecture: tuple[tuple[str, float], ...] = ()

    def compute_scale_for(self, architecture: np.ndarray) -> np.ndarray:
        """The sustained-compute factor of each candidate's GPU architecture."""
        table = dict(self.compute_scale_by_architecture)
        archs = np.asarray(architecture, dtype=object)
        uniq, inv = np.unique(archs.astype(str), return_inverse=True)
        vals = np.array([table.get(a, self.compute_scale) for a in uniq], dtype=float)
        return vals[inv].reshape(archs.shape)

    @classmethod
    def from_calibration(cls, cal: Calibration) -> TrainingCalibration:
        """Read the ``training.*`` values, converting their human units to SI."""
        values = {f: cal.value(key) * scale for f, (key, scale) in CALIBRATION_KEYS.items()}
        prefix = COMPUTE_SCALE_KEY + "."
        by_arch = tuple(
            sorted(
                (k[len(prefix) :], v.value) for k, v in cal.values.items() if k.startswith(prefix)
            )
        )
        return cls(**values, compute_scale_by_architecture=by_arch)

    def replace(self, **changes: float) -> TrainingCalibration:
        return TrainingCalibration(
            **{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes}
        )


@dataclass(frozen=True)
class TrainingDevices:
    """Per-candidate device facts the training model needs."""

    hw: HardwareArrays
    kernels: KernelEfficiencyArrays
    gemm_peak_flops_per_s: np.ndarray
    attn_peak_flops_per_s: np.ndarray

    def __len__(self) -> int:
        return len(self.hw)

    def take(self, idx: np.ndarray) -> TrainingDevices:
        return TrainingDevices(
            hw=self.hw.take(idx),
            kernels=self.kernels.take(idx),
            gemm_peak_flops_per_s=self.gemm_peak_flops_per_s[idx],
            attn_peak_flops_per_s=self.attn_peak_flops_per_s[idx],
        )


def training_devices(
    accelerators: Sequence[Accelerator],
    kernel_records: Sequence[KernelEfficiency],
    precision: Precision,
    links: dict[str, Link],
    scaleout_link: str | Sequence[str] = DEFAULT_SCALEOUT_LINK,
) -> TrainingDevices:
    """One row per accelerator; ``kernel_records[i]`` is accelerator ``i``'s efficiency data.

    Attention runs at the 16-bit peak (the fp32 peak for fp32/tf32 training)."""
    hw = hardware_arrays(accelerators, precision, links, scaleout_link)
    attn_prec = precision if precision in (Precision.FP32, Precision.TF32) else Precision.BF16
    attn_peak = np.array([a.peak_for(attn_prec) or np.nan for a in accelerators], dtype=float)
    return TrainingDevices(
        hw=hw,
        kernels=kernel_efficiency_arrays(kernel_records, precision),
        gemm_peak_flops_per_s=hw.peak_flops_per_s,
        attn_peak_flops_per_s=attn_peak,
    )


@dataclass(frozen=True)
class TrainingEstimate:
    """Outputs per candidate, SI units."""

    step_time_s: np.ndarray
    compute_time_s: np.ndarray  # matrix, attention and element-wise work, all micro-batches
    comm_exposed_s: np.ndarray  # communication not hidden behind compute
    bubble_fraction: np.ndarray  # pipeline bubble time / step time
    optimizer_time_s: np.ndarray
    tokens_per_step: np.ndarray
    tokens_per_s: np.ndarray  # whole job
    tokens_per_s_per_device: np.ndarray
    tokens_per_s_low: np.ndarray  # uncertainty band (calibration residual quantiles)
    tokens_per_s_high: np.ndarray
    model_flops_per_step: np.ndarray
    hardware_flops_per_step: np.ndarray
    mfu: np.ndarray
    hfu: np.ndarray
    memory_weights_bytes: np.ndarray
    memory_grads_bytes: np.ndarray
    memory_optimizer_bytes: np.ndarray
    memory_activations_bytes: np.ndarray
    memory_buffers_bytes: np.ndarray  # communication buffers, framework, fragmentation
    memory_total_bytes: np.ndarray
    memory_capacity_bytes: np.ndarray
    fits: np.ndarray

    @property
    def memory_headroom_bytes(self) -> np.ndarray:
        """Capacity minus need: negative means "does not fit by this much"."""
        return self.memory_capacity_bytes - self.memory_total_bytes


def estimate_training(
    arch: ModelArch,
    devices: TrainingDevices,
    plan: TrainingPlanArrays,
    settings: TrainingSettings,
    cal: TrainingCalibration,
) -> TrainingEstimate:
    """Step time, throughput, utilisation and memory for each candidate (aligned arrays)."""
    hw = devices.hw
    f = lambda x: np.asarray(x, dtype=float)  # noqa: E731
    n, tp, pp, dp = f(plan.n_devices), f(plan.tp), f(plan.pp), f(plan.dp)
    cp, ep, vp = f(plan.cp), f(plan.ep), f(plan.vp)
    mb, ga, zero = (
        f(plan.micro_batch),
        np.maximum(f(plan.grad_accum), 1.0),
        np.asarray(plan.zero_stage),
    )
    rc = np.asarray(plan.recompute)
    sp = np.asarray(plan.sequence_parallel, dtype=bool) & (tp > 1)
    s = float(settings.seq_len)
    tokens = mb * s / cp
    inp = StepInputs(
        arch=arch,
        hw=hw,
        kernels=devices.kernels,
        gemm_peak_flops_per_s=devices.gemm_peak_flops_per_s,
        attn_peak_flops_per_s=devices.attn_peak_flops_per_s,
        gemm_bytes=BYTES_PER_ELEMENT[settings.precision],
        act_bytes=settings.act_bytes,
        fp8=settings.precision == Precision.FP8,
        flash_attention=settings.flash_attention,
        seq_len=s,
        tokens=tokens,
        micro_batch=mb,
        tp=tp,
        cp=cp,
        ep=ep,
        sequence_parallel=sp,
    )
    up, out = cal.scaleup_bus_efficiency, cal.scaleout_bus_efficiency
    tp_link = group_link(hw, tp, np.ones_like(tp), up, out)
    cp_link = group_link(hw, cp, tp, up, out)
    dp_link = group_link(hw, dp, tp * cp, up, out)
    ep_link = group_link(hw, ep, tp * cp, up, out)
    pp_link = group_link(hw, np.where(pp > 1, 2.0, 1.0), tp * cp * dp, up, out)

    scale = cal.compute_scale_for(devices.kernels.architecture)
    # Fusing element-wise chains leaves each tensor written once and read once: about
    # half the traffic of one kernel per operation (COMPILED_TRAFFIC_RATIO).
    elementwise = cal.elementwise_traffic_factor * (
        COMPILED_TRAFFIC_RATIO if settings.compiled else 1.0
    )
    # FP8 training GEMMs (per-tensor scaled) relative to the kernel records' FP8 GEMMs,
    # which come from inference engines' per-token/per-channel-scaled kernels.
    gemm_scale = scale * (cal.fp8_gemm_scale if settings.precision == Precision.FP8 else 1.0)
    # The per-architecture sustained-compute factor scales the GEMMs only: it is what
    # dense GEMMs keep of their kernel benchmarks under a training run's sustained
    # full-tensor-core load (power-capped clocks), and the GEMMs dominate the runs it is
    # fitted to. Fused attention, a different kernel at a lower tensor-core duty (its
    # softmax work runs on the CUDA cores), keeps its own achieved/benchmark factor,
    # common to all architectures; multiplying the two let the GEMM factor of one GPU
    # generation mis-scale the attention of long-sequence runs on it.
    lt = layer_times(
        inp,
        gemm_scale=gemm_scale,
        attention_scale=cal.attention_scale,
        elementwise_traffic_factor=elementwise,
        memory_bw_efficiency=cal.memory_bw_efficiency,
        tp_link=tp_link,
        cp_link=cp_link,
        ep_link=ep_link,
    )
    layers_stage = layers_per_stage(arch.n_layers, pp, vp)  # the busiest stage sets the pace
    layer_compute = (
        lt.gemm_fwd + lt.gemm_bwd + lt.attn_fwd + lt.attn_bwd + lt.elem_fwd + lt.elem_bwd
    ) + lt.recompute(rc, settings.flash_attention)
    layer_comm = lt.tp_comm_fwd + lt.tp_comm_bwd + lt.cp_comm_exposed + lt.ep_comm
    # full recompute repeats the forward's collectives: TP, and EP's dispatch and combine
    layer_comm = layer_comm + np.where(
        rc == RECOMPUTE_CODES["full"], lt.tp_comm_fwd + 0.5 * lt.ep_comm, 0.0
    )
    head_f, head_b = head_times(
        inp,
        gemm_scale=gemm_scale,
        elementwise_traffic_factor=elementwise,
        memory_bw_efficiency=cal.memory_bw_efficiency,
    )
    compute_mb = layers_stage * layer_compute + head_f + head_b
    comm_mb = layers_stage * layer_comm

    # Model states and the data-parallel traffic they cause.
    p_dev, p_layer = params_per_device(arch, tp, pp, ep, vp)
    shard = dp * cp  # ZeRO/FSDP shard over data- and context-parallel ranks
    # routed experts are replicated on dp/ep ranks only: their states shard over those
    p_exp, p_layer_exp = expert_params_per_device(arch, tp, pp, ep, vp)
    shard_exp = np.maximum(shard / ep, 1.0)
    wb, gb = settings.weight_bytes, settings.grad_bytes or FP32_GRAD_ACCUMULATION_BYTES
    comm_b = settings.weight_bytes  # gradients and weights travel in compute precision
    ag_w = allgather_time_s(p_dev * comm_b, shard, dp_link.bw_bytes_per_s, dp_link.latency_s)
    rs_g = ag_w  # reduce-scatter of the same volume
    # ZeRO-3 with pipeline parallelism keeps the stage's weights and gradient buffers
    # unsharded across the step's micro-batches (torchtitan's FSDP+PP; re-gathering per
    # micro-batch would multiply the traffic): one gather and one reduce-scatter a step.
    keep_unsharded = (zero >= 3) & (pp > 1)
    fsdp_mb = np.where(zero >= 3, 2.0 * ag_w + rs_g, np.where(zero == 2, ag_w + rs_g, 0.0))
    fsdp_mb = np.where((zero == 2) & (ga <= 1), 0.0, fsdp_mb)  # stage 2 without accumulation
    fsdp_mb = np.where(keep_unsharded, 0.0, fsdp_mb)
    fsdp_exposed = np.maximum(fsdp_mb - cal.comm_overlap * compute_mb, 0.0)
    # stage 2 without accumulation reduces once per step, like stage 1
    ar_g = allreduce_time_s(p_dev * comm_b, shard, dp_link.bw_bytes_per_s, dp_link.latency_s)
    bwd_window = cal.comm_overlap * layers_stage * (lt.gemm_bwd + lt.attn_bwd + lt.elem_bwd)
    dp_sync = np.where(
        zero == 0,
        np.maximum(ar_g - bwd_window, 0.0),
        np.where(
            (zero == 1) | ((zero == 2) & (ga <= 1)),
            np.maximum(rs_g - bwd_window, 0.0) + ag_w,
            np.where(
                keep_unsharded, np.maximum(ag_w + rs_g - cal.comm_overlap * compute_mb, 0.0), 0.0
            ),
        ),
    )
    dp_total = np.where(
        zero == 0,
        ar_g,
        np.where(
            (zero == 1) | ((zero == 2) & (ga <= 1)),
            rs_g + ag_w,
            np.where(keep_unsharded, ag_w + rs_g, 0.0),
        ),
    )
    # Overlapped collectives still cost: NCCL's kernels take SMs and memory bandwidth
    # from the computation they hide behind (comm_interference per hidden second).
    dp_hidden = np.where(shard > 1, dp_total - dp_sync, 0.0)
    fsdp_hidden = np.where(shard > 1, fsdp_mb - fsdp_exposed, 0.0)
    dp_sync = np.where(shard > 1, dp_sync, 0.0) + cal.comm_interference * dp_hidden
    fsdp_exposed = np.where(shard > 1, fsdp_exposed, 0.0) + cal.comm_interference * fsdp_hidden

    p2p_bytes = tokens * arch.hidden_size * settings.act_bytes / np.where(sp, tp, 1.0)
    p2p = np.where(
        pp > 1, 2.0 * p2p_time_s(p2p_bytes, pp_link.bw_bytes_per_s, pp_link.latency_s), 0.0
    )

    t_mb = compute_mb + comm_mb + fsdp_exposed + p2p
    bubble = (pp - 1.0) / np.maximum(vp, 1.0)
    pipeline_s = (ga + bubble) * t_mb

    master = master_weight_bytes_per_param(wb)
    state = optimizer_state_bytes_per_param(settings.optimizer, 4.0 if master else wb)
    local_params = np.where(zero >= 1, (p_dev - p_exp) / shard + p_exp / shard_exp, p_dev)
    opt_s = (
        local_params
        * (2.0 * (master + state) + gb + wb)
        / (hw.hbm_bw_bytes_per_s * cal.memory_bw_efficiency)
    )
    step = pipeline_s + dp_sync + opt_s + cal.step_overhead_s

    tokens_per_step = mb * ga * dp * s
    tps = tokens_per_step / step
    model_flops = training_flops_per_token(arch, s) * tokens_per_step
    hw_flops_tok = np.array(
        [hardware_flops_per_token(arch, s, RECOMPUTE_NAMES[int(c)]) for c in range(3)]
    )
    hw_flops = hw_flops_tok[rc.astype(int)] * tokens_per_step
    peak_total = n * devices.gemm_peak_flops_per_s

    # Memory per device (the busiest stage).
    dense_states, expert_states = (
        model_state_bytes(
            params,
            group,
            zero,
            optimizer=settings.optimizer,
            weight_bytes=wb,
            grad_bytes=gb,
            params_per_layer_device=layer_params,
        )
        for params, group, layer_params in (
            (p_dev - p_exp, shard, p_layer - p_layer_exp),
            (p_exp, shard_exp, p_layer_exp),
        )
    )
    states = ModelStateBytes(
        weights=dense_states.weights + expert_states.weights,
        grads=dense_states.grads + expert_states.grads,
        optimizer=dense_states.optimizer + expert_states.optimizer,
    )
    w_bytes = np.where(keep_unsharded, p_dev * wb, states.weights)
    g_bytes = np.where(keep_unsharded, p_dev * gb, states.grads)
    states_total = w_bytes + g_bytes + states.optimizer
    per_layer = activation_bytes_per_layer(
        arch, s, tokens, tp, rc, sequence_parallel=sp, flash_attention=settings.flash_attention
    )
    in_flight = pipeline_in_flight_micro_batches(pp, ga, vp)
    working = np.where(
        rc == RECOMPUTE_CODES["full"],
        activation_bytes_per_token_layer(
            arch, s, tp, sequence_parallel=sp, flash_attention=settings.flash_attention
        )
        * tokens,
        0.0,
    )
    first_stage = per_layer * layers_stage * in_flight + working
    loss = logits_bytes(tokens, arch.vocab_size, tp, settings.loss_bytes_per_logit)
    last_stage = per_layer * layers_stage + working + loss
    activations = np.where(pp > 1, np.maximum(first_stage, last_stage), last_stage)
    buffers = cal.comm_buffer_bytes + cal.memory_fragmentation * (states_total + activations)
    total = states_total + activations + buffers + cal.framework_memory_bytes

    return TrainingEstimate(
        step_time_s=step,
        compute_time_s=ga * compute_mb,
        comm_exposed_s=(ga + bubble) * (comm_mb + fsdp_exposed + p2p) + dp_sync,
        bubble_fraction=bubble * t_mb / step,
        optimizer_time_s=opt_s,
        tokens_per_step=tokens_per_step,
        tokens_per_s=tps,
        tokens_per_s_per_device=tps / n,
        # residuals are ln(predicted / measured): measured = predicted x exp(-residual)
        tokens_per_s_low=tps * np.exp(-cal.throughput_log_band_high),
        tokens_per_s_high=tps * np.exp(-cal.throughput_log_band_low),
        model_flops_per_step=model_flops,
        hardware_flops_per_step=hw_flops,
        mfu=model_flops / step / peak_total,
        hfu=hw_flops / step / peak_total,
        memory_weights_bytes=w_bytes,
        memory_grads_bytes=g_bytes,
        memory_optimizer_bytes=states.optimizer,
        memory_activations_bytes=activations,
        memory_buffers_bytes=buffers + cal.framework_memory_bytes,
        memory_total_bytes=total,
        memory_capacity_bytes=hw.memory_bytes,
        fits=total <= hw.memory_bytes,
    )
