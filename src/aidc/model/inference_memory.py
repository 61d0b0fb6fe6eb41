"""Inference memory per device: weights, KV cache, activations and the runtime's own.

Weights ``N b_w / (tp pp)`` (with data-parallel attention for MoE, the non-routed layer
weights whole on each rank); KV ``2 L n_kv d b_kv`` per token (``n_kv`` at least one head
per TP rank; no repeats with data-parallel attention); activations of the largest step;
the runtime's own overhead. Engines either allocate KV for the batch (``exact``) or reserve
a pool (a share of free or of total memory, as vLLM's ``gpu_memory_utilization`` and
TensorRT-LLM's ``kv_cache_free_gpu_mem_fraction`` do); the pool bounds concurrency.
Vectorised over rows, like :mod:`aidc.model.inference`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aidc.model.inference_arrays import KV_EXACT, KV_FREE_FRACTION, Deployment
from aidc.model.inference_step import prefill_attention_fused


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per device (the most loaded pipeline stage)."""

    weights_bytes: np.ndarray
    kv_bytes_per_token: np.ndarray
    activation_bytes: np.ndarray
    overhead_bytes: np.ndarray
    kv_bytes: np.ndarray  # held for the batch (exact) or reserved as a pool
    used_bytes: np.ndarray  # peak use
    capacity_bytes: np.ndarray
    max_concurrency: np.ndarray  # requests of n_in + n_out tokens whose KV fits
    fits: np.ndarray
    shortfall_bytes: np.ndarray  # how much is missing where it does not fit

    @property
    def kv_capacity_tokens(self) -> np.ndarray:
        return self.kv_bytes / np.maximum(self.kv_bytes_per_token, 1e-30)


def weight_bytes_per_device(dep: Deployment) -> np.ndarray:
    """``(N - N_emb) b_w / (tp pp)`` plus the embeddings at their own width, ``N_emb b_emb / tp``
    (with ``pp > 1`` only the larger of the input embedding and the LM head: they sit on the
    first and the last stage);
    with data-parallel attention the non-routed layer weights ``N_dense b_w`` are whole on
    every TP rank (TensorRT-LLM builds attention, dense MLPs and shared experts with
    ``overridden_tp_size=1`` under ``enable_attention_dp``); an engine with
    ``replicated_embeddings`` holds ``(N_in + V h) b_emb`` on every rank instead of the
    sharded embeddings (FasterTransformer's ParallelGptWeight allocates the token and
    position tables and a separate ``vocab x hidden`` LM head on each rank)."""
    a, f = dep.arch, dep.fmt
    layers = (a.total_params - a.embed_params) * f.weight_bytes
    # the input embedding sits on the first pipeline stage and the LM head on the last
    # (a tied head is repeated there); the most loaded stage holds the larger of the two
    ends = np.maximum(a.embed_params - a.lm_head_params, a.lm_head_params)
    embed = np.where(dep.pp > 1, ends, a.embed_params) * f.embed_bytes
    # attention data parallelism keeps the non-routed layer weights whole on every rank
    replicated = attention_dp_share(dep) * a.dense_params * f.weight_bytes * (1.0 - 1.0 / dep.tp)
    stage = (layers / dep.tp + replicated) / dep.pp
    # engines that keep the input embedding and a separate LM head whole on every rank
    whole = (a.input_embed_params + a.lm_head_params) * f.embed_bytes
    return stage + np.where(dep.engine.replicated_embeddings, whole, embed / dep.tp)


def attention_dp_share(dep: Deployment) -> np.ndarray:
    """1.0 where the deployment serves with data-parallel attention, else 0.0."""
    if dep.attention_dp is None:
        return np.zeros_like(dep.tp)
    return np.asarray(dep.attention_dp, dtype=float)


def kv_bytes_per_token_per_device(dep: Deployment) -> np.ndarray:
    """``2 L n_kv d b_kv / (tp pp)``, with at least one KV head per TP rank (0 for encoders,
    which keep no cache between passes)."""
    a = dep.arch
    # TP shards heads, so ranks beyond n_kv repeat one; data-parallel attention holds every
    # head of a rank's own requests, so the TP group repeats none
    heads = np.where(attention_dp_share(dep) > 0, 1.0, np.maximum(a.kv_heads, dep.tp) / a.kv_heads)
    return np.where(
        a.causal, a.kv_elems_per_token * heads * dep.fmt.kv_bytes / dep.tp / dep.pp, 0.0
    )


def activation_bytes(
    dep: Deployment, batch: np.ndarray, tokens: np.ndarray, seq: np.ndarray
) -> np.ndarray:
    """Live activations of the largest step: ``g T (n_h h + n_s h / tp + n_f f / tp) b_a`` with
    the engine's buffer counts (``context_buffers_h``, ``_sharded_h``, ``_f``) and allocation
    growth ``g`` (``buffer_growth``), plus fp32 logits ``B V / tp`` and, without fused
    attention (or, for a decoder, an unfused prompt pass: ``context_fused_attention``), two
    ``B n_q / tp x s x s`` score buffers."""
    a, f, eng = dep.arch, dep.fmt, dep.engine
    width = np.where(a.n_experts > 1, a.experts_per_token * a.expert_ffn, a.ffn)
    per_token = (
        eng.context_buffers_h * a.hidden
        + (eng.context_buffers_sharded_h * a.hidden + eng.context_buffers_f * width) / dep.tp
    )
    act = eng.buffer_growth * tokens * per_token * f.act_bytes
    logits = batch * a.lm_head_params / np.maximum(a.hidden, 1.0) / dep.tp * 4.0
    scores = np.where(
        prefill_attention_fused(dep),
        0.0,
        2.0 * batch * a.n_heads / dep.tp * seq * seq * np.maximum(f.act_bytes, 2.0),
    )
    return act + logits + scores


def memory_estimate(
    dep: Deployment,
    *,
    batch: np.ndarray | float,
    input_len: np.ndarray | float,
    output_len: np.ndarray | float,
) -> MemoryEstimate:
    """Memory per device for ``batch`` requests of ``input_len + output_len`` tokens (an
    engine with a static KV cache holds ``max(g (n_in + n_out), kv_static_tokens)`` per
    request, ``g`` its ``buffer_growth``)."""
    eng = dep.engine
    b = np.asarray(batch, float) + 0.0 * dep.tp
    n_in = np.asarray(input_len, float) + 0.0 * dep.tp
    seq = n_in + np.asarray(output_len, float)
    weights = weight_bytes_per_device(dep)
    kv_tok = kv_bytes_per_token_per_device(dep)
    pooled = eng.kv_policy != KV_EXACT
    step_tokens = np.where(pooled, np.minimum(b * n_in, eng.max_num_tokens), b * n_in)
    act = activation_bytes(
        dep, np.where(pooled, np.minimum(b, eng.max_batch), b), step_tokens, n_in
    )
    overhead = np.where(
        np.isfinite(dep.eff.memory_overhead_bytes),
        dep.eff.memory_overhead_bytes,
        eng.runtime_memory_bytes,
    )
    cap = dep.hw.memory_bytes
    fixed = weights + act + overhead
    pool = np.where(
        eng.kv_policy == KV_FREE_FRACTION,
        eng.kv_fraction * (cap - fixed),
        eng.kv_fraction * cap - fixed,
    )
    # models that keep no KV cache (encoders) reserve no pool for one
    pool = np.where(kv_tok > 0, np.maximum(pool, 0.0), 0.0)
    # a static cache (exported maximum context) is held whole whatever the request's length;
    # an engine that re-makes a too-small cache larger than the request holds g (n_in + n_out)
    held = np.maximum(seq * eng.buffer_growth, eng.kv_static_tokens)
    per_request = (
        np.where(pooled, np.ceil(seq / eng.kv_block_tokens) * eng.kv_block_tokens, held) * kv_tok
    )
    kv_exact = b * held * kv_tok
    kv = np.where(pooled, pool, kv_exact)
    used = fixed + kv
    room = np.where(pooled, pool, np.maximum(cap - fixed, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        max_conc = np.where(
            per_request > 0, np.floor(room / per_request), np.inf
        )  # encoders: no KV
    fits = np.where(pooled, (fixed <= cap) & (max_conc >= 1), used <= cap) & np.isfinite(
        dep.hw.peak_flops_per_s
    )
    # capacity missing for one request: a pool of a share of total memory needs
    # (fixed + request) / share; a share of free memory needs fixed + request / share
    frac = np.maximum(eng.kv_fraction, 1e-9)
    pooled_need = np.where(
        eng.kv_policy == KV_FREE_FRACTION,
        fixed + per_request / frac,
        (fixed + per_request) / frac,
    )
    shortfall = np.where(pooled, np.maximum(pooled_need - cap, 0.0), np.maximum(used - cap, 0.0))
    shortfall = np.where(fits, 0.0, shortfall)
    return MemoryEstimate(
        weights_bytes=weights,
        kv_bytes_per_token=kv_tok,
        activation_bytes=act,
        overhead_bytes=overhead,
        kv_bytes=kv,
        used_bytes=used,
        capacity_bytes=cap + 0.0 * used,
        max_concurrency=max_conc,
        fits=fits,
        shortfall_bytes=shortfall,
    )
