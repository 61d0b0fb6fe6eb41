"""Time of one micro-batch on one pipeline stage: matrix multiplies, attention,
memory-bound element-wise work, and the collectives of tensor, context and expert
parallelism. Vectorised over candidates (numpy arrays of one length).

Per layer and micro-batch of ``T = b s / cp`` tokens per device (Megatron layout;
Narayanan et al. 2021, arXiv 2104.04473; Korthikanti et al. 2022, arXiv 2205.05198):

* each weight GEMM ``T x k @ k x n`` runs forward once and backward twice (input
  gradient ``T x n @ n x k`` and weight gradient ``k x T @ T x n``), TP dividing ``n``
  (column-parallel) or ``k`` (row-parallel); time from :func:`aidc.model.efficiency.gemm_time_s`;
* fused attention does ``4 T ctx n_q d / t`` FLOP forward and 2.5x that backward
  (FlashAttention recomputes ``QK^T``: 5 matmuls instead of 2; Dao 2023, arXiv 2307.08691);
  without FlashAttention the full ``s x s`` score matrix is computed as batched GEMMs;
* element-wise work (norms, activations, residuals, rotary, softmax without
  FlashAttention) streams the layer's activations: ``c x A x T / (W x eta)`` with ``A``
  the stored activation bytes per token (:func:`aidc.model.memory.activation_bytes_per_token_layer`),
  ``W`` memory bandwidth, ``eta`` its achieved fraction and ``c`` a calibrated traffic
  factor (reads and writes, forward and backward);
* TP with sequence parallelism: 2 all-gathers + 2 reduce-scatters of ``T h`` activations
  forward and as many backward (without SP: 2 all-reduces each way); CP (ring attention):
  ``cp - 1`` exchanges of the local K and V forward, twice that backward, hidden behind
  attention compute where possible; EP: 2 all-to-alls of the routed tokens each way (with
  sequence parallelism each TP rank routes its ``1/t`` share of them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aidc.catalog.schema import ModelArch
from aidc.model.collectives import allgather_time_s, allreduce_time_s, alltoall_time_s, p2p_time_s
from aidc.model.efficiency import KernelEfficiencyArrays, attention_efficiency, gemm_time_s
from aidc.model.hardware import HardwareArrays
from aidc.model.memory import activation_bytes_per_token_layer
from aidc.model.transformer import attention_context, layer_gemm_shapes, n_moe_layers

FLASH_BACKWARD_FLOP_RATIO = 2.5
"""FlashAttention backward FLOP / forward FLOP (5 matmuls vs 2, Dao 2023)."""
SOFTMAX_PASSES = 3.0
"""Unfused attention: the score tensors are written in the forward pass, then read and
written again in the backward pass (Megatron's fused scale-mask-softmax kernels)."""
SELECTIVE_GEMM_RECOMPUTE_FRACTION = 0.5
"""Op-level selective checkpointing recomputes every other matrix multiply (the default
policy of torchtitan's selective activation checkpointing, ``_save_list`` alternating
``mm`` outputs) besides the element-wise work."""
FP8_CAST_BYTES_PER_ELEMENT = 1.0
"""FP8 training writes an FP8 copy of each GEMM operand (activations, weights, output
gradients); the read is fused into the producing kernel (Transformer Engine's fused
norm/activation casts, torch.compile for torchao's Float8)."""


@dataclass(frozen=True)
class LinkChoice:
    """Bandwidth and latency of the link a communication group uses (per candidate)."""

    bw_bytes_per_s: np.ndarray
    latency_s: np.ndarray


def group_link(
    hw: HardwareArrays,
    size: np.ndarray,
    stride: np.ndarray,
    scaleup_bus_efficiency: float,
    scaleout_bus_efficiency: float,
) -> LinkChoice:
    """The link a group of ``size`` ranks spaced ``stride`` apart uses.

    Ranks are numbered TP innermost, then CP, DP, PP (Megatron's order). A group whose
    span ``size x stride`` fits in the scale-up domain talks over NVLink-class links.
    Otherwise NCCL runs one ring (channel) per NIC: with ``g`` group members inside each
    scale-up domain, each owning a NIC, the ``g`` rings share the collective and the bus
    bandwidth is ``min(B_up, g x B_nic)`` (the scale-up hop carries every ring). A group
    with one member per node (``stride`` >= domain) runs at one NIC's rate. Achieved (bus)
    bandwidth is the link rate times the bus efficiency (NCCL's busBW convention:
    https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md).
    """
    size = np.asarray(size, dtype=float)
    stride = np.asarray(stride, dtype=float)
    span = size * stride
    has_up = hw.scaleup_bw_bytes_per_s > 0
    up_ok = (span <= hw.scaleup_domain_devices) & has_up
    per_domain = np.where(has_up, np.clip(hw.scaleup_domain_devices / stride, 1.0, size), 1.0)
    up_bw = hw.scaleup_bw_bytes_per_s * scaleup_bus_efficiency
    out_bw = per_domain * hw.scaleout_bw_bytes_per_s * scaleout_bus_efficiency
    bw = np.where(up_ok, up_bw, np.where(has_up, np.minimum(up_bw, out_bw), out_bw))
    lat = np.where(up_ok, np.nan_to_num(hw.scaleup_latency_s, nan=1e-6), hw.scaleout_latency_s)
    return LinkChoice(bw_bytes_per_s=bw, latency_s=lat)


@dataclass(frozen=True)
class LayerTimes:
    """Per layer, per micro-batch, per device (seconds)."""

    gemm_fwd: np.ndarray
    gemm_bwd: np.ndarray
    attn_fwd: np.ndarray
    attn_bwd: np.ndarray
    elem_fwd: np.ndarray
    elem_bwd: np.ndarray
    tp_comm_fwd: np.ndarray
    tp_comm_bwd: np.ndarray
    cp_comm_exposed: np.ndarray
    ep_comm: np.ndarray

    def recompute(self, recompute: np.ndarray, flash_attention: bool) -> np.ndarray:
        """Compute repeated by activation recompute (codes 0 none, 1 selective, 2 full)."""
        forward = self.gemm_fwd + self.attn_fwd + self.elem_fwd
        if flash_attention:
            selective = self.elem_fwd + SELECTIVE_GEMM_RECOMPUTE_FRACTION * self.gemm_fwd
        else:
            selective = self.attn_fwd
        return np.where(recompute == 2, forward, np.where(recompute == 1, selective, 0.0))


@dataclass(frozen=True)
class StepInputs:
    """Everything per candidate that the step-time pieces need."""

    arch: ModelArch
    hw: HardwareArrays
    kernels: KernelEfficiencyArrays
    gemm_peak_flops_per_s: np.ndarray
    attn_peak_flops_per_s: np.ndarray
    gemm_bytes: float  # bytes per GEMM operand element (2 for 16-bit, 1 for FP8)
    act_bytes: float  # bytes per activation element
    fp8: bool
    flash_attention: bool
    seq_len: float
    tokens: np.ndarray  # per device per micro-batch, b s / cp
    micro_batch: np.ndarray
    tp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    sequence_parallel: np.ndarray


def _gemm(inp: StepInputs, m, n, k, scale: np.ndarray) -> np.ndarray:
    return gemm_time_s(
        m,
        n,
        k,
        peak_flops_per_s=inp.gemm_peak_flops_per_s,
        mem_bw_bytes_per_s=inp.hw.hbm_bw_bytes_per_s,
        bytes_per_element=inp.gemm_bytes,
        eff=inp.kernels,
        scale=scale,
    )


def layer_times(
    inp: StepInputs,
    *,
    gemm_scale: np.ndarray,
    attention_scale: np.ndarray,
    elementwise_traffic_factor: float,
    memory_bw_efficiency: float,
    tp_link: LinkChoice,
    cp_link: LinkChoice,
    ep_link: LinkChoice,
) -> LayerTimes:
    """Compute and model-parallel communication of one layer for one micro-batch."""
    arch, T, t = inp.arch, inp.tokens, np.maximum(inp.tp, 1.0)
    mem_bw = inp.hw.hbm_bw_bytes_per_s * memory_bw_efficiency
    gemm_fwd = np.zeros_like(T)
    gemm_bwd = np.zeros_like(T)
    cast_bytes = np.zeros_like(T)
    ep = np.maximum(inp.ep, 1.0)
    for g in layer_gemm_shapes(arch):
        k = g.k / t if g.tp_split == "k" else np.full_like(T, g.k)
        n = g.n / t if g.tp_split == "n" else np.full_like(T, g.n)
        if g.expert:  # a rank holds copies/ep experts, each fed by tokens from all EP ranks
            rows = T * g.tokens_per_token * ep
            copies = g.copies / ep
        else:
            rows = T * g.tokens_per_token
            copies = np.full_like(T, g.copies)
        w = copies * g.layer_share
        gemm_fwd = gemm_fwd + w * _gemm(inp, rows, n, k, gemm_scale)
        gemm_bwd = gemm_bwd + w * (
            _gemm(inp, rows, k, n, gemm_scale) + _gemm(inp, k, n, rows, gemm_scale)
        )
        if inp.fp8:
            cast_bytes = cast_bytes + w * FP8_CAST_BYTES_PER_ELEMENT * (rows * k + k * n + rows * n)

    heads = arch.n_heads / t
    d = float(arch.head_size)
    s = inp.seq_len
    if inp.flash_attention:
        ctx = attention_context(s, arch.kind == "decoder")
        flops = 4.0 * T * ctx * heads * d
        e_fwd = attention_efficiency(s, inp.kernels, attention_scale, head_dim=d)
        attn_fwd = flops / (inp.attn_peak_flops_per_s * e_fwd)
        attn_bwd = (
            FLASH_BACKWARD_FLOP_RATIO
            * flops
            / (inp.attn_peak_flops_per_s * e_fwd * inp.kernels.attn_backward_relative)
        )
    else:  # batched GEMMs over the full (masked) s x s score matrix, per head
        bh = inp.micro_batch * heads
        qk = _gemm(inp, np.full_like(T, s), np.full_like(T, s), np.full_like(T, d), gemm_scale)
        av = _gemm(inp, np.full_like(T, s), np.full_like(T, d), np.full_like(T, s), gemm_scale)
        # the fused scale-mask-softmax-dropout kernels stream the stored score
        # tensors (2.5 a s elements per token) SOFTMAX_PASSES times in all
        softmax = SOFTMAX_PASSES * 2.5 * heads * s * inp.act_bytes * T / mem_bw
        attn_fwd = bh * (qk + av) / np.maximum(inp.cp, 1.0) + softmax / 3.0
        attn_bwd = 2.0 * bh * (qk + av) / np.maximum(inp.cp, 1.0) + 2.0 * softmax / 3.0

    act = activation_bytes_per_token_layer(
        arch,
        s,
        t,
        sequence_parallel=inp.sequence_parallel,
        flash_attention=True,  # score tensors are counted with attention above
        act_bytes=inp.act_bytes,
    )
    elem = (elementwise_traffic_factor * act * T + cast_bytes) / mem_bw
    elem_fwd, elem_bwd = elem / 3.0, 2.0 * elem / 3.0

    # With FP8 GEMMs the inputs of the column-parallel GEMMs are gathered already cast
    # (Transformer Engine, torchao Float8 tensor parallelism): 1 byte per element.
    msg = T * arch.hidden_size * inp.act_bytes
    msg_ag_fwd = T * arch.hidden_size * (inp.gemm_bytes if inp.fp8 else inp.act_bytes)
    sp = np.asarray(inp.sequence_parallel, dtype=bool)
    ag = allgather_time_s(msg, t, tp_link.bw_bytes_per_s, tp_link.latency_s)
    ag_fwd = allgather_time_s(msg_ag_fwd, t, tp_link.bw_bytes_per_s, tp_link.latency_s)
    ar = allreduce_time_s(msg, t, tp_link.bw_bytes_per_s, tp_link.latency_s)
    tp_fwd = np.where(sp, 2.0 * ag_fwd + 2.0 * ag, 2.0 * ar)
    tp_bwd = np.where(sp, 4.0 * ag, 2.0 * ar)

    cp = np.maximum(inp.cp, 1.0)
    kv_chunk = T * 2.0 * arch.kv_heads * d / t * inp.act_bytes
    ring = (cp - 1.0) * p2p_time_s(kv_chunk, cp_link.bw_bytes_per_s, cp_link.latency_s)
    cp_exposed = np.where(
        cp > 1,
        np.maximum(ring - attn_fwd, 0.0) + np.maximum(2.0 * ring - attn_bwd, 0.0),
        0.0,
    )

    moe_share = n_moe_layers(arch) / arch.n_layers
    # With sequence parallelism each TP rank dispatches only its 1/t share of the tokens;
    # the expert-TP group gathers them after the all-to-all (Megatron-Core's all-to-all
    # token dispatcher), a gather the TP collectives above already count.
    routed = T * arch.experts_per_token * arch.hidden_size * inp.act_bytes / np.where(sp, t, 1.0)
    a2a = alltoall_time_s(routed, ep, ep_link.bw_bytes_per_s, ep_link.latency_s)
    ep_comm = np.where(ep > 1, 4.0 * a2a * moe_share, 0.0)
    return LayerTimes(
        gemm_fwd=gemm_fwd,
        gemm_bwd=gemm_bwd,
        attn_fwd=attn_fwd,
        attn_bwd=attn_bwd,
        elem_fwd=elem_fwd,
        elem_bwd=elem_bwd,
        tp_comm_fwd=tp_fwd,
        tp_comm_bwd=tp_bwd,
        cp_comm_exposed=cp_exposed,
        ep_comm=ep_comm,
    )


def head_times(
    inp: StepInputs,
    *,
    gemm_scale: np.ndarray,
    elementwise_traffic_factor: float,
    memory_bw_efficiency: float,
) -> tuple[np.ndarray, np.ndarray]:
    """LM head (vocabulary-parallel GEMM) and cross-entropy loss on the last stage:
    (forward, backward) seconds per micro-batch. Encoders without a head pay nothing."""
    arch, T, t = inp.arch, inp.tokens, np.maximum(inp.tp, 1.0)
    h, v = np.full_like(T, arch.hidden_size), arch.vocab_size / t
    fwd = _gemm(inp, T, v, h, gemm_scale)
    bwd = _gemm(inp, T, h, v, gemm_scale) + _gemm(inp, h, v, T, gemm_scale)
    loss = (
        elementwise_traffic_factor
        * T
        * v
        * inp.act_bytes
        / (inp.hw.hbm_bw_bytes_per_s * memory_bw_efficiency)
    )
    return fwd + loss / 3.0, bwd + 2.0 * loss / 3.0
