"""One engine step — a forward pass over a batch — on a roofline with data-driven efficiencies.

Vectorised over rows (candidate designs or reference measurements): every field is an
aligned numpy array (the per-row deployment is :mod:`aidc.model.inference_arrays`). Per device and per transformer layer (``tp`` shards heads and MLP
columns, ``pp`` splits the layers into stages):

* **Dense GEMMs** (attention projections, dense MLP, shared experts) over ``T`` tokens:
  ``t = max(2 T W / (P e(T)), (W b_w + T io b_a) / (B_w e_bw))`` with ``W`` weights per
  device, ``P`` the dense peak at the format's precision, ``B_w`` memory bandwidth and the
  GEMM efficiency rising with the rows: ``e(M) = e_max M / (M + M_half)`` (small GEMMs
  cannot fill the tensor cores: wave quantisation and tile padding; cf. NVIDIA "Matrix
  Multiplication Background User's Guide"), times a shape factor for the weight matrix
  per device, ``n / (n + n_half) * k / (k + k_half)`` with half-points from measured
  kernel timings (catalog ``kernel_efficiency.yaml``): narrow matrices (small MoE
  experts, wide tensor parallelism) keep less of the peak, markedly so for FP8 kernels.
  The knee scales with the device's ridge point, ``M_half = k_ridge M_ridge`` with
  ``M_ridge = e_max P b_w / (2 B_w)`` the rows at which a GEMM at its achievable speed
  turns compute-bound: a phone CPU saturates at a few rows, a B200 at hundreds. Packed
  4-bit weights (``int4-weight-only``, ``w4a8``) are widened inside the GEMM loop, which
  divides ``e_max`` by ``1 + c_dq`` (``dequant_overhead``, calibrated per device kind).
* **Routed experts** (MoE): ``T k`` token-expert pairs over ``E_t = E (1 - (1 - k/E)^T)``
  experts touched (each touched expert's weights are streamed once), at ``M = T k / E_t``
  rows per expert GEMM (so small batches run memory-bound on expert weights), plus the
  permutation of tokens to and from their experts: 4 memory-bound passes over ``T k h``
  (expand writes and the up GEMM reads them in the GEMM input format, the down GEMM writes
  and the finalize kernel reads them at 16 bit). The expert GEMMs' roofline runs at
  ``r_e`` times the dense GEMMs' achieved bandwidth and FLOP/s (``expert_efficiency``,
  calibrated globally and per device): a grouped GEMM over many small experts is one
  launch over ragged per-expert tiles (routing offsets read on device, a partial last
  tile per expert, weights of different experts streamed by different CTAs), so it keeps
  less of the device's streaming bandwidth and tensor-core rate than one dense GEMM of
  the same total shape. Dividing the whole expert GEMM time by ``r_e`` keeps this share
  out of ``memory_bw_efficiency``, a property of the device's memory system that dense
  models then inherit unbiased. The permutation passes stay at the device bandwidth.
* **Attention**: ``4 n_q d`` FLOP per (query, key) pair at the attention efficiency (fused
  kernels: the device's measured curve, rising with the keys per query, times a calibrated
  share, :func:`fused_attention_efficiency`); the
  KV cache read once per decode step (``2 n_kv d b_kv`` bytes per cached token per layer);
  engines without fused attention also write and read the ``q x k`` score matrix
  (four passes, Dao et al. 2022, FlashAttention, arXiv 2205.14135, section 2.2).
* **Element-wise kernels** (bias, residual, layer norm, activation): memory-bound passes
  over ``T h`` and ``T f`` activations; their count is an engine property (fusion).
* **Kernels**: each costs at least ``kernel_gap`` of GPU time (launch, ramp-up, tail);
  the host must also dispatch them (``host_s_per_kernel``, 0 with CUDA graphs or a C++
  runtime that runs ahead), and the step takes whichever is longer.
* **Tensor parallel**: two all-reduces of ``T h`` activations per layer (Shoeybi et al.
  2019, Megatron-LM, arXiv 1909.08053), timed as the engine runs them
  (:func:`aidc.model.inference_comm.tp_allreduce_call_s`: measured NCCL or engine-kernel
  curves, hierarchical beyond the scale-up domain).
* **Pipeline parallel**: a stage runs ``L / pp`` layers; activations ``T h`` go to the next
  stage point-to-point (:func:`aidc.model.inference_comm.pp_link`).
* **LM head** on the last stage for the tokens that need logits, and the host overhead
  of a generation step: a fixed part (scheduling, synchronisation) plus a part per
  sequence (sampling, request bookkeeping in Python-level schedulers), the engine's own
  measured figure where the catalog records one (``host_s_per_seq``: TensorRT-LLM's
  Python PyExecutor) and shared by the ranks that each keep their own requests under
  attention data parallelism (:func:`seq_host_s`); an encoder pass samples nothing and
  pays only for its kernels. Host-side times (this overhead and
  kernel dispatch) are calibrated on x86 server hosts and scale with the device's
  ``host_overhead_factor`` (catalog: a Grace-hosted GB200 runs PyTorch host code ~2.75x
  slower than a DGX H100's Xeon).

Efficiencies (``e_max``, ``M_half``, ``e_bw``, attention efficiency, kernel gap, step
overhead, collective latency) are data: see :mod:`aidc.catalog.inference_calibration`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from aidc.model.collectives import p2p_time_s
from aidc.model.efficiency import attention_head_dim_factor
from aidc.model.inference_arrays import Deployment
from aidc.model.inference_comm import pp_link, tp_allreduce_call_s


@dataclass(frozen=True)
class StepWork:
    """What one step computes, summed over the sequences in the batch (per micro-batch)."""

    tokens: np.ndarray  # rows through the GEMMs
    qk_pairs: np.ndarray  # (query, key) pairs scored by attention
    kv_read_tokens: np.ndarray  # cached tokens whose K/V are read from memory
    logits_tokens: np.ndarray  # tokens that need the LM head

    def scaled(self, factor: np.ndarray | float) -> StepWork:
        return StepWork(*(getattr(self, f.name) * factor for f in fields(self)))


def prefill_work(batch: np.ndarray | float, prompt: np.ndarray | float) -> StepWork:
    """``batch`` prompts of ``prompt`` tokens, causal; the first output token's logits."""
    b = np.asarray(batch, float)
    n = np.asarray(prompt, float)
    return StepWork(
        tokens=b * n,
        qk_pairs=b * n * (n + 1.0) / 2.0,
        kv_read_tokens=np.zeros_like(b * n),
        logits_tokens=b + 0.0 * n,
    )


def decode_work(
    batch: np.ndarray | float, context: np.ndarray | float, kv_cache: np.ndarray | bool = True
) -> StepWork:
    """One new token for each of ``batch`` sequences holding ``context`` cached tokens.

    Without a KV cache (``kv_cache`` False, as in early Megatron-LM generation) the step
    runs the whole sequence again: ``context + 1`` tokens through the GEMMs and causal
    attention over them."""
    if not np.all(kv_cache):
        b = np.asarray(batch, float)
        c = np.asarray(context, float)
        full = prefill_work(b, c + 1.0)
        cached = decode_work(b, c)
        return StepWork(
            *(
                np.where(kv_cache, getattr(cached, f.name), getattr(full, f.name))
                for f in fields(StepWork)
            )
        )
    b = np.asarray(batch, float)
    c = np.asarray(context, float)
    return StepWork(
        tokens=b + 0.0 * c, qk_pairs=b * (c + 1.0), kv_read_tokens=b * c, logits_tokens=b + 0.0 * c
    )


def encoder_work(
    batch: np.ndarray | float,
    padded_len: np.ndarray | float,
    real_len: np.ndarray | float,
    remove_padding: np.ndarray | bool,
) -> StepWork:
    """An encoder pass (bidirectional attention, no LM head). With padding removal the
    GEMMs and attention see only the real tokens; otherwise the padded length."""
    b = np.asarray(batch, float)
    s = np.where(remove_padding, np.asarray(real_len, float), np.asarray(padded_len, float))
    return StepWork(
        tokens=b * s,
        qk_pairs=b * s * s,
        kv_read_tokens=np.zeros_like(b * s),
        logits_tokens=np.zeros_like(b * s),
    )


@dataclass(frozen=True)
class StepTime:
    """Time of one step, by part (seconds, per device). ``stage_s`` is one pipeline stage."""

    gemm_s: np.ndarray  # dense + expert GEMMs, one stage
    attention_s: np.ndarray
    elementwise_s: np.ndarray
    comm_s: np.ndarray  # TP all-reduces, one stage
    kernel_floor_s: np.ndarray  # kernel gaps, one stage
    host_s: np.ndarray  # host dispatch, one stage
    stage_s: np.ndarray  # max(GPU, host) for one stage
    lm_head_s: np.ndarray
    p2p_s: np.ndarray  # one pipeline hand-off
    overhead_s: np.ndarray  # per-step fixed
    pp: np.ndarray

    @property
    def sequential_s(self) -> np.ndarray:
        """One pass through all ``pp`` stages, nothing overlapped."""
        return (
            self.pp * self.stage_s + self.lm_head_s + (self.pp - 1) * self.p2p_s + self.overhead_s
        )


def gemm_max_efficiency(dep: Deployment) -> np.ndarray:
    """``e_max r_p / (1 + c_dq)``: the calibrated ``e_max`` times the measured share the
    format's kernels keep relative to 16-bit ones (``r_p``, see
    :func:`aidc.model.inference.gemm_relative_max_efficiency`), less the widening of
    packed 4-bit weights."""
    rel = 1.0 if dep.gemm_relative_max is None else dep.gemm_relative_max
    return (
        dep.eff.compute
        * rel
        / (1.0 + np.where(dep.fmt.unpacked_weights, dep.eff.dequant_overhead, 0.0))
    )


def ridge_rows(dep: Deployment) -> np.ndarray:
    """GEMM rows at which streaming the weights and multiplying them at the achievable
    GEMM speed take equally long: ``M_ridge = e_max P b_w / (2 B_w)``."""
    return (
        gemm_max_efficiency(dep)
        * dep.hw.peak_flops_per_s
        * dep.fmt.weight_bytes
        / (2.0 * dep.hw.hbm_bw_bytes_per_s)
    )


def gemm_efficiency(dep: Deployment, rows: np.ndarray) -> np.ndarray:
    """``e(M) = e_max M / (M + k_ridge M_ridge)``.

    The knee follows the achievable peak ``e_max P``, so the compute time this implies,
    ``2 M W / (e_max P) + k_ridge W b_w / B_w``, adds a fixed share of the weight-streaming
    time whatever ``e_max`` is: a device whose kernels reach little of the nominal peak
    (a CPU) is not made compute-bound at one row by that alone."""
    m = np.maximum(rows, 1e-9)
    half = dep.eff.gemm_half_ridge * ridge_rows(dep)
    return gemm_max_efficiency(dep) * m / (m + half)


def _shape_factor(dep: Deployment, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``n / (n + n_half) * k / (k + k_half)``: the share of a GEMM's large-shape speed a
    per-device weight matrix of ``k`` inputs and ``n`` outputs keeps (few output tiles or
    a short main loop starve the tensor cores; half-points from measured kernel timings,
    catalog ``kernel_efficiency.yaml``). 1 where the deployment carries no kernel data."""
    if dep.gemm_n_half is None or dep.gemm_k_half is None:
        return np.ones_like(np.asarray(n, float))
    n_ = np.maximum(np.asarray(n, float), 1.0)
    k_ = np.maximum(np.asarray(k, float), 1.0)
    return n_ / (n_ + dep.gemm_n_half) * k_ / (k_ + dep.gemm_k_half)


def layer_shape_factors(dep: Deployment) -> tuple[np.ndarray, np.ndarray]:
    """Shape factors of a layer's dense GEMMs and of its routed-expert GEMMs, each the
    weight-weighted harmonic mean over the layer's matrices (their times add):
    QKV (``h -> (n_q + 2 n_kv) d / tp``), output (``n_q d / tp -> h``), MLP up
    (``h -> u f / tp``) and down (``f / tp -> h``); routed experts at their own width
    (``h -> u f_e``, ``f_e -> h``), as expert parallelism keeps them whole."""
    a, tp = dep.arch, dep.tp
    h, d = a.hidden, a.head_dim

    def mean(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
        w = sum(n * k for n, k, _ in parts)
        t = sum(n * k / f for n, k, f in parts)
        return np.where(w > 0, w / np.maximum(t, 1e-30), 1.0)

    def part(n: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return n, k, _shape_factor(dep, n, k)

    qkv = (a.n_heads + 2.0 * a.kv_heads) * d / tp
    dense = mean(
        [
            part(qkv, h),
            part(h, a.n_heads * d / tp),
            part(a.mlp_up_mats * a.ffn / tp, h),
            part(h, a.ffn / tp),
        ]
    )
    # routed experts stay whole on a device (expert parallelism shares the experts out
    # rather than slicing each one, as MoE serving engines do across a group), so an
    # expert's matrices keep their own width whatever tp is
    ef = np.maximum(a.expert_ffn, 1.0)
    expert = mean([part(a.mlp_up_mats * ef, h), part(h, ef)])
    return dense, expert


def _roofline(
    flops: np.ndarray, bytes_: np.ndarray, flops_per_s: np.ndarray, bytes_per_s: np.ndarray
) -> np.ndarray:
    return np.maximum(flops / flops_per_s, bytes_ / bytes_per_s)


def attention_efficiency(
    dep: Deployment, work: StepWork, fused: np.ndarray | None = None
) -> np.ndarray:
    """Share of the attention peak the score and value products reach.

    Fused kernels (FlashAttention, TensorRT fused MHA): :func:`fused_attention_efficiency`,
    the device's measured curve times the calibrated factor. Unfused attention runs two
    batched GEMMs per head through the GEMM
    library, ``Q K^T`` (``n = s_k`` outputs over ``k = d``) and ``P V`` (``n = d`` over
    ``k = s_k``), with equal FLOPs: the GEMM efficiency ``e_max`` times the harmonic mean
    of the two shape factors (FasterTransformer's unfused path calls
    ``cublasGemmStridedBatchedEx`` for both, and eager frameworks ``bmm``/``matmul``).
    ``fused``: :func:`fused_attention` of the step, when the caller already has it.
    """
    keys = work.qk_pairs / np.maximum(work.tokens, 1.0)  # mean keys per query
    d = dep.arch.head_dim
    if fused is None:
        fused = fused_attention(dep, work)
    f_qk = _shape_factor(dep, keys, d)
    f_pv = _shape_factor(dep, d, keys)
    unfused = dep.eff.compute * 2.0 / (1.0 / f_qk + 1.0 / f_pv)
    return np.where(fused, fused_attention_efficiency(dep, work), unfused)


def fused_attention_efficiency(dep: Deployment, work: StepWork) -> np.ndarray:
    """Share of the attention peak a fused attention kernel reaches on ``work``.

    ``e = min(1, c e_max s / (s + s_half) g(d) / g(128))``: the device's measured curve
    of fused causal prefill attention (catalog ``kernel_efficiency.yaml``, fitted to
    aiconfigurator-core's context-attention kernel timings or, for Hopper, FlashAttention-2
    figures of Shah et al. 2024, arXiv 2407.08608; see :mod:`aidc.model.efficiency`) times
    ``c``, the calibrated share of that curve a serving engine keeps
    (``attention_efficiency``). ``s`` is the causal sequence length with the step's mean
    keys per query ``k`` (a causal prompt of ``n`` tokens scores ``(n + 1) / 2`` keys per
    query): ``s = 2 k - 1``; the fixed work of a query tile (softmax rescaling, the output
    epilogue, masked diagonal tiles) is amortised over the keys it scores, so short prompts
    keep less of the peak. ``g(d)`` is the head-dimension factor of
    :func:`aidc.model.efficiency.attention_head_dim_factor`. A decode step (one query per
    sequence, every token with logits) runs a different, memory-bound kernel for which
    the prefill ramp does not hold: it gets the curve's plateau ``e_max``. Without curve
    data (``attn_max_efficiency`` None) ``c`` is the share of the peak itself.
    """
    c = dep.eff.attention
    if dep.attn_max_efficiency is None or dep.attn_seq_half is None:
        return c + 0.0 * work.tokens
    keys = work.qk_pairs / np.maximum(work.tokens, 1.0)
    s = np.maximum(2.0 * keys - 1.0, 1.0)
    decode = (work.logits_tokens > 0) & (work.tokens <= work.logits_tokens)
    ramp = np.where(decode, 1.0, s / (s + dep.attn_seq_half))
    curve = dep.attn_max_efficiency * ramp * attention_head_dim_factor(dep.arch.head_dim)
    return np.minimum(c * curve, 1.0)


def prefill_attention_fused(dep: Deployment) -> np.ndarray:
    """Whether a pass over a whole prompt runs fused attention: the engine's
    ``fused_attention`` at this precision, except for a decoder (causal) model whose
    engine runs its context path unfused (``context_fused_attention``; FasterTransformer's
    GptContextAttentionLayer runs cuBLAS batched GEMMs and a masked softmax,
    docs/gpt_guide.md: 'the sequence length of query in the ContextSelfAttention is maximum
    input length, so we use cuBLAS to leverage the tensor core')."""
    eng = dep.engine
    return eng.fused_attention & (~dep.arch.causal | eng.context_fused_attention)


def fused_attention(dep: Deployment, work: StepWork) -> np.ndarray:
    """Whether the step's attention runs a fused kernel: :func:`prefill_attention_fused`
    for a decoder step carrying prompt tokens (tokens that are not all new tokens with
    logits), the engine's ``fused_attention`` for decode steps and encoder passes."""
    return np.where(_prompt_step(work), prefill_attention_fused(dep), dep.engine.fused_attention)


def _prompt_step(work: StepWork) -> np.ndarray:
    """A decoder step carrying prompt tokens: more tokens than new tokens with logits."""
    return (work.logits_tokens > 0) & (work.tokens > work.logits_tokens)


def step_time(dep: Deployment, work: StepWork) -> StepTime:
    """Time of one step doing ``work`` (per micro-batch) on ``dep``. See the module docstring."""
    a, hw, f, e, eng = dep.arch, dep.hw, dep.fmt, dep.eff, dep.engine
    tp, pp = dep.tp, dep.pp
    L = a.n_layers
    layers = L / pp
    bw = hw.hbm_bw_bytes_per_s * e.memory_bw
    peak = hw.peak_flops_per_s
    T = np.maximum(work.tokens, 0.0)
    shape_dense, shape_expert = layer_shape_factors(dep)

    # dense GEMMs, per layer per device
    w_layer = a.dense_params / L / tp
    flops = 2.0 * T * w_layer * f.gemm_flop_factor
    bytes_ = w_layer * f.weight_bytes + T * a.gemm_io_per_token_layer / tp * f.act_bytes
    t_dense = _roofline(flops, bytes_, peak * gemm_efficiency(dep, T) * shape_dense, bw)

    # routed experts, averaged over layers (only moe_layers / L of them are MoE)
    is_moe = a.n_experts > 1
    k = a.experts_per_token
    E = np.maximum(a.n_experts, 1.0)
    touched = np.where(is_moe, E * (1.0 - np.power(np.clip(1.0 - k / E, 0.0, 1.0), T)), 0.0)
    rows = np.where(touched > 0, T * k / np.maximum(touched, 1e-9), 1.0)
    e_flops = 2.0 * T * k * a.expert_params / tp * f.gemm_flop_factor
    e_bytes = (
        touched / tp * a.expert_params * f.weight_bytes
        + T * k * 3.0 * a.expert_ffn / tp * f.act_bytes
    )
    # grouped GEMMs over the touched experts reach a calibrated share ``r_e`` of the
    # bandwidth and FLOP/s a dense GEMM of that shape reaches (expert_efficiency)
    r_e = e.expert
    t_expert = np.where(
        is_moe,
        _roofline(
            e_flops, e_bytes, peak * gemm_efficiency(dep, rows) * shape_expert * r_e, bw * r_e
        ),
        0.0,
    )
    # token permutation (fused MoE): the expand kernel writes each token's k copies in
    # expert order, in the GEMM input format, and the up GEMM reads them; the down GEMM
    # writes k 16-bit outputs per token and the finalize kernel reads them back to reduce
    # (4 memory-bound passes over T k h)
    perm_bytes = 2.0 * T * k * a.hidden / tp * (f.act_bytes + np.maximum(f.act_bytes, 2.0))
    t_perm = np.where(is_moe, perm_bytes / bw, 0.0)
    t_expert = (t_expert + t_perm) * a.moe_layers / L

    # attention
    heads_dev = a.n_heads / tp
    kv_heads_dev = np.maximum(a.kv_heads, tp) / tp  # a head is never split below one per rank
    # a decode kernel without grouped loads (masked multi-head attention) reads each KV head
    # once for every query head that uses it
    kv_loads_dev = np.where(eng.grouped_decode_attention, kv_heads_dev, heads_dev)
    a_flops = a.attn_flops_per_pair / L * work.qk_pairs / tp
    kv_bytes = work.kv_read_tokens * 2.0 * kv_loads_dev * a.head_dim * f.kv_bytes
    fused = fused_attention(dep, work)
    score_bytes = np.where(
        fused,
        0.0,
        4.0 * work.qk_pairs * heads_dev * np.maximum(f.act_bytes, 2.0),
    )
    t_attn = _roofline(
        a_flops,
        kv_bytes + score_bytes,
        dep.attn_peak_flops_per_s * attention_efficiency(dep, work, fused),
        bw,
    )

    # element-wise passes
    ffn_width = np.where(is_moe, k * a.expert_ffn + a.ffn * (a.moe_layers < L), a.ffn)
    el_bytes = (
        T
        * (eng.elementwise_passes_h * a.hidden + eng.elementwise_passes_f * ffn_width / tp)
        * f.act_bytes
    )
    t_elem = el_bytes / bw

    # TP all-reduces (2 per layer)
    ar_bytes = T * a.hidden * np.maximum(f.act_bytes, 2.0)
    t_comm = 2.0 * tp_allreduce_call_s(dep, ar_bytes)

    # activation quantization: a read and a write of the GEMM inputs per kernel
    t_elem = t_elem + f.quant_kernels_per_layer * T * a.hidden * 3.0 * f.act_bytes / bw
    kernels = eng.kernels_per_layer + f.quant_kernels_per_layer
    gpu_layer = t_dense + t_expert + t_attn + t_elem + t_comm + kernels * e.kernel_gap_s
    host = 1.0 if dep.host_overhead_factor is None else dep.host_overhead_factor
    host_layer = kernels * eng.host_s_per_kernel * host
    stage = np.maximum(layers * gpu_layer, layers * host_layer)

    # LM head on the last stage
    head_w = a.lm_head_params / tp
    head_flops = 2.0 * work.logits_tokens * head_w
    head_bytes = np.where(work.logits_tokens > 0, head_w * f.embed_bytes, 0.0)
    # a 16-bit GEMM (quantizers keep the LM head wide): its own ridge point, at the
    # attention (>= 16-bit) peak and the head's bytes per weight, no unpacking
    head_ridge = (
        e.compute * dep.attn_peak_flops_per_s * f.embed_bytes / (2.0 * hw.hbm_bw_bytes_per_s)
    )
    m_head = np.maximum(work.logits_tokens, 1e-9)
    head_eff = e.compute * m_head / (m_head + e.gemm_half_ridge * head_ridge)
    t_head = _roofline(head_flops, head_bytes, dep.attn_peak_flops_per_s * head_eff, bw)

    p_bw, p_lat = pp_link(dep)
    p2p = np.where(
        pp > 1,
        p2p_time_s(T * a.hidden * np.maximum(f.act_bytes, 2.0), p_bw, p_lat)
        + e.collective_latency_s,
        0.0,
    )

    return StepTime(
        gemm_s=layers * (t_dense + t_expert),
        attention_s=layers * t_attn,
        elementwise_s=layers * t_elem,
        comm_s=layers * t_comm,
        kernel_floor_s=layers * kernels * e.kernel_gap_s,
        host_s=layers * host_layer,
        stage_s=stage,
        lm_head_s=t_head,
        p2p_s=p2p,
        overhead_s=np.where(
            work.logits_tokens > 0,
            e.step_overhead_s * host + seq_host_s(dep) * work.logits_tokens,
            0.0,
        )
        + 0.0 * T,
        pp=pp + 0.0 * T,
    )


def seq_host_s(dep: Deployment) -> np.ndarray:
    """Host time per sequence of a generation step that the GPU waits for (s per sequence).

    ``t_seq = s h / r``: ``s`` the engine's own ``host_s_per_seq`` where the catalog records
    one (``software.yaml``: the request bookkeeping a Python executor does per sequence and
    step and does not hide behind the GPU, measured on or scaled to an x86 host), else the
    calibrated generic ``seq_overhead_s``; ``h`` the device's
    ``host_overhead_factor`` (a Grace host runs the same Python ~2.75x slower); ``r`` the
    ranks that each schedule their own requests: ``tp`` under attention data parallelism
    (TensorRT-LLM's PyExecutor runs on every rank and, with ``enable_attention_dp``, each
    rank keeps its own requests, so their bookkeeping runs side by side), else 1 (every TP
    rank walks the whole batch). A step over ``n`` sequences pays ``n t_seq``."""
    eng = dep.engine.host_s_per_seq
    s = np.where(np.isnan(eng), dep.eff.seq_overhead_s, eng)
    host = 1.0 if dep.host_overhead_factor is None else dep.host_overhead_factor
    ranks = 1.0 if dep.attention_dp is None else np.where(dep.attention_dp, dep.tp, 1.0)
    return s * host / ranks


def pipelined_pass_s(dep: Deployment, work: StepWork, micro_batches: np.ndarray) -> np.ndarray:
    """Latency of one pass split into ``m`` micro-batches through ``pp`` stages.

    GPipe schedule (Huang et al. 2019, arXiv 1811.06965): ``(m + pp - 1)`` stage slots of
    one micro-batch each, then the LM head; ``m = 1`` is the plain sequential pass.
    """
    m = np.maximum(np.asarray(micro_batches, float), 1.0)
    st = step_time(dep, work.scaled(1.0 / m))
    slots = m + dep.pp - 1.0
    return slots * st.stage_s + m * st.lm_head_s + (dep.pp - 1.0) * st.p2p_s + st.overhead_s
