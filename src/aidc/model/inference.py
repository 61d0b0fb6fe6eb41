"""Inference latency, throughput and memory for many candidates at once (first cut).

Roofline per step with data-driven efficiencies:

* prefill of ``n`` tokens: ``max(FLOPs / (t x peak x e_compute), weight bytes / (t x bw x e_bw))``;
* one decode step at batch ``B`` and context ``c``: ``max(B x FLOPs/token / (t x peak x
  e_compute), (weights + B x c x KV bytes/token) / (t x bw x e_bw))``;
* plus a tensor-parallel all-reduce per layer (2 per layer, latency + bytes / link bw).

Encoders (BERT) run one forward pass per request batch. Arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aidc.catalog.schema import ModelArch
from aidc.model.hardware import HardwareArrays
from aidc.model.transformer import forward_flops_per_token, kv_cache_bytes_per_token, param_counts


@dataclass(frozen=True)
class InferenceEfficiency:
    compute: float  # achieved fraction of dense peak on matrix work
    memory_bw: float  # achieved fraction of HBM bandwidth when streaming weights/KV
    step_overhead_s: float  # fixed per-step engine overhead (scheduling, launch)


def tp_allreduce_time_s(
    hw: HardwareArrays, tp: np.ndarray, n_layers: int, bytes_per_allreduce: np.ndarray
) -> np.ndarray:
    """Two ring all-reduces per layer (after attention and after the MLP)."""
    bw = np.where(
        tp <= hw.scaleup_domain_devices, hw.scaleup_bw_bytes_per_s, hw.scaleout_bw_bytes_per_s
    )
    bw = np.where(bw > 0, bw, hw.scaleout_bw_bytes_per_s)
    lat = np.where(tp <= hw.scaleup_domain_devices, hw.scaleup_latency_s, hw.scaleout_latency_s)
    per = 2.0 * (tp - 1) / tp * bytes_per_allreduce / bw + 2.0 * (tp - 1) * lat
    return np.where(tp > 1, 2.0 * n_layers * per, 0.0)


@dataclass(frozen=True)
class GenerationEstimate:
    weights_bytes_per_device: np.ndarray
    kv_bytes_per_token_per_device: np.ndarray
    max_concurrency: np.ndarray  # requests whose KV fits at the mean context
    prefill_s: np.ndarray  # one request's prompt
    decode_step_s: np.ndarray  # at the chosen batch
    batch: np.ndarray
    tokens_per_s: np.ndarray  # output tokens/s per replica at that batch
    requests_per_s: np.ndarray  # per replica capacity
    fits: np.ndarray


def estimate_generation(
    arch: ModelArch,
    hw: HardwareArrays,
    *,
    tp: np.ndarray,
    weight_bytes_per_param: np.ndarray,
    kv_bytes_per_element: np.ndarray,
    input_tokens: float,
    output_tokens: float,
    batch: np.ndarray,
    eff: InferenceEfficiency,
    memory_reserve_fraction: float,
) -> GenerationEstimate:
    pc = param_counts(arch)
    weights_dev = pc.total * weight_bytes_per_param / tp
    active_weight_bytes = pc.active * weight_bytes_per_param / tp
    kv_tok_dev = kv_cache_bytes_per_token(arch, 1.0) * kv_bytes_per_element / tp
    ctx_mean = input_tokens + output_tokens / 2.0
    usable = hw.memory_bytes * (1.0 - memory_reserve_fraction) - weights_dev
    max_conc = np.floor(np.maximum(usable, 0.0) / (kv_tok_dev * (input_tokens + output_tokens)))
    b = np.minimum(batch, np.maximum(max_conc, 1))
    peak = hw.peak_flops_per_s * eff.compute
    bw = hw.hbm_bw_bytes_per_s * eff.memory_bw
    prefill_flops = forward_flops_per_token(arch, input_tokens) * input_tokens
    act_prefill = input_tokens * arch.hidden_size * 2.0
    prefill = (
        np.maximum(prefill_flops / (tp * peak), active_weight_bytes / bw)
        + tp_allreduce_time_s(hw, tp, arch.n_layers, np.full_like(tp, act_prefill, dtype=float))
        + eff.step_overhead_s
    )
    decode_flops = b * forward_flops_per_token(arch, ctx_mean)
    # MoE: with B tokens in flight, more experts are touched; bound by total weights
    touched = (
        np.minimum(weights_dev, active_weight_bytes * np.maximum(b, 1))
        if arch.is_moe
        else active_weight_bytes
    )
    decode_bytes = touched + b * ctx_mean * kv_tok_dev
    act_decode = b * arch.hidden_size * 2.0
    decode = (
        np.maximum(decode_flops / (tp * peak), decode_bytes / bw)
        + tp_allreduce_time_s(hw, tp, arch.n_layers, act_decode)
        + eff.step_overhead_s
    )
    tokens_per_s = b / decode
    # a replica serves a request in prefill + output_tokens decode steps, b at a time
    time_per_request = prefill + output_tokens * decode
    requests_per_s = b / time_per_request
    fits = (usable > 0) & (max_conc >= 1) & np.isfinite(hw.peak_flops_per_s)
    return GenerationEstimate(
        weights_bytes_per_device=weights_dev,
        kv_bytes_per_token_per_device=kv_tok_dev,
        max_concurrency=max_conc,
        prefill_s=prefill,
        decode_step_s=decode,
        batch=b,
        tokens_per_s=tokens_per_s,
        requests_per_s=requests_per_s,
        fits=fits,
    )


@dataclass(frozen=True)
class EncoderEstimate:
    latency_s: np.ndarray  # one batch
    requests_per_s: np.ndarray  # per replica
    weights_bytes_per_device: np.ndarray
    fits: np.ndarray


def estimate_encoder(
    arch: ModelArch,
    hw: HardwareArrays,
    *,
    weight_bytes_per_param: np.ndarray,
    seq_len: float,
    batch: np.ndarray,
    eff: InferenceEfficiency,
) -> EncoderEstimate:
    pc = param_counts(arch)
    weights = pc.total * weight_bytes_per_param
    flops = forward_flops_per_token(arch, seq_len, include_lm_head=False) * seq_len * batch
    act_bytes = batch * seq_len * arch.hidden_size * 2.0 * arch.n_layers * 4
    compute = flops / (hw.peak_flops_per_s * eff.compute)
    memory = (weights + act_bytes) / (hw.hbm_bw_bytes_per_s * eff.memory_bw)
    latency = np.maximum(compute, memory) + eff.step_overhead_s
    fits = (weights + act_bytes < hw.memory_bytes) & np.isfinite(hw.peak_flops_per_s)
    return EncoderEstimate(
        latency_s=latency,
        requests_per_s=batch / latency,
        weights_bytes_per_device=np.broadcast_to(weights, latency.shape).astype(float),
        fits=fits,
    )
